/*
 * authres: the Authentication-Results header (RFC 8601) that postern
 * writes, and recognising the ones that claim to be ours.
 */
#ifndef POSTERN_AUTHRES_H
#define POSTERN_AUTHRES_H

#include <stdbool.h>
#include <stddef.h>

/* Does this header value name authserv_id as its authserv-id (the first
 * token, before ';' or white space, comments skipped; compared without
 * regard to case)? */
bool authres_is_ours(const char *value, const char *authserv_id);

/* The header value: "authserv_id;\n\tmethod;\n\tmethod", or
 * "authserv_id; none" without methods. Malloc'd. */
char *authres_build(const char *authserv_id, const char *const *methods, size_t n);

#endif
