#!/bin/sh
# duo-get's pacer against the fake's token bucket, in compressed time
# (DUO_RETRY_BASE_MS=33: a bucket of one request per 2 s stands for one
# per minute, one per 4 s for one per two minutes).  Consecutive -T runs
# share what the pacer learned through the -R file; once learned, at
# least 98% of the allowance is used with at most one 429 per 10 pages,
# and every record arrives exactly once.  A rate limit that never lets
# up ends at the budget with exit 3.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

DUO_RETRY_BASE_MS=33
export DUO_RETRY_BASE_MS

pids=
stop_fakes() {
	for p in $pids; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	return 0
}
at_exit stop_fakes

# start DIR ARGS...: a fake Duo of its own in DIR.
start() {
	_d=$1
	shift
	mkdir -p "$_d"
	python3 "$TOP/tests/e2e/fakeduo.py" -d "$_d" "$@" >"$_d/stdout" \
	    2>"$_d/stderr" &
	pids="$pids $!"
	_i=0
	while [ ! -s "$_d/port" ]; do
		_i=$((_i + 1))
		[ "$_i" -lt 300 ] || { diag "$_d/stderr"; return 1; }
		sleep 0.1
	done
}

# stats LOG PER FROM: pages, 429s and the share of the allowance used by
# the requests from line FROM of requests.log on: a bucket of one per
# PER seconds allows 1 + (last - first) / PER successes between the
# first and the last success.
stats() {
	python3 -c '
import json, sys
log, per, first = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
t, n429 = [], 0
for i, line in enumerate(open(log), 1):
    r = json.loads(line)
    if i < first:
        continue
    if r["status"] == 200:
        t.append(r["t"])
    elif r["status"] == 429:
        n429 += 1
allow = 1 + (t[-1] - t[0]) / per if len(t) > 1 else 1
print("%d %d %d" % (len(t), n429, int(1000 * len(t) / allow)))
' "$@"
}

# runs DIR N BUDGET: N consecutive runs, each from the last mark of the
# one before; appends their data to DIR/acc, their status to DIR/rcs.
runs() {
	_i=0
	while [ "$_i" -lt "$2" ]; do
		_i=$((_i + 1))
		DUO_CONF=$1/duo.conf duo-get -C -n 10 -T "$3" -R "$1/auth.pace" \
		    -s - auth <"$1/cur" >"$1/out" 2>"$1/err"
		echo "$? $(tail -n 1 "$1/out")" >>"$1/rcs"
		grep -v '^{"@duo":' "$1/out" >>"$1/acc"
		sed -n 's/^{"@duo":"mark","cursor":\(.*\),"n":[0-9]*}$/\1/p' \
		    "$1/out" | tail -n 1 >"$1/c2"
		[ -s "$1/c2" ] && mv "$1/c2" "$1/cur"
	done
}

# session DIR PER LEARNRUNS RUNS BUDGET: learn, then measure.
session() {
	echo '{}' >"$1/cur"
	: >"$1/acc"
	: >"$1/rcs"
	runs "$1" "$3" "$5"
	wc -l <"$1/requests.log" >"$1/learned"
	runs "$1" "$4" "$5"
	stats "$1/requests.log" "$2" $(($(cat "$1/learned") + 1)) >"$1/stats"
	stats "$1/requests.log" "$2" 1 >"$1/stats.all"
}

start "$T/m1" --records auth=3000 --bucket 1/2 || exit 1
start "$T/m2" --records auth=3000 --bucket 1/4 || exit 1
session "$T/m1" 2 2 4 10 &
s1=$!
session "$T/m2" 4 3 4 14 &
s2=$!
wait "$s1"
wait "$s2"

for m in m1 m2; do
	case $m in
	m1) what="1/min" ;;
	m2) what="1/2min" ;;
	esac
	d=$T/$m
	is "$what: every run exit 0, budget stops say more" \
	    "$(sort -u "$d/rcs")" '0 {"@duo":"exit","status":0,"more":true}'
	n=$(wc -l <"$d/acc")
	head -n "$n" "$d/data/auth.ndjson" >"$d/want"
	same "$what: the runs delivered $n records exactly once, in order" \
	    "$d/acc" "$d/want"
	# shellcheck disable=SC2046 # three numbers, on purpose
	set -- $(cat "$d/stats")
	echo "# $what after learning: $1 pages, $2 429s, $3 per mille used" \
	    "(with learning: $(cat "$d/stats.all"))"
	if [ "$3" -ge 980 ]; then
		_pass "$what: at least 98% of the allowance used ($3 per mille)"
	else
		_fail "$what: only $3 per mille of the allowance used"
	fi
	if [ $(($2 * 10)) -le "$1" ]; then
		_pass "$what: at most one 429 per 10 pages ($2 in $1)"
	else
		_fail "$what: $2 429s in $1 pages"
	fi
	grepq "$what: the -R file holds the learned interval" \
	    '^\{"v":1,"lo":[0-9]+,"hi":[0-9]+,"last":[0-9]+,"np":[01]\}$' \
	    "$d/auth.pace"
	hi=$(sed 's/.*"hi":\([0-9]*\).*/\1/' "$d/auth.pace")
	per=2000
	[ "$m" = m2 ] && per=4000
	if [ "$hi" -ge "$per" ] && [ "$hi" -le $((per * 103 / 100)) ]; then
		_pass "$what: learned $hi ms for $per"
	else
		_fail "$what: learned $hi ms for $per"
	fi
done

# A rate limit that never lets up: exit 3 at the budget, not by a count.
start "$T/m3" --faults 429=1 || exit 1
t0=$(date +%s)
DUO_CONF=$T/m3/duo.conf status "always 429: exit 3" 3 duo-get -C -T 5 \
    -R "$T/m3/auth.pace" auth
t1=$(date +%s)
is "always 429: the exit line says 3" "$(tail -n 1 "$T/.out")" \
    '{"@duo":"exit","status":3}'
grepq "always 429: gives up by the budget" \
    '^duo-get: auth: giving up: the run budget ends before the next try: 429 42901: Too Many Requests$' \
    "$T/.err"
if [ $((t1 - t0)) -ge 2 ] && [ $((t1 - t0)) -le 6 ]; then
	_pass "always 429: kept trying until the budget ($((t1 - t0)) s)"
else
	_fail "always 429: ran $((t1 - t0)) s for -T 5"
fi
n=$(grep -c '"status": *429' "$T/m3/requests.log")
if [ "$n" -ge 3 ] && [ "$n" -le 8 ]; then
	_pass "always 429: a full interval between tries ($n tries in 5 s)"
else
	_fail "always 429: $n tries in 5 s"
fi

# A corrupt -R file: a warning, then a fresh start.
printf 'garbage\n' >"$T/m3/bad.pace"
DUO_CONF=$T/m1/duo.conf status "corrupt -R file: still exit 0" 0 \
    duo-get -C -n 1000 -S 10m -R "$T/m3/bad.pace" telephony
grepq "corrupt -R file: warned" \
    'bad\.pace: corrupt pacer state; starting fresh$' "$T/.err"
# A symbolic link at the -R name is replaced, never followed.
echo keep >"$T/m3/victim"
ln -s "$T/m3/victim" "$T/m3/link.pace"
rm -rf "$T/m4"
start "$T/m4" --records auth=30 --bucket 1/1 || exit 1
DUO_CONF=$T/m4/duo.conf status "-R on a symlink: exit 0" 0 \
    duo-get -C -n 10 -R "$T/m3/link.pace" auth
is "-R on a symlink: the link's target is untouched" \
    "$(cat "$T/m3/victim")" keep
finish
