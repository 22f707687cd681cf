/*
 * test_policy: the restriction engine without libmilter: list order,
 * first decisive verdict, PERMIT ending only its list, delay_reject,
 * warn_if_reject, soft_bounce, bypass, and the check rows reported.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "policy/conf.h"
#include "policy/policy.h"
#include "rows.h"
#include "testutil.h"

#define dir testutil_dir

struct run {
	struct config *cfg;
	struct facts f;
	struct policy_state st;
	struct rows rows;
	struct policy_ctx ctx;
};

static void
run_start(struct run *r, const char *conf, const char *addr, const char *name)
{
	char *path = testutil_write_file(dir, "p.conf", conf), *err = NULL;

	memset(r, 0, sizeof(*r));
	r->cfg = config_load(path, &err);
	free(path);
	if (r->cfg == NULL)
		fail_msg("config: %s", err);
	if (addr != NULL) {
		assert_int_equal(ipaddr_parse(addr, &r->f.client_ip), 0);
		snprintf(r->f.client_addr, sizeof(r->f.client_addr), "%s", addr);
	}
	r->f.client_name = name;
	r->ctx =
	    (struct policy_ctx){r->cfg, &r->f, &r->st, collect, &r->rows, false, NULL};
}

static void
run_end(struct run *r)
{
	policy_state_free(&r->st);
	config_unref(r->cfg);
}

static struct verdict
stage(struct run *r, enum stage s)
{
	struct verdict v;

	if (s == STAGE_MAIL)
		policy_new_message(&r->st);
	policy_stage(&r->ctx, s, &v);
	return v;
}

/* A whole SMTP dialogue up to the first RCPT. */
static struct verdict
dialogue(struct run *r, const char *helo, const char *from, const char *rcpt)
{
	struct verdict v = stage(r, STAGE_CONNECT);
	if (v.kind != VERDICT_DUNNO && v.kind != VERDICT_PERMIT)
		return v;
	r->f.helo = helo;
	v = stage(r, STAGE_HELO);
	if (v.kind != VERDICT_DUNNO && v.kind != VERDICT_PERMIT)
		return v;
	r->f.sender = from;
	v = stage(r, STAGE_MAIL);
	if (v.kind != VERDICT_DUNNO && v.kind != VERDICT_PERMIT)
		return v;
	r->f.rcpt = rcpt;
	return stage(r, STAGE_RCPT);
}

static int
setup(void **state)
{
	testutil_dir_setup(state);
	char *p = testutil_write_file(dir, "clients.cidr",
	                              "203.0.113.0/24 REJECT listed here\n"
	                              "198.51.100.7 DEFER\n"
	                              "198.51.100.8 OK\n"
	                              "198.51.100.9 WARN suspicious\n"
	                              "198.51.100.10 550 5.7.0 go away\n"
	                              "198.51.100.11 BOGUS action\n");
	free(p);
	p = testutil_write_file(dir, "senders.hash",
	                        "spam@example.com REJECT no spam\n"
	                        "example.net REJECT whole domain\n"
	                        "info@ DEFER local part\n"
	                        "<> REJECT no bounces\n");
	free(p);
	return 0;
}

static char *
conf(const char *fmt)
{
	/* "%D" in fmt stands for the fixture directory. */
	char *out = testutil_printf("%s", ""), *p;
	for (const char *s = fmt; *s; s++) {
		if (s[0] == '%' && s[1] == 'D') {
			p = testutil_printf("%s%s", out, dir);
			s++;
		} else {
			p = testutil_printf("%s%c", out, *s);
		}
		free(out);
		out = p;
	}
	return out;
}

static void
test_delay_reject_rejects_at_rcpt(void **state)
{
	struct run r;
	char *c =
	    conf("client_restrictions = check_client_access cidr:%D/clients.cidr\n");
	(void)state;

	run_start(&r, c, "203.0.113.5", "bad.example");
	assert_int_equal(stage(&r, STAGE_CONNECT).kind, VERDICT_DUNNO);
	assert_int_equal(r.rows.n, 0); /* nothing ran at connect */
	struct verdict v = dialogue(&r, "bad.example", "a@example.org", "b@example.org");
	assert_int_equal(v.kind, VERDICT_REJECT);
	assert_int_equal(v.code, 554);
	assert_string_equal(v.xcode, "5.7.1");
	assert_string_equal(
	    v.text, "<bad.example[203.0.113.5]>: Client host rejected: listed here");
	assert_int_equal(v.stage, STAGE_RCPT);
	assert_string_equal(v.check, "check_client_access");
	assert_int_equal(r.rows.n, 1);
	assert_substring(r.rows.line[0], "rcpt check_client_access fail reject");
	assert_substring(r.rows.line[0], "203.0.113.5=REJECT listed here");

	/* As in Postfix, the client list runs again for the next recipient. */
	r.f.rcpt = "c@example.org";
	v = stage(&r, STAGE_RCPT);
	assert_int_equal(v.kind, VERDICT_REJECT);
	assert_int_equal(r.rows.n, 2);
	assert_substring(r.rows.line[1], "rcpt check_client_access fail reject");
	run_end(&r);
	free(c);
}

static void
test_no_delay_reject_rejects_at_connect(void **state)
{
	struct run r;
	char *c =
	    conf("delay_reject = no\n"
	         "client_restrictions = check_client_access cidr:%D/clients.cidr\n");
	(void)state;

	run_start(&r, c, "198.51.100.7", NULL);
	struct verdict v = stage(&r, STAGE_CONNECT);
	assert_int_equal(v.kind, VERDICT_DEFER);
	assert_int_equal(v.code, 450);
	assert_string_equal(v.xcode, "4.7.1");
	assert_string_equal(
	    v.text, "<unknown[198.51.100.7]>: Client host rejected: Access denied");
	assert_int_equal(v.stage, STAGE_CONNECT);
	assert_substring(r.rows.line[0], "connect check_client_access fail defer");
	run_end(&r);
	free(c);
}

static void
test_permit_ends_only_its_list(void **state)
{
	struct run r;
	char *c = conf(
	    "client_restrictions = check_client_access cidr:%D/clients.cidr, reject\n"
	    "recipient_restrictions = check_recipient_access texthash:%D/senders.hash "
	    "reject\n");
	(void)state;

	run_start(&r, c, "198.51.100.8", "ok.example");
	struct verdict v = dialogue(&r, "ok.example", "a@example.org", "b@example.org");
	/* OK ended the client list before its "reject"; the recipient list
	 * still ran and its final "reject" decides. */
	assert_int_equal(v.kind, VERDICT_REJECT);
	assert_string_equal(v.check, "reject");
	assert_string_equal(v.text,
	                    "<b@example.org>: Recipient address rejected: Access denied");
	assert_int_equal(r.rows.n, 3);
	assert_substring(r.rows.line[0], "check_client_access pass permit");
	assert_substring(r.rows.line[1], "check_recipient_access pass dunno");
	assert_substring(r.rows.line[1], "no match");
	assert_substring(r.rows.line[2], "rcpt reject fail reject");
	run_end(&r);
	free(c);
}

static void
test_access_actions(void **state)
{
	struct run r;
	char *c =
	    conf("client_restrictions = check_client_access cidr:%D/clients.cidr\n");
	struct verdict v;
	(void)state;

	run_start(&r, c, "198.51.100.9", NULL);
	v = dialogue(&r, "h.example", "a@example.org", "b@example.org");
	assert_int_equal(v.kind, VERDICT_DUNNO);
	assert_substring(r.rows.line[0], "check_client_access fail warn");
	run_end(&r);

	run_start(&r, c, "198.51.100.10", NULL);
	v = dialogue(&r, "h.example", "a@example.org", "b@example.org");
	assert_int_equal(v.code, 550);
	assert_string_equal(v.xcode, "5.7.0");
	assert_substring(v.text, "Client host rejected: go away");
	run_end(&r);

	run_start(&r, c, "198.51.100.11", NULL);
	v = dialogue(&r, "h.example", "a@example.org", "b@example.org");
	assert_int_equal(v.kind, VERDICT_DEFER);
	assert_int_equal(v.code, 451);
	assert_string_equal(v.xcode, "4.3.5");
	assert_substring(r.rows.line[0], "temp");
	assert_substring(r.rows.line[0], "unknown action \"BOGUS\"");
	run_end(&r);
	free(c);
}

static void
test_sender_lookup_keys(void **state)
{
	struct run r;
	char *c =
	    conf("sender_restrictions = check_sender_access texthash:%D/senders.hash\n");
	struct {
		const char *from;
		enum verdict_kind kind;
		const char *detail;
	} cases[] = {
	    {"spam@example.com", VERDICT_REJECT, "spam@example.com=REJECT no spam"},
	    {"SPAM@Example.COM", VERDICT_REJECT, "spam@example.com=REJECT"},
	    {"x@mail.example.net", VERDICT_REJECT, "example.net=REJECT whole domain"},
	    {"info@example.org", VERDICT_DEFER, "info@=DEFER local part"},
	    {"", VERDICT_REJECT, "<>=REJECT no bounces"},
	    {"ok@example.org", VERDICT_DUNNO, "no match"},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run_start(&r, c, "192.0.2.1", NULL);
		struct verdict v =
		    dialogue(&r, "h.example", cases[i].from, "b@example.org");
		assert_int_equal(v.kind, cases[i].kind);
		assert_substring(r.rows.line[0], cases[i].detail);
		run_end(&r);
	}
	free(c);
}

static void
test_warn_if_reject(void **state)
{
	struct run r;
	char *c = conf("client_restrictions = warn_if_reject check_client_access "
	               "cidr:%D/clients.cidr\n");
	(void)state;

	run_start(&r, c, "203.0.113.9", NULL);
	struct verdict v = dialogue(&r, "h.example", "a@example.org", "b@example.org");
	assert_int_equal(v.kind, VERDICT_DUNNO);
	assert_int_equal(r.rows.n, 1);
	assert_substring(r.rows.line[0], "check_client_access fail warn");
	assert_substring(r.rows.line[0], "would have been: 554 5.7.1");
	run_end(&r);
	free(c);
}

static void
test_soft_bounce(void **state)
{
	struct run r;
	char *c = conf("soft_bounce = yes\nrecipient_restrictions = reject\n");
	(void)state;

	run_start(&r, c, "192.0.2.1", NULL);
	struct verdict v = dialogue(&r, "h.example", "a@example.org", "b@example.org");
	assert_int_equal(v.kind, VERDICT_DEFER);
	assert_int_equal(v.code, 454);
	assert_string_equal(v.xcode, "4.7.1");
	run_end(&r);
	free(c);
}

static void
test_bypass(void **state)
{
	struct run r;
	const char *c = "client_restrictions = reject\nrecipient_restrictions = reject\n";
	struct verdict v;
	(void)state;

	run_start(&r, c, "127.0.0.5", "localhost");
	v = dialogue(&r, "h", "a@example.org", "b@example.org");
	assert_int_equal(v.kind, VERDICT_DUNNO);
	assert_int_equal(r.rows.n, 2); /* one at connect, one for the message */
	assert_substring(r.rows.line[0], "connect bypass skip none internal client");
	assert_substring(r.rows.line[1], "mail bypass skip none internal client");
	run_end(&r);

	run_start(&r, c, "203.0.113.5", NULL);
	r.f.auth_authen = "alice";
	v = dialogue(&r, "h", "a@example.org", "b@example.org");
	assert_int_equal(v.kind, VERDICT_DUNNO);
	assert_substring(r.rows.line[0], "authenticated client");
	run_end(&r);

	run_start(&r, "internal_networks =\nrecipient_restrictions = reject\n",
	          "127.0.0.1", "localhost");
	r.f.local_submission = true;
	v = dialogue(&r, "localhost", "a@example.org", "b@example.org");
	assert_int_equal(v.kind, VERDICT_DUNNO);
	assert_substring(r.rows.line[0], "local client");
	run_end(&r);

	/* Without a bypass the same client is rejected. */
	run_start(&r, "internal_networks =\nrecipient_restrictions = reject\n",
	          "127.0.0.1", "localhost");
	v = dialogue(&r, "localhost", "a@example.org", "b@example.org");
	assert_int_equal(v.kind, VERDICT_REJECT);
	run_end(&r);
}

static void
test_permit_restrictions(void **state)
{
	struct run r;
	const char *c =
	    "internal_networks = 192.0.2.0/24\n"
	    "recipient_restrictions = permit_sasl_authenticated, permit_mynetworks, "
	    "defer\n";
	(void)state;

	run_start(&r, c, "198.51.100.1", NULL);
	struct verdict v = dialogue(&r, "h", "a@example.org", "b@example.org");
	assert_int_equal(v.kind, VERDICT_DEFER);
	assert_int_equal(v.code, 450);
	assert_substring(r.rows.line[0],
	                 "permit_sasl_authenticated pass dunno not authenticated");
	assert_substring(r.rows.line[1], "permit_mynetworks pass dunno not internal");
	assert_substring(r.rows.line[2], "defer fail defer");
	run_end(&r);
}

static void
test_lists_see_current_facts(void **state)
{
	struct run r;
	/* A sender table in the client list must see each message's sender. */
	char *c =
	    conf("client_restrictions = check_sender_access texthash:%D/senders.hash\n");
	(void)state;

	run_start(&r, c, "192.0.2.1", NULL);
	assert_int_equal(dialogue(&r, "h", "ok@example.org", "b@example.org").kind,
	                 VERDICT_DUNNO);
	r.f.sender = "spam@example.com";
	stage(&r, STAGE_MAIL);
	assert_int_equal(stage(&r, STAGE_RCPT).kind, VERDICT_REJECT);
	run_end(&r);
	free(c);
}

static void
test_full_string_tables_get_full_address(void **state)
{
	struct run r;
	char *t = testutil_write_file(dir, "senders.regexp",
	                              "!/@example\\.com$/ REJECT not from example.com\n");
	char *c =
	    conf("sender_restrictions = check_sender_access regexp:%D/senders.regexp\n");
	(void)state;

	/* Postfix gives regexp: tables the whole address only: the bare
	 * domain "example.com" must not be tried (it would match the
	 * negated pattern). */
	run_start(&r, c, "192.0.2.1", NULL);
	assert_int_equal(dialogue(&r, "h", "user@example.com", "b@example.org").kind,
	                 VERDICT_DUNNO);
	run_end(&r);
	run_start(&r, c, "192.0.2.1", NULL);
	assert_int_equal(dialogue(&r, "h", "user@example.org", "b@example.org").kind,
	                 VERDICT_REJECT);
	run_end(&r);
	free(c);
	free(t);
}

static void
test_new_message_and_helo_reset(void **state)
{
	struct run r;
	char *c =
	    conf("sender_restrictions = check_sender_access texthash:%D/senders.hash\n");
	(void)state;

	run_start(&r, c, "192.0.2.1", NULL);
	assert_int_equal(dialogue(&r, "h", "spam@example.com", "b@example.org").kind,
	                 VERDICT_REJECT);
	/* The next message on the same connection is judged afresh. */
	r.f.sender = "ok@example.org";
	stage(&r, STAGE_MAIL);
	assert_int_equal(stage(&r, STAGE_RCPT).kind, VERDICT_DUNNO);
	assert_int_equal(r.rows.n, 2);
	run_end(&r);
	free(c);
}

/* The stages negotiated without a reply: policy_stage_may_refuse() must
 * say true wherever decide() can refuse, and false where it cannot. */
static bool
refuses_at(struct run *r, enum stage s)
{
	struct verdict v = stage(r, s);
	return v.kind == VERDICT_REJECT || v.kind == VERDICT_DEFER;
}

static void
test_stage_may_refuse(void **state)
{
	struct run r;
	(void)state;

	/* delay_reject: client, HELO and sender verdicts come at RCPT. */
	char *c =
	    conf("client_restrictions = check_client_access cidr:%D/clients.cidr\n"
	         "sender_restrictions = check_sender_access texthash:%D/senders.hash\n");
	run_start(&r, c, "203.0.113.5", NULL);
	assert_false(policy_stage_may_refuse(r.cfg, STAGE_CONNECT));
	assert_false(policy_stage_may_refuse(r.cfg, STAGE_HELO));
	assert_false(policy_stage_may_refuse(r.cfg, STAGE_MAIL));
	assert_true(policy_stage_may_refuse(r.cfg, STAGE_RCPT));
	assert_false(policy_stage_may_refuse(r.cfg, STAGE_DATA));
	assert_true(policy_stage_may_refuse(r.cfg, STAGE_EOM));
	assert_false(refuses_at(&r, STAGE_CONNECT));
	r.f.helo = "mx.example.com";
	assert_false(refuses_at(&r, STAGE_HELO));
	r.f.sender = "spam@example.com";
	assert_false(refuses_at(&r, STAGE_MAIL));
	r.f.rcpt = "bob@example.org";
	assert_true(refuses_at(&r, STAGE_RCPT));
	run_end(&r);
	free(c);

	/* Without delay_reject each list refuses at its own stage. */
	c = conf("delay_reject = no\n"
	         "client_restrictions = check_client_access cidr:%D/clients.cidr\n"
	         "sender_restrictions = check_sender_access texthash:%D/senders.hash\n"
	         "recipient_restrictions = permit_mynetworks, permit\n");
	run_start(&r, c, "203.0.113.5", NULL);
	assert_true(policy_stage_may_refuse(r.cfg, STAGE_CONNECT));
	assert_false(policy_stage_may_refuse(r.cfg, STAGE_HELO));
	assert_true(policy_stage_may_refuse(r.cfg, STAGE_MAIL));
	/* A list of permits only never refuses. */
	assert_false(policy_stage_may_refuse(r.cfg, STAGE_RCPT));
	assert_true(refuses_at(&r, STAGE_CONNECT));
	run_end(&r);
	free(c);

	/* The error limit refuses at connect wherever it is listed;
	 * greylisting can defer a null sender at DATA. */
	c = conf("recipient_restrictions = check_client_error_limit, check_greylist\n");
	run_start(&r, c, "203.0.113.5", NULL);
	assert_true(policy_stage_may_refuse(r.cfg, STAGE_CONNECT));
	assert_false(policy_stage_may_refuse(r.cfg, STAGE_HELO));
	assert_false(policy_stage_may_refuse(r.cfg, STAGE_MAIL));
	assert_true(policy_stage_may_refuse(r.cfg, STAGE_RCPT));
	assert_true(policy_stage_may_refuse(r.cfg, STAGE_DATA));
	run_end(&r);
	free(c);

	/* Data restrictions. */
	c = conf("data_restrictions = reject\n");
	run_start(&r, c, "203.0.113.5", NULL);
	assert_true(policy_stage_may_refuse(r.cfg, STAGE_DATA));
	assert_true(refuses_at(&r, STAGE_DATA));
	run_end(&r);
	free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_delay_reject_rejects_at_rcpt),
	    cmocka_unit_test(test_no_delay_reject_rejects_at_connect),
	    cmocka_unit_test(test_permit_ends_only_its_list),
	    cmocka_unit_test(test_access_actions),
	    cmocka_unit_test(test_sender_lookup_keys),
	    cmocka_unit_test(test_warn_if_reject),
	    cmocka_unit_test(test_soft_bounce),
	    cmocka_unit_test(test_bypass),
	    cmocka_unit_test(test_permit_restrictions),
	    cmocka_unit_test(test_new_message_and_helo_reset),
	    cmocka_unit_test(test_lists_see_current_facts),
	    cmocka_unit_test(test_full_string_tables_get_full_address),
	    cmocka_unit_test(test_stage_may_refuse),
	};
	return cmocka_run_group_tests(tests, setup, testutil_dir_teardown);
}
