/*
 * dkim: results shared by the verifier, the signer and the policy code.
 */
#ifndef POSTERN_DKIM_DKIM_H
#define POSTERN_DKIM_DKIM_H

/* The result of one signature (RFC 8601 section 2.7.1), or "none" for a
 * message without any. */
enum dkim_result {
	DKIM_R_NONE,
	DKIM_R_PASS,
	DKIM_R_FAIL,
	DKIM_R_NEUTRAL,
	DKIM_R_POLICY,
	DKIM_R_TEMPERROR,
	DKIM_R_PERMERROR,
};
#define DKIM_R__COUNT 7

/* "none", "pass", ... */
const char *dkim_result_name(enum dkim_result r);

#endif
