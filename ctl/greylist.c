/*
 * greylist: "posternctl greylist ..." (the triplets and clients of
 * check_greylist) and "posternctl bans ..." (the client bans of
 * check_client_error_limit), over the tables of db/greylist_admin.c.
 * One row of a command table per subcommand, one function each.
 *
 * What the admin types becomes here the key the daemon writes: an
 * address becomes its network (greylist_ipv4_prefix,
 * greylist_ipv6_prefix), a network of that prefix its canonical text,
 * a domain lower case. It is not the daemon's greylist
 * (policy/greylist.c), which decides; nothing here does.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/ctl.h"
#include "db/greylist_admin.h"
#include "lib/ipaddr.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "policy/greylist.h"
#include "policy/syntax.h"

/* A client key: a network text or a domain of at most 255 bytes. */
#define KEY_LEN 256

typedef int gl_fn(struct ctl *c, struct gl_admin *ga, int argc, char **argv);

struct gl_command {
	const char *name;
	gl_fn *run;
	const char *usage;
};

/* ---- client keys ---- */

static unsigned
client_prefix(const struct config *cfg, int family)
{
	return family == AF_INET ? cfg->greylist_ipv4_prefix : cfg->greylist_ipv6_prefix;
}

/* "ADDRESS/PREFIX" (the address may be in brackets, host bits may be
 * set): returns 0 with the address and the prefix, or -1. */
static int
parse_network(const char *text, struct ipaddr *ip_r, unsigned *prefix_r)
{
	const char *slash = strrchr(text, '/');
	char addr[IPADDR_STRLEN + 2], *end;
	unsigned long v;
	size_t n;

	if (slash == NULL || (n = (size_t)(slash - text)) == 0 || n >= sizeof(addr) ||
	    slash[1] < '0' || slash[1] > '9')
		return -1;
	memcpy(addr, text, n);
	addr[n] = '\0';
	errno = 0;
	v = strtoul(slash + 1, &end, 10);
	if (errno != 0 || *end != '\0' || ipaddr_parse(addr, ip_r) < 0 ||
	    v > (ip_r->family == AF_INET ? 32u : 128u))
		return -1;
	*prefix_r = (unsigned)v;
	return 0;
}

/* A domain as the greylist keys SPF-verified senders: a host name with a
 * dot, lower case, without a final dot. Returns 0, or -1. */
static int
parse_domain(const char *text, char key[KEY_LEN])
{
	if (strlen(text) >= KEY_LEN)
		return -1;
	syntax_strip_dot(text, key, KEY_LEN);
	str_lower(key);
	return syntax_hostname_valid(key, NULL) && strchr(key, '.') != NULL ? 0 : -1;
}

/* CLIENT|DOMAIN as the admin typed it (text) into the client key the
 * daemon writes: an address into its network, a network of the
 * configured prefix into its canonical text, a domain into lower case.
 * Returns CTL_OK, or a usage error of posternctl GROUP USE. */
static int
client_key(struct ctl *c, const char *group, const char *use, const char *text,
           char key[KEY_LEN])
{
	struct ipaddr ip;
	unsigned prefix, want;

	if (ipaddr_parse(text, &ip) == 0) {
		ipaddr_network_text(&ip, client_prefix(c->cfg, ip.family), key, KEY_LEN);
		return CTL_OK;
	}
	if (parse_network(text, &ip, &prefix) == 0) {
		want = client_prefix(c->cfg, ip.family);
		if (prefix != want)
			return ctl_usage_error(
			    group, use,
			    "%s: the greylist keys %s clients by their /%u network "
			    "(greylist_ipv%c_prefix); for another network, use "
			    "greylist_allow_clients in postern.conf instead",
			    text, ip.family == AF_INET ? "IPv4" : "IPv6", want,
			    ip.family == AF_INET ? '4' : '6');
		ipaddr_network_text(&ip, prefix, key, KEY_LEN);
		return CTL_OK;
	}
	if (parse_domain(text, key) == 0)
		return CTL_OK;
	return ctl_usage_error(
	    group, use, "\"%s\" is not an IP address, a network or a domain name", text);
}

/* A key names a domain rather than a network. */
static bool
key_is_domain(const char *key)
{
	return strchr(key, '/') == NULL;
}

/* --sender as the daemon stores it (greylist_normalize_sender: lower
 * case, BATV, SRS and VERP parts taken off), "" (or "<>") for the null
 * sender. Malloc'd, or NULL when text is NULL. */
static char *
sender_key(const char *text)
{
	char buf[512];

	if (text == NULL)
		return NULL;
	if (strcmp(text, "<>") == 0)
		return xstrdup("");
	return xstrdup(greylist_normalize_sender(text, buf, sizeof(buf)));
}

/* --rcpt as stored: lower case. Malloc'd, or NULL. */
static char *
rcpt_key(const char *text)
{
	return text ? str_lower(xstrdup(text)) : NULL;
}

/* ---- output helpers ---- */

/* The null sender, for humans. */
static const char *
show_sender(const char *s)
{
	return *s ? s : "<>";
}

/* A time or null, for JSON. */
static void
json_time(int64_t t)
{
	if (t == 0)
		printf("null");
	else
		printf("%lld", (long long)t);
}

/* ---- greylist list ---- */

static void
triplets_json(const struct gl_admin_triplet *rows, size_t n)
{
	printf("[");
	for (size_t i = 0; i < n; i++) {
		const struct gl_admin_triplet *t = &rows[i];

		printf("%s\n  {\"client\": ", i ? "," : "");
		json_string(stdout, t->client);
		printf(", \"sender\": ");
		json_string(stdout, t->sender);
		printf(", \"rcpt\": ");
		json_string(stdout, t->rcpt);
		printf(", \"first_seen\": %lld, \"last_seen\": %lld, \"state\": \"%s\", "
		       "\"passed\": ",
		       (long long)t->first_seen, (long long)t->last_seen,
		       t->passed ? "passed" : "pending");
		json_time(t->passed);
		printf(", \"attempts\": %u}", t->attempts);
	}
	printf("%s]\n", n ? "\n" : "");
}

static void
triplets_text(const struct gl_admin_triplet *rows, size_t n)
{
	int wc = 6, ws = 6, wr = 9;
	char t1[32], t2[32];

	for (size_t i = 0; i < n; i++) {
		wc = ctl_width(wc, rows[i].client);
		ws = ctl_width(ws, show_sender(rows[i].sender));
		wr = ctl_width(wr, rows[i].rcpt);
	}
	printf("%-*s  %-*s  %-*s  %-20s  %-20s  %-7s  %s\n", wc, "CLIENT", ws, "SENDER",
	       wr, "RECIPIENT", "FIRST SEEN", "LAST SEEN", "STATE", "ATTEMPTS");
	for (size_t i = 0; i < n; i++) {
		const struct gl_admin_triplet *t = &rows[i];

		ctl_format_time(t->first_seen, t1);
		ctl_format_time(t->last_seen, t2);
		printf("%-*s  %-*s  %-*s  %-20s  %-20s  %-7s  %8u\n", wc, t->client, ws,
		       show_sender(t->sender), wr, t->rcpt, t1, t2,
		       t->passed ? "passed" : "pending", t->attempts);
	}
}

static void
clients_json(const struct gl_admin_client *rows, size_t n)
{
	printf("[");
	for (size_t i = 0; i < n; i++) {
		const struct gl_admin_client *r = &rows[i];

		printf("%s\n  {\"client\": ", i ? "," : "");
		json_string(stdout, r->client);
		printf(", \"allowed_by\": ");
		json_string(stdout, r->allowed_by);
		printf(", \"deliveries\": %u, \"allowed\": %lld, \"last_seen\": %lld}",
		       r->deliveries, (long long)r->allowed, (long long)r->last_seen);
	}
	printf("%s]\n", n ? "\n" : "");
}

static void
clients_text(const struct gl_admin_client *rows, size_t n)
{
	int wc = 6;
	char t1[32], t2[32];

	for (size_t i = 0; i < n; i++)
		wc = ctl_width(wc, rows[i].client);
	printf("%-*s  %-10s  %10s  %-20s  %s\n", wc, "CLIENT", "ALLOWED BY", "DELIVERIES",
	       "ALLOWED SINCE", "LAST SEEN");
	for (size_t i = 0; i < n; i++) {
		const struct gl_admin_client *r = &rows[i];

		ctl_format_time(r->allowed, t1);
		ctl_format_time(r->last_seen, t2);
		printf("%-*s  %-10s  %10u  %-20s  %s\n", wc, r->client, r->allowed_by,
		       r->deliveries, t1, t2);
	}
}

static int
list_allowed(struct ctl *c, struct gl_admin *ga, const struct gl_admin_filter *f)
{
	struct gl_admin_client *rows = NULL;
	size_t n = 0;
	char *error = NULL;

	if (gl_admin_list_allowed(ga, f, &rows, &n, &error) < 0)
		return ctl_fail_free(error);
	if (c->json)
		clients_json(rows, n);
	else
		clients_text(rows, n);
	gl_admin_clients_free(rows, n);
	return CTL_OK;
}

static int
list_triplets(struct ctl *c, struct gl_admin *ga, const struct gl_admin_filter *f)
{
	struct gl_admin_triplet *rows = NULL;
	size_t n = 0;
	char *error = NULL;

	if (gl_admin_list(ga, f, &rows, &n, &error) < 0)
		return ctl_fail_free(error);
	if (c->json)
		triplets_json(rows, n);
	else
		triplets_text(rows, n);
	gl_admin_triplets_free(rows, n);
	return CTL_OK;
}

static int
gl_list(struct ctl *c, struct gl_admin *ga, int argc, char **argv)
{
	const char *use = "list [--pending|--passed|--auto-allowed] [--client C] "
	                  "[--limit N] [--json]";
	bool pending = false, passed = false, allowed = false;
	const char *client = NULL, *limit = NULL;
	const struct ctl_opt opts[] = {
	    {"pending", NULL, &pending},      {"passed", NULL, &passed},
	    {"auto-allowed", NULL, &allowed}, {"client", &client, NULL},
	    {"limit", &limit, NULL},          {0}};
	struct gl_admin_filter f = {0};
	char key[KEY_LEN], *pos[1];
	int rc;

	if (ctl_args(c, argc, argv, opts, pos, 0) != 0)
		return ctl_usage_error("greylist", use, "bad arguments");
	if (pending + passed + allowed > 1)
		return ctl_usage_error("greylist", use,
		                       "--pending, --passed and --auto-allowed exclude "
		                       "each other");
	if (ctl_parse_limit(limit, &f.limit) < 0)
		return ctl_usage_error("greylist", use, "--limit needs a number above 0");
	if (client != NULL) {
		if ((rc = client_key(c, "greylist", use, client, key)) != CTL_OK)
			return rc;
		f.client = key;
	}
	if (allowed)
		return list_allowed(c, ga, &f);
	f.state = pending ? GL_ADMIN_PENDING : passed ? GL_ADMIN_PASSED : GL_ADMIN_ANY;
	return list_triplets(c, ga, &f);
}

/* ---- greylist allow and remove ---- */

static int
gl_allow(struct ctl *c, struct gl_admin *ga, int argc, char **argv)
{
	const char *use = "allow CLIENT|DOMAIN";
	char key[KEY_LEN], was[GL_ADMIN_BY_LEN], *pos[1], *error = NULL;
	int rc;

	if (ctl_args(c, argc, argv, NULL, pos, 1) != 1)
		return ctl_usage_error(
		    "greylist", use,
		    "allow needs a CLIENT (an address or a network) or "
		    "a DOMAIN");
	if ((rc = client_key(c, "greylist", use, pos[0], key)) != CTL_OK)
		return rc;
	if (gl_admin_allow(ga, key, (int64_t)time(NULL), was, &error) < 0)
		return ctl_fail_free(error);
	if (strcmp(was, "admin") == 0) {
		printf("%s was already allowed by an admin; nothing changed\n", key);
		return CTL_OK;
	}
	printf("allowed %s%s: ", key,
	       strcmp(was, "auto") == 0 ? " (allowed automatically until now)" : "");
	if (key_is_domain(key))
		printf("mail whose SPF-verified MAIL FROM domain is %s is no longer "
		       "greylisted\n",
		       key);
	else
		printf("mail from this network is no longer greylisted\n");
	return CTL_OK;
}

/* "" or " with sender S and recipient R", for messages. */
static char *
which_triplets(const char *sender, const char *rcpt)
{
	if (sender == NULL && rcpt == NULL)
		return xstrdup("");
	return xasprintf(" with %s%s%s%s%s", sender ? "sender " : "",
	                 sender ? show_sender(sender) : "", sender && rcpt ? " and " : "",
	                 rcpt ? "recipient " : "", rcpt ? rcpt : "");
}

static int
gl_remove(struct ctl *c, struct gl_admin *ga, int argc, char **argv)
{
	const char *use = "remove CLIENT|DOMAIN [--sender S] [--rcpt R]";
	const char *sender_opt = NULL, *rcpt_opt = NULL;
	const struct ctl_opt opts[] = {
	    {"sender", &sender_opt, NULL}, {"rcpt", &rcpt_opt, NULL}, {0}};
	struct gl_admin_counts n;
	char key[KEY_LEN], *pos[1], *error = NULL, *sender, *rcpt, *which;
	int rc;

	if (ctl_args(c, argc, argv, opts, pos, 1) != 1)
		return ctl_usage_error("greylist", use,
		                       "remove needs a CLIENT or a DOMAIN");
	if ((rc = client_key(c, "greylist", use, pos[0], key)) != CTL_OK)
		return rc;
	sender = sender_key(sender_opt);
	rcpt = rcpt_key(rcpt_opt);
	which = which_triplets(sender, rcpt);
	rc = gl_admin_remove(ga, key, sender, rcpt, &n, &error);
	if (rc < 0)
		rc = ctl_fail_free(error);
	else if (rc > 0)
		rc = ctl_fail("nothing to remove: %s has no greylist entries%s", key,
		              which);
	else
		printf("removed %s: %zu triplet%s%s%s\n", key, n.triplets,
		       n.triplets == 1 ? "" : "s", which,
		       n.clients ? " and its client row" : "");
	free(sender);
	free(rcpt);
	free(which);
	return rc;
}

/* ---- greylist purge and stats ---- */

static int
gl_purge(struct ctl *c, struct gl_admin *ga, int argc, char **argv)
{
	const char *use = "purge --older-than D [--json]";
	const char *older = NULL;
	const struct ctl_opt opts[] = {{"older-than", &older, NULL}, {0}};
	struct gl_admin_counts n;
	int64_t now = (int64_t)time(NULL);
	unsigned age;
	char *pos[1], *error = NULL, since[32];

	if (ctl_args(c, argc, argv, opts, pos, 0) != 0)
		return ctl_usage_error("greylist", use, "bad arguments");
	if (older == NULL)
		return ctl_usage_error("greylist", use,
		                       "purge needs --older-than D (such as 30d)");
	if (config_parse_time(older, &age) < 0)
		return ctl_usage_error("greylist", use,
		                       "--older-than: \"%s\" is not a time (such as 12h, "
		                       "30d, 1w)",
		                       older);
	if (gl_admin_purge(ga, now, age, &n, &error) < 0) {
		ctl_fail("after deleting %zu triplets and %zu client rows: %s",
		         n.triplets, n.clients, error);
		free(error);
		return CTL_FAIL;
	}
	if (c->json) {
		printf("{\"triplets\": %zu, \"clients\": %zu, \"before\": %lld}\n",
		       n.triplets, n.clients, (long long)(now - age));
		return CTL_OK;
	}
	ctl_format_time(now - age, since);
	printf("purged %zu triplet%s and %zu client row%s not seen since %s\n",
	       n.triplets, n.triplets == 1 ? "" : "s", n.clients,
	       n.clients == 1 ? "" : "s", since);
	return CTL_OK;
}

static void
stats_json(const struct gl_admin_stats *s)
{
	printf("{\"triplets\": %llu, \"pending\": %llu, \"passed\": %llu, "
	       "\"oldest_first_seen\": ",
	       (unsigned long long)s->triplets, (unsigned long long)s->pending,
	       (unsigned long long)s->passed);
	json_time(s->oldest);
	printf(", \"clients\": %llu, \"auto_allowed\": %llu, \"admin_allowed\": %llu, "
	       "\"active_bans\": %llu}\n",
	       (unsigned long long)s->clients, (unsigned long long)s->auto_allowed,
	       (unsigned long long)s->admin_allowed, (unsigned long long)s->active_bans);
}

static void
stats_text(const struct gl_admin_stats *s)
{
	char oldest[32];

	ctl_format_time(s->oldest, oldest);
	printf("%-17s %llu\n", "triplets", (unsigned long long)s->triplets);
	printf("%-17s %llu\n", "  pending", (unsigned long long)s->pending);
	printf("%-17s %llu\n", "  passed", (unsigned long long)s->passed);
	printf("%-17s %s\n", "  oldest", oldest);
	printf("%-17s %llu\n", "clients", (unsigned long long)s->clients);
	printf("%-17s %llu\n", "  auto-allowed", (unsigned long long)s->auto_allowed);
	printf("%-17s %llu\n", "  admin-allowed", (unsigned long long)s->admin_allowed);
	printf("%-17s %llu\n", "active bans", (unsigned long long)s->active_bans);
}

static int
gl_stats(struct ctl *c, struct gl_admin *ga, int argc, char **argv)
{
	struct gl_admin_stats s;
	char *pos[1], *error = NULL;

	if (ctl_args(c, argc, argv, NULL, pos, 0) != 0)
		return ctl_usage_error("greylist", "stats [--json]",
		                       "stats takes no arguments");
	if (gl_admin_stats(ga, (int64_t)time(NULL), &s, &error) < 0)
		return ctl_fail_free(error);
	if (c->json)
		stats_json(&s);
	else
		stats_text(&s);
	return CTL_OK;
}

/* ---- bans ---- */

static void
bans_json(const struct gl_admin_ban *rows, size_t n)
{
	printf("[");
	for (size_t i = 0; i < n; i++) {
		const struct gl_admin_ban *b = &rows[i];

		printf("%s\n  {\"addr\": ", i ? "," : "");
		json_string(stdout, b->addr);
		printf(
		    ", \"since\": %lld, \"until\": %lld, \"errors\": %u, \"active\": %s, "
		    "\"reason\": ",
		    (long long)b->since, (long long)b->until, b->errors,
		    b->active ? "true" : "false");
		json_string(stdout, b->reason);
		printf("}");
	}
	printf("%s]\n", n ? "\n" : "");
}

static void
bans_text(const struct gl_admin_ban *rows, size_t n, bool all)
{
	int wa = 7;
	char t1[32], t2[32];

	for (size_t i = 0; i < n; i++)
		wa = ctl_width(wa, rows[i].addr);
	printf("%-*s  %-20s  %-20s  %6s  %s%s\n", wa, "ADDRESS", "SINCE", "UNTIL",
	       "ERRORS", all ? "STATE    " : "", "REASON");
	for (size_t i = 0; i < n; i++) {
		const struct gl_admin_ban *b = &rows[i];

		ctl_format_time(b->since, t1);
		ctl_format_time(b->until, t2);
		printf("%-*s  %-20s  %-20s  %6u  %s%s\n", wa, b->addr, t1, t2, b->errors,
		       !all        ? ""
		       : b->active ? "active   "
		                   : "expired  ",
		       b->reason);
	}
}

static int
bans_list(struct ctl *c, struct gl_admin *ga, int argc, char **argv)
{
	bool all = false;
	const struct ctl_opt opts[] = {{"all", NULL, &all}, {0}};
	struct gl_admin_ban *rows = NULL;
	size_t n = 0;
	char *pos[1], *error = NULL;

	if (ctl_args(c, argc, argv, opts, pos, 0) != 0)
		return ctl_usage_error("bans", "list [--all] [--json]", "bad arguments");
	if (gl_admin_bans(ga, (int64_t)time(NULL), all, &rows, &n, &error) < 0)
		return ctl_fail_free(error);
	if (c->json)
		bans_json(rows, n);
	else
		bans_text(rows, n, all);
	gl_admin_bans_free(rows, n);
	return CTL_OK;
}

static int
bans_lift(struct ctl *c, struct gl_admin *ga, int argc, char **argv)
{
	const char *use = "lift ADDR";
	struct ipaddr ip;
	char addr[IPADDR_STRLEN], *pos[1], *error = NULL;
	int rc;

	if (ctl_args(c, argc, argv, NULL, pos, 1) != 1)
		return ctl_usage_error("bans", use, "lift needs an ADDR");
	if (ipaddr_parse(pos[0], &ip) < 0)
		return ctl_usage_error("bans", use, "\"%s\" is not an IP address",
		                       pos[0]);
	ipaddr_format(&ip, addr, sizeof(addr));
	rc = gl_admin_lift(ga, addr, (int64_t)time(NULL), &error);
	if (rc < 0)
		return ctl_fail_free(error);
	if (rc > 0)
		return ctl_fail("%s is not banned", addr);
	printf("lifted the ban of %s: its next connection is accepted\n", addr);
	return CTL_OK;
}

/* ---- the tables ---- */

static const struct gl_command greylist_cmds[] = {
    {"list", gl_list,
     "[--pending|--passed|--auto-allowed] [--client C] [--limit N] [--json]"},
    {"allow", gl_allow, "CLIENT|DOMAIN"},
    {"remove", gl_remove, "CLIENT|DOMAIN [--sender S] [--rcpt R]"},
    {"purge", gl_purge, "--older-than D [--json]"},
    {"stats", gl_stats, "[--json]"},
};

static const struct gl_command bans_cmds[] = {
    {"list", bans_list, "[--all] [--json]"},
    {"lift", bans_lift, "ADDR"},
};

static int
group_usage(FILE *out, const char *group, const struct gl_command *cmds, size_t n)
{
	fprintf(out, "usage: posternctl [-c FILE] [--json] %s SUBCOMMAND ...\n", group);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "  %s %s %s\n", group, cmds[i].name, cmds[i].usage);
	return out == stdout ? CTL_OK : CTL_USAGE;
}

/* Run the subcommand argv[1] of group (argv[0]) from cmds, with the
 * database of the configuration open. */
static int
run_group(struct ctl *c, const struct gl_command *cmds, size_t n, int argc, char **argv)
{
	struct gl_admin *ga = NULL;
	char *error = NULL;
	int rc;

	if (argc < 2) {
		fprintf(stderr, "posternctl: %s needs a subcommand\n", argv[0]);
		return group_usage(stderr, argv[0], cmds, n);
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
		return group_usage(stdout, argv[0], cmds, n);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(argv[1], cmds[i].name) != 0)
			continue;
		if (ctl_config(c) == NULL)
			return CTL_FAIL;
		if (gl_admin_open(c->cfg->database, &ga, &error) < 0)
			return ctl_fail_free(error);
		rc = cmds[i].run(c, ga, argc - 1, argv + 1);
		gl_admin_close(ga);
		return rc;
	}
	fprintf(stderr, "posternctl: %s: unknown subcommand \"%s\"\n", argv[0], argv[1]);
	return group_usage(stderr, argv[0], cmds, n);
}

int
ctl_greylist(struct ctl *c, int argc, char **argv)
{
	return run_group(c, greylist_cmds,
	                 sizeof(greylist_cmds) / sizeof(greylist_cmds[0]), argc, argv);
}

int
ctl_bans(struct ctl *c, int argc, char **argv)
{
	return run_group(c, bans_cmds, sizeof(bans_cmds) / sizeof(bans_cmds[0]), argc,
	                 argv);
}
