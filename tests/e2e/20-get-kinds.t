#!/bin/sh
# duo-get: every kind drains exactly its data, in Duo's order, with
# correct control lines; a second run from the end cursor adds nothing.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

# data FILE: the data lines of a duo-get stream.
data() {
	grep -v '^{"@duo":' "$1"
}

# ctlcheck FILE: "end" or "noend" when begin is first, every n counts
# the data lines since the previous control line, nothing but the exit
# line follows end and the exit line is last; else the reason.
ctlcheck() {
	awk '
	NR == 1 { if ($0 !~ /^\{"@duo":"begin","v":1,/) { print "no begin";
		bad = 1; exit } next }
	exited { print "line after the exit line"; bad = 1; exit }
	/^\{"@duo":"exit","status":[0-3](,"more":true)?\}$/ { exited = 1; next }
	ended { print "line after end"; bad = 1; exit }
	/^\{"@duo":/ {
		if (!match($0, /,"n":[0-9]+\}$/)) { print "no n: " $0;
			bad = 1; exit }
		n = substr($0, RSTART + 5, RLENGTH - 6) + 0
		if (n != c) { print "n " n " != " c " at line " NR; bad = 1;
			exit }
		c = 0
		if ($0 ~ /^\{"@duo":"end",/) ended = 1
		next
	}
	{ c++ }
	END { if (bad) exit
		if (!exited) print "no exit line"
		else print (ended ? "end" : "noend") }' "$1"
}

# lastcursor FILE: the cursor of the last mark or end.
lastcursor() {
	sed -n 's/^{"@duo":"[a-z]*","cursor":\(.*\),"n":[0-9]*}$/\1/p' "$1" |
	    tail -n 1
}

fake_start --max-records-per-page admin=50,offline=7 || exit 1

for k in auth admin telephony activity offline trustmonitor; do
	case $k in
	admin) n=50 ;;
	offline) n=7 ;;
	*) n=90 ;;
	esac
	: >"$FAKE/requests.log"
	status "$k: exit 0" 0 duo-get -C -n "$n" "$k"
	cp "$T/.out" "$T/$k.out"
	data "$T/$k.out" >"$T/$k.data"
	LC_ALL=C sort "$T/$k.data" >"$T/$k.sorted"
	LC_ALL=C sort "$FAKE/data/$k.ndjson" >"$T/$k.want"
	same "$k: the multiset of records is the data" "$T/$k.sorted" \
	    "$T/$k.want"
	same "$k: in Duo's order, byte for byte" "$T/$k.data" \
	    "$FAKE/data/$k.ndjson"
	is "$k: control lines count right and end with end" \
	    "$(ctlcheck "$T/$k.out")" end
	is "$k: begin names kind, host and the start cursor" \
	    "$(head -n 1 "$T/$k.out")" \
	    "{\"@duo\":\"begin\",\"v\":1,\"kind\":\"$k\",\"host\":\"localhost:$FAKE_PORT\",\"cursor\":{}}"
	marks=$(grep -c '^{"@duo":"mark"' "$T/$k.out")
	reqs=$(wc -l <"$FAKE/requests.log")
	conns=$(sed 's/.*"conn": *\([0-9]*\).*/\1/' "$FAKE/requests.log" |
	    sort -u | wc -l)
	is "$k: one mark per page but the last" "$marks" $((reqs - 1))
	is "$k: one connection (one TLS handshake) for $reqs requests" \
	    "$conns" 1
	case $k in
	admin|offline) ;;
	*)
		# v2: full pages of n, plus one empty page when the
		# count divides (Duo's next_offset is set on full pages).
		recs=$(wc -l <"$FAKE/data/$k.ndjson")
		is "$k: requests made = the minimum" "$reqs" \
		    $((recs / n + 1))
		;;
	esac

	# The end cursor resumes to nothing new.
	cur=$(lastcursor "$T/$k.out")
	status "$k: rerun from the end cursor: exit 0" 0 \
	    duo-get -C -s "$cur" "$k"
	is "$k: rerun delivers nothing" "$(data "$T/.out" | wc -l)" 0
	is "$k: rerun begins with the cursor it was given" \
	    "$(head -n 1 "$T/.out" | sed 's/.*"cursor":\(.*\)}$/\1/')" "$cur"
	is "$k: rerun ends at once" "$(ctlcheck "$T/.out")" end
done

# -s - reads the cursor from stdin (duo-ckpt get KIND | duo-get -s -).
cur=$(lastcursor "$T/auth.out")
printf '%s\n' "$cur" >"$T/cur"
# shellcheck disable=SC2016
status "-s - reads the cursor from stdin" 0 sh -c \
    'duo-get -C -s - auth <"$1"' sh "$T/cur"
is "-s -: begin carries that cursor" \
    "$(head -n 1 "$T/.out" | sed 's/.*"cursor":\(.*\)}$/\1/')" "$cur"
status "-s - with nothing on stdin: exit 2" 2 sh -c \
    'duo-get -s - auth </dev/null'

# Without -C: the same records and no control line.
status "auth without -C: exit 0" 0 duo-get auth
same "auth without -C: only the records" "$T/.out" "$FAKE/data/auth.ndjson"
is "nothing on stderr without -v when it is not a terminal" \
    "$(wc -c <"$T/.err")" 0

# -v reports pages on stderr.
status "auth -v: exit 0" 0 duo-get -v -n 1000 auth
grepq "-v reports pages and records" \
    '^duo-get: auth: page 3: 500 records \(2500 in all\)' "$T/.err"
grepq "-v reports the totals" \
    '^duo-get: auth: done: 3 pages, 2500 records, 3 requests, 0 rate limited$' \
    "$T/.err"
# On a terminal: a one-line progress display, rewritten with CR.
if command -v script >/dev/null 2>&1; then
	script -qc "duo-get -n 1000 auth 2>&1 >/dev/null" /dev/null \
	    >"$T/tty" 2>&1
	tr '\r' '\n' <"$T/tty" >"$T/ttylines"
	grepq "terminal: progress line" \
	    'duo-get: auth: 3 pages, 2500 records, at ' "$T/ttylines"
	is "terminal: one line, ended once" "$(grep -c . "$T/tty")" 1
else
	skip "terminal progress" "script(1) is missing"
	skip "terminal progress, one line" "script(1) is missing"
fi
# The request date is UTC whatever the local zone (a host in New York or
# Kolkata must not sign a date hours off Duo's clock).
for z in America/New_York Asia/Kolkata Pacific/Chatham; do
	status "TZ=$z: requests accepted, exit 0" 0 env TZ=$z duo-get auth
	same "TZ=$z: the same records" "$T/.out" "$FAKE/data/auth.ndjson"
done
finish
