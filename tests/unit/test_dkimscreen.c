/*
 * test_dkimscreen: dkim/screen. Signatures the screen lets through (with
 * folding, both canonicalizations, ed25519, l=, z=, unknown tags) and the
 * facts it keeps of them; signatures it refuses and their reasons; each
 * limit at its boundary; what is kept of a refused signature. Every value
 * is handed over in a buffer of exactly its length, so a read past the
 * end shows under valgrind and the sanitizers. Each group is a table.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>

#include "dkim/screen.h"
#include "tests/unit/testutil.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* The parts of a signature that passes, to build cases from. */
#define V "v=1; "
#define A "a=rsa-sha256; "
#define D "d=example.com; "
#define S "s=sel; "
#define H "h=from:to:subject; "
#define BH "bh=FyrMhUYvUIFy4kk42wiiwUTIfBHsftvv+5eYFRk1riE=; "
#define B "b=2LFTDNJAQk4T4GOQVbT2AZkxnPB6nu1RYUcBf+QJ/27TNWdGM1C/AhJE2GNpUQdG"
#define SIG V A D S H BH B

/* Screen value[0..len) from a buffer of exactly len bytes. */
static int
screen(const char *value, size_t len, size_t nheaders, struct dkim_sig_info *info,
       char *why, size_t whylen)
{
	char *copy = malloc(len > 0 ? len : 1);
	int rc;

	if (copy == NULL)
		testutil_fail(__FILE__, __LINE__, "malloc(%zu): out of memory", len);
	memcpy(copy, value, len);
	rc = dkim_sig_screen(copy, len, nheaders, info, why, whylen);
	free(copy);
	return rc;
}

static void
test_valid(void **state)
{
	static const struct {
		const char *value;
		size_t len; /* 0: strlen(value) */
		size_t nheaders;
		const char *d, *s, *i, *a, *b8;
		long long l;
		unsigned nh;
	} cases[] = {
	    /* As a large provider folds it, CRLF and spaces. */
	    {"v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
	     "        d=mail.example; s=20230601; t=1718000000; x=1718604800; "
	     "darn=example.org;\r\n"
	     "        "
	     "h=to:subject:message-id:date:from:mime-version:from:to:cc:subject\r\n"
	     "         :date:message-id:reply-to;\r\n"
	     "        bh=FyrMhUYvUIFy4kk42wiiwUTIfBHsftvv+5eYFRk1riE=;\r\n"
	     "        "
	     "b=NpDRLMA9+zhNAgU4GSTTfSzXJdnF6EePMTzQf1EBHpiU+wiXHTc1rW7hnLdnpzSG\r\n"
	     "         jgct2ginvuaC2+kvfgUm/A==",
	     0, 14, "mail.example", "20230601", "", "rsa-sha256", "NpDRLMA9", -1, 13},
	    /* LF and a tab, no c= (simple), rsa-sha1, i= below d=, l=. */
	    {"v=1; a=rsa-sha1; d=example.com; s=mail2009;\n\ti=alice@mail.example.com; "
	     "q=dns/txt; l=1234;\n\th=From:To:Subject:Date;\n\t"
	     "bh=2jmj7l5rSw0yVb/vlWAYkK/YBwk=; b=wg5QMjNNyT/awW3I2LON5oMSZ5c/5LMY",
	     0, 4, "example.com", "mail2009", "alice@mail.example.com", "rsa-sha1",
	     "wg5QMjNN", 1234, 4},
	    /* ed25519, names with FWS around the colons, an empty local part. */
	    {"v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n d=football.example.com; "
	     "i=@football.example.com;\r\n q=dns/txt; s=brisbane; t=1528637909;\r\n "
	     "h=from : to : subject :\r\n date : message-id : from : subject : date;\r\n "
	     "bh=1B+xAkC26sfDUjhgOqpSh+T9i91N9DU5Z67q1K5bYKE=;\r\n "
	     "b=wg5QMjNNyT/awW3I2LON5oMSZ5c/5LMYKSCn7hhamJmgtHaVF1o8GI+JTIAvxlF7eG1z\r\n "
	     "yNBTJlDfVXwa08kBDg==",
	     0, 8, "football.example.com", "brisbane", "@football.example.com",
	     "ed25519-sha256", "wg5QMjNN", -1, 8},
	    /* Case in values, FWS around "=", a final ";" and FWS, "FROM". */
	    {" v = 1 ;a=RSA-SHA256 ; c=Simple/Relaxed; d = Example.NET ; s=s1._k-2;"
	     " h = FROM ; bh = FyrMhUYvUIFy4kk42wiiwUTIfBHsftvv+5eYFRk1riE= ;"
	     " b = 2LFT DNJA\r\n\tQk4T ;\r\n ",
	     0, 1, "Example.NET", "s1._k-2", "", "rsa-sha256", "2LFTDNJA", -1, 1},
	    /* z= with copied fields, t= equal to x=, l=0. */
	    {SIG "; t=1117574938; x=1117574938; l=0;\r\n"
	         " z=From:foo@eng.example.net|To:joe@example.com|\r\n"
	         "  Subject:demo=20run|Date:July=205,=202005=203:44:08=20PM=20-0700",
	     0, 3, "example.com", "sel", "", "rsa-sha256", "2LFTDNJA", 0, 3},
	    /* Unknown tags are ignored, whatever their value. */
	    {SIG "; foo=bar baz; x_1=; qq=a=b|c; Zz9=!\"#$%&'()*+,-./:<=>?@[\\]^`{|}~", 0,
	     3, "example.com", "sel", "", "rsa-sha256", "2LFTDNJA", -1, 3},
	    /* A quoted-printable local part, "=" inside it. */
	    {SIG "; i=a=40b+c=d@EXAMPLE.com", 0, 3, "example.com", "sel",
	     "a=40b+c=d@EXAMPLE.com", "rsa-sha256", "2LFTDNJA", -1, 3},
	    /* The screen reads len bytes, not up to a NUL. */
	    {SIG "; i=x@example.com\0; d=bad", sizeof(SIG "; i=x@example.com") - 1, 3,
	     "example.com", "sel", "x@example.com", "rsa-sha256", "2LFTDNJA", -1, 3},
	    {SIG "; i=x@example.com=", sizeof(SIG "; i=x@example.com") - 1, 3,
	     "example.com", "sel", "x@example.com", "rsa-sha256", "2LFTDNJA", -1, 3},
	    /* A short b=, one-label d=. */
	    {V A "d=localhost; " S H BH "b=ab==", 0, 3, "localhost", "sel", "",
	     "rsa-sha256", "ab==", -1, 3},
	};
	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct dkim_sig_info info;
		char why[200] = "";
		size_t len = cases[i].len > 0 ? cases[i].len : strlen(cases[i].value);
		if (screen(cases[i].value, len, cases[i].nheaders, &info, why,
		           sizeof(why)) != 0)
			testutil_fail(__FILE__, __LINE__, "case %zu refused: %s", i, why);
		if (strcmp(info.d, cases[i].d) != 0 || strcmp(info.s, cases[i].s) != 0 ||
		    strcmp(info.i, cases[i].i) != 0 || strcmp(info.a, cases[i].a) != 0 ||
		    strcmp(info.b8, cases[i].b8) != 0 || info.l != cases[i].l ||
		    info.has_l != (cases[i].l >= 0) || info.nh != cases[i].nh)
			testutil_fail(
			    __FILE__, __LINE__,
			    "case %zu: got d=%s s=%s i=%s a=%s b8=%s l=%lld "
			    "nh=%u; want d=%s s=%s i=%s a=%s b8=%s l=%lld nh=%u",
			    i, info.d, info.s, info.i, info.a, info.b8, info.l, info.nh,
			    cases[i].d, cases[i].s, cases[i].i, cases[i].a, cases[i].b8,
			    cases[i].l, cases[i].nh);
		if (why[0] != '\0')
			testutil_fail(__FILE__, __LINE__,
			              "case %zu: a reason on success: %s", i, why);
	}
}

static void
test_invalid(void **state)
{
	static const struct {
		const char *value;
		size_t len; /* 0: strlen(value) */
		size_t nheaders;
		const char *why;
	} cases[] = {
	    /* The bytes and the tag-list. */
	    {"", 0, 3, "empty DKIM-Signature"},
	    {" \r\n\t", 0, 3, "no tags"},
	    {";", 0, 3, "an empty tag-spec at offset 0"},
	    {SIG ";;", 0, 3, "an empty tag-spec"},
	    {SIG "; ;", 0, 3, "an empty tag-spec"},
	    {"v=1\0; " A D S H BH B, sizeof("v=1\0; " A D S H BH B) - 1, 3,
	     "byte 0x00 at offset 3"},
	    {SIG "; i=\xc3\xa9@example.com", 0, 3, "byte 0xc3"},
	    {SIG "; foo=\x7f", 0, 3, "byte 0x7f"},
	    {SIG "; foo=\x01", 0, 3, "byte 0x01"},
	    {V A D "\n" S H BH B, 0, 3, "unfolded line break at offset"},
	    {V A D "\r " S H BH B, 0, 3, "CR without LF"},
	    {SIG "\r\n", 0, 3, "unfolded line break at offset"},
	    {SIG "; 1x=2", 0, 3, "malformed tag-spec \"1x=2\""},
	    {SIG "; a-b=2", 0, 3, "malformed tag-spec"},
	    {SIG "; _x=2", 0, 3, "malformed tag-spec"},
	    {SIG "; novalue", 0, 3, "malformed tag-spec \"novalue\""},
	    {SIG "; =x", 0, 3, "malformed tag-spec"},
	    {SIG "; d=example.org", 0, 3, "tag \"d\" appears twice"},
	    {SIG "; bh=FyrM", 0, 3, "tag \"bh\" appears twice"},
	    {SIG "; foo=1; foo=2", 0, 3, "tag \"foo\" appears twice"},
	    {SIG "; foo=1; FOO=2", 0, 3, "tag \"FOO\" appears twice"},
	    {SIG "; H=from", 0, 3, "tag \"H\" is not in lower case"},
	    /* Required tags. */
	    {A D S H BH B, 0, 3, "required tag \"v\" is missing"},
	    {V A S H BH B, 0, 3, "required tag \"d\" is missing"},
	    {V A D H BH B, 0, 3, "required tag \"s\" is missing"},
	    {V D S H BH B, 0, 3, "required tag \"a\" is missing"},
	    {V A D S H BH, 0, 3, "required tag \"b\" is missing"},
	    {V A D S H B, 0, 3, "required tag \"bh\" is missing"},
	    {V A D S BH B, 0, 3, "required tag \"h\" is missing"},
	    /* v=, a=, c=. */
	    {"v=2; " A D S H BH B, 0, 3, "v= is \"2\", not 1"},
	    {"v=; " A D S H BH B, 0, 3, "v= is \"\", not 1"},
	    {V "a=rsa-sha512; " D S H BH B, 0, 3, "a= \"rsa-sha512\" is not"},
	    {V "a=; " D S H BH B, 0, 3, "a= \"\" is not"},
	    {SIG "; c=fancy", 0, 3, "c= \"fancy\" is not simple or relaxed"},
	    {SIG "; c=relaxed/", 0, 3, "c= \"relaxed/\""},
	    {SIG "; c=simple/fancy", 0, 3, "c= \"simple/fancy\""},
	    {SIG "; c=simple/relaxed/simple", 0, 3, "c= "},
	    /* b=, bh=. */
	    {V A D S H BH "b=", 0, 3, "b= is empty"},
	    {V A D S H BH "b= \r\n ", 0, 3, "b= is empty"},
	    {V A D S H BH "b=abc$def", 0, 3, "b= is not base64 (byte '$')"},
	    {V A D S H BH "b=ab==cd", 0, 3, "b= has base64 after \"=\" padding"},
	    {V A D S H BH "b=abc===", 0, 3, "b= has 3 \"=\" of padding"},
	    {V A D S H BH "b===", 0, 3, "b= has nothing but \"=\" padding"},
	    {V A D S H "bh=; " B, 0, 3, "bh= is empty"},
	    {V A D S H "bh=a-b; " B, 0, 3, "bh= is not base64 (byte '-')"},
	    /* d=, s=. */
	    {V A "d=; " S H BH B, 0, 3, "d= \"\" is not a domain name (empty)"},
	    {V A "d=exa..mple.com; " S H BH B, 0, 3, "(an empty label)"},
	    {V A "d=.example.com; " S H BH B, 0, 3, "(an empty label)"},
	    {V A "d=example.com.; " S H BH B, 0, 3, "(an empty label)"},
	    {V A "d=exa mple.com; " S H BH B, 0, 3, "(white space)"},
	    {V A "d=exa\r\n mple.com; " S H BH B, 0, 3, "\"exa   mple.com\""},
	    {V A "d=ex!ample.com; " S H BH B, 0, 3, "a character other than"},
	    {V A "d=[192.0.2.1]; " S H BH B, 0, 3, "d= \"[192.0.2.1]\" is not a domain"},
	    {V A D "s=; " H BH B, 0, 3, "s= \"\" is not a selector (empty)"},
	    {V A D "s=a..b; " H BH B, 0, 3, "s= \"a..b\" is not a selector"},
	    {V A D "s=a/b; " H BH B, 0, 3, "s= \"a/b\" is not a selector"},
	    /* h=. */
	    {V A D S "h=; " BH B, 0, 3, "h= is empty"},
	    {V A D S "h=from::to; " BH B, 0, 3, "h= has an empty field name"},
	    {V A D S "h=from:to:; " BH B, 0, 3, "h= has an empty field name"},
	    {V A D S "h=:from; " BH B, 0, 3, "h= has an empty field name"},
	    {V A D S "h=to:subject; " BH B, 0, 3, "h= does not name From"},
	    {V A D S "h=from:x-fr om; " BH B, 0, 3, "h= field name \"x-fr om\" has"},
	    {V A D S "h=from:to:subject:from; " BH B, 0, 3,
	     "h= names 4 header fields, the message has 3"},
	    {SIG, 0, 0, "h= names 3 header fields, the message has 0"},
	    /* i=. */
	    {SIG "; i=alice@example.com=", 0, 3, "i= ends in \"=\""},
	    {SIG "; i==", 0, 3, "i= ends in \"=\""},
	    {SIG "; i=alice.example.com", 0, 3, "i= \"alice.example.com\" has no \"@\""},
	    {SIG "; i=", 0, 3, "i= \"\" has no \"@\""},
	    {SIG "; i=alice@", 0, 3, "i= domain \"\" is not a domain name (empty)"},
	    {SIG "; i=al ice@example.com", 0, 3, "has white space"},
	    {SIG "; i=alice@example.org", 0, 3,
	     "i= domain \"example.org\" is not d= \"example.com\" or below it"},
	    {SIG "; i=alice@notexample.com", 0, 3, "is not d= \"example.com\""},
	    {SIG "; i=alice@com", 0, 3, "is not d= \"example.com\""},
	    {SIG "; i=alice@example.com.", 0, 3, "(an empty label)"},
	    /* l=, t=, x=, q=, z=. */
	    {SIG "; l=", 0, 3, "l= is not a number of 1 to 76 digits"},
	    {SIG "; l=-1", 0, 3, "l= is not a number"},
	    {SIG "; l=12 34", 0, 3, "l= is not a number"},
	    {SIG "; l=0x10", 0, 3, "l= is not a number"},
	    {SIG "; t=12x", 0, 3, "t= is not a number of 1 to 12 digits"},
	    {SIG "; x=", 0, 3, "x= is not a number of 1 to 12 digits"},
	    {SIG "; t=200; x=100", 0, 3, "x= 100 is before t= 200"},
	    {SIG "; x=100; t=200", 0, 3, "x= 100 is before t= 200"},
	    {SIG "; q=dns", 0, 3, "q= \"dns\" does not offer dns/txt"},
	    {SIG "; q=", 0, 3, "q= \"\" does not offer dns/txt"},
	    {SIG "; z=From:a=", 0, 3, "z= ends in an incomplete \"=XX\" escape"},
	    {SIG "; z=From:a=4", 0, 3, "z= ends in an incomplete"},
	};
	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct dkim_sig_info info;
		char why[200] = "";
		size_t len = cases[i].len > 0 ? cases[i].len : strlen(cases[i].value);
		if (screen(cases[i].value, len, cases[i].nheaders, &info, why,
		           sizeof(why)) == 0)
			testutil_fail(__FILE__, __LINE__, "case %zu accepted", i);
		if (strstr(why, cases[i].why) == NULL)
			testutil_fail(__FILE__, __LINE__,
			              "case %zu: reason \"%s\", want \"%s\"", i, why,
			              cases[i].why);
	}
}

/* A signature of exactly len bytes: SIG padded with an unknown tag.
 * Malloc'd. */
static char *
sig_of_len(size_t len)
{
	const char *head = SIG "; pad=";
	char *s = testutil_repeat('x', len);

	memcpy(s, head, strlen(head));
	return s;
}

/* "from:x1:x2:...": n field names. Malloc'd. */
static char *
field_list(int n)
{
	char *s = testutil_repeat(' ', (size_t)n * 5 + 8);

	strcpy(s, "from");
	for (int k = 1; k < n; k++)
		sprintf(s + strlen(s), ":x%d", k);
	return s;
}

static void
test_limits(void **state)
{
	char *dom253 = testutil_name(63, 253), *dom254 = testutil_name(63, 254);
	char *label63 = testutil_repeat('a', 63), *label64 = testutil_repeat('a', 64);
	char *sel230 = testutil_name(63, 230), *sel231 = testutil_name(63, 231);
	char *i256 = testutil_repeat('a', 256 - strlen("@example.com"));
	char *i257 = testutil_repeat('a', 257 - strlen("@example.com"));
	char *z1024 = testutil_repeat('x', 1024 - strlen("From:"));
	char *z1025 = testutil_repeat('x', 1025 - strlen("From:"));
	char *b2048 = testutil_repeat('A', 2048), *b2049 = testutil_repeat('A', 2049);
	char *bh88 = testutil_repeat('A', 88), *bh89 = testutil_repeat('A', 89);
	char *l76 = testutil_repeat('9', 76), *l77 = testutil_repeat('9', 77);
	char *h64 = field_list(64), *h65 = field_list(65);
	const struct {
		char *value;
		size_t nheaders;
		const char *why; /* NULL: passes */
	} cases[] = {
	    /* The whole value: 8192 bytes. */
	    {sig_of_len(DKIM_SIG_MAX), 3, NULL},
	    {sig_of_len(DKIM_SIG_MAX + 1), 3,
	     "DKIM-Signature of 8193 bytes (postern allows 8192)"},
	    /* i=: 256 bytes. */
	    {testutil_printf("%s; i=%s@example.com", SIG, i256), 3, NULL},
	    {testutil_printf("%s; i=%s@example.com", SIG, i257), 3,
	     "i= longer than 256 bytes (257)"},
	    /* z=: 1024 bytes. */
	    {testutil_printf("%s; z=From:%s", SIG, z1024), 3, NULL},
	    {testutil_printf("%s; z=From:%s", SIG, z1025), 3,
	     "z= longer than 1024 bytes (1025)"},
	    /* h=: no more names than the message has fields, 64 at most. */
	    {testutil_printf("%s", SIG), 3, NULL},
	    {testutil_printf("%s", SIG), 2,
	     "h= names 3 header fields, the message has 2"},
	    {testutil_printf(V A D S "h=%s; " BH B, h64), 64, NULL},
	    {testutil_printf(V A D S "h=%s; " BH B, h64), 63,
	     "h= names 64 header fields, the message has 63"},
	    {testutil_printf(V A D S "h=%s; " BH B, h65), 1000,
	     "h= names 65 header fields (postern allows 64)"},
	    /* b=: 2048 characters, bh=: 88. */
	    {testutil_printf(V A D S H BH "b=%s", b2048), 3, NULL},
	    {testutil_printf(V A D S H BH "b=%s", b2049), 3,
	     "b= has 2049 base64 characters (postern allows 2048)"},
	    {testutil_printf(V A D S H "bh=%s; " B, bh88), 3, NULL},
	    {testutil_printf(V A D S H "bh=%s; " B, bh89), 3,
	     "bh= has 89 base64 characters (postern allows 88)"},
	    /* l=: 76 digits; t= and x=: 12, x= not before t=. */
	    {testutil_printf("%s; l=%s", SIG, l76), 3, NULL},
	    {testutil_printf("%s; l=%s", SIG, l77), 3, "l= is not a number of 1 to 76"},
	    {testutil_printf("%s; t=999999999999; x=999999999999", SIG), 3, NULL},
	    {testutil_printf("%s; t=1000000000000", SIG), 3,
	     "t= is not a number of 1 to 12 digits"},
	    {testutil_printf("%s; x=0000000000000", SIG), 3,
	     "x= is not a number of 1 to 12 digits"},
	    {testutil_printf("%s; t=1718000001; x=1718000000", SIG), 3,
	     "x= 1718000000 is before t= 1718000001"},
	    /* d=: 253 bytes in labels of 63; s._domainkey.d: 253 bytes. */
	    {testutil_printf(V A "d=%s; " S H BH B, dom253), 3,
	     "s= and d= make a key name of 268 bytes (at most 253)"},
	    {testutil_printf(V A "d=%s; " S H BH B, dom254), 3,
	     "is not a domain name (too long)"},
	    {testutil_printf(V A "d=%s.com; " S H BH B, label63), 3, NULL},
	    {testutil_printf(V A "d=%s.com; " S H BH B, label64), 3,
	     "(a label longer than 63 bytes)"},
	    {testutil_printf(V A D "s=%s; " H BH B, sel230), 3, NULL},
	    {testutil_printf(V A D "s=%s; " H BH B, sel231), 3,
	     "s= and d= make a key name of 254 bytes (at most 253)"},
	    {testutil_printf(V A D "s=%s; " H BH B, label64), 3,
	     "s= \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\" is not a selector (a "
	     "label longer than 63 bytes)"},
	};
	(void)state;

	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct dkim_sig_info info;
		char why[200] = "";
		int rc = screen(cases[i].value, strlen(cases[i].value), cases[i].nheaders,
		                &info, why, sizeof(why));
		if (cases[i].why == NULL && rc != 0)
			testutil_fail(__FILE__, __LINE__, "case %zu refused: %s", i, why);
		if (cases[i].why != NULL && rc == 0)
			testutil_fail(__FILE__, __LINE__, "case %zu accepted", i);
		if (cases[i].why != NULL && strstr(why, cases[i].why) == NULL)
			testutil_fail(__FILE__, __LINE__,
			              "case %zu: reason \"%s\", want \"%s\"", i, why,
			              cases[i].why);
		free(cases[i].value);
	}
	/* An l= larger than the type is kept as LLONG_MAX. */
	struct dkim_sig_info info;
	char *big_l = testutil_printf("%s; l=%s", SIG, l76);
	assert_int_equal(screen(big_l, strlen(big_l), 3, &info, NULL, 0), 0);
	assert_true(info.has_l);
	assert_true(info.l == LLONG_MAX);
	free(big_l);

	char *strings[] = {dom253, dom254, label63, label64, sel230, sel231,
	                   i256,   i257,   z1024,   z1025,   b2048,  b2049,
	                   bh88,   bh89,   l76,     l77,     h64,    h65};
	for (size_t i = 0; i < N_ELEMS(strings); i++)
		free(strings[i]);
}

/* What a refused signature keeps: the facts checked before the refusal,
 * nothing of what was there before; and the reason always a string. */
static void
test_info(void **state)
{
	static const struct {
		const char *value;
		size_t nheaders;
		const char *d, *s, *a, *b8;
		unsigned nh;
	} cases[] = {
	    /* h= is checked after d=, s=, a=, b= and bh=. */
	    {SIG "; i=a@example.com; l=5", 2, "example.com", "sel", "rsa-sha256",
	     "2LFTDNJA", 3},
	    /* i= after h=: all but i= and l=. */
	    {SIG "; i=a@example.org; l=5", 3, "example.com", "sel", "rsa-sha256",
	     "2LFTDNJA", 3},
	    /* s= refused: d= only. */
	    {V A D "s=a..b; " H BH B, 3, "example.com", "", "", "", 0},
	    /* The tag-list is refused before any tag is looked at. */
	    {SIG "; d=example.org", 3, "", "", "", "", 0},
	};
	(void)state;
	for (size_t i = 0; i < N_ELEMS(cases); i++) {
		struct dkim_sig_info info;
		char why[200];
		memset(&info, 0x55, sizeof(info));
		memset(why, 0x55, sizeof(why));
		if (screen(cases[i].value, strlen(cases[i].value), cases[i].nheaders,
		           &info, why, sizeof(why)) != -1)
			testutil_fail(__FILE__, __LINE__, "case %zu accepted", i);
		if (strcmp(info.d, cases[i].d) != 0 || strcmp(info.s, cases[i].s) != 0 ||
		    strcmp(info.a, cases[i].a) != 0 ||
		    strcmp(info.b8, cases[i].b8) != 0 || info.nh != cases[i].nh ||
		    info.i[0] != '\0' || info.l != -1 || info.has_l)
			testutil_fail(
			    __FILE__, __LINE__,
			    "case %zu (%s): got d=%s s=%s a=%s b8=%s nh=%u i=%s "
			    "l=%lld",
			    i, why, info.d, info.s, info.a, info.b8, info.nh, info.i,
			    info.l);
	}

	/* A short buffer gets a cut, terminated reason; none at all is fine. */
	struct dkim_sig_info info;
	char why[8];
	memset(why, 0x55, sizeof(why));
	assert_int_equal(screen(SIG, strlen(SIG), 2, &info, why, sizeof(why)), -1);
	assert_string_equal(why, "h= name");
	assert_int_equal(screen(SIG, strlen(SIG), 2, &info, NULL, 0), -1);
	assert_int_equal(screen(SIG, strlen(SIG), 3, &info, NULL, 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_info),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
