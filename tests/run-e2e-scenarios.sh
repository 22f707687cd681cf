# shellcheck shell=bash disable=SC1091,SC2016,SC2034,SC2153,SC2154
# tests/run-e2e-scenarios.sh: postern end to end behind real MTAs,
# sourced by tests/run-integration after lib.sh, dns.sh and
# run-dkim-scenarios.sh (whose txt_strings it uses). The Postfix
# instance comes from tests/e2e/postfix.sh, Sendmail from
# tests/e2e/sendmail.sh.
#
#   e2e_scenarios   makes the keys, starts the DNS servers (dns_start),
#                   postern (instance PF, tests/fixtures/e2e.conf), the
#                   smtp-sink next hop and a private Postfix whose
#                   smtpd_milters and non_smtpd_milters are postern; runs
#                   s80 ... s89; stops them all
#
#   s80_e2e_clean     a clean sender (SPF pass, DKIM-signed by dkimpy with a
#                     key in e2e.test) is delivered: Authentication-Results
#                     is the first header, Received-SPF follows, dkim=pass
#   s81_e2e_forged    a forged sender (SPF fail): 550 5.7.23 at RCPT
#   s82_e2e_noptr     a client without PTR: 450 4.7.25
#   s83_e2e_dnsbl     a client listed in bl.test: 554 5.7.1
#   s84_e2e_helo      a bad HELO: 504 5.5.2 (not FQDN), 501 5.5.2 (invalid)
#   s85_e2e_sender    an unknown sender domain (NXDOMAIN): 550 5.1.8
#   s86_e2e_greylist  a first-time triplet: 450 4.7.1; after greylist_delay
#                     (3 s, really waited) the retry is delivered with
#                     X-Greylist
#   s87_e2e_submit    Postfix's sendmail command (non_smtpd_milters): the
#                     message arrives signed by the key that posternctl
#                     keys made and activated; dkimpy verifies it against
#                     the test DNS
#   s88_e2e_sendmail  Sendmail (unpacked from Debian's sendmail-bin, its own
#                     .cf with INPUT_MAIL_FILTER on a loopback port): a
#                     rejection as its client sees it, a signed outgoing
#                     message (dkimpy verifies it)
#   s89_e2e_down      postern stopped: Postfix answers 451 4.7.1
#                     (milter_default_action = tempfail), Sendmail 451 4.3.2
#                     (F=T)
#
# Every scenario also checks its rows in the SQLite log: connections,
# messages (action, reply, stage, decided_by) and checks.
#
# Ports (all on 127.0.0.1): Postfix's smtpd 2525, smtp-sink 2526 (the
# next hop of both MTAs), Sendmail 2527; postern the instance port (lib.sh).
# Zone: tests/fixtures/dns/e2e.test.zone (its table says what each name
# is for); clients from 113.0.203.in-addr.arpa and example.test:
#   203.0.113.1   good.example.test  clean (greylist_allow_clients)
#   203.0.113.4   multi-b.example.test  forged sender (FCrDNS pass)
#   203.0.113.5   (no PTR)
#   203.0.113.7   bl7.example.test   listed in bl.test (127.0.0.2)
#   198.51.100.1  good2.example.test bad HELO
#   203.0.113.50  mx.example.test    greylisted
#   127.0.0.1     Sendmail's client for outgoing mail: internal
#                 (internal_networks = 127.0.0.1/32); local submission
#   127.0.0.2     Sendmail's rejected client: listed in bl.test (RFC 5782)

E2E_INST=PF
E2E_SINK_PORT=2526
E2E_SM_PORT=2527
E2E_ID=mx.postern.test # myhostname of e2e.conf: the authserv-id
E2E_DIR=""             # $WORK/e2e
E2E_OUT=""             # the last swaks transcript
E2E_RC=0               # its exit status
E2E_SEL=""             # the selector posternctl made for local.e2e.test
E2E_KEYS_OK=no

# shellcheck source=e2e/postfix.sh
. "$top_srcdir/tests/e2e/postfix.sh"
# shellcheck source=e2e/sendmail.sh
. "$top_srcdir/tests/e2e/sendmail.sh"

# ---- Helpers ------------------------------------------------------------------

e2e_ctl() {
	"${POSTERNCTL:-$(dirname "$POSTERN")/posternctl}" -c "$WORK/$E2E_INST/postern.conf" "$@" 2>&1
}

# The connections of the current session: E2E_WHERE is an SQL condition
# on connections. Through Postfix every session sends its own XCLIENT
# PORT (E2E_CPORT), so address and port name its connection (Postfix
# also opens one milter connection for the real client, 127.0.0.1,
# before XCLIENT replaces it: that one is not looked at). Elsewhere
# (local submission, Sendmail) it is the address and the rows after the
# mark.
E2E_WHERE="0"
E2E_CPORT=41000

# e2e_mark ADDR: the next session's rows are those of ADDR after the
# last connections row now.
e2e_mark() {
	local m
	m=$(sql "$E2E_INST" "select coalesce(max(id), 0) from connections")
	[[ $m =~ ^[0-9]+$ ]] || m=0
	E2E_WHERE="id > $m and client_addr = '$1'"
	CUR_INST=$E2E_INST
	CUR_TAG=""
}

q_e2e_conn_ids() {
	echo "(select id from connections where $E2E_WHERE)"
}

# "client_addr|client_port|client_name|ptr_name|iprev|bypass"
q_e2e_conn() {
	echo "select client_addr, client_port, coalesce(client_name, ''), coalesce(ptr_name, ''),
	             coalesce(iprev, ''), coalesce(bypass, '')
	      from connections where id in $(q_e2e_conn_ids) order by id"
}

# "action|reply|stage|decided_by|sender|recipients|rejected_recipients|queue_id"
q_e2e_msg() {
	echo "select action, coalesce(reply, ''), coalesce(stage, ''), coalesce(decided_by, ''),
	             coalesce(sender, ''), coalesce(recipients, ''),
	             coalesce(rejected_recipients, ''), coalesce(queue_id, '')
	      from messages where conn_id in $(q_e2e_conn_ids) order by id"
}

# "stage|name|result|action" of the check rows [with an SQL condition].
q_e2e_checks() {
	echo "select stage, name, result, action from checks
	      where conn_id in $(q_e2e_conn_ids) ${1:+and ($1)} order by id"
}

# "name|detail" of the check rows [with an SQL condition].
q_e2e_details() {
	echo "select name, coalesce(detail, '') from checks
	      where conn_id in $(q_e2e_conn_ids) ${1:+and ($1)} order by id"
}

# e2e_swaks ADDR SWAKS-ARGS...: one SMTP session through Postfix as
# client ADDR (XCLIENT ADDR and a new PORT); transcript in E2E_OUT,
# status in E2E_RC.
e2e_swaks() {
	local addr=$1
	shift
	E2E_CPORT=$((E2E_CPORT + 1))
	E2E_WHERE="client_addr = '$addr' and client_port = $E2E_CPORT"
	CUR_INST=$E2E_INST
	CUR_TAG=""
	E2E_OUT=$(pf_swaks --xclient-addr "$addr" --xclient-port "$E2E_CPORT" "$@")
	E2E_RC=$?
}

# e2e_reply COMMAND-PREFIX: the reply swaks got to the last command
# that starts with COMMAND-PREFIX (pf_reply).
e2e_reply() {
	pf_reply "$1" "$E2E_OUT"
}

# e2e_diag: the transcript and the MTA logs, for a failure.
e2e_diag() {
	echo "swaks:"
	indent "$E2E_OUT"
	if [[ -n $PF_LOG ]]; then
		echo "Postfix maillog, last lines:"
		indent "$(tail -n 8 "$PF_LOG" 2>/dev/null)"
	fi
}

# e2e_expect_reply DESC COMMAND-PREFIX EXPECTED: the reply to a command.
e2e_expect_reply() {
	local got
	got=$(e2e_reply "$2")
	if [[ $got == "$3" ]]; then
		report_ok "$1"
	else
		report_fail "$1" "expected reply to '$2': $3" "found: $got" "$(e2e_diag)"
	fi
}

# The queue id of the last session (pf_queued_as).
e2e_queued_as() {
	pf_queued_as "$E2E_OUT"
}

# e2e_sink_file QUEUE-ID: the sink file whose Received header says
# "id QUEUE-ID" (waits up to 10 s); status 1 if none.
e2e_sink_file() {
	local qid=$1 f deadline
	deadline=$(($(now_ms) + 10000))
	while :; do
		for f in $(sink_files); do
			if grep -Eq "[[:space:]]id $qid(;|[[:space:]]|\$)" "$f" 2>/dev/null; then
				echo "$f"
				return 0
			fi
		done
		(($(now_ms) > deadline)) && return 1
		sleep 0.05
	done
}

# e2e_headers FILE: the header of a delivered message, unfolded, one
# field per line.
e2e_headers() {
	sink_message "$1" | tr -d '\r' | awk '
		/^$/ { exit }
		/^[ \t]/ { h = h " " substr($0, match($0, /[^ \t]/)); next }
		{ if (h != "") print h; h = $0 }
		END { if (h != "") print h }'
}

# e2e_verify FILE: dkimpy verifies every DKIM-Signature of a delivered
# message against NSD; prints verify.py's lines, returns its status.
e2e_verify() {
	local eml
	eml=$E2E_DIR/verify-$(basename "$1").eml
	sink_message "$1" >"$eml"
	"$PYTHON" "$top_srcdir/tests/dkim/verify.py" -s "127.0.0.1:$DNS_NSD_PORT" "$eml" 2>&1
}

# e2e_expect_rows DESC QUERY EXPECTED: rows of the instance, polled until
# they match (5 s).
e2e_expect_rows() {
	expect_sql "$1" "$E2E_INST" "$2" "$3"
}

# e2e_ere TEXT: TEXT as an ERE that matches it literally.
e2e_ere() {
	# shellcheck disable=SC2001 # one sed for a whole character class
	sed -e 's/[][\\.*^$+?(){}|]/\\&/g' <<<"$1"
}

# e2e_expect_rows_re DESC QUERY ERE: the rows (joined by newlines) match ERE.
e2e_re() { [[ $1 =~ $2 ]]; }
e2e_expect_rows_re() {
	if poll_sql "$E2E_INST" "$2" e2e_re "$3"; then
		report_ok "$1"
	else
		report_fail "$1" "expected rows matching: $3" "found rows:" "$(indent "$POLLED")"
	fi
}

# The check rows every external session starts with, all at RCPT
# (delay_reject = yes): client, HELO, then sender restrictions passed.
E2E_PASS_CLIENT="rcpt|reject_rbl_client|pass|dunno
rcpt|reject_unknown_client_hostname|pass|dunno"
E2E_PASS_HELO="rcpt|reject_invalid_helo_hostname|pass|dunno
rcpt|reject_non_fqdn_helo_hostname|pass|dunno"
E2E_PASS_SENDER="rcpt|reject_non_fqdn_sender|pass|dunno
rcpt|reject_unknown_sender_domain|pass|dunno
rcpt|check_spf|pass|dunno"

# e2e_refused P DESC ADDR NAME HELO FROM RCPT REPLY ACTION DECIDED CHECKS:
# a session through Postfix refused at RCPT: the reply as swaks sees it,
# the messages row (action, reply, stage rcpt, decided_by, the envelope
# with the recipient among the rejected ones) and the check rows
# (stage|name|result|action, in order).
e2e_refused() {
	local p=$1 desc=$2 addr=$3 name=$4 helo=$5 from=$6 rcpt=$7 reply=$8 action=$9
	local decided=${10} checks=${11}
	e2e_swaks "$addr" --xclient-name "$name" --xclient-helo "$helo" --ehlo "$helo" \
		--from "$from" --to "$rcpt"
	e2e_expect_reply "$p: $desc: swaks is told '${reply:0:40}...' at RCPT" "RCPT TO" "$reply"
	e2e_expect_rows "$p: $desc: messages row ($action, decided by $decided)" "$(q_e2e_msg)" \
		"$action|$reply|rcpt|$decided|$from||$rcpt|"
	e2e_expect_rows "$p: $desc: check rows" "$(q_e2e_checks)" "$checks"
}

# ---- Setup ------------------------------------------------------------------------

# e2e_keys: the remote sender's key (ext, dkimpy signs with it) and
# postern's own key for local.e2e.test (posternctl keys generate), their
# records appended to the fixture copy of e2e.test before dns_start.
e2e_keys() {
	local out rec pub
	CUR_INST=""
	CUR_TAG=""
	mkdir -p "$E2E_DIR" "$WORK/$E2E_INST/db"
	chmod 755 "$E2E_DIR"
	# The daemon (user nobody) keeps its -wal and -shm files there.
	chown nobody "$WORK/$E2E_INST/db"
	if ! out=$(openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
		-out "$E2E_DIR/ext.pem" 2>&1); then
		report_fail "e2e: openssl makes the remote sender's key" "$out"
		return 1
	fi
	pub=$(openssl pkey -in "$E2E_DIR/ext.pem" -pubout -outform DER 2>/dev/null | base64 -w0)
	echo "ext._domainkey IN TXT $(txt_strings "v=DKIM1; k=rsa; p=$pub")" >>"$FIX/dns/e2e.test.zone"
	out=$(e2e_ctl keys generate local.e2e.test)
	rec=$(printf '%s\n' "$out" | grep -E '^[^ ]+\._domainkey\.local\.e2e\.test\. IN TXT \(' | head -n 1)
	E2E_SEL=${rec%%._domainkey.*}
	if [[ -z $rec ]]; then
		report_fail "e2e: posternctl keys generate local.e2e.test prints a record" "$(indent "$out")"
		return 1
	fi
	report_ok "e2e: posternctl keys generate local.e2e.test (selector $E2E_SEL)"
	printf '%s\n' "$rec" >>"$FIX/dns/e2e.test.zone"
}

# e2e_keys_activate: check and activate postern's key (NSD serves it
# now), and the signing rule for *@local.e2e.test.
e2e_keys_activate() {
	local out out2
	CUR_INST=""
	CUR_TAG=""
	out=$(e2e_ctl keys activate local.e2e.test "$E2E_SEL")
	expect_contains "e2e: posternctl keys activate, after its check against NSD" "is active" "$out"
	out=$(e2e_ctl keys sign-for '*@local.e2e.test' local.e2e.test)
	if out2=$(e2e_ctl keys verify-files); then
		report_ok "e2e: posternctl keys sign-for '*@local.e2e.test'; the key table loads"
		E2E_KEYS_OK=yes
	else
		report_fail "e2e: posternctl keys sign-for; the key table loads" "$(indent "$out")" \
			"$(indent "$out2")"
	fi
}

# e2e_message FILE FROM TO SUBJECT: a plain message (LF line ends).
e2e_message() {
	cat >"$1" <<EOF
From: Sender <$2>
To: <$3>
Subject: $4
Date: $(date -R)
Message-ID: <$(date +%s%N).$RANDOM@${2#*@}>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Hello,

this is a test message of tests/run-e2e-scenarios.sh: $4.

-- 
Sender
EOF
}

e2e_setup() {
	local tool
	E2E_DIR=$WORK/e2e
	CUR_INST=""
	CUR_TAG=""
	for tool in postfix smtp-sink swaks sendmail postqueue openssl; do
		if ! command -v "$tool" >/dev/null; then
			report_fail "e2e: $tool is installed (packages postfix, swaks, openssl)"
			return 1
		fi
	done
	new_instance "$E2E_INST" e2e.conf
	e2e_keys || return 1
	dns_start || return 1
	e2e_keys_activate
	start_daemon "$E2E_INST" || return 1
	PF_SMTPD_PORT=2525
	PF_RELAY_PORT=$E2E_SINK_PORT
	PF_RELAY_DOMAINS="example.test e2e.test"
	if pf_setup "$E2E_DIR/postfix" "inet:127.0.0.1:${D_PORT[$E2E_INST]}"; then
		report_ok "e2e: pf_setup writes a private Postfix config (postfix check passes)"
	else
		report_fail "e2e: pf_setup writes a private Postfix config" "$(indent "$PF_ERR")"
		return 1
	fi
	dns_hook_exit e2e_stop_all
	if sink_start "$E2E_DIR/sink" "$E2E_SINK_PORT"; then
		report_ok "e2e: smtp-sink listens on 127.0.0.1:$E2E_SINK_PORT"
	else
		report_fail "e2e: smtp-sink listens on 127.0.0.1:$E2E_SINK_PORT" "$(indent "$PF_ERR")"
		return 1
	fi
	if pf_start; then
		report_ok "e2e: the private Postfix listens on 127.0.0.1:$PF_SMTPD_PORT"
	else
		report_fail "e2e: the private Postfix starts" "$(indent "$PF_ERR")"
		return 1
	fi
}

e2e_stop_all() {
	pf_stop
	sink_stop
	sm_stop
}

# ---- s80: a clean sender --------------------------------------------------------------

s80_e2e_clean() {
	local p="s80 clean" msg=$E2E_DIR/clean.eml qid f hdrs first
	e2e_message "$E2E_DIR/clean.txt" alice@e2e.test bob@example.test "clean sender"
	"$PYTHON" "$top_srcdir/tests/dkim/sign.py" "$E2E_DIR/ext.pem" e2e.test ext \
		<"$E2E_DIR/clean.txt" >"$msg"
	e2e_swaks 203.0.113.1 --xclient-name good.example.test \
		--xclient-helo good.example.test --ehlo good.example.test \
		--from alice@e2e.test --to bob@example.test --data "@$msg"
	e2e_expect_reply "$p: RCPT TO is accepted" "RCPT TO" "250 2.1.5 Ok"
	qid=$(e2e_queued_as)
	expect_match "$p: the message is queued" '^[0-9A-Za-z]+$' "$qid"
	[[ -n $qid ]] || return
	if ! f=$(e2e_sink_file "$qid"); then
		report_fail "$p: the message reaches smtp-sink" "$(e2e_diag)"
		return
	fi
	report_ok "$p: the message reaches smtp-sink ($(basename "$f"))"
	hdrs=$(e2e_headers "$f")
	first=$(head -n 1 <<<"$hdrs")
	expect_match "$p: Authentication-Results is the first header" \
		"^Authentication-Results: $E2E_ID; " "$first"
	expect_match "$p: Authentication-Results: iprev=pass" '[ ;]iprev=pass( |;|$)' "$first"
	expect_match "$p: Authentication-Results: spf=pass smtp.mailfrom=alice@e2e.test" \
		'[ ;]spf=pass smtp\.mailfrom=alice@e2e\.test( |;|$)' "$first"
	expect_match "$p: Authentication-Results: dkim=pass header.d=e2e.test header.s=ext" \
		'[ ;]dkim=pass header\.d=e2e\.test( .*)? header\.s=ext( |;|$)' "$first"
	expect_match "$p: Received-SPF: pass, second, above Postfix's Received" \
		'^Received-SPF: [Pp]ass .*client-ip=203\.0\.113\.1;.*identity=mailfrom;' \
		"$(sed -n 2p <<<"$hdrs")"
	expect_match "$p: then Postfix's Received header" \
		"^Received: from good\.example\.test \(good\.example\.test \[203\.0\.113\.1\]\) by $PF_MYHOSTNAME \(Postfix\) with ESMTP id $qid " \
		"$(sed -n 3p <<<"$hdrs")"
	expect_eq "$p: one Authentication-Results and one Received-SPF" "1 1" \
		"$(grep -c '^Authentication-Results:' <<<"$hdrs") $(grep -c '^Received-SPF:' <<<"$hdrs")"
	expect_match "$p: the sender's signature still verifies with dkimpy" \
		'^0 d=e2e\.test s=ext a=rsa-sha256 pass$' "$(e2e_verify "$f")"
	e2e_expect_rows "$p: connections row (the XCLIENT client, FCrDNS pass)" "$(q_e2e_conn)" \
		"203.0.113.1|$E2E_CPORT|good.example.test|good.example.test|pass|"
	e2e_expect_rows "$p: messages row (accept at EOM, Postfix's queue id $qid)" "$(q_e2e_msg)" \
		"accept||eom||alice@e2e.test|bob@example.test||$qid"
	e2e_expect_rows "$p: check rows (greylisting skipped: greylist_allow_clients)" "$(q_e2e_checks)" \
		"$E2E_PASS_CLIENT
$E2E_PASS_HELO
$E2E_PASS_SENDER
rcpt|check_greylist|skip|dunno
eom|dkim|pass|dunno"
	e2e_expect_rows "$p: the dkim row names the signature" "$(q_e2e_details "name = 'dkim'")" \
		"dkim|dkim=pass d=e2e.test s=ext a=rsa-sha256 b=$(sed -n 's/.* header\.b="\{0,1\}\([^ ;"]*\).*/\1/p' <<<"$first") i=@e2e.test bits=2048"
}

# ---- s81 ... s85: refused clients -------------------------------------------------------

s81_e2e_forged() {
	e2e_refused "s81 forged" "SPF fail (multi-b.example.test sends for e2e.test)" \
		203.0.113.4 multi-b.example.test multi-b.example.test alice@e2e.test bob@example.test \
		"550 5.7.23 <alice@e2e.test>: Sender address rejected: SPF fail: e2e.test does not designate 203.0.113.4 as permitted sender" \
		reject check_spf \
		"$E2E_PASS_CLIENT
$E2E_PASS_HELO
rcpt|reject_non_fqdn_sender|pass|dunno
rcpt|reject_unknown_sender_domain|pass|dunno
rcpt|check_spf|fail|reject"
	e2e_expect_rows_re "s81 forged: the check_spf row says which mechanism failed" \
		"$(q_e2e_details "name = 'check_spf'")" \
		'^check_spf\|mailfrom alice@e2e\.test: spf=fail mechanism=-?all '
}

s82_e2e_noptr() {
	e2e_refused "s82 no PTR" "a client without a reverse name" \
		203.0.113.5 "[UNAVAILABLE]" nohost.example.test alice@e2e.test bob@example.test \
		"450 4.7.25 Client host rejected: cannot find your hostname, [203.0.113.5]" \
		defer reject_unknown_client_hostname \
		"rcpt|reject_rbl_client|pass|dunno
rcpt|reject_unknown_client_hostname|fail|defer"
	e2e_expect_rows "s82 no PTR: connections row (no PTR name, iprev fail)" "$(q_e2e_conn)" \
		"203.0.113.5|$E2E_CPORT|[203.0.113.5]||fail|"
}

s83_e2e_dnsbl() {
	e2e_refused "s83 DNSBL" "a client listed in bl.test" \
		203.0.113.7 bl7.example.test bl7.example.test alice@e2e.test bob@example.test \
		"554 5.7.1 Service unavailable; Client host [203.0.113.7] blocked using bl.test; Listed in bl.test: see https://bl.test/q?203.0.113.7" \
		reject reject_rbl_client \
		"rcpt|reject_rbl_client|fail|reject"
}

s84_e2e_helo() {
	e2e_refused "s84 HELO" "HELO localhost (not a FQDN)" \
		198.51.100.1 good2.example.test localhost alice@e2e.test bob@example.test \
		"504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname" \
		reject reject_non_fqdn_helo_hostname \
		"$E2E_PASS_CLIENT
rcpt|reject_invalid_helo_hostname|pass|dunno
rcpt|reject_non_fqdn_helo_hostname|fail|reject"
	e2e_refused "s84 HELO" "HELO bad_helo! (invalid)" \
		198.51.100.1 good2.example.test 'bad_helo!' alice@e2e.test bob@example.test \
		"501 5.5.2 <bad_helo!>: Helo command rejected: Invalid name" \
		reject reject_invalid_helo_hostname \
		"$E2E_PASS_CLIENT
rcpt|reject_invalid_helo_hostname|fail|reject"
}

s85_e2e_sender() {
	e2e_refused "s85 sender" "a sender domain that does not exist" \
		203.0.113.1 good.example.test good.example.test a@nosuch.e2e.test bob@example.test \
		"550 5.1.8 <a@nosuch.e2e.test>: Sender address rejected: Domain not found" \
		reject reject_unknown_sender_domain \
		"$E2E_PASS_CLIENT
$E2E_PASS_HELO
rcpt|reject_non_fqdn_sender|pass|dunno
rcpt|reject_unknown_sender_domain|fail|reject"
}

# ---- s86: greylisting ----------------------------------------------------------------

s86_e2e_greylist() {
	local p="s86 greylist" msg=$E2E_DIR/grey.eml reply wait qid f hdrs
	local addr=203.0.113.50 name=mx.example.test from=grey@e2e.test rcpt=carol@example.test
	e2e_message "$msg" "$from" "$rcpt" "greylisted first"
	e2e_swaks $addr --xclient-name $name --xclient-helo $name --ehlo $name \
		--from $from --to $rcpt --data "@$msg"
	reply=$(e2e_reply "RCPT TO")
	if [[ $reply =~ ^450\ 4\.7\.1\ \<$rcpt\>:\ Recipient\ address\ rejected:\ Greylisted,\ please\ try\ again\ in\ ([0-9]+)\ seconds$ ]]; then
		wait=${BASH_REMATCH[1]}
		report_ok "$p: the first attempt is told '$reply'"
	else
		report_fail "$p: the first attempt is told 450 4.7.1 ... Greylisted ... at RCPT" \
			"found: $reply" "$(e2e_diag)"
		return
	fi
	e2e_expect_rows "$p: first attempt: messages row (defer, decided by check_greylist)" \
		"$(q_e2e_msg)" "defer|$reply|rcpt|check_greylist|$from||$rcpt|"
	e2e_expect_rows "$p: first attempt: check rows" "$(q_e2e_checks)" \
		"$E2E_PASS_CLIENT
$E2E_PASS_HELO
$E2E_PASS_SENDER
rcpt|check_greylist|fail|defer"
	# Really wait: greylist_delay is 3 s.
	sleep $((wait + 1))
	e2e_swaks $addr --xclient-name $name --xclient-helo $name --ehlo $name \
		--from $from --to $rcpt --data "@$msg"
	e2e_expect_reply "$p: the retry $((wait + 1)) s later is accepted at RCPT" "RCPT TO" "250 2.1.5 Ok"
	qid=$(e2e_queued_as)
	expect_match "$p: the retry is queued" '^[0-9A-Za-z]+$' "$qid"
	[[ -n $qid ]] || return
	if ! f=$(e2e_sink_file "$qid"); then
		report_fail "$p: the retry reaches smtp-sink" "$(e2e_diag)"
		return
	fi
	report_ok "$p: the retry reaches smtp-sink"
	hdrs=$(e2e_headers "$f")
	expect_match "$p: it carries X-Greylist" \
		"^X-Greylist: delayed [0-9]+ seconds by postern at $E2E_ID; " "$hdrs"
	e2e_expect_rows "$p: retry: messages row (accept, queue id $qid)" "$(q_e2e_msg)" \
		"accept||eom||$from|$rcpt||$qid"
	e2e_expect_rows "$p: retry: check rows (greylisting passed; no signature: dkim skip)" \
		"$(q_e2e_checks)" \
		"$E2E_PASS_CLIENT
$E2E_PASS_HELO
$E2E_PASS_SENDER
rcpt|check_greylist|pass|dunno
eom|dkim|skip|dunno"
}

# ---- s87: local submission with Postfix's sendmail --------------------------------------

# e2e_signed P FILE SELECTOR: the delivered message carries postern's
# DKIM-Signature for local.e2e.test and dkimpy verifies it.
e2e_signed() {
	local p=$1 f=$2 hdrs
	hdrs=$(e2e_headers "$f")
	expect_match "$p: it carries postern's DKIM-Signature (d=local.e2e.test, s=$E2E_SEL)" \
		"^DKIM-Signature: .*[ ;]d=local\.e2e\.test;.*[ ;]s=$E2E_SEL;" "$hdrs"
	expect_match "$p: dkimpy verifies it against the test DNS" \
		"^0 d=local\.e2e\.test s=$E2E_SEL a=rsa-sha256 pass\$" "$(e2e_verify "$f")"
}

s87_e2e_submit() {
	local p="s87 sendmail(1)" msg=$E2E_DIR/submit.eml out f hdrs qid
	[[ $E2E_KEYS_OK == yes ]] || {
		report_fail "$p: the key of local.e2e.test is active (see above)"
		return
	}
	e2e_message "$msg" carol@local.e2e.test dave@example.test "local submission"
	e2e_mark 127.0.0.1
	if out=$(pf_sendmail carol@local.e2e.test dave@example.test <"$msg"); then
		report_ok "$p: Postfix's sendmail -C accepts the message"
	else
		report_fail "$p: Postfix's sendmail -C accepts the message" "$(indent "$out")"
		return
	fi
	# Postfix's queue id is in the first log line of pickup.
	qid=""
	local deadline=$(($(now_ms) + 10000))
	until [[ -n $qid ]] || (($(now_ms) > deadline)); do
		qid=$(sed -n 's/.* postfix\/pickup\[[0-9]*\]: \([0-9A-F]*\): uid=0 from=<carol@local\.e2e\.test>.*/\1/p' "$PF_LOG" | tail -n 1)
		[[ -n $qid ]] || sleep 0.05
	done
	if [[ -z $qid ]] || ! f=$(e2e_sink_file "$qid"); then
		report_fail "$p: the message reaches smtp-sink" "queue id: ${qid:-none}" \
			"$(indent "$(tail -n 12 "$PF_LOG")")" "$(indent "$(pf_queue)")"
		return
	fi
	report_ok "$p: the message reaches smtp-sink (queue id $qid)"
	e2e_signed "$p" "$f"
	e2e_expect_rows "$p: connections row (localhost, port 0: non_smtpd_milters)" \
		"$(q_e2e_conn)" "127.0.0.1|0|localhost|||local"
	e2e_expect_rows "$p: messages row (accept, queue id $qid)" "$(q_e2e_msg)" \
		"accept||eom||carol@local.e2e.test|dave@example.test||$qid"
	e2e_expect_rows "$p: check rows (restrictions skipped, signed)" \
		"$(q_e2e_checks "msg_id is not null")" \
		"mail|bypass|skip|none
mail|check_spf|skip|none
eom|dkim_sign|pass|none"
	e2e_expect_rows "$p: the dkim_sign row names the key" "$(q_e2e_details "name = 'dkim_sign'")" \
		"dkim_sign|d=local.e2e.test s=$E2E_SEL a=rsa-sha256"
}

# ---- s88: Sendmail -------------------------------------------------------------------

s88_e2e_sendmail() {
	local p="s88 Sendmail" msg=$E2E_DIR/sendmail.eml qid f reply
	SM_PORT=$E2E_SM_PORT
	SM_RELAY_PORT=$E2E_SINK_PORT
	SM_RELAY_DOMAINS=example.test
	if ! sm_setup "$E2E_DIR/sendmail" "inet:${D_PORT[$E2E_INST]}@127.0.0.1"; then
		report_fail "$p: a private Sendmail .cf with INPUT_MAIL_FILTER (m4)" "$SM_ERR"
		return
	fi
	report_ok "$p: m4 makes a .cf with INPUT_MAIL_FILTER(\`postern', \`S=inet:${D_PORT[$E2E_INST]}@127.0.0.1, F=T, T=S:30s;R:30s;E:5m')"
	if ! sm_start; then
		report_fail "$p: Sendmail listens on 127.0.0.1:$SM_PORT" "$SM_ERR"
		return
	fi
	report_ok "$p: Sendmail listens on 127.0.0.1:$SM_PORT"

	# A rejection: 127.0.0.2 (not internal here) is listed in bl.test.
	e2e_mark 127.0.0.2
	E2E_OUT=$(sm_swaks --local-interface 127.0.0.2 --ehlo client.example.test \
		--from alice@e2e.test --to bob@example.test)
	reply="554 5.7.1 Service unavailable; Client host [127.0.0.2] blocked using bl.test; RFC 5782 test entry"
	e2e_expect_reply "$p: a client listed in bl.test is told '554 5.7.1 ...' at RCPT" "RCPT TO" "$reply"
	# Sendmail gives the queue id at MAIL already (macro i).
	e2e_expect_rows_re "$p: rejection: messages row (reject, decided by reject_rbl_client)" \
		"$(q_e2e_msg)" \
		"^reject\|$(e2e_ere "$reply")\|rcpt\|reject_rbl_client\|alice@e2e\.test\|\|bob@example\.test\|[0-9A-Za-z]{14}\$"
	e2e_expect_rows "$p: rejection: check rows" "$(q_e2e_checks)" "rcpt|reject_rbl_client|fail|reject"

	# A signed outgoing message: 127.0.0.1 is internal.
	[[ $E2E_KEYS_OK == yes ]] || return
	e2e_message "$msg" erin@local.e2e.test frank@example.test "outgoing through Sendmail"
	e2e_mark 127.0.0.1
	E2E_OUT=$(sm_swaks --ehlo client.example.test --from erin@local.e2e.test \
		--to frank@example.test --data "@$msg")
	qid=$(e2e_queued_as)
	expect_match "$p: Sendmail accepts the outgoing message" '^[0-9A-Za-z]+$' "$qid"
	[[ -n $qid ]] || {
		indent "$E2E_OUT" | diag
		return
	}
	if ! f=$(e2e_sink_file "$qid"); then
		report_fail "$p: Sendmail relays it to smtp-sink" "$(e2e_diag)" \
			"Sendmail:" "$(indent "$(tail -n 20 "$SM_DIR/stderr" "$SM_DIR/trace.log" 2>&1)")"
		return
	fi
	report_ok "$p: Sendmail relays it to smtp-sink"
	e2e_signed "$p" "$f"
	e2e_expect_rows_re "$p: connections row (internal client)" "$(q_e2e_conn)" \
		'^127\.0\.0\.1\|[1-9][0-9]*\|[^|]*\|\|\|internal$'
	e2e_expect_rows "$p: messages row (accept, Sendmail's queue id $qid)" "$(q_e2e_msg)" \
		"accept||eom||erin@local.e2e.test|frank@example.test||$qid"
	e2e_expect_rows "$p: check rows (restrictions skipped, signed)" \
		"$(q_e2e_checks "msg_id is not null")" \
		"mail|bypass|skip|none
mail|check_spf|skip|none
eom|dkim_sign|pass|none"
}

# ---- s89: postern stopped --------------------------------------------------------------

s89_e2e_down() {
	local p="s89 postern down"
	stop_and_check "$E2E_INST"
	e2e_swaks 203.0.113.1 --xclient-name good.example.test \
		--xclient-helo good.example.test --ehlo good.example.test \
		--from alice@e2e.test --to bob@example.test
	e2e_expect_reply "$p: Postfix answers 451 4.7.1 (milter_default_action = tempfail)" \
		"MAIL FROM" "451 4.7.1 Service unavailable - try again later"
	expect_match "$p: Postfix logs why" \
		"warning: connect to Milter service inet:127\.0\.0\.1:${D_PORT[$E2E_INST]}: Connection refused" \
		"$(tail -n 20 "$PF_LOG")"
	if [[ -n $SM_PID ]]; then
		E2E_OUT=$(sm_swaks --ehlo client.example.test --from erin@local.e2e.test \
			--to frank@example.test)
		e2e_expect_reply "$p: Sendmail answers 451 4.3.2 (F=T)" "MAIL FROM" \
			"451 4.3.2 Please try again later"
	fi
}

# ---- The group -----------------------------------------------------------------------

e2e_scenarios() {
	local t0
	t0=$(now_ms)
	if e2e_setup; then
		s80_e2e_clean
		s81_e2e_forged
		s82_e2e_noptr
		s83_e2e_dnsbl
		s84_e2e_helo
		s85_e2e_sender
		s86_e2e_greylist
		s87_e2e_submit
		s88_e2e_sendmail
		s89_e2e_down
	fi
	e2e_stop_all
	[[ -n ${D_PID[$E2E_INST]:-} ]] && stop_and_check "$E2E_INST"
	dns_stop
	echo "# e2e: $((($(now_ms) - t0) / 1000)) s"
}
