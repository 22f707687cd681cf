/*
 * dkim: names of the results.
 */
#include "config.h"

#include "dkim/dkim.h"

const char *
dkim_result_name(enum dkim_result r)
{
	static const char *const names[DKIM_R__COUNT] = {
	    "none", "pass", "fail", "neutral", "policy", "temperror", "permerror",
	};
	return (unsigned)r < DKIM_R__COUNT ? names[r] : "permerror";
}
