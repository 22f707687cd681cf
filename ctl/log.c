/*
 * log: "posternctl log", "posternctl explain" and "posternctl stats",
 * the admin's view of the verdict log, over the read-only queries of
 * db/query.c: one line per message (and per connection refused before
 * MAIL FROM), the whole story of one message, and counts and rates.
 *
 * What the admin types becomes here what the database stores: --since a
 * database time (UTC), --client the canonical text of an address,
 * --sender without its angle brackets. Text output is aligned columns;
 * --json prints the same rows for scripts. Nothing here writes to the
 * database, and nothing decides: the rows say what the daemon did.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/ctl.h"
#include "db/query.h"
#include "lib/ipaddr.h"
#include "lib/xalloc.h"

/* A database time, "2026-11-21T10:00:00.000Z". */
#define TIME_LEN 32

static const char log_use[] =
    "[--since T] [--client IP] [--sender ADDR] [--action A] [--check NAME] "
    "[--decided-by NAME] [--queue-id ID] [--limit N] [--json]";
static const char explain_use[] = "QUEUE_ID|MESSAGE_ID|CONNECTION_ID [--json]";
static const char stats_use[] =
    "[--since T] [--by action|check|client|hour] [--limit N] [--json]";

/* ---- what the admin typed ---- */

/* Exactly n digits at p: returns what follows them, or NULL. */
static const char *
take_digits(const char *p, int n, int *v_r)
{
	int v = 0;

	for (int i = 0; p != NULL && i < n; i++, p++) {
		if (*p < '0' || *p > '9')
			return NULL;
		v = v * 10 + (*p - '0');
	}
	*v_r = v;
	return p;
}

/* The character c at p: returns what follows it, or NULL. */
static const char *
take(const char *p, char c)
{
	return p != NULL && *p == c ? p + 1 : NULL;
}

/* Seconds and their fraction at p (after "HH:MM"): ":SS[.fff...]".
 * Returns what follows, or NULL. */
static const char *
take_seconds(const char *p, int *s_r, int *ms_r)
{
	int digit;

	p = take_digits(take(p, ':'), 2, s_r);
	if (p == NULL || *p != '.')
		return p;
	if ((p = take_digits(p + 1, 1, &digit)) == NULL)
		return NULL;
	*ms_r = digit * 100;
	for (int scale = 10; *p >= '0' && *p <= '9'; p++, scale /= 10)
		*ms_r += (*p - '0') * scale;
	return p;
}

/* "2026-11-21", "2026-11-21T10:00" or "2026-11-21 10:00:00", with an
 * optional fraction of a second and "Z"; UTC. Returns 0 with the
 * database time in buf, or -1. */
static int
parse_iso(const char *text, char buf[TIME_LEN])
{
	struct tm tm = {0}, back;
	int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, ms = 0;
	const char *p = take_digits(text, 4, &y);
	time_t t;

	p = take_digits(take(take_digits(take(p, '-'), 2, &mo), '-'), 2, &d);
	if (p != NULL && (*p == 'T' || *p == ' ')) {
		p = take_digits(take(take_digits(p + 1, 2, &h), ':'), 2, &mi);
		if (p != NULL && *p == ':')
			p = take_seconds(p, &s, &ms);
	}
	if (p != NULL && *p == 'Z')
		p++;
	if (p == NULL || *p != '\0' || s > 59)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	t = timegm(&tm);
	if (gmtime_r(&t, &back) == NULL || back.tm_mday != d || back.tm_mon != mo - 1 ||
	    back.tm_hour != h || back.tm_min != mi)
		return -1;
	snprintf(buf, TIME_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, mo, d, h, mi, s,
	         ms);
	return 0;
}

/* --since: a duration back from now ("90m", "2d", as the times of
 * postern.conf) or an ISO date and time (UTC). Returns 0 with the
 * database time in buf (or buf empty when text is NULL), or -1. */
static int
parse_since(const char *text, char buf[TIME_LEN])
{
	unsigned secs;
	time_t t;
	struct tm tm;

	buf[0] = '\0';
	if (text == NULL)
		return 0;
	if (strlen(text) >= 10 && text[4] == '-')
		return parse_iso(text, buf);
	if (config_parse_time(text, &secs) < 0)
		return -1;
	t = time(NULL) - (time_t)secs;
	if (t < 0)
		t = 0;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, TIME_LEN, "%Y-%m-%dT%H:%M:%S.000Z", &tm) == 0)
		return -1;
	return 0;
}

/* --client: an address in any spelling, as the daemon stores it. */
static int
parse_client(const char *text, char buf[IPADDR_STRLEN])
{
	struct ipaddr ip;

	if (ipaddr_parse(text, &ip) < 0)
		return -1;
	ipaddr_format(&ip, buf, IPADDR_STRLEN);
	return 0;
}

/* --sender: "<a@b>" and "a@b" are the same; "<>" (or "") the null
 * sender; "@example.com" any sender of the domain. Malloc'd. */
static char *
sender_arg(const char *text)
{
	size_t n = strlen(text);

	if (n >= 2 && text[0] == '<' && text[n - 1] == '>')
		return xstrndup(text + 1, n - 2);
	return xstrdup(text);
}

static bool
one_of(const char *s, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

/* "-h" or "--help" among the arguments. */
static bool
wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return true;
	return false;
}

static int
help(const char *cmd, const char *use)
{
	printf("usage: posternctl [-c FILE] [--json] %s %s\n", cmd, use);
	return CTL_OK;
}

/* The database of the configuration, open; NULL after saying why. */
static struct query *
open_query(struct ctl *c)
{
	struct query *q = NULL;
	char *error = NULL;

	if (ctl_config(c) == NULL)
		return NULL;
	if (query_open(c->cfg->database, &q, &error) < 0) {
		ctl_fail_free(error);
		return NULL;
	}
	return q;
}

/* ---- shown to humans ---- */

static const char *
dash(const char *s)
{
	return s != NULL && *s != '\0' ? s : "-";
}

/* A database time as "2026-11-21 10:00:00Z" (no milliseconds). */
static const char *
show_time(const char *t, char buf[TIME_LEN])
{
	if (t == NULL || strlen(t) < 19)
		return "-";
	snprintf(buf, TIME_LEN, "%.10s %.8sZ", t, t + 11);
	return buf;
}

/* A database time with its milliseconds, "2026-11-21 10:00:00.123Z";
 * only the time of day when it is on the day of ref. */
static const char *
show_ms_time(const char *t, const char *ref, char buf[TIME_LEN])
{
	if (t == NULL || strlen(t) < 23)
		return dash(t);
	if (ref != NULL && strncmp(t, ref, 10) == 0)
		snprintf(buf, TIME_LEN, "%.12s", t + 11);
	else
		snprintf(buf, TIME_LEN, "%.10s %.12sZ", t, t + 11);
	return buf;
}

/* The client as Postfix logs it: "name[addr]", "unknown[addr]". */
static char *
show_client(const char *name, const char *addr)
{
	if (addr == NULL)
		return xstrdup("-");
	if (name == NULL || *name == '\0' || *name == '[' || strcmp(name, "unknown") == 0)
		name = "unknown";
	return xasprintf("%s[%s]", name, addr);
}

/* The sender: "<>" for the null sender, "-" when there is none. */
static const char *
show_sender(const char *s)
{
	return s == NULL ? "-" : *s ? s : "<>";
}

/* The accepted recipients, then the refused ones marked with "!". */
static char *
show_rcpts(const char *ok, const char *refused)
{
	char *out = xstrdup(ok ? ok : ""), *next;
	const char *p = refused ? refused : "";

	while (*p != '\0') {
		size_t n = strcspn(p, ",");

		next = xasprintf("%s%s!%.*s", out, *out ? "," : "", (int)n, p);
		free(out);
		out = next;
		p += n + (p[n] == ',');
	}
	if (*out == '\0') {
		free(out);
		return xstrdup("-");
	}
	return out;
}

/* The id to give "posternctl explain": the queue id, else the message
 * id, else (a connection line) the connection id. */
static char *
show_id(const struct query_line *l)
{
	if (l->queue_id != NULL && *l->queue_id != '\0')
		return xstrdup(l->queue_id);
	return xasprintf("%lld", (long long)(l->msg_id ? l->msg_id : l->conn_id));
}

/* ---- JSON ---- */

/* One JSON object being written to stdout: its fields go after a ", ". */
struct jobj {
	bool started;
};

static void
j_key(struct jobj *j, const char *key)
{
	printf("%s\"%s\": ", j->started ? ", " : "{", key);
	j->started = true;
}

static void
j_end(struct jobj *j)
{
	printf("%s}", j->started ? "" : "{");
}

/* A string, or null. */
static void
j_str(struct jobj *j, const char *key, const char *s)
{
	j_key(j, key);
	if (s == NULL)
		printf("null");
	else
		json_string(stdout, s);
}

/* A number, or null when it is below 0 (unknown) and may_be_null. */
static void
j_int(struct jobj *j, const char *key, int64_t v, bool may_be_null)
{
	j_key(j, key);
	if (v < 0 && may_be_null)
		printf("null");
	else
		printf("%lld", (long long)v);
}

/* A comma-separated list as an array of strings ([] for NULL or ""). */
static void
j_list(struct jobj *j, const char *key, const char *list)
{
	const char *p = list ? list : "";

	j_key(j, key);
	printf("[");
	for (bool first = true; *p != '\0'; first = false) {
		size_t n = strcspn(p, ",");
		char *item = xstrndup(p, n);

		printf("%s", first ? "" : ", ");
		json_string(stdout, item);
		free(item);
		p += n + (p[n] == ',');
	}
	printf("]");
}

/* The fields of a log line (and of a message in explain). */
static void
line_fields(struct jobj *j, const struct query_line *l)
{
	j_str(j, "kind", l->msg_id ? "message" : "connection");
	j_str(j, "time", l->time);
	j_int(j, "id", l->msg_id ? l->msg_id : -1, true);
	j_int(j, "conn_id", l->conn_id, false);
	j_str(j, "queue_id", l->queue_id);
	j_str(j, "client_addr", l->client_addr);
	j_str(j, "client_name", l->client_name);
	j_str(j, "ptr_name", l->ptr_name);
	j_str(j, "helo", l->helo);
	j_str(j, "sender", l->sender);
	j_list(j, "recipients", l->recipients);
	j_list(j, "rejected_recipients", l->rejected_recipients);
	j_str(j, "auth", l->auth);
	j_int(j, "size", l->size, true);
	j_str(j, "action", l->action);
	j_str(j, "reply", l->reply);
	j_str(j, "stage", l->stage);
	j_str(j, "decided_by", l->decided_by);
	j_int(j, "ms", l->ms, true);
}

/* ---- posternctl log ---- */

static void
log_json(const struct query_lines *lines)
{
	printf("[");
	for (size_t i = 0; i < lines->n; i++) {
		struct jobj j = {0};

		printf("%s\n  ", i ? "," : "");
		line_fields(&j, &lines->v[i]);
		j_end(&j);
	}
	printf("%s]\n", lines->n ? "\n" : "");
}

enum {
	COL_TIME,
	COL_ID,
	COL_CLIENT,
	COL_SENDER,
	COL_RCPTS,
	COL_ACTION,
	COL_CHECK,
	COL_REPLY,
	NCOLS
};

static const char *const log_heads[NCOLS] = {
    "TIME", "ID", "CLIENT", "SENDER", "RECIPIENTS", "ACTION", "CHECK", "REPLY",
};

/* The cells of a line; the malloc'd ones are freed by cells_free. */
static void
log_cells(const struct query_line *l, char *cell[NCOLS])
{
	char t[TIME_LEN];

	cell[COL_TIME] = xstrdup(show_time(l->time, t));
	cell[COL_ID] = show_id(l);
	cell[COL_CLIENT] = show_client(l->client_name, l->client_addr);
	cell[COL_SENDER] = xstrdup(show_sender(l->sender));
	cell[COL_RCPTS] = show_rcpts(l->recipients, l->rejected_recipients);
	cell[COL_ACTION] = xstrdup(dash(l->action));
	cell[COL_CHECK] = xstrdup(dash(l->decided_by));
	cell[COL_REPLY] = xstrdup(dash(l->reply));
}

static void
print_row(char *const cell[NCOLS], const int w[NCOLS])
{
	for (int k = 0; k < NCOLS - 1; k++)
		printf("%-*s  ", w[k], cell[k]);
	printf("%s\n", cell[NCOLS - 1]);
}

static void
log_text(const struct query_lines *lines)
{
	char *(*cells)[NCOLS] = xcalloc(lines->n + 1, sizeof(*cells));
	int w[NCOLS] = {0};

	for (size_t i = 0; i < lines->n; i++)
		log_cells(&lines->v[i], cells[i]);
	for (int k = 0; k < NCOLS; k++) {
		w[k] = ctl_width(0, log_heads[k]);
		for (size_t i = 0; i < lines->n; i++)
			w[k] = ctl_width(w[k], cells[i][k]);
	}
	print_row((char *const *)log_heads, w);
	for (size_t i = 0; i < lines->n; i++) {
		print_row(cells[i], w);
		for (int k = 0; k < NCOLS; k++)
			free(cells[i][k]);
	}
	free(cells);
}

/* The options of log into a filter; the strings live in bufs. */
struct log_args {
	const char *since, *client, *sender, *action, *check, *decided_by, *queue_id,
	    *limit;
	char since_buf[TIME_LEN], client_buf[IPADDR_STRLEN];
	char *sender_buf;
};

static int
log_filter(struct log_args *a, struct query_filter *f)
{
	static const char *const actions[] = {"accept", "reject", "defer", "aborted",
	                                      NULL};

	memset(f, 0, sizeof(*f));
	if (parse_since(a->since, a->since_buf) < 0)
		return ctl_usage_error("log", log_use,
		                       "--since: \"%s\" is neither a time back from now "
		                       "(such as 1h, 2d) nor a date and time (such as "
		                       "2026-11-21T10:00)",
		                       a->since);
	if (a->client != NULL && parse_client(a->client, a->client_buf) < 0)
		return ctl_usage_error(
		    "log", log_use, "--client: \"%s\" is not an IP address", a->client);
	if (a->action != NULL && !one_of(a->action, actions))
		return ctl_usage_error("log", log_use,
		                       "--action: \"%s\" is not accept, reject, defer or "
		                       "aborted",
		                       a->action);
	if (ctl_parse_limit(a->limit, &f->limit) < 0)
		return ctl_usage_error("log", log_use, "--limit needs a number above 0");
	f->since = a->since ? a->since_buf : NULL;
	f->client = a->client ? a->client_buf : NULL;
	f->sender = a->sender ? (a->sender_buf = sender_arg(a->sender)) : NULL;
	f->action = a->action;
	f->check = a->check;
	f->decided_by = a->decided_by;
	f->queue_id = a->queue_id;
	return CTL_OK;
}

static int
log_run(struct ctl *c, const struct query_filter *f)
{
	struct query *q = open_query(c);
	struct query_lines lines;
	char *error = NULL;

	if (q == NULL)
		return CTL_FAIL;
	if (query_log(q, f, &lines, &error) < 0) {
		query_close(q);
		return ctl_fail_free(error);
	}
	if (c->json)
		log_json(&lines);
	else
		log_text(&lines);
	query_lines_free(&lines);
	query_close(q);
	return CTL_OK;
}

int
ctl_log(struct ctl *c, int argc, char **argv)
{
	struct log_args a = {0};
	const struct ctl_opt opts[] = {{"since", &a.since, NULL},
	                               {"client", &a.client, NULL},
	                               {"sender", &a.sender, NULL},
	                               {"action", &a.action, NULL},
	                               {"check", &a.check, NULL},
	                               {"decided-by", &a.decided_by, NULL},
	                               {"queue-id", &a.queue_id, NULL},
	                               {"limit", &a.limit, NULL},
	                               {0}};
	struct query_filter f;
	char *pos[1];
	int rc;

	if (wants_help(argc, argv))
		return help("log", log_use);
	if (ctl_args(c, argc, argv, opts, pos, 0) != 0)
		return ctl_usage_error("log", log_use, "bad arguments");
	if ((rc = log_filter(&a, &f)) == CTL_OK)
		rc = log_run(c, &f);
	free(a.sender_buf);
	return rc;
}

/* ---- posternctl explain ---- */

static void
checks_json(const struct query_check *k, size_t n, const char *indent)
{
	printf("[");
	for (size_t i = 0; i < n; i++) {
		struct jobj j = {0};

		printf("%s\n%s", i ? "," : "", indent);
		j_int(&j, "id", k[i].id, false);
		j_str(&j, "time", k[i].time);
		j_str(&j, "stage", k[i].stage);
		j_str(&j, "name", k[i].name);
		j_str(&j, "result", k[i].result);
		j_str(&j, "action", k[i].action);
		j_str(&j, "detail", k[i].detail);
		j_key(&j, "ms");
		printf("%.3f", k[i].ms);
		j_end(&j);
	}
	printf("]");
}

static void
connection_json(const struct query_connection *c)
{
	struct jobj j = {0};

	j_int(&j, "id", c->id, false);
	j_key(&j, "logged");
	printf("%s", c->logged ? "true" : "false");
	j_str(&j, "time", c->time);
	j_str(&j, "client_addr", c->client_addr);
	j_int(&j, "client_port", c->logged ? c->client_port : -1, true);
	j_str(&j, "client_name", c->client_name);
	j_str(&j, "ptr_name", c->ptr_name);
	j_str(&j, "iprev", c->iprev);
	j_str(&j, "helo", c->helo);
	j_str(&j, "daemon_name", c->daemon_name);
	j_str(&j, "bypass", c->bypass);
	j_key(&j, "checks");
	checks_json(c->checks, c->nchecks, "     ");
	j_key(&j, "messages");
	printf("[");
	for (size_t i = 0; i < c->nmessages; i++) {
		const struct query_message *m = &c->messages[i];
		struct jobj mj = {0};

		printf("%s\n     ", i ? "," : "");
		line_fields(&mj, &m->m);
		j_key(&mj, "logged");
		printf("%s", m->logged ? "true" : "false");
		j_key(&mj, "checks");
		checks_json(m->checks, m->nchecks, "       ");
		j_end(&mj);
	}
	printf("]");
	j_end(&j);
}

static void
explain_json(const char *id, const struct query_story *s)
{
	static const char *const kinds[] = {
	    [QUERY_ID_QUEUE] = "queue_id",
	    [QUERY_ID_MESSAGE] = "message_id",
	    [QUERY_ID_CONNECTION] = "connection_id",
	};

	printf("{\"id\": ");
	json_string(stdout, id);
	printf(", \"found_as\": \"%s\", \"connections\": [", kinds[s->kind]);
	for (size_t i = 0; i < s->n; i++) {
		printf("%s\n  ", i ? "," : "");
		connection_json(&s->conns[i]);
	}
	printf("%s]}\n", s->n ? "\n" : "");
}

/* The checks as an aligned table, each line after indent. */
static void
checks_text(const struct query_check *k, size_t n, const char *ref, const char *indent)
{
	int wt = 4, ws = 5, wn = 5, wr = 6, wa = 6;
	char t[TIME_LEN];

	if (n == 0) {
		printf("%schecks       none\n", indent);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		wt = ctl_width(wt, show_ms_time(k[i].time, ref, t));
		ws = ctl_width(ws, dash(k[i].stage));
		wn = ctl_width(wn, dash(k[i].name));
		wr = ctl_width(wr, dash(k[i].result));
		wa = ctl_width(wa, dash(k[i].action));
	}
	printf("%s%-*s  %-*s  %-*s  %-*s  %-*s  %8s  %s\n", indent, wt, "TIME", ws,
	       "STAGE", wn, "CHECK", wr, "RESULT", wa, "ACTION", "MS", "DETAIL");
	for (size_t i = 0; i < n; i++)
		printf("%s%-*s  %-*s  %-*s  %-*s  %-*s  %8.2f  %s\n", indent, wt,
		       show_ms_time(k[i].time, ref, t), ws, dash(k[i].stage), wn,
		       dash(k[i].name), wr, dash(k[i].result), wa, dash(k[i].action),
		       k[i].ms, dash(k[i].detail));
}

/* "reject at rcpt by check_x", "accept", "aborted after a refusal at
 * rcpt by check_x". */
static char *
verdict_text(const struct query_line *l)
{
	const char *a = dash(l->action);
	bool refused = strcmp(a, "reject") == 0 || strcmp(a, "defer") == 0;

	if (l->decided_by == NULL)
		return xasprintf("%s%s%s", a, refused && l->stage ? " at " : "",
		                 refused && l->stage ? l->stage : "");
	return xasprintf("%s %s %s by %s", a, refused ? "at" : "after a refusal at",
	                 dash(l->stage), l->decided_by);
}

static void
message_text(const struct query_message *msg, const char *ref)
{
	const struct query_line *m = &msg->m;
	char t[TIME_LEN], *verdict;

	printf("\nmessage %lld", (long long)m->msg_id);
	if (m->queue_id != NULL)
		printf(" (queue id %s)", m->queue_id);
	printf(" at %s\n", show_ms_time(m->time, NULL, t));
	if (!msg->logged) {
		printf("  (no message row: the message has not ended yet, or its row was "
		       "lost)\n");
		checks_text(msg->checks, msg->nchecks, ref, "  ");
		return;
	}
	printf("  sender       %s\n", show_sender(m->sender));
	printf("  recipients   %s\n", dash(m->recipients));
	printf("  refused      %s\n", dash(m->rejected_recipients));
	if (m->auth != NULL)
		printf("  auth         %s\n", m->auth);
	printf("  size         %lld bytes\n", (long long)m->size);
	checks_text(msg->checks, msg->nchecks, ref, "  ");
	verdict = verdict_text(m);
	printf("  verdict      %s\n", verdict);
	free(verdict);
	printf("  reply        %s\n", dash(m->reply));
	printf("  duration     %lld ms\n", (long long)m->ms);
}

static void
connection_text(const struct query_connection *c)
{
	char t[TIME_LEN], *client = show_client(c->client_name, c->client_addr);
	const char *ref = c->time;

	printf("connection %lld at %s\n", (long long)c->id,
	       show_ms_time(c->time, NULL, t));
	if (!c->logged) {
		printf("  (no connection row: it has not been written yet, or it was "
		       "lost)\n");
	} else {
		printf("  client       %s port %d\n", client, c->client_port);
		printf("  reverse DNS  %s (iprev %s)\n", dash(c->ptr_name),
		       dash(c->iprev));
		printf("  HELO         %s\n", dash(c->helo));
		printf("  daemon name  %s\n", dash(c->daemon_name));
		if (c->bypass != NULL)
			printf("  bypass       %s (the restriction lists did not run)\n",
			       c->bypass);
	}
	free(client);
	if (ref == NULL && c->nchecks > 0)
		ref = c->checks[0].time;
	checks_text(c->checks, c->nchecks, ref, "  ");
	if (c->nmessages == 0)
		printf("  messages     none\n");
	for (size_t i = 0; i < c->nmessages; i++)
		message_text(&c->messages[i], ref);
}

int
ctl_explain(struct ctl *c, int argc, char **argv)
{
	struct query_story story;
	struct query *q;
	char *pos[1], *error = NULL;
	int rc;

	if (wants_help(argc, argv))
		return help("explain", explain_use);
	if (ctl_args(c, argc, argv, NULL, pos, 1) != 1 || *pos[0] == '\0')
		return ctl_usage_error("explain", explain_use,
		                       "explain needs a queue id, a message id or a "
		                       "connection id");
	if ((q = open_query(c)) == NULL)
		return CTL_FAIL;
	rc = query_explain(q, pos[0], &story, &error);
	query_close(q);
	if (rc < 0)
		return ctl_fail_free(error);
	if (rc > 0) {
		query_story_free(&story);
		return ctl_fail("nothing in the log has the queue id, message id or "
		                "connection id \"%s\"",
		                pos[0]);
	}
	if (c->json) {
		explain_json(pos[0], &story);
	} else {
		for (size_t i = 0; i < story.n; i++) {
			printf("%s", i ? "\n" : "");
			connection_text(&story.conns[i]);
		}
	}
	query_story_free(&story);
	return CTL_OK;
}

/* ---- posternctl stats ---- */

/* What a column shows. */
enum stat_kind { STAT_COUNT, STAT_RATE, STAT_MS };

/* A column of a statistics table: a count of the row (the field at
 * offset), or a value computed from the row and the total of the rows'
 * lines. */
struct stat_col {
	const char *head; /* text */
	const char *json; /* JSON key */
	enum stat_kind kind;
	size_t offset; /* of a uint64_t, when value is NULL */
	double (*value)(const struct query_stat *s, double total);
};

#define COUNT(head, json, field)                                                         \
	{                                                                                \
		head, json, STAT_COUNT, offsetof(struct query_stat, field), NULL         \
	}

static double
col_value(const struct stat_col *col, const struct query_stat *s, double total)
{
	uint64_t v;

	if (col->value != NULL)
		return col->value(s, total);
	memcpy(&v, (const char *)s + col->offset, sizeof(v));
	return (double)v;
}

static double
ratio(double n, double of)
{
	return of > 0 ? n / of : 0;
}

static double
stat_share(const struct query_stat *s, double total)
{
	return ratio((double)s->lines, total);
}

static double
stat_refused_share(const struct query_stat *s, double total)
{
	(void)total;
	return ratio((double)(s->reject + s->defer), (double)s->lines);
}

static double
stat_fail_rate(const struct query_stat *s, double total)
{
	(void)total;
	return ratio((double)s->fail, (double)s->runs);
}

static double
stat_avg_ms(const struct query_stat *s, double total)
{
	(void)total;
	return ratio(s->ms, (double)s->runs);
}

#define MAX_STAT_COLS 12

/* A way to count: the key's column and the others. */
struct stat_table {
	const char *by;
	enum query_by query;
	const char *key_head, *key_json;
	bool total_row;         /* a last row "total" (text only) */
	unsigned default_limit; /* rows shown without --limit; 0: all */
	struct stat_col cols[MAX_STAT_COLS];
};

#define LINE_COLS                                                                        \
	COUNT("LINES", "lines", lines), COUNT("ACCEPT", "accept", accept),               \
	    COUNT("REJECT", "reject", reject), COUNT("DEFER", "defer", defer),           \
	    COUNT("ABORTED", "aborted", aborted),                                        \
	{                                                                                \
		"REFUSED", "refused_share", STAT_RATE, 0, stat_refused_share             \
	}

static const struct stat_table stat_tables[] = {
    {"action",
     QUERY_BY_ACTION,
     "ACTION",
     "action",
     true,
     0,
     {COUNT("LINES", "lines", lines), {"SHARE", "share", STAT_RATE, 0, stat_share}}},
    {"check",
     QUERY_BY_CHECK,
     "CHECK",
     "check",
     false,
     0,
     {COUNT("RUNS", "runs", runs),
      COUNT("PASS", "pass", pass),
      COUNT("FAIL", "fail", fail),
      COUNT("TEMP", "temp", temp),
      COUNT("SKIP", "skip", skip),
      COUNT("REJECT", "rejects", rejects),
      COUNT("DEFER", "defers", defers),
      COUNT("WARN", "warns", warns),
      COUNT("DECIDED", "decided", decided),
      {"FAILED", "fail_rate", STAT_RATE, 0, stat_fail_rate},
      {"AVG MS", "avg_ms", STAT_MS, 0, stat_avg_ms}}},
    {"client",
     QUERY_BY_CLIENT,
     "CLIENT",
     "client",
     false,
     20,
     {COUNT("CONNS", "connections", connections), LINE_COLS}},
    {"hour", QUERY_BY_HOUR, "HOUR", "hour", false, 0, {LINE_COLS}},
};

/* A cell of a column, for humans or (json) for scripts: a rate is a
 * percentage for humans and a fraction for scripts. */
static void
stat_cell(const struct stat_col *col, double v, bool json, char *buf, size_t len)
{
	switch (col->kind) {
	case STAT_COUNT:
		snprintf(buf, len, "%.0f", v);
		break;
	case STAT_RATE:
		if (json)
			snprintf(buf, len, "%.4f", v);
		else
			snprintf(buf, len, "%.1f%%", v * 100);
		break;
	case STAT_MS:
		snprintf(buf, len, json ? "%.3f" : "%.2f", v);
		break;
	}
}

/* The key of a row: an hour "2026-11-21T10" as "2026-11-21 10:00Z" (or,
 * in JSON, "2026-11-21T10:00Z"). */
static void
stat_key(const struct stat_table *t, const char *key, bool json, char *buf, size_t len)
{
	if (t->query == QUERY_BY_HOUR && key != NULL && strlen(key) == 13)
		snprintf(buf, len, "%.10s%c%.2s:00Z", key, json ? 'T' : ' ', key + 11);
	else
		snprintf(buf, len, "%s", dash(key));
}

static double
stats_total(const struct query_stats *st)
{
	double total = 0;

	for (size_t i = 0; i < st->n; i++)
		total += (double)st->v[i].lines;
	return total;
}

static size_t
stat_ncols(const struct stat_table *t)
{
	size_t n = 0;

	while (n < MAX_STAT_COLS && t->cols[n].head != NULL)
		n++;
	return n;
}

static void
stats_json(const struct stat_table *t, const struct query_stats *st)
{
	double total = stats_total(st);
	size_t ncols = stat_ncols(t);
	char buf[64];

	printf("[");
	for (size_t i = 0; i < st->n; i++) {
		struct jobj j = {0};

		printf("%s\n  ", i ? "," : "");
		stat_key(t, st->v[i].key, true, buf, sizeof(buf));
		j_str(&j, t->key_json, st->v[i].key ? buf : NULL);
		for (size_t k = 0; k < ncols; k++) {
			j_key(&j, t->cols[k].json);
			stat_cell(&t->cols[k], col_value(&t->cols[k], &st->v[i], total),
			          true, buf, sizeof(buf));
			printf("%s", buf);
		}
		j_end(&j);
	}
	printf("%s]\n", st->n ? "\n" : "");
}

static void
stats_text(const struct stat_table *t, const struct query_stats *st)
{
	double total = stats_total(st);
	size_t ncols = stat_ncols(t);
	int wk = ctl_width(5, t->key_head);
	char buf[64];

	for (size_t i = 0; i < st->n; i++) {
		stat_key(t, st->v[i].key, false, buf, sizeof(buf));
		wk = ctl_width(wk, buf);
	}
	printf("%-*s", wk, t->key_head);
	for (size_t k = 0; k < ncols; k++)
		printf("  %8s", t->cols[k].head);
	printf("\n");
	for (size_t i = 0; i <= st->n; i++) {
		struct query_stat sum = {.lines = (uint64_t)total};
		const struct query_stat *s = i < st->n ? &st->v[i] : &sum;

		if (i == st->n && !t->total_row)
			break;
		stat_key(t, i < st->n ? s->key : "total", false, buf, sizeof(buf));
		printf("%-*s", wk, buf);
		for (size_t k = 0; k < ncols; k++) {
			stat_cell(&t->cols[k], col_value(&t->cols[k], s, total), false,
			          buf, sizeof(buf));
			printf("  %8s", buf);
		}
		printf("\n");
	}
}

static int
stats_run(struct ctl *c, const struct stat_table *t, const char *since, unsigned limit)
{
	struct query *q = open_query(c);
	struct query_stats st;
	char *error = NULL;

	if (q == NULL)
		return CTL_FAIL;
	if (query_stats(q, t->query, since, limit, &st, &error) < 0) {
		query_close(q);
		return ctl_fail_free(error);
	}
	if (c->json)
		stats_json(t, &st);
	else
		stats_text(t, &st);
	query_stats_free(&st);
	query_close(q);
	return CTL_OK;
}

int
ctl_stats(struct ctl *c, int argc, char **argv)
{
	const char *since = NULL, *by = "action", *limit = NULL;
	const struct ctl_opt opts[] = {
	    {"since", &since, NULL}, {"by", &by, NULL}, {"limit", &limit, NULL}, {0}};
	const struct stat_table *t = NULL;
	char since_buf[TIME_LEN], *pos[1];
	unsigned n = 0;

	if (wants_help(argc, argv))
		return help("stats", stats_use);
	if (ctl_args(c, argc, argv, opts, pos, 0) != 0)
		return ctl_usage_error("stats", stats_use, "bad arguments");
	for (size_t i = 0; i < sizeof(stat_tables) / sizeof(stat_tables[0]); i++)
		if (strcmp(by, stat_tables[i].by) == 0)
			t = &stat_tables[i];
	if (t == NULL)
		return ctl_usage_error(
		    "stats", stats_use,
		    "--by: \"%s\" is not action, check, client or hour", by);
	if (parse_since(since, since_buf) < 0)
		return ctl_usage_error("stats", stats_use,
		                       "--since: \"%s\" is neither a time back from now "
		                       "(such as 1h, 2d) nor a date and time (such as "
		                       "2026-11-21T10:00)",
		                       since);
	if (ctl_parse_limit(limit, &n) < 0)
		return ctl_usage_error("stats", stats_use,
		                       "--limit needs a number above 0");
	return stats_run(c, t, since ? since_buf : NULL, limit ? n : t->default_limit);
}
