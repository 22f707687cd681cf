# shellcheck shell=bash disable=SC2034,SC2153,SC2154
# tests/run-keys-scenarios.sh: the DKIM key scenarios of the integration
# suite, sourced by tests/run-integration after lib.sh and dns.sh.
#
#   keys_scenarios   starts the DNS servers (dns_start), runs s50 ... s54,
#                    stops the servers
#
#   s50_keys_life    generate RSA and Ed25519 keys, check before and after
#                    their records are published in NSD, activate (refused
#                    for an unpublished key without --force), list --json,
#                    the key files (mode 0600, owned by the daemon's user)
#   s51_keys_rotate  rotate: a pending key, check activates it once its
#                    record is out and retires the old one
#   s52_keys_checks  what check says of another key, a revoked key, a DNS
#                    temporary failure (SERVFAIL), a missing key
#   s53_keys_import  import-opendkim, signing rules, errors with file:line
#   s54_keys_misc    bad usage (exit 2), an unsafe key file (mode 0644) that
#                    the daemon's loader refuses (keys verify-files), remove
#
# posternctl runs as root with "user = nobody", as an admin would run it.
# Zone: tests/fixtures/dns/keys.test.zone; the scenarios append the
# records posternctl prints to the copy NSD serves and reload NSD (HUP).

POSTERNCTL=${POSTERNCTL:-$(dirname "$POSTERN")/posternctl}
KEYS_DIR=""
KEYS_CONF=""

# ---- Helpers ------------------------------------------------------------------

# ctl ARGS...: run posternctl with the scenarios' config; output (stdout
# and stderr) in CTL_OUT, exit status in CTL_RC.
ctl() {
	CTL_OUT=$("$POSTERNCTL" -c "$KEYS_CONF" "$@" 2>&1)
	CTL_RC=$?
}

# expect_ctl DESC STATUS [TEXT]: the last ctl exited STATUS (and printed
# TEXT, a fixed string).
expect_ctl() {
	local desc=$1 status=$2 text=${3:-}
	if [[ $CTL_RC != "$status" ]]; then
		report_fail "$desc" "expected exit status $status, got $CTL_RC" \
			"output:" "$(indent "$CTL_OUT")"
	elif [[ -n $text && $CTL_OUT != *"$text"* ]]; then
		report_fail "$desc" "expected the output to contain: $text" \
			"output:" "$(indent "$CTL_OUT")"
	else
		report_ok "$desc"
	fi
}

# The zone-file line of the last generate, rotate or show.
ctl_record() {
	printf '%s\n' "$CTL_OUT" | grep -E '^[^ ]+\._domainkey\.[^ ]+\. IN TXT \(' | head -n 1
}

# The selector of the last generate or rotate.
ctl_selector() {
	ctl_record | sed -e 's/\._domainkey\..*//'
}

# keys_publish RECORD: append a zone-file line to keys.test and reload
# NSD until it answers for the record's name.
keys_publish() {
	local name deadline
	name=$(printf '%s\n' "$1" | cut -d' ' -f1)
	printf '%s\n' "$1" >>"$DNS_DIR/keys.test.zone"
	kill -HUP "$DNS_NSD_PID"
	deadline=$(($(now_ms) + 10000))
	until dns_query "$DNS_NSD_PORT" "$name" TXT | grep -q 'DKIM1'; do
		(($(now_ms) > deadline)) && return 1
		sleep 0.05
	done
}

# "selector=state ..." of a domain, from list --json, sorted.
keys_states() {
	"$POSTERNCTL" -c "$KEYS_CONF" --json keys list "$1" 2>&1 |
		"$PYTHON" -c 'import json, sys
rows = sorted((k["selector"], k["state"]) for k in json.load(sys.stdin))
print(" ".join(s + "=" + st for s, st in rows))' 2>&1
}

keys_setup() {
	KEYS_DIR=$WORK/K
	CUR_INST=""
	CUR_TAG=""
	new_instance K "" "key_dir = $KEYS_DIR/keys" "dns_servers = 127.0.0.1:$DNS_NSD_PORT" \
		"dns_timeout = 2s"
	mkdir -p "$KEYS_DIR/db"
	KEYS_CONF=$KEYS_DIR/postern.conf
	[[ -x $POSTERNCTL ]] || {
		report_fail "keys: posternctl is built ($POSTERNCTL)"
		return 1
	}
}

# ---- s50: generate, check, publish, activate -------------------------------------

KEYS_RSA=""
KEYS_ED=""
KEYS_SEL=""
KEYS_REC=""

# keys_generated P ALG LETTER TEXT RECORD-RE [OPTIONS...]: "keys generate
# keys.test OPTIONS" exits 0 saying TEXT, names the key by the default
# selector p<YYYYMM>LETTER and prints a record that matches RECORD-RE.
# Sets KEYS_SEL and KEYS_REC to the selector and the record. Three tests.
keys_generated() {
	local p=$1 alg=$2 letter=$3 text=$4 re=$5 month
	shift 5
	month=$(date -u +%Y%m)
	ctl keys generate keys.test "$@"
	expect_ctl "$p: generate keys.test${*:+ $*} makes an $alg key" 0 "$text"
	KEYS_SEL=$(ctl_selector)
	KEYS_REC=$(ctl_record)
	expect_eq "$p: the default $alg selector is p${month}$letter" "p${month}$letter" "$KEYS_SEL"
	expect_match "$p: the $alg record is well-formed" "$re" "$KEYS_REC"
}

s50_keys_life() {
	local p="s50 keys" rec_rsa rec_ed

	# RSA 2048 by default; the record in strings of at most 255 bytes
	keys_generated "$p" RSA r "state published-pending" \
		'^p[0-9]{6}r\._domainkey\.keys\.test\. IN TXT \( "v=DKIM1; k=rsa; p=[A-Za-z0-9+/]{200,}" "[A-Za-z0-9+/=]+" \)$'
	KEYS_RSA=$KEYS_SEL
	rec_rsa=$KEYS_REC
	expect_eq "$p: the key file is mode 600 and belongs to the daemon's user" \
		"600 nobody" "$(stat -c '%a %U' "$KEYS_DIR/keys/keys.test.$KEYS_RSA.key" 2>&1)"
	expect_eq "$p: key_dir is mode 700" "700" "$(stat -c '%a' "$KEYS_DIR/keys" 2>&1)"

	# the Ed25519 record carries 32 bytes (RFC 8463)
	keys_generated "$p" Ed25519 e "generated ed25519 key" \
		'^p[0-9]{6}e\._domainkey\.keys\.test\. IN TXT \( "v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=" \)$' \
		--algorithm ed25519
	KEYS_ED=$KEYS_SEL
	rec_ed=$KEYS_REC

	ctl keys generate keys.test --selector "$KEYS_RSA"
	expect_ctl "$p: generate refuses an existing selector" 1 "exists"

	ctl keys check keys.test
	expect_ctl "$p: check before publishing fails" 1 "no-record"
	expect_eq "$p: check reports both keys" 2 "$(grep -c 'no-record' <<<"$CTL_OUT")"

	ctl keys activate keys.test "$KEYS_RSA"
	expect_ctl "$p: activate refuses an unpublished key" 1 "not activating"

	if ! keys_publish "$rec_rsa"; then
		report_fail "$p: NSD serves the published RSA record" \
			"$(tail -n 5 "$DNS_DIR/nsd.log" 2>&1)"
		return
	fi
	ctl keys check keys.test "$KEYS_RSA"
	expect_ctl "$p: check passes once the RSA record is published" 0 \
		"$KEYS_RSA._domainkey.keys.test (rsa, published-pending): ok"
	ctl --json keys check keys.test "$KEYS_RSA"
	expect_ctl "$p: check --json" 0 '"result": "ok"'
	ctl keys show keys.test "$KEYS_RSA"
	expect_eq "$p: show prints the record again" "$rec_rsa" "$CTL_OUT"

	ctl keys activate keys.test "$KEYS_RSA"
	expect_ctl "$p: activate after a passing check" 0 "is active"
	ctl keys activate keys.test "$KEYS_ED"
	expect_ctl "$p: activate of the unpublished Ed25519 key fails" 1 "no-record"
	keys_publish "$rec_ed"
	ctl keys activate keys.test "$KEYS_ED"
	expect_ctl "$p: activate of the Ed25519 key once published" 0 "is active"
	expect_eq "$p: list --json shows both keys active" \
		"$KEYS_ED=active $KEYS_RSA=active" "$(keys_states keys.test)"
	ctl keys list
	expect_match "$p: list is aligned for humans" \
		"^keys\.test +$KEYS_RSA +rsa +2048 +active +[0-9-]+ [0-9:]+Z" "$CTL_OUT"
	ctl keys verify-files
	expect_ctl "$p: the daemon's loader accepts the key table" 0 "2 active, all loaded"
}

# ---- s51: rotate -------------------------------------------------------------------

s51_keys_rotate() {
	local p="s51 keys" sel rec
	[[ -n $KEYS_RSA ]] || return

	ctl keys rotate keys.test --algorithm rsa
	expect_ctl "$p: rotate keys.test --algorithm rsa" 0 "state published-pending"
	sel=$(ctl_selector)
	rec=$(ctl_record)
	expect_eq "$p: the new key has a new selector" "${KEYS_RSA}2" "$sel"
	ctl keys rotate keys.test
	expect_ctl "$p: rotate without --algorithm when RSA and Ed25519 are active" 2 \
		"--algorithm"
	expect_eq "$p: the new key waits, the old ones sign" \
		"$KEYS_ED=active $KEYS_RSA=active ${sel}=published-pending" "$(keys_states keys.test)"
	ctl keys check keys.test "$sel"
	expect_ctl "$p: check fails before the new record is out" 1 "no-record"
	expect_eq "$p: nothing changed" \
		"$KEYS_ED=active $KEYS_RSA=active ${sel}=published-pending" "$(keys_states keys.test)"
	keys_publish "$rec"
	ctl keys check keys.test
	expect_ctl "$p: check passes and finishes the rotation" 0 \
		"activated (rotation); 1 old key retired"
	expect_eq "$p: the new RSA key is active, the old one retired, Ed25519 untouched" \
		"$KEYS_ED=active $KEYS_RSA=retired ${sel}=active" "$(keys_states keys.test)"
	ctl keys check keys.test
	expect_ctl "$p: check without SELECTOR skips the retired key" 0
	expect_eq "$p: ... and checks the two others" 2 "$(grep -c ': ok:' <<<"$CTL_OUT")"
}

# ---- s52: what check says ------------------------------------------------------------

s52_keys_checks() {
	local p="s52 keys"

	ctl keys generate keys.test --selector wrong --bits 1024
	ctl keys check keys.test wrong
	expect_ctl "$p: a record of another key: differs" 1 "differs: the record publishes another key"
	ctl keys generate keys.test --selector revoked
	ctl keys check keys.test revoked
	expect_ctl "$p: an empty p=: revoked" 1 "revoked: the key is revoked"
	ctl keys generate x.servfail.test --selector s
	ctl keys check x.servfail.test
	expect_ctl "$p: SERVFAIL: a DNS temporary failure, exit 1" 1 "temp: DNS temporary failure"
	ctl --json keys check x.servfail.test s
	expect_ctl "$p: check --json says temp" 1 '"result": "temp"'
	ctl keys check nokeys.test
	expect_ctl "$p: check of a domain without keys" 1 "no unretired key"
	ctl keys check keys.test nosuchselector
	expect_ctl "$p: check of a missing selector" 1 "no key nosuchselector"
}

# ---- s53: import-opendkim and signing rules ------------------------------------------

s53_keys_import() {
	local p="s53 keys" od=$KEYS_DIR/opendkim
	mkdir -p "$od"
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$od/a.private" 2>/dev/null
	openssl genpkey -algorithm ED25519 -out "$od/b.private" 2>/dev/null
	chmod 600 "$od"/*.private
	cat >"$od/KeyTable" <<EOF
# OpenDKIM KeyTable
imp-rsa   import.test:sel1:$od/a.private
imp-ed    import.test:sel2:$od/b.private
EOF
	cat >"$od/SigningTable" <<EOF
*@import.test      imp-rsa
*@*.import.test    imp-ed
EOF
	ctl keys import-opendkim "$od/KeyTable" "refile:$od/SigningTable"
	expect_ctl "$p: import-opendkim" 0 "imported 2 keys and 2 rules"
	expect_contains "$p: import says that import.test signs with both keys" \
		"import.test has 2 keys" "$CTL_OUT"
	expect_eq "$p: list shows the imported keys active" "sel1=active sel2=active" \
		"$(keys_states import.test)"
	expect_eq "$p: the keys were copied into key_dir, mode 600, the daemon's user" \
		"600 nobody" "$(stat -c '%a %U' "$KEYS_DIR/keys/import.test.sel1.key" 2>&1)"
	ctl --json keys signing
	expect_ctl "$p: the SigningTable rows are signing rules" 0 \
		'{"pattern": "*@*.import.test", "domain": "import.test"}'
	ctl keys import-opendkim "$od/KeyTable" "refile:$od/SigningTable"
	expect_ctl "$p: a second import changes nothing" 1 "nothing imported"
	printf '*@import.test\n' >"$od/Bad"
	ctl keys import-opendkim "$od/KeyTable" "refile:$od/Bad"
	expect_ctl "$p: a row without a key name: error with file:line" 1 "$od/Bad:1: pattern"

	ctl keys sign-for '*@keys.test' keys.test
	expect_ctl "$p: sign-for" 0
	ctl keys sign-for '*@keys.test' keys.test
	expect_ctl "$p: sign-for twice" 1 "already"
	ctl keys signing
	expect_match "$p: signing lists the rules, aligned" '^\*@keys\.test +keys\.test$' "$CTL_OUT"
	ctl keys sign-for --remove '*@keys.test' keys.test
	expect_ctl "$p: sign-for --remove" 0 "removed"
	ctl keys verify-files
	expect_ctl "$p: the daemon's loader accepts the table with the imported keys" 0 \
		"4 active, all loaded"
}

# ---- s54: usage, unsafe files, remove -------------------------------------------------

s54_keys_misc() {
	local p="s54 keys" f
	local -a bad=("keys frobnicate" "keys generate" "keys generate x.test --bits 512"
		"keys generate x.test --algorithm dsa" "keys activate keys.test"
		"keys check" "keys list --nosuchoption" "frobnicate" "")
	for f in "${bad[@]}"; do
		# shellcheck disable=SC2086
		ctl $f
		expect_ctl "$p: posternctl ${f:-(no command)}: bad usage, exit 2" 2 "usage:"
	done

	[[ -n $KEYS_ED ]] || return
	f=$KEYS_DIR/keys/keys.test.$KEYS_ED.key
	chmod 644 "$f"
	ctl keys verify-files
	expect_ctl "$p: an active key of mode 0644 is refused" 1 "(mode 0644); chmod 600 it"
	chmod 600 "$f"
	ctl keys verify-files
	expect_ctl "$p: ... and accepted again after chmod 600" 0

	ctl keys remove keys.test wrong
	expect_ctl "$p: remove keeps the key file and says where" 0 "its key file stays"
	expect_true "$p: the file is there" test -f "$KEYS_DIR/keys/keys.test.wrong.key"
	ctl keys remove keys.test "$KEYS_ED"
	expect_ctl "$p: remove refuses an active key" 1 "retire it first"
	ctl keys retire keys.test "$KEYS_ED"
	expect_ctl "$p: retire" 0 "is retired"
	ctl keys remove keys.test "$KEYS_ED" --delete-file
	expect_ctl "$p: remove --delete-file" 0 "and its key file"
	expect_true "$p: the file is gone" test ! -e "$f"
}

keys_scenarios() {
	dns_start || return
	if keys_setup; then
		s50_keys_life
		s51_keys_rotate
		s52_keys_checks
		s53_keys_import
		s54_keys_misc
	fi
	dns_stop
}
