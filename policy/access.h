/*
 * access: Postfix's check_*_access restrictions over maps.
 *
 * Which keys are tried, in order (partial keys only for texthash:, as in
 * Postfix; cidr: and regexp: tables get the full strings):
 *   client:    hostname, its parent domains; address, its prefixes
 *   helo:      HELO name, its parent domains
 *   sender,
 *   recipient: user@domain, domain and its parents, user@
 *              (the null sender is looked up as "<>")
 * The first key found decides. Its value is an action: OK (or an all
 * numeric value), DUNNO, REJECT [text], DEFER [text], WARN text, 4NN text
 * or 5NN text. Anything else is a configuration error, answered with
 * 451 4.3.5 as Postfix does.
 */
#ifndef POSTERN_ACCESS_H
#define POSTERN_ACCESS_H

#include <stddef.h>

#include "policy/policy.h"
#include "policy/reply.h"

struct map;

enum access_what { ACCESS_CLIENT, ACCESS_HELO, ACCESS_SENDER, ACCESS_RECIPIENT };

/* Look up the facts in map and turn the value into a verdict. Returns
 * CHECK_FAIL for REJECT/DEFER/4NN/5NN (v_r filled), CHECK_PASS for OK
 * (v_r PERMIT) and for no match or DUNNO (v_r DUNNO). WARN gives
 * CHECK_FAIL with v_r DUNNO and *warn_r set. detail gets "key=value" or
 * "no match". A missing fact (no HELO yet) gives CHECK_SKIP. */
enum check_result access_check(const struct config *cfg, const struct map *map,
                               enum access_what what, const struct facts *f,
                               struct verdict *v_r, int *warn_r, char *detail,
                               size_t dlen);

#endif
