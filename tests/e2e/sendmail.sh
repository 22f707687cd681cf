# shellcheck shell=bash disable=SC2034
# tests/e2e/sendmail.sh: a private Sendmail with postern as its milter,
# beside Postfix. Source it from bash; it defines functions and
# variables only.
#
# Installing Debian's sendmail-bin would remove Postfix (both provide the
# MTA), so Sendmail is never installed: scripts/install-deps downloads
# sendmail-bin and sendmail-cf with "apt-get download" and unpacks them
# with "dpkg -x" into SM_ROOT. The instance runs from that tree with its
# own .cf, made with m4 from the unpacked sendmail-cf, on a loopback
# port. It never reads or writes /etc/mail (every path of the .cf points
# under the work directory), and it is started as root inside the test's
# network namespace.
#
# Sendmail insists on a fully qualified name for its own host: when the
# host name has no dot it sleeps 60 s ("My unqualified host name ...
# unknown; sleeping for retry") before it even reads its .cf. sm_start
# therefore runs it in a private UTS namespace (unshare -u) whose host
# name is SM_HOSTNAME; the system's host name is not changed.
#
# Variables (set them before sm_setup to change a default):
#   SM_ROOT        the unpacked packages   (/var/cache/postern-test/sendmail/root)
#   SM_PORT        Sendmail's SMTP port, on 127.0.0.1       (2527)
#   SM_RELAY_PORT  the next hop, esmtp:[127.0.0.1]:PORT      (2526)
#   SM_HOSTNAME    its host name ($j, the HELO it sends)     (sendmail.e2e.test)
#   SM_RELAY_DOMAINS  recipient domains it relays to         (example.test)
# Set by the functions:
#   SM_DIR         the work directory (sm_setup); SM_DIR/sendmail.cf,
#                  SM_DIR/mqueue, SM_DIR/trace.log (sendmail -X: every
#                  SMTP line in and out), SM_DIR/stderr
#   SM_PID         the daemon's process (sm_start)
#   SM_ERR         the last error message of a function that failed
#
# Functions (0 on success; on failure 1 with SM_ERR set):
#   sm_bin
#       Print the path of the unpacked sendmail binary; status 1 (and
#       SM_ERR) when it is not there or cannot run (a missing library).
#   sm_setup WORKDIR MILTER [MC LINES...]
#       Write WORKDIR/sendmail.mc and make WORKDIR/sendmail.cf from it
#       with m4 and the unpacked cf/ tree. MILTER is a libmilter socket
#       ("inet:8895@127.0.0.1"); it becomes
#       INPUT_MAIL_FILTER(`postern', `S=MILTER, F=T, T=S:30s;R:30s;E:5m')
#       as in postern's documentation. Further arguments are .mc lines,
#       added before the MAILER lines. DNS is never used (service switch:
#       hosts from files); mail for SM_RELAY_DOMAINS goes to the smart
#       host [127.0.0.1]:SM_RELAY_PORT.
#   sm_start
#       Start "sendmail -bD" (the daemon in the foreground, our child)
#       and wait until it listens on SM_PORT (10 s).
#   sm_stop
#       SIGTERM, wait (5 s, then SIGKILL). Safe when it is not running.
#   sm_swaks [SWAKS ARGUMENTS...]
#       swaks against 127.0.0.1:SM_PORT; its output on stdout.

SM_ROOT=${SM_ROOT:-/var/cache/postern-test/sendmail/root}
SM_PORT=${SM_PORT:-2527}
SM_RELAY_PORT=${SM_RELAY_PORT:-2526}
SM_HOSTNAME=${SM_HOSTNAME:-sendmail.e2e.test}
SM_RELAY_DOMAINS=${SM_RELAY_DOMAINS:-example.test}
SM_DIR=""
SM_PID=""
SM_ERR=""

_sm_now_ms() {
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

sm_bin() {
	local bin=$SM_ROOT/usr/libexec/sendmail/sendmail missing
	SM_ERR=""
	if [[ ! -x $bin ]]; then
		SM_ERR="no unpacked Sendmail at $bin: scripts/install-deps downloads sendmail-bin and sendmail-cf (apt-get download) and unpacks them there (dpkg -x)"
		return 1
	fi
	if [[ ! -f $SM_ROOT/usr/share/sendmail/cf/m4/cf.m4 ]]; then
		SM_ERR="no unpacked sendmail-cf under $SM_ROOT/usr/share/sendmail/cf (scripts/install-deps)"
		return 1
	fi
	missing=$(ldd "$bin" 2>/dev/null | awk '/not found/ { print $1 }' | tr '\n' ' ')
	if [[ -n $missing ]]; then
		SM_ERR="the unpacked sendmail cannot run, libraries missing: $missing(scripts/install-deps installs them)"
		return 1
	fi
	echo "$bin"
}

sm_setup() {
	local dir=$1 milter=$2 cfdir=$SM_ROOT/usr/share/sendmail/cf out d
	SM_ERR=""
	if (($# < 2)); then
		SM_ERR="usage: sm_setup WORKDIR MILTER [MC LINES...]"
		return 1
	fi
	shift 2
	sm_bin >/dev/null || return 1
	command -v m4 >/dev/null || {
		SM_ERR="m4 is not installed"
		return 1
	}
	[[ $dir == /* ]] || dir=$(pwd)/$dir
	SM_DIR=$dir
	mkdir -p "$dir/mqueue" || {
		SM_ERR="cannot create $dir"
		return 1
	}
	chmod 755 "$dir"
	chmod 700 "$dir/mqueue"
	printf 'hosts\tfiles\naliases\tfiles\n' >"$dir/service.switch"
	: >"$dir/statistics"
	{
		echo "divert(-1)"
		echo "# Written by tests/e2e/sendmail.sh (sm_setup): a private Sendmail."
		echo "divert(0)dnl"
		echo "VERSIONID(\`postern e2e')dnl"
		echo "OSTYPE(\`linux')dnl"
		echo "undefine(\`ALIAS_FILE')dnl"
		echo "define(\`confDOMAIN_NAME', \`$SM_HOSTNAME')dnl"
		echo "define(\`confDONT_PROBE_INTERFACES', \`True')dnl"
		echo "define(\`confSERVICE_SWITCH_FILE', \`$dir/service.switch')dnl"
		echo "define(\`confBIND_OPTS', \`-DNSRCH -DEFNAMES')dnl"
		echo "define(\`QUEUE_DIR', \`$dir/mqueue')dnl"
		echo "define(\`STATUS_FILE', \`$dir/statistics')dnl"
		echo "define(\`HELP_FILE', \`$SM_ROOT/etc/mail/helpfile')dnl"
		echo "define(\`confPID_FILE', \`$dir/sendmail.pid')dnl"
		echo "define(\`confCR_FILE', \`-o $dir/relay-domains')dnl"
		echo "define(\`confTO_IDENT', \`0')dnl"
		echo "define(\`confDELIVERY_MODE', \`background')dnl"
		echo "define(\`confMILTER_LOG_LEVEL', \`2')dnl"
		echo "define(\`SMART_HOST', \`esmtp:[127.0.0.1]')dnl"
		echo "define(\`ESMTP_MAILER_ARGS', \`TCP \$h $SM_RELAY_PORT')dnl"
		echo "FEATURE(\`nocanonify')dnl"
		echo "FEATURE(\`accept_unresolvable_domains')dnl"
		echo "FEATURE(\`no_default_msa')dnl"
		echo "DAEMON_OPTIONS(\`Port=$SM_PORT, Addr=127.0.0.1, Name=MTA')dnl"
		for d in $SM_RELAY_DOMAINS; do
			echo "RELAY_DOMAIN(\`$d')dnl"
		done
		echo "INPUT_MAIL_FILTER(\`postern', \`S=$milter, F=T, T=S:30s;R:30s;E:5m')dnl"
		if (($# > 0)); then
			printf '%s\n' "$@"
		fi
		echo "MAILER(\`smtp')dnl"
	} >"$dir/sendmail.mc"
	if ! out=$(m4 -D_CF_DIR_="$cfdir/" "$cfdir/m4/cf.m4" "$dir/sendmail.mc" 2>&1 >"$dir/sendmail.cf"); then
		SM_ERR="m4 cannot make sendmail.cf: $out"
		return 1
	fi
	if ! grep -q "^Xpostern, S=$milter, F=T, T=S:30s;R:30s;E:5m\$" "$dir/sendmail.cf"; then
		SM_ERR="sendmail.cf has no Xpostern line for $milter"
		return 1
	fi
	return 0
}

sm_start() {
	local bin deadline
	SM_ERR=""
	bin=$(sm_bin) || return 1
	[[ -n $SM_DIR && -f $SM_DIR/sendmail.cf ]] || {
		SM_ERR="sm_start: sm_setup first"
		return 1
	}
	# A private UTS namespace with a qualified host name (see above).
	# shellcheck disable=SC2016 # $1 and $@ are the inner shell's
	unshare -u sh -c 'echo "$1" >/proc/sys/kernel/hostname && shift && exec "$@"' sh \
		"$SM_HOSTNAME" "$bin" -C "$SM_DIR/sendmail.cf" -bD -X "$SM_DIR/trace.log" \
		>"$SM_DIR/stderr" 2>&1 &
	SM_PID=$!
	deadline=$(($(_sm_now_ms) + 10000))
	until ss -Hltn "sport = :$SM_PORT" 2>/dev/null | grep -q .; do
		if ! kill -0 "$SM_PID" 2>/dev/null || (($(_sm_now_ms) > deadline)); then
			SM_ERR="Sendmail does not listen on 127.0.0.1:$SM_PORT: $(tail -n 20 "$SM_DIR/stderr" 2>/dev/null)"
			sm_stop
			return 1
		fi
		sleep 0.05
	done
}

sm_stop() {
	local pid=$SM_PID n=0
	[[ -n $pid ]] || return 0
	kill -TERM "$pid" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null && ((n < 250)); do
		# our child: a zombie until waited for
		[[ $(sed -e 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) == Z ]] && break
		sleep 0.02
		n=$((n + 1))
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	SM_PID=""
	return 0
}

sm_swaks() {
	swaks --server "127.0.0.1:$SM_PORT" --timeout 30 --hide-informational "$@" 2>&1
}
