/*
 * resolver: batches of queries sent together and awaited in one poll()
 * loop under one deadline.
 *
 * Each query has its own UDP sockets, connected to the server they ask,
 * so only that server's datagrams reach them and an ICMP "port
 * unreachable" is seen at once. A query is sent to the first server; when
 * no answer comes within the retry interval it is sent again to the next
 * one (the earlier sockets stay open: a late answer is still welcome). A
 * SERVFAIL, REFUSED or malformed answer moves the query on to a server it
 * has not tried; when none is left, the query is TEMP with that reason. A
 * truncated answer is asked again over TCP from the same server. A CNAME
 * chain that ends outside a reply is asked for again, up to
 * DNS_CNAME_MAX links in all. Replies that do not match the query's id
 * and question are ignored.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns/dns_internal.h"
#include "lib/clock.h"
#include "lib/xalloc.h"

#define ATTEMPTS_MAX 4
#define UDP_BUF 65535

struct dns_resolver {
	struct dns_server *servers;
	size_t n;
	unsigned timeout_ms;
	dns_answer_fn *answerer; /* test seam, or NULL */
	void *answerer_arg;
};

enum qstate { Q_NEW, Q_UDP, Q_TCP, Q_DONE, Q_DELIVERED };
enum tcp_phase { TCP_CONNECTING, TCP_WRITING, TCP_READING };

struct query {
	char orig[DNS_NAME_TEXT_MAX + 1]; /* as first asked, in our text form */
	char name[DNS_NAME_TEXT_MAX + 1]; /* asked now (after CNAMEs) */
	uint16_t type, id;
	dns_done_fn *fn;
	void *arg;
	enum qstate state;
	double t0;
	unsigned chain;
	bool seam; /* answered by the test seam: not cached */

	int udp_fd[ATTEMPTS_MAX];
	size_t udp_server[ATTEMPTS_MAX];
	unsigned nudp;
	unsigned failed_mask; /* servers that answered unusably */
	double next_send;
	char last_err[112];

	uint8_t *wire;
	size_t wirelen;

	int tcp_fd;
	size_t tcp_server;
	enum tcp_phase tcp_phase;
	uint8_t *io;
	size_t iolen, iopos;

	struct dns_answer *result;
};

struct dns_batch {
	struct dns_resolver *r;
	struct query **q;
	size_t n, cap;
};

static atomic_uint_fast64_t st_queries, st_udp, st_tcp, st_ok, st_nxdomain, st_nodata,
    st_temp;

void
dns_get_stats(struct dns_stats *s)
{
	s->queries = atomic_load(&st_queries);
	s->udp = atomic_load(&st_udp);
	s->tcp = atomic_load(&st_tcp);
	s->ok = atomic_load(&st_ok);
	s->nxdomain = atomic_load(&st_nxdomain);
	s->nodata = atomic_load(&st_nodata);
	s->temp = atomic_load(&st_temp);
}

void
dns_stats_count(const struct dns_answer *a)
{
	static atomic_uint_fast64_t *const by_status[] = {&st_ok, &st_nxdomain,
	                                                  &st_nodata, &st_temp};
	atomic_fetch_add(&st_queries, 1);
	atomic_fetch_add(by_status[a->status], 1);
}

/* Resolver objects. */

struct dns_resolver *
dns_resolver_new(const struct dns_server *servers, size_t n, unsigned timeout_ms)
{
	struct dns_resolver *r = xcalloc(1, sizeof(*r));

	r->servers = xcalloc(n ? n : 1, sizeof(*r->servers));
	if (n > 0)
		memcpy(r->servers, servers, n * sizeof(*servers));
	r->n = n;
	r->timeout_ms = timeout_ms ? timeout_ms : 5000;
	return r;
}

void
dns_resolver_set_answerer(struct dns_resolver *r, dns_answer_fn *fn, void *arg)
{
	r->answerer = fn;
	r->answerer_arg = arg;
}

void
dns_resolver_free(struct dns_resolver *r)
{
	if (r == NULL)
		return;
	free(r->servers);
	free(r);
}

unsigned
dns_resolver_timeout(const struct dns_resolver *r)
{
	return r->timeout_ms;
}

static const char *
server_text(const struct dns_server *s, char *buf, size_t len)
{
	char addr[IPADDR_STRLEN];

	ipaddr_format(&s->addr, addr, sizeof(addr));
	snprintf(buf, len, s->addr.family == AF_INET6 ? "[%s]:%u" : "%s:%u", addr,
	         s->port);
	return buf;
}

static socklen_t
server_sockaddr(const struct dns_server *s, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (s->addr.family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(s->port);
		memcpy(&sin->sin_addr, s->addr.a, 4);
		return sizeof(*sin);
	}
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(s->port);
	memcpy(&sin6->sin6_addr, s->addr.a, 16);
	return sizeof(*sin6);
}

/* Batches. */

struct dns_batch *
dns_batch_new(struct dns_resolver *r)
{
	struct dns_batch *b = xcalloc(1, sizeof(*b));
	b->r = r;
	return b;
}

static void
close_sockets(struct query *q)
{
	for (unsigned i = 0; i < q->nudp; i++)
		close(q->udp_fd[i]);
	q->nudp = 0;
	if (q->tcp_fd >= 0)
		close(q->tcp_fd);
	q->tcp_fd = -1;
	free(q->io);
	q->io = NULL;
}

static void
query_free(struct query *q)
{
	close_sockets(q);
	free(q->wire);
	dns_answer_free(q->result);
	free(q);
}

void
dns_batch_free(struct dns_batch *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->n; i++)
		query_free(b->q[i]);
	free(b->q);
	free(b);
}

static void
finish(struct query *q, struct dns_answer *a)
{
	close_sockets(q);
	a->ms = clock_ms() - q->t0;
	if (!a->cached && !q->seam) {
		dns_stats_count(a);
		dns_cache_put(a);
	}
	q->result = a;
	q->state = Q_DONE;
}

static void
finish_temp(struct query *q, const char *why)
{
	finish(q, dns_answer_temp(q->orig, q->type, "%s", why));
}

void
dns_batch_add(struct dns_batch *b, const char *name, uint16_t type, dns_done_fn *fn,
              void *arg)
{
	struct query *q = xcalloc(1, sizeof(*q));

	q->type = type;
	q->fn = fn;
	q->arg = arg;
	q->tcp_fd = -1;
	q->t0 = clock_ms();
	b->q = xgrow(b->q, &b->cap, b->n + 1, sizeof(*b->q));
	b->q[b->n++] = q;
	if (dns_name_normalise(name, q->orig, sizeof(q->orig)) != 0) {
		char clean[64];
		size_t i;
		for (i = 0; name[i] != '\0' && i < sizeof(clean) - 1; i++)
			clean[i] = (name[i] > ' ' && name[i] < 0x7f) ? name[i] : '?';
		clean[i] = '\0';
		snprintf(q->orig, sizeof(q->orig), "%s", clean);
		finish_temp(q, "invalid name");
		return;
	}
	memcpy(q->name, q->orig, sizeof(q->name));
}

static uint16_t
random_id(void)
{
	uint16_t id;

	if (getrandom(&id, sizeof(id), 0) != (ssize_t)sizeof(id))
		id = (uint16_t)(clock_ms() * 1000.0);
	return id;
}

/* Take a server for the next attempt: the first one that has not failed,
 * rotating from the last one used. Returns -1 when all have failed. */
static long
next_server(struct dns_batch *b, struct query *q)
{
	size_t start = q->nudp == 0 ? 0 : q->udp_server[q->nudp - 1] + 1;

	for (size_t k = 0; k < b->r->n; k++) {
		size_t s = (start + k) % b->r->n;
		if (!(q->failed_mask & (1u << s)))
			return (long)s;
	}
	return -1;
}

static void
note_failure(struct dns_batch *b, struct query *q, size_t server, const char *why)
{
	char st[IPADDR_STRLEN + 10];

	q->failed_mask |= 1u << server;
	snprintf(q->last_err, sizeof(q->last_err), "%s from %s", why,
	         server_text(&b->r->servers[server], st, sizeof(st)));
}

static unsigned
retry_ms(const struct dns_batch *b, unsigned timeout_ms)
{
	unsigned ms = timeout_ms / (unsigned)(b->r->n + 2);
	return ms < 200 ? 200 : ms > 2000 ? 2000 : ms;
}

/* Send one more UDP attempt. On failure the server is marked failed. */
static void
send_udp(struct dns_batch *b, struct query *q, unsigned retry)
{
	long s = next_server(b, q);
	struct sockaddr_storage ss;
	socklen_t sslen;
	int fd;

	if (s < 0 || q->nudp == ATTEMPTS_MAX)
		return;
	const struct dns_server *srv = &b->r->servers[s];
	sslen = server_sockaddr(srv, &ss);
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, sslen) != 0 ||
	    send(fd, q->wire, q->wirelen, 0) != (ssize_t)q->wirelen) {
		note_failure(b, q, (size_t)s, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	atomic_fetch_add(&st_udp, 1);
	q->udp_fd[q->nudp] = fd;
	q->udp_server[q->nudp] = (size_t)s;
	q->nudp++;
	q->next_send = clock_ms() + retry;
}

/* Start (or restart, after a CNAME) a query on the network. */
static void
start(struct dns_batch *b, struct query *q, unsigned retry)
{
	struct dns_answer *hit;

	close_sockets(q);
	free(q->wire);
	q->wire = NULL;
	if (b->r->answerer != NULL) {
		q->seam = true;
		hit = b->r->answerer(b->r->answerer_arg, q->orig, q->type);
		if (hit == NULL)
			hit = dns_answer_temp(q->orig, q->type,
			                      "no answer from the test seam");
		free(hit->qname);
		hit->qname = xstrdup(q->orig);
		hit->qtype = q->type;
		finish(q, hit);
		return;
	}
	if (q->chain == 0 && (hit = dns_cache_get(q->orig, q->type)) != NULL) {
		finish(q, hit);
		return;
	}
	if (b->r->n == 0) {
		finish_temp(q, "no DNS servers configured");
		return;
	}
	q->id = random_id();
	q->failed_mask = 0;
	if (dns_wire_query(q->name, q->type, q->id, &q->wire, &q->wirelen) != 0) {
		finish_temp(q, "invalid name");
		return;
	}
	q->state = Q_UDP;
	while (q->nudp == 0 && next_server(b, q) >= 0)
		send_udp(b, q, retry);
	if (q->nudp == 0)
		finish_temp(q, q->last_err);
}

static void
start_tcp(struct dns_batch *b, struct query *q, size_t server)
{
	struct sockaddr_storage ss;
	socklen_t sslen = server_sockaddr(&b->r->servers[server], &ss);
	int fd;

	close_sockets(q);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    (connect(fd, (struct sockaddr *)&ss, sslen) != 0 && errno != EINPROGRESS)) {
		note_failure(b, q, server, "TCP connect failed");
		if (fd >= 0)
			close(fd);
		finish_temp(q, q->last_err);
		return;
	}
	atomic_fetch_add(&st_tcp, 1);
	q->state = Q_TCP;
	q->tcp_fd = fd;
	q->tcp_server = server;
	q->tcp_phase = TCP_CONNECTING;
	q->io = xmalloc(q->wirelen + 2);
	q->io[0] = (uint8_t)(q->wirelen >> 8);
	q->io[1] = (uint8_t)q->wirelen;
	memcpy(q->io + 2, q->wire, q->wirelen);
	q->iolen = q->wirelen + 2;
	q->iopos = 0;
}

/* What a reply from `server` means for q. */
static void
handle_reply(struct dns_batch *b, struct query *q, size_t server, const uint8_t *buf,
             size_t len, bool over_tcp, unsigned retry)
{
	struct reply r;

	dns_wire_reply(buf, len, q->id, q->name, q->type, q->orig, &r);
	/* Over TCP the server answers this query or it is broken. */
	if (over_tcp && (r.kind == REPLY_IGNORE || r.kind == REPLY_TRUNCATED)) {
		snprintf(r.why, sizeof(r.why), "malformed answer: %s over TCP",
		         r.kind == REPLY_IGNORE ? "wrong id or question" : "truncated");
		r.kind = REPLY_MALFORMED;
	}
	switch (r.kind) {
	case REPLY_IGNORE:
		return;
	case REPLY_TRUNCATED:
		start_tcp(b, q, server);
		return;
	case REPLY_MALFORMED:
	case REPLY_RCODE:
		if (r.final) {
			finish_temp(q, r.why);
			return;
		}
		note_failure(b, q, server, r.why);
		close_sockets(q);
		q->state = Q_UDP;
		while (q->nudp == 0 && next_server(b, q) >= 0)
			send_udp(b, q, retry);
		if (q->nudp == 0)
			finish_temp(q, q->last_err);
		return;
	case REPLY_FOLLOW:
		q->chain += r.chain;
		/* The target is in our text form already (from the answer). */
		if (q->chain > DNS_CNAME_MAX || r.follow[0] == '\0' ||
		    strlen(r.follow) >= sizeof(q->name)) {
			free(r.follow);
			finish_temp(q, q->chain > DNS_CNAME_MAX
			                   ? "CNAME chain too long"
			                   : "malformed answer: bad CNAME");
			return;
		}
		snprintf(q->name, sizeof(q->name), "%s", r.follow);
		free(r.follow);
		start(b, q, retry);
		return;
	case REPLY_FINAL:
		if (q->chain + r.chain > DNS_CNAME_MAX) {
			dns_answer_free(r.answer);
			finish_temp(q, "CNAME chain too long");
			return;
		}
		finish(q, r.answer);
		return;
	}
}

static void
read_udp(struct dns_batch *b, struct query *q, unsigned i, uint8_t *buf, unsigned retry)
{
	size_t server = q->udp_server[i];
	ssize_t n = recv(q->udp_fd[i], buf, UDP_BUF, 0);

	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		/* ICMP port unreachable and the like: this server is out. */
		note_failure(b, q, server, strerror(errno));
		close(q->udp_fd[i]);
		q->udp_fd[i] = q->udp_fd[q->nudp - 1];
		q->udp_server[i] = q->udp_server[q->nudp - 1];
		q->nudp--;
		if (q->nudp == 0) {
			send_udp(b, q, retry);
			if (q->nudp == 0)
				finish_temp(q, q->last_err);
		}
		return;
	}
	handle_reply(b, q, server, buf, (size_t)n, false, retry);
}

static void
tcp_fail(struct dns_batch *b, struct query *q, const char *what)
{
	char why[80];

	snprintf(why, sizeof(why), "TCP %s: %s", what,
	         errno ? strerror(errno) : "closed");
	note_failure(b, q, q->tcp_server, why);
	finish_temp(q, q->last_err);
}

static void
step_tcp(struct dns_batch *b, struct query *q, unsigned retry)
{
	ssize_t n;

	errno = 0;
	if (q->tcp_phase == TCP_CONNECTING) {
		int err = 0;
		socklen_t elen = sizeof(err);
		getsockopt(q->tcp_fd, SOL_SOCKET, SO_ERROR, &err, &elen);
		if (err != 0) {
			errno = err;
			tcp_fail(b, q, "connect");
			return;
		}
		q->tcp_phase = TCP_WRITING;
	}
	if (q->tcp_phase == TCP_WRITING) {
		n = send(q->tcp_fd, q->io + q->iopos, q->iolen - q->iopos, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			tcp_fail(b, q, "write");
			return;
		}
		q->iopos += (size_t)n;
		if (q->iopos < q->iolen)
			return;
		free(q->io);
		q->io = xmalloc(2);
		q->iolen = 2;
		q->iopos = 0;
		q->tcp_phase = TCP_READING;
		return;
	}
	n = recv(q->tcp_fd, q->io + q->iopos, q->iolen - q->iopos, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		tcp_fail(b, q, "read");
		return;
	}
	q->iopos += (size_t)n;
	if (q->iopos < q->iolen)
		return;
	if (q->iolen == 2) {
		size_t len = ((size_t)q->io[0] << 8) | q->io[1];
		if (len < 12) {
			errno = 0;
			tcp_fail(b, q, "answer too short");
			return;
		}
		free(q->io);
		q->io = xmalloc(len);
		q->iolen = len;
		q->iopos = 0;
		return;
	}
	uint8_t *msg = q->io;
	size_t len = q->iolen;
	q->io = NULL;
	handle_reply(b, q, q->tcp_server, msg, len, true, retry);
	free(msg);
}

/* Hand finished answers to their callbacks, which may add queries.
 * Returns true when a callback ran. */
static bool
deliver(struct dns_batch *b)
{
	bool ran = false;

	for (size_t i = 0; i < b->n; i++) {
		struct query *q = b->q[i];
		if (q->state == Q_DONE) {
			struct dns_answer *a = q->result;
			q->result = NULL;
			q->state = Q_DELIVERED;
			q->fn(b, q->arg, a);
			ran = true;
		}
	}
	return ran;
}

/* Start what callbacks added (answered from the cache, perhaps) and
 * deliver what is finished, until nothing changes. Returns true while
 * some query still waits for the network. */
static bool
settle(struct dns_batch *b, double deadline, unsigned retry)
{
	do {
		double now = clock_ms();
		for (size_t i = 0; i < b->n; i++) {
			struct query *q = b->q[i];
			if (q->state != Q_NEW)
				continue;
			if (now < deadline)
				start(b, q, retry);
			else
				finish_temp(q, "timeout");
		}
	} while (deliver(b));
	for (size_t i = 0; i < b->n; i++)
		if (b->q[i]->state != Q_DELIVERED)
			return true;
	return false;
}

void
dns_batch_run(struct dns_batch *b, unsigned timeout_ms)
{
	unsigned timeout = timeout_ms ? timeout_ms : b->r->timeout_ms;
	unsigned retry = retry_ms(b, timeout);
	double deadline = clock_ms() + timeout;

	/* Nothing to ask, or everything from the cache: no sockets. */
	if (!settle(b, deadline, retry))
		return;
	uint8_t *buf = xmalloc(UDP_BUF);
	struct pollfd *pfd = NULL;
	struct {
		struct query *q;
		int slot; /* UDP attempt, or -1 for TCP */
	} *who = NULL;
	size_t pcap = 0, wcap = 0;

	for (;;) {
		if (!settle(b, deadline, retry))
			break;
		double now = clock_ms();
		if (now >= deadline) {
			for (size_t i = 0; i < b->n; i++) {
				struct query *q = b->q[i];
				if (q->state == Q_UDP || q->state == Q_TCP) {
					char why[160];
					snprintf(why, sizeof(why), "timeout%s%s",
					         q->last_err[0] ? "; " : "", q->last_err);
					finish_temp(q, why);
				}
			}
			continue; /* deliver, and answer late additions */
		}
		/* Retransmit, and gather what to wait for. */
		double wake = deadline;
		size_t np = 0;
		for (size_t i = 0; i < b->n; i++) {
			struct query *q = b->q[i];
			if (q->state == Q_UDP && now >= q->next_send)
				send_udp(b, q, retry);
			if (q->state == Q_UDP) {
				if (q->nudp < ATTEMPTS_MAX && next_server(b, q) >= 0 &&
				    q->next_send < wake)
					wake = q->next_send;
				for (unsigned k = 0; k < q->nudp; k++) {
					pfd = xgrow(pfd, &pcap, np + 1, sizeof(*pfd));
					who = xgrow(who, &wcap, np + 1, sizeof(*who));
					pfd[np] =
					    (struct pollfd){q->udp_fd[k], POLLIN, 0};
					who[np].q = q;
					who[np].slot = (int)k;
					np++;
				}
			} else if (q->state == Q_TCP) {
				pfd = xgrow(pfd, &pcap, np + 1, sizeof(*pfd));
				who = xgrow(who, &wcap, np + 1, sizeof(*who));
				pfd[np] = (struct pollfd){
				    q->tcp_fd,
				    q->tcp_phase == TCP_READING ? POLLIN : POLLOUT, 0};
				who[np].q = q;
				who[np].slot = -1;
				np++;
			}
		}
		int wait = (int)(wake - now) + 1;
		if (poll(pfd, np, wait < 0 ? 0 : wait) <= 0)
			continue;
		for (size_t k = 0; k < np; k++) {
			struct query *q = who[k].q;
			if (pfd[k].revents == 0)
				continue;
			if (who[k].slot < 0 && q->state == Q_TCP &&
			    q->tcp_fd == pfd[k].fd) {
				step_tcp(b, q, retry);
				continue;
			}
			if (q->state != Q_UDP)
				continue;
			/* The attempt may have moved in the array since poll. */
			for (unsigned s = 0; s < q->nudp; s++) {
				if (q->udp_fd[s] == pfd[k].fd) {
					read_udp(b, q, s, buf, retry);
					break;
				}
			}
		}
	}
	free(pfd);
	free(who);
	free(buf);
}

static void
keep_answer(struct dns_batch *b, void *arg, struct dns_answer *a)
{
	(void)b;
	*(struct dns_answer **)arg = a;
}

struct dns_answer *
dns_lookup(struct dns_resolver *r, const char *name, uint16_t type, unsigned timeout_ms)
{
	struct dns_batch *b = dns_batch_new(r);
	struct dns_answer *a = NULL;

	dns_batch_add(b, name, type, keep_answer, &a);
	dns_batch_run(b, timeout_ms);
	dns_batch_free(b);
	return a;
}
