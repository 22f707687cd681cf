# shellcheck shell=bash disable=SC2016,SC2034,SC2153,SC2154
# tests/run-greylist-scenarios.sh: the greylisting and client error limit
# scenarios of the integration suite, sourced by tests/run-integration
# after lib.sh, dns.sh and run-spf-scenarios.sh (whose spf_rows_match it
# uses for the check rows).
#
#   greylist_scenarios  runs s60 ... s63, s66 ... s68 on one daemon (G),
#                       s65 (GA), s69 (E), then starts the DNS servers
#                       (dns_start) for s64 (GS) and stops them
#   greylist_valgrind   s60, s61, s62 (GV) and s69 (EV) with the daemon
#                       under valgrind (no DNS needed)
#
#   s60_first       the first attempt: 450 4.7.1 at RCPT, the reply text
#                   on the wire, a pending greylist row, attempts 1
#   s61_early       a retry before greylist_delay: deferred, attempts 2
#   s62_passed      a retry after the delay: accepted, X-Greylist inserted
#                   at the top ("delayed N seconds by postern at HOST;
#                   DATE", N >= the delay), the row passed
#   s63_known       the same sender and recipient from another address of
#                   the /24 passes (and with BATV, VERP and SRS tags and
#                   upper case); from another /24 it is a new triplet
#   s64_spf         SPF pass keys on the sender domain (GS): a retry from
#                   another network passes, another sender of the domain
#                   is "known domain"; SPF none keys on the network; the
#                   X-Greylist insertion comes before Authentication-
#                   Results'; a DNSWL-listed client is not greylisted
#   s65_auto_allow  greylist_auto_allow = 3 (GA): deliveries counted at
#                   most one an hour (the rows are aged, not slept
#                   through), then a brand-new triplet passes as allowed
#   s66_fail_open   another process holds the database's write lock
#                   longer than greylist_db_timeout: accepted, a TEMP row
#                   that says "fail open"
#   s67_allow       greylist_allow_recipients (default postmaster@,
#                   abuse@), greylist_allow_clients (address, network,
#                   name, .suffix, /regexp/), an internal client: skipped
#   s68_null_sender MAIL FROM:<> with two recipients: both accepted at
#                   RCPT, the message deferred at DATA; the retry passes
#   s69_errlimit    check_client_error_limit (E): rejections counted over
#                   connections, error_sleep_time on each, the ban after
#                   client_error_limit + 1 (421 4.7.0 at connect), its end
#                   after client_ban_time, posternctl bans lift;
#                   greylist deferrals are not errors and do not sleep
#
# Fixtures: tests/fixtures/greylist.conf (greylist_delay = 3s: the
# scenarios really wait for it, once per triplet that must pass),
# tests/fixtures/errlimit.conf, recipients.hash; tests/milter/greylist.lua.
# Clients (documentation ranges): 192.0.2.0/24 and 198.51.100.0/24 are
# greylisted networks; 203.0.113.77, 203.0.113.128/25 and the names
# relay.example.test, *.allowed.example.test and /^good[0-9]*\.example\.test$/
# are in greylist_allow_clients. SPF (s64): ten.spf.test permits
# 192.0.2.101 ... .109 (a:w1 ... a:w9) and 198.51.100.101 (_spf.inc),
# two /24s; nospf.spf.test has no SPF record. wl.test lists 203.0.113.12.

GL_DELAY=3                 # greylist_delay of the fixtures
GL_HOST=mx.postern.test    # their myhostname
# The triplet of s60 ... s63.
GL_T1_ADDR=192.0.2.10
GL_T1_NET=192.0.2.0/24
GL_T1_FROM=alice@example.test
GL_T1_RCPT=bob@example.test
# The null sender of s68.
GL_NS_ADDR=198.51.100.88
GL_NS_NET=198.51.100.0/24
GL_NS_RCPTS=bob@example.test,carol@example.test
GL_POSTERNCTL=${POSTERNCTL:-$(dirname "$POSTERN")/posternctl}

# ---- Helpers ------------------------------------------------------------------

# q_gl_rows TAG [NAME] [SQL CONDITION]: "stage|result|action|detail" of
# the check rows called NAME (default check_greylist) of a session.
q_gl_rows() {
	echo "select stage, result, action, coalesce(detail, '') from checks
	      where conn_id in $(q_conn_id "$1") and name = '${2:-check_greylist}'
	      ${3:+and ($3)} order by id"
}

# expect_gl_rows DESC INST EXPECTED [NAME] [SQL CONDITION]: the check
# rows of the last session, polled until they match (5 s). EXPECTED is
# one line per row, "stage|result|action|DETAIL-PREFIX|TOKENS" as for
# spf_rows_match (a token "~ERE" matches the detail; no spaces in it).
expect_gl_rows() {
	local desc=$1 inst=$2 expected=$3 name=${4:-check_greylist} cond=${5:-}
	if poll_sql "$inst" "$(q_gl_rows "$TAG" "$name" "$cond")" spf_rows_match "$expected"; then
		report_ok "$desc"
	else
		report_fail "$desc" "$name rows expected (stage|result|action|detail prefix|tokens):" \
			"$(indent "$expected")" "found rows:" "$(indent "$POLLED")"
	fi
}

# q_triplet CLIENT SENDER RCPT: "pending|ATTEMPTS" or "passed|ATTEMPTS".
q_triplet() {
	echo "select case when passed is null then 'pending' else 'passed' end, attempts
	      from greylist where client = '$1' and sender = '$2' and rcpt = '$3'"
}

# q_gl_client CLIENT: "deliveries|allowed is null|allowed_by" of a client row.
q_gl_client() {
	echo "select deliveries, allowed is null, coalesce(allowed_by, '')
	      from greylist_clients where client = '$1'"
}

# Predicate for poll_sql: the rows match the ERE.
gl_re() { [[ $1 =~ $2 ]]; }

# gl_session INST [VAR=VALUE...]: one greylist.lua session; its queue id
# is left in GL_QID.
gl_session() {
	local inst=$1
	shift
	GL_QID="gl$((TAG_SEQ + 1))"
	mt_session "$inst" greylist.lua MT_QID="$GL_QID" "$@"
}

# gl_deferred INST DESC ADDR FROM RCPT WAIT [VAR=VALUE...]: a session from
# ADDR (MAIL FROM FROM, brackets included; one recipient RCPT) deferred
# at RCPT with the greylist reply; WAIT is the "try again in" number, or
# an ERE for it. The messages row is checked.
gl_deferred() {
	local inst=$1 desc=$2 addr=$3 from=$4 rcpt=$5 wait=$6 sender re
	shift 6
	sender=${from#<}
	sender=${sender%>}
	gl_session "$inst" MT_CLIENT_ADDR="$addr" MT_CLIENT_NAME="[$addr]" MT_FROM="$from" \
		MT_RCPTS="$rcpt" "$@"
	expect_eq "$desc: deferred at RCPT" \
		"connect continue
helo continue
mail continue
rcpt $rcpt replycode
abort" "$OUT"
	re="^defer\|450 4\.7\.1 <${rcpt//./\\.}>: Recipient address rejected: Greylisted, please try again in ($wait) seconds\|rcpt\|\|${rcpt//./\\.}\|${sender//./\\.}\|$GL_QID\$"
	if poll_sql "$inst" "$(q_msg_rows "$TAG")" gl_re "$re"; then
		report_ok "$desc: messages row (defer, 450 4.7.1 ... try again in $(sed -E 's/.*again in ([0-9]+) .*/\1/' <<<"$POLLED") seconds)"
	else
		report_fail "$desc: messages row" "expected a row matching: $re" "found: $POLLED"
	fi
}

# gl_accepted INST DESC [VAR=VALUE...]: a session that must be accepted
# at EOM (the xg- lines aside).
gl_accepted() {
	local inst=$1 desc=$2 rcpts=bob@example.test v
	local -a rl
	shift 2
	for v in "$@"; do
		[[ $v == MT_RCPTS=* ]] && rcpts=${v#MT_RCPTS=}
	done
	gl_session "$inst" "$@"
	IFS=, read -ra rl <<<"$rcpts"
	expect_eq "$desc: accepted" "$(transcript_accept "${rl[@]}")" "$(grep -v '^xg-' <<<"$OUT")"
}

# gl_no_header DESC: the last greylist.lua session got no X-Greylist.
gl_no_header() {
	expect_eq "$1: no X-Greylist header" "xg-count 0" "$(grep '^xg-count' <<<"$OUT")"
}

# gl_header_value DESC VALUE: an X-Greylist value is "delayed N seconds
# by postern at HOST; DATE" with N >= greylist_delay and DATE an RFC 5322
# date within a minute of now. Leaves N in GL_N.
gl_header_value() {
	local desc=$1 v=$2 date t now
	local re="^delayed ([0-9]+) seconds by postern at ${GL_HOST//./\\.}; ((Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4})( \([^()]*\))?\$"
	GL_N=""
	if [[ ! $v =~ $re ]]; then
		report_fail "$desc: X-Greylist: delayed N seconds by postern at $GL_HOST; DATE" \
			"found: '$v'"
		return
	fi
	GL_N=${BASH_REMATCH[1]}
	date=${BASH_REMATCH[2]}
	report_ok "$desc: X-Greylist: delayed N seconds by postern at $GL_HOST; DATE ($v)"
	if ((GL_N >= GL_DELAY)); then
		report_ok "$desc: X-Greylist: N ($GL_N) >= greylist_delay ($GL_DELAY)"
	else
		report_fail "$desc: X-Greylist: N >= greylist_delay ($GL_DELAY)" "N = $GL_N"
	fi
	t=$(date -d "$date" +%s 2>/dev/null)
	now=$(date +%s)
	if [[ -n $t ]] && ((t <= now + 60 && t >= now - 60)); then
		report_ok "$desc: X-Greylist: the date is now"
	else
		report_fail "$desc: X-Greylist: the date is now" "date '$date' ($t), now $now"
	fi
}

# gl_header DESC: the last greylist.lua session got one X-Greylist,
# inserted at index 0, with a good value (gl_header_value; GL_N).
gl_header() {
	local desc=$1
	GL_N=""
	expect_eq "$desc: one X-Greylist header" "xg-count 1" "$(grep '^xg-count' <<<"$OUT")"
	expect_eq "$desc: X-Greylist inserted at index 0 (the top)" "xg-insert-0 yes" \
		"$(grep '^xg-insert-0' <<<"$OUT")"
	gl_header_value "$desc" "$(sed -n 's/^xg-value //p' <<<"$OUT")"
}

# gl_wait_delay INST CLIENT SENDER RCPT: sleep until greylist_delay has
# passed since the triplet's first_seen (whole seconds, as the daemon
# counts them).
gl_wait_delay() {
	local first t0
	first=$(sql "$1" "select first_seen from greylist where client = '$2' and sender = '$3' and rcpt = '$4'")
	[[ $first =~ ^[0-9]+$ ]] || {
		echo "# gl_wait_delay: no first_seen for ($2, $3, $4): '$first'"
		first=$(date +%s)
	}
	t0=$(now_ms)
	while (($(date +%s) < first + GL_DELAY)); do
		sleep 0.1
	done
	echo "# waited $(($(now_ms) - t0)) ms for the greylist delay of ($2, <$3>, <$4>)"
}

# gl_passed_checks DESC INST CLIENT SENDER RCPT: after the retry that
# passed: its check row "passed: delayed N s" with N the header's GL_N,
# the triplet passed, and passed - first_seen = N.
gl_passed_checks() {
	local desc=$1 inst=$2 client=$3 sender=$4 rcpt=$5
	expect_gl_rows "$desc: check row: pass, dunno, 'passed: delayed ${GL_N:-N} s'" "$inst" \
		"rcpt|pass|dunno|passed: delayed |~^passed:.delayed.${GL_N:-[0-9]+}[[:space:]]?s"
	expect_sql "$desc: greylist row: passed is set, attempts counted" "$inst" \
		"$(q_triplet "$client" "$sender" "$rcpt")" "passed|$GL_ATTEMPTS"
	if [[ -n ${GL_N:-} ]]; then
		expect_sql "$desc: greylist row: passed - first_seen = the header's N" "$inst" \
			"select passed - first_seen from greylist where client = '$client'
			 and sender = '$sender' and rcpt = '$rcpt'" "$GL_N"
	fi
}

# ---- Scenario 60: the first attempt ---------------------------------------------

s60_first() {
	local i=$1 p="s60 $1"
	need "$i" || return
	gl_deferred "$i" "$p: first attempt" $GL_T1_ADDR "<$GL_T1_FROM>" $GL_T1_RCPT $GL_DELAY
	expect_gl_rows "$p: check row: rcpt, fail, defer, 'new: '" "$i" "rcpt|fail|defer|new: |"
	expect_sql "$p: greylist row ($GL_T1_NET, $GL_T1_FROM, $GL_T1_RCPT): pending, 1 attempt" "$i" \
		"$(q_triplet $GL_T1_NET $GL_T1_FROM $GL_T1_RCPT)" "pending|1"
	expect_sql "$p: greylist row: first_seen = last_seen = now" "$i" \
		"select first_seen = last_seen, abs(first_seen - cast(strftime('%s', 'now') as integer)) <= 5
		 from greylist where client = '$GL_T1_NET' and sender = '$GL_T1_FROM'
		 and rcpt = '$GL_T1_RCPT'" "1|1"
	# The reply text on the wire (miltertest does not show it); a triplet
	# of its own.
	raw_session "$i" conn "[192.0.2.11]" 192.0.2.11 4000 helo mx11.example.test \
		mail '<alice@example.test>' rcpt '<carol@example.test>' abort quit
	expect_eq "$p: the reply on the wire" "conn continue
helo continue
mail continue
rcpt replycode 450 4.7.1 <carol@example.test>: Recipient address rejected: Greylisted, please try again in $GL_DELAY seconds
abort
quit" "$OUT"
}

# ---- Scenario 61: a retry before the delay ---------------------------------------

s61_early() {
	local i=$1 p="s61 $1"
	need "$i" || return
	gl_deferred "$i" "$p: retry before greylist_delay" $GL_T1_ADDR "<$GL_T1_FROM>" $GL_T1_RCPT \
		"[1-$GL_DELAY]"
	expect_gl_rows "$p: check row: rcpt, fail, defer, 'early: '" "$i" "rcpt|fail|defer|early: |"
	expect_sql "$p: greylist row: still pending, 2 attempts" "$i" \
		"$(q_triplet $GL_T1_NET $GL_T1_FROM $GL_T1_RCPT)" "pending|2"
}

# ---- Scenario 62: the retry after the delay -------------------------------------

s62_passed() {
	local i=$1 p="s62 $1"
	need "$i" || return
	gl_wait_delay "$i" $GL_T1_NET $GL_T1_FROM $GL_T1_RCPT
	gl_accepted "$i" "$p: retry after greylist_delay" MT_CLIENT_ADDR=$GL_T1_ADDR \
		MT_CLIENT_NAME="[$GL_T1_ADDR]" MT_FROM="<$GL_T1_FROM>" MT_RCPTS=$GL_T1_RCPT
	gl_header "$p"
	GL_ATTEMPTS=3 gl_passed_checks "$p" "$i" $GL_T1_NET $GL_T1_FROM $GL_T1_RCPT
	expect_sql "$p: messages row: accept at EOM" "$i" "$(q_msg_rows "$TAG")" \
		"accept||eom|$GL_T1_RCPT||$GL_T1_FROM|$GL_QID"
}

# ---- Scenario 63: a known triplet ---------------------------------------------------

s63_known() {
	local i=$1 p="s63 $1"
	need "$i" || return
	gl_accepted "$i" "$p: the same sender and recipient from 192.0.2.99 (same /24)" \
		MT_CLIENT_ADDR=192.0.2.99 MT_CLIENT_NAME="[192.0.2.99]" \
		MT_FROM="<$GL_T1_FROM>" MT_RCPTS=$GL_T1_RCPT
	expect_gl_rows "$p: check row: pass, dunno, 'known: '" "$i" "rcpt|pass|dunno|known: |"
	gl_no_header "$p: known triplet"
	expect_sql "$p: no new greylist row: the triplet is keyed by the /24" "$i" \
		"select client, case when passed is null then 'pending' else 'passed' end from greylist
		 where sender = '$GL_T1_FROM' and rcpt = '$GL_T1_RCPT' and client like '192.0.2.%'" \
		"$GL_T1_NET|passed"
	# The sender as postgrey normalises it: lower case, BATV, SRS and VERP
	# tags stripped; the recipient in lower case.
	local s
	for s in "prvs=1234abcd=Alice@Example.TEST" "Alice+news@example.test" \
		"SRS0=HHH=TT=example.test=alice@forwarder.example.net" "btv1==077abcdef12==alice@example.test"; do
		gl_accepted "$i" "$p: sender <$s>, recipient <Bob@Example.Test>" \
			MT_CLIENT_ADDR=192.0.2.98 MT_CLIENT_NAME="[192.0.2.98]" \
			MT_FROM="<$s>" MT_RCPTS=Bob@Example.Test
		expect_gl_rows "$p: <$s>: the same triplet, known" "$i" "rcpt|pass|dunno|known: |"
	done
	# Another /24: a new triplet.
	gl_deferred "$i" "$p: the same sender and recipient from 198.51.100.99 (another /24)" \
		198.51.100.99 "<$GL_T1_FROM>" $GL_T1_RCPT $GL_DELAY
	expect_gl_rows "$p: another /24: 'new: '" "$i" "rcpt|fail|defer|new: |"
	expect_sql "$p: another /24: a greylist row of its own" "$i" \
		"$(q_triplet 198.51.100.0/24 $GL_T1_FROM $GL_T1_RCPT)" "pending|1"
}

# ---- Scenario 64: SPF pass keys on the domain ------------------------------------

s64_spf() {
	local i=GS p="s64 GS" ins n_xg n_ar v
	new_instance $i greylist.conf "dns_servers = 127.0.0.1:5353" "dns_timeout = 2s" \
		"sender_restrictions = check_spf" "client_restrictions = permit_dnswl_client wl.test"
	start_daemon $i || return

	# ten.spf.test permits 192.0.2.101 (a:w1.spf.test).
	gl_deferred $i "$p: SPF pass (ten.spf.test, from 192.0.2.101): first attempt" \
		192.0.2.101 "<alice@ten.spf.test>" bob@example.test $GL_DELAY MT_HELO=mta.spf.test
	expect_gl_rows "$p: the check_spf row says pass" $i \
		"rcpt|pass|dunno|mailfrom alice@ten.spf.test: spf=pass|" check_spf
	expect_gl_rows "$p: check row: 'new: '" $i "rcpt|fail|defer|new: |"
	expect_sql "$p: the greylist row's client is the SPF domain" $i \
		"select client, attempts, passed is null from greylist where sender = 'alice@ten.spf.test'" \
		"ten.spf.test|1|1"
	gl_deferred $i "$p: SPF none (nospf.spf.test, from 192.0.2.101): first attempt" \
		192.0.2.101 "<alice@nospf.spf.test>" bob@example.test $GL_DELAY MT_HELO=mta.spf.test
	expect_sql "$p: SPF none: the greylist row's client is the network" $i \
		"select client from greylist where sender = 'alice@nospf.spf.test'" "192.0.2.0/24"

	# The retry from another network the domain permits (a pool):
	# 198.51.100.101 (include:_spf.inc.spf.test). With rawmilter, to see
	# the order of the header changes on the wire.
	gl_wait_delay $i ten.spf.test alice@ten.spf.test bob@example.test
	raw_session $i conn "[198.51.100.101]" 198.51.100.101 4000 helo mta.spf.test \
		macro M i "gl$TAG_SEQ-raw" mail '<alice@ten.spf.test>' rcpt '<bob@example.test>' data \
		header From '<alice@ten.spf.test>' eoh body "Hello." eom quit
	expect_eq "$p: the retry from 198.51.100.101 (another /24) passes" "conn continue
helo continue
mail continue
rcpt continue
data continue
header continue
eoh continue
body continue
eom continue
quit" "$(without_changes "$OUT")"
	ins=$(grep '^eom-change ' <<<"$OUT" | sed -E 's/^eom-change (.) \|\|\|\|([^|]*)\|.*/\1 |0|\2/')
	n_xg=$(grep -n -x 'i |0|X-Greylist' <<<"$ins" | cut -d: -f1)
	n_ar=$(grep -n -x 'i |0|Authentication-Results' <<<"$ins" | cut -d: -f1)
	if [[ $n_xg =~ ^[0-9]+$ && $n_ar =~ ^[0-9]+$ ]] && ((n_xg < n_ar)); then
		report_ok "$p: on the wire: X-Greylist inserted at 0 before Authentication-Results is inserted at 0"
	else
		report_fail "$p: on the wire: X-Greylist inserted at 0 before Authentication-Results is inserted at 0" \
			"header changes:" "$(indent "$ins")"
	fi
	v=$(grep '^eom-change i ||||X-Greylist|' <<<"$OUT" | head -n 1 | sed -E 's/^eom-change i \|\|\|\|X-Greylist\|//; s/\|$//')
	gl_header_value "$p: the pool retry" "$v"
	GL_ATTEMPTS=2 gl_passed_checks "$p: the pool retry" $i ten.spf.test alice@ten.spf.test bob@example.test
	expect_sql "$p: no greylist row for the network of the retry" $i \
		"select count(*) from greylist where client = '198.51.100.0/24'" "0"
	expect_sql "$p: greylist_clients row for ten.spf.test: one delivery" $i \
		"$(q_gl_client ten.spf.test)" "1|1|"

	# Another sender and recipient of the domain, from a third address
	# (192.0.2.102, a:w2) and from 198.51.100.101: known domain.
	gl_accepted $i "$p: another sender of ten.spf.test from 192.0.2.102" \
		MT_CLIENT_ADDR=192.0.2.102 MT_CLIENT_NAME="[192.0.2.102]" MT_HELO=mta.spf.test \
		MT_FROM="<carol@ten.spf.test>" MT_RCPTS=dave@example.test
	expect_gl_rows "$p: 192.0.2.102: check row 'known domain: '" $i "rcpt|pass|dunno|known domain: |"
	gl_no_header "$p: known domain"
	# The domain in another case is the same key.
	gl_accepted $i "$p: a sender of TEN.SPF.Test (upper case) from 192.0.2.102" \
		MT_CLIENT_ADDR=192.0.2.102 MT_CLIENT_NAME="[192.0.2.102]" MT_HELO=mta.spf.test \
		MT_FROM="<erin@TEN.SPF.Test>" MT_RCPTS=frank@example.test
	expect_gl_rows "$p: TEN.SPF.Test: check row 'known domain: ten.spf.test'" $i \
		"rcpt|pass|dunno|known domain: ten.spf.test|"
	gl_accepted $i "$p: another sender of ten.spf.test from 198.51.100.101" \
		MT_CLIENT_ADDR=198.51.100.101 MT_CLIENT_NAME="[198.51.100.101]" MT_HELO=mta.spf.test \
		MT_FROM="<erin@ten.spf.test>" MT_RCPTS=frank@example.test
	expect_gl_rows "$p: 198.51.100.101: check row 'known domain: '" $i "rcpt|pass|dunno|known domain: |"

	# A DNS allow-listed client (wl.test lists 203.0.113.12).
	gl_accepted $i "$p: a client listed by permit_dnswl_client wl.test" \
		MT_CLIENT_ADDR=203.0.113.12 MT_CLIENT_NAME=wl12.example.test MT_HELO=wl12.example.test \
		MT_FROM="<wl@example.test>" MT_RCPTS=bob@example.test
	expect_gl_rows "$p: DNSWL: check row skip, dunno, names the list" $i "rcpt|skip|dunno||~wl\.test"
	expect_sql "$p: DNSWL: no greylist row" $i \
		"select count(*) from greylist where sender = 'wl@example.test'" "0"
	stop_and_check $i
}

# ---- Scenario 65: auto-allow after N deliveries -----------------------------------

# gl_age INST CLIENT: move the client's last_counted back one hour, as if
# an hour had passed since its last counted delivery. The rule is "one
# delivery counted per hour": the scenario ages the row instead of
# sleeping through hours.
gl_age() {
	local out
	out=$(sql "$1" "update greylist_clients set last_counted = last_counted - 3600
	                where client = '$2'; select changes();")
	CUR_INST=$1
	expect_eq "$p: age last_counted of $2 by 3600 s" "1" "$out"
}

s65_auto_allow() {
	local i=GA p="s65 GA" net=192.0.2.0/24 k
	local -a T=(MT_CLIENT_ADDR=192.0.2.20 MT_CLIENT_NAME="[192.0.2.20]"
		MT_FROM="<carol@example.test>" MT_RCPTS=dave@example.test)
	new_instance $i greylist.conf "greylist_auto_allow = 3"
	start_daemon $i || return

	gl_deferred $i "$p: first attempt from 192.0.2.20" 192.0.2.20 "<carol@example.test>" \
		dave@example.test $GL_DELAY
	gl_wait_delay $i $net carol@example.test dave@example.test
	gl_accepted $i "$p: delivery 1 (the retry passes)" "${T[@]}"
	expect_gl_rows "$p: delivery 1: 'passed: '" $i "rcpt|pass|dunno|passed: |"
	expect_sql "$p: delivery 1: counted (deliveries 1, not allowed)" $i "$(q_gl_client $net)" "1|1|"
	gl_accepted $i "$p: again within the hour" "${T[@]}"
	expect_gl_rows "$p: again within the hour: 'known: '" $i "rcpt|pass|dunno|known: |"
	expect_sql "$p: again within the hour: not counted (deliveries still 1)" $i \
		"$(q_gl_client $net)" "1|1|"
	gl_deferred $i "$p: a new triplet from the network (2 deliveries short): still greylisted" \
		192.0.2.21 "<erin@example.test>" frank@example.test $GL_DELAY
	for k in 2 3; do
		gl_age $i $net
		gl_accepted $i "$p: delivery $k (an hour later)" "${T[@]}"
		expect_gl_rows "$p: delivery $k: 'known: '" $i "rcpt|pass|dunno|known: |"
	done
	expect_sql "$p: after 3 counted deliveries: allowed by auto" $i "$(q_gl_client $net)" "3|0|auto"
	gl_accepted $i "$p: a brand-new triplet from the network (192.0.2.22) passes" \
		MT_CLIENT_ADDR=192.0.2.22 MT_CLIENT_NAME="[192.0.2.22]" \
		MT_FROM="<grace@example.test>" MT_RCPTS=heidi@example.test
	expect_gl_rows "$p: brand-new triplet: 'allowed: ... auto'" $i "rcpt|pass|dunno|allowed: |~auto"
	gl_no_header "$p: allowed client"
	stop_and_check $i
}

# ---- Scenario 66: the database does not answer: fail open ------------------------

s66_fail_open() {
	local i=$1 p="s66 $1" db=$WORK/$1/db/postern.db mark=$WORK/$1/locked lockpid t0 ms rc deadline
	need "$i" || return
	rm -f "$mark"
	# Another process takes the write lock for 2.5 s (greylist_db_timeout
	# is 1 s); in WAL mode reads go on, the greylist's write cannot.
	"$PYTHON" -c '
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
c.execute("BEGIN EXCLUSIVE")
open(sys.argv[2], "w").close()
time.sleep(float(sys.argv[3]))
c.execute("ROLLBACK")
c.close()
' "$db" "$mark" 2.5 2>"$WORK/$i/locker.stderr" &
	lockpid=$!
	deadline=$(($(now_ms) + 10000))
	while [[ ! -e $mark ]] && alive $lockpid && (($(now_ms) < deadline)); do
		sleep 0.02
	done
	CUR_INST=$i
	CUR_TAG=""
	if [[ ! -e $mark ]]; then
		report_fail "$p: another process holds the database's write lock" \
			"$(cat "$WORK/$i/locker.stderr")"
		kill $lockpid 2>/dev/null
		wait $lockpid 2>/dev/null
		return
	fi
	t0=$(now_ms)
	gl_accepted "$i" "$p: a new triplet while the database is locked" \
		MT_CLIENT_ADDR=203.0.113.66 MT_CLIENT_NAME="[203.0.113.66]" \
		MT_FROM="<lock@example.test>" MT_RCPTS=bob@example.test
	ms=$(($(now_ms) - t0))
	echo "# $p: the session took $ms ms (lock held 2500 ms, greylist_db_timeout 1 s)"
	if ((ms < 2300)); then
		report_ok "$p: the RCPT did not wait for the lock to go ($ms ms)"
	else
		report_fail "$p: the RCPT did not wait for the lock to go" "the session took $ms ms"
	fi
	wait $lockpid
	rc=$?
	CUR_INST=$i
	expect_eq "$p: the locking process held the lock and let it go (exit 0)" 0 "$rc"
	expect_gl_rows "$p: check row (written once the lock is gone): temp, dunno, 'fail open'" "$i" \
		"rcpt|temp|dunno||~fail.open"
	expect_sql "$p: messages row: accept" "$i" "$(q_msg_rows "$TAG")" \
		"accept||eom|bob@example.test||lock@example.test|$GL_QID"
}

# ---- Scenario 67: allow lists ----------------------------------------------------------

s67_allow() {
	local i=$1 p="s67 $1" r c addr name
	need "$i" || return
	for r in postmaster@example.test abuse@example.test; do
		gl_accepted "$i" "$p: recipient $r (greylist_allow_recipients)" \
			MT_CLIENT_ADDR=192.0.2.30 MT_CLIENT_NAME="[192.0.2.30]" \
			MT_FROM="<stranger@example.net>" MT_RCPTS=$r
		expect_gl_rows "$p: $r: check row skip, dunno, names greylist_allow_recipients" "$i" \
			"rcpt|skip|dunno||greylist_allow_recipients"
		gl_no_header "$p: $r"
	done
	for c in "203.0.113.77 [203.0.113.77] address" "203.0.113.200 [203.0.113.200] network" \
		"198.51.100.30 relay.example.test name" "198.51.100.31 mx1.allowed.example.test .suffix" \
		"203.0.113.1 good.example.test /regexp/"; do
		read -r addr name what <<<"$c"
		gl_accepted "$i" "$p: client $name $addr (greylist_allow_clients: $what)" \
			MT_CLIENT_ADDR="$addr" MT_CLIENT_NAME="$name" MT_HELO=mx.example.test \
			MT_FROM="<stranger@example.net>" MT_RCPTS=bob@example.test
		expect_gl_rows "$p: $name: check row skip, dunno, names greylist_allow_clients" "$i" \
			"rcpt|skip|dunno||greylist_allow_clients"
	done
	expect_sql "$p: none of them made a greylist row" "$i" \
		"select count(*) from greylist where sender = 'stranger@example.net'" "0"
	# Names next to the allowed ones are greylisted.
	gl_deferred "$i" "$p: client notgood.example.test (no allow-list entry)" 203.0.113.2 \
		"<control@example.net>" bob@example.test $GL_DELAY MT_CLIENT_NAME=notgood.example.test
	expect_gl_rows "$p: notgood.example.test: 'new: '" "$i" "rcpt|fail|defer|new: |"
	gl_deferred "$i" "$p: client allowed.example.test (the .suffix is for names below it)" \
		198.51.100.32 "<control@example.net>" bob@example.test $GL_DELAY \
		MT_CLIENT_NAME=allowed.example.test
	# An internal client (127.0.0.0/8) bypasses the restrictions.
	gl_accepted "$i" "$p: internal client 127.0.0.5" MT_CLIENT_ADDR=127.0.0.5 \
		MT_CLIENT_NAME=internal.example.test MT_FROM="<internal@example.net>"
	expect_sql "$p: internal client: messages row accept" "$i" "$(q_msg_rows "$TAG")" \
		"accept||eom|bob@example.test||internal@example.net|$GL_QID"
	expect_sql "$p: internal client: no check_greylist row, no greylist row" "$i" \
		"select count(*) from checks where conn_id in $(q_conn_id "$TAG") and name = 'check_greylist';
		 select count(*) from greylist where sender = 'internal@example.net'" "0
0"
}

# ---- Scenario 68: the null sender is deferred at DATA ------------------------------

s68_null_first() {
	local i=$1 p="s68 $1"
	need "$i" || return
	gl_session "$i" MT_CLIENT_ADDR=$GL_NS_ADDR MT_CLIENT_NAME="[$GL_NS_ADDR]" MT_FROM="<>" \
		MT_RCPTS=$GL_NS_RCPTS
	expect_eq "$p: MAIL FROM:<>, two recipients: both accepted at RCPT, deferred at DATA" \
		"connect continue
helo continue
mail continue
rcpt bob@example.test continue
rcpt carol@example.test continue
data replycode" "$OUT"
	expect_sql "$p: two RCPT check rows: skip or pass, dunno, 'null sender: decided at DATA'" "$i" \
		"select count(*) from checks where conn_id in $(q_conn_id "$TAG")
		 and name = 'check_greylist' and stage = 'rcpt' and result in ('skip', 'pass')
		 and action = 'dunno' and detail like '%null sender: decided at DATA%';
		 select count(*) from checks where conn_id in $(q_conn_id "$TAG")
		 and name = 'check_greylist' and stage = 'rcpt'" "2
2"
	expect_gl_rows "$p: a DATA check row: fail, defer" "$i" "data|fail|defer||" check_greylist \
		"stage = 'data'"
	local re="^defer\|data\|450 4\.7\.1 .*Greylisted, please try again in [1-$GL_DELAY] seconds\$"
	if poll_sql "$i" "select action, stage, reply from messages where conn_id in $(q_conn_id "$TAG")" \
		gl_re "$re"; then
		report_ok "$p: messages row: defer at DATA, 450 4.7.1 ... Greylisted ($POLLED)"
	else
		report_fail "$p: messages row: defer at DATA, 450 4.7.1 ... Greylisted" \
			"expected: $re" "found: $POLLED"
	fi
	expect_sql "$p: greylist rows: one per recipient, sender '', pending, 1 attempt" "$i" \
		"select client, sender, rcpt, passed is null, attempts from greylist
		 where sender = '' order by rcpt" \
		"$GL_NS_NET||bob@example.test|1|1
$GL_NS_NET||carol@example.test|1|1"
}

s68_null_retry() {
	local i=$1 p="s68 $1"
	need "$i" || return
	gl_wait_delay "$i" $GL_NS_NET "" carol@example.test
	gl_accepted "$i" "$p: the null sender's retry after the delay" MT_CLIENT_ADDR=$GL_NS_ADDR \
		MT_CLIENT_NAME="[$GL_NS_ADDR]" MT_FROM="<>" MT_RCPTS=$GL_NS_RCPTS
	gl_header "$p: the null sender's retry"
	expect_gl_rows "$p: the retry: two RCPT rows 'passed: ', no DATA row" "$i" \
		"rcpt|pass|dunno|passed: |
rcpt|pass|dunno|passed: |"
	expect_sql "$p: both greylist rows passed" "$i" \
		"select rcpt, passed is not null, attempts from greylist where sender = '' order by rcpt" \
		"bob@example.test|1|2
carol@example.test|1|2"
}

# ---- Scenario 69: client error limit -----------------------------------------------------

# el_rejects INST ADDR N: one connection from ADDR with N recipients that
# are rejected (blocked@example.test); checks the replies and that each
# waited error_sleep_time (1 s).
el_rejects() {
	local inst=$1 addr=$2 n=$3 k t0 ms want
	local -a cmds=(conn "mx.example.test" "$addr" 4000 helo mx.example.test mail '<alice@example.test>')
	want=$'conn continue\nhelo continue\nmail continue'
	for ((k = 0; k < n; k++)); do
		cmds+=(rcpt '<blocked@example.test>')
		want+=$'\nrcpt replycode 554 5.7.1 <blocked@example.test>: Recipient address rejected: no such user'
	done
	want+=$'\nabort\nquit'
	t0=$(now_ms)
	raw_session "$inst" "${cmds[@]}" abort quit
	ms=$(($(now_ms) - t0))
	expect_eq "$p: $addr: $n rejected recipient(s) in one connection" "$want" "$OUT"
	if ((ms >= n * 1000 - 100)); then
		report_ok "$p: $addr: each reject reply waited error_sleep_time (1 s): $ms ms for $n"
	else
		report_fail "$p: $addr: each reject reply waited error_sleep_time (1 s)" \
			"$ms ms for $n rejections"
	fi
}

# el_connect INST ADDR: a connection from ADDR that only connects.
el_connect() {
	raw_session "$1" conn "mx.example.test" "$2" 4000 quit
}

# el_connect_ok DESC INST ADDR: a connection from ADDR is accepted at
# connect, with a check_client_error_limit row pass, dunno.
el_connect_ok() {
	el_connect "$2" "$3"
	expect_eq "$1: connect accepted" $'conn continue\nquit' "$OUT"
	expect_gl_rows "$1: check row: connect, pass, dunno" "$2" "connect|pass|dunno||" \
		check_client_error_limit "stage = 'connect'"
}

# el_connect_banned DESC INST ADDR: refused at connect with 421 4.7.0.
el_connect_banned() {
	el_connect "$2" "$3"
	expect_match "$1: connect refused with 421 4.7.0" '^conn replycode 421 4\.7\.0 ' "$OUT"
	expect_gl_rows "$1: check row: connect, fail, defer" "$2" "connect|fail|defer||" \
		check_client_error_limit "stage = 'connect'"
}

s69_errlimit() {
	local i=$1 mode=${2:-} p="s69 $1" a=203.0.113.66 until k banned t0 ms out rc
	new_instance "$i" errlimit.conf ${mode:+"shutdown_timeout = 30s"}
	start_daemon "$i" ${mode:+"$mode"} || return

	# Greylist deferrals are not errors and do not sleep: five of them,
	# then the client still connects.
	t0=$(now_ms)
	raw_session "$i" conn "mx.example.test" 203.0.113.70 4000 helo mx.example.test \
		mail '<alice@example.test>' rcpt '<r1@example.test>' rcpt '<r2@example.test>' \
		rcpt '<r3@example.test>' rcpt '<r4@example.test>' rcpt '<r5@example.test>' abort quit
	ms=$(($(now_ms) - t0))
	expect_eq "$p: 203.0.113.70: five greylisted recipients" 5 \
		"$(grep -c '^rcpt replycode 450 4\.7\.1 .*Greylisted' <<<"$OUT")"
	if [[ -n $mode ]] || ((ms < 1000)); then
		report_ok "$p: 203.0.113.70: greylist deferrals do not wait error_sleep_time ($ms ms)"
	else
		report_fail "$p: 203.0.113.70: greylist deferrals do not wait error_sleep_time" \
			"the session took $ms ms"
	fi
	el_connect_ok "$p: 203.0.113.70 after five greylist deferrals" "$i" 203.0.113.70

	# client_error_limit = 3: rejections over several connections; the
	# fourth bans.
	el_connect_ok "$p: $a before any error" "$i" $a
	el_rejects "$i" $a 2
	el_rejects "$i" $a 1
	expect_sql "$p: $a: 3 errors (the limit): no ban yet" "$i" \
		"select count(*) from client_bans where addr = '$a'" "0"
	el_connect_ok "$p: $a with 3 errors (the limit, not over it)" "$i" $a
	el_rejects "$i" $a 1
	expect_sql "$p: $a: the fourth rejection bans: client_bans row (ban_time 3 s, 4 errors)" "$i" \
		"select until - since, errors, until > cast(strftime('%s', 'now') as integer) from client_bans where addr = '$a'" \
		"3|4|1"
	# The spec names no stage for the ban's row.
	expect_sql "$p: $a: the ban's check row: fail, none, 'ban: '" "$i" \
		"select result, action, substr(detail, 1, 5) from checks
		 where conn_id in $(q_conn_id "$TAG") and name = 'check_client_error_limit'
		 and detail like 'ban: %'" "fail|none|ban: "
	el_connect_banned "$p: $a banned" "$i" $a
	el_connect_ok "$p: another address (203.0.113.67) is not banned" "$i" 203.0.113.67

	# The ban ends after client_ban_time.
	until=$(sql "$i" "select until from client_bans where addr = '$a'")
	if [[ $until =~ ^[0-9]+$ ]]; then
		while (($(date +%s) < until)); do
			sleep 0.1
		done
		el_connect_ok "$p: $a after client_ban_time (3 s)" "$i" $a
	else
		CUR_INST=$i
		report_fail "$p: $a: the ban's end (until)" "found: '$until'"
	fi

	# Banned again, then lifted by posternctl.
	banned=""
	for ((k = 1; k <= 6; k++)); do
		el_connect "$i" $a
		if [[ $OUT == "conn replycode 421 4.7.0 "* ]]; then
			banned=$k
			break
		fi
		raw_session "$i" conn "mx.example.test" $a 4000 helo mx.example.test \
			mail '<alice@example.test>' rcpt '<blocked@example.test>' abort quit
	done
	CUR_INST=$i
	if [[ -n $banned ]]; then
		report_ok "$p: $a: more rejections ban it again ($((banned - 1)) more)"
	else
		report_fail "$p: $a: more rejections ban it again" "6 connections, none refused: $OUT"
	fi
	out=$("$GL_POSTERNCTL" -c "$WORK/$i/postern.conf" bans lift $a 2>&1)
	rc=$?
	expect_eq "$p: posternctl bans lift $a: exit 0" 0 "$rc"
	[[ $rc == 0 ]] || printf '%s\n' "$out" | diag
	expect_sql "$p: posternctl bans lift $a: the client_bans row is gone" "$i" \
		"select count(*) from client_bans where addr = '$a'" "0"
	el_connect_ok "$p: $a after posternctl bans lift" "$i" $a
	stop_and_check "$i" ${mode:+60}
}

# ---- All of them --------------------------------------------------------------------

greylist_scenarios() {
	new_instance G greylist.conf
	if start_daemon G; then
		s60_first G
		s61_early G
		s67_allow G
		s68_null_first G
		s62_passed G
		s63_known G
		s68_null_retry G
		s66_fail_open G
		stop_and_check G
	fi
	s65_auto_allow
	s69_errlimit E
	if dns_start; then
		s64_spf
		dns_stop
	fi
	greylist_logs_clean
}

# Under valgrind (valgrind_run makes $WORK/vg and reads it).
greylist_valgrind() {
	new_instance GV greylist.conf "shutdown_timeout = 30s"
	if start_daemon GV valgrind; then
		s60_first GV
		s61_early GV
		s62_passed GV
		stop_and_check GV 60
	fi
	s69_errlimit EV valgrind
}

# No daemon of these scenarios crashed, restarted its filter process or
# printed a sanitizer report.
greylist_logs_clean() {
	local f bad=""
	CUR_INST=""
	CUR_TAG=""
	for f in "$WORK"/G*/log "$WORK"/E*/log; do
		[[ -f $f ]] || continue
		bad+=$(grep -H -E 'died on signal|exited with status|ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer' "$f" | head -n 3)
	done
	expect_eq "greylist: no crash, filter restart or sanitizer report in the daemons' logs" "" "$bad"
}
