/*
 * received: the Received-SPF header (RFC 7208 section 9.1), written by
 * us rather than taken from libspf2.
 *
 *   Received-SPF: result (comment)
 *   	client-ip=...; envelope-from="..."; helo=...; receiver=...;
 *   	identity=mailfrom; mechanism="..."; problem="..."
 *
 * A value is written as a dot-atom when it is one and as a quoted-string
 * otherwise (an IPv6 address has colons, a local-part may have anything);
 * the comment escapes its parentheses and backslashes. Bytes that no
 * header may carry became '?' before they got here (str_sanitize).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ipaddr.h"
#include "lib/strbuf.h"
#include "lib/strutil.h"
#include "lib/xalloc.h"
#include "spf/spf.h"

/* key=value, the value a dot-atom or a quoted-string. */
static void
put_pair(struct strbuf *b, const char *key, const char *value)
{
	char clean[200]; /* a folded line stays far below 998 bytes */

	str_sanitize(clean, sizeof(clean), value);
	if (b->len > 0 && b->s[b->len - 1] != '\t')
		strbuf_puts(b, ";\n\t");
	strbuf_puts(b, key);
	strbuf_puts(b, "=");
	strbuf_value(b, clean, false);
}

/* A comment's text: parentheses and backslashes escaped. */
static void
put_comment(struct strbuf *b, const char *text)
{
	strbuf_puts(b, "(");
	for (const char *p = text; *p != '\0'; p++) {
		if (*p == '(' || *p == ')' || *p == '\\')
			strbuf_puts(b, "\\");
		strbuf_add(b, p, 1);
	}
	strbuf_puts(b, ")");
}

char *
spf_received_spf(const struct spf_request *req, const struct spf_outcome *out)
{
	struct strbuf b = {0};
	char ip[IPADDR_STRLEN] = "unknown";
	char receiver[128], who[200], helo[256], comment[600];

	if (req->client.family != 0)
		ipaddr_format(&req->client, ip, sizeof(ip));
	str_sanitize(receiver, sizeof(receiver),
	             req->receiver != NULL ? req->receiver : "unknown");
	str_sanitize(helo, sizeof(helo), req->helo != NULL ? req->helo : "");
	if (req->identity == SPF_ID_HELO)
		str_printf(who, sizeof(who), "%s", out->domain);
	else
		str_printf(who, sizeof(who), "%s", out->sender);

	switch (out->result) {
	case SPF_R_PASS:
		snprintf(comment, sizeof(comment),
		         "%s: domain of %s designates %s as permitted sender", receiver,
		         who, ip);
		break;
	case SPF_R_FAIL:
		snprintf(comment, sizeof(comment),
		         "%s: domain of %s does not designate %s as permitted sender",
		         receiver, who, ip);
		break;
	case SPF_R_SOFTFAIL:
		snprintf(
		    comment, sizeof(comment),
		    "%s: domain of transitioning %s does not designate %s as permitted "
		    "sender",
		    receiver, who, ip);
		break;
	case SPF_R_NEUTRAL:
		snprintf(comment, sizeof(comment),
		         "%s: %s is neither permitted nor denied by domain of %s",
		         receiver, ip, who);
		break;
	case SPF_R_NONE:
		snprintf(comment, sizeof(comment),
		         "%s: domain of %s does not designate permitted sender hosts",
		         receiver, who);
		break;
	case SPF_R_TEMPERROR:
		snprintf(comment, sizeof(comment),
		         "%s: error in processing during lookup of %s", receiver, who);
		break;
	case SPF_R_PERMERROR:
	default:
		snprintf(comment, sizeof(comment),
		         "%s: permanent error in processing domain of %s", receiver, who);
		break;
	}
	strbuf_puts(&b, spf_result_name(out->result));
	strbuf_puts(&b, " ");
	put_comment(&b, comment);
	strbuf_puts(&b, "\n\t");
	put_pair(&b, "client-ip", ip);
	if (req->identity == SPF_ID_MAILFROM)
		put_pair(&b, "envelope-from", out->sender);
	if (helo[0] != '\0')
		put_pair(&b, "helo", helo);
	put_pair(&b, "receiver", receiver);
	put_pair(&b, "identity", req->identity == SPF_ID_HELO ? "helo" : "mailfrom");
	if (out->mechanism[0] != '\0')
		put_pair(&b, "mechanism", out->mechanism);
	if (out->reason[0] != '\0' &&
	    (out->result == SPF_R_TEMPERROR || out->result == SPF_R_PERMERROR))
		put_pair(&b, "problem", out->reason);
	return b.s;
}
