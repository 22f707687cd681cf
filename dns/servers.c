/*
 * servers: where the resolver sends its queries, from the dns_servers key
 * or from resolv.conf. Parsing only; no sockets here.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/resolver.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"

#define SERVERS_MAX 8

static int
parse_port(const char *text, uint16_t *port_r)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || v < 1 || v > 65535)
		return -1;
	*port_r = (uint16_t)v;
	return 0;
}

/* "127.0.0.1", "127.0.0.1:5353", "::1", "[::1]", "[::1]:5353" */
static int
parse_one(const char *item, struct dns_server *s, char **error_r)
{
	char host[IPADDR_STRLEN + 2];
	const char *port = NULL, *colon = strchr(item, ':');
	size_t len;

	s->port = 53;
	if (item[0] == '[') {
		const char *close = strchr(item, ']');
		if (close == NULL || (close[1] != '\0' && close[1] != ':'))
			goto bad;
		len = (size_t)(close - item - 1);
		if (len >= sizeof(host))
			goto bad;
		memcpy(host, item + 1, len);
		host[len] = '\0';
		if (close[1] == ':')
			port = close + 2;
	} else if (colon != NULL && strchr(colon + 1, ':') == NULL) {
		len = (size_t)(colon - item);
		if (len >= sizeof(host))
			goto bad;
		memcpy(host, item, len);
		host[len] = '\0';
		port = colon + 1;
	} else {
		if (strlen(item) >= sizeof(host))
			goto bad;
		strcpy(host, item);
	}
	if (ipaddr_parse(host, &s->addr) != 0)
		goto bad;
	if (port != NULL && parse_port(port, &s->port) != 0) {
		*error_r = xasprintf("\"%.80s\": bad port", item);
		return -1;
	}
	return 0;
bad:
	*error_r = xasprintf("\"%.80s\" is not an address with an optional port "
	                     "(192.0.2.53, 192.0.2.53:5353, [2001:db8::53]:5353)",
	                     item);
	return -1;
}

int
dns_servers_parse(const char *text, struct dns_server **v_r, size_t *n_r, char **error_r)
{
	char *copy = xstrdup(text), *cursor = copy, *tok;
	struct dns_server *v = NULL;
	size_t n = 0, cap = 0;

	while ((tok = str_next_token(&cursor)) != NULL) {
		if (n == SERVERS_MAX) {
			*error_r = xasprintf("more than %d servers", SERVERS_MAX);
			goto fail;
		}
		v = xgrow(v, &cap, n + 1, sizeof(*v));
		if (parse_one(tok, &v[n], error_r) != 0)
			goto fail;
		n++;
	}
	free(copy);
	if (n == 0) {
		*error_r = xstrdup("no server given");
		return -1;
	}
	*v_r = v;
	*n_r = n;
	return 0;
fail:
	free(copy);
	free(v);
	return -1;
}

int
dns_servers_from_resolv_conf(const char *path, struct dns_server **v_r, size_t *n_r,
                             char **error_r)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t linecap = 0;
	struct dns_server *v = NULL;
	size_t n = 0, cap = 0;

	if (f == NULL) {
		*error_r = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	while (getline(&line, &linecap, f) >= 0) {
		char *cursor = line, *word = str_next_token(&cursor), *addr;
		if (word == NULL || strcmp(word, "nameserver") != 0)
			continue;
		if ((addr = str_next_token(&cursor)) == NULL || n == SERVERS_MAX)
			continue;
		/* A scoped address ("fe80::1%eth0") is not for us. */
		struct dns_server s = {.port = 53};
		if (strchr(addr, '%') != NULL || ipaddr_parse(addr, &s.addr) != 0) {
			continue;
		}
		v = xgrow(v, &cap, n + 1, sizeof(*v));
		v[n++] = s;
	}
	free(line);
	fclose(f);
	if (n == 0) {
		free(v);
		*error_r = xasprintf("%s names no usable nameserver", path);
		return -1;
	}
	*v_r = v;
	*n_r = n;
	return 0;
}
