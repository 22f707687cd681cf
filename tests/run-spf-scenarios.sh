# shellcheck shell=bash disable=SC2016,SC2034,SC2153,SC2154
# tests/run-spf-scenarios.sh: the SPF scenarios of the integration suite,
# sourced by tests/run-integration after lib.sh, dns.sh and
# run-dns-scenarios.sh (whose helpers it uses).
#
#   spf_scenarios   starts the DNS servers (dns_start), runs s30 ... s33,
#                   stops the servers
#   spf_valgrind    s30 and s31 with the daemon under valgrind (the
#                   caller has started the DNS servers)
#
#   s30_spf_main    check_spf with the default actions (SP): every result,
#                   include:, redirect=, macros, IPv6, the null sender, one
#                   evaluation per message, spf_skip_clients, SERVFAIL,
#                   hostile records that end in permerror (accepted), the
#                   headers (Authentication-Results, Received-SPF) and
#                   their order on the wire
#   s31_spf_strict  spf_permerror_action = reject and the other actions
#                   (SX): the hostile zone, record by record (550 5.7.24),
#                   the limits at their boundaries, received_spf_header = no
#   s32_spf_helo    spf_helo_check = yes (SH): the HELO identity
#   s33_spf_faults  the fault responder (SF, SF2, SF3): a top-level TXT
#                   that is never answered, an include that is never
#                   answered, the evaluation deadline (spf_timeout), and
#                   the prefetch: two rounds of lookups, each asked at once
#
# Zone: tests/fixtures/dns/spf.test.zone (its table says what each name
# is for); tests/dns-fault.py for spfslow and spfinc.
# Clients: 198.51.100.101 (OK, permitted by most records), .201 (BAD,
# permitted by none), 2001:db8:5bf::25 (V6, permitted by v6.spf.test),
# 2001:db8:bad::25 (V6BAD); forwarders 198.51.100.150, .165 (in
# 198.51.100.160/28) and .152 (forwarder.spf.test); .176 is next to them
# but not one of them.

SPF_OK=198.51.100.101
SPF_BAD=198.51.100.201
SPF_V6=2001:db8:5bf::25
SPF_V6BAD=2001:db8:bad::25
SPF_ID=mx.postern.test # myhostname of every spf-*.conf: authserv-id, receiver

# ---- Helpers ------------------------------------------------------------------

# "stage|result|action|detail" of the check_spf rows of a session.
q_spf_rows() {
	echo "select stage, result, action, coalesce(detail, '') from checks
	      where conn_id in $(q_conn_id "$1") and name = 'check_spf' ${2:+and ($2)} order by id"
}

# The ms column of the check_spf rows of a session, rounded.
q_spf_ms() {
	echo "select cast(round(ms) as integer) from checks
	      where conn_id in $(q_conn_id "$1") and name = 'check_spf' order by id"
}

# spf_detail_has DETAIL TOKEN: TOKEN is one of
#   word     a word of DETAIL (words are split at white space and , ; ( )
#            and lose their double quotes): "lookups=1" is not "lookups=10"
#   !word    no word of DETAIL starts with it ("!mechanism=")
#   ~ERE     DETAIL matches the extended regular expression
spf_detail_has() {
	local detail=$1 tok=$2 w
	local -a words
	if [[ $tok == '~'* ]]; then
		grep -Eq -- "${tok:1}" <<<"$detail"
		return
	fi
	read -ra words <<<"${detail//[,;()\"]/ }"
	if [[ $tok == '!'* ]]; then
		for w in "${words[@]}"; do
			[[ $w == "${tok:1}"* ]] && return 1
		done
		return 0
	fi
	for w in "${words[@]}"; do
		[[ $w == "$tok" ]] && return 0
	done
	return 1
}

# spf_poll_rows INST [SQL CONDITION]: the check_spf rows of the last
# session once there is one (the writer is a thread; 5 s at most).
spf_poll_rows() {
	poll_sql "$1" "$(q_spf_rows "$TAG" "${2:-}")" nonempty
	printf '%s\n' "$POLLED"
}

# spf_rows_match FOUND EXPECTED: each line of EXPECTED is
# "stage|result|action|DETAIL-PREFIX|TOKENS": the first three fields
# equal, the detail starts with DETAIL-PREFIX and has every TOKEN
# (spf_detail_has; TOKENS separated by spaces; ~ERE tokens cannot hold a
# space: write [[:space:]] or .). One line of FOUND per line of EXPECTED.
spf_rows_match() {
	local -a f e toks
	local i fhead fdetail ehead prefix tokens tok
	mapfile -t f <<<"$1"
	mapfile -t e <<<"$2"
	((${#f[@]} == ${#e[@]})) || return 1
	for i in "${!e[@]}"; do
		fhead=$(cut -d'|' -f1-3 <<<"${f[i]}")
		fdetail=$(cut -d'|' -f4- <<<"${f[i]}")
		ehead=$(cut -d'|' -f1-3 <<<"${e[i]}")
		prefix=$(cut -d'|' -f4 <<<"${e[i]}")
		tokens=$(cut -d'|' -f5- <<<"${e[i]}")
		[[ $fhead == "$ehead" && $fdetail == "$prefix"* ]] || return 1
		read -ra toks <<<"$tokens"
		for tok in "${toks[@]}"; do
			spf_detail_has "$fdetail" "$tok" || return 1
		done
	done
}

# expect_spf_rows DESC INST EXPECTED [SQL CONDITION]: the check_spf rows
# of the last session, polled until they match (5 s).
expect_spf_rows() {
	local desc=$1 inst=$2 expected=$3 cond=${4:-}
	if poll_sql "$inst" "$(q_spf_rows "$TAG" "$cond")" spf_rows_match "$expected"; then
		report_ok "$desc"
	else
		report_fail "$desc" \
			"expected rows (stage|result|action|detail prefix|detail tokens):" \
			"$(indent "$expected")" "found rows:" "$(indent "$POLLED")"
	fi
}

# rs_match VALUE SPEC: a Received-SPF value (unfolded) against
# "RESULT|CLIENT-IP|IDENTITY|MECHANISM": it starts with "RESULT (" (the
# comment) and has client-ip=CLIENT-IP; (quoted when it is IPv6) and
# identity=IDENTITY. MECHANISM
# "-" means no mechanism= key, "re:ERE" an ERE for its value (quotes
# included), anything else the mechanism itself, quoted; unquoted also
# when it is a dot-atom (RFC 7208 section 9.1, RFC 5322).
rs_match() {
	local v=$1 res ip id mech re
	local pre='(^|[[:space:];])' post='(;|[[:space:]]|$)'
	local atom='^[-A-Za-z0-9.!#$%&*+/=?^_`{|}~'"'"']+$'
	IFS='|' read -r res ip id mech <<<"$2"
	[[ $v == "$res ("* ]] || return 1
	if [[ $ip == *:* ]]; then # not a dot-atom: quoted
		[[ $v == *"client-ip=\"$ip\";"* ]] || return 1
	else
		[[ $v == *"client-ip=$ip;"* || $v == *"client-ip=\"$ip\";"* ]] || return 1
	fi
	re="${pre}identity=$id$post"
	[[ $v =~ $re ]] || return 1
	case $mech in
	-) [[ $v != *mechanism=* ]] ;;
	re:*)
		re="${pre}mechanism=${mech#re:}$post"
		[[ $v =~ $re ]]
		;;
	*)
		[[ $v == *"mechanism=\"$mech\""* ]] && return 0
		[[ $mech =~ $atom ]] || return 1
		[[ " $v;" == *"mechanism=$mech;"* || " $v " == *"mechanism=$mech "* ]]
		;;
	esac
}

# spf_methods AR-VALUE: the spf= methods of an Authentication-Results
# value (unfolded), one per line, in order; "(not ours: ...)" when the
# authserv-id is not ours.
spf_methods() {
	local v=$1 rest p
	local -a parts
	if [[ $v != "$SPF_ID;"* ]]; then
		echo "(not ours: $v)"
		return
	fi
	rest=${v#"$SPF_ID;"}
	IFS=';' read -ra parts <<<"$rest"
	for p in "${parts[@]}"; do
		p=${p#"${p%%[![:space:]]*}"}
		p=${p%"${p##*[![:space:]]}"}
		[[ $p == spf=* ]] && echo "$p"
	done
}

# spf_headers DESC AR RS: the header lines of the last spf.lua run. AR is
# the expected spf= methods of the one Authentication-Results (one per
# line, in order; "" for none); RS the Received-SPF headers, one
# rs_match SPEC per line, in any order ("" for none). Both inserted at 0.
spf_headers() {
	local desc=$1 ar=$2 rs=$3 value spec n want found line
	local -a vals
	expect_eq "$desc: one Authentication-Results header" "ar-count 1" \
		"$(grep '^ar-count' <<<"$OUT")"
	value=$(sed -n 's/^ar-value //p' <<<"$OUT")
	expect_eq "$desc: its spf methods" "$ar" "$(spf_methods "$value")"
	expect_eq "$desc: Authentication-Results inserted at index 0" "ar-insert-0 yes" \
		"$(grep '^ar-insert-0' <<<"$OUT")"
	want=0
	[[ -n $rs ]] && want=$(grep -c . <<<"$rs")
	n=$(sed -n 's/^rs-count //p' <<<"$OUT")
	mapfile -t vals < <(sed -n 's/^rs-value [0-9]* //p' <<<"$OUT")
	if [[ $n != "$want" ]]; then
		report_fail "$desc: $want Received-SPF header(s)" "found $n:" \
			"$(indent "$(grep '^rs-value' <<<"$OUT")")"
		return
	fi
	if ((want == 0)); then
		report_ok "$desc: no Received-SPF header"
		return
	fi
	found=""
	while IFS= read -r spec; do
		line=""
		for value in "${vals[@]}"; do
			if rs_match "$value" "$spec"; then
				line=$value
				break
			fi
		done
		[[ -z $line ]] && found+="no Received-SPF matches $spec"$'\n'
	done <<<"$rs"
	if [[ -z $found ]]; then
		report_ok "$desc: Received-SPF ($(tr '\n' ',' <<<"$rs" | sed -e 's/,$//'))"
	else
		report_fail "$desc: Received-SPF" "$found" "found:" "$(indent "$(printf '%s\n' "${vals[@]}")")"
	fi
	expect_eq "$desc: every Received-SPF inserted at index 0" "" \
		"$(grep '^rs-insert-0' <<<"$OUT" | grep -v ' yes$')"
}

# spf_client ADDR [NAME]: MT_CLIENT_* for a client (name [ADDR] when it
# has none) and the default HELO mta.spf.test.
spf_client() {
	SPF_VARS=(MT_CLIENT_ADDR="$1" MT_CLIENT_NAME="${2:-[$1]}" MT_HELO=mta.spf.test)
}

# spf_accepted INST DESC ROWS AR RS [VAR=VALUE...]: one spf.lua session
# that must reach EOM and be accepted; ROWS for expect_spf_rows, AR and
# RS for spf_headers. Set the client with spf_client first; VAR=VALUE
# (MT_FROM, MT_HELO, MT_RCPTS ...) come after it.
spf_accepted() {
	local inst=$1 desc=$2 rows=$3 ar=$4 rs=$5 rcpts=bob@example.test v
	local -a rl
	shift 5
	for v in "${SPF_VARS[@]}" "$@"; do
		[[ $v == MT_RCPTS=* ]] && rcpts=${v#MT_RCPTS=}
	done
	mt_session "$inst" spf.lua MT_QID="spf$((TAG_SEQ + 1))" "${SPF_VARS[@]}" "$@"
	IFS=, read -ra rl <<<"$rcpts"
	expect_eq "$desc: accepted" "$(transcript_accept "${rl[@]}")" \
		"$(grep -Ev '^(ar|rs)-' <<<"$OUT")"
	spf_headers "$desc" "$ar" "$rs"
	[[ -n $rows ]] && expect_spf_rows "$desc: check_spf row" "$inst" "$rows"
}

# spf_refused INST DESC REPLY ROWS [VAR=VALUE...]: one spf.lua session
# refused at RCPT; REPLY is the reply in the messages row (a 5xx is
# action reject, a 4xx defer); a REPLY that ends in "*" is a prefix.
spf_refused() {
	local inst=$1 desc=$2 reply=$3 rows=$4 qid sender="alice@example.test" v action
	shift 4
	for v in "${SPF_VARS[@]}" "$@"; do
		if [[ $v == MT_FROM=* ]]; then
			sender=${v#MT_FROM=}
			sender=${sender#<}
			sender=${sender%>}
		fi
	done
	qid="spf$((TAG_SEQ + 1))"
	mt_session "$inst" spf.lua MT_QID="$qid" "${SPF_VARS[@]}" "$@"
	expect_eq "$desc: refused at RCPT" \
		$'connect continue\nhelo continue\nmail continue\nrcpt bob@example.test replycode\nabort' "$OUT"
	action=reject
	[[ $reply == 4* ]] && action=defer
	if [[ $reply == *'*' ]]; then
		local want="$action|${reply%\*}"
		if poll_sql "$inst" "$(q_msg_rows "$TAG")" has_ends "$want" \
			"|rcpt||bob@example.test|$sender|$qid"; then
			report_ok "$desc: messages row ($(cut -d'|' -f2 <<<"$POLLED"))"
		else
			report_fail "$desc: messages row" "expected: $want...|rcpt||bob@example.test|$sender|$qid" \
				"found: $POLLED"
		fi
	else
		expect_sql "$desc: messages row" "$inst" "$(q_msg_rows "$TAG")" \
			"$action|$reply|rcpt||bob@example.test|$sender|$qid"
	fi
	[[ -n $rows ]] && expect_spf_rows "$desc: check_spf row" "$inst" "$rows"
}

# The reply of a fail with action reject.
spf_fail_reply() { # SENDER DOMAIN IP
	echo "550 5.7.23 <$1>: Sender address rejected: SPF fail: $2 does not designate $3 as permitted sender"
}

# spf_still_serving INST DESC FPID: a clean pass session afterwards, by the
# same filter process, and no crash in the log.
spf_still_serving() {
	local inst=$1 desc=$2 fpid=$3
	spf_client $SPF_OK
	mt_session "$inst" spf.lua MT_QID="spf$((TAG_SEQ + 1))" "${SPF_VARS[@]}" \
		MT_FROM='<alice@pass.spf.test>'
	expect_eq "$desc: a clean session afterwards gets its 250s" "$T_ACCEPT" \
		"$(grep -Ev '^(ar|rs)-' <<<"$OUT")"
	expect_eq "$desc: the filter process is still the same (no crash, no restart)" \
		"$fpid" "$(filter_pid "$inst")"
	expect_eq "$desc: no 'died on signal' in the log" "0" "$(log_count "$inst" "died on signal")"
}

# ---- Scenario 30: check_spf, default actions ------------------------------------

s30_spf_main() {
	local i=SP p="s30 SP" fpid lk='~(^|[[:space:],;])lookups=([0-9]|1[01])([[:space:],;]|$)'
	local M="rcpt|pass|dunno|mailfrom" F="rcpt|fail" T="rcpt|temp|defer|mailfrom"
	new_instance $i spf-main.conf
	start_daemon $i ${SPF_VG:+"$SPF_VG"} || return
	fpid=$(filter_pid $i)

	# The results.
	spf_client $SPF_OK
	spf_accepted $i "$p: pass by ip4:" \
		"$M alice@pass.spf.test: spf=pass|mechanism=ip4:198.51.100.96/28 lookups=0 void=0" \
		"spf=pass smtp.mailfrom=alice@pass.spf.test" \
		"pass|$SPF_OK|mailfrom|ip4:198.51.100.96/28" MT_FROM='<alice@pass.spf.test>'
	spf_client $SPF_BAD
	spf_refused $i "$p: fail (-all): 550 5.7.23" \
		"$(spf_fail_reply alice@pass.spf.test pass.spf.test $SPF_BAD)" \
		"$F|reject|mailfrom alice@pass.spf.test: spf=fail|mechanism=-all lookups=0 void=0" \
		MT_FROM='<alice@pass.spf.test>'
	spf_accepted $i "$p: softfail (~all) is accepted" \
		"$F|dunno|mailfrom alice@softfail.spf.test: spf=softfail|mechanism=~all lookups=0" \
		"spf=softfail smtp.mailfrom=alice@softfail.spf.test" \
		"softfail|$SPF_BAD|mailfrom|~all" MT_FROM='<alice@softfail.spf.test>'
	spf_accepted $i "$p: neutral (?all) is accepted" \
		"$M alice@neutral.spf.test: spf=neutral|mechanism=?all lookups=0" \
		"spf=neutral smtp.mailfrom=alice@neutral.spf.test" \
		"neutral|$SPF_BAD|mailfrom|?all" MT_FROM='<alice@neutral.spf.test>'
	spf_client $SPF_OK
	spf_accepted $i "$p: none (only TXT records that are not SPF, one 'v=spf10')" \
		"$M alice@nospf.spf.test: spf=none|!mechanism=" \
		"spf=none smtp.mailfrom=alice@nospf.spf.test" \
		"none|$SPF_OK|mailfrom|-" MT_FROM='<alice@nospf.spf.test>'
	spf_accepted $i "$p: none (the sender domain does not exist)" \
		"$M alice@nosuch.spf.test: spf=none|!mechanism=" \
		"spf=none smtp.mailfrom=alice@nosuch.spf.test" \
		"none|$SPF_OK|mailfrom|-" MT_FROM='<alice@nosuch.spf.test>'

	# include:, redirect=, macros.
	spf_accepted $i "$p: pass through include:" \
		"$M alice@include.spf.test: spf=pass|mechanism=include:_spf.inc.spf.test lookups=1 void=0" \
		"spf=pass smtp.mailfrom=alice@include.spf.test" \
		"pass|$SPF_OK|mailfrom|include:_spf.inc.spf.test" MT_FROM='<alice@include.spf.test>'
	spf_client $SPF_BAD
	spf_refused $i "$p: include: that does not match, then -all" \
		"$(spf_fail_reply alice@include.spf.test include.spf.test $SPF_BAD)" \
		"$F|reject|mailfrom alice@include.spf.test: spf=fail|mechanism=-all lookups=1" \
		MT_FROM='<alice@include.spf.test>'
	spf_client $SPF_OK
	spf_accepted $i "$p: pass through redirect=" \
		"$M alice@redirect.spf.test: spf=pass|mechanism=ip4:198.51.100.96/28 lookups=1" \
		"spf=pass smtp.mailfrom=alice@redirect.spf.test" \
		"pass|$SPF_OK|mailfrom|ip4:198.51.100.96/28" MT_FROM='<alice@redirect.spf.test>'
	spf_client $SPF_BAD
	spf_refused $i "$p: redirect= to a record that fails" "550 5.7.23 <alice@redirect.spf.test>: Sender address rejected: SPF fail: *" \
		"$F|reject|mailfrom alice@redirect.spf.test: spf=fail|mechanism=-all lookups=1" \
		MT_FROM='<alice@redirect.spf.test>'
	# The term as written, or expanded.
	local mx='"?exists:(%\{ir\}\.%\{l\}\._m\.%\{d\}|101\.100\.51\.198\.alice\._m\.macro\.spf\.test)"?'
	spf_client $SPF_OK
	spf_accepted $i "$p: pass through exists:%{ir}.%{l}._m.%{d}" \
		"$M alice@macro.spf.test: spf=pass|~mechanism=$mx([[:space:],;]|\$) lookups=1" \
		"spf=pass smtp.mailfrom=alice@macro.spf.test" \
		"pass|$SPF_OK|mailfrom|re:$mx" MT_FROM='<alice@macro.spf.test>'
	spf_refused $i "$p: the same macro for bob@ (%{l} differs): fail" \
		"$(spf_fail_reply bob@macro.spf.test macro.spf.test $SPF_OK)" \
		"$F|reject|mailfrom bob@macro.spf.test: spf=fail|mechanism=-all lookups=1 void=1" \
		MT_FROM='<bob@macro.spf.test>'

	# IPv6.
	spf_client $SPF_V6
	spf_accepted $i "$p: IPv6 client, pass by ip6:" \
		"$M alice@v6.spf.test: spf=pass|mechanism=ip6:2001:db8:5bf::/48 lookups=0" \
		"spf=pass smtp.mailfrom=alice@v6.spf.test" \
		"pass|$SPF_V6|mailfrom|ip6:2001:db8:5bf::/48" MT_FROM='<alice@v6.spf.test>'
	spf_accepted $i "$p: IPv6 client, pass through include:" \
		"$M alice@include.spf.test: spf=pass|mechanism=include:_spf.inc.spf.test" \
		"spf=pass smtp.mailfrom=alice@include.spf.test" \
		"pass|$SPF_V6|mailfrom|include:_spf.inc.spf.test" MT_FROM='<alice@include.spf.test>'
	spf_client $SPF_V6BAD
	spf_refused $i "$p: IPv6 client outside ip6:: fail" \
		"$(spf_fail_reply alice@v6.spf.test v6.spf.test $SPF_V6BAD)" \
		"$F|reject|mailfrom alice@v6.spf.test: spf=fail|mechanism=-all" \
		MT_FROM='<alice@v6.spf.test>'

	# The null sender: postmaster@HELO.
	spf_client $SPF_OK
	spf_accepted $i "$p: null sender: postmaster@mta.spf.test passes (a)" \
		"$M postmaster@mta.spf.test: spf=pass|mechanism=a lookups=1" \
		"spf=pass smtp.mailfrom=postmaster@mta.spf.test" \
		"pass|$SPF_OK|mailfrom|a" MT_FROM='<>'
	spf_client $SPF_BAD
	spf_refused $i "$p: null sender from a host the HELO name does not designate" \
		"$(spf_fail_reply '' mta.spf.test $SPF_BAD)" \
		"$F|reject|mailfrom postmaster@mta.spf.test: spf=fail|mechanism=-all" MT_FROM='<>'

	# One evaluation per message, whatever the number of recipients.
	spf_client $SPF_OK
	spf_accepted $i "$p: three recipients, one evaluation" \
		"$M alice@pass.spf.test: spf=pass|mechanism=ip4:198.51.100.96/28" \
		"spf=pass smtp.mailfrom=alice@pass.spf.test" \
		"pass|$SPF_OK|mailfrom|ip4:198.51.100.96/28" MT_FROM='<alice@pass.spf.test>' \
		MT_RCPTS=bob@example.test,carol@example.test,dave@example.test

	# spf_skip_clients: an address, a network, a host name.
	local c
	for c in 198.51.100.150 198.51.100.165 "198.51.100.152 forwarder.spf.test"; do
		# shellcheck disable=SC2086
		spf_client $c
		spf_accepted $i "$p: forwarder ${c/ /, }: skipped, not refused" "rcpt|skip|dunno||" "" "" \
			MT_FROM='<alice@pass.spf.test>'
	done
	spf_client 198.51.100.176
	spf_refused $i "$p: 198.51.100.176 (next to the forwarders) is checked" \
		"$(spf_fail_reply alice@pass.spf.test pass.spf.test 198.51.100.176)" \
		"$F|reject|mailfrom alice@pass.spf.test: spf=fail|mechanism=-all" \
		MT_FROM='<alice@pass.spf.test>'

	# DNS failures: temperror, deferred.
	spf_client $SPF_OK
	spf_refused $i "$p: the sender domain's TXT is SERVFAIL: 451 4.7.24" \
		"451 4.7.24 <alice@spf.servfail.test>: Sender address rejected: SPF temporary error: *" \
		"$T alice@spf.servfail.test: spf=temperror|~reason=." MT_FROM='<alice@spf.servfail.test>'
	spf_refused $i "$p: an include: whose TXT is SERVFAIL: 451 4.7.24" \
		"451 4.7.24 <alice@incl-temp.spf.test>: Sender address rejected: SPF temporary error: *" \
		"$T alice@incl-temp.spf.test: spf=temperror|~reason=. lookups=1" \
		MT_FROM='<alice@incl-temp.spf.test>'

	# Hostile records: permerror, accepted (spf_permerror_action = accept).
	local d
	for d in tree wide loop-a loop-r; do
		spf_accepted $i "$p: $d.spf.test: permerror, accepted" \
			"$F|dunno|mailfrom alice@$d.spf.test: spf=permerror|~reason=. $lk" \
			"spf=permerror smtp.mailfrom=alice@$d.spf.test" \
			"permerror|$SPF_OK|mailfrom|-" MT_FROM="<alice@$d.spf.test>"
	done
	spf_accepted $i "$p: void3.spf.test: a third void lookup is a permerror" \
		"$F|dunno|mailfrom alice@void3.spf.test: spf=permerror|~reason=. void=3" \
		"spf=permerror smtp.mailfrom=alice@void3.spf.test" \
		"permerror|$SPF_OK|mailfrom|-" MT_FROM='<alice@void3.spf.test>'
	spf_accepted $i "$p: big.spf.test (4093 bytes): permerror, accepted" \
		"$F|dunno|mailfrom alice@big.spf.test: spf=permerror|~reason=." \
		"spf=permerror smtp.mailfrom=alice@big.spf.test" \
		"permerror|$SPF_OK|mailfrom|-" MT_FROM='<alice@big.spf.test>'

	# The headers on the wire: Received-SPF inserted first, then
	# Authentication-Results, both at index 0: A-R ends up on top.
	raw_session $i conn "[$SPF_OK]" $SPF_OK 4000 helo mta.spf.test macro M i rawspf \
		mail '<alice@pass.spf.test>' rcpt '<bob@example.test>' data \
		header From '<alice@pass.spf.test>' eoh body "Hello." eom quit
	expect_eq "$p: on the wire: insert Received-SPF at 0, then Authentication-Results at 0" \
		"i |0|Received-SPF
i |0|Authentication-Results" \
		"$(grep '^eom-change ' <<<"$OUT" | sed -E 's/^eom-change (.) \|\|\|\|([^|]*)\|.*/\1 |0|\2/')"
	expect_eq "$p: on the wire: the message is accepted" "eom continue" \
		"$(grep '^eom ' <<<"$OUT")"

	spf_still_serving $i "$p" "$fpid"
	stop_and_check $i ${SPF_VG:+60}
}

# ---- Scenario 31: every action, the hostile zone record by record --------------

s31_spf_strict() {
	local i=SX p="s31 SX" fpid lk='~(^|[[:space:],;])lookups=([0-9]|1[01])([[:space:],;]|$)'
	local M="rcpt|pass|dunno|mailfrom" E="rcpt|fail|reject|mailfrom" d
	new_instance $i spf-strict.conf
	start_daemon $i ${SPF_VG:+"$SPF_VG"} || return
	fpid=$(filter_pid $i)

	# Each action.
	spf_client $SPF_BAD
	spf_refused $i "$p: softfail, spf_softfail_action = reject: 550 5.7.23" \
		"550 5.7.23 <alice@softfail.spf.test>: Sender address rejected: SPF softfail: *" \
		"rcpt|fail|reject|mailfrom alice@softfail.spf.test: spf=softfail|mechanism=~all" \
		MT_FROM='<alice@softfail.spf.test>'
	spf_refused $i "$p: neutral, spf_neutral_action = defer: 450 4.7.23" \
		"450 4.7.23 <alice@neutral.spf.test>: Sender address rejected: SPF neutral: *" \
		"rcpt|pass|defer|mailfrom alice@neutral.spf.test: spf=neutral|mechanism=?all" \
		MT_FROM='<alice@neutral.spf.test>'
	spf_client $SPF_OK
	spf_refused $i "$p: none, spf_none_action = defer: 450 4.7.23" \
		"450 4.7.23 <alice@nospf.spf.test>: Sender address rejected: SPF none: *" \
		"rcpt|pass|defer|mailfrom alice@nospf.spf.test: spf=none|" \
		MT_FROM='<alice@nospf.spf.test>'
	spf_accepted $i "$p: temperror, spf_temperror_action = accept; received_spf_header = no" \
		"rcpt|temp|dunno|mailfrom alice@spf.servfail.test: spf=temperror|~reason=." \
		"spf=temperror smtp.mailfrom=alice@spf.servfail.test" "" \
		MT_FROM='<alice@spf.servfail.test>'
	spf_accepted $i "$p: pass; received_spf_header = no: Authentication-Results only" \
		"$M alice@pass.spf.test: spf=pass|mechanism=ip4:198.51.100.96/28" \
		"spf=pass smtp.mailfrom=alice@pass.spf.test" "" MT_FROM='<alice@pass.spf.test>'

	# Records that break the grammar or RFC 7208 section 4.5.
	for d in syntax badmech two ctrl redir-none incl-none; do
		spf_refused $i "$p: $d.spf.test: permerror, 550 5.7.24" \
			"550 5.7.24 <alice@$d.spf.test>: Sender address rejected: SPF permanent error: *" \
			"$E alice@$d.spf.test: spf=permerror|~reason=." MT_FROM="<alice@$d.spf.test>"
	done

	# Size.
	spf_refused $i "$p: big.spf.test, 4093 bytes in 17 strings (by TCP): permerror" \
		"550 5.7.24 <alice@big.spf.test>: Sender address rejected: SPF permanent error: *" \
		"$E alice@big.spf.test: spf=permerror|~reason=. lookups=0" MT_FROM='<alice@big.spf.test>'
	spf_accepted $i "$p: len2048.spf.test, 2048 bytes: evaluated, pass by its last term" \
		"$M alice@len2048.spf.test: spf=pass|mechanism=ip4:198.51.100.101" \
		"spf=pass smtp.mailfrom=alice@len2048.spf.test" "" MT_FROM='<alice@len2048.spf.test>'
	spf_refused $i "$p: len2049.spf.test, 2049 bytes: permerror" \
		"550 5.7.24 <alice@len2049.spf.test>: Sender address rejected: SPF permanent error: *" \
		"$E alice@len2049.spf.test: spf=permerror|~reason=." MT_FROM='<alice@len2049.spf.test>'
	spf_client $SPF_BAD
	spf_refused $i "$p: many.spf.test: 100 terms, the last one (-all) still counts" \
		"$(spf_fail_reply alice@many.spf.test many.spf.test $SPF_BAD)" \
		"rcpt|fail|reject|mailfrom alice@many.spf.test: spf=fail|mechanism=-all" \
		MT_FROM='<alice@many.spf.test>'
	spf_client $SPF_OK

	# exp= and unknown modifiers: evaluated, the explanation never used.
	spf_accepted $i "$p: exp.spf.test (exp=, unknown modifiers): pass" \
		"$M alice@exp.spf.test: spf=pass|mechanism=ip4:198.51.100.96/28" \
		"spf=pass smtp.mailfrom=alice@exp.spf.test" "" MT_FROM='<alice@exp.spf.test>'
	spf_accepted $i "$p: exp-long.spf.test (exp= over 253 bytes once expanded): pass" \
		"$M alice@exp-long.spf.test: spf=pass|mechanism=ip4:198.51.100.96/28" \
		"spf=pass smtp.mailfrom=alice@exp-long.spf.test" "" MT_FROM='<alice@exp-long.spf.test>'
	spf_client $SPF_BAD
	for d in exp exp-long; do
		spf_refused $i "$p: $d.spf.test fails: our reply, no explanation" \
			"$(spf_fail_reply alice@$d.spf.test $d.spf.test $SPF_BAD)" \
			"$E alice@$d.spf.test: spf=fail|mechanism=-all" MT_FROM="<alice@$d.spf.test>"
	done

	# The lookup limits.
	spf_client $SPF_OK
	spf_accepted $i "$p: ten.spf.test: 10 lookup terms (the limit), pass" \
		"$M alice@ten.spf.test: spf=pass|mechanism=include:_spf.inc.spf.test lookups=10 void=0" \
		"spf=pass smtp.mailfrom=alice@ten.spf.test" "" MT_FROM='<alice@ten.spf.test>'
	for d in tree wide loop-a loop-r; do
		spf_refused $i "$p: $d.spf.test: over 10 lookups: permerror" \
			"550 5.7.24 <alice@$d.spf.test>: Sender address rejected: SPF permanent error: *" \
			"$E alice@$d.spf.test: spf=permerror|~reason=. $lk" MT_FROM="<alice@$d.spf.test>"
	done
	spf_client $SPF_BAD
	spf_refused $i "$p: mxmany.spf.test: mx with 11 MX hosts: permerror" \
		"550 5.7.24 <alice@mxmany.spf.test>: Sender address rejected: SPF permanent error: *" \
		"$E alice@mxmany.spf.test: spf=permerror|~reason=." MT_FROM='<alice@mxmany.spf.test>'
	spf_client $SPF_OK
	spf_accepted $i "$p: void2.spf.test: two void lookups, then pass" \
		"$M alice@void2.spf.test: spf=pass|mechanism=ip4:198.51.100.101 lookups=2 void=2" \
		"spf=pass smtp.mailfrom=alice@void2.spf.test" "" MT_FROM='<alice@void2.spf.test>'
	spf_refused $i "$p: void3.spf.test: a third void lookup: permerror" \
		"550 5.7.24 <alice@void3.spf.test>: Sender address rejected: SPF permanent error: *" \
		"$E alice@void3.spf.test: spf=permerror|~reason=. void=3" MT_FROM='<alice@void3.spf.test>'

	spf_still_serving $i "$p" "$fpid"
	stop_and_check $i ${SPF_VG:+60}
}

# ---- Scenario 32: spf_helo_check = yes ----------------------------------------------

s32_spf_helo() {
	local i=SH p="s32 SH" fpid
	local HP="(helo|mail|rcpt)"
	new_instance $i spf-main.conf "spf_helo_check = yes"
	start_daemon $i || return
	fpid=$(filter_pid $i)

	spf_client $SPF_OK
	spf_accepted $i "$p: HELO mta.spf.test and alice@pass.spf.test both pass" "" \
		"spf=pass smtp.mailfrom=alice@pass.spf.test
spf=pass smtp.helo=mta.spf.test" \
		"pass|$SPF_OK|mailfrom|ip4:198.51.100.96/28
pass|$SPF_OK|helo|a" MT_FROM='<alice@pass.spf.test>'
	expect_spf_rows "$p: the mailfrom row" $i \
		"rcpt|pass|dunno|mailfrom alice@pass.spf.test: spf=pass|mechanism=ip4:198.51.100.96/28" \
		"detail like 'mailfrom %'"
	local rows
	rows=$(spf_poll_rows $i "detail like 'helo %'")
	if [[ $rows =~ ^$HP\|pass\|dunno\| ]]; then
		expect_spf_rows "$p: the helo row" $i "${BASH_REMATCH[1]}|pass|dunno|helo mta.spf.test: spf=pass|mechanism=a lookups=1" \
			"detail like 'helo %'"
	else
		report_fail "$p: the helo row" "expected one row $HP|pass|dunno|helo mta.spf.test: spf=pass ..." \
			"found:" "$(indent "$rows")"
	fi

	spf_refused $i "$p: HELO helo-fail.spf.test (-all): Helo command rejected" \
		"550 5.7.23 <helo-fail.spf.test>: Helo command rejected: SPF fail: helo-fail.spf.test does not designate $SPF_OK as permitted sender" \
		"" MT_FROM='<alice@pass.spf.test>' MT_HELO=helo-fail.spf.test
	rows=$(spf_poll_rows $i "detail like 'helo %'")
	expect_match "$p: HELO helo-fail.spf.test: the helo row" \
		"^$HP\|fail\|reject\|helo helo-fail\.spf\.test: spf=fail.*mechanism=\"?-all" "$rows"

	spf_accepted $i "$p: HELO mx.example.test (no SPF record): none, accepted" "" \
		"spf=pass smtp.mailfrom=alice@pass.spf.test
spf=none smtp.helo=mx.example.test" \
		"pass|$SPF_OK|mailfrom|ip4:198.51.100.96/28
none|$SPF_OK|helo|-" MT_FROM='<alice@pass.spf.test>' MT_HELO=mx.example.test

	# One HELO evaluation per HELO: two messages after one HELO, then a
	# second HELO (after RSET) that fails.
	raw_session $i conn "[$SPF_OK]" $SPF_OK 4000 helo mta.spf.test \
		mail '<alice@pass.spf.test>' rcpt '<bob@example.test>' abort \
		mail '<alice@include.spf.test>' rcpt '<bob@example.test>' abort \
		helo helo-fail.spf.test mail '<alice@pass.spf.test>' rcpt '<bob@example.test>' abort quit
	expect_eq "$p: two messages, then a new HELO whose identity fails" "conn continue
helo continue
mail continue
rcpt continue
abort
mail continue
rcpt continue
abort
helo continue
mail continue
rcpt replycode 550 5.7.23 <helo-fail.spf.test>: Helo command rejected: SPF fail: helo-fail.spf.test does not designate $SPF_OK as permitted sender
abort
quit" "$OUT"
	expect_sql "$p: rows: one per HELO name, one for the second message's sender" $i \
		"select substr(detail, 1, instr(detail, ':') - 1), count(*) from checks
		 where conn_id in $(q_conn_id "$TAG") and name = 'check_spf'
		   and (detail like 'helo %' or detail like 'mailfrom alice@include.%')
		 group by 1 order by 1" \
		"helo helo-fail.spf.test|1
helo mta.spf.test|1
mailfrom alice@include.spf.test|1"

	spf_still_serving $i "$p" "$fpid"
	stop_and_check $i
}

# ---- Scenario 33: timeouts and the evaluation deadline ---------------------------

# spf_timed INST DESC SENDER LOW HIGH: refused with 451 4.7.24 at RCPT,
# the session lasting LOW..HIGH ms, and the row's ms in LOW..HIGH.
spf_timed() {
	local inst=$1 desc=$2 sender=$3 low=$4 high=$5 t0 ms
	spf_client $SPF_OK
	t0=$(now_ms)
	spf_refused "$inst" "$desc" \
		"451 4.7.24 <$sender>: Sender address rejected: SPF temporary error: *" \
		"rcpt|temp|defer|mailfrom $sender: spf=temperror|~reason=." MT_FROM="<$sender>"
	ms=$(($(now_ms) - t0))
	expect_between "$desc: the session took (ms)" "$low" "$high" "$ms"
	expect_between "$desc: the row's ms" "$low" "$high" "$(sql "$inst" "$(q_spf_ms "$TAG")")"
}

s33_spf_faults() {
	local i=SF p="s33 SF" fpid
	# dns_timeout 1s, spf_timeout 5s: the lookup times out first.
	new_instance $i spf-fault.conf "dns_timeout = 1s" "spf_timeout = 5s"
	start_daemon $i || return
	fpid=$(filter_pid $i)
	spf_timed $i "$p: the sender domain's TXT never answered: temperror at dns_timeout" \
		alice@timeout.fault.test 900 3000
	spf_timed $i "$p: an include: never answered: temperror at dns_timeout" \
		alice@spfinc.fault.test 900 3000
	spf_client $SPF_OK
	spf_accepted $i "$p: afterwards, a domain without SPF record: none, accepted" \
		"rcpt|pass|dunno|mailfrom alice@ok.fault.test: spf=none|" \
		"spf=none smtp.mailfrom=alice@ok.fault.test" "none|$SPF_OK|mailfrom|-" \
		MT_FROM='<alice@ok.fault.test>'
	expect_eq "$p: the filter process is still the same" "$fpid" "$(filter_pid $i)"
	stop_and_check $i

	i=SF2 p="s33 SF2"
	# dns_timeout 3s, spf_timeout 1s: the evaluation deadline comes first.
	new_instance $i spf-fault.conf "dns_timeout = 3s" "spf_timeout = 1s"
	start_daemon $i || return
	fpid=$(filter_pid $i)
	spf_timed $i "$p: a:slow.fault.test answered after 1.5 s: temperror at spf_timeout" \
		alice@spfslow.fault.test 900 1450
	spf_timed $i "$p: the sender domain's TXT never answered: temperror at spf_timeout" \
		alice@timeout.fault.test 900 1450
	expect_eq "$p: the filter process is still the same" "$fpid" "$(filter_pid $i)"
	stop_and_check $i

	# The prefetch: spfgate's lookups come in two rounds, and the fault
	# responder answers a round only if all of it was asked at once (a
	# query that comes in after the first one's answer gets SERVFAIL: a
	# walk that asked one lookup at a time would end in temperror).
	i=SF3 p="s33 SF3"
	new_instance $i spf-fault.conf "dns_timeout = 3s" "spf_timeout = 10s"
	start_daemon $i || return
	spf_client $SPF_OK
	spf_accepted $i "$p: the record, then six lookups in two rounds, each asked at once: pass" \
		"rcpt|pass|dunno|mailfrom alice@spfgate.fault.test: spf=pass|mechanism=mx:gate1b.fault.test" \
		"spf=pass smtp.mailfrom=alice@spfgate.fault.test" "pass|$SPF_OK|mailfrom|mx:gate1b.fault.test" \
		MT_FROM='<alice@spfgate.fault.test>'
	local n counts=""
	for n in spfgate gate1a gate1b gate1c gate1d gate2a gate2b; do
		counts+="$n=$(fault_count "$n.fault.test") "
	done
	# a:gate1c and include:gate1d come after the match: the prefetch asked
	# them (within the ten-term limit), the walk did not again.
	expect_eq "$p: each name asked once, the ones after the match too" \
		"spfgate=1 gate1a=1 gate1b=1 gate1c=1 gate1d=1 gate2a=1 gate2b=1 " "$counts"
	expect_eq "$p: no query came in late" "0" \
		"$(grep -c ' gate .* came in ' "$DNS_FAULT_LOG")"
	stop_and_check $i
}

# ---- All of them --------------------------------------------------------------------

spf_scenarios() {
	dns_start || return
	s30_spf_main
	s31_spf_strict
	s32_spf_helo
	s33_spf_faults
	dns_stop
	spf_logs_clean
}

# Under valgrind (valgrind_run has started the DNS servers).
spf_valgrind() {
	SPF_VG=valgrind s30_spf_main
	SPF_VG=valgrind s31_spf_strict
}

# No daemon of these scenarios crashed, restarted its filter process or
# printed a sanitizer report.
spf_logs_clean() {
	local f bad=""
	CUR_INST=""
	CUR_TAG=""
	for f in "$WORK"/S*/log; do
		[[ -f $f ]] || continue
		bad+=$(grep -H -E 'died on signal|exited with status|ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer' "$f" | head -n 3)
	done
	expect_eq "spf: no crash, filter restart or sanitizer report in the daemons' logs" "" "$bad"
}
