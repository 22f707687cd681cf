# shellcheck shell=bash disable=SC2034,SC2119,SC2120,SC2154
# tests/dns.sh: the DNS servers of the integration suite (sourced by
# tests/run-integration after lib.sh; bash only).
#
#   dns_start   checks the fixture zones (nsd-checkconf, nsd-checkzone),
#               starts NSD on 127.0.0.1:5353 with tests/fixtures/dns and
#               the fault responder (tests/dns-fault.py) on 127.0.0.1:5354,
#               waits until both answer, and reports one test for each.
#               Returns 1 when either is not usable. It also hooks
#               dns_stop into the EXIT trap.
#   dns_stop    stops both (idempotent).
#   dns_hook_exit [FUNCTION], dns_stop_pids PID...: for other helper
#               servers (tests/run-dkim-scenarios.sh).
#   dns_query   kdig against either server, for diagnostics and checks:
#               dns_query PORT NAME TYPE [KDIG OPTIONS...]
#
# Needs $WORK, $FIX (the copy of tests/fixtures), $top_srcdir, $PYTHON,
# and lib.sh's report_* functions. Everything runs inside the suite's
# private network namespace: nothing here can reach the host's resolver.

DNS_NSD_PORT=5353
DNS_FAULT_PORT=5354
DNS_DIR=""
DNS_NSD_PID=""
DNS_FAULT_PID=""
DNS_FAULT_LOG=""

dns_query() {
	local port=$1 name=$2 type=$3
	shift 3
	kdig -p "$port" @127.0.0.1 "$name" "$type" +timeout=1 +retry=0 "$@" 2>&1
}

# dns_wait PORT NAME TYPE STATUS [SECONDS]: poll until the server answers
# NAME/TYPE with STATUS (NOERROR, NXDOMAIN, ...). A query sent while NSD
# loads its zones is dropped, hence the polling.
dns_wait() {
	local port=$1 name=$2 type=$3 status=$4 deadline
	deadline=$(($(now_ms) + ${5:-10} * 1000))
	# kdig waits at least 1 s for a lost query: first wait for the socket.
	until ss -Hlun "sport = :$port" 2>/dev/null | grep -q .; do
		(($(now_ms) > deadline)) && return 1
		sleep 0.02
	done
	until dns_query "$port" "$name" "$type" | grep -q "status: $status"; do
		(($(now_ms) > deadline)) && return 1
		sleep 0.05
	done
}

# dns_hook_exit [FUNCTION]: add FUNCTION (default dns_stop) to whatever
# the EXIT trap already does (run-integration's cleanup), once.
dns_hook_exit() {
	local fn=${1:-dns_stop} cur
	cur=$(trap -p EXIT)
	[[ $cur == *"$fn"* ]] && return 0
	if [[ -n $cur ]]; then
		eval "set -- $cur"
		# shellcheck disable=SC2064
		trap "$fn; $3" EXIT
	else
		# shellcheck disable=SC2064
		trap "$fn" EXIT
	fi
}

dns_start() {
	local src=$FIX/dns z name out bad="" rc
	CUR_INST=""
	CUR_TAG=""
	for tool in nsd nsd-checkconf nsd-checkzone kdig; do
		if ! command -v "$tool" >/dev/null; then
			report_fail "dns: $tool is installed (packages nsd, knot-dnsutils)"
			return 1
		fi
	done
	DNS_DIR=$WORK/dns
	mkdir -p "$DNS_DIR"
	cp "$src"/*.zone "$DNS_DIR/"
	sed -e "s|@DIR@|$DNS_DIR|g" "$src/nsd.conf.in" >"$DNS_DIR/nsd.conf"
	if ! out=$(nsd-checkconf "$DNS_DIR/nsd.conf" 2>&1); then
		report_fail "dns: nsd-checkconf accepts the fixture config" "$(indent "$out")"
		return 1
	fi
	for z in "$DNS_DIR"/*.zone; do
		name=$(basename "$z" .zone)
		[[ $name == root ]] && name=.
		if ! out=$(nsd-checkzone "$name" "$z" 2>&1); then
			bad+="$name: $out"$'\n'
		fi
	done
	if [[ -n $bad ]]; then
		report_fail "dns: nsd-checkzone accepts every fixture zone" "$bad"
		return 1
	fi
	report_ok "dns: nsd-checkconf and nsd-checkzone accept the fixtures ($(find "$DNS_DIR" -name '*.zone' | wc -l) zones)"

	dns_hook_exit
	nsd -d -c "$DNS_DIR/nsd.conf" >"$DNS_DIR/nsd.stderr" 2>&1 &
	DNS_NSD_PID=$!
	if dns_wait $DNS_NSD_PORT good.example.test A NOERROR 10; then
		report_ok "dns: NSD answers on 127.0.0.1:$DNS_NSD_PORT"
	else
		report_fail "dns: NSD answers on 127.0.0.1:$DNS_NSD_PORT" \
			"kdig: $(dns_query $DNS_NSD_PORT good.example.test A | tail -n 3)" \
			"nsd log:" "$(tail -n 20 "$DNS_DIR/nsd.log" "$DNS_DIR/nsd.stderr" 2>&1)"
		dns_stop
		return 1
	fi
	# The TEMP case of every scenario: the zone without a file.
	out=$(dns_query $DNS_NSD_PORT x.servfail.test A)
	expect_match "dns: NSD answers SERVFAIL for servfail.test (zone file missing)" \
		'status: SERVFAIL' "$out"

	DNS_FAULT_LOG=$DNS_DIR/fault.log
	"$PYTHON" "$top_srcdir/tests/dns-fault.py" $DNS_FAULT_PORT "$DNS_FAULT_LOG" \
		2>"$DNS_DIR/fault.stderr" &
	DNS_FAULT_PID=$!
	if dns_wait $DNS_FAULT_PORT ok.fault.test A NOERROR 10; then
		report_ok "dns: the fault responder answers on 127.0.0.1:$DNS_FAULT_PORT"
	else
		rc=1
		report_fail "dns: the fault responder answers on 127.0.0.1:$DNS_FAULT_PORT" \
			"$(tail -n 20 "$DNS_DIR/fault.stderr" "$DNS_FAULT_LOG" 2>&1)"
		dns_stop
		return $rc
	fi
	return 0
}

# dns_stop_pids PID...: SIGTERM to each (empty ones skipped), then
# SIGKILL to any still running 2 s later, and reap them.
dns_stop_pids() {
	local pid n
	for pid in "$@"; do
		[[ -n $pid ]] || continue
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "$@"; do
		[[ -n $pid ]] || continue
		n=0
		while kill -0 "$pid" 2>/dev/null && ((n < 100)); do
			sleep 0.02
			n=$((n + 1))
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
}

dns_stop() {
	dns_stop_pids "$DNS_NSD_PID" "$DNS_FAULT_PID"
	DNS_NSD_PID=""
	DNS_FAULT_PID=""
}

# fault_count NAME: how many queries the fault responder has seen for NAME
# (any type, UDP or TCP).
fault_count() {
	grep -c -E " (udp|tcp) $1 [A-Z0-9]+\$" "$DNS_FAULT_LOG" 2>/dev/null
}
