/*
 * greylist: the check_greylist restriction (policy/greylist.c) and the
 * client error limit (policy/errlimit.c), over the store of
 * db/greylist.h.
 *
 * check_greylist defers the first attempt of a (client network, sender,
 * recipient) triplet with 450 4.7.1 and lets a retry through after
 * greylist_delay. When SPF passed, the client is the verified sender
 * domain instead of the network, so a provider retrying from another
 * address of its pool is not greylisted again. A null sender is decided
 * at DATA, so that bounces and sender callouts get through RCPT.
 *
 * check_client_error_limit counts the rejections postern gives each
 * client address (greylisting's deferrals excepted); past
 * client_error_limit within client_error_window the address is banned
 * for client_ban_time, and its connections get 421 4.7.0 at connect.
 */
#ifndef POSTERN_GREYLIST_H
#define POSTERN_GREYLIST_H

#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"

/* The envelope sender as greylisting keys it: lower case, BATV and SRS
 * unwrapped, VERP parts ("+ext", numbers that are words) folded, as
 * postgrey does. "" stays "". Returns out. */
const char *greylist_normalize_sender(const char *sender, char *out, size_t len);

/* At DATA: the deferral of a null-sender message whose triplets are not
 * through yet. Returns true (and fills *v_r) when it decided. */
bool greylist_data(struct policy_ctx *ctx, struct verdict *v_r);

/* The X-Greylist value for a message whose delay ended in this delivery
 * ("delayed 312 seconds by postern at mx.example.org; Sun, 22 Nov 2026
 * 10:00:00 +0000"); false when there is none to add. */
bool greylist_header(struct policy_ctx *ctx, char *buf, size_t len);

void greylist_new_message(struct policy_state *st);
void greylist_state_free(struct policy_state *st);

/* The daemon's count of rejections per client address. */
struct errlimit *errlimit_new(void);
void errlimit_free(struct errlimit *el);

/* Count one rejection of addr at now; returns the rejections within
 * window, this one included. When that exceeds limit the client's count
 * starts over (the caller bans it). */
unsigned errlimit_count(struct errlimit *el, const char *addr, int64_t now,
                        unsigned window, unsigned limit);

/* The MTA is about to get this verdict: count it against the client
 * when check_client_error_limit is configured (not greylisting's, not
 * for bypassed clients), and ban the client once it is past the limit,
 * with a check row that says so. Returns the seconds to wait before the
 * reply (error_sleep_time), 0 for none. */
unsigned errlimit_note_reply(struct policy_ctx *ctx, const struct verdict *v);

#endif
