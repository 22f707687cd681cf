/*
 * reply: Postfix-shaped SMTP replies. Texts are sanitised here, once, so
 * nothing the client sent can put a control character into a reply.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/strutil.h"
#include "policy/reply.h"

static const char *const objects[] = {"Client host", "Helo command", "Sender address",
                                      "Recipient address", "Data command"};

bool
reply_is_xcode(const char *text, size_t len)
{
	size_t i = 0, parts = 0, digits;

	if (len < 5 || (text[0] != '2' && text[0] != '4' && text[0] != '5'))
		return false;
	while (parts < 3) {
		digits = 0;
		while (i < len && isdigit((unsigned char)text[i]) && digits < 4) {
			i++;
			digits++;
		}
		if (digits == 0 || digits > 3 || (parts == 0 && digits != 1))
			return false;
		parts++;
		if (parts < 3) {
			if (i >= len || text[i] != '.')
				return false;
			i++;
		}
	}
	return i == len;
}

/* Longest object we quote in a reply; longer ones are cut with "...",
 * so the reply keeps its closing '>' and its text within 512 bytes. */
#define SUBJECT_MAX 200

static void
quote(char *buf, size_t len, const char *text, const char *post)
{
	if (strlen(text) > SUBJECT_MAX)
		snprintf(buf, len, "<%.*s...%s>", SUBJECT_MAX, text, post);
	else
		snprintf(buf, len, "<%s%s>", text, post);
}

/* The "<...>" part: what was rejected. */
static void
subject(const struct facts *f, enum reply_object obj, char *buf, size_t len)
{
	char addr[IPADDR_STRLEN + 2];

	switch (obj) {
	case OBJ_CLIENT:
		snprintf(addr, sizeof(addr), "[%s]", f->client_addr);
		quote(buf, len, f->client_name ? f->client_name : "unknown", addr);
		break;
	case OBJ_HELO:
		quote(buf, len, f->helo ? f->helo : "", "");
		break;
	case OBJ_SENDER:
		quote(buf, len, f->sender ? f->sender : "", "");
		break;
	case OBJ_RECIPIENT:
		quote(buf, len, f->rcpt ? f->rcpt : "", "");
		break;
	case OBJ_DATA:
		snprintf(buf, len, "<DATA>");
		break;
	}
}

void
reply_set(struct verdict *v, const struct facts *f, enum reply_object obj, unsigned code,
          const char *xcode, const char *text)
{
	char who[300], clean[400], raw[800];
	const char *sp;

	v->kind = code >= 500 ? VERDICT_REJECT : VERDICT_DEFER;
	v->code = code;
	/* An enhanced code at the start of the text wins if its class fits. */
	sp = strchr(text, ' ');
	if (sp != NULL && reply_is_xcode(text, (size_t)(sp - text)) &&
	    text[0] - '0' == (int)(code / 100)) {
		snprintf(v->xcode, sizeof(v->xcode), "%.*s", (int)(sp - text), text);
		text = sp + 1;
	} else if (xcode != NULL) {
		snprintf(v->xcode, sizeof(v->xcode), "%s", xcode);
	} else {
		snprintf(v->xcode, sizeof(v->xcode), "%u.7.1", code / 100);
	}
	v->xcode[0] = (char)('0' + code / 100);
	subject(f, obj, who, sizeof(who));
	snprintf(raw, sizeof(raw), "%s: %s rejected: %s", who, objects[obj], text);
	str_sanitize(clean, sizeof(clean), raw);
	snprintf(v->text, sizeof(v->text), "%s", clean);
}

void
reply_set_raw(struct verdict *v, unsigned code, const char *xcode, const char *fmt, ...)
{
	char raw[800];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	v->kind = code >= 500 ? VERDICT_REJECT : VERDICT_DEFER;
	v->code = code;
	snprintf(v->xcode, sizeof(v->xcode), "%s", xcode);
	v->xcode[0] = (char)('0' + code / 100);
	str_sanitize(v->text, sizeof(v->text), raw);
}

void
reply_soft_bounce(struct verdict *v)
{
	if (v->kind != VERDICT_REJECT || v->code < 500)
		return;
	v->code -= 100;
	v->xcode[0] = '4';
	v->kind = VERDICT_DEFER;
}

const char *
reply_format(const struct verdict *v, char *buf, size_t len)
{
	if (v->kind != VERDICT_REJECT && v->kind != VERDICT_DEFER)
		snprintf(buf, len, "250 2.0.0 Ok");
	else
		snprintf(buf, len, "%u %s %s", v->code, v->xcode, v->text);
	return buf;
}
