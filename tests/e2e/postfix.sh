# shellcheck shell=bash
# tests/e2e/postfix.sh: a private Postfix instance and an smtp-sink next
# hop, for end-to-end tests and demos. Source it from bash; it defines
# functions and variables only and starts nothing by itself.
#
# The instance lives entirely under one work directory and never reads or
# writes /etc/postfix/main.cf or master.cf (Postfix still reads its own
# program tables from meta_directory, /etc/postfix/postfix-files, read
# only). It needs the Debian packages postfix (configured as "No
# configuration", so the system's Postfix stays unconfigured and stopped)
# and, for sink_start, the smtp-sink program that comes with it. Postfix
# must run as real root. Run it inside a private network namespace (see
# ../shared/testing.md): it listens on fixed loopback ports.
#
# Layout under WORKDIR (pf_setup):
#   conf/main.cf conf/master.cf   config_directory (postfix -c WORKDIR/conf)
#   spool/                        queue_directory (spool/pid/master.pid)
#   data/                         data_directory
#   maillog                       maillog_file (every Postfix log line)
#
# Variables (set them before pf_setup to change a default):
#   PF_SMTPD_ADDR   address of smtpd                    (127.0.0.1)
#   PF_SMTPD_PORT   port of smtpd                       (2525)
#   PF_RELAY_PORT   port of the next hop, [127.0.0.1]   (2526)
#   PF_MYHOSTNAME   Postfix's myhostname                (mta.e2e.test)
#   PF_RELAY_DOMAINS  domains that smtpd accepts from any client
#                   (example.test e2e.test)
#   SINK_PORT       smtp-sink's port (sink_start)       ($PF_RELAY_PORT)
# Set by the functions:
#   PF_DIR          the work directory (pf_setup)
#   PF_CONF         its config directory, for postfix -c / sendmail -C
#   PF_LOG          the maillog file
#   PF_ERR          the last error message of a function that failed
#   SINK_DIR, SINK_PID  the sink's directory and process (sink_start)
#
# Functions (each returns 0 on success; on failure 1, with PF_ERR set):
#
#   pf_setup WORKDIR MILTER [MAIN.CF LINES...]
#       Write WORKDIR/conf/main.cf and master.cf and create the
#       directories. MILTER is a Postfix milter spec
#       ("inet:127.0.0.1:8895", "unix:/path"); it becomes smtpd_milters
#       and non_smtpd_milters, with milter_default_action = tempfail.
#       Each further argument is one more main.cf line ("name = value"),
#       appended last, so it overrides a default above it. Main settings:
#       smtpd on PF_SMTPD_ADDR:PF_SMTPD_PORT, inet_interfaces = 127.0.0.1,
#       relayhost = [127.0.0.1]:PF_RELAY_PORT, no DNS
#       (smtp_dns_support_level = disabled), no local delivery
#       (mydestination empty), XCLIENT allowed from 127.0.0.0/8, every
#       service with chroot n, short retry times. Write the config once:
#       Postfix starts about 2 s slower right after main.cf changed.
#   pf_start
#       Start the instance (postfix -c PF_CONF start) and wait until the
#       master listens on smtpd's port (10 s at most; no probe session is
#       made, so the milter sees no extra connection). The first start of
#       a new queue takes 2 to 3 s, later ones well under a second.
#   pf_stop
#       SIGTERM to the master (spool/pid/master.pid), wait until it and
#       smtpd's port are gone (10 s, then SIGKILL), and touch
#       spool/quick-start so that the next pf_start skips the slow
#       integrity check (what "postfix quick-stop" does, without its 1 s
#       polling). Safe to call when it is not running.
#   pf_running
#       Status 0 if the master process is alive.
#   pf_sendmail [-f] FROM RCPT... < MESSAGE
#       Submit MESSAGE with Postfix's sendmail -C PF_CONF -f FROM -i
#       RCPT...: local submission, through non_smtpd_milters. The
#       message is queued (postdrop, then pickup); see pf_wait_queue_empty.
#       A leading "-f" is accepted and ignored. On failure PF_ERR has
#       sendmail's status and messages.
#   pf_queue
#       Print the queue (postqueue -c PF_CONF -p).
#   pf_wait_queue_empty [SECONDS]
#       Wait (default 10 s) until the instance's queue is empty.
#   pf_log_since MARK
#       Print the maillog from byte offset MARK (take MARK with
#       pf_log_mark before the action).
#   pf_log_mark
#       Print the maillog's current size, for pf_log_since.
#   sink_start DIR [PORT]
#       Start smtp-sink on 127.0.0.1:PORT (default SINK_PORT, else
#       PF_RELAY_PORT), running as nobody, writing each delivered message
#       to its own file DIR/msg.HHMMSS.<random hex> ("-d DIR/msg.%H%M%S."):
#       the envelope as X-* lines that smtp-sink adds (X-Client-Addr,
#       X-Mail-Args, X-Rcpt-Args ...), a Received: header of smtp-sink,
#       then the message as it was received. DIR is created (owned by
#       nobody); keep other files out of it. Waits until it listens.
#   sink_stop
#       Stop the sink (SIGTERM, then SIGKILL after 2 s).
#   sink_files
#       Print the sink's message files, oldest first.
#   sink_wait COUNT [SECONDS]
#       Wait (default 10 s) until the sink holds at least COUNT files.
#   sink_message FILE
#       Print FILE without smtp-sink's envelope lines and its own
#       Received: header: the message as the MTA delivered it (headers,
#       empty line, body).
#   pf_swaks [SWAKS ARGUMENTS...]
#       swaks against the instance's smtpd (--server ADDR:PORT), quiet
#       except for the SMTP dialogue; its output on stdout, its status
#       returned. Use --xclient-addr / --xclient-name / --xclient-helo to
#       be any client (smtpd_authorized_xclient_hosts = 127.0.0.0/8).
#   pf_reply COMMAND-PREFIX TRANSCRIPT
#       From a swaks transcript (pf_swaks' output), print the reply to
#       the last command that starts with COMMAND-PREFIX ("MAIL FROM",
#       "RCPT TO", "." for the end of DATA), without swaks' arrows; the
#       lines of a multi-line reply one per line. Empty if that command
#       was never sent (for instance after a refused MAIL FROM).
#   pf_queued_as TRANSCRIPT
#       The queue id of "250 2.0.0 Ok: queued as ID" (Postfix) or "250
#       2.0.0 ID Message accepted for delivery" (Sendmail), if any.
#
# Example (as root, in a network namespace):
#   . tests/e2e/postfix.sh
#   pf_setup /tmp/demo/pf inet:127.0.0.1:8895 || echo "$PF_ERR"
#   sink_start /tmp/demo/sink && pf_start || echo "$PF_ERR"
#   out=$(pf_swaks --xclient-addr 203.0.113.1 --xclient-name good.example.test \
#       --from alice@e2e.test --to bob@example.test)
#   echo "told: $(pf_reply "RCPT TO" "$out")"
#   pf_stop; sink_stop

PF_SMTPD_ADDR=${PF_SMTPD_ADDR:-127.0.0.1}
PF_SMTPD_PORT=${PF_SMTPD_PORT:-2525}
PF_RELAY_PORT=${PF_RELAY_PORT:-2526}
PF_MYHOSTNAME=${PF_MYHOSTNAME:-mta.e2e.test}
PF_RELAY_DOMAINS=${PF_RELAY_DOMAINS:-example.test e2e.test}
PF_DIR=""
PF_CONF=""
PF_LOG=""
PF_ERR=""
SINK_DIR=""
SINK_PID=""

_pf_now_ms() {
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

# _pf_alive PID: the process exists and is not a zombie (the master is
# not our child: whoever reaps it may take its time).
_pf_alive() {
	local state
	kill -0 "$1" 2>/dev/null || return 1
	state=$(sed -e 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[[ -n $state && $state != Z ]]
}

# _pf_listening PORT: something listens on TCP 127.0.0.1:PORT.
_pf_listening() {
	ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

pf_setup() {
	local dir=$1 milter=$2
	PF_ERR=""
	if (($# < 2)); then
		PF_ERR="usage: pf_setup WORKDIR MILTER [MAIN.CF LINES...]"
		return 1
	fi
	shift 2
	command -v postfix >/dev/null || {
		PF_ERR="postfix is not installed"
		return 1
	}
	[[ $dir == /* ]] || dir=$(pwd)/$dir
	PF_DIR=$dir
	PF_CONF=$dir/conf
	PF_LOG=$dir/maillog
	mkdir -p "$PF_CONF" "$dir/spool" "$dir/data" || {
		PF_ERR="cannot create $dir"
		return 1
	}
	# Postfix wants the queue and config owned by root, not writable by
	# others; its services (user postfix) must reach the queue.
	chown root:root "$dir" "$PF_CONF" "$dir/spool"
	chmod 755 "$dir" "$PF_CONF" "$dir/spool"
	chown postfix "$dir/data"
	chmod 700 "$dir/data"
	: >>"$PF_LOG"
	cat >"$PF_CONF/main.cf" <<EOF
# Written by tests/e2e/postfix.sh (pf_setup): a private instance.
compatibility_level = 3.6
queue_directory = $dir/spool
data_directory = $dir/data
# Log to a file through postlogd; its directory must be one of the
# prefixes, or every postfix command exits 1 without a word.
maillog_file = $PF_LOG
maillog_file_prefixes = $dir
myhostname = $PF_MYHOSTNAME
mydomain = ${PF_MYHOSTNAME#*.}
myorigin = \$myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relay_domains = $PF_RELAY_DOMAINS
relayhost = [127.0.0.1]:$PF_RELAY_PORT
smtp_dns_support_level = disabled
smtpd_authorized_xclient_hosts = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_milters = $milter
non_smtpd_milters = $milter
milter_default_action = tempfail
milter_connect_timeout = 10s
smtputf8_enable = no
biff = no
# Tests do not wait for retries of the queue manager.
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
in_flow_delay = 0
smtpd_client_connection_rate_limit = 0
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 100
smtpd_hard_error_limit = 100
EOF
	if (($# > 0)); then
		printf '%s\n' "# Extra lines (pf_setup arguments)." "$@" >>"$PF_CONF/main.cf"
	fi
	cat >"$PF_CONF/master.cf" <<EOF
# Written by tests/e2e/postfix.sh (pf_setup). chroot is n everywhere.
# service      type  private unpriv chroot wakeup maxproc command
$PF_SMTPD_ADDR:$PF_SMTPD_PORT inet n - n - - smtpd
pickup         unix  n       -      n      60     1       pickup
cleanup        unix  n       -      n      -      0       cleanup
qmgr           unix  n       -      n      300    1       qmgr
rewrite        unix  -       -      n      -      -       trivial-rewrite
bounce         unix  -       -      n      -      0       bounce
defer          unix  -       -      n      -      0       bounce
trace          unix  -       -      n      -      0       bounce
verify         unix  -       -      n      -      1       verify
flush          unix  n       -      n      1000?  0       flush
proxymap       unix  -       -      n      -      -       proxymap
smtp           unix  -       -      n      -      -       smtp
relay          unix  -       -      n      -      -       smtp
showq          unix  n       -      n      -      -       showq
error          unix  -       -      n      -      -       error
retry          unix  -       -      n      -      -       error
discard        unix  -       -      n      -      -       discard
local          unix  -       n      n      -      -       local
anvil          unix  -       -      n      -      1       anvil
scache         unix  -       -      n      -      1       scache
postlog        unix-dgram n  -      n      -      1       postlogd
EOF
	chmod 644 "$PF_CONF/main.cf" "$PF_CONF/master.cf"
	local out
	if ! out=$(postfix -c "$PF_CONF" check 2>&1); then
		PF_ERR="postfix -c $PF_CONF check failed: $out $(tail -n 5 "$PF_LOG" 2>/dev/null)"
		return 1
	fi
	return 0
}

pf_master_pid() {
	local f=$PF_DIR/spool/pid/master.pid pid
	[[ -f $f ]] || return 1
	pid=$(tr -dc '0-9' <"$f")
	[[ -n $pid ]] && _pf_alive "$pid" || return 1
	echo "$pid"
}

pf_running() {
	pf_master_pid >/dev/null
}

pf_start() {
	local out deadline
	PF_ERR=""
	[[ -n $PF_CONF ]] || {
		PF_ERR="pf_start: pf_setup first"
		return 1
	}
	if pf_running; then
		PF_ERR="pf_start: already running"
		return 1
	fi
	if ! out=$(postfix -c "$PF_CONF" start 2>&1); then
		PF_ERR="postfix -c $PF_CONF start failed: $out"$'\n'"$(tail -n 10 "$PF_LOG" 2>/dev/null)"
		return 1
	fi
	deadline=$(($(_pf_now_ms) + 10000))
	until _pf_listening "$PF_SMTPD_PORT"; do
		if (($(_pf_now_ms) > deadline)); then
			PF_ERR="Postfix's smtpd does not listen on $PF_SMTPD_ADDR:$PF_SMTPD_PORT after 10 s"$'\n'"$(tail -n 10 "$PF_LOG" 2>/dev/null)"
			return 1
		fi
		sleep 0.05
	done
	return 0
}

pf_stop() {
	local pid deadline
	PF_ERR=""
	[[ -n $PF_DIR ]] || return 0
	pid=$(pf_master_pid) || return 0
	kill -TERM "$pid" 2>/dev/null
	deadline=$(($(_pf_now_ms) + 10000))
	while _pf_alive "$pid" || _pf_listening "$PF_SMTPD_PORT"; do
		if (($(_pf_now_ms) > deadline)); then
			kill -KILL "$pid" 2>/dev/null
			PF_ERR="the Postfix master ($pid) did not stop within 10 s"
			break
		fi
		sleep 0.02
	done
	touch "$PF_DIR/spool/quick-start"
	[[ -z $PF_ERR ]]
}

pf_sendmail() {
	[[ ${1:-} == -f ]] && shift
	local from=$1 err rc
	shift
	PF_ERR=""
	err=$(sendmail -C "$PF_CONF" -f "$from" -i -- "$@" 2>&1)
	rc=$?
	if ((rc != 0)); then
		PF_ERR="sendmail -C $PF_CONF exited $rc: $err"
		return 1
	fi
}

pf_queue() {
	postqueue -c "$PF_CONF" -p 2>&1
}

pf_wait_queue_empty() {
	local deadline
	deadline=$(($(_pf_now_ms) + ${1:-10} * 1000))
	until [[ -z $(find "$PF_DIR/spool/maildrop" "$PF_DIR/spool/incoming" \
		"$PF_DIR/spool/active" "$PF_DIR/spool/deferred" -type f 2>/dev/null | head -n 1) ]]; do
		if (($(_pf_now_ms) > deadline)); then
			PF_ERR="the queue is not empty after ${1:-10} s:"$'\n'"$(pf_queue)"
			return 1
		fi
		sleep 0.05
	done
}

pf_log_mark() {
	stat -c %s "$PF_LOG" 2>/dev/null || echo 0
}

pf_log_since() {
	tail -c +$(($1 + 1)) "$PF_LOG" 2>/dev/null
}

pf_swaks() {
	swaks --server "$PF_SMTPD_ADDR:$PF_SMTPD_PORT" --timeout 30 --hide-informational "$@" 2>&1
}

pf_reply() {
	awk -v p=" -> $1" '
		index($0, p) == 1 { want = 1; r = ""; next }
		want && /^<(-|\*\*) / { sub(/^<(-|\*\*) +/, ""); r = (r == "" ? $0 : r "\n" $0); next }
		want && r != "" { want = 0 }
		END { print r }' <<<"$2"
}

pf_queued_as() {
	pf_reply . "$1" | sed -n -e 's/^250 .*queued as \([0-9A-Za-z]*\).*/\1/p' \
		-e 's/^250 2\.0\.0 \([0-9A-Za-z]*\) Message accepted for delivery$/\1/p'
}

sink_start() {
	local dir=$1 port=${2:-${SINK_PORT:-$PF_RELAY_PORT}} deadline
	PF_ERR=""
	command -v smtp-sink >/dev/null || {
		PF_ERR="smtp-sink is not installed (package postfix)"
		return 1
	}
	[[ $dir == /* ]] || dir=$(pwd)/$dir
	if ! mkdir -p "$dir" || ! chown nobody "$dir"; then
		PF_ERR="cannot create $dir"
		return 1
	fi
	SINK_DIR=$dir
	smtp-sink -u nobody -d "$dir/msg.%H%M%S." "127.0.0.1:$port" 100 \
		>"$dir.log" 2>&1 &
	SINK_PID=$!
	deadline=$(($(_pf_now_ms) + 5000))
	until _pf_listening "$port"; do
		if ! kill -0 "$SINK_PID" 2>/dev/null || (($(_pf_now_ms) > deadline)); then
			PF_ERR="smtp-sink does not listen on 127.0.0.1:$port: $(cat "$dir.log" 2>/dev/null)"
			sink_stop
			return 1
		fi
		sleep 0.02
	done
}

sink_stop() {
	local pid=$SINK_PID n=0
	[[ -n $pid ]] || return 0
	kill -TERM "$pid" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null && ((n < 100)); do
		sleep 0.02
		n=$((n + 1))
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	SINK_PID=""
	return 0
}

sink_files() {
	[[ -n $SINK_DIR ]] || return 0
	# shellcheck disable=SC2012
	ls -1tr "$SINK_DIR"/msg.* 2>/dev/null
}

sink_wait() {
	local count=$1 deadline
	deadline=$(($(_pf_now_ms) + ${2:-10} * 1000))
	until (($(sink_files | wc -l) >= count)); do
		(($(_pf_now_ms) > deadline)) && return 1
		sleep 0.05
	done
}

sink_message() {
	# smtp-sink's envelope lines come first (X-Client-Addr, X-Client-Proto,
	# X-Helo-Args, X-Mail-Args, X-Rcpt-Args), then its own Received:
	# header ("by smtp-sink (smtp-sink)"); the message follows.
	awk '
		state == 0 && /^X-(Client-[A-Za-z]+|Helo-Args|Mail-Args|Rcpt-Args): / { next }
		state == 0 && /^Received: / { state = 1; held = $0; next }
		state == 1 && /^[ \t]/ { held = held "\n" $0; next }
		state == 1 {
			if (held !~ /by smtp-sink \(smtp-sink\)/)
				print held
			state = 2
		}
		{ state = 2; print }' "$1"
}
