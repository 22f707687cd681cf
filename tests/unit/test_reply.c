/*
 * test_reply: SMTP reply mapping: Postfix's texts, enhanced status codes,
 * soft_bounce and sanitising of client-supplied text.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "policy/reply.h"

static struct facts
facts(void)
{
	struct facts f;

	memset(&f, 0, sizeof(f));
	strcpy(f.client_addr, "192.0.2.1");
	f.client_name = "mx.example.org";
	f.helo = "helo.example.org";
	f.sender = "a@example.org";
	f.rcpt = "b@example.net";
	return f;
}

static void
test_objects(void **state)
{
	struct facts f = facts();
	struct verdict v;
	static const struct {
		enum reply_object obj;
		const char *text;
	} cases[] = {
	    {OBJ_CLIENT,
	     "<mx.example.org[192.0.2.1]>: Client host rejected: Access denied"},
	    {OBJ_HELO, "<helo.example.org>: Helo command rejected: Access denied"},
	    {OBJ_SENDER, "<a@example.org>: Sender address rejected: Access denied"},
	    {OBJ_RECIPIENT, "<b@example.net>: Recipient address rejected: Access denied"},
	    {OBJ_DATA, "<DATA>: Data command rejected: Access denied"},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&v, 0, sizeof(v));
		reply_set(&v, &f, cases[i].obj, 554, NULL, "Access denied");
		assert_int_equal(v.kind, VERDICT_REJECT);
		assert_int_equal(v.code, 554);
		assert_string_equal(v.xcode, "5.7.1");
		assert_string_equal(v.text, cases[i].text);
	}
	f.client_name = NULL;
	reply_set(&v, &f, OBJ_CLIENT, 450, NULL, "later");
	assert_int_equal(v.kind, VERDICT_DEFER);
	assert_string_equal(v.xcode, "4.7.1");
	assert_string_equal(v.text, "<unknown[192.0.2.1]>: Client host rejected: later");
}

static void
test_enhanced_codes(void **state)
{
	struct facts f = facts();
	struct verdict v;
	(void)state;

	assert_true(reply_is_xcode("5.7.1", 5));
	assert_true(reply_is_xcode("4.3.5", 5));
	assert_true(reply_is_xcode("5.1.10", 6));
	assert_true(reply_is_xcode("2.123.999", 9));
	assert_false(reply_is_xcode("5.7", 3));
	assert_false(reply_is_xcode("6.7.1", 5));
	assert_false(reply_is_xcode("55.7.1", 6));
	assert_false(reply_is_xcode("5.7.1000", 8));
	assert_false(reply_is_xcode("5.x.1", 5));
	assert_false(reply_is_xcode("5..1", 4));

	/* A code in the text wins when its class matches ... */
	reply_set(&v, &f, OBJ_SENDER, 550, NULL, "5.1.8 bad sender domain");
	assert_string_equal(v.xcode, "5.1.8");
	assert_string_equal(
	    v.text, "<a@example.org>: Sender address rejected: bad sender domain");
	/* ... and stays text when it does not. */
	reply_set(&v, &f, OBJ_SENDER, 450, NULL, "5.1.8 bad sender domain");
	assert_string_equal(v.xcode, "4.7.1");
	assert_non_null(strstr(v.text, "5.1.8 bad sender domain"));
	/* An explicit xcode of the wrong class is corrected to the code's. */
	reply_set(&v, &f, OBJ_CLIENT, 451, "5.3.0", "oops");
	assert_string_equal(v.xcode, "4.3.0");
}

static void
test_sanitise(void **state)
{
	struct facts f = facts();
	struct verdict v;
	char big[5000];
	(void)state;

	f.helo = "evil\r\n250 OK\x01";
	reply_set(&v, &f, OBJ_HELO, 554, NULL, "no");
	assert_null(strchr(v.text, '\r'));
	assert_null(strchr(v.text, '\n'));
	assert_null(strchr(v.text, '\x01'));
	assert_string_equal(v.text, "<evil??250 OK?>: Helo command rejected: no");

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	f.helo = big;
	reply_set(&v, &f, OBJ_HELO, 554, NULL, "no");
	assert_true(strlen(v.text) < sizeof(v.text));
}

static void
test_soft_bounce_and_format(void **state)
{
	struct facts f = facts();
	struct verdict v;
	char buf[700];
	(void)state;

	reply_set(&v, &f, OBJ_CLIENT, 554, "5.7.1", "no");
	reply_soft_bounce(&v);
	assert_int_equal(v.kind, VERDICT_DEFER);
	assert_int_equal(v.code, 454);
	assert_string_equal(v.xcode, "4.7.1");
	assert_string_equal(
	    reply_format(&v, buf, sizeof(buf)),
	    "454 4.7.1 <mx.example.org[192.0.2.1]>: Client host rejected: no");
	/* A defer stays as it is. */
	reply_set(&v, &f, OBJ_CLIENT, 450, NULL, "later");
	reply_soft_bounce(&v);
	assert_int_equal(v.code, 450);

	memset(&v, 0, sizeof(v));
	assert_string_equal(reply_format(&v, buf, sizeof(buf)), "250 2.0.0 Ok");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_objects),
	    cmocka_unit_test(test_enhanced_codes),
	    cmocka_unit_test(test_sanitise),
	    cmocka_unit_test(test_soft_bounce_and_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
