# shellcheck shell=bash disable=SC2034,SC2153,SC2154
# tests/run-ctl-log-scenarios.sh: the "posternctl log", "explain" and
# "stats" scenarios of the integration suite, sourced by
# tests/run-integration after lib.sh (ONLY=ctllog runs them alone).
#
#   ctllog_scenarios   starts a daemon of its own (instance LG, every
#                      verdict at its own stage: delay_reject = no), sends
#                      it the sessions of ctllog_traffic through
#                      miltertest and rawmilter, then runs s90 ... s95 on
#                      the rows it wrote
#
#   s90_ctllog_text     log as aligned text: one line per message and per
#                       connection refused at connect or HELO, oldest
#                       first, with its columns
#   s91_ctllog_filters  log --json, and every filter: --client, --sender,
#                       --action, --check, --decided-by, --queue-id,
#                       --limit, --since
#   s92_ctllog_explain  explain by queue id, message id and connection id,
#                       as text and --json; an unknown id (exit 1)
#   s93_ctllog_stats    stats --by action, check, client and hour, as text
#                       and --json, with --since and --limit
#   s94_ctllog_usage    explain of a message in progress (checks, no
#                       message row yet), then its line; bad usage (exit
#                       2), the forms of --since, --help
#   s95_ctllog_seeded   a database seeded with sqlite3 (instance LS, no
#                       daemon): times across days, --since at the exact
#                       boundary, a queue id used twice, a message whose
#                       connection row is missing; a database that cannot
#                       be opened (exit 1)

POSTERNCTL=${POSTERNCTL:-$(dirname "$POSTERN")/posternctl}
CTLLOG_CONF=""
# The log lines of the traffic, oldest first, by their ID column (C for
# a connection refused before MAIL FROM, which shows its connection id).
CTLLOG_IDS="lg-acc lg-snd lg-part lg-rcpt C C C lg-warn lg-null lg-def lg-abort lg-m1 lg-m2"
CTLLOG_TOTAL=13

# ---- Helpers ------------------------------------------------------------------

# ctllog ARGS...: posternctl with the scenarios' config; output (stdout
# and stderr) in CTL_OUT, exit status in CTL_RC (see expect_ctl).
ctllog() {
	CTL_OUT=$("$POSTERNCTL" -c "$CTLLOG_CONF" "$@" 2>&1)
	CTL_RC=$?
}

# ctllog_py CODE ARGS...: posternctl --json ARGS parsed into the Python
# variable j, then CODE (which prints).
ctllog_py() {
	local code=$1
	shift
	"$POSTERNCTL" -c "$CTLLOG_CONF" --json "$@" 2>/dev/null |
		"$PYTHON" -c "import json, sys
j = json.load(sys.stdin)
$code" 2>&1
}

# The ID column of the text lines (after the header), numbers as C.
ctllog_ids() {
	printf '%s\n' "$CTL_OUT" | awk 'NR > 1 { id = $3; if (id ~ /^[0-9]+$/) id = "C"
		printf "%s%s", s, id; s = " " }'
}

# The line of CTL_OUT whose ID column is $1.
ctllog_line() {
	printf '%s\n' "$CTL_OUT" | awk -v id="$1" '$3 == id'
}

# The cells of CTL_OUT (log as text) that do not start under their head,
# one per line, then their number. A time takes two words; a cell none.
ctllog_misaligned() {
	printf '%s\n' "$CTL_OUT" | awk '
	NR == 1 {
		n = split("ID CLIENT SENDER RECIPIENTS ACTION CHECK REPLY", h, " ")
		for (i = 1; i <= n; i++)
			pos[i] = index($0, h[i])
		next
	}
	{
		rest = $0; o = 1; f = 0
		while (match(rest, /[^ ]+/)) {
			start[++f] = o + RSTART - 1
			o += RSTART + RLENGTH - 1
			rest = substr(rest, RSTART + RLENGTH)
		}
		for (i = 1; i <= n; i++)
			if (start[i + 2] != pos[i]) {
				bad++
				print "line " NR ": " h[i] " at " start[i + 2] ", not " pos[i]
			}
	}
	END { print bad + 0 }'
}

# session ARGS: one session.lua session of instance LG.
ctllog_session() {
	mt_session LG session.lua "$@"
}

# The sessions: every kind of line, in the order of CTLLOG_IDS.
ctllog_traffic() {
	ctllog_session MT_QID=lg-acc
	ctllog_session MT_QID=lg-snd MT_FROM="<spammer@example.com>"
	ctllog_session MT_QID=lg-part MT_RCPTS=bob@example.test,blocked@example.test
	ctllog_session MT_QID=lg-rcpt MT_RCPTS=blocked@example.test
	ctllog_session MT_CLIENT_NAME=mx10.example.test MT_CLIENT_ADDR=203.0.113.10
	CTLLOG_REFUSED_TAG=$TAG
	ctllog_session MT_CLIENT_NAME=mx11.example.test MT_CLIENT_ADDR=203.0.113.11
	ctllog_session MT_HELO=bad-helo.example.test
	ctllog_session MT_QID=lg-warn MT_CLIENT_NAME=mx15.example.test \
		MT_CLIENT_ADDR=203.0.113.15
	ctllog_session MT_QID=lg-null MT_FROM="<>"
	ctllog_session MT_QID=lg-def MT_FROM="<bob@elsewhere.test>"
	raw_session LG conn mx60.example.test 203.0.113.60 4000 helo mx60.example.test \
		macro M i lg-abort mail '<carol@example.test>' rcpt '<bob@example.test>' \
		abort quit
	raw_session LG conn mx61.example.test 203.0.113.61 4001 helo mx61.example.test \
		macro M i lg-m1 mail '<dave@example.test>' rcpt '<bob@example.test>' \
		data header Subject one eoh body 'Hello.' eom \
		macro M i lg-m2 mail '<spammer@example.com>' abort quit
	CTLLOG_MULTI_TAG=$TAG
	# The writer thread stores the rows a moment later.
	wait_sql LG "select count(*) from messages" 10 &&
		wait_sql LG "select count(*) from checks where stage in ('connect', 'helo')
			and action in ('reject', 'defer')" 3
}

ctllog_setup() {
	CUR_INST=""
	CUR_TAG=""
	[[ -x $POSTERNCTL ]] || {
		report_fail "ctllog: posternctl is built ($POSTERNCTL)"
		return 1
	}
	new_instance LG "" "delay_reject = no" \
		"client_restrictions = check_client_access cidr:$FIX/clients.cidr" \
		"helo_restrictions = check_helo_access texthash:$FIX/helo.hash" \
		"sender_restrictions = check_sender_access texthash:$FIX/senders.hash" \
		"recipient_restrictions = check_recipient_access texthash:$FIX/recipients.hash" \
		"dkim_verify = no"
	CTLLOG_CONF=$WORK/LG/postern.conf
	start_daemon LG || return 1
	if ! ctllog_traffic; then
		report_fail "ctllog: the daemon wrote the rows of the sessions" \
			"messages: $(sql LG "select count(*) from messages")"
		return 1
	fi
}

# ---- s90: log as text ---------------------------------------------------------------

s90_ctllog_text() {
	local p="s90 ctllog" head

	ctllog log
	expect_ctl "$p: log" 0
	head=$(printf '%s\n' "$CTL_OUT" | head -n 1)
	expect_match "$p: log: a header" \
		'^TIME +ID +CLIENT +SENDER +RECIPIENTS +ACTION +CHECK +REPLY$' "$head"
	expect_eq "$p: log: one line per message and refused connection, oldest first" \
		"$CTLLOG_IDS" "$(ctllog_ids)"
	expect_match "$p: log: an accepted message" \
		'^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}Z +lg-acc +mx\.example\.test\[203\.0\.113\.50\] +alice@example\.test +bob@example\.test +accept +- +-$' \
		"$CTL_OUT"
	expect_eq "$p: log: every column starts under its head" 0 "$(ctllog_misaligned)"
	expect_match "$p: log: refused at MAIL: sender, action, deciding check, reply" \
		'^.* lg-snd +mx\.example\.test\[203\.0\.113\.50\] +spammer@example\.com +- +reject +check_sender_access +554 5\.7\.1 <spammer@example\.com>: Sender address rejected: Access denied$' \
		"$CTL_OUT"
	expect_match "$p: log: a refused recipient is marked with !" \
		' lg-part +[^ ]+ +alice@example\.test +bob@example\.test,!blocked@example\.test +accept +- +-$' \
		"$CTL_OUT"
	expect_match "$p: log: every recipient refused" \
		' lg-rcpt +[^ ]+ +alice@example\.test +!blocked@example\.test +reject +check_recipient_access +554 5\.7\.1 <blocked@example\.test>: Recipient address rejected: no such user$' \
		"$CTL_OUT"
	expect_match "$p: log: a connection refused at connect: its id, sender -" \
		'^[0-9-]{10} [0-9:]{8}Z +[0-9]+ +mx10\.example\.test\[203\.0\.113\.10\] +- +- +reject +check_client_access +-$' \
		"$CTL_OUT"
	expect_match "$p: log: deferred at connect" \
		' [0-9]+ +mx11\.example\.test\[203\.0\.113\.11\] +- +- +defer +check_client_access +-$' \
		"$CTL_OUT"
	expect_match "$p: log: refused at HELO" \
		' [0-9]+ +mx\.example\.test\[203\.0\.113\.50\] +- +- +reject +check_helo_access +-$' \
		"$CTL_OUT"
	expect_match "$p: log: the null sender as <>" \
		' lg-null +[^ ]+ +<> +- +reject +check_sender_access +554 5\.7\.1 <>: Sender address rejected: no bounces accepted here$' \
		"$CTL_OUT"
	expect_match "$p: log: a deferred sender" \
		' lg-def +[^ ]+ +bob@elsewhere\.test +- +defer +check_sender_access +450 4\.7\.1 ' \
		"$CTL_OUT"
	expect_match "$p: log: an aborted message" \
		' lg-abort +mx60\.example\.test\[203\.0\.113\.60\] +carol@example\.test +bob@example\.test +aborted +- +-$' \
		"$CTL_OUT"
	expect_match "$p: log: WARN lets it through, no deciding check" \
		' lg-warn +mx15\.example\.test\[203\.0\.113\.15\] +alice@example\.test +bob@example\.test +accept +- +-$' \
		"$CTL_OUT"
}

# ---- s91: log --json and the filters --------------------------------------------------

# ctllog_qids ARGS...: the IDs of log --json ARGS (queue id, else C).
ctllog_qids() {
	ctllog_py 'print(" ".join(r["queue_id"] or "C" for r in j))' log "$@"
}

s91_ctllog_filters() {
	local p="s91 ctllog"

	expect_eq "$p: log --json: every line, with its kind" \
		"$CTLLOG_TOTAL connection=3 message=10" \
		"$(ctllog_py 'import collections
c = collections.Counter(r["kind"] for r in j)
print(len(j), " ".join("%s=%d" % kv for kv in sorted(c.items())))' log)"
	expect_eq "$p: log --json: a message's fields" \
		"lg-part|203.0.113.50|mx.example.test|alice@example.test|['bob@example.test']|['blocked@example.test']|accept|None|eom|None|True|True" \
		"$(ctllog_py 'r = [r for r in j if r["queue_id"] == "lg-part"][0]
print("|".join(str(x) for x in (r["queue_id"], r["client_addr"], r["client_name"],
      r["sender"], r["recipients"], r["rejected_recipients"], r["action"],
      r["reply"], r["stage"], r["decided_by"], r["size"] > 0, r["ms"] >= 0)))' log)"
	expect_eq "$p: log --json: a refused connection's fields" \
		"connection|None|None|[]|reject|connect|check_client_access|None|None|True" \
		"$(ctllog_py 'r = [r for r in j if r["client_addr"] == "203.0.113.10"][0]
print("|".join(str(x) for x in (r["kind"], r["id"], r["sender"], r["recipients"],
      r["action"], r["stage"], r["decided_by"], r["reply"], r["size"],
      r["conn_id"] > 0)))' log)"
	expect_eq "$p: log --json: refused at MAIL" "mail|check_sender_access|[]" \
		"$(ctllog_py 'r = j[0]; print(r["stage"], r["decided_by"], r["recipients"], sep="|")' \
			log --queue-id lg-snd)"

	expect_eq "$p: --client: what a client got" "C" "$(ctllog_qids --client 203.0.113.10)"
	expect_eq "$p: --client in another spelling (v4-mapped)" "C" \
		"$(ctllog_qids --client ::ffff:203.0.113.10)"
	expect_eq "$p: --client with messages and a HELO refusal" \
		"lg-acc lg-snd lg-part lg-rcpt C lg-null lg-def" "$(ctllog_qids --client 203.0.113.50)"
	expect_eq "$p: --sender: any case, brackets" "lg-snd lg-m2" \
		"$(ctllog_qids --sender '<SPAMMER@Example.com>')"
	expect_eq "$p: --sender '<>': the null sender" "lg-null" "$(ctllog_qids --sender '<>')"
	expect_eq "$p: --sender @DOMAIN: the senders of a domain (not its subdomains)" \
		"lg-snd lg-m2" "$(ctllog_qids --sender @example.com)"
	expect_eq "$p: --action reject: messages and connections" \
		"lg-snd lg-rcpt C C lg-null lg-m2" "$(ctllog_qids --action reject)"
	expect_eq "$p: --action defer" "C lg-def" "$(ctllog_qids --action defer)"
	expect_eq "$p: --action accept" "lg-acc lg-part lg-warn lg-m1" \
		"$(ctllog_qids --action accept)"
	expect_eq "$p: --action aborted" "lg-abort" "$(ctllog_qids --action aborted)"
	expect_eq "$p: --check: where the check ran (any result), at its connection too" \
		"lg-acc lg-snd lg-part lg-rcpt C lg-warn lg-null lg-def lg-abort lg-m1 lg-m2" \
		"$(ctllog_qids --check check_helo_access)"
	expect_eq "$p: --check of a check that ran for some messages only" \
		"lg-acc lg-part lg-rcpt lg-warn lg-abort lg-m1" \
		"$(ctllog_qids --check check_recipient_access)"
	expect_eq "$p: --decided-by" "C C" "$(ctllog_qids --decided-by check_client_access)"
	expect_eq "$p: --decided-by and --action" "C" \
		"$(ctllog_qids --decided-by check_client_access --action defer)"
	expect_eq "$p: --queue-id" "lg-rcpt" "$(ctllog_qids --queue-id lg-rcpt)"
	expect_eq "$p: --client and --action together" "lg-snd lg-rcpt C lg-null" \
		"$(ctllog_qids --client 203.0.113.50 --action reject)"
	expect_eq "$p: --limit 3: the newest three, oldest first" "lg-abort lg-m1 lg-m2" \
		"$(ctllog_qids --limit 3)"
	expect_eq "$p: --limit with a filter" "C lg-null" \
		"$(ctllog_qids --action reject --client 203.0.113.50 --limit=2)"
	expect_eq "$p: --since 1h: all" "$CTLLOG_TOTAL" "$(ctllog_py 'print(len(j))' log --since 1h)"
	expect_eq "$p: --since an ISO time in the future: none" "[]" \
		"$("$POSTERNCTL" -c "$CTLLOG_CONF" log --json --since 2099-01-01)"
	ctllog log --since 2099-01-01T00:00Z
	expect_ctl "$p: nothing matches: exit 0, the header only" 0 "TIME"
	expect_eq "$p: ... one line" 1 "$(wc -l <<<"$CTL_OUT")"
	expect_eq "$p: --since the time of a line includes it" "lg-m1 lg-m2" \
		"$(ctllog_qids --since "$(sql LG "select time from messages where queue_id = 'lg-m1'")")"
}

# ---- s92: explain -------------------------------------------------------------------

s92_ctllog_explain() {
	local p="s92 ctllog" id conn

	ctllog explain lg-snd
	expect_ctl "$p: explain QUEUE_ID" 0
	expect_match "$p: the connection" '^connection [0-9]+ at [0-9-]{10} [0-9:.]{12}Z$' "$CTL_OUT"
	expect_match "$p: the client and its port" \
		'^  client +mx\.example\.test\[203\.0\.113\.50\] port [0-9]+$' "$CTL_OUT"
	expect_match "$p: the HELO" '^  HELO +mx\.example\.test$' "$CTL_OUT"
	expect_match "$p: the message and its queue id" \
		'^message [0-9]+ \(queue id lg-snd\) at [0-9-]{10} ' "$CTL_OUT"
	expect_eq "$p: every check in order: connection, then message" \
		"connect check_client_access pass dunno
helo check_helo_access pass dunno
mail check_sender_access fail reject" \
		"$(printf '%s\n' "$CTL_OUT" | awk '$3 ~ /^check_/ { print $2, $3, $4, $5 }')"
	expect_match "$p: a check's detail and milliseconds" \
		'^  [0-9:.]{12} +mail +check_sender_access +fail +reject +[0-9]+\.[0-9]{2}  texthash:.*senders\.hash: spammer@example\.com=REJECT$' \
		"$CTL_OUT"
	expect_match "$p: the verdict and its check" \
		'^  verdict +reject at mail by check_sender_access$' "$CTL_OUT"
	expect_match "$p: the reply" \
		'^  reply +554 5\.7\.1 <spammer@example\.com>: Sender address rejected: Access denied$' \
		"$CTL_OUT"

	id=$(ctllog_py 'print(j[0]["id"])' log --queue-id lg-part)
	ctllog explain "$id"
	expect_ctl "$p: explain MESSAGE_ID" 0 "(queue id lg-part)"
	expect_match "$p: the refused recipient" '^  refused +blocked@example\.test$' "$CTL_OUT"
	expect_eq "$p: both recipients' checks" \
		"rcpt check_recipient_access pass dunno
rcpt check_recipient_access fail reject" \
		"$(printf '%s\n' "$CTL_OUT" | awk '$2 == "rcpt" { print $2, $3, $4, $5 }')"
	expect_match "$p: accepted for the other" '^  verdict +accept$' "$CTL_OUT"
	expect_eq "$p: explain --json MESSAGE_ID: found as a message id" \
		"message_id 1 lg-part" \
		"$(ctllog_py 'print(j["found_as"], len(j["connections"]),
      j["connections"][0]["messages"][0]["queue_id"])' explain "$id")"

	conn=$(sql LG "select id from connections where daemon_name = '$CTLLOG_MULTI_TAG'")
	expect_eq "$p: explain --json CONNECTION_ID: all its messages, with their checks" \
		"connection_id 203.0.113.61 mx61.example.test lg-m1:accept:mail,rcpt lg-m2:reject:mail" \
		"$(ctllog_py 'c = j["connections"][0]
print(j["found_as"], c["client_addr"], c["helo"], *("%s:%s:%s" % (m["queue_id"],
      m["action"], ",".join(k["stage"] for k in m["checks"])) for m in c["messages"]))' \
			explain "$conn")"
	expect_eq "$p: explain --json: the connection's own checks" \
		"connect:check_client_access:pass helo:check_helo_access:pass" \
		"$(ctllog_py 'print(*("%s:%s:%s" % (k["stage"], k["name"], k["result"])
      for k in j["connections"][0]["checks"]))' explain "$conn")"
	ctllog explain "$conn"
	expect_eq "$p: explain CONNECTION_ID as text: two messages" 2 \
		"$(grep -c '^message ' <<<"$CTL_OUT")"

	conn=$(sql LG "select id from connections where daemon_name = '$CTLLOG_REFUSED_TAG'")
	ctllog explain "$conn"
	expect_ctl "$p: explain of a connection refused at connect" 0 "  messages     none"
	expect_match "$p: ... its refusing check" \
		' connect +check_client_access +fail +reject .*203\.0\.113\.10=REJECT$' "$CTL_OUT"

	ctllog explain no-such-queue-id
	expect_ctl "$p: explain of an unknown queue id: exit 1" 1 \
		'nothing in the log has the queue id, message id or connection id "no-such-queue-id"'
	ctllog explain 12345
	expect_ctl "$p: explain of an unknown number: exit 1" 1 "nothing in the log"
}

# ---- s93: stats --------------------------------------------------------------------

s93_ctllog_stats() {
	local p="s93 ctllog"

	ctllog stats
	expect_ctl "$p: stats (by action)" 0
	expect_match "$p: stats: a header" '^ACTION +LINES +SHARE$' "$CTL_OUT"
	expect_match "$p: stats: the refusals and their share" '^reject +6 +46\.2%$' "$CTL_OUT"
	expect_match "$p: stats: a total" "^total +$CTLLOG_TOTAL +100\\.0%\$" "$CTL_OUT"
	expect_eq "$p: stats --json: lines per action" \
		"aborted=1 accept=4 defer=2 reject=6" \
		"$(ctllog_py 'print(" ".join("%s=%d" % (r["action"], r["lines"])
      for r in sorted(j, key=lambda r: r["action"])))' stats --by action)"
	expect_eq "$p: stats --json: the shares add up" "1.0" \
		"$(ctllog_py 'print(round(sum(r["share"] for r in j), 2))' stats)"

	ctllog stats --by check
	expect_ctl "$p: stats --by check" 0
	expect_match "$p: stats --by check: a header" \
		'^CHECK +RUNS +PASS +FAIL +TEMP +SKIP +REJECT +DEFER +WARN +DECIDED +FAILED +AVG MS$' \
		"$CTL_OUT"
	expect_eq "$p: stats --by check: the most refusals first" \
		"check_sender_access check_client_access check_recipient_access check_helo_access" \
		"$(printf '%s\n' "$CTL_OUT" | awk 'NR > 1 { printf "%s%s", s, $1; s = " " }')"
	expect_eq "$p: stats --by check --json: runs, results, actions, decided" \
		"check_client_access 12 9 3 0 0 1 1 1 2
check_helo_access 10 9 1 0 0 1 0 0 1
check_recipient_access 7 5 2 0 0 2 0 0 1
check_sender_access 10 6 4 0 0 3 1 0 4" \
		"$(ctllog_py 'for r in sorted(j, key=lambda r: r["check"]):
    print(*(r[k] for k in ("check", "runs", "pass", "fail", "temp", "skip", "rejects",
          "defers", "warns", "decided")))' stats --by check)"
	expect_eq "$p: stats --by check --json: rates" "0.4 True" \
		"$(ctllog_py 'r = [r for r in j if r["check"] == "check_sender_access"][0]
print(round(r["fail_rate"], 2), r["avg_ms"] >= 0)' stats --by check)"

	ctllog stats --by client
	expect_ctl "$p: stats --by client" 0
	expect_match "$p: stats --by client: the busiest client first" \
		'^203\.0\.113\.50 +7 +7 +2 +4 +1 +0 +71\.4%$' "$(sed -n 2p <<<"$CTL_OUT")"
	expect_eq "$p: stats --by client --json" \
		"203.0.113.10:1:1:1 203.0.113.11:1:1:1 203.0.113.15:1:1:0 203.0.113.50:7:7:5 203.0.113.60:1:1:0 203.0.113.61:1:2:1" \
		"$(ctllog_py 'print(*("%s:%d:%d:%d" % (r["client"], r["connections"], r["lines"],
      r["reject"] + r["defer"]) for r in sorted(j, key=lambda r: r["client"])))' \
			stats --by client --since 1d)"
	expect_eq "$p: stats --by client --limit 1" "1 203.0.113.50" \
		"$(ctllog_py 'print(len(j), j[0]["client"])' stats --by client --limit 1)"

	ctllog stats --by hour
	expect_ctl "$p: stats --by hour" 0
	expect_match "$p: stats --by hour: a header" \
		'^HOUR +LINES +ACCEPT +REJECT +DEFER +ABORTED +REFUSED$' "$CTL_OUT"
	expect_match "$p: stats --by hour: an hour" '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:00Z +[0-9]+ ' \
		"$CTL_OUT"
	expect_eq "$p: stats --by hour --json: the hours add up" \
		"$CTLLOG_TOTAL 4 6 2 1 True" \
		"$(ctllog_py 'import re
print(sum(r["lines"] for r in j), *(sum(r[k] for r in j) for k in ("accept", "reject",
      "defer", "aborted")), all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:00Z$", r["hour"]) for r in j))' \
			stats --by hour)"
	expect_eq "$p: stats --since in the future: nothing" "[] [] [] []" \
		"$(for b in action check client hour; do
			"$POSTERNCTL" -c "$CTLLOG_CONF" --json stats --by "$b" --since 2099-01-01 | tr -d '\n'
			printf ' '
		done | sed -e 's/ $//')"
}

# ---- s94: a message in progress, and usage --------------------------------------------

s94_ctllog_usage() {
	local p="s94 ctllog" f id conn tag pid

	# A message in progress: its checks are there, its row is not yet.
	new_tag LG
	tag=$TAG
	timeout 60 "$PYTHON" "$WORK/rawmilter.py" "${D_PORT[LG]}" macro C '{daemon_name}' "$tag" \
		conn mx70.example.test 203.0.113.70 4002 helo mx70.example.test \
		mail '<erin@example.test>' rcpt '<bob@example.test>' sleep 4 abort quit \
		>/dev/null 2>&1 &
	pid=$!
	if wait_sql LG "select count(*) from checks where conn_id in $(q_conn_id "$tag")
			and stage = 'rcpt'" 1; then
		conn=$(sql LG "select id from connections where daemon_name = '$tag'")
		ctllog explain "$conn"
		expect_ctl "$p: explain of a message in progress" 0 \
			"(no message row: the message has not ended yet, or its row was lost)"
		expect_match "$p: ... with its checks so far" ' rcpt +check_recipient_access +pass ' \
			"$CTL_OUT"
		expect_eq "$p: ... --json: logged false" "False mail,rcpt" \
			"$(ctllog_py 'm = j["connections"][0]["messages"][0]
print(m["logged"], ",".join(k["stage"] for k in m["checks"]))' explain "$conn")"
	else
		report_fail "$p: the checks of a message in progress are written"
	fi
	wait "$pid"
	wait_sql LG "select count(*) from messages where conn_id in $(q_conn_id "$tag")" 1
	id=$(sql LG "select id from messages where conn_id in $(q_conn_id "$tag")")
	ctllog log --client 203.0.113.70
	expect_match "$p: once it ended, log shows it by its message id (no queue id)" \
		"^[0-9-]{10} [0-9:]{8}Z +$id +mx70\\.example\\.test\\[203\\.0\\.113\\.70\\] +erin@example\\.test +bob@example\\.test +aborted " \
		"$CTL_OUT"
	ctllog explain "$id"
	expect_ctl "$p: ... and explain finds it by that id" 0 "  verdict      aborted"

	local -a bad=("log extra" "log --bogus" "log --since" "log --since 3x"
		"log --since 2026-13-01" "log --since 2026-02-30" "log --since 2026-11-21T25:00"
		"log --since 2026-11-21T10" "log --since 2026-11-21x" "log --client 300.1.2.3"
		"log --client mx.example.test" "log --action bounce" "log --limit 0"
		"log --limit x" "explain" "explain a b" "stats extra" "stats --by day"
		"stats --since yesterday" "stats --limit -1" "log --json=yes")
	for f in "${bad[@]}"; do
		# shellcheck disable=SC2086
		ctllog $f
		expect_ctl "$p: posternctl $f: bad usage, exit 2" 2 "usage: posternctl"
	done
	ctllog log --since 3x
	expect_ctl "$p: a bad --since says what it takes" 2 \
		'--since: "3x" is neither a time back from now'
	for f in 2026-11-21 2026-11-21T10:00 "2026-11-21 10:00:00" 2026-11-21T10:00:00.5Z \
		30 90m 2d 1w; do
		ctllog log --since "$f"
		expect_ctl "$p: log --since '$f'" 0 "TIME"
	done
	ctllog log --help
	expect_ctl "$p: log --help" 0 "--decided-by NAME"
	ctllog explain --help
	expect_ctl "$p: explain --help" 0 "QUEUE_ID|MESSAGE_ID|CONNECTION_ID"
	ctllog stats -h
	expect_ctl "$p: stats -h" 0 "--by action|check|client|hour"
	ctllog --help
	expect_ctl "$p: --help lists log, explain and stats" 0 "  explain QUEUE_ID"
}

# ---- s95: a seeded database ---------------------------------------------------------------

s95_ctllog_seeded() {
	local p="s95 ctllog"

	new_instance LS ""
	mkdir -p "$WORK/LS/db"
	CTLLOG_CONF=$WORK/LS/postern.conf
	ctllog log
	expect_ctl "$p: log of a new, empty database" 0 "TIME"
	sql LS "
	INSERT INTO connections (id, time, client_addr, client_port, client_name) VALUES
	 (100, '2026-11-20T23:59:59.900Z', '192.0.2.1', 25, 'a.example'),
	 (200, '2026-11-21T00:00:00.000Z', '192.0.2.2', 25, 'unknown'),
	 (300, '2026-11-22T08:30:00.000Z', '2001:db8::3', 25, '[2001:db8::3]');
	INSERT INTO messages (id, conn_id, time, queue_id, sender, recipients,
	  rejected_recipients, action, reply, stage, ms, size, decided_by) VALUES
	 (101, 100, '2026-11-20T23:59:59.950Z', 'QDUP', 'x@a.example', 'u@b.example', '',
	  'accept', NULL, 'eom', 5, 100, NULL),
	 (201, 200, '2026-11-21T00:00:00.500Z', 'QDUP', 'y@a.example', '', 'u@b.example',
	  'reject', '550 5.1.1 no', 'rcpt', 3, 0, 'check_recipient_access'),
	 (401, 400, '2026-11-22T09:00:00.000Z', 'QORPHAN', 'z@a.example', 'u@b.example', '',
	  'accept', NULL, 'eom', 1, 10, NULL);
	INSERT INTO checks (conn_id, msg_id, time, stage, name, result, action, detail, ms)
	VALUES
	 (300, NULL, '2026-11-22T08:30:00.001Z', 'connect', 'check_client_access', 'pass',
	  'dunno', 'no match', 0.5),
	 (300, NULL, '2026-11-22T08:30:01.000Z', 'helo', 'check_helo_access', 'fail',
	  'defer', 'first', 0.5),
	 (300, NULL, '2026-11-22T08:30:02.000Z', 'helo', 'check_helo_access', 'fail',
	  'reject', 'second', 0.5),
	 (100, 101, '2026-11-21T00:00:00.100Z', 'rcpt', 'check_recipient_access', 'pass',
	  'dunno', 'no match', 1.0),
	 (200, 201, '2026-11-21T00:00:00.600Z', 'rcpt', 'check_recipient_access', 'fail',
	  'reject', 'u@b.example=550', 1.0);" >/dev/null

	ctllog log
	expect_eq "$p: lines across days, oldest first" "QDUP QDUP C QORPHAN" "$(ctllog_ids)"
	expect_match "$p: a client without a name is unknown[addr]" \
		' QDUP +unknown\[192\.0\.2\.2\] +y@a\.example +!u@b\.example +reject ' "$CTL_OUT"
	expect_match "$p: a message without its connection row: client -" \
		' QORPHAN +- +z@a\.example ' "$CTL_OUT"
	expect_match "$p: refused twice at HELO: the last refusal decides" \
		' 300 +unknown\[2001:db8::3\] +- +- +reject +check_helo_access +-$' "$CTL_OUT"
	expect_eq "$p: --since at the exact time of a line includes it" "QDUP C QORPHAN" \
		"$(ctllog_qids --since 2026-11-21T00:00:00.500Z)"
	expect_eq "$p: --since a date: from its midnight (UTC)" "QDUP C QORPHAN" \
		"$(ctllog_qids --since 2026-11-21)"
	expect_eq "$p: --since a minute later" "C QORPHAN" "$(ctllog_qids --since '2026-11-21 00:01')"
	expect_eq "$p: --client: IPv6 in another spelling" "C" \
		"$(ctllog_qids --client 2001:DB8:0::3)"

	ctllog explain QDUP
	expect_ctl "$p: explain of a queue id used twice: both" 0
	expect_eq "$p: ... each with its connection, in time order" "connection 100
message 101
connection 200
message 201" "$(awk '/^(connection|message) / { print $1, $2 }' <<<"$CTL_OUT")"
	expect_match "$p: ... a check on the connection's day shows its time of day" \
		'^  00:00:00\.600 +rcpt +check_recipient_access +fail +reject ' "$CTL_OUT"
	ctllog explain 101
	expect_match "$p: ... a check of another day shows its date" \
		'^  2026-11-21 00:00:00\.100Z +rcpt +check_recipient_access +pass ' "$CTL_OUT"
	expect_eq "$p: explain --json of a message without a connection row" \
		"message_id False None True QORPHAN" \
		"$(ctllog_py 'c = j["connections"][0]
print(j["found_as"], c["logged"], c["client_addr"], c["messages"][0]["logged"],
      c["messages"][0]["queue_id"])' explain 401)"
	ctllog explain 400
	expect_ctl "$p: explain of a connection id that only its messages name" 0 \
		"(no connection row: it has not been written yet, or it was lost)"

	expect_eq "$p: stats --by hour: hours across days" \
		"2026-11-20T23:00Z:1 2026-11-21T00:00Z:1 2026-11-22T08:00Z:1 2026-11-22T09:00Z:1" \
		"$(ctllog_py 'print(*("%s:%d" % (r["hour"], r["lines"]) for r in j))' stats --by hour)"
	expect_eq "$p: stats --by hour --limit 2: the newest two hours" \
		"2026-11-22T08:00Z 2026-11-22T09:00Z" \
		"$(ctllog_py 'print(*(r["hour"] for r in j))' stats --by hour --limit 2)"
	expect_eq "$p: stats --by check --since: decided counts the lines of the period" \
		"check_helo_access:2:1:1:1 check_client_access:1:0:0:0" \
		"$(ctllog_py 'print(*("%s:%d:%d:%d:%d" % (r["check"], r["runs"], r["rejects"],
      r["defers"], r["decided"]) for r in j))' stats --by check --since 2026-11-22)"
	expect_eq "$p: stats --by client: a line without a connection row has no client" \
		"192.0.2.1:1 192.0.2.2:1 2001:db8::3:1 None:1" \
		"$(ctllog_py 'print(*("%s:%d" % (r["client"], r["lines"])
      for r in sorted(j, key=lambda r: str(r["client"]))))' stats --by client)"

	printf 'database = %s/LS/no/such/dir/postern.db\n' "$WORK" >"$WORK/LS/nodb.conf"
	CTL_OUT=$("$POSTERNCTL" -c "$WORK/LS/nodb.conf" log 2>&1)
	CTL_RC=$?
	expect_ctl "$p: a database that cannot be opened: exit 1, naming it" 1 \
		"$WORK/LS/no/such/dir/postern.db"
	CTL_OUT=$("$POSTERNCTL" -c "$WORK/LS/nodb.conf" explain QDUP 2>&1)
	CTL_RC=$?
	expect_ctl "$p: explain with a database that cannot be opened: exit 1" 1 "no/such/dir"
	CTL_OUT=$("$POSTERNCTL" -c "$WORK/LS/nodb.conf" stats 2>&1)
	CTL_RC=$?
	expect_ctl "$p: stats with a database that cannot be opened: exit 1" 1 "no/such/dir"
}

ctllog_scenarios() {
	if ctllog_setup; then
		s90_ctllog_text
		s91_ctllog_filters
		s92_ctllog_explain
		s93_ctllog_stats
		s94_ctllog_usage
		stop_and_check LG
	fi
	s95_ctllog_seeded
}
