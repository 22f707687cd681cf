/*
 * access: lookup keys for check_client/helo/sender/recipient_access and
 * the meaning of the action found. The tables themselves are maps.c.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strutil.h"
#include "policy/access.h"
#include "policy/conf.h"
#include "policy/maps.h"

#define KEY_MAX 1100
#define VALUE_MAX 1024

struct lookup {
	const struct map *map;
	bool partial;      /* texthash: parent domains and address prefixes */
	char key[KEY_MAX]; /* the key that matched */
	char value[VALUE_MAX];
};

static bool
try_key(struct lookup *l, const char *key)
{
	char lower[KEY_MAX];

	/* texthash keys are lower case; regexp tables decide case themselves. */
	snprintf(lower, sizeof(lower), "%s", key);
	if (l->partial)
		str_lower(lower);
	if (map_lookup(l->map, lower, l->value, sizeof(l->value)) != 1)
		return false;
	snprintf(l->key, sizeof(l->key), "%s", lower);
	return true;
}

/* name, then (texthash) each parent domain, as "example.com" and ".example.com". */
static bool
try_domain(struct lookup *l, const char *name)
{
	char dotted[KEY_MAX];

	if (try_key(l, name))
		return true;
	if (!l->partial)
		return false;
	for (const char *p = strchr(name, '.'); p != NULL; p = strchr(p + 1, '.')) {
		if (p[1] == '\0')
			break;
		if (try_key(l, p + 1))
			return true;
		snprintf(dotted, sizeof(dotted), "%s", p);
		if (try_key(l, dotted))
			return true;
	}
	return false;
}

/* address, then (texthash) its prefixes: 192.0.2, 192.0, 192 / 2001:db8:1, ... */
static bool
try_address(struct lookup *l, const char *addr)
{
	char buf[IPADDR_STRLEN];
	char sep = strchr(addr, ':') ? ':' : '.';
	char *cut;

	if (try_key(l, addr))
		return true;
	if (!l->partial)
		return false;
	snprintf(buf, sizeof(buf), "%s", addr);
	while ((cut = strrchr(buf, sep)) != NULL) {
		*cut = '\0';
		while (cut > buf && cut[-1] == sep) /* "::" */
			*--cut = '\0';
		if (buf[0] != '\0' && try_key(l, buf))
			return true;
	}
	return false;
}

static bool
try_address_key(struct lookup *l, const char *addr)
{
	const char *at = strrchr(addr, '@');
	char user[KEY_MAX];

	if (*addr == '\0')
		return try_key(l, "<>");
	if (try_key(l, addr))
		return true;
	if (!l->partial || at == NULL)
		return false;
	if (at[1] != '\0' && try_domain(l, at + 1))
		return true;
	snprintf(user, sizeof(user), "%.*s@", (int)(at - addr), addr);
	return try_key(l, user);
}

/* Which facts an access check reads, and the object for the reply. */
static const char *
fact_for(enum access_what what, const struct facts *f, enum reply_object *obj_r)
{
	static const enum reply_object objs[] = {OBJ_CLIENT, OBJ_HELO, OBJ_SENDER,
	                                         OBJ_RECIPIENT};
	*obj_r = objs[what];
	switch (what) {
	case ACCESS_CLIENT:
		return f->client_addr[0] ? f->client_addr : NULL;
	case ACCESS_HELO:
		return f->helo;
	case ACCESS_SENDER:
		return f->sender;
	case ACCESS_RECIPIENT:
		return f->rcpt;
	}
	return NULL;
}

static bool
lookup_facts(struct lookup *l, enum access_what what, const struct facts *f,
             const char *fact)
{
	if (what == ACCESS_CLIENT)
		return (f->client_name != NULL && try_domain(l, f->client_name)) ||
		       try_address(l, fact);
	if (what == ACCESS_HELO)
		return try_domain(l, fact);
	return try_address_key(l, fact);
}

/* Split "ACTION rest" into the action word (upper-cased) and the text. */
static const char *
split_action(char *value, char *word, size_t wlen)
{
	size_t n = strcspn(value, " \t");
	const char *rest = value + n;

	snprintf(word, wlen, "%.*s", (int)n, value);
	for (char *p = word; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	while (*rest == ' ' || *rest == '\t')
		rest++;
	return rest;
}

enum check_result
access_check(const struct config *cfg, const struct map *map, enum access_what what,
             const struct facts *f, struct verdict *v, int *warn_r, char *detail,
             size_t dlen)
{
	struct lookup l = {.map = map,
	                   .partial = str_has_prefix(map_name(map), "texthash:")};
	enum reply_object obj;
	const char *fact = fact_for(what, f, &obj), *text;
	char word[32];

	*warn_r = 0;
	v->kind = VERDICT_DUNNO;
	if (fact == NULL) {
		snprintf(detail, dlen, "nothing to look up yet");
		return CHECK_SKIP;
	}
	if (!lookup_facts(&l, what, f, fact)) {
		snprintf(detail, dlen, "%s: no match", map_name(map));
		return CHECK_PASS;
	}
	snprintf(detail, dlen, "%s: %s=%s", map_name(map), l.key, l.value);
	text = split_action(l.value, word, sizeof(word));
	if (strcmp(word, "OK") == 0 ||
	    (word[0] && strspn(word, "0123456789") == strlen(word) && *text == '\0')) {
		v->kind = VERDICT_PERMIT;
		return CHECK_PASS;
	}
	if (strcmp(word, "DUNNO") == 0)
		return CHECK_PASS;
	if (strcmp(word, "REJECT") == 0) {
		reply_set(v, f, obj, cfg->access_map_reject_code, NULL,
		          *text ? text : "Access denied");
		return CHECK_FAIL;
	}
	if (strcmp(word, "DEFER") == 0) {
		reply_set(v, f, obj, cfg->access_map_defer_code, NULL,
		          *text ? text : "Access denied");
		return CHECK_FAIL;
	}
	if (strcmp(word, "WARN") == 0) {
		*warn_r = 1;
		return CHECK_FAIL;
	}
	if (strlen(word) == 3 && (word[0] == '4' || word[0] == '5') &&
	    strspn(word, "0123456789") == 3) {
		reply_set(v, f, obj, (unsigned)atoi(word), NULL,
		          *text ? text : "Access denied");
		return CHECK_FAIL;
	}
	/* Postfix answers an unknown action with a configuration error. */
	snprintf(detail, dlen, "%s: %s=%s: unknown action \"%s\"", map_name(map), l.key,
	         l.value, word);
	v->kind = VERDICT_DEFER;
	v->code = 451;
	snprintf(v->xcode, sizeof(v->xcode), "4.3.5");
	snprintf(v->text, sizeof(v->text), "Server configuration error");
	return CHECK_TEMP;
}
