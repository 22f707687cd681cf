/*
 * posternctl(8): postern's admin tool. This file is the entry point: the
 * global options, the table of subcommand groups, and the helpers every
 * group uses (configuration, argument parsing, messages, JSON). Each
 * group lives in its own file (keys.c; greylist.c for greylist and bans).
 *
 * Exit status: 0 done or checked fine, 1 a check or an operation failed,
 * 2 bad usage (with a usage message on stderr).
 */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "lib/xalloc.h"

static const struct ctl_command groups[] = {
    {"keys", ctl_keys, "SUBCOMMAND ... (posternctl keys --help)"},
    {"greylist", ctl_greylist, "SUBCOMMAND ... (posternctl greylist --help)"},
    {"bans", ctl_bans, "list|lift ... (posternctl bans --help)"},
    {"log", ctl_log, "[--since T] [--client IP] ... (posternctl log --help)"},
    {"explain", ctl_explain, "QUEUE_ID|MESSAGE_ID|CONNECTION_ID"},
    {"stats", ctl_stats, "[--since T] [--by action|check|client|hour] [--limit N]"},
    {"check", ctl_check, "--client IP --helo H --from A --rcpt A ... [MESSAGE]"},
};
#define NGROUPS (sizeof(groups) / sizeof(groups[0]))

static void
usage(FILE *out)
{
	fprintf(out, "usage: posternctl [-c FILE] [--json] COMMAND ...\n"
	             "  -c FILE   configuration file (default " CONFIG_DEFAULT_PATH ")\n"
	             "  --json    print JSON instead of aligned text\n"
	             "  -h, --help  this text\n"
	             "commands:\n");
	for (size_t i = 0; i < NGROUPS; i++)
		fprintf(out, "  %s %s\n", groups[i].name, groups[i].usage);
}

int
ctl_usage_error(const char *cmd, const char *use, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "posternctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: posternctl %s %s\n", cmd, use);
	return CTL_USAGE;
}

int
ctl_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "posternctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CTL_FAIL;
}

int
ctl_fail_free(char *error)
{
	ctl_fail("%s", error);
	free(error);
	return CTL_FAIL;
}

struct config *
ctl_config(struct ctl *c)
{
	char *error = NULL;

	if (c->cfg != NULL)
		return c->cfg;
	if ((c->cfg = config_load(c->config_path, &error)) == NULL)
		ctl_fail_free(error);
	return c->cfg;
}

int
ctl_daemon_user(struct ctl *c, uid_t *uid_r, gid_t *gid_r)
{
	struct passwd *pw;

	if (geteuid() != 0 || c->cfg == NULL || (pw = getpwnam(c->cfg->user)) == NULL)
		return -1;
	*uid_r = pw->pw_uid;
	*gid_r = pw->pw_gid;
	return 0;
}

static const struct ctl_opt *
find_opt(const struct ctl_opt *opts, const char *name, size_t len)
{
	for (; opts != NULL && opts->name != NULL; opts++)
		if (strlen(opts->name) == len && strncmp(opts->name, name, len) == 0)
			return opts;
	return NULL;
}

int
ctl_args(struct ctl *c, int argc, char **argv, const struct ctl_opt *opts, char **pos,
         int max)
{
	int npos = 0;
	bool only_pos = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *eq;
		const struct ctl_opt *o;
		size_t len;

		if (only_pos || a[0] != '-' || a[1] != '-') {
			if (npos >= max) {
				fprintf(stderr,
				        "posternctl: %s: too many arguments (\"%s\")\n",
				        argv[0], a);
				return -1;
			}
			pos[npos++] = argv[i];
			continue;
		}
		if (a[2] == '\0') {
			only_pos = true;
			continue;
		}
		eq = strchr(a, '=');
		len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		if (len == 4 && strncmp(a + 2, "json", 4) == 0 && eq == NULL) {
			c->json = true;
			continue;
		}
		if ((o = find_opt(opts, a + 2, len)) == NULL) {
			fprintf(stderr, "posternctl: %s: unknown option %s\n", argv[0],
			        a);
			return -1;
		}
		if (o->flag != NULL) {
			if (eq != NULL) {
				fprintf(stderr, "posternctl: %s: --%s takes no value\n",
				        argv[0], o->name);
				return -1;
			}
			*o->flag = true;
		} else if (eq != NULL) {
			*o->value = eq + 1;
		} else if (i + 1 < argc) {
			*o->value = argv[++i];
		} else {
			fprintf(stderr, "posternctl: %s: --%s needs a value\n", argv[0],
			        o->name);
			return -1;
		}
	}
	return npos;
}

void
json_string(FILE *out, const char *s)
{
	/* The characters with a short escape (RFC 8259, section 7). */
	static const char *const esc[128] = {
	    ['"'] = "\\\"", ['\\'] = "\\\\", ['\n'] = "\\n",
	    ['\t'] = "\\t", ['\r'] = "\\r",
	};

	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		if (*p < 128 && esc[*p] != NULL)
			fputs(esc[*p], out);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

void
ctl_format_time(int64_t t, char buf[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, 32, "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
		strcpy(buf, "-");
}

int
main(int argc, char **argv)
{
	struct ctl c = {0};
	int i, rc;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			c.config_path = argv[++i];
		} else if (strncmp(argv[i], "-c", 2) == 0 && argv[i][2] != '\0') {
			c.config_path = argv[i] + 2;
		} else if (strcmp(argv[i], "--json") == 0) {
			c.json = true;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return CTL_OK;
		} else {
			fprintf(stderr, "posternctl: unknown option %s\n", argv[i]);
			usage(stderr);
			return CTL_USAGE;
		}
	}
	if (i == argc) {
		fprintf(stderr, "posternctl: no command\n");
		usage(stderr);
		return CTL_USAGE;
	}
	if (c.config_path == NULL && access(CONFIG_DEFAULT_PATH, F_OK) == 0)
		c.config_path = CONFIG_DEFAULT_PATH;
	for (size_t g = 0; g < NGROUPS; g++) {
		if (strcmp(argv[i], groups[g].name) != 0)
			continue;
		rc = groups[g].run(&c, argc - i, argv + i);
		config_unref(c.cfg);
		return rc;
	}
	fprintf(stderr, "posternctl: unknown command \"%s\"\n", argv[i]);
	usage(stderr);
	return CTL_USAGE;
}

int
ctl_parse_limit(const char *text, unsigned *limit_r)
{
	char *end;
	unsigned long v;

	if (text == NULL)
		return 0;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (*text < '0' || *text > '9' || errno != 0 || *end != '\0' || v == 0 ||
	    v > 0xffffffffUL)
		return -1;
	*limit_r = (unsigned)v;
	return 0;
}

int
ctl_width(int w, const char *s)
{
	int n = (int)strlen(s);
	return n > w ? n : w;
}
