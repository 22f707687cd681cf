/*
 * config: postern.conf, an immutable snapshot of settings.
 *
 * Postfix-style "name = value" lines; a line starting with white space
 * continues the previous one; '#' starts a comment line; "$name" and
 * "${name}" in a value refer to another key's value. Every key is
 * declared once, in the key table of config.c, with its type, default
 * and documentation; there is no other list of keys.
 *
 * A snapshot is reference counted: the daemon holds one as "current",
 * each connection takes a reference at connect and drops it at close,
 * and a reload swaps "current" for a new snapshot. Snapshots are never
 * changed after config_load returns, so readers need no locks.
 */
#ifndef POSTERN_CONF_H
#define POSTERN_CONF_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include "lib/ipaddr.h"
#include "policy/policy.h"
#include "dkim/dkim.h"
#include "spf/spf.h"

struct dns_resolver;
struct dns_server;
struct dnsbl_site;
struct dkim_engine;

/* The design's fixed paths: admins and docs rely on them. */
#define CONFIG_DEFAULT_PATH "/etc/postern/postern.conf"
#define DATABASE_DEFAULT_PATH "/var/lib/postern/postern.db"
#define KEY_DIR_DEFAULT_PATH "/var/lib/postern/keys"

/* Clients named by address, network or host name (spf_skip_clients,
 * greylist_allow_clients): "192.0.2.7", "192.0.2.0/24",
 * "[2001:db8::]/32", "relay.example.net" (that name), ".example.net"
 * (names below it), "/^mta[0-9]+\\.example\\.com$/" (an extended
 * regular expression, case-insensitive). Names and expressions are
 * matched against the client's verified name only. */
struct client_list {
	struct cidr_list nets;
	char **names;  /* lower case, NULL-terminated; may be NULL */
	void *regexps; /* regex_t[nregexps] */
	size_t nregexps;
};
bool client_list_match(const struct client_list *l, const struct ipaddr *ip,
                       const char *verified_name);
void client_list_free(struct client_list *l);

/* What a check does with a result (spf_*_action). */
enum result_action { ACT_ACCEPT, ACT_REJECT, ACT_DEFER };

struct config {
	atomic_int refs;
	char *path; /* the file it came from, or NULL for built-in defaults */

	/* Daemon. */
	char *socket;
	char *database;
	char *user;
	char *pid_file; /* "" = none */
	bool auto_restart;
	unsigned auto_restart_count;  /* auto_restart_rate = count/window */
	unsigned auto_restart_window; /* seconds */
	unsigned shutdown_timeout;    /* seconds */

	/* Identity and trust. */
	char *myhostname;
	char *authserv_id;
	struct cidr_list internal_networks;

	/* Restrictions. */
	bool delay_reject;
	bool soft_bounce;
	struct restriction_list lists[RL__COUNT];
	unsigned reject_code;
	unsigned defer_code;
	unsigned access_map_reject_code;
	unsigned access_map_defer_code;

	/* DNS. */
	struct dns_resolver *resolver;   /* from dns_servers and dns_timeout */
	struct dns_server *dns_server_v; /* dns_servers; NULL = /etc/resolv.conf */
	size_t ndns_servers;
	unsigned dns_timeout;    /* seconds */
	unsigned dns_cache_size; /* entries */
	struct dnsbl_site *dnsbl_sites;
	size_t ndnsbl_sites;
	int dnsbl_threshold;
	bool dnsbl_temp_defer;    /* dnsbl_temp_action = defer */
	char **my_helo_names;     /* lower case, NULL-terminated */
	struct ipaddr *own_addrs; /* the host's interface addresses */
	size_t nown_addrs;
	unsigned unknown_client_reject_code;
	unsigned unknown_hostname_reject_code;
	unsigned unknown_address_reject_code;
	unsigned invalid_hostname_reject_code;
	unsigned non_fqdn_reject_code;
	unsigned maps_rbl_reject_code;
	unsigned multi_recipient_bounce_reject_code;

	/* SPF. */
	bool spf_helo_check;
	struct client_list spf_skip_clients;
	bool received_spf_header;
	unsigned spf_timeout;                        /* seconds */
	enum result_action spf_action[SPF_R__COUNT]; /* by enum spf_result */

	/* Greylisting and client error limits. */
	unsigned greylist_delay;        /* seconds */
	unsigned greylist_retry_window; /* seconds */
	unsigned greylist_max_age;      /* seconds */
	unsigned greylist_auto_allow;   /* deliveries; 0: never */
	unsigned greylist_ipv4_prefix;
	unsigned greylist_ipv6_prefix;
	char *greylist_text; /* "{wait}" is the seconds left */
	struct client_list greylist_allow_clients;
	char **greylist_allow_recipients; /* "local@", "@domain", "a@domain" */
	bool greylist_allow_spf_known;
	bool greylist_header;
	unsigned greylist_db_timeout; /* seconds */
	unsigned client_error_limit;
	unsigned client_error_window; /* seconds */
	unsigned client_ban_time;     /* seconds */
	unsigned error_sleep_time;    /* seconds; 0: none */

	/* DKIM. */
	bool dkim_verify;
	bool dkim_sign;
	char *dkim_key_table; /* "sqlite" or "opendkim:KEYTABLE,SIGNINGTABLE" */
	char *key_dir;        /* where posternctl keys writes private keys */
	unsigned dkim_max_signatures;
	bool dkim_allow_l_tag;
	unsigned dkim_min_rsa_bits;
	char *dkim_canonicalization;                   /* "relaxed/relaxed" */
	char **dkim_signed_headers;                    /* lower case, NULL-terminated */
	char **dkim_oversigned_headers;                /* lower case, NULL-terminated */
	enum result_action dkim_action[DKIM_R__COUNT]; /* by enum dkim_result */
	struct dkim_engine *dkim_engine;               /* libopendkim over resolver */

	/* Printable effective values, one per key, in key-table order. */
	char **values;
};

/* Load path (NULL: built-in defaults only). Returns a snapshot holding
 * one reference, or NULL with a malloc'd *error_r of the form
 * "FILE, line N: key: reason". */
struct config *config_load(const char *path, char **error_r);

struct config *config_ref(struct config *cfg);
/* Drop a reference; the last one frees the snapshot. NULL is allowed. */
void config_unref(struct config *cfg);

/* Print every key as "name = value" (postern -n). */
void config_print(const struct config *cfg, FILE *out);

/* The key table, for documentation checks: returns the name of key i, or
 * NULL past the end. */
const char *config_key_name(size_t i);

/* Parse a time value ("30", "30s", "5m", "1h", "2d", "1w") into seconds.
 * Returns 0, or -1 when the text is not a time. */
int config_parse_time(const char *text, unsigned *seconds_r);

#endif
