# shellcheck shell=bash disable=SC2034,SC2153,SC2154
# tests/run-ctl-greylist-scenarios.sh: the "posternctl greylist" and
# "posternctl bans" scenarios of the integration suite, sourced by
# tests/run-integration after lib.sh (ONLY=ctlgl runs them alone).
#
#   ctlgl_scenarios   makes a config and an empty database of its own
#                     (instance CG), runs s70 ... s75
#
#   s70_ctlgl_list    list as text and --json, with --pending, --passed,
#                     --auto-allowed, --client and --limit; stats
#   s71_ctlgl_allow   allow an address, a network and a domain; a network
#                     of another prefix and what is not a client are
#                     usage errors; the greylist_clients rows
#   s72_ctlgl_remove  remove triplets of a sender or recipient (normalised
#                     as the daemon stores them), a whole client, nothing
#   s73_ctlgl_purge   purge --older-than: old triplets and client rows go,
#                     an admin's allow stays
#   s74_ctlgl_bans    bans list (--all, --json), bans lift
#   s75_ctlgl_misc    bad usage (exit 2), a database that cannot be opened
#                     (exit 1)
#
# The daemon does not run: the scenarios seed the tables with sqlite3 as
# the daemon would have written them, relative to the present time
# (CTLGL_NOW), then check posternctl's output, its exit status and the
# rows it leaves.

POSTERNCTL=${POSTERNCTL:-$(dirname "$POSTERN")/posternctl}
CTLGL_CONF=""
CTLGL_NOW=0

# ---- Helpers ------------------------------------------------------------------

# ctlgl ARGS...: posternctl with the scenarios' config; output (stdout and
# stderr) in CTL_OUT, exit status in CTL_RC (see expect_ctl).
ctlgl() {
	CTL_OUT=$("$POSTERNCTL" -c "$CTLGL_CONF" "$@" 2>&1)
	CTL_RC=$?
}

# ctlgl_py CODE ARGS...: posternctl --json ARGS, its standard output
# parsed as JSON into the Python variable j, then CODE (which prints).
ctlgl_py() {
	local code=$1
	shift
	"$POSTERNCTL" -c "$CTLGL_CONF" --json "$@" 2>/dev/null |
		"$PYTHON" -c "import json, sys
j = json.load(sys.stdin)
$code" 2>&1
}

# ctlgl_sql QUERY: the rows of the scenarios' database.
ctlgl_sql() {
	sql CG "$1"
}

# Seconds relative to CTLGL_NOW, for SQL: ago 600 -> "1795255200 - 600".
ago() {
	echo "$((CTLGL_NOW - $1))"
}

ctlgl_setup() {
	CUR_INST=""
	CUR_TAG=""
	new_instance CG ""
	mkdir -p "$WORK/CG/db"
	CTLGL_CONF=$WORK/CG/postern.conf
	[[ -x $POSTERNCTL ]] || {
		report_fail "ctlgl: posternctl is built ($POSTERNCTL)"
		return 1
	}
}

# The triplets and clients of s70 ... s72.
ctlgl_seed() {
	CTLGL_NOW=$(date +%s)
	ctlgl_sql "DELETE FROM greylist; DELETE FROM greylist_clients;
	INSERT INTO greylist VALUES
	 ('192.0.2.0/24', 'alice@example.org', 'bob@example.test', $(ago 600), $(ago 600), NULL, 1),
	 ('192.0.2.0/24', 'alice@example.org', 'carol@example.test', $(ago 900), $(ago 200), NULL, 3),
	 ('192.0.2.0/24', 'dave@example.org', 'bob@example.test', $(ago 7200), $(ago 6000), $(ago 6000), 2),
	 ('example.com', '', 'bob@example.test', $(ago 86400), $(ago 100), $(ago 80000), 7),
	 ('2001:db8:1:2::/64', 'eve@example.net', 'bob@example.test', $(ago 300), $(ago 300), NULL, 1);
	INSERT INTO greylist_clients VALUES
	 ('192.0.2.0/24', 2, $(ago 6000), NULL, NULL, $(ago 200)),
	 ('198.51.100.0/24', 6, $(ago 3600), $(ago 7200), 'auto', $(ago 150));"
}

# ---- s70: list and stats -------------------------------------------------------

s70_ctlgl_list() {
	local p="s70 ctlgl"

	ctlgl greylist stats
	expect_ctl "$p: stats on a new database (made and migrated by posternctl)" 0 \
		"triplets          0"
	# The version this build writes (db/db.h), so a later migration does
	# not break the check.
	local want
	want=$(sed -n 's/^#define DB_SCHEMA_VERSION \([0-9]*\).*/\1/p' "$top_srcdir/db/db.h")
	expect_eq "$p: ... which is at this build's schema version ($want)" "$want" \
		"$(ctlgl_sql 'PRAGMA user_version')"
	ctlgl greylist list
	expect_eq "$p: list of an empty greylist: the header only" \
		"CLIENT  SENDER  RECIPIENT  FIRST SEEN            LAST SEEN             STATE    ATTEMPTS" \
		"$CTL_OUT"

	ctlgl_seed
	ctlgl greylist list
	expect_ctl "$p: list" 0
	expect_match "$p: list: a pending triplet, aligned" \
		'^192\.0\.2\.0/24 +alice@example\.org +bob@example\.test +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}Z +[0-9-]{10} [0-9:]{8}Z +pending +1$' \
		"$CTL_OUT"
	expect_match "$p: list: the null sender as <>, a passed triplet" \
		'^example\.com +<> +bob@example\.test +.* passed +7$' "$CTL_OUT"
	expect_eq "$p: list: the most recently seen first" \
		"example.com 192.0.2.0/24 2001:db8:1:2::/64 192.0.2.0/24 192.0.2.0/24" \
		"$(printf '%s\n' "$CTL_OUT" | awk 'NR > 1 { printf "%s%s", s, $1; s = " " }')"

	expect_eq "$p: list --json: every triplet, with its state" \
		"5 passed=2 pending=3" \
		"$(ctlgl_py 'import collections
c = collections.Counter(r["state"] for r in j)
print(len(j), " ".join("%s=%d" % kv for kv in sorted(c.items())))' greylist list)"
	expect_eq "$p: list --json: the fields of a row" \
		"example.com||bob@example.test|$(ago 86400)|$(ago 100)|$(ago 80000)|7" \
		"$(ctlgl_py 'r = j[0]
print("|".join(str(r[k]) for k in ("client", "sender", "rcpt", "first_seen",
      "last_seen", "passed", "attempts")))' greylist list)"
	expect_eq "$p: list --json: a pending triplet has \"passed\": null" "None" \
		"$(ctlgl_py 'print([r["passed"] for r in j if r["client"].startswith("2001:")][0])' \
			greylist list)"
	expect_eq "$p: list --pending --json" \
		"192.0.2.0/24 carol@example.test,2001:db8:1:2::/64 bob@example.test,192.0.2.0/24 bob@example.test" \
		"$(ctlgl_py 'print(",".join(r["client"] + " " + r["rcpt"] for r in j))' \
			greylist list --pending)"
	ctlgl greylist list --passed
	expect_eq "$p: list --passed: two triplets" 2 "$(($(wc -l <<<"$CTL_OUT") - 1))"
	expect_eq "$p: list --client ADDRESS: the triplets of its /24" \
		"3 192.0.2.0/24" \
		"$(ctlgl_py 'print(len(j), " ".join(sorted(set(r["client"] for r in j))))' \
			greylist list --client 192.0.2.200)"
	expect_eq "$p: list --client DOMAIN (any case)" "1 example.com" \
		"$(ctlgl_py 'print(len(j), j[0]["client"])' greylist list --client EXAMPLE.com)"
	expect_eq "$p: list --limit 2: the two most recent" \
		"example.com alice@example.org" \
		"$(ctlgl_py 'print(" ".join([j[0]["client"], j[1]["sender"]]), end="")
assert len(j) == 2' greylist list --limit=2)"
	ctlgl greylist list --auto-allowed
	expect_match "$p: list --auto-allowed: the allowed clients only" \
		'^198\.51\.100\.0/24 +auto +6 +[0-9-]{10} [0-9:]{8}Z +[0-9-]{10} [0-9:]{8}Z$' "$CTL_OUT"
	expect_eq "$p: ... and not 192.0.2.0/24, which only counts" 2 "$(wc -l <<<"$CTL_OUT")"
	expect_eq "$p: list --auto-allowed --json" \
		"198.51.100.0/24|auto|6|$(ago 7200)|$(ago 150)" \
		"$(ctlgl_py 'print("\n".join("|".join(str(r[k]) for k in ("client", "allowed_by",
      "deliveries", "allowed", "last_seen")) for r in j))' greylist list --auto-allowed)"

	ctlgl greylist stats
	expect_ctl "$p: stats" 0 "  pending         3"
	expect_match "$p: stats: the oldest triplet" '^  oldest +[0-9-]{10} [0-9:]{8}Z$' "$CTL_OUT"
	expect_eq "$p: stats --json" \
		"5 3 2 $(ago 86400) 2 1 0 0" \
		"$(ctlgl_py 'print(*(j[k] for k in ("triplets", "pending", "passed",
      "oldest_first_seen", "clients", "auto_allowed", "admin_allowed", "active_bans")))' \
			greylist stats)"
}

# ---- s71: allow -------------------------------------------------------------------

s71_ctlgl_allow() {
	local p="s71 ctlgl" q="select client, deliveries, allowed_by, allowed >= $CTLGL_NOW,
		last_seen from greylist_clients where client ="

	ctlgl greylist allow 203.0.113.77
	expect_ctl "$p: allow ADDRESS: its /24" 0 \
		"allowed 203.0.113.0/24: mail from this network is no longer greylisted"
	expect_eq "$p: ... a new greylist_clients row, allowed by admin" \
		"203.0.113.0/24|0|admin|1" \
		"$(ctlgl_sql "select client, deliveries, allowed_by, allowed >= $CTLGL_NOW
			from greylist_clients where client = '203.0.113.0/24'")"
	ctlgl greylist allow 203.0.113.0/24
	expect_ctl "$p: allow of the same network again: nothing changes" 0 \
		"203.0.113.0/24 was already allowed by an admin"
	ctlgl greylist allow 198.51.100.0/24
	expect_ctl "$p: allow NETWORK of an auto-allowed client" 0 \
		"allowed 198.51.100.0/24 (allowed automatically until now)"
	expect_eq "$p: ... keeps its deliveries and last_seen" \
		"198.51.100.0/24|6|admin|1|$(ago 150)" "$(ctlgl_sql "$q '198.51.100.0/24'")"
	ctlgl greylist allow 192.0.2.9
	expect_ctl "$p: allow of a client that only counted" 0 "allowed 192.0.2.0/24"
	expect_eq "$p: ... its row is allowed, its deliveries stay" \
		"192.0.2.0/24|2|admin|1|$(ago 200)" "$(ctlgl_sql "$q '192.0.2.0/24'")"
	ctlgl greylist allow 2001:DB8:1:2:0:0:0:99
	expect_ctl "$p: allow IPv6 ADDRESS: its /64, canonical" 0 "allowed 2001:db8:1:2::/64"
	ctlgl greylist allow '[2001:db8:1:2::]/64'
	expect_ctl "$p: allow [IPv6]/64: the same network" 0 "already allowed by an admin"
	ctlgl greylist allow 192.0.2.77/24
	expect_ctl "$p: allow ADDRESS/24 with host bits: its network" 0 \
		"192.0.2.0/24 was already allowed"
	ctlgl greylist allow Example.ORG.
	expect_ctl "$p: allow DOMAIN: lower case, no final dot" 0 \
		"allowed example.org: mail whose SPF-verified MAIL FROM domain is example.org"
	expect_eq "$p: ... its row" "example.org|0|admin|1|$CTLGL_NOW" \
		"$(ctlgl_sql "$q 'example.org'" | sed -e "s/|[0-9]*\$/|$CTLGL_NOW/")"

	ctlgl greylist allow 192.0.2.0/25
	expect_ctl "$p: allow of a /25: usage error pointing to greylist_allow_clients" 2 \
		"greylist_allow_clients in postern.conf"
	expect_contains "$p: ... naming the configured prefix" \
		"by their /24 network (greylist_ipv4_prefix)" "$CTL_OUT"
	ctlgl greylist allow 2001:db8::/48
	expect_ctl "$p: allow of an IPv6 /48: usage error" 2 "/64 network (greylist_ipv6_prefix)"
	ctlgl greylist allow 300.1.2.3
	expect_ctl "$p: allow 300.1.2.3: not a client" 2 \
		'"300.1.2.3" is not an IP address, a network or a domain name'
	ctlgl greylist allow 'bad_domain!.test'
	expect_ctl "$p: allow of a bad domain name: usage error" 2 "is not an IP address"
	ctlgl greylist allow localhost
	expect_ctl "$p: allow of a name without a dot: usage error" 2 "is not an IP address"
	expect_eq "$p: the refused ones left no rows" \
		"192.0.2.0/24 198.51.100.0/24 2001:db8:1:2::/64 203.0.113.0/24 example.org" \
		"$(ctlgl_sql "select group_concat(client, ' ') from
			(select client from greylist_clients order by client)")"
	expect_eq "$p: list --auto-allowed --json: every allowed client, by admin" \
		"5 admin" \
		"$(ctlgl_py 'print(len(j), *sorted(set(r["allowed_by"] for r in j)))' \
			greylist list --auto-allowed)"
}

# ---- s72: remove ------------------------------------------------------------------

s72_ctlgl_remove() {
	local p="s72 ctlgl" q="select client || ' ' || sender || ' ' || rcpt from greylist
		order by client, sender, rcpt"

	ctlgl greylist remove 192.0.2.1 --sender ALICE@Example.org --rcpt carol@EXAMPLE.test
	expect_ctl "$p: remove --sender --rcpt: one triplet" 0 \
		"removed 192.0.2.0/24: 1 triplet with sender alice@example.org and recipient carol@example.test"
	ctlgl greylist remove 192.0.2.1 --sender prvs=0123abcd=alice+news@example.org
	expect_ctl "$p: remove --sender with BATV and VERP parts: as the daemon stores it" 0 \
		"removed 192.0.2.0/24: 1 triplet with sender alice@example.org"
	ctlgl greylist remove example.com --sender '<>'
	expect_ctl "$p: remove DOMAIN --sender '<>': the null sender" 0 \
		"removed example.com: 1 triplet with sender <>"
	expect_eq "$p: the other triplets stay" \
		"192.0.2.0/24 dave@example.org bob@example.test
2001:db8:1:2::/64 eve@example.net bob@example.test" "$(ctlgl_sql "$q")"
	expect_eq "$p: ... and so do the client rows" 2 \
		"$(ctlgl_sql "select count(*) from greylist_clients
			where client in ('192.0.2.0/24', 'example.com', '198.51.100.0/24')")"

	ctlgl greylist remove 192.0.2.0/24
	expect_ctl "$p: remove CLIENT: its triplets and its row" 0 \
		"removed 192.0.2.0/24: 1 triplet and its client row"
	ctlgl greylist remove 203.0.113.5
	expect_ctl "$p: remove of a client with a row only (an admin's allow)" 0 \
		"removed 203.0.113.0/24: 0 triplets and its client row"
	expect_eq "$p: the rows of 192.0.2.0/24 and 203.0.113.0/24 are gone" "0|0" \
		"$(ctlgl_sql "select (select count(*) from greylist where client = '192.0.2.0/24'),
			(select count(*) from greylist_clients
			 where client in ('192.0.2.0/24', '203.0.113.0/24'))")"
	ctlgl greylist remove 192.0.2.0/24
	expect_ctl "$p: remove of nothing: exit 1" 1 \
		"nothing to remove: 192.0.2.0/24 has no greylist entries"
	ctlgl greylist remove 2001:db8:1:2::1 --rcpt nobody@example.test
	expect_ctl "$p: remove --rcpt that matches nothing: exit 1" 1 \
		"has no greylist entries with recipient nobody@example.test"
	expect_eq "$p: ... and removes nothing" \
		"2001:db8:1:2::/64 eve@example.net bob@example.test" "$(ctlgl_sql "$q")"
	ctlgl greylist remove 192.0.2.0/16
	expect_ctl "$p: remove of a /16: usage error" 2 "greylist_allow_clients"
}

# ---- s73: purge ---------------------------------------------------------------------

s73_ctlgl_purge() {
	local p="s73 ctlgl" d=86400

	CTLGL_NOW=$(date +%s)
	ctlgl_sql "DELETE FROM greylist; DELETE FROM greylist_clients;
	INSERT INTO greylist VALUES
	 ('192.0.2.0/24', 'old@example.org', 'bob@example.test', $(ago $((50 * d))), $(ago $((40 * d))), NULL, 1),
	 ('example.com', 'old@example.com', 'bob@example.test', $(ago $((45 * d))), $(ago $((31 * d))), $(ago $((44 * d))), 2),
	 ('192.0.2.0/24', 'new@example.org', 'bob@example.test', $(ago $((45 * d))), $(ago $((29 * d))), NULL, 1),
	 ('192.0.2.0/24', 'now@example.org', 'bob@example.test', $(ago 60), $(ago 60), NULL, 1);
	INSERT INTO greylist_clients VALUES
	 ('198.51.100.0/24', 9, $(ago $((40 * d))), $(ago $((60 * d))), 'auto', $(ago $((40 * d)))),
	 ('203.0.113.0/24', 1, $(ago $((40 * d))), NULL, NULL, $(ago $((40 * d)))),
	 ('example.net', 0, NULL, $(ago $((90 * d))), 'admin', $(ago $((90 * d)))),
	 ('192.0.2.0/24', 3, $(ago 60), NULL, NULL, $(ago 60));"

	ctlgl greylist purge --older-than 30d
	expect_ctl "$p: purge --older-than 30d" 0 "purged 2 triplets and 2 client rows not seen since"
	expect_eq "$p: the triplets seen within 30 days stay" "new@example.org now@example.org" \
		"$(ctlgl_sql "select group_concat(sender, ' ') from (select sender from greylist order by sender)")"
	expect_eq "$p: the admin's allow stays, however old" "192.0.2.0/24 example.net" \
		"$(ctlgl_sql "select group_concat(client, ' ') from (select client from greylist_clients order by client)")"
	expect_eq "$p: purge --json: nothing more to purge" "0 0 $(ago $((30 * d)))" \
		"$(ctlgl_py 'print(j["triplets"], j["clients"], j["before"])' \
			greylist purge --older-than 30d | sed -e "s/ [0-9]*\$/ $(ago $((30 * d)))/")"
	ctlgl greylist purge --older-than 1h
	expect_ctl "$p: purge --older-than 1h: singular words" 0 \
		"purged 1 triplet and 0 client rows"
	ctlgl greylist purge
	expect_ctl "$p: purge without --older-than: usage error" 2 "purge needs --older-than D"
	ctlgl greylist purge --older-than 30x
	expect_ctl "$p: purge --older-than 30x: usage error" 2 '"30x" is not a time'
}

# ---- s74: bans --------------------------------------------------------------------------

s74_ctlgl_bans() {
	local p="s74 ctlgl"

	CTLGL_NOW=$(date +%s)
	ctlgl_sql "DELETE FROM client_bans; INSERT INTO client_bans VALUES
	 ('192.0.2.7', $(ago 60), $(ago -3540), 11, '11 rejections in 10m'),
	 ('2001:db8::7', $(ago 30), $(ago -3570), 12, NULL),
	 ('192.0.2.8', $(ago 7200), $(ago 3600), 11, 'an old ban');"

	ctlgl bans list
	expect_ctl "$p: bans list" 0
	expect_match "$p: bans list: an active ban, aligned" \
		'^192\.0\.2\.7 +[0-9-]{10} [0-9:]{8}Z +[0-9-]{10} [0-9:]{8}Z +11  11 rejections in 10m$' \
		"$CTL_OUT"
	expect_eq "$p: bans list: the active bans only, the most recent first" \
		"2001:db8::7 192.0.2.7" \
		"$(printf '%s\n' "$CTL_OUT" | awk 'NR > 1 { printf "%s%s", s, $1; s = " " }')"
	ctlgl bans list --all
	expect_match "$p: bans list --all: the expired one too" \
		'^192\.0\.2\.8 +.* +11  expired  an old ban$' "$CTL_OUT"
	expect_eq "$p: bans list --all --json" \
		"2001:db8::7|True|12|;192.0.2.7|True|11|11 rejections in 10m;192.0.2.8|False|11|an old ban" \
		"$(ctlgl_py 'print(";".join("%s|%s|%d|%s" % (r["addr"], r["active"], r["errors"],
      r["reason"]) for r in j))' bans list --all)"
	expect_eq "$p: bans list --json: since and until" "$(ago 60) $(ago -3540)" \
		"$(ctlgl_py 'print(*[(r["since"], r["until"]) for r in j if r["addr"] == "192.0.2.7"][0])' \
			bans list)"

	ctlgl bans lift 192.0.2.8
	expect_ctl "$p: bans lift of an expired ban: not banned, exit 1" 1 "192.0.2.8 is not banned"
	ctlgl bans lift 2001:DB8:0:0::7
	expect_ctl "$p: bans lift IPv6 in another spelling" 0 "lifted the ban of 2001:db8::7"
	ctlgl bans lift ::ffff:192.0.2.7
	expect_ctl "$p: bans lift of a v4-mapped address" 0 "lifted the ban of 192.0.2.7"
	ctlgl bans lift 192.0.2.7
	expect_ctl "$p: bans lift again: not banned, exit 1" 1 "192.0.2.7 is not banned"
	ctlgl bans lift 192.0.2.999
	expect_ctl "$p: bans lift of a bad address: usage error" 2 '"192.0.2.999" is not an IP address'
	expect_eq "$p: the rows: only the expired ban is left" "192.0.2.8" \
		"$(ctlgl_sql "select addr from client_bans")"
	expect_eq "$p: stats: no active ban" 0 "$(ctlgl_py 'print(j["active_bans"])' greylist stats)"
}

# ---- s75: usage and database errors ---------------------------------------------------

s75_ctlgl_misc() {
	local p="s75 ctlgl" f
	local -a bad=("greylist" "greylist frobnicate" "greylist list extra"
		"greylist list --pending --auto-allowed" "greylist list --limit x"
		"greylist list --client" "greylist allow" "greylist allow a.test b.test"
		"greylist remove" "greylist remove 192.0.2.1 --sender" "greylist stats extra"
		"greylist purge --older-than" "bans" "bans frobnicate" "bans lift"
		"bans list --bogus")
	for f in "${bad[@]}"; do
		# shellcheck disable=SC2086
		ctlgl $f
		expect_ctl "$p: posternctl $f: bad usage, exit 2" 2 "usage:"
	done
	ctlgl greylist --help
	expect_ctl "$p: greylist --help" 0 "greylist purge --older-than D"
	ctlgl bans --help
	expect_ctl "$p: bans --help" 0 "bans lift ADDR"
	ctlgl --help
	expect_ctl "$p: --help lists the greylist and bans commands" 0 "  bans list|lift"

	printf 'database = %s/CG/no/such/dir/postern.db\n' "$WORK" >"$WORK/CG/nodb.conf"
	CTL_OUT=$("$POSTERNCTL" -c "$WORK/CG/nodb.conf" greylist stats 2>&1)
	CTL_RC=$?
	expect_ctl "$p: a database that cannot be opened: exit 1, naming it" 1 \
		"$WORK/CG/no/such/dir/postern.db"
	printf 'not a database\n%.0s' {1..100} >"$WORK/CG/junk.db"
	printf 'database = %s/CG/junk.db\n' "$WORK" >"$WORK/CG/junk.conf"
	CTL_OUT=$("$POSTERNCTL" -c "$WORK/CG/junk.conf" bans list 2>&1)
	CTL_RC=$?
	expect_ctl "$p: a file that is not a database: exit 1" 1 "$WORK/CG/junk.db"
}

ctlgl_scenarios() {
	ctlgl_setup || return
	s70_ctlgl_list
	s71_ctlgl_allow
	s72_ctlgl_remove
	s73_ctlgl_purge
	s74_ctlgl_bans
	s75_ctlgl_misc
}
