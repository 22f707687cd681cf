/*
 * keys: the current DKIM key table of the daemon (see keys.h).
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/keytable.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "milter/keys.h"
#include "policy/conf.h"

struct keys_ref {
	atomic_int refs;
	struct dkim_keytable *kt;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct keys_ref *current;

static void
swap(struct keys_ref *next)
{
	struct keys_ref *old;

	pthread_mutex_lock(&lock);
	old = current;
	current = next;
	pthread_mutex_unlock(&lock);
	keys_release(old);
}

int
keys_load(const struct config *cfg, char **error_r)
{
	struct dkim_keytable *kt;
	struct keys_ref *r;

	if (dkim_keytable_load(cfg->dkim_key_table, cfg->database, &kt, error_r) < 0)
		return -1;
	r = xcalloc(1, sizeof(*r));
	atomic_init(&r->refs, 1);
	r->kt = kt;
	swap(r);
	return 0;
}

void
keys_poll(const struct config *cfg)
{
	struct keys_ref *r = keys_acquire();
	char *error = NULL;
	int changed = r != NULL ? dkim_keytable_changed(r->kt) : 1;

	keys_release(r);
	if (changed <= 0) /* unchanged, or cannot tell: keep it */
		return;
	if (keys_load(cfg, &error) < 0) {
		log_errx("DKIM key table not reloaded, keeping the current one: %s",
		         error);
		free(error);
		return;
	}
	r = keys_acquire();
	log_info("DKIM key table reloaded from %s: %zu keys, %zu signing rules",
	         r->kt->source ? r->kt->source : cfg->dkim_key_table, r->kt->nkeys,
	         r->kt->nrules);
	keys_release(r);
}

void
keys_clear(void)
{
	swap(NULL);
}

struct keys_ref *
keys_acquire(void)
{
	struct keys_ref *r;

	pthread_mutex_lock(&lock);
	r = current;
	if (r != NULL)
		atomic_fetch_add(&r->refs, 1);
	pthread_mutex_unlock(&lock);
	return r;
}

const struct dkim_keytable *
keys_table(const struct keys_ref *r)
{
	return r != NULL ? r->kt : NULL;
}

void
keys_release(struct keys_ref *r)
{
	if (r == NULL || atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	dkim_keytable_free(r->kt);
	free(r);
}
