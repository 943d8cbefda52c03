#!/bin/sh
# duo-get in scheduled runs: the exit line ends every -C stream; -T stops
# asking for pages when the next one would not fit and the backlog
# drains over runs exactly once; SIGTERM, SIGINT and SIGHUP abandon the
# request in flight and end with the exit line, status 3; the first
# connection failure is said at once, naming the host; -v shows an
# event time that moves during a backfill, a rate and the time left.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

data() {
	grep -v '^{"@duo":' "$1"
}

# lastmark FILE: the cursor of the last mark or end.
lastmark() {
	sed -n 's/^{"@duo":"\(mark\|end\)","cursor":\(.*\),"n":[0-9]*}$/\2/p' \
	    "$1" | tail -n 1
}

# upto FILE: the lines up to the last mark or end.
upto() {
	awk '{ l[NR] = $0 } /^\{"@duo":"(mark|end|begin)"/ { last = NR }
	    END { for (i = 1; i <= last; i++) print l[i] }' "$1"
}

ms() {
	python3 -c 'import time; print(int(time.time() * 1000))'
}

DUO_RETRY_BASE_MS=1
export DUO_RETRY_BASE_MS

# ---- the exit line on usage and configuration errors
status "-C with a bad option value: exit 2" 2 duo-get -C -n 0 auth
is "bad option: the exit line, status 2" "$(cat "$T/.out")" \
    '{"@duo":"exit","status":2}'
status "-C with a bad -T: exit 2" 2 duo-get -C -T x auth
is "bad -T: the exit line, status 2" "$(cat "$T/.out")" \
    '{"@duo":"exit","status":2}'
status "-C without duo.conf: exit 2" 2 duo-get -C -c "$T/nosuch.conf" auth
is "no conf: the exit line, status 2" "$(cat "$T/.out")" \
    '{"@duo":"exit","status":2}'
status "without -C no exit line" 2 duo-get -c "$T/nosuch.conf" auth
is "without -C: nothing on stdout" "$(wc -c <"$T/.out")" 0

# ---- -T: a budget, the backlog drained over runs, exactly once
fake_start --records auth=3000 --latency 250 || exit 1
: >"$T/acc"
cur='{}'
runs=0
while [ "$runs" -lt 20 ]; do
	runs=$((runs + 1))
	t0=$(ms)
	duo-get -C -n 100 -T 2 -s "$cur" auth >"$T/run.out" 2>"$T/run.err"
	rc=$?
	t1=$(ms)
	[ "$rc" -eq 0 ] || break
	[ $((t1 - t0)) -lt 2600 ] || break
	data "$T/run.out" >>"$T/acc"
	last=$(tail -n 1 "$T/run.out")
	cur=$(lastmark "$T/run.out")
	[ "$last" = '{"@duo":"exit","status":0}' ] && break
	[ "$last" = '{"@duo":"exit","status":0,"more":true}' ] || break
	tail -n 2 "$T/run.out" | head -n 1 | grep -q '^{"@duo":"mark",' ||
	    break
done
is "-T 2: every run exit 0 within the budget, a mark then the exit line" \
    "$rc,$last" '0,{"@duo":"exit","status":0}'
diag "$T/run.err"
if [ "$runs" -ge 3 ] && [ "$runs" -le 6 ]; then
	_pass "-T 2: 31 pages of 250 ms in $runs runs"
else
	_fail "-T 2: 31 pages of 250 ms in $runs runs (want 3 to 6)"
fi
same "-T: the runs together delivered every record once, in order" \
    "$T/acc" "$FAKE/data/auth.ndjson"
fake_stop

# ---- signals: the request in flight is abandoned at once
rm -rf "$T/fake"
fake_start --records auth=2000 --latency 700 || exit 1
for s in TERM INT HUP; do
	duo-get -C -n 100 auth >"$T/sig.out" 2>"$T/sig.err" &
	pid=$!
	sleep 1.7
	t0=$(ms)
	kill -"$s" "$pid"
	wait "$pid"
	rc=$?
	t1=$(ms)
	is "SIG$s: exit 3" "$rc" 3
	if [ $((t1 - t0)) -lt 600 ]; then
		_pass "SIG$s: ended at once ($((t1 - t0)) ms)"
	else
		_fail "SIG$s: took $((t1 - t0)) ms to end"
	fi
	is "SIG$s: the exit line is last, status 3" "$(tail -n 1 "$T/sig.out")" \
	    '{"@duo":"exit","status":3}'
	grepq "SIG$s: says so" '^duo-get: auth: interrupted by signal' \
	    "$T/sig.err"
	upto "$T/sig.out" >"$T/kept"
	n=$(data "$T/kept" | wc -l)
	data "$T/kept" >"$T/got"
	head -n "$n" "$FAKE/data/auth.ndjson" >"$T/want"
	same "SIG$s: the completed pages are written, exactly" "$T/got" \
	    "$T/want"
	if [ "$n" -ge 100 ]; then
		_pass "SIG$s: $n records before the signal"
	else
		_fail "SIG$s: only $n records before the signal"
	fi
	is "SIG$s: nothing but the exit line after the last mark" \
	    "$(($(wc -l <"$T/sig.out") - $(wc -l <"$T/kept")))" 1
done
fake_stop

# A signal during a backoff wait ends it too.
rm -rf "$T/fake"
fake_start --faults 503=1 || exit 1
DUO_RETRY_BASE_MS=1000 duo-get -C auth >"$T/sig.out" 2>"$T/sig.err" &
pid=$!
sleep 1.5
t0=$(ms)
kill -TERM "$pid"
wait "$pid"
rc=$?
t1=$(ms)
is "SIGTERM in a backoff wait: exit 3" "$rc" 3
if [ $((t1 - t0)) -lt 600 ]; then
	_pass "SIGTERM in a backoff wait: at once"
else
	_fail "SIGTERM in a backoff wait: took $((t1 - t0)) ms"
fi
is "SIGTERM in a backoff wait: begin, then the exit line" \
    "$(sed -n '2,$p' "$T/sig.out")" '{"@duo":"exit","status":3}'
fake_stop

# ---- fast, honest failures
rm -rf "$T/fake"
fake_start || exit 1
sed 's/^host *=.*/host = 127.0.0.1:1/' "$FAKE/duo.conf" >"$T/closed.conf"
chmod 600 "$T/closed.conf"
t0=$(ms)
status "closed port: exit 3" 3 duo-get -C -c "$T/closed.conf" auth
t1=$(ms)
if [ $((t1 - t0)) -lt 3000 ]; then
	_pass "closed port: fails fast ($((t1 - t0)) ms)"
else
	_fail "closed port: took $((t1 - t0)) ms"
fi
grepq "closed port: said without -v, naming the host" \
    '^duo-get: auth: cannot connect to 127\.0\.0\.1:1: ' "$T/.err"
is "closed port: one line on stderr" "$(wc -l <"$T/.err")" 1
is "closed port: the exit line, status 3" "$(tail -n 1 "$T/.out")" \
    '{"@duo":"exit","status":3}'
sed 's/^host *=.*/host = no-such-host.invalid/' "$FAKE/duo.conf" \
    >"$T/dns.conf"
chmod 600 "$T/dns.conf"
t0=$(ms)
status "unknown host: exit 3" 3 duo-get -c "$T/dns.conf" auth
t1=$(ms)
grepq "unknown host: check host in duo.conf" \
    '^duo-get: auth: no-such-host\.invalid: host not found \(check host in duo\.conf\)$' \
    "$T/.err"
if [ $((t1 - t0)) -lt 12000 ]; then
	_pass "unknown host: no retry ladder ($((t1 - t0)) ms)"
else
	_fail "unknown host: took $((t1 - t0)) ms"
fi

# ---- -v: the position moves during one v2 window, with rate and ETA
status "-v backfill: exit 0" 0 duo-get -v -n 100 auth
sed -n 's/^duo-get: auth: page [0-9]*: .*, at \([^,]*\), .*/\1/p' "$T/.err" \
    >"$T/at"
is "-v: one position per page" "$(wc -l <"$T/at")" 26
# (a page inside the fake's burst of 150 records in one ms stays put)
u=$(sort -u "$T/at" | wc -l)
if [ "$u" -ge 24 ]; then
	_pass "-v: the position moves with the pages ($u of 26 differ)"
else
	_fail "-v: the position moves with the pages: only $u of 26 differ"
fi
sort "$T/at" >"$T/at.sorted"
same "-v: positions in order" "$T/at" "$T/at.sorted"
grepq "-v: records per second" \
    '^duo-get: auth: page 2: 100 records \(200 in all\), at 20[0-9-]*T[0-9:]*Z, [0-9]+ records/s' \
    "$T/.err"
grepq "-v: an estimate of the time left" \
    '^duo-get: auth: page 5: .* records/s, about [0-9]+[smhd]' "$T/.err"
last=$(sed -n 's/^duo-get: auth: page 25: .*, at \([^,]*\), .*/\1/p' "$T/.err")
want=$(tail -n 1 "$FAKE/data/auth.ndjson" |
    sed 's/.*"isotimestamp":"\([^".]*\)[^"]*".*/\1/')Z
want=$(echo "$want" | sed 's/+00:00Z$/Z/')
is "-v: the position is the newest record delivered" "$last" "$want"
finish
