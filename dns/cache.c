/*
 * cache: answers kept for their TTL, shared by every thread of the
 * process. A hash table on (type, name) with a least-recently-used list;
 * at most max_entries answers, the oldest go first. TEMP answers are never
 * stored. One mutex: a lookup is a hash probe and a copy.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns/dns_internal.h"
#include "lib/xalloc.h"

/* Longest time we keep anything, whatever the TTL says. */
#define CACHE_TTL_MAX 86400u
#define CACHE_NEG_TTL_MAX 3600u

struct entry {
	struct entry *hnext;       /* hash chain */
	struct entry *prev, *next; /* LRU list, most recent first */
	uint16_t type;
	time_t expires;
	struct dns_answer *a;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry **table;
static size_t nbuckets, nentries, max_entries = 10000;
static struct entry *head, *tail;
static uint64_t hits, misses;

static time_t
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static size_t
hash(const char *name, uint16_t type)
{
	size_t h = 5381u + type;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = h * 33u + *p;
	return h;
}

static void
lru_unlink(struct entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		tail = e->prev;
	e->prev = e->next = NULL;
}

static void
lru_push(struct entry *e)
{
	e->next = head;
	e->prev = NULL;
	if (head)
		head->prev = e;
	head = e;
	if (tail == NULL)
		tail = e;
}

static void
remove_entry(struct entry *e)
{
	struct entry **pp = &table[hash(e->a->qname, e->type) % nbuckets];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(e);
	dns_answer_free(e->a);
	free(e);
	nentries--;
}

static struct entry *
find(const char *name, uint16_t type)
{
	if (table == NULL)
		return NULL;
	for (struct entry *e = table[hash(name, type) % nbuckets]; e; e = e->hnext)
		if (e->type == type && strcmp(e->a->qname, name) == 0)
			return e;
	return NULL;
}

void
dns_cache_configure(size_t max)
{
	pthread_mutex_lock(&lock);
	max_entries = max;
	while (nentries > max_entries)
		remove_entry(tail);
	pthread_mutex_unlock(&lock);
}

void
dns_cache_clear(void)
{
	pthread_mutex_lock(&lock);
	while (tail != NULL)
		remove_entry(tail);
	pthread_mutex_unlock(&lock);
}

void
dns_cache_get_stats(struct dns_cache_stats *s)
{
	pthread_mutex_lock(&lock);
	s->hits = hits;
	s->misses = misses;
	s->entries = nentries;
	pthread_mutex_unlock(&lock);
}

struct dns_answer *
dns_cache_get(const char *name, uint16_t type)
{
	struct dns_answer *copy = NULL;
	struct entry *e;
	time_t now = now_s();

	pthread_mutex_lock(&lock);
	if (max_entries == 0) {
		pthread_mutex_unlock(&lock);
		return NULL;
	}
	if ((e = find(name, type)) != NULL && e->expires <= now) {
		remove_entry(e);
		e = NULL;
	}
	if (e != NULL) {
		hits++;
		lru_unlink(e);
		lru_push(e);
		copy = dns_answer_copy(e->a);
		copy->cached = true;
		copy->ms = 0;
		copy->ttl = (uint32_t)(e->expires - now);
	} else {
		misses++;
	}
	pthread_mutex_unlock(&lock);
	return copy;
}

void
dns_cache_put(const struct dns_answer *a)
{
	uint32_t ttl = a->ttl;
	struct entry *e;

	if (a->status == DNS_TEMP || ttl == 0)
		return;
	if (a->status != DNS_OK && ttl > CACHE_NEG_TTL_MAX)
		ttl = CACHE_NEG_TTL_MAX;
	if (ttl > CACHE_TTL_MAX)
		ttl = CACHE_TTL_MAX;
	pthread_mutex_lock(&lock);
	if (max_entries == 0) {
		pthread_mutex_unlock(&lock);
		return;
	}
	if (table == NULL) {
		nbuckets = 4096;
		table = xcalloc(nbuckets, sizeof(*table));
	}
	if ((e = find(a->qname, a->qtype)) != NULL)
		remove_entry(e);
	while (nentries >= max_entries)
		remove_entry(tail);
	e = xcalloc(1, sizeof(*e));
	e->type = a->qtype;
	e->expires = now_s() + (time_t)ttl;
	e->a = dns_answer_copy(a);
	e->a->cached = false;
	size_t b = hash(a->qname, a->qtype) % nbuckets;
	e->hnext = table[b];
	table[b] = e;
	lru_push(e);
	nentries++;
	pthread_mutex_unlock(&lock);
}
