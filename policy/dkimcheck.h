/*
 * dkimcheck: what postern does with DKIM results at the end of a message:
 * one check row per signature, the message's verdict from the
 * dkim_<result>_action keys, and the dkim methods of
 * Authentication-Results.
 *
 * A message's result is its best signature's, in this order: pass,
 * temperror, fail, policy, neutral, permerror; none without signatures.
 * So one good signature is enough, and a key that could not be looked up
 * is never turned into a failure.
 */
#ifndef POSTERN_DKIMCHECK_H
#define POSTERN_DKIMCHECK_H

#include <stddef.h>

#include "dkim/message.h"
#include "policy/policy.h"

/* Report the rows of the results r[0..n) and fill *v_r (DUNNO, or REJECT
 * or DEFER by the configured action; soft_bounce applied). ms is the
 * time the verification took. */
void dkimcheck_verified(struct policy_ctx *ctx, const struct dkim_sig_result *r, size_t n,
                        double ms, struct verdict *v_r);

/* The Authentication-Results methods for r[0..n): one per signature
 * ("dkim=pass header.d=... header.i=... header.s=... header.a=...
 * header.b=..."), or "dkim=none". Each string is malloc'd; returns how
 * many were stored in out (at most max). */
size_t dkimcheck_authres(const struct dkim_sig_result *r, size_t n, char **out,
                         size_t max);

/* The dkim_sign rows of a signed message: one per signature made. */
void dkimcheck_signed(struct policy_ctx *ctx, const struct dkim_made *made, size_t n,
                      double ms);

#endif
