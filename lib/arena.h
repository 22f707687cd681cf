/*
 * arena: memory by lifetime. One arena per connection and one per
 * message; everything allocated from it goes away with arena_free(), so
 * error paths need no cleanup calls. Not thread-safe: an arena belongs
 * to the one session that owns it.
 */
#ifndef POSTERN_ARENA_H
#define POSTERN_ARENA_H

#include <stddef.h>

struct arena;

struct arena *arena_new(void);
/* Zeroed memory aligned for any type; never NULL. */
void *arena_alloc(struct arena *a, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Bytes handed out so far (for statistics and tests). */
size_t arena_used(const struct arena *a);
/* Free the arena and everything allocated from it. NULL is allowed. */
void arena_free(struct arena *a);

#endif
