/*
 * maps: Postfix-style lookup tables loaded from text files, one
 * interface for every backend (as Postfix's DICT):
 *
 *   cidr:/path     "network  value" lines, first match wins, in file order
 *   texthash:/path "key  value" lines, exact (case-insensitive) key match
 *   regexp:/path   "/pattern/flags  value" lines (POSIX extended), first
 *                  match wins; "!/pattern/" negates; $1..$9 in the value
 *                  are replaced by the match's groups
 *
 * Lines starting with '#' and blank lines are ignored; a line starting
 * with white space continues the previous one. A malformed line makes
 * map_open fail with "FILE, line N: reason". Tables are read once and are
 * immutable afterwards, so lookups from many threads need no locks.
 *
 * Not the access-map semantics (which keys to try in which order, what
 * the value means): those live in policy/access.c.
 */
#ifndef POSTERN_MAPS_H
#define POSTERN_MAPS_H

#include <stddef.h>

struct map;

/* Open "type:/path". Returns the table, or NULL with a malloc'd message in
 * *error_r that names the file and line (the caller frees it). */
struct map *map_open(const char *spec, char **error_r);

/* Look up key. Returns 1 and stores the value in buf (len bytes, NUL
 * terminated, truncated if too long), 0 when nothing matches. For cidr:
 * tables the key must be an address ("192.0.2.1", "2001:db8::1"); other
 * keys never match. */
int map_lookup(const struct map *m, const char *key, char *buf, size_t len);

/* The spec the table was opened with, e.g. "cidr:/etc/postern/clients". */
const char *map_name(const struct map *m);

void map_free(struct map *m);

#endif
