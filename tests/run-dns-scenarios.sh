# shellcheck shell=bash disable=SC2016,SC2034,SC2153,SC2154
# tests/run-dns-scenarios.sh: the DNS scenarios of the integration suite
# (issue 3), sourced by tests/run-integration after lib.sh and dns.sh.
#
#   dns_scenarios   runs them all: starts the DNS servers (dns_start), then
#                   s20 ... s27, then stops the servers.
#
#   s20_resolver    tests/dnsq against NSD and the fault responder: every
#                   fault case, CNAME chains, TCP fallback, parallel batches
#   s21_fcrdns      reject_unknown_reverse_client_hostname,
#                   reject_unknown_client_hostname; connections.ptr_name/iprev
#   s22_dnsbl       reject_rbl_client, permit_dnswl_client, reject_rhsbl_client,
#                   reject_rhsbl_reverse_client, list errors, TEMP lists
#                   (dnsbl_temp_action), reject_dnsbl_score
#   s23_helo        the HELO checks, reject_helo_is_us, bad HELO input
#   s24_mail        sender and recipient checks, multi-recipient bounces
#   s25_delay_warn  delay_reject = yes; warn_if_reject
#   s26_authres     the Authentication-Results header, forged ones removed
#   s27_faults      the daemon over the fault responder: timeouts, slow and
#                   malformed answers, garbage list answers, the cache
#
# Zones: tests/fixtures/dns/*.zone (each starts with a table of its names).
# Client addresses: 203.0.113.1 FCrDNS pass, .2 mismatch, .3 PTR to an
# NXDOMAIN name, .4 two PTRs (the second confirms), .5 no PTR, .6 PTR TEMP,
# .7-.15 DNSBL cases, .17/.18 RHSBL names, .21 an invalid first PTR, .50 the
# default client of session.lua (passes everything).

DNSQ=${DNSQ:-$(dirname "$POSTERN")/tests/dnsq}
M_ACCEPT="accept||eom|bob@example.test||alice@example.test|@QID@"

# ---- Helpers ------------------------------------------------------------------

# rows_match FOUND EXPECTED: each line of EXPECTED is
# "stage|name|result|action|DETAIL-ERE"; the first four fields must be
# equal, the detail must match the ERE (grep -E), line by line.
rows_match() {
	local -a f e
	local i fh eh
	mapfile -t f <<<"$1"
	mapfile -t e <<<"$2"
	((${#f[@]} == ${#e[@]})) || return 1
	for i in "${!e[@]}"; do
		fh=$(cut -d'|' -f1-4 <<<"${f[i]}")
		eh=$(cut -d'|' -f1-4 <<<"${e[i]}")
		[[ $fh == "$eh" ]] || return 1
		cut -d'|' -f5- <<<"${f[i]}" | grep -Eq -- "$(cut -d'|' -f5- <<<"${e[i]}")" || return 1
	done
}

# expect_rows DESC INST EXPECTED [SQL CONDITION]: the checks rows of the
# last session ($TAG), polled until they match (the writer is a thread).
expect_rows() {
	local desc=$1 inst=$2 expected=$3 cond=${4:-}
	if poll_sql "$inst" "$(q_check_rows "$TAG" "$cond")" rows_match "$expected"; then
		report_ok "$desc"
	else
		report_fail "$desc" "expected rows (stage|name|result|action|detail ERE):" \
			"$(indent "$expected")" "found rows:" "$(indent "$POLLED")"
	fi
}

# The ptr_name and iprev columns of the last session's connections row.
q_iprev() {
	echo "select coalesce(ptr_name, 'NULL'), coalesce(iprev, 'NULL')
	      from connections where daemon_name = '$1'"
}

# refused_at_connect INST DESC NAME ADDR REPLY [ROWS [COND]]: a client
# refused at CONNECT (delay_reject = no); the reply text on the wire.
refused_at_connect() {
	raw_session "$1" conn "$3" "$4" 4000 quit
	expect_eq "$2: reply at CONNECT" "conn replycode $5"$'\nquit' "$OUT"
	if [[ -n ${6:-} ]]; then
		expect_rows "$2: checks rows" "$1" "$6" "${7:-}"
	fi
}

# helo_case INST DESC HELO LINE [ROWS [COND]]: the reply to HELO (client
# 203.0.113.1, good.example.test); LINE is "helo continue" or
# "helo replycode TEXT".
helo_case() {
	raw_session "$1" conn good.example.test 203.0.113.1 4000 helo "$3" quit
	expect_eq "$2" $'conn continue\n'"$4"$'\nquit' "$OUT"
	if [[ -n ${5:-} ]]; then
		expect_rows "$2: checks rows" "$1" "$5" "${6:-}"
	fi
}

# mail_case INST DESC SENDER LINE [ROWS [COND]]: the reply to MAIL FROM.
mail_case() {
	raw_session "$1" conn good.example.test 203.0.113.1 4000 helo good.example.test \
		mail "$3" quit
	expect_eq "$2" $'conn continue\nhelo continue\n'"$4"$'\nquit' "$OUT"
	if [[ -n ${5:-} ]]; then
		expect_rows "$2: checks rows" "$1" "$5" "${6:-}"
	fi
}

# rcpt_case INST DESC RECIPIENT LINE [ROWS [COND]]: the reply to RCPT TO
# (sender alice@example.test).
rcpt_case() {
	raw_session "$1" conn good.example.test 203.0.113.1 4000 helo good.example.test \
		mail '<alice@example.test>' rcpt "$3" quit
	expect_eq "$2" $'conn continue\nhelo continue\nmail continue\n'"$4"$'\nquit' "$OUT"
	if [[ -n ${5:-} ]]; then
		expect_rows "$2: checks rows" "$1" "$5" "${6:-}"
	fi
}

# still_serving INST DESC FPID: a normal session after the bad input, by
# the same filter process.
still_serving() {
	run_case "$1" "$2: a normal session is accepted afterwards" "$T_ACCEPT" "$M_ACCEPT" - \
		"${@:4}"
	expect_eq "$2: the filter process is still the same (no crash, no restart)" \
		"$3" "$(filter_pid "$1")"
	expect_eq "$2: no 'died on signal' in the log" "0" "$(log_count "$1" "died on signal")"
}

# dnsq_run ARGS...: DNSQ_OUT (stdout), DNSQ_ERR (stderr), DNSQ_RC, DNSQ_MS.
dnsq_run() {
	local t0
	t0=$(now_ms)
	DNSQ_OUT=$(timeout 30 "$DNSQ" "$@" 2>"$WORK/dnsq.err")
	DNSQ_RC=$?
	DNSQ_MS=$(($(now_ms) - t0))
	DNSQ_ERR=$(cat "$WORK/dnsq.err")
}

# dnsq_line N: line N of the last dnsq output.
dnsq_line() {
	sed -n "${1}p" <<<"$DNSQ_OUT"
}

# expect_between DESC LOW HIGH VALUE
expect_between() {
	if [[ $4 =~ ^-?[0-9]+$ ]] && (($4 >= $2 && $4 <= $3)); then
		report_ok "$1 ($4)"
	else
		report_fail "$1" "expected a value in [$2, $3], found '$4'"
	fi
}

# ---- Scenario 20: the resolver, through tests/dnsq -------------------------------

s20_resolver() {
	local p="s20 dnsq" line
	CUR_INST=""
	CUR_TAG=""
	if [[ ! -x $DNSQ ]]; then
		report_skip "$p: resolver scenarios" "no $DNSQ (build tests/dnsq)"
		return
	fi

	# NSD: the ordinary answers.
	dnsq_run -s 127.0.0.1:5353 -t 2000 good.example.test/A 1.113.0.203.in-addr.arpa/PTR \
		nosuch.example.test/A nodata.example.test/A example.test/MX \
		cname.example.test/A v6.example.test/AAAA 7.113.0.203.bl.test/TXT \
		x.servfail.test/A GOOD.Example.Test./A 4.113.0.203.in-addr.arpa/PTR \
		nullmx.example.test/MX 1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa/PTR
	expect_eq "$p: NSD: exit status 0" 0 "$DNSQ_RC"
	expect_eq "$p: NSD: one line per query, in input order" \
		"good.example.test A ok: 203.0.113.1
1.113.0.203.in-addr.arpa PTR ok: good.example.test
nosuch.example.test A nxdomain
nodata.example.test A nodata
example.test MX ok: 10 mail.example.test
cname.example.test A ok cname=a-only.example.test: 203.0.113.30
v6.example.test AAAA ok: 2001:db8::1
7.113.0.203.bl.test TXT ok: \"Listed in bl.test: see https://bl.test/q?203.0.113.7\"
x.servfail.test A temp (SERVFAIL from 127.0.0.1:5353)
good.example.test A ok: 203.0.113.1" "$(head -n 10 <<<"$DNSQ_OUT")"
	expect_match "$p: NSD: two PTRs, both listed" \
		'^4\.113\.0\.203\.in-addr\.arpa PTR ok: (multi-a\.example\.test, multi-b|multi-b\.example\.test, multi-a)\.example\.test$' \
		"$(dnsq_line 11)"
	expect_match "$p: NSD: null MX (RFC 7505) is an MX record with preference 0 and the root" \
		'^nullmx\.example\.test MX ok: 0 ?\.?$' "$(dnsq_line 12)"
	expect_eq "$p: NSD: an ip6.arpa PTR" \
		"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa PTR ok: v6.example.test" \
		"$(dnsq_line 13)"
	expect_match "$p: NSD: stderr ends with the batch line" '^batch: 13 queries in [0-9]+ ms$' \
		"$(tail -n 1 <<<"$DNSQ_ERR")"

	# The fault responder: one batch of quick cases with a 1 s deadline
	# (timeout.fault.test makes the batch last that long).
	local faults=(timeout/A tc/A tc/TXT big/TXT garbage/A shortpkt/A badcomp/A wrongid/A
		wrongq/A servfail/A refused/A nx/A nodata/A cname1/A cnamesplit/A cnameloop/A
		cnamelong/A ttl0/A)
	local args=() f
	for f in "${faults[@]}"; do
		args+=("${f%/*}.fault.test/${f#*/}")
	done
	local tcp_before
	tcp_before=$(grep -c ' tcp tc\.fault\.test ' "$DNS_FAULT_LOG")
	dnsq_run -s 127.0.0.1:5354 -t 1000 "${args[@]}"
	expect_eq "$p: faults: one line per query" "${#faults[@]}" "$(grep -c . <<<"$DNSQ_OUT")"
	expect_eq "$p: faults: timeout -> temp (timeout)" "timeout.fault.test A temp (timeout)" \
		"$(dnsq_line 1)"
	expect_eq "$p: faults: TC=1 over UDP -> the answer comes by TCP" "tc.fault.test A ok: 192.0.2.10" \
		"$(dnsq_line 2)"
	expect_match "$p: faults: TC=1, TXT over 1232 bytes by TCP: six strings" \
		'^tc\.fault\.test TXT ok: "tc-1-x+", "tc-2-x+", "tc-3-x+", "tc-4-x+", "tc-5-x+", "tc-6-x+"$' \
		"$(dnsq_line 3)"
	expect_match "$p: faults: a TXT answer over 1232 bytes comes by TCP" \
		'^big\.fault\.test TXT ok: "big-1-x+", "big-2-x+", "big-3-x+", "big-4-x+", "big-5-x+", "big-6-x+"$' \
		"$(dnsq_line 4)"
	expect_true "$p: faults: the responder saw the TCP retries" \
		test "$(grep -c ' tcp tc\.fault\.test ' "$DNS_FAULT_LOG")" -ge $((tcp_before + 2))
	expect_match "$p: faults: garbage records -> temp (malformed answer: ...)" \
		'^garbage\.fault\.test A temp \(malformed answer: .+\)$' "$(dnsq_line 5)"
	expect_match "$p: faults: a 5-byte reply -> temp (malformed answer: ...)" \
		'^shortpkt\.fault\.test A temp \(malformed answer: .+\)$' "$(dnsq_line 6)"
	expect_match "$p: faults: a compression pointer loop -> temp (malformed answer: ...)" \
		'^badcomp\.fault\.test A temp \(malformed answer: .+\)$' "$(dnsq_line 7)"
	expect_eq "$p: faults: a reply with a wrong id is ignored, the right one is used" \
		"wrongid.fault.test A ok: 192.0.2.11" "$(dnsq_line 8)"
	expect_eq "$p: faults: a reply to another question is ignored, the right one is used" \
		"wrongq.fault.test A ok: 192.0.2.11" "$(dnsq_line 9)"
	expect_eq "$p: faults: SERVFAIL -> temp" "servfail.fault.test A temp (SERVFAIL from 127.0.0.1:5354)" \
		"$(dnsq_line 10)"
	expect_eq "$p: faults: REFUSED -> temp" "refused.fault.test A temp (REFUSED from 127.0.0.1:5354)" \
		"$(dnsq_line 11)"
	expect_eq "$p: faults: NXDOMAIN" "nx.fault.test A nxdomain" "$(dnsq_line 12)"
	expect_eq "$p: faults: NODATA" "nodata.fault.test A nodata" "$(dnsq_line 13)"
	expect_eq "$p: faults: a CNAME chain of 3 in one answer" \
		"cname1.fault.test A ok cname=cname1-end.fault.test: 192.0.2.12" "$(dnsq_line 14)"
	expect_eq "$p: faults: a CNAME whose target needs its own query" \
		"cnamesplit.fault.test A ok cname=target.fault.test: 192.0.2.13" "$(dnsq_line 15)"
	expect_match "$p: faults: a CNAME loop -> temp (CNAME chain ...)" \
		'^cnameloop\.fault\.test A temp \(CNAME chain .+\)$' "$(dnsq_line 16)"
	expect_match "$p: faults: a chain of 12 CNAMEs, one per query -> temp (CNAME chain ...)" \
		'^cnamelong\.fault\.test A temp \(CNAME chain .+\)$' "$(dnsq_line 17)"
	expect_eq "$p: faults: TTL 0" "ttl0.fault.test A ok: 192.0.2.16" "$(dnsq_line 18)"
	expect_between "$p: faults: the batch took about the 1 s deadline (ms)" 900 2000 "$DNSQ_MS"
	echo "# dnsq: fault batch of ${#faults[@]} queries (one never answered, -t 1000): $DNSQ_MS ms; $(tail -n 1 <<<"$DNSQ_ERR")"

	# Parallelism: a 1.5 s answer and five quick ones cost 1.5 s.
	dnsq_run -s 127.0.0.1:5354 -t 3000 slow.fault.test/A ok.fault.test/A wrongid.fault.test/A \
		cname1.fault.test/A tc.fault.test/A nx.fault.test/A
	expect_eq "$p: parallel: every answer" "slow.fault.test A ok: 192.0.2.1
ok.fault.test A ok: 192.0.2.1
wrongid.fault.test A ok: 192.0.2.11
cname1.fault.test A ok cname=cname1-end.fault.test: 192.0.2.12
tc.fault.test A ok: 192.0.2.10
nx.fault.test A nxdomain" "$DNSQ_OUT"
	expect_between "$p: parallel: slow (1.5 s) + 5 quick queries take about 1.5 s, not more (ms)" \
		1400 2500 "$DNSQ_MS"
	echo "# dnsq: slow + 5 quick queries in one batch: $DNSQ_MS ms; $(tail -n 1 <<<"$DNSQ_ERR")"

	# Five queries that are never answered share one deadline.
	dnsq_run -s 127.0.0.1:5354 -t 800 timeout.fault.test/A timeout.fault.test/AAAA \
		timeout.fault.test/MX timeout.fault.test/TXT timeout.fault.test/PTR
	expect_eq "$p: five timeouts: all temp (timeout)" 5 "$(grep -c ' temp (timeout)$' <<<"$DNSQ_OUT")"
	expect_between "$p: five timeouts in one batch cost one deadline of 800 ms (ms)" 700 1700 "$DNSQ_MS"

	# A server that does not listen.
	dnsq_run -s 127.0.0.1:5399 -t 1000 good.example.test/A
	expect_match "$p: a dead server -> temp" '^good\.example\.test A temp \(.+\)$' "$DNSQ_OUT"
	expect_between "$p: a dead server costs at most the deadline (ms)" 0 2000 "$DNSQ_MS"
}

# ---- Scenario 21: FCrDNS -----------------------------------------------------------

s21_fcrdns() {
	local i=DC p="s21 DC" fpid
	new_instance DC dns-client.conf
	start_daemon DC ${DNS_VG:-} || return
	fpid=$(filter_pid DC)
	local R="connect|reject_unknown_reverse_client_hostname"
	local F="connect|reject_unknown_client_hostname"

	run_case DC "$p: 203.0.113.1: PTR good.example.test, confirmed: accepted" "$T_ACCEPT" "$M_ACCEPT" - \
		MT_CLIENT_NAME=good.example.test MT_CLIENT_ADDR=203.0.113.1
	expect_rows "$p: 203.0.113.1: both checks pass" DC "$R|pass|dunno|good\.example\.test
$F|pass|dunno|good\.example\.test"
	expect_sql "$p: 203.0.113.1: connections.ptr_name and iprev" DC "$(q_iprev "$TAG")" \
		"good.example.test|pass"

	refused_at_connect DC "$p: 203.0.113.2: the PTR name resolves elsewhere" \
		"[203.0.113.2]" 203.0.113.2 \
		"450 4.7.25 Client host rejected: cannot find your hostname, [203.0.113.2]" \
		"$R|pass|dunno|mismatch\.example\.test
$F|fail|defer|mismatch\.example\.test"
	expect_sql "$p: 203.0.113.2: connections.ptr_name and iprev" DC "$(q_iprev "$TAG")" \
		"mismatch.example.test|fail"

	refused_at_connect DC "$p: 203.0.113.3: the PTR name is NXDOMAIN" \
		"[203.0.113.3]" 203.0.113.3 \
		"450 4.7.25 Client host rejected: cannot find your hostname, [203.0.113.3]" \
		"$R|pass|dunno|ptr-nx\.example\.test
$F|fail|defer|ptr-nx\.example\.test"
	expect_sql "$p: 203.0.113.3: connections.ptr_name and iprev" DC "$(q_iprev "$TAG")" \
		"ptr-nx.example.test|fail"

	run_case DC "$p: 203.0.113.4: two PTRs, the second one confirms: accepted" "$T_ACCEPT" \
		"$M_ACCEPT" - MT_CLIENT_NAME=multi-b.example.test MT_CLIENT_ADDR=203.0.113.4
	expect_rows "$p: 203.0.113.4: both checks pass" DC "$R|pass|dunno|multi-
$F|pass|dunno|multi-b\.example\.test"
	expect_match "$p: 203.0.113.4: iprev pass, ptr_name is one of the two" \
		'^multi-(a|b)\.example\.test\|pass$' "$(sql DC "$(q_iprev "$TAG")")"

	refused_at_connect DC "$p: 203.0.113.5: no PTR" "[203.0.113.5]" 203.0.113.5 \
		"450 4.7.1 Client host rejected: cannot find your reverse hostname, [203.0.113.5]" \
		"$R|fail|defer|"
	expect_sql "$p: 203.0.113.5: connections.ptr_name NULL, iprev fail" DC "$(q_iprev "$TAG")" \
		"NULL|fail"

	refused_at_connect DC "$p: 203.0.113.6: the PTR lookup is TEMP (SERVFAIL): 450 as well" \
		"[203.0.113.6]" 203.0.113.6 \
		"450 4.7.1 Client host rejected: cannot find your reverse hostname, [203.0.113.6]" \
		"$R|temp|defer|"
	expect_sql "$p: 203.0.113.6: connections.ptr_name NULL, iprev temperror" DC \
		"$(q_iprev "$TAG")" "NULL|temperror"

	run_case DC "$p: 203.0.113.21: an invalid first PTR name is skipped: accepted" "$T_ACCEPT" \
		"$M_ACCEPT" - MT_CLIENT_NAME=ok21.example.test MT_CLIENT_ADDR=203.0.113.21
	expect_sql "$p: 203.0.113.21: ptr_name is the first valid name" DC "$(q_iprev "$TAG")" \
		"ok21.example.test|pass"

	run_case DC "$p: 198.51.100.1: confirmed: accepted" "$T_ACCEPT" "$M_ACCEPT" - \
		MT_CLIENT_NAME=good2.example.test MT_CLIENT_ADDR=198.51.100.1

	# IPv6 (miltertest; rawmilter speaks IPv4 only, so no reply text).
	run_case DC "$p: 2001:db8::1: PTR v6.example.test with AAAA: accepted" "$T_ACCEPT" \
		"$M_ACCEPT" - MT_CLIENT_NAME=v6.example.test MT_CLIENT_ADDR=2001:db8::1
	expect_sql "$p: 2001:db8::1: connections.ptr_name and iprev" DC "$(q_iprev "$TAG")" \
		"v6.example.test|pass"
	mt_session DC session.lua MT_CLIENT_NAME="[2001:db8::2]" MT_CLIENT_ADDR=2001:db8::2
	expect_eq "$p: 2001:db8::2: the AAAA is another address: refused at CONNECT" \
		"connect replycode" "$OUT"
	expect_rows "$p: 2001:db8::2: checks rows" DC "$R|pass|dunno|v6-mismatch\.example\.test
$F|fail|defer|v6-mismatch\.example\.test"
	mt_session DC session.lua MT_CLIENT_NAME="[2001:db8::3]" MT_CLIENT_ADDR=2001:db8::3
	expect_eq "$p: 2001:db8::3: no PTR: refused at CONNECT" "connect replycode" "$OUT"
	expect_rows "$p: 2001:db8::3: checks rows" DC "$R|fail|defer|"
	expect_eq "$p: the filter process is still the same" "$fpid" "$(filter_pid DC)"
	stop_and_check DC ${DNS_VG:+60}

	# reject_unknown_client_hostname alone: no PTR, and a TEMP PTR lookup.
	p="s21 DC2"
	new_instance DC2 dns-fcrdns.conf
	start_daemon DC2 || return
	refused_at_connect DC2 "$p: 203.0.113.5: no PTR fails FCrDNS" "[203.0.113.5]" 203.0.113.5 \
		"450 4.7.25 Client host rejected: cannot find your hostname, [203.0.113.5]" \
		"$F|fail|defer|"
	refused_at_connect DC2 "$p: 203.0.113.6: PTR TEMP: 450" "[203.0.113.6]" 203.0.113.6 \
		"450 4.7.25 Client host rejected: cannot find your hostname, [203.0.113.6]" \
		"$F|temp|defer|"
	run_case DC2 "$p: 203.0.113.1 is accepted" "$T_ACCEPT" "$M_ACCEPT" - \
		MT_CLIENT_NAME=good.example.test MT_CLIENT_ADDR=203.0.113.1
	stop_and_check DC2
}

# ---- Scenario 22: DNS block and allow lists ----------------------------------------

s22_dnsbl() {
	local p="s22 DB" fpid
	local W="connect|permit_dnswl_client" B="connect|reject_rbl_client"
	local HC="connect|reject_rhsbl_client" HR="connect|reject_rhsbl_reverse_client"
	new_instance DB dns-dnsbl.conf
	start_daemon DB ${DNS_VG:-} || return
	fpid=$(filter_pid DB)

	refused_at_connect DB "$p: 203.0.113.7 listed (127.0.0.2) with a TXT reason" \
		bl7.example.test 203.0.113.7 \
		"554 5.7.1 Service unavailable; Client host [203.0.113.7] blocked using bl.test; Listed in bl.test: see https://bl.test/q?203.0.113.7" \
		"$W|pass|dunno|
$B|fail|reject|127\.0\.0\.2"
	refused_at_connect DB "$p: 203.0.113.8 listed (127.0.0.4) without TXT: no '; text'" \
		bl8.example.test 203.0.113.8 \
		"554 5.7.1 Service unavailable; Client host [203.0.113.8] blocked using bl.test" \
		"$W|pass|dunno|
$B|fail|reject|127\.0\.0\.4"
	run_case DB "$p: 203.0.113.9 answers 127.0.0.10, outside =127.0.0.[2..4]: accepted" \
		"$T_ACCEPT" "$M_ACCEPT" - MT_CLIENT_NAME=bl9.example.test MT_CLIENT_ADDR=203.0.113.9
	expect_rows "$p: 203.0.113.9: the rbl row passes and says what was answered" DB \
		"$B|pass|dunno|127\.0\.0\.10" "name = 'reject_rbl_client'"
	run_case DB "$p: 203.0.113.10 answers 127.255.255.254 (queries blocked): not a listing" \
		"$T_ACCEPT" "$M_ACCEPT" - MT_CLIENT_NAME=bl10.example.test MT_CLIENT_ADDR=203.0.113.10
	expect_rows "$p: 203.0.113.10: row result temp, the detail names the answer" DB \
		"$B|temp|dunno|127\.255\.255\.254" "name = 'reject_rbl_client'"
	run_case DB "$p: 203.0.113.11 answers 192.0.2.1 (not 127/8): not a listing" \
		"$T_ACCEPT" "$M_ACCEPT" - MT_CLIENT_NAME=bl11.example.test MT_CLIENT_ADDR=203.0.113.11
	expect_rows "$p: 203.0.113.11: row result temp, the detail names the answer" DB \
		"$B|temp|dunno|192\.0\.2\.1" "name = 'reject_rbl_client'"
	run_case DB "$p: 203.0.113.12 is in wl.test (and in bl.test): permitted" "$T_ACCEPT" \
		"$M_ACCEPT" - MT_CLIENT_NAME=wl12.example.test MT_CLIENT_ADDR=203.0.113.12
	expect_rows "$p: 203.0.113.12: permit_dnswl_client ends the client list" DB \
		"$W|pass|permit|127\.0\.10\.1"
	run_case DB "$p: 203.0.113.1 (no list has it): accepted" "$T_ACCEPT" "$M_ACCEPT" - \
		MT_CLIENT_NAME=good.example.test MT_CLIENT_ADDR=203.0.113.1
	expect_rows "$p: 203.0.113.1: four rows, all pass" DB "$W|pass|dunno|
$B|pass|dunno|
$HC|pass|dunno|
$HR|pass|dunno|"
	refused_at_connect DB "$p: 198.51.100.7 (no PTR) listed" "[198.51.100.7]" 198.51.100.7 \
		"554 5.7.1 Service unavailable; Client host [198.51.100.7] blocked using bl.test; Listed in bl.test: 198.51.100.7"
	mt_session DB session.lua MT_CLIENT_NAME=v6bl.example.test MT_CLIENT_ADDR=2001:db8::7
	expect_eq "$p: 2001:db8::7 listed by its 32 nibbles: refused at CONNECT" "connect replycode" "$OUT"
	expect_rows "$p: 2001:db8::7: checks rows" DB "$W|pass|dunno|
$B|fail|reject|127\.0\.0\.2"
	refused_at_connect DB "$p: reject_rhsbl_client: the client name is listed" \
		rhsbl-client.example.test 203.0.113.17 \
		"554 5.7.1 Service unavailable; Client host [rhsbl-client.example.test] blocked using rhsbl.test; client name listed" \
		"$HC|fail|reject|rhsbl-client\.example\.test" "name = 'reject_rhsbl_client'"
	refused_at_connect DB "$p: reject_rhsbl_reverse_client: the unverified PTR name is listed" \
		"[203.0.113.18]" 203.0.113.18 \
		"554 5.7.1 Service unavailable; Unverified Client host [rhsbl-rev.example.test] blocked using rhsbl.test; reverse name listed" \
		"$HR|fail|reject|rhsbl-rev\.example\.test" "name = 'reject_rhsbl_reverse_client'"
	expect_eq "$p: the filter process is still the same" "$fpid" "$(filter_pid DB)"
	stop_and_check DB ${DNS_VG:+60}

	# A list whose zone answers SERVFAIL.
	p="s22 DT"
	new_instance DT dns-temp.conf
	start_daemon DT || return
	refused_at_connect DT "$p: list zone SERVFAIL, dnsbl_temp_action = defer (default)" \
		good.example.test 203.0.113.1 \
		"450 4.7.1 Service unavailable; Client host [203.0.113.1] not checked against servfail.test: temporary DNS failure" \
		"$B|temp|defer|"
	stop_and_check DT
	p="s22 DT2"
	new_instance DT2 dns-temp.conf "dnsbl_temp_action = dunno"
	start_daemon DT2 || return
	run_case DT2 "$p: list zone SERVFAIL, dnsbl_temp_action = dunno: accepted" "$T_ACCEPT" \
		"$M_ACCEPT" - MT_CLIENT_NAME=good.example.test MT_CLIENT_ADDR=203.0.113.1
	expect_rows "$p: the row says temp" DT2 "$B|temp|dunno|"
	stop_and_check DT2

	# reject_dnsbl_score: bl.test*2, bl2.test, wl.test=127.0.10.[1..3]*-3, threshold 2.
	p="s22 DS"
	local S="connect|reject_dnsbl_score"
	new_instance DS dns-score.conf
	start_daemon DS || return
	refused_at_connect DS "$p: 203.0.113.13 in bl.test and bl2.test: score 3" \
		sc13.example.test 203.0.113.13 \
		"554 5.7.1 Service unavailable; Client host [203.0.113.13] blocked using bl.test, bl2.test (score 3 >= threshold 2)" \
		"$S|fail|reject|3"
	refused_at_connect DS "$p: 203.0.113.7 in bl.test only: score 2" bl7.example.test 203.0.113.7 \
		"554 5.7.1 Service unavailable; Client host [203.0.113.7] blocked using bl.test (score 2 >= threshold 2)"
	refused_at_connect DS "$p: 203.0.113.9: 127.0.0.10 counts (no filter on bl.test)" \
		bl9.example.test 203.0.113.9 \
		"554 5.7.1 Service unavailable; Client host [203.0.113.9] blocked using bl.test (score 2 >= threshold 2)"
	run_case DS "$p: 203.0.113.14 in bl2.test only: score 1, accepted" "$T_ACCEPT" "$M_ACCEPT" - \
		MT_CLIENT_NAME=sc14.example.test MT_CLIENT_ADDR=203.0.113.14
	expect_rows "$p: 203.0.113.14: row pass" DS "$S|pass|dunno|1"
	run_case DS "$p: 203.0.113.15 in bl.test, bl2.test and wl.test: score 0, accepted" \
		"$T_ACCEPT" "$M_ACCEPT" - MT_CLIENT_NAME=sc15.example.test MT_CLIENT_ADDR=203.0.113.15
	expect_rows "$p: 203.0.113.15: row pass" DS "$S|pass|dunno|0"
	run_case DS "$p: 203.0.113.12 in bl.test and wl.test: score -1, accepted" "$T_ACCEPT" \
		"$M_ACCEPT" - MT_CLIENT_NAME=wl12.example.test MT_CLIENT_ADDR=203.0.113.12
	run_case DS "$p: 203.0.113.10 (127.255.255.254 from bl.test) does not count: accepted" \
		"$T_ACCEPT" "$M_ACCEPT" - MT_CLIENT_NAME=bl10.example.test MT_CLIENT_ADDR=203.0.113.10
	stop_and_check DS
}

# ---- Scenario 23: HELO -------------------------------------------------------------

s23_helo() {
	local p="s23 DH" fpid
	local I="helo|reject_invalid_helo_hostname" N="helo|reject_non_fqdn_helo_hostname"
	local U="helo|reject_helo_is_us" H="helo|reject_rhsbl_helo" K="helo|reject_unknown_helo_hostname"
	new_instance DH dns-helo.conf
	start_daemon DH || return
	fpid=$(filter_pid DH)

	helo_case DH "$p: bad_helo! is not a host name" 'bad_helo!' \
		"helo replycode 501 5.5.2 <bad_helo!>: Helo command rejected: Invalid name" \
		"$I|fail|reject|"
	helo_case DH "$p: [999.0.0.1] is not an address" '[999.0.0.1]' \
		"helo replycode 501 5.5.2 <[999.0.0.1]>: Helo command rejected: invalid ip address" \
		"$I|fail|reject|"
	helo_case DH "$p: localhost is not fully qualified" localhost \
		"helo replycode 504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname" \
		"$I|pass|dunno|
$N|fail|reject|"
	helo_case DH "$p: our myhostname" mx.postern.test \
		"helo replycode 554 5.7.1 <mx.postern.test>: Helo command rejected: You are not me" \
		"$U|fail|reject|" "name = 'reject_helo_is_us'"
	helo_case DH "$p: one of my_helo_names, in other case" Mail.Postern.Test \
		"helo replycode 554 5.7.1 <Mail.Postern.Test>: Helo command rejected: You are not me" \
		"$U|fail|reject|" "name = 'reject_helo_is_us'"
	helo_case DH "$p: postern.test (my_helo_names)" postern.test \
		"helo replycode 554 5.7.1 <postern.test>: Helo command rejected: You are not me"
	helo_case DH "$p: our own address as a literal" '[127.0.0.1]' \
		"helo replycode 554 5.7.1 <[127.0.0.1]>: Helo command rejected: You are not me"
	helo_case DH "$p: a HELO name listed in rhsbl.test" rhsbl-helo.example.test \
		"helo replycode 554 5.7.1 Service unavailable; Helo command [rhsbl-helo.example.test] blocked using rhsbl.test; helo name listed" \
		"$H|fail|reject|rhsbl-helo\.example\.test" "name = 'reject_rhsbl_helo'"
	helo_case DH "$p: NXDOMAIN" nx.example.test \
		"helo replycode 450 4.7.1 <nx.example.test>: Helo command rejected: Host not found" \
		"$I|pass|dunno|
$N|pass|dunno|
$U|pass|dunno|
$H|pass|dunno|
$K|fail|defer|nx\.example\.test"
	helo_case DH "$p: NODATA (a TXT record only)" helo-nodata.example.test \
		"helo replycode 450 4.7.1 <helo-nodata.example.test>: Helo command rejected: Host not found" \
		"$K|fail|defer|" "name = 'reject_unknown_helo_hostname'"
	helo_case DH "$p: TEMP (zone SERVFAIL)" helo.servfail.test \
		"helo replycode 450 4.7.1 <helo.servfail.test>: Helo command rejected: Host not found" \
		"$K|temp|defer|" "name = 'reject_unknown_helo_hostname'"
	helo_case DH "$p: a name with an A record" helo-a.example.test "helo continue" \
		"$I|pass|dunno|
$N|pass|dunno|
$U|pass|dunno|
$H|pass|dunno|
$K|pass|dunno|"
	helo_case DH "$p: a name with only an MX record" helo-mx.example.test "helo continue"
	helo_case DH "$p: a name with only an AAAA record" helo-aaaa.example.test "helo continue"
	helo_case DH "$p: one final dot is ignored" helo-a.example.test. "helo continue"
	helo_case DH "$p: an address literal (not ours) passes every check" '[203.0.113.1]' \
		"helo continue"
	run_case DH "$p: a whole session with a good HELO is accepted" "$T_ACCEPT" "$M_ACCEPT" - \
		MT_CLIENT_NAME=good.example.test MT_CLIENT_ADDR=203.0.113.1 MT_HELO=helo-mx.example.test

	# Bad input.
	raw_session DH conn good.example.test 203.0.113.1 4000 helo $'=py:"h\\udce9llo.example.test"' quit
	expect_match "$p: an 8-bit HELO: 501 Invalid name" \
		'^helo replycode 501 5\.5\.2 <h.{1,4}llo\.example\.test>: Helo command rejected: Invalid name$' "$OUT"
	expect_rows "$p: an 8-bit HELO: row" DH "$I|fail|reject|" "name = 'reject_invalid_helo_hostname'"
	raw_session DH conn good.example.test 203.0.113.1 4000 \
		helo "=py:'.'.join(['a'*60]*5)+'.test'" quit
	expect_match "$p: a 309-byte HELO: 501 Invalid name" \
		'^helo replycode 501 5\.5\.2 <a+[^>]*>: Helo command rejected: Invalid name$' "$OUT"
	expect_rows "$p: a 309-byte HELO: row" DH "$I|fail|reject|" "name = 'reject_invalid_helo_hostname'"
	raw_session DH conn good.example.test 203.0.113.1 4000 helo "" quit
	expect_match "$p: an empty HELO gets an answer" '^helo (continue|replycode 50[14] )' "$OUT"
	still_serving DH "$p" "$fpid" MT_CLIENT_NAME=good.example.test MT_CLIENT_ADDR=203.0.113.1
	stop_and_check DH
}

# ---- Scenario 24: sender and recipient ----------------------------------------------

s24_mail() {
	local p="s24 DM" fpid
	local SN="mail|reject_non_fqdn_sender" SH="mail|reject_rhsbl_sender"
	local SU="mail|reject_unknown_sender_domain"
	local RB="rcpt|reject_multi_recipient_bounce" RN="rcpt|reject_non_fqdn_recipient"
	local RH="rcpt|reject_rhsbl_recipient" RU="rcpt|reject_unknown_recipient_domain"
	new_instance DM dns-mail.conf
	start_daemon DM ${DNS_VG:-} || return
	fpid=$(filter_pid DM)

	mail_case DM "$p: sender not fully qualified" '<user@localhost>' \
		"mail replycode 504 5.5.2 <user@localhost>: Sender address rejected: need fully-qualified address" \
		"$SN|fail|reject|" "name like 'reject%sender%'"
	mail_case DM "$p: sender domain NODATA (TXT only)" '<a@nodata.example.test>' \
		"mail replycode 450 4.1.8 <a@nodata.example.test>: Sender address rejected: Domain not found" \
		"$SN|pass|dunno|
$SH|pass|dunno|
$SU|fail|defer|nodata\.example\.test" "name like 'reject%sender%'"
	mail_case DM "$p: sender domain NXDOMAIN" '<a@nosuch.example.test>' \
		"mail replycode 550 5.1.8 <a@nosuch.example.test>: Sender address rejected: Domain not found" \
		"$SU|fail|reject|nosuch\.example\.test" "name = 'reject_unknown_sender_domain'"
	mail_case DM "$p: sender domain with a null MX" '<a@nullmx.example.test>' \
		"mail replycode 550 5.7.27 <a@nullmx.example.test>: Sender address rejected: Domain nullmx.example.test does not accept mail (nullMX)" \
		"$SU|fail|reject|" "name = 'reject_unknown_sender_domain'"
	mail_case DM "$p: sender domain TEMP (zone SERVFAIL)" '<a@mail.servfail.test>' \
		"mail replycode 450 4.1.8 <a@mail.servfail.test>: Sender address rejected: Domain not found" \
		"$SU|temp|defer|" "name = 'reject_unknown_sender_domain'"
	mail_case DM "$p: sender domain listed in rhsbl.test (no TXT)" '<a@rhsbl-sender.example.test>' \
		"mail replycode 554 5.7.1 Service unavailable; Sender address [rhsbl-sender.example.test] blocked using rhsbl.test" \
		"$SH|fail|reject|rhsbl-sender\.example\.test" "name = 'reject_rhsbl_sender'"
	mail_case DM "$p: sender domain with an A record only" '<a@a-only.example.test>' "mail continue"
	mail_case DM "$p: sender domain with an AAAA record only" '<a@aaaa-only.example.test>' "mail continue"
	mail_case DM "$p: sender domain that is a CNAME to a host with A" '<a@cname.example.test>' \
		"mail continue"
	mail_case DM "$p: the null sender" '<>' "mail continue"
	mail_case DM "$p: an address literal domain" '<a@[203.0.113.1]>' "mail continue"

	rcpt_case DM "$p: recipient not fully qualified" '<user@localhost>' \
		"rcpt replycode 504 5.5.2 <user@localhost>: Recipient address rejected: need fully-qualified address" \
		"$RN|fail|reject|" "name = 'reject_non_fqdn_recipient'"
	rcpt_case DM "$p: a bare postmaster is never non-FQDN" '<postmaster>' "rcpt continue"
	rcpt_case DM "$p: recipient domain NODATA" '<b@nodata.example.test>' \
		"rcpt replycode 450 4.1.2 <b@nodata.example.test>: Recipient address rejected: Domain not found" \
		"$RB|pass|dunno|
$RN|pass|dunno|
$RH|pass|dunno|
$RU|fail|defer|nodata\.example\.test" "stage = 'rcpt'"
	rcpt_case DM "$p: recipient domain NXDOMAIN" '<b@nosuch.example.test>' \
		"rcpt replycode 550 5.1.2 <b@nosuch.example.test>: Recipient address rejected: Domain not found" \
		"$RU|fail|reject|" "name = 'reject_unknown_recipient_domain'"
	rcpt_case DM "$p: recipient domain with a null MX" '<b@nullmx.example.test>' \
		"rcpt replycode 556 5.1.10 <b@nullmx.example.test>: Recipient address rejected: Domain nullmx.example.test does not accept mail (nullMX)" \
		"$RU|fail|reject|" "name = 'reject_unknown_recipient_domain'"
	rcpt_case DM "$p: recipient domain TEMP" '<b@mail.servfail.test>' \
		"rcpt replycode 450 4.1.2 <b@mail.servfail.test>: Recipient address rejected: Domain not found" \
		"$RU|temp|defer|" "name = 'reject_unknown_recipient_domain'"
	rcpt_case DM "$p: recipient domain listed in rhsbl.test" '<b@rhsbl-rcpt.example.test>' \
		"rcpt replycode 554 5.7.1 Service unavailable; Recipient address [rhsbl-rcpt.example.test] blocked using rhsbl.test; recipient domain listed" \
		"$RH|fail|reject|rhsbl-rcpt\.example\.test" "name = 'reject_rhsbl_recipient'"
	rcpt_case DM "$p: recipient domain that is a CNAME" '<b@cname.example.test>' "rcpt continue"

	# A bounce to two recipients: the second is refused.
	raw_session DM conn good.example.test 203.0.113.1 4000 helo good.example.test \
		mail '<>' rcpt '<bob@example.test>' rcpt '<carol@example.test>' quit
	expect_eq "$p: multi-recipient bounce: the second RCPT is refused" \
		"conn continue
helo continue
mail continue
rcpt continue
rcpt replycode 550 5.5.3 <>: Sender address rejected: Multi-recipient bounce
quit" "$OUT"
	run_case DM "$p: multi-recipient bounce: the message goes to the first recipient" \
		$'connect continue\nhelo continue\nmail continue\nrcpt bob@example.test continue\nrcpt carol@example.test replycode\ndata continue\neoh continue\neom continue' \
		"accept||eom|bob@example.test|carol@example.test||@QID@" - \
		MT_CLIENT_NAME=good.example.test MT_CLIENT_ADDR=203.0.113.1 MT_FROM="<>" \
		MT_RCPTS=bob@example.test,carol@example.test
	expect_rows "$p: multi-recipient bounce: rows" DM "$RB|pass|dunno|
$RB|fail|reject|" "name = 'reject_multi_recipient_bounce'"
	run_case DM "$p: a bounce to one recipient is accepted" "$(transcript_accept bob@example.test)" \
		"accept||eom|bob@example.test|||@QID@" - MT_FROM="<>"

	# Bad input: a 300-byte sender domain.
	raw_session DM conn good.example.test 203.0.113.1 4000 helo good.example.test \
		mail "=py:'<a@'+'.'.join(['a'*60]*5)+'.test>'" quit
	expect_match "$p: a 309-byte sender domain: a clear refusal at MAIL" \
		'^mail replycode (504 5\.5\.2|450 4\.1\.8|550 5\.1\.8) <a@a+[^>]*>: Sender address rejected: ' "$OUT"
	still_serving DM "$p" "$fpid"
	stop_and_check DM ${DNS_VG:+60}
}

# ---- Scenario 25: delay_reject = yes, warn_if_reject ---------------------------------

s25_delay_warn() {
	local p="s25 DD"
	new_instance DD dns-delay.conf
	start_daemon DD || return
	run_case DD "$p: no PTR: refused at RCPT, not at CONNECT" "$T_REFUSED" \
		"defer|450 4.7.1 Client host rejected: cannot find your reverse hostname, [203.0.113.5]|rcpt||bob@example.test|alice@example.test|@QID@" - \
		MT_CLIENT_NAME="[203.0.113.5]" MT_CLIENT_ADDR=203.0.113.5
	expect_rows "$p: no PTR: the row is at stage rcpt" DD \
		"rcpt|reject_unknown_reverse_client_hostname|fail|defer|"
	run_case DD "$p: HELO localhost: refused at RCPT" "$T_REFUSED" \
		"reject|504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname|rcpt||bob@example.test|alice@example.test|@QID@" - \
		MT_CLIENT_NAME=good.example.test MT_CLIENT_ADDR=203.0.113.1 MT_HELO=localhost
	run_case DD "$p: sender domain NXDOMAIN: refused at RCPT" "$T_REFUSED" \
		"reject|550 5.1.8 <a@nosuch.example.test>: Sender address rejected: Domain not found|rcpt||bob@example.test|a@nosuch.example.test|@QID@" - \
		MT_CLIENT_NAME=good.example.test MT_CLIENT_ADDR=203.0.113.1 MT_FROM="<a@nosuch.example.test>"
	raw_session DD conn "[203.0.113.5]" 203.0.113.5 4000 helo mx.example.test \
		mail '<alice@example.test>' rcpt '<bob@example.test>' quit
	expect_eq "$p: no PTR: the reply text at RCPT" "conn continue
helo continue
mail continue
rcpt replycode 450 4.7.1 Client host rejected: cannot find your reverse hostname, [203.0.113.5]
quit" "$OUT"
	run_case DD "$p: a clean session is accepted" "$T_ACCEPT" "$M_ACCEPT" - \
		MT_CLIENT_NAME=good.example.test MT_CLIENT_ADDR=203.0.113.1
	stop_and_check DD

	p="s25 DW"
	new_instance DW dns-warn.conf
	start_daemon DW || return
	run_case DW "$p: every DNS check would refuse: the mail gets through" \
		"$(transcript_accept b@nullmx.example.test)" \
		"accept||eom|b@nullmx.example.test||a@nosuch.example.test|@QID@" - \
		MT_CLIENT_NAME="[203.0.113.2]" MT_CLIENT_ADDR=203.0.113.2 MT_HELO=nx.example.test \
		MT_FROM="<a@nosuch.example.test>" MT_RCPTS=b@nullmx.example.test
	expect_rows "$p: one warn row per check, 'would have been' and the reply in the detail" DW \
		"connect|reject_unknown_client_hostname|fail|warn|would have been.*450 4\.7\.25.*cannot find your hostname
helo|reject_unknown_helo_hostname|fail|warn|would have been.*450 4\.7\.1.*Host not found
mail|reject_unknown_sender_domain|fail|warn|would have been.*550 5\.1\.8.*Domain not found
rcpt|reject_unknown_recipient_domain|fail|warn|would have been.*556 5\.1\.10.*nullMX" \
		"action = 'warn'"
	run_case DW "$p: a listed client gets through" "$T_ACCEPT" "$M_ACCEPT" - \
		MT_CLIENT_NAME=bl7.example.test MT_CLIENT_ADDR=203.0.113.7
	expect_rows "$p: a listed client: warn row" DW \
		"connect|reject_rbl_client|fail|warn|would have been.*554 5\.7\.1.*blocked using bl\.test" \
		"action = 'warn'"
	stop_and_check DW
}

# ---- Scenario 26: Authentication-Results ----------------------------------------------

# authres_case DESC ADDR NAME EXPECTED-VALUE [VAR=VALUE...]: EXPECTED-VALUE
# is the header value with \n and \t written as two characters.
authres_case() {
	local desc=$1 addr=$2 name=$3 value=$4
	shift 4
	mt_session DA authres.lua MT_CLIENT_ADDR="$addr" MT_CLIENT_NAME="$name" \
		MT_QID="ar$((TAG_SEQ + 1))" "$@"
	expect_eq "$desc: replies" \
		$'connect continue\nhelo continue\nmail continue\nrcpt continue\ndata continue\neoh continue\neom continue' \
		"$(grep -E '^(connect|helo|mail|rcpt|data|eoh|eom) ' <<<"$OUT")"
	expect_eq "$desc: one Authentication-Results header" "ar-count 1" "$(grep '^ar-count' <<<"$OUT")"
	# No message of these sessions is signed: dkim=none comes last.
	expect_eq "$desc: its value" "ar-value $value;\n\tdkim=none" "$(grep '^ar-value' <<<"$OUT")"
	expect_eq "$desc: inserted at index 0" "ar-insert-0 yes" "$(grep '^ar-insert-0' <<<"$OUT")"
}

s26_authres() {
	local p="s26 DA" id='mx.postern.test;\n\t'
	new_instance DA dns-authres.conf
	start_daemon DA ${DNS_VG:-} || return
	authres_case "$p: 203.0.113.1 with three incoming A-R headers" 203.0.113.1 good.example.test \
		"${id}iprev=pass policy.iprev=203.0.113.1 (good.example.test)" MT_INCOMING=yes
	expect_eq "$p: ours (1 and 3, case-insensitive) are deleted, someone else's (2) is kept" \
		"ar-delete 1 yes
ar-delete 2 no
ar-delete 3 yes
ar-delete 4 no" "$(grep '^ar-delete' <<<"$OUT")"
	expect_rows "$p: a row says forged headers were removed" DA \
		"eom|authres|fail|none|Authentication-Results" "name = 'authres'"
	authres_case "$p: 203.0.113.12 allow-listed: dnswl=pass" 203.0.113.12 wl12.example.test \
		"${id}iprev=pass policy.iprev=203.0.113.12 (wl12.example.test);\n\tdnswl=pass dns.zone=wl.test policy.ip=127.0.10.1"
	expect_eq "$p: no incoming A-R: nothing deleted" "ar-delete 1 no" \
		"$(grep '^ar-delete 1' <<<"$OUT")"
	authres_case "$p: 203.0.113.2 (PTR not confirmed): iprev=fail with the name" 203.0.113.2 \
		"[203.0.113.2]" "${id}iprev=fail policy.iprev=203.0.113.2 (mismatch.example.test)"
	authres_case "$p: 203.0.113.5 (no PTR): iprev=fail without a comment" 203.0.113.5 \
		"[203.0.113.5]" "${id}iprev=fail policy.iprev=203.0.113.5"
	authres_case "$p: 203.0.113.6 (PTR TEMP): iprev=temperror without a comment" 203.0.113.6 \
		"[203.0.113.6]" "${id}iprev=temperror policy.iprev=203.0.113.6"
	authres_case "$p: 203.0.113.4 (two PTRs): the confirmed name" 203.0.113.4 multi-b.example.test \
		"${id}iprev=pass policy.iprev=203.0.113.4 (multi-b.example.test)"
	authres_case "$p: 2001:db8::1" 2001:db8::1 v6.example.test \
		"${id}iprev=pass policy.iprev=2001:db8::1 (v6.example.test)"

	# The order on the wire: highest index first, deletions before the
	# insertion (an insertion first would shift the indexes).
	raw_session DA conn good.example.test 203.0.113.1 4000 helo good.example.test \
		macro M i rawar mail '<alice@example.test>' rcpt '<bob@example.test>' data \
		header Authentication-Results 'mx.postern.test; spf=pass smtp.mailfrom=example.test' \
		header From '<alice@example.test>' \
		header Authentication-Results 'other.example; dkim=pass header.d=example.test' \
		header Authentication-Results 'MX.POSTERN.TEST; dkim=pass header.d=example.test' \
		eoh body "Hello." eom quit
	expect_eq "$p: on the wire: delete index 3, delete index 1, then insert" \
		"m |||^CAuthentication-Results||
m |||^AAuthentication-Results||
i ||||Authentication-Results|mx.postern.test;" \
		"$(grep '^eom-change ' <<<"$OUT" | cut -d' ' -f2- | cat -v)"
	stop_and_check DA ${DNS_VG:+60}
}

# ---- Scenario 27: the daemon over the fault responder ----------------------------------

s27_faults() {
	local p="s27 DF" fpid t0 ms n1 n2
	local B="connect|reject_rbl_client" K="helo|reject_unknown_helo_hostname"
	new_instance DF dns-fault.conf
	start_daemon DF || return
	fpid=$(filter_pid DF)

	run_case DF "$p: badbl.test answers five junk addresses: not a listing, accepted" \
		"$T_ACCEPT" "$M_ACCEPT" - MT_CLIENT_NAME="[203.0.113.51]" MT_CLIENT_ADDR=203.0.113.51 \
		MT_HELO=ok.fault.test
	expect_rows "$p: five junk addresses: row temp (list error)" DF "$B|temp|dunno|" \
		"name = 'reject_rbl_client'"
	refused_at_connect DF "$p: badbl.test answers an A record of 5 bytes: TEMP, deferred" \
		"[203.0.113.52]" 203.0.113.52 \
		"450 4.7.1 Service unavailable; Client host [203.0.113.52] not checked against badbl.test: temporary DNS failure" \
		"$B|temp|defer|"
	raw_session DF conn "[203.0.113.53]" 203.0.113.53 4000 quit
	local line
	line=$(head -n 1 <<<"$OUT")
	expect_match "$p: listed with a TXT full of control and 8-bit bytes: 554" \
		'^conn replycode 554 5\.7\.1 Service unavailable; Client host \[203\.0\.113\.53\] blocked using badbl\.test' \
		"$line"
	expect_eq "$p: ... the reply is one line of printable ASCII" "" \
		"$(printf '%s' "$line" | tr -d '[:print:]' | od -An -c | head -n 3)"
	expect_true "$p: ... of at most 512 bytes" test "${#line}" -le $((512 + 15))

	t0=$(now_ms)
	raw_session DF conn "[203.0.113.1]" 203.0.113.1 4000 helo timeout.fault.test quit
	ms=$(($(now_ms) - t0))
	expect_eq "$p: a HELO name whose lookup never answers: 450 after dns_timeout" \
		$'conn continue\nhelo replycode 450 4.7.1 <timeout.fault.test>: Helo command rejected: Host not found\nquit' "$OUT"
	expect_rows "$p: timeout: row temp" DF "$K|temp|defer|" "name = 'reject_unknown_helo_hostname'"
	expect_between "$p: timeout: the HELO reply came after about dns_timeout = 2s (ms)" 1800 4500 "$ms"
	t0=$(now_ms)
	raw_session DF conn "[203.0.113.1]" 203.0.113.1 4000 helo slow.fault.test quit
	ms=$(($(now_ms) - t0))
	expect_eq "$p: a HELO name answered after 1.5 s (within dns_timeout): accepted" \
		$'conn continue\nhelo continue\nquit' "$OUT"
	expect_between "$p: slow: the HELO reply came after about 1.5 s (ms)" 1400 3500 "$ms"
	raw_session DF conn "[203.0.113.1]" 203.0.113.1 4000 helo garbage.fault.test quit
	expect_match "$p: malformed answers for the HELO name: 450" \
		'^helo replycode 450 4\.7\.1 <garbage\.fault\.test>: Helo command rejected: ' "$OUT"
	raw_session DF conn "[203.0.113.1]" 203.0.113.1 4000 helo servfail.fault.test quit
	expect_match "$p: SERVFAIL for the HELO name: 450" \
		'^helo replycode 450 4\.7\.1 <servfail\.fault\.test>: Helo command rejected: Host not found$' "$OUT"
	raw_session DF conn "[203.0.113.1]" 203.0.113.1 4000 helo cname1.fault.test quit
	expect_match "$p: a HELO name that is a CNAME chain: accepted" '^helo continue$' "$OUT"

	# The cache: a second session asks nothing for a name with TTL 300,
	# and asks again for a name with TTL 0.
	raw_session DF conn "[203.0.113.1]" 203.0.113.1 4000 helo cached.fault.test quit
	n1=$(fault_count cached.fault.test)
	raw_session DF conn "[203.0.113.1]" 203.0.113.1 4000 helo cached.fault.test quit
	n2=$(fault_count cached.fault.test)
	expect_eq "$p: cache: the second HELO cached.fault.test (TTL 300) sends no query ($n1 queries)" \
		"$n1" "$n2"
	raw_session DF conn "[203.0.113.1]" 203.0.113.1 4000 helo ttl0.fault.test quit
	n1=$(fault_count ttl0.fault.test)
	raw_session DF conn "[203.0.113.1]" 203.0.113.1 4000 helo ttl0.fault.test quit
	n2=$(fault_count ttl0.fault.test)
	expect_true "$p: cache: an answer with TTL 0 is asked again ($n1 then $n2 queries)" test "$n2" -gt "$n1"
	still_serving DF "$p" "$fpid" MT_CLIENT_NAME="[203.0.113.1]" MT_CLIENT_ADDR=203.0.113.1 \
		MT_HELO=ok.fault.test
	stop_and_check DF

	p="s27 DF0"
	new_instance DF0 dns-fault.conf "dns_cache_size = 0"
	start_daemon DF0 || return
	raw_session DF0 conn "[203.0.113.1]" 203.0.113.1 4000 helo cached.fault.test quit
	n1=$(fault_count cached.fault.test)
	raw_session DF0 conn "[203.0.113.1]" 203.0.113.1 4000 helo cached.fault.test quit
	n2=$(fault_count cached.fault.test)
	expect_true "$p: dns_cache_size = 0: the second HELO asks again ($n1 then $n2 queries)" \
		test "$n2" -gt "$n1"
	stop_and_check DF0
}

# ---- All of them --------------------------------------------------------------------

dns_scenarios() {
	dns_start || return
	s20_resolver
	s21_fcrdns
	s22_dnsbl
	s23_helo
	s24_mail
	s25_delay_warn
	s26_authres
	s27_faults
	dns_stop
	dns_logs_clean
}

# No daemon of these scenarios crashed, restarted its filter process or
# printed a sanitizer report.
dns_logs_clean() {
	local f bad=""
	CUR_INST=""
	CUR_TAG=""
	for f in "$WORK"/D*/log; do
		[[ -f $f ]] || continue
		bad+=$(grep -H -E 'died on signal|exited with status|ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer' "$f" | head -n 3)
	done
	expect_eq "dns: no crash, filter restart or sanitizer report in the daemons' logs" "" "$bad"
}
