#!/bin/sh
# A backlog larger than one run behind a slow fake drains across runs,
# exactly once, in the fewest runs the budget allows, however each run
# ends: (a) at its own budget (-T 3: status 0, backlog left for the next
# run), (b) cut off by timeout(1) at 3 s (SIGTERM to the process group,
# then SIGKILL 3 s later if still running: status 3, what was fetched
# up to the last page published), (c) killed outright by SIGKILL at 3 s
# (publishing every second with -t 1 keeps most of it).
# Backlog: 2000 auth records, 100 per page, 0.4 s per request: 21
# requests, 7 per 3 s run, so 3 runs at least; a run may lose a page to
# start-up time, so 4 is the bound for (a) and (b).
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

fake_start --records auth=2000 --max-records-per-page auth=100 \
    --latency 400 || { echo "Bail out! no fake"; exit 1; }
cd "$T" || exit 1
sort "$FAKE/data/auth.ndjson" >want

# drain NAME MAXRUNS CMD...: run CMD (with -d st-NAME -o out-NAME) until
# the backlog is drained (at most 12 runs); then check the runs needed
# and that every record arrived exactly once.
drain() {
	_name=$1 _max=$2
	shift 2
	mkdir "out-$_name"
	_runs=0 _codes='' _progress=1
	while [ "$_runs" -lt 12 ]; do
		_runs=$((_runs + 1))
		"$@" -d "st-$_name" -o "out-$_name" -f json auth \
		    >/dev/null 2>"$_name.err.$_runs"
		_codes="$_codes $?"
		cat "out-$_name"/duo-auth-*.log 2>/dev/null |
		    sed 's/^{"duo_time":"[^"]*",/{/' | sort >"got-$_name"
		_have=$(wc -l <"got-$_name" | tr -d ' ')
		[ "$_have" -ge 2000 ] && break
		[ "$_have" -gt "${_last:-0}" ] || _progress=
		_last=$_have
	done
	_last=0
	echo "# $_name: $_runs runs, statuses$_codes"
	ok "$_name: drained in $_runs runs (at most $_max)" \
	    test "$_runs" -le "$_max"
	ok "$_name: every run made progress" test -n "$_progress"
	same "$_name: every record exactly once" "got-$_name" want
	# A last run finds nothing new.
	"$@" -d "st-$_name" -o "out-$_name" -f json auth >/dev/null 2>&1
	cat "out-$_name"/duo-auth-*.log | sed 's/^{"duo_time":"[^"]*",/{/' |
	    sort >"got-$_name"
	same "$_name: nothing repeated by a later run" "got-$_name" want
}

drain budget 4 duo-collect -T 3
is "budget: every run exits 0" "$(echo "$_codes" | tr -d ' 0')" ""

drain term 4 timeout --preserve-status -k 3 3 duo-collect -T 0
is "term: cut-off runs exit 3 (the last may end first: 0)" \
    "$(echo "$_codes" | sed 's/^ 3\( 3\)*\( [03]\)$/ok/')" ok
nogrep "term: no stage killed by SIGKILL" "exited 137" term.err.*

drain kill 9 timeout -s KILL 3 duo-collect -T 0 -t 1
finish
