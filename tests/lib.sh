# shellcheck shell=bash disable=SC2034
# tests/lib.sh: shell helpers of the integration suite (sourced by
# tests/run-integration; bash only).
#
# Reporting: every assertion prints "ok N - text" or "not ok N - text"
# followed by "# " diagnostics (what was expected, what was found, the
# tail of the daemon's log and the rows of the session under test).
#
# Daemons: new_instance NAME FRAGMENT writes $WORK/NAME/postern.conf
# (its own port, database $WORK/NAME/db/postern.db, user = nobody) from a
# fixture fragment; start_daemon / stop_daemon run and stop it.
#
# Sessions: mt_session INST SCRIPT VAR=VALUE... runs a miltertest script
# of tests/milter with a fresh tag (the {daemon_name} macro, stored in the
# connections row, which is how a test finds its own rows) and leaves the
# transcript in $OUT. raw_session does the same with rawmilter, a small
# milter client for what miltertest cannot send.

# ---- Reporting ------------------------------------------------------------

T_NUM=0
T_PASSED=0
T_FAILED=0
T_SKIPPED=0
CUR_INST=""   # instance of the last session: its log goes with failures
CUR_TAG=""    # tag of the last session: its rows go with failures

now_ms() {
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

# Diagnostic lines ("# "), each cut at 400 bytes.
diag() {
	cut -c1-400 | sed -e 's/^/# /'
}

indent() {
	if [[ -z $1 ]]; then
		echo "    (nothing)"
	else
		printf '%s\n' "$1" | sed -e 's/^/    /'
	fi
}

report_ok() {
	T_NUM=$((T_NUM + 1))
	T_PASSED=$((T_PASSED + 1))
	printf 'ok %d - %s\n' "$T_NUM" "$1"
}

# report_fail DESC [DIAGNOSTIC LINES...]
report_fail() {
	local desc=$1
	shift
	T_NUM=$((T_NUM + 1))
	T_FAILED=$((T_FAILED + 1))
	printf 'not ok %d - %s\n' "$T_NUM" "$desc"
	if (($# > 0)); then
		printf '%s\n' "$@" | diag
	fi
	context_diag | diag
}

report_skip() {
	T_NUM=$((T_NUM + 1))
	T_SKIPPED=$((T_SKIPPED + 1))
	printf 'ok %d - %s # SKIP %s\n' "$T_NUM" "$1" "$2"
}

# The log tail of the current instance and the rows of the current tag.
context_diag() {
	local inst=$CUR_INST tag=$CUR_TAG
	[[ -n $inst && -d $WORK/$inst ]] || return 0
	if [[ -s $WORK/$inst/log ]]; then
		echo "daemon log ($inst), last lines:"
		tail -n 12 "$WORK/$inst/log" | cut -c1-400 | sed -e 's/^/    /'
	fi
	if [[ -n $tag && -f $WORK/$inst/db/postern.db ]]; then
		echo "rows of session $tag:"
		sql "$inst" "$(q_conn_rows "$tag")" | sed -e 's/^/    connections: /'
		sql "$inst" "$(q_msg_rows "$tag")" | sed -e 's/^/    messages: /'
		sql "$inst" "$(q_check_rows "$tag")" | sed -e 's/^/    checks: /'
	fi
}

# expect_eq DESC EXPECTED ACTUAL
expect_eq() {
	if [[ $2 == "$3" ]]; then
		report_ok "$1"
	else
		report_fail "$1" "expected:" "$(indent "$2")" "found:" "$(indent "$3")"
	fi
}

# expect_contains DESC NEEDLE HAYSTACK (fixed string)
expect_contains() {
	if [[ $3 == *"$2"* ]]; then
		report_ok "$1"
	else
		report_fail "$1" "expected to contain: $2" "found:" "$(indent "$3")"
	fi
}

# expect_match DESC ERE TEXT (some line of TEXT matches)
expect_match() {
	if printf '%s\n' "$3" | grep -Eq -- "$2"; then
		report_ok "$1"
	else
		report_fail "$1" "expected a line matching: $2" "found:" "$(indent "$3")"
	fi
}

# A rawmilter transcript without its eom-change lines (header changes,
# whose folded values continue on lines that start with a tab).
without_changes() {
	printf '%s\n' "$1" | awk '/^eom-change/ { skip = 1; next } skip && /^\t/ { next } { skip = 0; print }'
}

# expect_true DESC COMMAND...
expect_true() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		report_ok "$desc"
	else
		report_fail "$desc" "failed: $*" "$(indent "$out")"
	fi
}

# ---- The database -----------------------------------------------------------

sql() {
	local db=$WORK/$1/db/postern.db
	if [[ ! -f $db ]]; then
		echo "(no database $db)"
		return 1
	fi
	sqlite3 -batch -cmd '.timeout 3000' "$db" "$2" 2>&1
}

q_conn_id() {
	echo "(select id from connections where daemon_name = '$1')"
}

# "client_addr|client_port|client_name|bypass"
q_conn_rows() {
	echo "select client_addr, client_port, coalesce(client_name, ''), coalesce(bypass, '')
	      from connections where daemon_name = '$1' order by id"
}

# "action|reply|stage|recipients|rejected_recipients|sender|queue_id"
q_msg_rows() {
	echo "select action, coalesce(reply, ''), coalesce(stage, ''), coalesce(recipients, ''),
	             coalesce(rejected_recipients, ''), coalesce(sender, ''), coalesce(queue_id, '')
	      from messages where conn_id in $(q_conn_id "$1") order by id"
}

# "stage|name|result|action|detail" (fixture paths shortened to their
# file name); an optional second argument is an extra SQL condition.
q_check_rows() {
	echo "select stage, name, result, action, replace(coalesce(detail, ''), '$FIX/', '')
	      from checks where conn_id in $(q_conn_id "$1") ${2:+and ($2)} order by id"
}

# poll_sql INST QUERY PRED [ARGS...]: the rows are written by the
# daemon's writer thread, so run QUERY until "PRED ROWS ARGS..." holds or
# 5 s have passed. Leaves the last rows in POLLED; returns PRED's status.
poll_sql() {
	local inst=$1 query=$2 deadline
	shift 2
	deadline=$(($(now_ms) + 5000))
	while :; do
		POLLED=$(sql "$inst" "$query")
		"$1" "$POLLED" "${@:2}" && return 0
		(($(now_ms) > deadline)) && return 1
		sleep 0.05
	done
}

# Predicates for poll_sql.
same() { [[ $1 == "$2" ]]; }
nonempty() { [[ -n $1 ]]; }
# has_ends ROWS PREFIX SUFFIX: ROWS starts with PREFIX and ends with SUFFIX.
has_ends() { [[ $1 == "$2"*"$3" ]]; }

# expect_sql DESC INST QUERY EXPECTED: the rows, polled until they match.
expect_sql() {
	local desc=$1 inst=$2 query=$3 expected=$4
	if poll_sql "$inst" "$query" same "$expected"; then
		report_ok "$desc"
	else
		report_fail "$desc" "SQL: $(echo "$query" | tr -s ' \t\n' ' ')" \
			"expected rows:" "$(indent "$expected")" "found rows:" "$(indent "$POLLED")"
	fi
}

# Wait (up to 5 s) until QUERY returns EXPECTED; no report.
wait_sql() {
	poll_sql "$1" "$2" same "$3"
}

# ---- Daemons ----------------------------------------------------------------

declare -A D_PORT D_PID D_STATUS D_STOP_MS
NEXT_PORT=20100

# new_instance NAME FRAGMENT [EXTRA LINES...]: write $WORK/NAME/postern.conf.
# In FRAGMENT (a file of tests/fixtures), @FIX@ is the fixture copy and
# @INST@ the instance directory.
new_instance() {
	local name=$1 frag=$2 dir=$WORK/$1
	shift 2
	mkdir -p "$dir"
	chmod 755 "$dir"
	D_PORT[$name]=$NEXT_PORT
	NEXT_PORT=$((NEXT_PORT + 1))
	write_conf "$name" "$frag" "$@"
}

# write_conf NAME FRAGMENT [EXTRA LINES...]: (re)write an instance's config.
write_conf() {
	local name=$1 frag=$2 dir=$WORK/$1
	shift 2
	{
		echo "# $name: written by tests/run-integration"
		echo "socket = inet:${D_PORT[$name]}@127.0.0.1"
		echo "database = $dir/db/postern.db"
		echo "user = nobody"
		echo "shutdown_timeout = 10s"
		if [[ -n $frag ]]; then
			subst "$dir" <"$FIX/$frag"
		fi
		if (($# > 0)); then
			printf '%s\n' "$@"
		fi
	} >"$dir/postern.conf.new"
	chmod 644 "$dir/postern.conf.new"
	mv "$dir/postern.conf.new" "$dir/postern.conf"
}

subst() {
	sed -e "s|@FIX@|$FIX|g" -e "s|@INST@|$1|g"
}

alive() {
	local pid=$1 state
	kill -0 "$pid" 2>/dev/null || return 1
	state=$(sed -e 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)
	[[ -n $state && $state != Z ]]
}

# The filter process: the supervisor's child.
filter_pid() {
	pgrep -P "${D_PID[$1]}" 2>/dev/null | head -n 1
}

log_count() {
	grep -c -F -- "$2" "$WORK/$1/log" 2>/dev/null
}

# wait_log INST TEXT [COUNT] [SECONDS]: until TEXT appears COUNT times.
wait_log() {
	local inst=$1 text=$2 count=${3:-1} deadline
	deadline=$(($(now_ms) + ${4:-10} * 1000))
	until (($(log_count "$inst" "$text") >= count)); do
		(($(now_ms) > deadline)) && return 1
		sleep 0.05
	done
}

# start_daemon NAME [valgrind]: start and wait until the filter process is
# ready and the port accepts. Reports one test.
start_daemon() {
	local name=$1 mode=${2:-} dir=$WORK/$1 limit=10000 deadline pid
	local -a cmd=("$POSTERN" -f -c "$dir/postern.conf")
	if [[ $mode == valgrind ]]; then
		cmd=(valgrind --vgdb=no --leak-check=full --errors-for-leak-kinds=definite
			--error-exitcode=99 --log-file="$WORK/vg/vg.%p" "${cmd[@]}")
		limit=90000
	fi
	CUR_INST=$name
	CUR_TAG=""
	"${cmd[@]}" 2>"$dir/log" &
	pid=$!
	D_PID[$name]=$pid
	deadline=$(($(now_ms) + limit))
	while :; do
		if ! alive "$pid"; then
			wait "$pid"
			D_STATUS[$name]=$?
			report_fail "$name: daemon starts and listens on port ${D_PORT[$name]}" \
				"the daemon exited with status ${D_STATUS[$name]}"
			unset "D_PID[$name]"
			return 1
		fi
		if grep -q "filter ready on" "$dir/log" &&
			ss -Hltn "sport = :${D_PORT[$name]}" 2>/dev/null | grep -q .; then
			break
		fi
		if (($(now_ms) > deadline)); then
			report_fail "$name: daemon starts and listens on port ${D_PORT[$name]}" \
				"not ready after $((limit / 1000)) s"
			return 1
		fi
		sleep 0.05
	done
	report_ok "$name: daemon starts and listens on port ${D_PORT[$name]}"
}

# stop_daemon NAME [SECONDS]: SIGTERM to the supervisor and wait. Sets
# D_STATUS[NAME] (exit status, or "timeout") and D_STOP_MS[NAME]; returns
# 1 on timeout (the daemon is then killed).
stop_daemon() {
	local name=$1 limit=${2:-15} pid=${D_PID[$1]:-} t0 child
	[[ -n $pid ]] || {
		D_STATUS[$name]=${D_STATUS[$name]:-"not running"}
		return 1
	}
	child=$(filter_pid "$name")
	t0=$(now_ms)
	kill -TERM "$pid" 2>/dev/null
	wait_exit "$name" "$limit" "$t0" "$child"
}

# wait_exit NAME SECONDS [T0 [CHILD]]: wait for the supervisor to exit.
wait_exit() {
	local name=$1 limit=$2 t0=${3:-$(now_ms)} child=${4:-} pid=${D_PID[$1]:-}
	[[ -n $pid ]] || return 1
	while alive "$pid"; do
		if (($(now_ms) - t0 > limit * 1000)); then
			[[ -n $child ]] && kill -KILL "$child" 2>/dev/null
			kill -KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			D_STATUS[$name]=timeout
			D_STOP_MS[$name]=$(($(now_ms) - t0))
			unset "D_PID[$name]"
			return 1
		fi
		sleep 0.02
	done
	wait "$pid"
	D_STATUS[$name]=$?
	D_STOP_MS[$name]=$(($(now_ms) - t0))
	unset "D_PID[$name]"
	return 0
}

# stop_and_check NAME: stop, and report that it exited 0 in time.
stop_and_check() {
	local name=$1 limit=${2:-15}
	CUR_INST=$name
	CUR_TAG=""
	stop_daemon "$name" "$limit"
	expect_eq "$name: SIGTERM stops the daemon within $limit s with exit status 0" \
		"0" "${D_STATUS[$name]}"
}

# Kill whatever daemons are still running (on exit).
kill_daemons() {
	local name pid child
	for name in "${!D_PID[@]}"; do
		pid=${D_PID[$name]}
		child=$(pgrep -P "$pid" 2>/dev/null | head -n 1)
		kill -KILL "$pid" ${child:+"$child"} 2>/dev/null
		wait "$pid" 2>/dev/null
	done
}

# ---- Sessions ---------------------------------------------------------------

TAG_SEQ=0

new_tag() {
	TAG_SEQ=$((TAG_SEQ + 1))
	TAG="$1-$TAG_SEQ"
	CUR_INST=$1
	CUR_TAG=$TAG
}

# mt_session INST SCRIPT [VAR=VALUE...]: run tests/milter/SCRIPT; the
# transcript goes to $OUT, the exit status to $MT_RC, the tag to $TAG.
mt_session() {
	local inst=$1 script=$2
	shift 2
	new_tag "$inst"
	OUT=$(env MT_DIR="$LUA" MT_SOCKET="inet:${D_PORT[$inst]}@127.0.0.1" MT_TAG="$TAG" \
		"$@" timeout 120 miltertest -s "$LUA/$script" 2>&1)
	MT_RC=$?
}

# raw_session INST COMMANDS...: rawmilter with the connection tagged.
raw_session() {
	local inst=$1
	shift
	new_tag "$inst"
	OUT=$(timeout 120 "$PYTHON" "$WORK/rawmilter.py" "${D_PORT[$inst]}" \
		macro C '{daemon_name}' "$TAG" "$@" 2>&1)
	MT_RC=$?
}

# The transcript of a session.lua run that reaches EOM.
transcript_accept() {
	local r
	printf 'connect continue\nhelo continue\nmail continue\n'
	for r in "$@"; do
		printf 'rcpt %s continue\n' "$r"
	done
	printf 'data continue\neoh continue\neom continue'
}

# rawmilter: the MTA side of the milter protocol in a few lines of
# Python, for what miltertest cannot do: a client port of 0 (Postfix's
# non_smtpd_milters), arguments over miltertest's 1 KB buffer, stages
# before CONNECT, and reading the text of a custom reply.
#
#   rawmilter.py PORT COMMAND ARGS... ; COMMAND is one of
#   conn NAME ADDR PORT | macro C|H|M|R|T|N|E NAME VALUE | helo NAME |
#   mail ARG | rcpt ARG | data | header NAME VALUE | eoh | body TEXT |
#   eom | abort | quit | close | sleep SECONDS
# A "?" before a command means it may get no reply (2 s wait). An
# argument "=py:EXPR" is a Python expression. One line per reply:
# "COMMAND continue", "COMMAND replycode 554 5.7.1 ...", "COMMAND noreply".
write_rawmilter() {
	cat >"$1" <<'PYEOF'
import os, socket, struct, sys, time

NAMES = {b'c': 'continue', b'r': 'reject', b't': 'tempfail', b'y': 'replycode',
         b'a': 'accept', b'd': 'discard', b's': 'skip', b'f': 'connfail',
         b'4': 'shutdown'}
ARITY = {'conn': 3, 'macro': 3, 'helo': 1, 'mail': 1, 'rcpt': 1, 'data': 0,
         'header': 2, 'eoh': 0, 'body': 1, 'eom': 0, 'abort': 0, 'quit': 0,
         'close': 0, 'sleep': 1}
CMD = {'conn': b'C', 'helo': b'H', 'mail': b'M', 'rcpt': b'R', 'data': b'T',
       'header': b'L', 'eoh': b'N', 'body': b'B', 'eom': b'E', 'abort': b'A',
       'quit': b'Q'}
# SMFIP_NO* (the filter does not want the stage), SMFIP_NR_* (no reply).
NOSTAGE = {'conn': 0x1, 'helo': 0x2, 'mail': 0x4, 'rcpt': 0x8, 'body': 0x10,
           'header': 0x20, 'eoh': 0x40, 'data': 0x200}
NOREPLY = {'conn': 0x1000, 'helo': 0x2000, 'mail': 0x4000, 'rcpt': 0x8000,
           'data': 0x10000, 'eoh': 0x40000, 'body': 0x80000, 'header': 0x80}


def arg(text):
    if text.startswith('=py:'):
        text = str(eval(text[4:], {}))
    return os.fsencode(text)


def main():
    port, cmds = int(sys.argv[1]), sys.argv[2:]
    timeout = float(os.environ.get('RAW_TIMEOUT', '20'))
    s = socket.create_connection(('127.0.0.1', port), timeout=timeout)

    def send(cmd, data=b''):
        s.sendall(struct.pack('>I', len(data) + 1) + cmd + data)

    def recvall(n):
        buf = b''
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf

    def recv(wait):
        s.settimeout(wait)
        (n,) = struct.unpack('>I', recvall(4))
        body = recvall(n)
        return body[:1], body[1:]

    def say(*words):
        print(*words)
        sys.stdout.flush()

    send(b'O', struct.pack('>III', 6, 0x1ff, 0x1fffff))
    cmd, data = recv(timeout)
    if cmd != b'O':
        say('negotiate', NAMES.get(cmd, repr(cmd)))
        return 1
    proto = struct.unpack('>III', data[:12])[2]
    i = 0
    while i < len(cmds):
        name = cmds[i]
        optional = name.startswith('?')
        name = name.lstrip('?')
        if name not in ARITY:
            print('rawmilter: unknown command', name, file=sys.stderr)
            return 2
        args = [arg(a) for a in cmds[i + 1:i + 1 + ARITY[name]]]
        i += 1 + ARITY[name]
        if name == 'sleep':
            time.sleep(float(args[0]))
            continue
        if name == 'close':
            s.close()
            say('close')
            return 0
        if name == 'macro':
            send(b'D', args[0][:1] + args[1] + b'\0' + args[2] + b'\0')
            continue
        if NOSTAGE.get(name, 0) & proto:
            say(name, 'skipped')
            continue
        if name == 'conn':
            host, addr, cport = args
            data = host + b'\0' + b'4' + struct.pack('>H', int(cport)) + addr + b'\0'
        elif name in ('helo', 'mail', 'rcpt'):
            data = args[0] + b'\0'
        elif name == 'header':
            data = args[0] + b'\0' + args[1] + b'\0'
        elif name == 'body':
            data = args[0]
        else:
            data = b''
        send(CMD[name], data)
        if name in ('abort', 'quit'):
            say(name)
            if name == 'quit':
                s.close()
                return 0
            continue
        if NOREPLY.get(name, 0) & proto:
            say(name, 'continue')
            continue
        try:
            while True:
                rc, rdata = recv(2.0 if optional else timeout)
                if name == 'eom' and rc in (b'h', b'i', b'm', b'p', b'l'):
                    if rc != b'p':
                        say('eom-change', rc.decode(),
                            rdata.replace(b'\0', b'|').decode('latin-1'))
                    continue
                break
        except socket.timeout:
            say(name, 'noreply')
            continue
        except (EOFError, ConnectionError):
            say(name, 'closed')
            return 0
        text = rdata.rstrip(b'\0').decode('latin-1')
        say(name, NAMES.get(rc, 'other(%r)' % rc) + (' ' + text if text else ''))
    s.close()
    return 0


sys.exit(main())
PYEOF
}
