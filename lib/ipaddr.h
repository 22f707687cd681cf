/*
 * ipaddr: IPv4/IPv6 addresses and CIDR networks, parsed from text and
 * matched without allocation. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d)
 * are normalised to IPv4 when parsed, so one rule matches both forms.
 *
 * Not a resolver: nothing here touches the network.
 */
#ifndef POSTERN_IPADDR_H
#define POSTERN_IPADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define IPADDR_STRLEN 46 /* INET6_ADDRSTRLEN */

struct ipaddr {
	int family;    /* AF_INET or AF_INET6; 0 means "no address" */
	uint8_t a[16]; /* network byte order; IPv4 uses the first 4 bytes */
};

struct cidr {
	struct ipaddr net; /* host bits are zero */
	unsigned prefix;   /* 0..32 for IPv4, 0..128 for IPv6 */
};

/* A list of networks, as internal_networks. Owned by its creator. */
struct cidr_list {
	struct cidr *v;
	size_t n;
};

/* Parse "192.0.2.1", "2001:db8::1", "[2001:db8::1]" or "::ffff:192.0.2.1"
 * (stored as IPv4). Returns 0, or -1 when the text is not an address. */
int ipaddr_parse(const char *text, struct ipaddr *ip_r);

/* Fill *ip_r from a sockaddr (AF_INET/AF_INET6, v4-mapped normalised).
 * Returns 0, or -1 for NULL or another family. */
int ipaddr_from_sockaddr(const struct sockaddr *sa, struct ipaddr *ip_r);

/* Write the canonical text form into buf (IPADDR_STRLEN bytes). */
const char *ipaddr_format(const struct ipaddr *ip, char *buf, size_t len);

bool ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b);

/* Parse "192.0.2.0/24", "[2001:db8::]/32", "2001:db8::/32" or a bare
 * address (a host network). Host bits that are set are an error, as in
 * Postfix's cidr tables. On error returns -1 and writes a reason into
 * err (errlen bytes). */
int cidr_parse(const char *text, struct cidr *c_r, char *err, size_t errlen);

bool cidr_match(const struct cidr *c, const struct ipaddr *ip);

/* The network of ip with prefix bits kept (capped at the family's
 * length), as text: "192.0.2.0/24", "2001:db8:1:2::/64". The greylist
 * keys its clients so; buf should hold IPADDR_STRLEN + 4 bytes. */
const char *ipaddr_network_text(const struct ipaddr *ip, unsigned prefix, char *buf,
                                size_t len);

/* Parse a comma/space separated list of networks into *list_r (which the
 * caller frees with cidr_list_free). Returns 0, or -1 with a reason that
 * names the bad element. */
int cidr_list_parse(const char *text, struct cidr_list *list_r, char *err, size_t errlen);
bool cidr_list_match(const struct cidr_list *list, const struct ipaddr *ip);
void cidr_list_free(struct cidr_list *list);

#endif
