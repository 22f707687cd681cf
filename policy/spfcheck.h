/*
 * spfcheck: the check_spf restriction and the SPF parts of the headers.
 */
#ifndef POSTERN_SPFCHECK_H
#define POSTERN_SPFCHECK_H

#include <stddef.h>

#include "policy/policy.h"

void spfcheck_new_message(struct policy_state *st);
void spfcheck_new_helo(struct policy_state *st);
void spfcheck_state_free(struct policy_state *st);

/* The Authentication-Results methods of the identities evaluated
 * ("spf=pass smtp.mailfrom=a@example.com", "spf=none smtp.helo=..."),
 * written into methods; returns how many. */
size_t spfcheck_authres(struct policy_ctx *ctx, char methods[][400], size_t max);

/* The Received-SPF values of the identities evaluated (malloc'd, the
 * caller frees them); returns how many. */
size_t spfcheck_received(struct policy_ctx *ctx, char **values, size_t max);

/* The MAIL FROM domain when check_spf evaluated it to pass in this
 * message, else NULL. */
const char *spfcheck_mail_pass_domain(struct policy_ctx *ctx);

#endif
