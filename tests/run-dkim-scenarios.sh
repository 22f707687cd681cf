# shellcheck shell=bash disable=SC2016,SC2034,SC2119,SC2120,SC2153,SC2154
# tests/run-dkim-scenarios.sh: the DKIM scenarios of the integration suite,
# sourced by tests/run-integration after lib.sh, dns.sh and
# run-spf-scenarios.sh (whose spf_rows_match and spf_detail_has it uses).
#
#   dkim_scenarios  generates the keys, starts the DNS servers (dns_start)
#                   with the keys in dkim.test, runs s40 ... s46, stops
#                   the servers and the OpenDKIM peers
#   dkim_valgrind   s47: one verify pass, one hostile signature and one
#                   signing session with the daemon under valgrind (the
#                   caller has started the DNS servers)
#
#   s40_dkim_verify   dkim_verify with the default actions (KV): messages
#                     signed by dkimpy (RSA, Ed25519, relaxed and simple)
#                     and by OpenDKIM pass; tampering, missing, revoked and
#                     SERVFAIL keys, RFC 8301 (rsa-sha1, short keys), l=,
#                     dkim_max_signatures, no signature; the
#                     Authentication-Results methods and the check rows
#   s41_dkim_hostile  signatures that broke libopendkim (KV): a valid
#                     signature whose h= names From 40 times (oversigning:
#                     pass); h= over 64 names, long i=, i= ending in "=",
#                     z= over 1 KB, an 8 KB key record, a tag twice, an
#                     unknown algorithm: permerror; the filter process
#                     stays up
#   s42_dkim_l_tag    dkim_allow_l_tag = yes (KL)
#   s43_dkim_actions  dkim_fail_action = reject, dkim_temperror_action =
#                     defer, dkim_permerror_action = reject (KX): the EOM
#                     replies on the wire and the rows
#   s44_dkim_timeout  a key lookup that is never answered (KT, through
#                     tests/dkim/dns-proxy.py): temperror at dns_timeout
#   s45_dkim_sign     signing with the sqlite key table (KS): internal and
#                     authenticated clients are signed by the RSA and the
#                     Ed25519 key, side by side; the result verifies with
#                     dkimpy, Mail::DKIM and OpenDKIM; external clients and
#                     From: addresses without a rule are not signed;
#                     pending and retired keys never sign; an unsafe key
#                     file stops the daemon from starting
#   s46_dkim_sign_od  the same with an OpenDKIM KeyTable and refile:
#                     SigningTable (KO), and an unsafe key there
#   s48_dkim_local    local submission (localhost[127.0.0.1] port 0) is
#                     signed when 127.0.0.0/8 is not internal (KN)
#
# Zone: tests/fixtures/dns/dkim.test.zone (its table says what each
# selector is for); the keys are generated here, at test time.
# Messages: tests/fixtures/dkim/msg.eml, signed here; the hostile
# signatures are tests/fixtures/dkim/hostile-*.hdr (each goes on top of
# msg.eml). Helpers: tests/dkim/*.py, verify.pl.
# Clients: 203.0.113.50 (external, the default of the Lua scripts),
# 127.0.0.1 (internal: internal_networks is the default 127.0.0.0/8).

DKIM_ID=mx.postern.test # myhostname of every dkim-*.conf: the authserv-id
DKIM_PROXY_PORT=5355
DKIM_OD_SIGN_PORT=20490 # OpenDKIM as a signing peer
DKIM_OD_VERIFY_PORT=20491 # OpenDKIM as a verifying peer
DKIM_OD_SIGN2_PORT=20492 # OpenDKIM as a signing peer, simple/simple
DKIM_DIR=""     # $WORK/dkim: keys, messages, OpenDKIM configs
DKIM_KEYS=""    # $DKIM_DIR/keys: the private keys (0600, owned by nobody)
DKIM_PROXY_PID=""
DKIM_OD_PIDS=()
DKIM_TOOLS=$top_srcdir/tests/dkim
declare -A DKIM_PUB # selector -> p= value

# ---- Keys, zone, peers -----------------------------------------------------------

# txt_strings TEXT: TEXT as a zone file TXT rdata of quoted strings of at
# most 250 bytes each.
txt_strings() {
	local t=$1 out=""
	while ((${#t} > 250)); do
		out+="\"${t:0:250}\" "
		t=${t:250}
	done
	echo "$out\"$t\""
}

# dkim_keys_setup: generate the keys (once per suite) into $DKIM_KEYS and
# their TXT records into $DKIM_DIR/keys.zone. Reports one test.
dkim_keys_setup() {
	local sel spec bits out="" f
	DKIM_DIR=$WORK/dkim
	DKIM_KEYS=$DKIM_DIR/keys
	CUR_INST=""
	CUR_TAG=""
	if [[ -s $DKIM_DIR/keys.zone ]]; then
		return 0
	fi
	mkdir -p "$DKIM_KEYS"
	chmod 755 "$DKIM_DIR"
	chmod 700 "$DKIM_KEYS"
	for spec in rsa:2048 rsa1024:1024 rsa512:512 ed:ed25519 psr:2048 pse:ed25519 psx:2048 psp:2048; do
		sel=${spec%%:*}
		bits=${spec#*:}
		f=$DKIM_KEYS/$sel.pem
		if [[ $bits == ed25519 ]]; then
			out+=$(openssl genpkey -algorithm ED25519 -out "$f" 2>&1) || break
			DKIM_PUB[$sel]=$(openssl pkey -in "$f" -pubout -outform DER 2>/dev/null | tail -c 32 | base64 -w0)
			echo "$sel._domainkey IN TXT $(txt_strings "v=DKIM1; k=ed25519; p=${DKIM_PUB[$sel]}")"
		else
			out+=$(openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:"$bits" -out "$f" 2>&1) || break
			DKIM_PUB[$sel]=$(openssl pkey -in "$f" -pubout -outform DER 2>/dev/null | base64 -w0)
			echo "$sel._domainkey IN TXT $(txt_strings "v=DKIM1; k=rsa; p=${DKIM_PUB[$sel]}")"
		fi
		chmod 600 "$f"
	done >"$DKIM_DIR/keys.zone.new"
	# 8,316 bytes of key in 34 strings: the hostile key record.
	printf 'big._domainkey IN TXT %s\n' "$(txt_strings "v=DKIM1; k=rsa; p=$(head -c 8300 /dev/zero | tr '\0' 'A')")" \
		>>"$DKIM_DIR/keys.zone.new"
	chown -R nobody "$DKIM_KEYS"
	if [[ -z ${DKIM_PUB[pse]:-} ]] || [[ $(find "$DKIM_KEYS" -name '*.pem' -size +0 | wc -l) != 8 ]]; then
		report_fail "dkim: openssl generates the test keys (RSA 2048, 1024, 512, Ed25519)" "$out"
		return 1
	fi
	mv "$DKIM_DIR/keys.zone.new" "$DKIM_DIR/keys.zone"
	report_ok "dkim: openssl generates the test keys (RSA 2048, 1024, 512, Ed25519)"
	sed -e 's/\r$//' -e 's/$/\r/' "$FIX/dkim/msg.eml" >"$DKIM_DIR/msg.eml"
}

# dkim_zone_publish: the key records into dkim.test. Before dns_start they
# go into the fixture copy that dns_start serves; when NSD runs already
# (the valgrind run) into its copy as well, then a reload (SIGHUP).
# Reports one test: the RSA key of "rsa" is served.
dkim_zone_publish() {
	local z
	for z in "$FIX/dns/dkim.test.zone" ${DNS_NSD_PID:+"$DNS_DIR/dkim.test.zone"}; do
		[[ -f $z ]] || continue
		grep -q '^rsa._domainkey ' "$z" && continue
		cat "$DKIM_DIR/keys.zone" >>"$z"
	done
	[[ -n $DNS_NSD_PID ]] || return 0
	kill -HUP "$DNS_NSD_PID"
	dkim_zone_check
}

# dkim_zone_check: NSD serves the keys (the 8 KB one by TCP). One test.
dkim_zone_check() {
	local want got deadline
	want=$(head -c 40 <<<"${DKIM_PUB[rsa]}")
	deadline=$(($(now_ms) + 10000))
	until got=$(dns_query "$DNS_NSD_PORT" rsa._domainkey.dkim.test TXT +short) &&
		[[ $got == *"$want"* ]]; do
		(($(now_ms) > deadline)) && break
		sleep 0.1
	done
	CUR_INST=""
	CUR_TAG=""
	expect_contains "dkim: NSD serves the generated key records (rsa._domainkey.dkim.test)" "$want" "$got"
	got=$(dns_query "$DNS_NSD_PORT" big._domainkey.dkim.test TXT +tcp +short | tr -d '" \n' | wc -c)
	if ((got > 8192)); then
		report_ok "dkim: big._domainkey.dkim.test is over 8 KB ($got bytes)"
	else
		report_fail "dkim: big._domainkey.dkim.test is over 8 KB" "found $got bytes"
	fi
}

# dkim_proxy_start: tests/dkim/dns-proxy.py on $DKIM_PROXY_PORT in front of
# NSD. One test.
dkim_proxy_start() {
	[[ -n $DKIM_PROXY_PID ]] && return 0
	dns_hook_exit dkim_stop_helpers
	"$PYTHON" "$DKIM_TOOLS/dns-proxy.py" $DKIM_PROXY_PORT "$DNS_NSD_PORT" "$DKIM_DIR/proxy.log" \
		2>"$DKIM_DIR/proxy.stderr" &
	DKIM_PROXY_PID=$!
	CUR_INST=""
	CUR_TAG=""
	if dns_wait $DKIM_PROXY_PORT rsa._domainkey.dkim.test TXT NOERROR 10; then
		report_ok "dkim: the DNS proxy answers on 127.0.0.1:$DKIM_PROXY_PORT"
	else
		report_fail "dkim: the DNS proxy answers on 127.0.0.1:$DKIM_PROXY_PORT" \
			"$(tail -n 20 "$DKIM_DIR/proxy.stderr" "$DKIM_DIR/proxy.log" 2>&1)"
		return 1
	fi
}

dkim_stop_helpers() {
	dns_stop_pids "$DKIM_PROXY_PID" "${DKIM_OD_PIDS[@]}"
	DKIM_PROXY_PID=""
	DKIM_OD_PIDS=()
}

# dkim_opendkim MODE PORT [CANON]: OpenDKIM 2.11 as a milter on
# 127.0.0.1:PORT, mode s (signs as dkim.test, selector rsa, CANON,
# default relaxed/relaxed, for clients in 127.0.0.0/8) or v (verifies;
# its resolver, libunbound, asks NSD through a stub zone). Returns 1 if
# it does not listen. One test.
dkim_opendkim() {
	local mode=$1 port=$2 canon=${3:-relaxed/relaxed} conf=$DKIM_DIR/opendkim-$1$2.conf deadline pid
	dns_hook_exit dkim_stop_helpers
	cat >"$DKIM_DIR/unbound.conf" <<EOF
server:
    do-not-query-localhost: no
    module-config: "iterator"
    do-ip6: no
    # test. is one of unbound's default local zones (RFC 6761): always
    # NXDOMAIN unless it is given back.
    local-zone: "test." nodefault
stub-zone:
    name: "dkim.test"
    stub-addr: 127.0.0.1@$DNS_NSD_PORT
stub-zone:
    name: "servfail.test"
    stub-addr: 127.0.0.1@$DNS_NSD_PORT
EOF
	{
		echo "Mode $mode"
		echo "Socket inet:$port@127.0.0.1"
		echo "Syslog no"
		echo "RequireSafeKeys false"
		echo "Canonicalization $canon"
		echo "AuthservID opendkim.test"
		echo "AlwaysAddARHeader yes"
		echo "InternalHosts 127.0.0.0/8"
		echo "ResolverConfiguration $DKIM_DIR/unbound.conf"
		echo "PidFile $DKIM_DIR/opendkim-$mode$port.pid"
		if [[ $mode == s ]]; then
			echo "Domain dkim.test"
			echo "Selector rsa"
			echo "KeyFile $DKIM_KEYS/rsa.pem"
		fi
	} >"$conf"
	opendkim -f -x "$conf" >"$DKIM_DIR/opendkim-$mode$port.log" 2>&1 &
	pid=$!
	DKIM_OD_PIDS+=("$pid")
	deadline=$(($(now_ms) + 10000))
	CUR_INST=""
	CUR_TAG=""
	until ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; do
		if ! kill -0 "$pid" 2>/dev/null || (($(now_ms) > deadline)); then
			report_fail "dkim: OpenDKIM (mode $mode, $canon) listens on port $port" \
				"$(tail -n 20 "$DKIM_DIR/opendkim-$mode$port.log")"
			return 1
		fi
		sleep 0.05
	done
	report_ok "dkim: OpenDKIM (mode $mode, $canon) listens on port $port"
}

# ---- Messages -------------------------------------------------------------------

# dkim_sign OUT KEY DOMAIN SELECTOR [sign.py OPTIONS...] [< MESSAGE]: sign
# $DKIM_DIR/msg.eml (or the file given by IN=...) with dkimpy into
# $DKIM_DIR/OUT.eml.
dkim_sign() {
	local out=$1 key=$2 domain=$3 sel=$4
	shift 4
	"$PYTHON" "$DKIM_TOOLS/sign.py" "$DKIM_KEYS/$key.pem" "$domain" "$sel" "$@" \
		<"${IN:-$DKIM_DIR/msg.eml}" >"$DKIM_DIR/$out.eml"
}

# dkim_unescape TEXT: dkim.lua's escaped value back to bytes.
dkim_unescape() {
	printf '%b' "$1"
}

# dkim_session INST MSG [VAR=VALUE...]: dkim.lua sends $DKIM_DIR/MSG.eml
# (or MSG when it is a path).
dkim_session() {
	local inst=$1 msg=$2
	shift 2
	[[ $msg == /* ]] || msg=$DKIM_DIR/$msg.eml
	mt_session "$inst" dkim.lua MT_QID="dkim$((TAG_SEQ + 1))" MT_MSG="$msg" "$@"
}

# The transcript of a dkim.lua session that is accepted, without the
# header lines.
dkim_transcript() {
	grep -Ev '^(ar|sig)-' <<<"$OUT"
}
T_DKIM_ACCEPT=$'connect continue\nhelo continue\nmail continue\nrcpt bob@example.test continue\ndata continue\neoh continue\neom continue'

# dkim_ar_methods VALUE: the methods of an Authentication-Results value
# (unescaped), unfolded, one per line; "(not ours: ...)" when the
# authserv-id is not ours. Semicolons inside quotes do not split.
dkim_ar_methods() {
	local v=$1 i c q=0 cur="" first=1
	v=${v//$'\r'/ }
	v=${v//$'\n'/ }
	v=${v//$'\t'/ }
	for ((i = 0; i < ${#v}; i++)); do
		c=${v:i:1}
		if [[ $c == '"' ]]; then
			q=$((1 - q))
		elif [[ $c == ';' ]] && ((q == 0)); then
			dkim_ar_emit "$cur" $first || return 0
			first=0
			cur=""
			continue
		fi
		cur+=$c
	done
	dkim_ar_emit "$cur" $first
}

dkim_ar_emit() {
	local m
	local -a words
	read -r -a words <<<"$1"
	m="${words[*]}"
	if (($2 == 1)); then
		if [[ ${m,,} != "${DKIM_ID,,}" ]]; then
			echo "(not ours: $1)"
			return 1
		fi
		return 0
	fi
	[[ -n $m ]] && echo "$m"
	return 0
}

# dkim_method_has METHOD TOKEN: spf_detail_has's word, !word and ~ERE,
# and ?key=value: if the method has a word key=..., it is key=value.
dkim_method_has() {
	local m=$1 tok=$2 w key
	local -a words
	if [[ $tok == '?'* ]]; then
		key=${tok:1}
		key=${key%%=*}=
		read -ra words <<<"$m"
		for w in "${words[@]}"; do
			[[ $w == "$key"* && $w != "${tok:1}" ]] && return 1
		done
		return 0
	fi
	spf_detail_has "$m" "$tok"
}

# dkim_methods_match FOUND EXPECTED: one line of FOUND per line of
# EXPECTED; each EXPECTED line is tokens for dkim_method_has, the first of
# them the method itself ("dkim=pass"), which must be the first word.
dkim_methods_match() {
	local -a f e toks
	local i tok
	# A quoted-string is the same value as a token (RFC 8601, RFC 2045):
	# header.b="ab/cdEFG" is header.b=ab/cdEFG.
	mapfile -t f < <(sed -E 's/(header\.[a-z]+)="([^" ]*)"/\1=\2/g' <<<"$1")
	mapfile -t e <<<"$2"
	((${#f[@]} == ${#e[@]})) || return 1
	for i in "${!e[@]}"; do
		read -ra toks <<<"${e[i]}"
		[[ ${f[i]} == "${toks[0]}" || ${f[i]} == "${toks[0]} "* ]] || return 1
		for tok in "${toks[@]:1}"; do
			dkim_method_has "${f[i]}" "$tok" || return 1
		done
	done
}

# dkim_sig FILE [INDEX]: the sigtags.py line of a signature of a message
# file (INDEX from 0, default 0), in SIG_D SIG_S SIG_A SIG_B8 SIG_I SIG_L
# SIG_H SIG_C.
dkim_sig() {
	local line
	line=$("$PYTHON" "$DKIM_TOOLS/sigtags.py" "$1" | sed -n "$((${2:-0} + 1))p")
	dkim_sig_parse "$line"
}

dkim_sig_parse() {
	local w
	SIG_D="" SIG_S="" SIG_A="" SIG_B8="" SIG_I="" SIG_L="" SIG_H="" SIG_C=""
	for w in $1; do
		case $w in
		d=*) SIG_D=${w#d=} ;;
		s=*) SIG_S=${w#s=} ;;
		a=*) SIG_A=${w#a=} ;;
		b8=*) SIG_B8=${w#b8=} ;;
		i=*) SIG_I=${w#i=} ;;
		l=*) SIG_L=${w#l=} ;;
		h=*) SIG_H=${w#h=} ;;
		c=*) SIG_C=${w#c=} ;;
		esac
	done
}

# dkim_spec RESULT FILE [INDEX]: the expected Authentication-Results method
# (dkim_methods_match) of a signature of FILE. With DKIM_BAD_I set, its
# i= is one that must not be repeated: no header.i at all.
dkim_spec() {
	dkim_sig "$2" "${3:-0}"
	local s="dkim=$1 header.d=$SIG_D header.s=$SIG_S header.a=$SIG_A header.b=$SIG_B8"
	if [[ -n ${DKIM_BAD_I:-} ]]; then
		s+=" !header.i="
	elif [[ $SIG_I != - ]]; then
		s+=" header.i=$SIG_I"
	else
		s+=" ?header.i=@$SIG_D"
	fi
	echo "$s"
}

# dkim_row RESULT FILE [INDEX] [ACTION] [TOKENS]: the expected check row
# (spf_rows_match: "stage|result|action|detail prefix|tokens") of a
# signature of FILE (DKIM_BAD_I: no i= in the detail).
dkim_row() {
	local r=$1 class action=${4:-dunno} tokens=${5:-}
	case $r in
	pass) class=pass ;;
	temperror) class=temp ;;
	*) class=fail ;;
	esac
	dkim_sig "$2" "${3:-0}"
	if [[ -n ${DKIM_BAD_I:-} ]]; then
		tokens+=" !i="
	elif [[ $SIG_I != - ]]; then
		tokens+=" i=$SIG_I"
	fi
	[[ $r != pass ]] && tokens+=" ~reason=."
	echo "eom|$class|$action|dkim=$r d=$SIG_D s=$SIG_S a=$SIG_A b=$SIG_B8|${tokens# }"
}

# "stage|result|action|detail" of the rows named NAME of the last session.
q_dkim_rows() {
	echo "select stage, result, action, coalesce(detail, '') from checks
	      where conn_id in $(q_conn_id "$1") and name = '$2' order by id"
}

# expect_dkim_rows DESC INST NAME EXPECTED: spf_rows_match over the rows
# named NAME (dkim or dkim_sign) of the last session, polled (5 s).
expect_dkim_rows() {
	local desc=$1 inst=$2 name=$3 expected=$4
	if poll_sql "$inst" "$(q_dkim_rows "$TAG" "$name")" spf_rows_match "$expected"; then
		report_ok "$desc"
	else
		report_fail "$desc" \
			"expected rows (stage|result|action|detail prefix|detail tokens):" \
			"$(indent "$expected")" "found rows:" "$(indent "$POLLED")"
	fi
}

# dkim_ar_check DESC EXPECTED: the one Authentication-Results of the last
# dkim.lua session, inserted at 0, has exactly the dkim methods EXPECTED
# (one per line, dkim_methods_match).
dkim_ar_check() {
	local desc=$1 expected=$2 v found
	expect_eq "$desc: one Authentication-Results header, inserted at index 0" \
		$'ar-count 1\nar-insert-0 0 yes' "$(grep -E '^ar-(count|insert-0)' <<<"$OUT")"
	v=$(dkim_unescape "$(sed -n 's/^ar-value 0 //p' <<<"$OUT")")
	found=$(dkim_ar_methods "$v" | grep -E '^(dkim=|\(not ours)')
	if dkim_methods_match "$found" "$expected"; then
		report_ok "$desc: its dkim methods"
	else
		report_fail "$desc: its dkim methods" "expected (tokens):" "$(indent "$expected")" \
			"found:" "$(indent "$found")" "the header:" "$(indent "$v")"
	fi
}

# dkim_verified INST DESC MSG AR ROWS [VAR=VALUE...]: one dkim.lua session
# from the external client that is accepted; AR for dkim_ar_check, ROWS
# for expect_dkim_rows (name dkim).
dkim_verified() {
	local inst=$1 desc=$2 msg=$3 ar=$4 rows=$5
	shift 5
	dkim_session "$inst" "$msg" "$@"
	expect_eq "$desc: accepted" "$T_DKIM_ACCEPT" "$(dkim_transcript)"
	dkim_ar_check "$desc" "$ar"
	expect_dkim_rows "$desc: dkim rows" "$inst" dkim "$rows"
}

# dkim_one INST DESC MSG RESULT [ROW TOKENS] [VAR=VALUE...]: dkim_verified
# for a message with one signature whose result is RESULT.
dkim_one() {
	local inst=$1 desc=$2 msg=$3 r=$4 tokens=${5:-}
	shift 4
	(($# > 0)) && shift
	local file=$DKIM_DIR/$msg.eml
	dkim_verified "$inst" "$desc" "$msg" "$(dkim_spec "$r" "$file")" \
		"$(dkim_row "$r" "$file" 0 dunno "$tokens")" "$@"
}

# dkim_hostile_msg NAME: $DKIM_DIR/NAME.eml, the hostile signature
# tests/fixtures/dkim/NAME.hdr on top of msg.eml.
dkim_hostile_msg() {
	sed -e 's/\r$//' -e 's/$/\r/' "$FIX/dkim/$1.hdr" | cat - "$DKIM_DIR/msg.eml" >"$DKIM_DIR/$1.eml"
}

# dkim_raw INST MSG CLIENT-ADDR [rawmilter commands after EOM...]: the
# message through rawmilter (header fields of any length, the reply text
# on the wire); OUT as raw_session leaves it. RAW_NAME and RAW_PORT set
# the client name (default [ADDR]) and port (default 4000).
dkim_raw() {
	local inst=$1 msg=$2 addr=$3
	local -a parts cmd=()
	shift 3
	[[ $msg == /* ]] || msg=$DKIM_DIR/$msg.eml
	mapfile -d '' parts < <("$PYTHON" "$DKIM_TOOLS/fields.py" "$msg")
	local n=${#parts[@]} k
	for ((k = 0; k + 1 < n - 1; k += 2)); do
		cmd+=(header "${parts[k]}" "${parts[k + 1]}")
	done
	cmd+=(eoh body "${parts[n - 1]}" eom)
	raw_session "$inst" conn "${RAW_NAME:-[$addr]}" "$addr" "${RAW_PORT:-4000}" helo mx.example.test \
		macro M i "dkimraw$((TAG_SEQ + 1))" mail '<alice@dkim.test>' rcpt '<bob@example.test>' \
		data "${cmd[@]}" "$@" quit
}

# The Authentication-Results value an eom-change line of rawmilter
# inserted (continuation lines start with a tab), unfolded.
raw_ar_value() {
	awk '/^eom-change / { on = index($0, "Authentication-Results|") > 0 }
	     on && /^eom-change / { sub(/^.*Authentication-Results\|/, ""); print; next }
	     on && /^\t/ { print; next }
	     { on = 0 }' <<<"$OUT" | sed -e 's/|$//'
}

# dkim_still_serving INST DESC FPID: a clean session that passes
# afterwards, by the same filter process, and no crash in the log.
dkim_still_serving() {
	local inst=$1 desc=$2 fpid=$3
	dkim_session "$inst" rsa-relaxed
	expect_eq "$desc: a clean session afterwards is accepted" "$T_DKIM_ACCEPT" "$(dkim_transcript)"
	expect_eq "$desc: ... and its signature passes" "1" \
		"$(sed -n 's/^ar-value 0 //p' <<<"$OUT" | grep -c 'dkim=pass')"
	expect_eq "$desc: the filter process is still the same (no crash, no restart)" \
		"$fpid" "$(filter_pid "$inst")"
	expect_eq "$desc: no 'died on signal' in the log" "0" "$(log_count "$inst" "died on signal")"
}

# dkim_messages: the signed messages of the verify scenarios.
dkim_messages() {
	local out=""
	[[ -s $DKIM_DIR/rsa-relaxed.eml ]] && return 0
	{
		dkim_sign rsa-relaxed rsa dkim.test rsa
		dkim_sign rsa-simple rsa dkim.test rsa -c simple/simple
		dkim_sign rsa-ident rsa dkim.test rsa -i alice@dkim.test -c relaxed/simple
		dkim_sign rsa1024 rsa1024 dkim.test rsa1024
		dkim_sign ed-relaxed ed dkim.test ed -a ed25519-sha256
		dkim_sign ed-simple ed dkim.test ed -a ed25519-sha256 -c simple/simple
		dkim_sign sha1 rsa dkim.test rsa -a rsa-sha1
		dkim_sign rsa512 rsa512 dkim.test rsa512
		dkim_sign ltag rsa dkim.test rsa -l
		dkim_sign nokey rsa dkim.test nokey
		dkim_sign revoked rsa dkim.test revoked
		dkim_sign notkey rsa dkim.test notkey
		dkim_sign servfail rsa servfail.test sel
		dkim_sign timeout rsa dkim.test timeout
		# Oversigning (RFC 6376 5.4): From named 40 times, the message has
		# one; the other 39 are null. A valid signature: libopendkim 2.11
		# overflows its heap on such an h= unless the caller guards it.
		dkim_sign oversign40 rsa dkim.test rsa -H "$(printf 'from:%.0s' {1..40})subject:date"
		# Tampering after signing.
		sed -e 's/^this message is signed/this message was changed/' "$DKIM_DIR/rsa-relaxed.eml" \
			>"$DKIM_DIR/body-changed.eml"
		sed -e 's/^Subject: DKIM integration test/Subject: DKIM integration test (changed)/' \
			"$DKIM_DIR/rsa-relaxed.eml" >"$DKIM_DIR/subject-changed.eml"
		# l=: the signed body, then text appended after signing.
		sed -e '$d' "$DKIM_DIR/ltag.eml" >"$DKIM_DIR/ltag-appended.eml"
		printf 'Appended after signing: not covered by l=.\r\n' >>"$DKIM_DIR/ltag-appended.eml"
		# Two signatures: Ed25519 on top of RSA, both pass; a good one on
		# top of a failing one.
		IN=$DKIM_DIR/rsa-relaxed.eml dkim_sign two ed dkim.test ed -a ed25519-sha256
		IN=$DKIM_DIR/nokey.eml dkim_sign good-bad rsa dkim.test rsa
		# Six signatures (dkim_max_signatures is 5).
		cp "$DKIM_DIR/msg.eml" "$DKIM_DIR/six-0.eml"
		local k
		for k in 1 2 3 4 5 6; do
			IN=$DKIM_DIR/six-$((k - 1)).eml dkim_sign "six-$k" rsa dkim.test rsa
		done
		cp "$DKIM_DIR/six-6.eml" "$DKIM_DIR/six.eml"
		# No From: header field at all, and a From: with no rule.
		grep -v '^From:' "$DKIM_DIR/msg.eml" >"$DKIM_DIR/nofrom.eml"
		sed -e 's/^From: .*/From: Bob <bob@example.test>\r/' "$DKIM_DIR/msg.eml" >"$DKIM_DIR/otherfrom.eml"
		local h
		for h in hostile-h-many hostile-i-long hostile-i-equals hostile-z-long hostile-dup-tag \
			hostile-alg hostile-bigkey; do
			dkim_hostile_msg $h
		done
	} 2>"$DKIM_DIR/sign.err"
	out=$(head -c 2000 "$DKIM_DIR/sign.err")
	CUR_INST=""
	CUR_TAG=""
	if [[ -z $out ]] && [[ -s $DKIM_DIR/six.eml ]]; then
		report_ok "dkim: dkimpy signs the test messages"
	else
		report_fail "dkim: dkimpy signs the test messages" "$out"
		return 1
	fi
	expect_eq "dkim: dkimpy verifies its own signatures (our DNS)" \
		"0 d=dkim.test s=rsa a=rsa-sha256 pass
0 d=dkim.test s=ed a=ed25519-sha256 pass
1 d=dkim.test s=rsa a=rsa-sha256 pass" \
		"$("$PYTHON" "$DKIM_TOOLS/verify.py" "$DKIM_DIR/rsa-relaxed.eml" 2>&1; "$PYTHON" "$DKIM_TOOLS/verify.py" "$DKIM_DIR/two.eml" 2>&1)"
}

# dkim_od_signed CANON PORT: the message signed by OpenDKIM's milter on
# PORT (Canonicalization CANON) into od-HEADERCANON.eml (od-relaxed,
# od-simple). opendkim-testmsg is not used: in 2.11 it writes a broken
# b= (the tail of the value twice, "...g==AYz43g==") with rsa-sha1.
dkim_od_signed() {
	local canon=$1 port=$2 v out=$DKIM_DIR/od-${1%%/*}.eml
	OUT=$(env MT_DIR="$LUA" MT_SOCKET="inet:$port@127.0.0.1" MT_TAG=od-sign \
		MT_MSG="$DKIM_DIR/msg.eml" MT_CLIENT_ADDR=127.0.0.1 MT_CLIENT_NAME=localhost \
		timeout 60 miltertest -s "$LUA/dkim.lua" 2>&1)
	v=$(sed -n 's/^sig-value 0 //p' <<<"$OUT")
	CUR_INST=""
	CUR_TAG=""
	if [[ -z $v ]]; then
		report_fail "dkim: OpenDKIM's milter signs the message ($canon)" "$(indent "$OUT")" \
			"$(tail -n 10 "$DKIM_DIR/opendkim-s$port.log")"
		return 1
	fi
	{
		printf 'DKIM-Signature: %s\n' "$(dkim_unescape "$v")" | sed -e 's/\r$//' -e 's/$/\r/'
		cat "$DKIM_DIR/msg.eml"
	} >"$out"
	dkim_sig "$out"
	expect_eq "dkim: OpenDKIM's milter signs the message ($canon)" "dkim.test rsa rsa-sha256 $canon" \
		"$SIG_D $SIG_S $SIG_A $SIG_C"
}

# ---- Scenario 40: verification, default actions ----------------------------------

s40_dkim_verify() {
	local i=KV p="s40 KV" fpid f
	new_instance $i dkim-verify.conf
	start_daemon $i ${DKIM_VG:+"$DKIM_VG"} || return
	fpid=$(filter_pid $i)

	# Signatures that pass.
	dkim_one $i "$p: dkimpy rsa-sha256 relaxed/relaxed (RSA 2048): pass" rsa-relaxed pass bits=2048
	dkim_one $i "$p: dkimpy rsa-sha256 simple/simple: pass" rsa-simple pass bits=2048
	dkim_one $i "$p: dkimpy with i=alice@dkim.test, relaxed/simple: pass" rsa-ident pass bits=2048
	dkim_one $i "$p: header fields folded with CRLF (Sendmail style): pass" rsa-relaxed pass \
		bits=2048 MT_FOLD=crlf
	dkim_one $i "$p: RSA 1024 (dkim_min_rsa_bits): pass" rsa1024 pass bits=1024
	dkim_one $i "$p: dkimpy ed25519-sha256 relaxed/relaxed: pass" ed-relaxed pass
	dkim_one $i "$p: dkimpy ed25519-sha256 simple/simple: pass" ed-simple pass
	for f in od-relaxed od-simple; do
		if [[ -s $DKIM_DIR/$f.eml ]]; then
			dkim_one $i "$p: signed by OpenDKIM ($f, c=$(dkim_sig "$DKIM_DIR/$f.eml" && echo "$SIG_C")): pass" \
				$f pass bits=2048
		else
			report_skip "$p: signed by OpenDKIM ($f)" "OpenDKIM did not sign"
		fi
	done

	# Failures.
	dkim_one $i "$p: the body changed after signing: fail" body-changed fail
	dkim_one $i "$p: a signed header field (Subject) changed: fail" subject-changed fail
	dkim_one $i "$p: no key record (NXDOMAIN): permerror" nokey permerror
	dkim_one $i "$p: revoked key (p= empty): permerror" revoked permerror
	dkim_one $i "$p: the key record is not a key (v=spf1): permerror" notkey permerror
	dkim_one $i "$p: the key lookup is SERVFAIL: temperror" servfail temperror
	dkim_one $i "$p: rsa-sha1 (RFC 8301): policy, not pass" sha1 policy
	dkim_one $i "$p: RSA 512 (under dkim_min_rsa_bits): policy, not pass" rsa512 policy
	dkim_one $i "$p: l= with dkim_allow_l_tag = no: policy" ltag policy

	# Several signatures: one method and one row each, in header order.
	f=$DKIM_DIR/two.eml
	dkim_verified $i "$p: Ed25519 and RSA signatures: both pass" two \
		"$(dkim_spec pass "$f" 0)
$(dkim_spec pass "$f" 1)" "$(dkim_row pass "$f" 0)
$(dkim_row pass "$f" 1 dunno bits=2048)"
	f=$DKIM_DIR/good-bad.eml
	dkim_verified $i "$p: a good signature above one without key: pass and permerror" good-bad \
		"$(dkim_spec pass "$f" 0)
$(dkim_spec permerror "$f" 1)" "$(dkim_row pass "$f" 0 dunno bits=2048)
$(dkim_row permerror "$f" 1)"
	f=$DKIM_DIR/six.eml
	# The sixth is not verified: neutral (RFC 8601 2.7.1: "not otherwise
	# able to be processed"), with the reason.
	dkim_verified $i "$p: six signatures, dkim_max_signatures = 5: five verified, the sixth neutral" six \
		"$(for k in 0 1 2 3 4; do dkim_spec pass "$f" $k; done)
$(dkim_spec neutral "$f" 5) ~reason=.*dkim_max_signatures" \
		"$(for k in 0 1 2 3 4; do dkim_row pass "$f" $k dunno bits=2048; done)
$(dkim_row neutral "$f" 5 dunno '~reason=.*dkim_max_signatures')"

	# No signature.
	dkim_verified $i "$p: no signature: dkim=none" msg "dkim=none" "eom|skip|dunno|dkim=none|"

	# A signed message from an internal client is signed (if at all), not
	# verified: no dkim row.
	dkim_session $i rsa-relaxed MT_CLIENT_ADDR=127.0.0.1 MT_CLIENT_NAME=localhost
	expect_eq "$p: internal client: accepted" "$T_DKIM_ACCEPT" "$(dkim_transcript)"
	wait_sql $i "select count(*) from messages where conn_id in $(q_conn_id "$TAG")" 1
	expect_sql "$p: internal client: its signature is not verified (no dkim row)" $i \
		"select count(*) from checks where conn_id in $(q_conn_id "$TAG") and name = 'dkim'" 0

	dkim_still_serving $i "$p" "$fpid"
	if [[ -z ${DKIM_VG:-} ]]; then
		s41_dkim_hostile $i
	fi
	stop_and_check $i ${DKIM_VG:+60}
}

# ---- Scenario 41: hostile signatures ------------------------------------------------

s41_dkim_hostile() {
	local i=$1 p="s41 $1" fpid h desc
	need "$i" || return
	fpid=$(filter_pid "$i")
	dkim_one "$i" "$p: oversigning, a valid signature whose h= names From 40 times: pass" \
		oversign40 pass bits=2048
	expect_eq "$p: oversigning: the filter process is the same" "$fpid" "$(filter_pid "$i")"
	# NAME|description|reason (an ERE: it names the tag)|full: the row
	# has d= s= a= b= (the screen got past them), bad-i: and no i=, or
	# empty: not
	local spec reason full
	for spec in \
		'hostile-h-many|h= names From 70 times (over the 64 the screen allows)|h=|full' \
		'hostile-i-long|i= of 300 bytes|i=|bad-i' \
		"hostile-i-equals|i= ending in '='|i=|bad-i" \
		'hostile-dup-tag|d= twice|"?d"?|' \
		'hostile-alg|a=rsa-sha512 (unknown algorithm)|a=|' \
		'hostile-bigkey|a key record over 8 KB|8192|full'; do
		IFS='|' read -r h desc reason full <<<"$spec"
		if [[ $full == bad-i ]]; then
			DKIM_BAD_I=1 dkim_one "$i" "$p: $desc: permerror, the bad i= not repeated" "$h" permerror \
				"~reason=.*$reason"
		elif [[ -n $full ]]; then
			dkim_one "$i" "$p: $desc: permerror" "$h" permerror "~reason=.*$reason"
		else
			# The screen stops at the bad tag: d=, s=, a= and b= may be
			# missing from the row and from the method.
			dkim_verified "$i" "$p: $desc: permerror" "$h" "dkim=permerror ?header.d=dkim.test ?header.s=rsa" \
				"eom|fail|dunno|dkim=permerror|~reason=.*$reason"
		fi
		expect_eq "$p: $desc: the filter process is the same" "$fpid" "$(filter_pid "$i")"
	done
	# z= over 1 KB: the header field is over miltertest's buffer.
	dkim_raw "$i" hostile-z-long 203.0.113.50
	expect_eq "$p: z= of 1,250 bytes (rawmilter): accepted" "eom continue" "$(grep '^eom [a-z]' <<<"$OUT")"
	expect_dkim_rows "$p: z= of 1,250 bytes: a permerror row" "$i" dkim \
		"$(dkim_row permerror "$DKIM_DIR/hostile-z-long.eml" 0 dunno '~reason=.*z=')"
	expect_match "$p: z= of 1,250 bytes: Authentication-Results says permerror" \
		"dkim=permerror" "$(raw_ar_value)"
	dkim_still_serving "$i" "$p" "$fpid"
}

# ---- Scenario 42: dkim_allow_l_tag = yes ------------------------------------------------

s42_dkim_l_tag() {
	local i=KL p="s42 KL"
	new_instance $i dkim-verify.conf "dkim_allow_l_tag = yes"
	start_daemon $i || return
	dkim_one $i "$p: l= allowed: pass" ltag pass bits=2048
	dkim_one $i "$p: l= allowed, text appended after the signed length: pass" ltag-appended pass bits=2048
	dkim_one $i "$p: l= allowed does not excuse rsa-sha1: policy" sha1 policy
	stop_and_check $i
}

# ---- Scenario 43: actions ---------------------------------------------------------------

# dkim_refused INST DESC MSG CODE-ERE ACTION ROW: the message through
# rawmilter (the reply text), refused at EOM with a reply matching
# "^eom replycode CODE-ERE"; the messages row and the dkim row.
dkim_refused() {
	local inst=$1 desc=$2 msg=$3 code=$4 action=$5 row=$6 qid reply
	dkim_raw "$inst" "$msg" 203.0.113.50
	qid="dkimraw$TAG_SEQ"
	reply=$(grep '^eom [a-z]' <<<"$OUT")
	expect_match "$desc: refused at EOM with a reason" "^eom replycode $code [^ ].*" "$reply"
	expect_match "$desc: the reason names DKIM" '[Dd][Kk][Ii][Mm]' "$reply"
	expect_eq "$desc: no header is added to a refused message" "" "$(grep '^eom-change' <<<"$OUT")"
	if poll_sql "$inst" "$(q_msg_rows "$TAG")" has_ends "$action|${reply#eom replycode }" \
		"|eom|bob@example.test||alice@dkim.test|$qid"; then
		report_ok "$desc: messages row ($action, the reply, stage eom)"
	else
		report_fail "$desc: messages row" \
			"expected: $action|${reply#eom replycode }|eom|bob@example.test||alice@dkim.test|$qid" \
			"found: $POLLED"
	fi
	expect_dkim_rows "$desc: dkim row" "$inst" dkim "$row"
}

s43_dkim_actions() {
	local i=KX p="s43 KX" f
	new_instance $i dkim-strict.conf
	start_daemon $i || return
	dkim_refused $i "$p: fail, dkim_fail_action = reject: 550" body-changed '550 5\.7\.[0-9]+' reject \
		"$(dkim_row fail "$DKIM_DIR/body-changed.eml" 0 reject)"
	dkim_refused $i "$p: temperror, dkim_temperror_action = defer: 4xx" servfail '4[0-9][0-9] 4\.[0-9]+\.[0-9]+' \
		defer "$(dkim_row temperror "$DKIM_DIR/servfail.eml" 0 defer)"
	dkim_refused $i "$p: permerror, dkim_permerror_action = reject: 550" nokey '550 5\.7\.[0-9]+' reject \
		"$(dkim_row permerror "$DKIM_DIR/nokey.eml" 0 reject)"
	dkim_one $i "$p: pass is still accepted" rsa-relaxed pass bits=2048
	dkim_one $i "$p: policy (dkim_policy_action = accept) is accepted" sha1 policy
	dkim_verified $i "$p: no signature (dkim_none_action = accept) is accepted" msg \
		"dkim=none" "eom|skip|dunno|dkim=none|"
	# One signature passes, the other fails: the fail action applies?
	# RFC 6376 6.1: each signature is judged on its own; the message is
	# refused only when no signature passes (see the report).
	f=$DKIM_DIR/good-bad.eml
	dkim_session $i good-bad
	expect_eq "$p: a passing signature beside a permerror one: accepted" "$T_DKIM_ACCEPT" "$(dkim_transcript)"
	stop_and_check $i
}

# ---- Scenario 44: a key lookup that times out ----------------------------------------------

s44_dkim_timeout() {
	local i=KT p="s44 KT" t0 ms fpid
	dkim_proxy_start || return
	new_instance $i dkim-timeout.conf
	start_daemon $i || return
	fpid=$(filter_pid $i)
	t0=$(now_ms)
	dkim_one $i "$p: the key query is never answered: temperror" timeout temperror
	ms=$(($(now_ms) - t0))
	expect_between "$p: the session took (ms), dns_timeout = 1s" 900 4000 "$ms"
	expect_true "$p: the proxy dropped the key query" \
		grep -q 'timeout._domainkey.dkim.test dropped' "$DKIM_DIR/proxy.log"
	dkim_still_serving $i "$p" "$fpid"
	stop_and_check $i
}

# ---- Scenarios 45, 46: signing --------------------------------------------------------------

# The public key rows and signing rules of the sqlite key table:
# psr (RSA 2048) and pse (Ed25519) active for dkim.test, psp pending,
# psx retired.
dkim_sql_keys() {
	local now
	now=$(date +%s)
	cat <<EOF
insert into dkim_keys (domain, selector, algorithm, bits, path, public_key, state, created, state_since) values
 ('dkim.test', 'psr', 'rsa', 2048, '$DKIM_KEYS/psr.pem', '${DKIM_PUB[psr]}', 'active', $now, $now),
 ('dkim.test', 'pse', 'ed25519', 256, '$DKIM_KEYS/pse.pem', '${DKIM_PUB[pse]}', 'active', $now, $now),
 ('dkim.test', 'psp', 'rsa', 2048, '$DKIM_KEYS/psp.pem', '${DKIM_PUB[psp]}', 'published-pending', $now, $now),
 ('dkim.test', 'psx', 'rsa', 2048, '$DKIM_KEYS/psx.pem', '${DKIM_PUB[psx]}', 'retired', $now - 86400, $now);
insert into dkim_signing (pattern, domain) values ('*@dkim.test', 'dkim.test');
EOF
}

# dkim_signed_msg OUT: the message as the next hop sees it after the last
# dkim.lua session: the inserted DKIM-Signature fields on top (each was
# inserted at index 0: the last one ends up first), then the message,
# into $DKIM_DIR/OUT.eml. Also sets SIGN_TAGS (sigtags.py lines, in
# insertion order).
dkim_signed_msg() {
	local out=$DKIM_DIR/$1.eml n k v
	n=$(sed -n 's/^sig-count //p' <<<"$OUT")
	SIGN_TAGS=""
	: >"$out.head"
	for ((k = 0; k < ${n:-0}; k++)); do
		v=$(dkim_unescape "$(sed -n "s/^sig-value $k //p" <<<"$OUT")")
		SIGN_TAGS+=$(printf '%s\n' "$v" | tr -d '\r\n' | "$PYTHON" "$DKIM_TOOLS/sigtags.py" -)$'\n'
		{
			printf 'DKIM-Signature: %s\n' "$v" | sed -e 's/\r$//' -e 's/$/\r/'
			cat "$out.head"
		} >"$out.head2"
		mv "$out.head2" "$out.head"
	done
	cat "$out.head" "${SIGN_IN:-$DKIM_DIR/msg.eml}" >"$out"
	rm -f "$out.head"
	SIGN_TAGS=${SIGN_TAGS%$'\n'}
}

# The dkim_sign rows of a session signed by psr and pse, in the order of
# SIGN_TAGS (the order of the insertions).
dkim_sign_rows() {
	local l
	while read -r l; do
		dkim_sig_parse "$l"
		echo "eom|pass|none|d=$SIG_D s=$SIG_S a=$SIG_A|"
	done <<<"$SIGN_TAGS"
}

# dkim_sign_checks DESC OUT: the last session (internal or authenticated,
# From alice@dkim.test) was signed by psr and pse (relaxed/relaxed, From
# signed), inserted at index 0, without CR; the result verifies with
# dkimpy, Mail::DKIM and (when it runs) OpenDKIM.
dkim_sign_checks() {
	local desc=$1 out=$2 sigs od_ar
	expect_eq "$desc: accepted" "$T_DKIM_ACCEPT" "$(dkim_transcript)"
	expect_eq "$desc: two DKIM-Signature fields, both inserted at index 0" \
		$'sig-count 2\nsig-insert-0 0 yes\nsig-insert-0 1 yes' \
		"$(grep -E '^sig-(count|insert-0)' <<<"$OUT")"
	expect_eq "$desc: no CR in the inserted values" "" "$(grep '^sig-value' <<<"$OUT" | grep -F '\r')"
	dkim_signed_msg "$out"
	sigs=$(sed -E 's/ b8=[^ ]*//; s/ i=[^ ]*//; s/ l=[^ ]*//; s/ h=.*//' <<<"$SIGN_TAGS" | sort)
	expect_eq "$desc: d=, s=, a=, c= of the signatures" \
		"d=dkim.test s=pse a=ed25519-sha256 c=relaxed/relaxed
d=dkim.test s=psr a=rsa-sha256 c=relaxed/relaxed" "$sigs"
	expect_eq "$desc: both sign From, Subject, Date, To, Message-ID" "yes
yes" "$(while read -r l; do
		dkim_sig_parse "$l"
		[[ :$SIG_H: == *:from:* && :$SIG_H: == *:subject:* && :$SIG_H: == *:date:* &&
			:$SIG_H: == *:to:* && :$SIG_H: == *:message-id:* ]] && echo yes || echo "no: $SIG_H"
	done <<<"$SIGN_TAGS")"
	expect_eq "$desc: dkimpy verifies both signatures" \
		"0 d=dkim.test s=$(sed -n '2s/.* s=\([^ ]*\) .*/\1/p' <<<"$SIGN_TAGS") a=$(sed -n '2s/.* a=\([^ ]*\) .*/\1/p' <<<"$SIGN_TAGS") pass
1 d=dkim.test s=$(sed -n '1s/.* s=\([^ ]*\) .*/\1/p' <<<"$SIGN_TAGS") a=$(sed -n '1s/.* a=\([^ ]*\) .*/\1/p' <<<"$SIGN_TAGS") pass" \
		"$("$PYTHON" "$DKIM_TOOLS/verify.py" "$DKIM_DIR/$out.eml" 2>&1)"
	expect_dkim_rows "$desc: one dkim_sign row per signature" "$CUR_INST" dkim_sign "$(dkim_sign_rows)"
	expect_contains "$desc: Mail::DKIM verifies the RSA signature" \
		"d=dkim.test s=psr a=rsa-sha256 pass" "$(perl "$DKIM_TOOLS/verify.pl" <"$DKIM_DIR/$out.eml" 2>&1)"
	if [[ -n ${DKIM_OD_VERIFY:-} ]]; then
		od_ar=$(dkim_od_verify "$DKIM_DIR/$out.eml")
		expect_eq "$desc: OpenDKIM verifies both signatures" "dkim=pass header.d=dkim.test header.s=pse
dkim=pass header.d=dkim.test header.s=psr" "$od_ar"
	fi
}

# dkim_od_verify FILE: the dkim methods OpenDKIM's verifying milter
# writes for a message (from an external client), as "dkim=RESULT
# header.d=D header.s=S", sorted.
dkim_od_verify() {
	local out v m
	local -a words
	out=$(env MT_DIR="$LUA" MT_SOCKET="inet:$DKIM_OD_VERIFY_PORT@127.0.0.1" MT_TAG=od-verify \
		MT_MSG="$1" MT_CLIENT_ADDR=203.0.113.50 timeout 60 miltertest -s "$LUA/dkim.lua" 2>&1)
	v=$(dkim_unescape "$(sed -n 's/^ar-value 0 //p' <<<"$out")")
	if [[ -z $v ]]; then
		echo "(no Authentication-Results from OpenDKIM: $out)"
		return
	fi
	v=${v//$'\r'/ }
	v=${v//$'\n'/ }
	v=${v//$'\t'/ }
	# "dkim=pass (2048-bit key; unprotected) header.d=... header.s=..."
	# shellcheck disable=SC2001 # the comments, whatever they hold
	v=$(sed -e 's/([^)]*)//g' <<<"$v")
	while IFS= read -r m; do
		read -ra words <<<"$m"
		[[ ${words[0]:-} == dkim=* ]] || continue
		printf '%s %s %s\n' "${words[0]}" "$(printf '%s\n' "${words[@]}" | grep '^header\.d=')" \
			"$(printf '%s\n' "${words[@]}" | grep '^header\.s=')"
	done < <(tr ';' '\n' <<<"$v") | sort
}

s45_dkim_sign() {
	local i=KS p="s45 KS" fpid out
	new_instance $i dkim-sign.conf
	start_daemon $i ${DKIM_VG:+"$DKIM_VG"} || return
	fpid=$(filter_pid $i)
	CUR_INST=$i
	CUR_TAG=""
	out=$(sql $i "$(dkim_sql_keys)")
	expect_eq "$p: the keys and the rule go into dkim_keys and dkim_signing" "" "$out"
	expect_true "$p: the filter process reloads the key table (it polls every 2 s)" \
		wait_log $i "DKIM key table reloaded" 1 10

	dkim_session $i msg MT_CLIENT_ADDR=127.0.0.1 MT_CLIENT_NAME=localhost
	dkim_sign_checks "$p: internal client 127.0.0.1, From alice@dkim.test" ks-internal
	local ks_h
	ks_h=$(grep 's=psr' <<<"$SIGN_TAGS" | sed -e 's/.* h=//')
	expect_eq "$p: internal client: no Authentication-Results (nothing verified)" "ar-count 0" \
		"$(grep '^ar-count' <<<"$OUT")"
	expect_sql "$p: internal client: no dkim (verify) row" $i \
		"select count(*) from checks where conn_id in $(q_conn_id "$TAG") and name = 'dkim'" 0

	if [[ -z ${DKIM_VG:-} ]]; then
		dkim_session $i msg MT_AUTH=alice MT_CLIENT_ADDR=198.51.100.77 MT_CLIENT_NAME=client.example.test
		dkim_sign_checks "$p: authenticated external client (auth_authen alice)" ks-auth

		dkim_session $i msg
		expect_eq "$p: external client, not authenticated: accepted" "$T_DKIM_ACCEPT" "$(dkim_transcript)"
		expect_eq "$p: external client, not authenticated: not signed" "sig-count 0" \
			"$(grep '^sig-count' <<<"$OUT")"
		expect_dkim_rows "$p: external client: verified instead (dkim=none)" $i dkim \
			"eom|skip|dunno|dkim=none|"
		expect_sql "$p: external client: no dkim_sign row that passes" $i \
			"select count(*) from checks where conn_id in $(q_conn_id "$TAG")
			 and name = 'dkim_sign' and result = 'pass'" 0

		dkim_session $i otherfrom MT_CLIENT_ADDR=127.0.0.1 MT_CLIENT_NAME=localhost
		expect_eq "$p: From bob@example.test (no rule): accepted" "$T_DKIM_ACCEPT" "$(dkim_transcript)"
		expect_eq "$p: From bob@example.test (no rule): not signed" "sig-count 0" \
			"$(grep '^sig-count' <<<"$OUT")"
		expect_dkim_rows "$p: From bob@example.test (no rule): a skip row" $i dkim_sign \
			"eom|skip|none|no signing table entry for bob@example.test|"

		dkim_session $i nofrom MT_CLIENT_ADDR=127.0.0.1 MT_CLIENT_NAME=localhost
		expect_eq "$p: no From: header field: accepted" "$T_DKIM_ACCEPT" "$(dkim_transcript)"
		expect_eq "$p: no From: header field: not signed" "sig-count 0" "$(grep '^sig-count' <<<"$OUT")"
		expect_dkim_rows "$p: no From: header field: a skip row" $i dkim_sign \
			"eom|skip|none|no From: address|"

		# A key whose file becomes unsafe: a running daemon keeps its
		# table; a new start is refused and says which file and why.
		expect_eq "$p: the filter process is still the same" "$fpid" "$(filter_pid $i)"
	fi
	stop_and_check $i ${DKIM_VG:+60}
	[[ -n ${DKIM_VG:-} ]] && return
	echo "$ks_h" >"$DKIM_DIR/ks-h"

	chmod 644 "$DKIM_KEYS/pse.pem"
	dkim_start_refused $i "$p: pse.pem mode 0644" "$DKIM_KEYS/pse.pem"
	chmod 600 "$DKIM_KEYS/pse.pem"
	chown root "$DKIM_KEYS/psr.pem"
	chmod 600 "$DKIM_KEYS/psr.pem"
	dkim_start_refused $i "$p: psr.pem owned by root, mode 0600 (the daemon runs as nobody)" \
		"$DKIM_KEYS/psr.pem"
	chown nobody "$DKIM_KEYS/psr.pem"
}

# dkim_start_refused INST DESC FILE: the daemon does not start and names
# FILE on stderr (its log), with the reason. Keys are read after the drop
# to the daemon's user, as at a reload: a key that user cannot read
# refuses the start like an unsafe one.
dkim_start_refused() {
	local inst=$1 desc=$2 file=$3 out
	CUR_INST=$inst
	CUR_TAG=""
	out=$(timeout 20 "$POSTERN" -f -c "$WORK/$inst/postern.conf" 2>&1 </dev/null &
		pid=$!
		sleep 3
		if kill -0 $pid 2>/dev/null; then
			kill -TERM $pid
			wait $pid
			echo "(still running after 3 s)"
		else
			wait $pid
			echo "(exit $?)"
		fi)
	expect_match "$desc: the daemon refuses to start (non-zero exit)" '^\(exit [1-9][0-9]*\)$' "$(tail -n 1 <<<"$out")"
	expect_contains "$desc: the message names the file" "$file" "$out"
	expect_match "$desc: ... and says why" '(mode|0644|readable|owner|owned|unsafe|[Pp]ermission denied)' \
		"$(grep -F "$file" <<<"$out")"
}

s46_dkim_sign_od() {
	local i=KO p="s46 KO" ks_h
	new_instance $i dkim-sign-opendkim.conf
	cat >"$WORK/$i/KeyTable" <<EOF
# OpenDKIM KeyTable: key name, domain:selector:private key
psr._domainkey.dkim.test dkim.test:psr:$DKIM_KEYS/psr.pem
pse._domainkey.dkim.test dkim.test:pse:$DKIM_KEYS/pse.pem
EOF
	cat >"$WORK/$i/SigningTable" <<EOF
# refile: SigningTable: pattern, key name; the first match signs
*@example.test  pse._domainkey.dkim.test
*@dkim.test     psr._domainkey.dkim.test
EOF
	chmod 644 "$WORK/$i/KeyTable" "$WORK/$i/SigningTable"
	start_daemon $i || return

	dkim_session $i msg MT_CLIENT_ADDR=127.0.0.1 MT_CLIENT_NAME=localhost
	expect_eq "$p: internal client: accepted" "$T_DKIM_ACCEPT" "$(dkim_transcript)"
	expect_eq "$p: one DKIM-Signature (the first matching row), inserted at index 0" \
		$'sig-count 1\nsig-insert-0 0 yes' "$(grep -E '^sig-(count|insert-0)' <<<"$OUT")"
	dkim_signed_msg ko-internal
	expect_eq "$p: d=, s=, a=, c= of the signature" "d=dkim.test s=psr a=rsa-sha256 c=relaxed/relaxed" \
		"$(sed -E 's/ b8=[^ ]*//; s/ i=[^ ]*//; s/ l=[^ ]*//; s/ h=.*//' <<<"$SIGN_TAGS")"
	if [[ -s $DKIM_DIR/ks-h ]]; then
		expect_eq "$p: h= is the same as with the sqlite table" "$(cat "$DKIM_DIR/ks-h")" \
			"${SIGN_TAGS##* h=}"
	fi
	expect_eq "$p: dkimpy verifies it" "0 d=dkim.test s=psr a=rsa-sha256 pass" \
		"$("$PYTHON" "$DKIM_TOOLS/verify.py" "$DKIM_DIR/ko-internal.eml" 2>&1)"
	expect_contains "$p: Mail::DKIM verifies it" "d=dkim.test s=psr a=rsa-sha256 pass" \
		"$(perl "$DKIM_TOOLS/verify.pl" <"$DKIM_DIR/ko-internal.eml" 2>&1)"
	if [[ -n ${DKIM_OD_VERIFY:-} ]]; then
		expect_eq "$p: OpenDKIM verifies it" "dkim=pass header.d=dkim.test header.s=psr" \
			"$(dkim_od_verify "$DKIM_DIR/ko-internal.eml")"
	fi
	expect_dkim_rows "$p: the dkim_sign row" $i dkim_sign "eom|pass|none|d=dkim.test s=psr a=rsa-sha256|"

	# *@example.test: the Ed25519 key.
	dkim_session $i otherfrom MT_CLIENT_ADDR=127.0.0.1 MT_CLIENT_NAME=localhost
	SIGN_IN=$DKIM_DIR/otherfrom.eml dkim_signed_msg ko-other
	expect_eq "$p: From bob@example.test: signed by pse (refile: glob)" \
		"d=dkim.test s=pse a=ed25519-sha256 c=relaxed/relaxed" \
		"$(sed -E 's/ b8=[^ ]*//; s/ i=[^ ]*//; s/ l=[^ ]*//; s/ h=.*//' <<<"$SIGN_TAGS")"
	expect_eq "$p: From bob@example.test: dkimpy verifies it" "0 d=dkim.test s=pse a=ed25519-sha256 pass" \
		"$("$PYTHON" "$DKIM_TOOLS/verify.py" "$DKIM_DIR/ko-other.eml" 2>&1)"
	dkim_session $i nofrom MT_CLIENT_ADDR=127.0.0.1 MT_CLIENT_NAME=localhost
	expect_eq "$p: no From: header field: not signed" "sig-count 0" "$(grep '^sig-count' <<<"$OUT")"
	expect_dkim_rows "$p: no From: header field: a skip row" $i dkim_sign "eom|skip|none|no From: address|"
	stop_and_check $i

	chmod 644 "$DKIM_KEYS/psr.pem"
	dkim_start_refused $i "$p: psr.pem mode 0644 (opendkim: table)" "$DKIM_KEYS/psr.pem"
	chmod 600 "$DKIM_KEYS/psr.pem"
}

# ---- Scenario 48: local submission ---------------------------------------------------------

# With internal_networks = 192.0.2.0/24, 127.0.0.1 is an outside client,
# except for Postfix's local submissions (non_smtpd_milters), which come
# as localhost[127.0.0.1] port 0: those are signed.
s48_dkim_local() {
	local i=KN p="s48 KN"
	new_instance $i dkim-sign.conf "internal_networks = 192.0.2.0/24"
	start_daemon $i || return
	CUR_INST=$i
	CUR_TAG=""
	expect_eq "$p: the keys and the rule go into the database" "" "$(sql $i "$(dkim_sql_keys)")"
	expect_true "$p: the filter process reloads the key table" \
		wait_log $i "DKIM key table reloaded" 1 10
	RAW_NAME=localhost RAW_PORT=0 dkim_raw $i msg 127.0.0.1
	expect_eq "$p: local submission (localhost[127.0.0.1]:0): accepted" "eom continue" \
		"$(grep '^eom [a-z]' <<<"$OUT")"
	expect_eq "$p: local submission: two DKIM-Signature fields inserted at index 0" \
		$'i ||||DKIM-Signature\ni ||||DKIM-Signature' \
		"$(grep '^eom-change ' <<<"$OUT" | grep -v 'Authentication-Results' |
			sed -E 's/^eom-change (.) (\|\|\|\|[^|]*)\|.*/\1 \2/')"
	expect_dkim_rows "$p: local submission: the dkim_sign rows" $i dkim_sign \
		"eom|pass|none|d=dkim.test s=ps|
eom|pass|none|d=dkim.test s=ps|"
	dkim_session $i msg MT_CLIENT_ADDR=127.0.0.1 MT_CLIENT_NAME=localhost
	expect_eq "$p: 127.0.0.1 port 12345, not internal here: accepted" "$T_DKIM_ACCEPT" "$(dkim_transcript)"
	expect_eq "$p: 127.0.0.1 port 12345: not signed" "sig-count 0" "$(grep '^sig-count' <<<"$OUT")"
	expect_dkim_rows "$p: 127.0.0.1 port 12345: verified instead (dkim=none)" $i dkim \
		"eom|skip|dunno|dkim=none|"
	stop_and_check $i
}

# ---- All of them ------------------------------------------------------------------------------

dkim_scenarios() {
	local t
	for t in openssl opendkim opendkim-testmsg perl; do
		command -v $t >/dev/null || {
			report_fail "dkim: $t is installed (scripts/install-deps)"
			return
		}
	done
	dkim_keys_setup || return
	dkim_zone_publish
	dns_start || return
	dkim_zone_check
	dkim_messages || return
	DKIM_OD_VERIFY=""
	if dkim_opendkim s $DKIM_OD_SIGN_PORT; then
		dkim_od_signed relaxed/relaxed $DKIM_OD_SIGN_PORT
	fi
	if dkim_opendkim s $DKIM_OD_SIGN2_PORT simple/simple; then
		dkim_od_signed simple/simple $DKIM_OD_SIGN2_PORT
	fi
	if dkim_opendkim v $DKIM_OD_VERIFY_PORT; then
		DKIM_OD_VERIFY=yes
		# The peer itself works: it verifies dkimpy's Ed25519 and RSA.
		expect_eq "dkim: OpenDKIM verifies dkimpy's signatures (its resolver asks NSD)" \
			"dkim=pass header.d=dkim.test header.s=ed
dkim=pass header.d=dkim.test header.s=rsa" "$(dkim_od_verify "$DKIM_DIR/two.eml")"
	fi
	s40_dkim_verify
	s42_dkim_l_tag
	s43_dkim_actions
	s44_dkim_timeout
	s45_dkim_sign
	s46_dkim_sign_od
	s48_dkim_local
	dkim_stop_helpers
	dns_stop
	dkim_logs_clean
}

# Under valgrind (valgrind_run has started the DNS servers): s47.
dkim_valgrind() {
	local i=KG p="s47 KG" fpid
	dkim_keys_setup || return
	dkim_zone_publish
	dkim_messages || return
	new_instance $i dkim-sign.conf "shutdown_timeout = 30s"
	start_daemon $i valgrind || return
	fpid=$(filter_pid $i)
	CUR_INST=$i
	CUR_TAG=""
	expect_eq "$p: the keys go into the database" "" "$(sql $i "$(dkim_sql_keys)")"
	expect_true "$p: the filter process reloads the key table" \
		wait_log $i "DKIM key table reloaded" 1 30
	dkim_one $i "$p: dkimpy rsa-sha256: pass" rsa-relaxed pass bits=2048
	dkim_one $i "$p: dkimpy ed25519-sha256: pass" ed-relaxed pass
	dkim_one $i "$p: oversigning, h= names From 40 times: pass" oversign40 pass bits=2048
	dkim_verified $i "$p: h= names From 70 times: permerror" hostile-h-many "dkim=permerror" \
		"eom|fail|dunno|dkim=permerror|~reason=."
	dkim_one $i "$p: a key record over 8 KB: permerror" hostile-bigkey permerror ""
	dkim_one $i "$p: the body changed: fail" body-changed fail
	dkim_raw $i hostile-z-long 203.0.113.50
	expect_eq "$p: z= of 1,250 bytes: accepted" "eom continue" "$(grep '^eom [a-z]' <<<"$OUT")"
	dkim_session $i msg MT_CLIENT_ADDR=127.0.0.1 MT_CLIENT_NAME=localhost
	dkim_sign_checks "$p: internal client: signed" kg-internal
	expect_eq "$p: the filter process is still the same" "$fpid" "$(filter_pid $i)"
	stop_and_check $i 60
}

# No daemon of these scenarios crashed, restarted its filter process or
# printed a sanitizer report.
dkim_logs_clean() {
	local f bad=""
	CUR_INST=""
	CUR_TAG=""
	for f in "$WORK"/K*/log; do
		[[ -f $f ]] || continue
		bad+=$(grep -H -E 'died on signal|exited with status|ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer' "$f" | head -n 3)
	done
	expect_eq "dkim: no crash, filter restart or sanitizer report in the daemons' logs" "" "$bad"
}
