/*
 * reply: SMTP replies for verdicts, in Postfix's words and codes.
 *
 * A reply has a code (4xx/5xx), an enhanced status code whose class
 * matches the code, and a text that never holds control characters.
 */
#ifndef POSTERN_REPLY_H
#define POSTERN_REPLY_H

#include <stdbool.h>

#include "policy/policy.h"

/* What a restriction looked at, for the reply text: "Client host",
 * "Helo command", "Sender address", "Recipient address", "Data command". */
enum reply_object { OBJ_CLIENT, OBJ_HELO, OBJ_SENDER, OBJ_RECIPIENT, OBJ_DATA };

/* Fill v as a REJECT (code >= 500) or DEFER (4xx) in Postfix's form:
 * "<what>: Client host rejected: text". xcode may be NULL for the
 * default (X.7.1); text may start with its own "X.Y.Z " enhanced code,
 * which then wins when its class matches. */
void reply_set(struct verdict *v, const struct facts *f, enum reply_object obj,
               unsigned code, const char *xcode, const char *text);

/* Fill v as a REJECT or DEFER with a text of its own, for replies that
 * Postfix words without the "<what>: ... rejected:" form (DNS lists,
 * reverse DNS). The class of xcode follows the code. */
void reply_set_raw(struct verdict *v, unsigned code, const char *xcode, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));

/* soft_bounce: turn 5xx into 4xx (and 5.X.Y into 4.X.Y). */
void reply_soft_bounce(struct verdict *v);

/* Is text a valid enhanced status code "C.S.D" (C 2,4,5; S, D 0-999)? */
bool reply_is_xcode(const char *text, size_t len);

/* "554 5.7.1 text" into buf, for logs and the message row. */
const char *reply_format(const struct verdict *v, char *buf, size_t len);

#endif
