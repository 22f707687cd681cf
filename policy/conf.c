/*
 * config: the key table, the postern.conf parser and the snapshot
 * lifecycle. Each key is one row of `keys` below: adding a setting means
 * adding a row, a field in struct config and a paragraph in
 * postern.conf(5) (a test checks the last).
 *
 * Parsing happens in three steps: read "name = value" lines into the raw
 * values (defaults first), expand $name references, then convert each
 * raw value by its type. Errors name the file, the line and the key.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ifaddrs.h>

#include "dkim/engine.h"
#include "dns/dnsbl.h"
#include "dns/resolver.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "policy/conf.h"
#include "policy/syntax.h"

struct parse;
static int convert_clients(struct parse *p, size_t k, const char *v,
                           struct client_list *l);

enum key_type {
	KT_STRING,
	KT_BOOL,
	KT_TIME,
	KT_CODE,
	KT_NETLIST,
	KT_RLIST,
	KT_RATE,
	KT_UINT,
	KT_INT,
	KT_NAMES,   /* host names, lower case */
	KT_SERVERS, /* dns_servers */
	KT_DNSBL,   /* dnsbl_sites */
	KT_TEMPACT, /* defer | dunno */
	KT_CLIENTS, /* struct client_list */
	KT_ACTION,  /* accept | reject | defer */
	KT_FIELDS,  /* header field names, lower case */
	KT_ADDRS,   /* address patterns: local@, @domain, local@domain */
};

struct key {
	const char *name;
	enum key_type type;
	const char *def;
	size_t off; /* offset of the field in struct config */
	int arg;    /* KT_CODE: the code class (4 or 5) */
};

#define F(field) offsetof(struct config, field)
#define LIST(l) F(lists) + (l) * sizeof(struct restriction_list)
#define SPFACT(r) F(spf_action) + (r) * sizeof(enum result_action)
#define DKIMACT(r) F(dkim_action) + (r) * sizeof(enum result_action)

/* The documentation of each key lives in doc/postern.conf.5. */
static const struct key keys[] = {
    {"socket", KT_STRING, "inet:8895@127.0.0.1", F(socket), 0},
    {"database", KT_STRING, DATABASE_DEFAULT_PATH, F(database), 0},
    {"user", KT_STRING, "postern", F(user), 0},
    {"pid_file", KT_STRING, "", F(pid_file), 0},
    {"auto_restart", KT_BOOL, "yes", F(auto_restart), 0},
    {"auto_restart_rate", KT_RATE, "10/1h", F(auto_restart_count), 0},
    {"shutdown_timeout", KT_TIME, "30s", F(shutdown_timeout), 0},
    {"myhostname", KT_STRING, "", F(myhostname), 0},
    {"authserv_id", KT_STRING, "$myhostname", F(authserv_id), 0},
    {"internal_networks", KT_NETLIST, "127.0.0.0/8 [::1]/128", F(internal_networks), 0},
    {"delay_reject", KT_BOOL, "yes", F(delay_reject), 0},
    {"soft_bounce", KT_BOOL, "no", F(soft_bounce), 0},
    {"client_restrictions", KT_RLIST, "", LIST(RL_CLIENT), 0},
    {"helo_restrictions", KT_RLIST, "", LIST(RL_HELO), 0},
    {"sender_restrictions", KT_RLIST, "", LIST(RL_SENDER), 0},
    {"recipient_restrictions", KT_RLIST, "", LIST(RL_RECIPIENT), 0},
    {"data_restrictions", KT_RLIST, "", LIST(RL_DATA), 0},
    {"reject_code", KT_CODE, "554", F(reject_code), 5},
    {"defer_code", KT_CODE, "450", F(defer_code), 4},
    {"access_map_reject_code", KT_CODE, "554", F(access_map_reject_code), 5},
    {"access_map_defer_code", KT_CODE, "450", F(access_map_defer_code), 4},
    {"dns_servers", KT_SERVERS, "", F(dns_server_v), 0},
    {"dns_timeout", KT_TIME, "5s", F(dns_timeout), 0},
    {"dns_cache_size", KT_UINT, "10000", F(dns_cache_size), 0},
    {"dnsbl_sites", KT_DNSBL, "", F(dnsbl_sites), 0},
    {"dnsbl_threshold", KT_INT, "1", F(dnsbl_threshold), 0},
    {"dnsbl_temp_action", KT_TEMPACT, "defer", F(dnsbl_temp_defer), 0},
    {"my_helo_names", KT_NAMES, "", F(my_helo_names), 0},
    {"unknown_client_reject_code", KT_CODE, "450", F(unknown_client_reject_code), 0},
    {"unknown_hostname_reject_code", KT_CODE, "450", F(unknown_hostname_reject_code), 0},
    {"unknown_address_reject_code", KT_CODE, "450", F(unknown_address_reject_code), 0},
    {"invalid_hostname_reject_code", KT_CODE, "501", F(invalid_hostname_reject_code), 0},
    {"non_fqdn_reject_code", KT_CODE, "504", F(non_fqdn_reject_code), 0},
    {"maps_rbl_reject_code", KT_CODE, "554", F(maps_rbl_reject_code), 0},
    {"multi_recipient_bounce_reject_code", KT_CODE, "550",
     F(multi_recipient_bounce_reject_code), 0},
    {"spf_helo_check", KT_BOOL, "no", F(spf_helo_check), 0},
    {"spf_skip_clients", KT_CLIENTS, "", F(spf_skip_clients), 0},
    {"received_spf_header", KT_BOOL, "yes", F(received_spf_header), 0},
    {"spf_timeout", KT_TIME, "10s", F(spf_timeout), 0},
    {"spf_pass_action", KT_ACTION, "accept", SPFACT(SPF_R_PASS), 0},
    {"spf_fail_action", KT_ACTION, "reject", SPFACT(SPF_R_FAIL), 0},
    {"spf_softfail_action", KT_ACTION, "accept", SPFACT(SPF_R_SOFTFAIL), 0},
    {"spf_neutral_action", KT_ACTION, "accept", SPFACT(SPF_R_NEUTRAL), 0},
    {"spf_none_action", KT_ACTION, "accept", SPFACT(SPF_R_NONE), 0},
    {"spf_temperror_action", KT_ACTION, "defer", SPFACT(SPF_R_TEMPERROR), 0},
    {"spf_permerror_action", KT_ACTION, "accept", SPFACT(SPF_R_PERMERROR), 0},
    {"greylist_delay", KT_TIME, "5m", F(greylist_delay), 0},
    {"greylist_retry_window", KT_TIME, "2d", F(greylist_retry_window), 0},
    {"greylist_max_age", KT_TIME, "35d", F(greylist_max_age), 0},
    {"greylist_auto_allow", KT_UINT, "5", F(greylist_auto_allow), 0},
    {"greylist_ipv4_prefix", KT_UINT, "24", F(greylist_ipv4_prefix), 0},
    {"greylist_ipv6_prefix", KT_UINT, "64", F(greylist_ipv6_prefix), 0},
    {"greylist_text", KT_STRING, "Greylisted, please try again in {wait} seconds",
     F(greylist_text), 0},
    {"greylist_allow_clients", KT_CLIENTS, "", F(greylist_allow_clients), 0},
    {"greylist_allow_recipients", KT_ADDRS, "postmaster@ abuse@",
     F(greylist_allow_recipients), 0},
    {"greylist_allow_spf_known", KT_BOOL, "yes", F(greylist_allow_spf_known), 0},
    {"greylist_header", KT_BOOL, "yes", F(greylist_header), 0},
    {"greylist_db_timeout", KT_TIME, "1s", F(greylist_db_timeout), 0},
    {"client_error_limit", KT_UINT, "10", F(client_error_limit), 0},
    {"client_error_window", KT_TIME, "10m", F(client_error_window), 0},
    {"client_ban_time", KT_TIME, "1h", F(client_ban_time), 0},
    {"error_sleep_time", KT_TIME, "1s", F(error_sleep_time), 0},
    {"dkim_verify", KT_BOOL, "yes", F(dkim_verify), 0},
    {"dkim_sign", KT_BOOL, "yes", F(dkim_sign), 0},
    {"dkim_key_table", KT_STRING, "sqlite", F(dkim_key_table), 0},
    {"key_dir", KT_STRING, KEY_DIR_DEFAULT_PATH, F(key_dir), 0},
    {"dkim_max_signatures", KT_UINT, "5", F(dkim_max_signatures), 0},
    {"dkim_allow_l_tag", KT_BOOL, "no", F(dkim_allow_l_tag), 0},
    {"dkim_min_rsa_bits", KT_UINT, "1024", F(dkim_min_rsa_bits), 0},
    {"dkim_canonicalization", KT_STRING, "relaxed/relaxed", F(dkim_canonicalization), 0},
    {"dkim_signed_headers", KT_FIELDS,
     "from reply-to subject date to cc resent-date resent-from resent-to resent-cc "
     "in-reply-to references list-id list-help list-unsubscribe list-subscribe "
     "list-post list-owner list-archive message-id mime-version content-type "
     "content-transfer-encoding content-id content-description",
     F(dkim_signed_headers), 0},
    {"dkim_oversigned_headers", KT_FIELDS,
     "from subject date to cc message-id mime-version content-type "
     "content-transfer-encoding",
     F(dkim_oversigned_headers), 0},
    {"dkim_pass_action", KT_ACTION, "accept", DKIMACT(DKIM_R_PASS), 0},
    {"dkim_fail_action", KT_ACTION, "accept", DKIMACT(DKIM_R_FAIL), 0},
    {"dkim_neutral_action", KT_ACTION, "accept", DKIMACT(DKIM_R_NEUTRAL), 0},
    {"dkim_policy_action", KT_ACTION, "accept", DKIMACT(DKIM_R_POLICY), 0},
    {"dkim_temperror_action", KT_ACTION, "accept", DKIMACT(DKIM_R_TEMPERROR), 0},
    {"dkim_permerror_action", KT_ACTION, "accept", DKIMACT(DKIM_R_PERMERROR), 0},
    {"dkim_none_action", KT_ACTION, "accept", DKIMACT(DKIM_R_NONE), 0},
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

const char *
config_key_name(size_t i)
{
	return i < NKEYS ? keys[i].name : NULL;
}

static int
key_index(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Edit distance, to suggest the key a typo meant. */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64], prev, tmp;

	if (lb >= 64 || la >= 64)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			tmp = row[j];
			size_t best = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = tmp;
		}
	}
	return row[lb];
}

static const char *
suggest(const char *name)
{
	const char *best = NULL;
	size_t bestd = 3;

	for (size_t i = 0; i < NKEYS; i++) {
		size_t d = distance(name, keys[i].name);
		if (d < bestd) {
			bestd = d;
			best = keys[i].name;
		}
	}
	return best;
}

int
config_parse_time(const char *text, unsigned *seconds_r)
{
	char *end;
	unsigned long v, mult = 1;

	errno = 0;
	if (*text < '0' || *text > '9')
		return -1;
	v = strtoul(text, &end, 10);
	if (errno != 0)
		return -1;
	switch (*end) {
	case '\0':
	case 's':
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	case 'w':
		mult = 7 * 86400;
		break;
	default:
		return -1;
	}
	if (*end != '\0' && end[1] != '\0')
		return -1;
	if (v > 0xffffffffUL / mult)
		return -1;
	*seconds_r = (unsigned)(v * mult);
	return 0;
}

/* Parsing state: raw values and where each came from. */
struct parse {
	const char *path;
	char *raw[NKEYS];
	unsigned line[NKEYS];
	bool expanded[NKEYS]; /* raw[k] holds its final value */
	char *error;
};

static int fail(struct parse *p, size_t k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct parse *p, size_t k, const char *fmt, ...)
{
	va_list ap;
	char *why;

	va_start(ap, fmt);
	why = xvasprintf(fmt, ap);
	va_end(ap);
	if (k < NKEYS && p->line[k] != 0)
		p->error = xasprintf("%s, line %u: %s: %s", p->path, p->line[k],
		                     keys[k].name, why);
	else if (k < NKEYS)
		p->error = xasprintf("default of %s: %s", keys[k].name, why);
	else
		p->error = xasprintf("%s: %s", p->path ? p->path : "config", why);
	free(why);
	return -1;
}

/* One logical line "name = value" (continuations already joined). */
static int
parse_line(struct parse *p, char *text, unsigned lineno)
{
	char *eq = strchr(text, '='), *name, *value;
	int k;

	if (eq == NULL) {
		p->error = xasprintf("%s, line %u: missing '=' in \"%.60s\"", p->path,
		                     lineno, text);
		return -1;
	}
	*eq = '\0';
	name = str_trim(text);
	value = str_trim(eq + 1);
	if ((k = key_index(name)) < 0) {
		const char *s = suggest(name);
		p->error = xasprintf("%s, line %u: unknown key \"%.60s\"%s%s%s", p->path,
		                     lineno, name, s ? " (did you mean " : "", s ? s : "",
		                     s ? "?)" : "");
		return -1;
	}
	free(p->raw[k]);
	p->raw[k] = xstrdup(value);
	p->line[k] = lineno;
	return 0;
}

static int
read_file(struct parse *p)
{
	FILE *fp = fopen(p->path, "r");
	char *line = NULL, *logical = NULL;
	size_t cap = 0, llen = 0;
	unsigned lineno = 0, start = 0;
	ssize_t n;
	int rc = 0;

	if (fp == NULL) {
		p->error = xasprintf("%s: %s", p->path, strerror(errno));
		return -1;
	}
	while (rc == 0 && (n = getline(&line, &cap, fp)) >= 0) {
		lineno++;
		if (memchr(line, '\0', (size_t)n) != NULL) {
			p->error = xasprintf("%s, line %u: NUL byte", p->path, lineno);
			rc = -1;
			break;
		}
		char *t = str_trim(line);
		if (*t == '#' || *t == '\0')
			continue;
		if (line[0] == ' ' || line[0] == '\t') {
			if (logical == NULL) {
				p->error =
				    xasprintf("%s, line %u: continuation line without a "
				              "setting before it",
				              p->path, lineno);
				rc = -1;
				break;
			}
			logical = xrealloc(logical, llen + strlen(t) + 2);
			logical[llen++] = ' ';
			strcpy(logical + llen, t);
			llen += strlen(t);
			continue;
		}
		if (logical != NULL)
			rc = parse_line(p, logical, start);
		free(logical);
		logical = xstrdup(t);
		llen = strlen(t);
		start = lineno;
	}
	if (rc == 0 && logical != NULL)
		rc = parse_line(p, logical, start);
	if (rc == 0 && ferror(fp)) {
		p->error = xasprintf("%s: read error: %s", p->path, strerror(errno));
		rc = -1;
	}
	free(logical);
	free(line);
	fclose(fp);
	return rc;
}

/* Expand $name and ${name} in raw value k, recursively (depth-limited). */
static int
expand(struct parse *p, size_t k, int depth)
{
	char *in = p->raw[k], *out, *o;
	size_t cap = strlen(in) + 1;

	if (p->expanded[k] || strchr(in, '$') == NULL)
		return 0;
	if (depth > 8)
		return fail(p, k, "$name references nest too deep (a loop?)");
	out = o = xmalloc(cap);
	for (const char *s = in; *s;) {
		if (*s != '$') {
			*o++ = *s++;
			continue;
		}
		s++;
		if (*s == '$') { /* "$$" is a '$' (regular expressions) */
			*o++ = *s++;
			continue;
		}
		bool brace = *s == '{';
		const char *nstart = s + brace;
		size_t nlen = strspn(nstart, "abcdefghijklmnopqrstuvwxyz_0123456789");
		char name[64];
		if (nlen == 0 || nlen >= sizeof(name) || (brace && nstart[nlen] != '}')) {
			free(out);
			return fail(p, k, "bad $name reference");
		}
		memcpy(name, nstart, nlen);
		name[nlen] = '\0';
		int r = key_index(name);
		if (r < 0 || (size_t)r == k) {
			free(out);
			return fail(p, k, "$%s: %s", name,
			            r < 0 ? "no such key" : "refers to itself");
		}
		if (expand(p, (size_t)r, depth + 1) < 0) {
			free(out);
			return -1;
		}
		size_t used = (size_t)(o - out), vlen = strlen(p->raw[r]);
		cap += vlen;
		out = xrealloc(out, cap);
		o = out + used;
		memcpy(o, p->raw[r], vlen);
		o += vlen;
		s = nstart + nlen + brace;
	}
	*o = '\0';
	free(p->raw[k]);
	p->raw[k] = out;
	p->expanded[k] = true;
	return 0;
}

static int
parse_bool(const char *v, bool *b_r)
{
	if (str_iequal(v, "yes") || str_iequal(v, "true") || str_iequal(v, "on") ||
	    strcmp(v, "1") == 0)
		*b_r = true;
	else if (str_iequal(v, "no") || str_iequal(v, "false") || str_iequal(v, "off") ||
	         strcmp(v, "0") == 0)
		*b_r = false;
	else
		return -1;
	return 0;
}

static int convert_names(struct parse *p, size_t k, const char *v, char ***names_r);
static int convert_fields(struct parse *p, size_t k, const char *v, char ***names_r);
static int convert_addrs(struct parse *p, size_t k, const char *v, char ***addrs_r);

static int
convert(struct parse *p, struct config *cfg, size_t k)
{
	const struct key *key = &keys[k];
	char *v = p->raw[k], *field = (char *)cfg + key->off, *err = NULL;
	char buf[256];
	unsigned u;

	switch (key->type) {
	case KT_STRING:
		if (str_has_ctl(v))
			return fail(p, k, "control character in value");
		*(char **)field = xstrdup(v);
		return 0;
	case KT_BOOL:
		if (parse_bool(v, (bool *)field) < 0)
			return fail(p, k, "\"%s\" is not yes or no", v);
		return 0;
	case KT_TIME:
		if (config_parse_time(v, (unsigned *)field) < 0)
			return fail(p, k,
			            "\"%s\" is not a time (e.g. 30s, 5m, 1h, 2d, 1w)", v);
		return 0;
	case KT_CODE:
		if (strlen(v) != 3 || strspn(v, "0123456789") != 3 ||
		    (key->arg != 0 && v[0] - '0' != key->arg) ||
		    (key->arg == 0 && v[0] != '4' && v[0] != '5'))
			return key->arg
			           ? fail(p, k, "\"%s\" is not a %dXX reply code", v,
			                  key->arg)
			           : fail(p, k, "\"%s\" is not a 4XX or 5XX reply code",
			                  v);
		*(unsigned *)field = (unsigned)atoi(v);
		return 0;
	case KT_NETLIST:
		if (cidr_list_parse(v, (struct cidr_list *)field, buf, sizeof(buf)) < 0)
			return fail(p, k, "%s", buf);
		return 0;
	case KT_RATE: {
		char *slash = strchr(v, '/');
		unsigned n;
		if (slash == NULL || sscanf(v, "%u", &n) != 1 ||
		    strspn(v, "0123456789") != (size_t)(slash - v) ||
		    config_parse_time(slash + 1, &u) < 0 || u == 0)
			return fail(p, k, "\"%s\" is not COUNT/TIME (e.g. 10/1h)", v);
		if (n > 1000)
			return fail(p, k, "%u restarts: at most 1000", n);
		cfg->auto_restart_count = n;
		cfg->auto_restart_window = u;
		return 0;
	}
	case KT_UINT:
	case KT_INT: {
		char *end;
		errno = 0;
		long n = strtol(v, &end, 10);
		if (errno != 0 || end == v || *end != '\0' || n > 100000000 ||
		    n < -100000000 || (key->type == KT_UINT && n < 0))
			return fail(p, k, "\"%s\" is not a%s number", v,
			            key->type == KT_UINT ? " non-negative" : "n integer");
		if (key->type == KT_UINT)
			*(unsigned *)field = (unsigned)n;
		else
			*(int *)field = (int)n;
		return 0;
	}
	case KT_NAMES:
		return convert_names(p, k, v, (char ***)field);
	case KT_SERVERS:
		if (*v != '\0' && dns_servers_parse(v, &cfg->dns_server_v,
		                                    &cfg->ndns_servers, &err) < 0) {
			fail(p, k, "%s", err);
			free(err);
			return -1;
		}
		return 0;
	case KT_DNSBL:
		if (dnsbl_sites_parse(v, &cfg->dnsbl_sites, &cfg->ndnsbl_sites, &err) <
		    0) {
			fail(p, k, "%s", err);
			free(err);
			return -1;
		}
		return 0;
	case KT_TEMPACT:
		if (strcmp(v, "defer") != 0 && strcmp(v, "dunno") != 0)
			return fail(p, k, "\"%s\" is not defer or dunno", v);
		*(bool *)field = strcmp(v, "defer") == 0;
		return 0;
	case KT_CLIENTS:
		return convert_clients(p, k, v, (struct client_list *)field);
	case KT_ACTION:
		if (strcmp(v, "accept") == 0)
			*(enum result_action *)field = ACT_ACCEPT;
		else if (strcmp(v, "reject") == 0)
			*(enum result_action *)field = ACT_REJECT;
		else if (strcmp(v, "defer") == 0)
			*(enum result_action *)field = ACT_DEFER;
		else
			return fail(p, k, "\"%s\" is not accept, reject or defer", v);
		return 0;
	case KT_FIELDS:
		return convert_fields(p, k, v, (char ***)field);
	case KT_ADDRS:
		return convert_addrs(p, k, v, (char ***)field);
	case KT_RLIST:
		if (policy_compile(v, (struct restriction_list *)field, &err) < 0) {
			fail(p, k, "%s", err);
			free(err);
			return -1;
		}
		return 0;
	}
	return fail(p, k, "internal error: unknown key type");
}

/* A list of header field names (dkim_signed_headers): RFC 5322 field
 * names (printable ASCII but ':'), lower case, each once. */
static int
convert_fields(struct parse *p, size_t k, const char *v, char ***names_r)
{
	char *copy = xstrdup(v), *cursor = copy, *tok;
	char **names = xcalloc(1, sizeof(char *));
	size_t n = 0;
	int rc = 0;

	while (rc == 0 && (tok = str_next_token(&cursor)) != NULL) {
		for (char *c = tok; *c && rc == 0; c++) {
			if (*c <= ' ' || *c > '~' || *c == ':')
				rc = fail(p, k, "\"%s\" is not a header field name", tok);
			else if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
		}
		if (rc == 0 && strlen(tok) > 64)
			rc = fail(p, k, "\"%.20s...\" is longer than 64 bytes", tok);
		for (size_t i = 0; rc == 0 && i < n; i++)
			if (strcmp(names[i], tok) == 0)
				rc = fail(p, k, "\"%s\" is listed twice", tok);
		if (rc == 0 && n >= 64)
			rc = fail(p, k, "more than 64 header fields");
		if (rc == 0) {
			names = xrealloc(names, (n + 2) * sizeof(char *));
			names[n++] = xstrdup(tok);
			names[n] = NULL;
		}
	}
	free(copy);
	if (rc < 0) {
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		return -1;
	}
	*names_r = names;
	return 0;
}

/* A list of host names (my_helo_names): valid names, lower case. */
static int
convert_names(struct parse *p, size_t k, const char *v, char ***names_r)
{
	char *copy = xstrdup(v), *cursor = copy, *tok;
	char **names = NULL;
	size_t n = 0, cap = 0;
	const char *why;

	while ((tok = str_next_token(&cursor)) != NULL) {
		char name[256];
		syntax_strip_dot(tok, name, sizeof(name));
		if (!syntax_hostname_valid(name, &why)) {
			fail(p, k, "\"%.80s\" is not a host name: %s", tok, why);
			free(copy);
			names = xgrow(names, &cap, n + 1, sizeof(*names));
			names[n] = NULL;
			*names_r = names;
			return -1;
		}
		names = xgrow(names, &cap, n + 2, sizeof(*names));
		names[n++] = str_lower(xstrdup(name));
	}
	names = xgrow(names, &cap, n + 1, sizeof(*names));
	names[n] = NULL;
	*names_r = names;
	free(copy);
	return 0;
}

/* spf_skip_clients, greylist_allow_clients: addresses and networks, host
 * names (".example.net" for the names below example.net), or /regexp/
 * (no white space or comma inside, as the list splits there). */
static int
convert_clients(struct parse *p, size_t k, const char *v, struct client_list *l)
{
	char *copy = xstrdup(v), *cursor = copy, *tok;
	size_t ncap = 0, cap = 0, n = 0;
	int rc = 0;

	while (rc == 0 && (tok = str_next_token(&cursor)) != NULL) {
		struct cidr c;
		char err[128];
		size_t len = strlen(tok);

		if (len >= 3 && tok[0] == '/' && tok[len - 1] == '/') {
			regex_t re;
			int e;
			tok[len - 1] = '\0';
			e = regcomp(&re, tok + 1, REG_EXTENDED | REG_ICASE | REG_NOSUB);
			if (e != 0) {
				regerror(e, &re, err, sizeof(err));
				rc = fail(p, k, "\"/%.80s/\": %s", tok + 1, err);
				break;
			}
			l->regexps = xrealloc(l->regexps, (l->nregexps + 1) * sizeof(re));
			((regex_t *)l->regexps)[l->nregexps++] = re;
			continue;
		}
		/* An address or network has a ':' or '[', or only digits,
		 * dots and a '/'; anything else is a host name. */
		if (strchr(tok, ':') != NULL || strchr(tok, '[') != NULL ||
		    strspn(tok, "0123456789./") == strlen(tok)) {
			if (cidr_parse(tok, &c, err, sizeof(err)) != 0) {
				rc = fail(p, k, "\"%.80s\": %s", tok, err);
				break;
			}
			l->nets.v =
			    xgrow(l->nets.v, &ncap, l->nets.n + 1, sizeof(*l->nets.v));
			l->nets.v[l->nets.n++] = c;
			continue;
		}
		const char *why;
		char name[256];
		bool suffix = tok[0] == '.';
		syntax_strip_dot(tok + suffix, name, sizeof(name));
		if (!syntax_hostname_valid(name, &why)) {
			rc = fail(p, k,
			          "\"%.80s\" is not an address, network or host name: %s",
			          tok, why);
			break;
		}
		l->names = xgrow(l->names, &cap, n + 2, sizeof(*l->names));
		l->names[n++] = str_lower(xasprintf("%s%s", suffix ? "." : "", name));
		l->names[n] = NULL;
	}
	free(copy);
	return rc;
}

/* greylist_allow_recipients: "local@" (any domain), "@domain", or
 * "local@domain", lower case. */
static int
convert_addrs(struct parse *p, size_t k, const char *v, char ***addrs_r)
{
	char *copy = xstrdup(v), *cursor = copy, *tok;
	char **addrs = xcalloc(1, sizeof(char *));
	size_t n = 0;
	int rc = 0;

	while (rc == 0 && (tok = str_next_token(&cursor)) != NULL) {
		const char *at = strchr(tok, '@');
		if (at == NULL || strchr(at + 1, '@') != NULL || strlen(tok) < 2 ||
		    str_has_ctl(tok) || strchr(tok, '<') != NULL ||
		    strchr(tok, '>') != NULL) {
			rc =
			    fail(p, k, "\"%.80s\" is not local@, @domain or local@domain",
			         tok);
			break;
		}
		addrs = xrealloc(addrs, (n + 2) * sizeof(*addrs));
		addrs[n++] = str_lower(xstrdup(tok));
		addrs[n] = NULL;
	}
	free(copy);
	*addrs_r = addrs;
	return rc;
}

void
client_list_free(struct client_list *l)
{
	cidr_list_free(&l->nets);
	for (char **n = l->names; n != NULL && *n != NULL; n++)
		free(*n);
	free(l->names);
	l->names = NULL;
	for (size_t i = 0; i < l->nregexps; i++)
		regfree(&((regex_t *)l->regexps)[i]);
	free(l->regexps);
	l->regexps = NULL;
	l->nregexps = 0;
}

bool
client_list_match(const struct client_list *l, const struct ipaddr *ip,
                  const char *verified_name)
{
	if (ip != NULL && ip->family != 0 && cidr_list_match(&l->nets, ip))
		return true;
	if (verified_name == NULL || *verified_name == '\0')
		return false;
	for (size_t i = 0; i < l->nregexps; i++)
		if (regexec(&((const regex_t *)l->regexps)[i], verified_name, 0, NULL,
		            0) == 0)
			return true;
	size_t vl = strlen(verified_name);
	for (char **n = l->names; n != NULL && *n != NULL; n++) {
		if ((*n)[0] == '.') {
			size_t nl = strlen(*n);
			if (vl > nl && strcasecmp(verified_name + vl - nl, *n) == 0)
				return true;
		} else if (strcasecmp(verified_name, *n) == 0) {
			return true;
		}
	}
	return false;
}

/* The addresses of this host's interfaces, for reject_helo_is_us. */
static void
own_addresses(struct config *cfg)
{
	struct ifaddrs *ifa, *i;
	size_t cap = 0;

	if (getifaddrs(&ifa) != 0)
		return;
	for (i = ifa; i != NULL; i = i->ifa_next) {
		struct ipaddr ip;
		if (i->ifa_addr == NULL || ipaddr_from_sockaddr(i->ifa_addr, &ip) != 0)
			continue;
		cfg->own_addrs = xgrow(cfg->own_addrs, &cap, cfg->nown_addrs + 1,
		                       sizeof(*cfg->own_addrs));
		cfg->own_addrs[cfg->nown_addrs++] = ip;
	}
	freeifaddrs(ifa);
}

/* The resolver of this snapshot: dns_servers, or resolv.conf. Without a
 * usable server every lookup is TEMP, which the checks report. */
static void
make_resolver(struct config *cfg)
{
	struct dns_server *sv = NULL;
	size_t n = 0;
	char *err = NULL;

	if (cfg->ndns_servers > 0) {
		cfg->resolver = dns_resolver_new(cfg->dns_server_v, cfg->ndns_servers,
		                                 cfg->dns_timeout * 1000u);
		return;
	}
	(void)dns_servers_from_resolv_conf("/etc/resolv.conf", &sv, &n, &err);
	free(err);
	cfg->resolver = dns_resolver_new(sv, n, cfg->dns_timeout * 1000u);
	free(sv);
}

static char *
default_hostname(void)
{
	char name[256];

	if (gethostname(name, sizeof(name)) < 0 || name[0] == '\0')
		return xstrdup("localhost");
	name[sizeof(name) - 1] = '\0';
	return xstrdup(name);
}

static bool
names_have(char **names, const char *name)
{
	for (size_t i = 0; names != NULL && names[i] != NULL; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

/* The libopendkim handle of this snapshot, over its resolver. */
static int
make_dkim_engine(struct parse *p, struct config *cfg)
{
	const char *canon = cfg->dkim_canonicalization, *slash = strchr(canon, '/');
	struct dkim_engine_opts o = {
	    .min_rsa_bits = cfg->dkim_min_rsa_bits,
	    .timeout_s = cfg->dns_timeout,
	    .signed_headers = (const char *const *)cfg->dkim_signed_headers,
	    .oversigned_headers = (const char *const *)cfg->dkim_oversigned_headers,
	    .hdr_canon = strncmp(canon, "relaxed", 7) == 0,
	    .body_canon = slash != NULL && strcmp(slash + 1, "relaxed") == 0,
	};
	char *err = NULL;

	if (!cfg->dkim_verify && !cfg->dkim_sign)
		return 0;
	cfg->dkim_engine = dkim_engine_new(cfg->resolver, &o, &err);
	if (cfg->dkim_engine == NULL) {
		fail(p, (size_t)key_index("dkim_verify"), "%s", err);
		free(err);
		return -1;
	}
	return 0;
}

/* s with every '$' doubled; frees s. */
static char *
escape_dollars(char *s)
{
	size_t n = 0;
	char *out, *o;

	for (const char *c = s; *c; c++)
		n += *c == '$';
	if (n == 0)
		return s;
	out = o = xmalloc(strlen(s) + n + 1);
	for (const char *c = s; *c; c++) {
		*o++ = *c;
		if (*c == '$')
			*o++ = '$';
	}
	*o = '\0';
	free(s);
	return out;
}

struct config *
config_load(const char *path, char **error_r)
{
	struct parse p = {.path = path};
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	size_t k;
	int rc = 0;

	atomic_init(&cfg->refs, 1);
	cfg->path = path ? xstrdup(path) : NULL;
	for (k = 0; k < NKEYS; k++)
		p.raw[k] = xstrdup(keys[k].def);
	if (path != NULL)
		rc = read_file(&p);
	k = (size_t)key_index("myhostname");
	if (rc == 0 && p.raw[k][0] == '\0') {
		free(p.raw[k]);
		p.raw[k] = default_hostname();
	}
	for (k = 0; rc == 0 && k < NKEYS; k++)
		rc = expand(&p, k, 0);
	for (k = 0; rc == 0 && k < NKEYS; k++)
		rc = convert(&p, cfg, k);
	if (rc == 0 && (cfg->dns_timeout == 0 || cfg->dns_timeout > 600))
		rc = fail(&p, (size_t)key_index("dns_timeout"),
		          "must be at least 1s and at most 10m");
	if (rc == 0 && (cfg->spf_timeout == 0 || cfg->spf_timeout > 600))
		rc = fail(&p, (size_t)key_index("spf_timeout"),
		          "must be at least 1s and at most 10m");
	if (rc == 0 && strcmp(cfg->dkim_canonicalization, "relaxed/relaxed") != 0 &&
	    strcmp(cfg->dkim_canonicalization, "relaxed/simple") != 0 &&
	    strcmp(cfg->dkim_canonicalization, "simple/relaxed") != 0 &&
	    strcmp(cfg->dkim_canonicalization, "simple/simple") != 0 &&
	    strcmp(cfg->dkim_canonicalization, "relaxed") != 0 &&
	    strcmp(cfg->dkim_canonicalization, "simple") != 0)
		rc = fail(&p, (size_t)key_index("dkim_canonicalization"),
		          "\"%s\" is not HEADER/BODY with each relaxed or simple",
		          cfg->dkim_canonicalization);
	if (rc == 0 && !names_have(cfg->dkim_signed_headers, "from"))
		rc = fail(&p, (size_t)key_index("dkim_signed_headers"),
		          "must name from (RFC 6376 section 5.4)");
	if (rc == 0 && (cfg->dkim_max_signatures == 0 || cfg->dkim_max_signatures > 64))
		rc = fail(&p, (size_t)key_index("dkim_max_signatures"),
		          "must be at least 1 and at most 64");
	if (rc == 0 && (cfg->dkim_min_rsa_bits < 1024 || cfg->dkim_min_rsa_bits > 4096))
		rc = fail(&p, (size_t)key_index("dkim_min_rsa_bits"),
		          "must be at least 1024 (RFC 8301) and at most 4096");
	if (rc == 0 && cfg->greylist_ipv4_prefix > 32)
		rc = fail(&p, (size_t)key_index("greylist_ipv4_prefix"),
		          "must be at most 32");
	if (rc == 0 && cfg->greylist_ipv6_prefix > 128)
		rc = fail(&p, (size_t)key_index("greylist_ipv6_prefix"),
		          "must be at most 128");
	if (rc == 0 && cfg->greylist_retry_window <= cfg->greylist_delay)
		rc = fail(&p, (size_t)key_index("greylist_retry_window"),
		          "must be longer than greylist_delay");
	if (rc == 0 && cfg->greylist_max_age < cfg->greylist_retry_window)
		rc = fail(&p, (size_t)key_index("greylist_max_age"),
		          "must be at least greylist_retry_window");
	if (rc == 0 && (cfg->greylist_db_timeout == 0 || cfg->greylist_db_timeout > 60))
		rc = fail(&p, (size_t)key_index("greylist_db_timeout"),
		          "must be at least 1s and at most 1m");
	if (rc == 0 && cfg->client_error_limit == 0)
		rc = fail(&p, (size_t)key_index("client_error_limit"),
		          "must be at least 1");
	if (rc == 0 && (cfg->client_error_window == 0 || cfg->client_ban_time == 0))
		rc = fail(&p,
		          (size_t)key_index(cfg->client_error_window == 0
		                                ? "client_error_window"
		                                : "client_ban_time"),
		          "must be at least 1s");
	if (rc == 0 && cfg->error_sleep_time > 20)
		rc = fail(&p, (size_t)key_index("error_sleep_time"),
		          "must be at most 20s (the MTA's milter timeout is 30s)");
	if (rc == 0 && strcmp(cfg->dkim_key_table, "sqlite") != 0 &&
	    strncmp(cfg->dkim_key_table, "opendkim:", 9) != 0)
		rc = fail(&p, (size_t)key_index("dkim_key_table"),
		          "\"%s\" is not sqlite or opendkim:KEYTABLE,SIGNINGTABLE",
		          cfg->dkim_key_table);
	if (rc == 0) {
		make_resolver(cfg);
		own_addresses(cfg);
		rc = make_dkim_engine(&p, cfg);
	}
	/* The effective values, written so that they read back the same
	 * ("$" as "$$"). */
	cfg->values = xcalloc(NKEYS, sizeof(char *));
	for (k = 0; k < NKEYS; k++)
		cfg->values[k] = p.expanded[k] ? escape_dollars(p.raw[k]) : p.raw[k];
	if (rc < 0) {
		*error_r = p.error;
		config_unref(cfg);
		return NULL;
	}
	return cfg;
}

struct config *
config_ref(struct config *cfg)
{
	atomic_fetch_add(&cfg->refs, 1);
	return cfg;
}

void
config_unref(struct config *cfg)
{
	if (cfg == NULL || atomic_fetch_sub(&cfg->refs, 1) != 1)
		return;
	for (size_t k = 0; k < NKEYS; k++) {
		char *field = (char *)cfg + keys[k].off;
		if (keys[k].type == KT_STRING || keys[k].type == KT_SERVERS)
			free(*(char **)field);
		else if ((keys[k].type == KT_NAMES || keys[k].type == KT_FIELDS ||
		          keys[k].type == KT_ADDRS) &&
		         *(char ***)field != NULL) {
			for (char **n = *(char ***)field; *n; n++)
				free(*n);
			free(*(char ***)field);
		} else if (keys[k].type == KT_NETLIST)
			cidr_list_free((struct cidr_list *)field);
		else if (keys[k].type == KT_CLIENTS)
			client_list_free((struct client_list *)field);
		else if (keys[k].type == KT_RLIST)
			policy_list_free((struct restriction_list *)field);
		if (cfg->values != NULL)
			free(cfg->values[k]);
	}
	free(cfg->values);
	dnsbl_sites_free(cfg->dnsbl_sites, cfg->ndnsbl_sites);
	dkim_engine_free(cfg->dkim_engine);
	dns_resolver_free(cfg->resolver);
	free(cfg->own_addrs);
	free(cfg->path);
	free(cfg);
}

void
config_print(const struct config *cfg, FILE *out)
{
	for (size_t k = 0; k < NKEYS; k++)
		fprintf(out, "%s = %s\n", keys[k].name, cfg->values[k]);
}
