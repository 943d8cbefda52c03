#!/bin/sh
# Ctrl-C delivered to the process group (a new session, then kill -INT
# -PGID, as a terminal does) and SIGHUP the same way: every stage ends cleanly,
# what was fetched up to the last complete page is published, the run
# exits 3 and tries no further kind; across runs the backlog drains
# exactly once in the fewest runs the time allows.  Backlog and timing
# as in 62-collect-drain.t: 21 requests of 0.4 s, runs stopped at 3 s:
# 3 runs at best, 4 once a run's start-up (a new session, a python
# launcher, TLS) costs a page; 5 is the bound, for a loaded machine.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

fake_start --records auth=2000,admin=5 --max-records-per-page auth=100 \
    --latency 400 || { echo "Bail out! no fake"; exit 1; }
cd "$T" || exit 1
sort "$FAKE/data/auth.ndjson" >want
mkdir out

# one SIG: a run of auth then admin in a new session, SIG to its
# process group after 3 s; sets rc.
one() {
	# A background job of a script starts with SIGINT ignored, and a
	# shell cannot trap a signal ignored on entry: reset it, as a
	# terminal's foreground job has it.
	python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.setsid()
os.execvp(sys.argv[1], sys.argv[1:])' duo-collect -T 0 -d st -o out -f json \
	    auth admin >/dev/null 2>"err.$runs" &
	_pid=$!
	sleep 3
	kill "-$1" "-$_pid" 2>/dev/null
	wait "$_pid"
	rc=$?
}

runs=0 codes='' progress=1 last=0
for sig in INT INT HUP INT INT INT INT INT INT INT; do
	runs=$((runs + 1))
	one "$sig"
	codes="$codes $rc"
	cat out/duo-auth-*.log 2>/dev/null | sed 's/^{"duo_time":"[^"]*",/{/' |
	    sort >got
	have=$(wc -l <got | tr -d ' ')
	[ "$have" -gt "$last" ] || progress=
	last=$have
	[ "$have" -ge 2000 ] && break
done
echo "# $runs runs, statuses$codes"
ok "drained in $runs runs (at most 5)" test "$runs" -le 5
ok "every run made progress" test -n "$progress"
same "every record exactly once" got want
is "interrupted runs exit 3" "$(echo "$codes" | sed 's/^\( 3\)*\( [03]\)$/ok/')" ok
grepq "the kind after an interrupted one is skipped" \
    '^duo-collect: admin: skipped: stopped by a signal$' err.1
nogrep "no stage reported as killed" "exited 1" err.*
ok "no spool left behind" test -z "$(find st out -name '*.tmp*' 2>/dev/null)"
finish
