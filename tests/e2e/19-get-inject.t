#!/bin/sh
# A hostile or broken Duo response cannot act on the stream: a page
# holding a record whose compact text starts with {"@duo": (the fake's
# inject fault: a mark moving the cursor to 2100 first in the page, a
# begin of another kind last) is refused by duo-get as a whole; through
# duo-get -C | duo-fmt | duo-ckpt the cursor stays at the last real mark
# and nothing of that page is published; without -C the begin cannot
# relabel later records.  Also: durations too large for 64 bits are a
# usage error, not an overflow.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

cd "$T" || exit 1
CTL='{"@duo":'

# run: duo-get -C | duo-fmt | duo-ckpt commit from the stored cursor,
# each stage's status in rc.get, rc.fmt, rc.ckpt.
run() {
	cur=$(duo-ckpt -d st get auth) || return 1
	{ duo-get -C -n 10 -s "$cur" -S 1d auth 2>get.err; echo $? >rc.get; } |
	    { duo-fmt -f json 2>fmt.err; echo $? >rc.fmt; } |
	    { duo-ckpt -d st commit -o out auth 2>ckpt.err; echo $? >rc.ckpt; }
}

# The third request is answered with an injected page.
fake_start --records auth=30 --faults inject@3 || { _fail "fake starts"; finish; }
mkdir out
run
is "duo-get refuses the injected page: exit 1" "$(cat rc.get)" 1
grepq "the message names kind and page" \
    '^duo-get: auth: .*auth page 3: record 1 starts with \{"@duo": .*control line' \
    get.err
is "duo-fmt copied what it got: exit 0" "$(cat rc.fmt)" 0
is "duo-ckpt takes duo-get's status: exit 1" "$(cat rc.ckpt)" 1
cat out/*.log >pub1 2>/dev/null
is "the two good pages are published" "$(wc -l <pub1 | tr -d ' ')" 20
nogrep "no control text published" "$CTL" out/*.log
nogrep "no injected record published" '"@duo"' out/*.log
cur=$(duo-ckpt -d st get auth)
nogrep "the cursor did not jump to 2100" 4102444800000 st/auth.cursor
is "the cursor is the second page's mark" \
    "$(printf '%s\n' "$cur" | jq -c '[.kind, .next[1]]')" \
    "$(sed -n 20p "$FAKE/data/auth.ndjson" | jq -c '["auth", .txid]')"
# Records of the published pages are Duo's, byte for byte (duo-fmt -f
# json adds duo_time first; take it off again).
sed 's/^{"duo_time":"[^"]*",/{/' pub1 >pub1.raw
sed -n 1,20p "$FAKE/data/auth.ndjson" >want1
same "published pages are the first 20 records" pub1.raw want1

# The next run (clean pages) delivers the rest: nothing lost, nothing
# twice.
run
is "next run: duo-get exit 0" "$(cat rc.get)" 0
is "next run: duo-ckpt exit 0" "$(cat rc.ckpt)" 0
cat out/*.log | sed 's/^{"duo_time":"[^"]*",/{/' >puball
same "every record exactly once over both runs" puball "$FAKE/data/auth.ndjson"
fake_stop

# Without -C: the injected begin (last in page 2) must not relabel the
# records of page 3 as another kind: the page is refused, duo-get stops.
# shellcheck disable=SC2034	# read by fake_start in lib.sh
FAKE_DIR_OVERRIDE=$T/fake2
fake_start --records auth=30 --faults inject@2 || { _fail "fake 2 starts"; finish; }
duo-get -n 10 -S 1d auth >plain.out 2>plain.err
is "duo-get auth (no -C): exit 1" "$?" 1
grepq "no -C: the message names kind and page" 'auth page 2: record 1 ' \
    plain.err
nogrep "no -C: no control text written" "$CTL" plain.out
duo-fmt -f mpe <plain.out >plain.fmt 2>plain.fmt.err
is "no -C: duo-fmt exit 0" "$?" 0
is "no -C: only page 1 formatted" "$(grep -c ' DUO AUTH |' plain.fmt)" 10
nogrep "no -C: nothing relabelled" " DUO ADMIN " plain.fmt
is "no -C: nothing else" "$(wc -l <plain.fmt | tr -d ' ')" 10
fake_stop

# Durations beyond 64-bit milliseconds: a clean usage error (UBSan
# found the overflow here), whatever the option.
for o in -S -l -U; do
	status "$o 99999999999w: exit 2" 2 duo-get "$o" 99999999999w auth
	grepq "$o 99999999999w: says why" "^duo-get: $o: duration too long" \
	    "$T/.err"
done
status "-S 30500568904w (product wraps negative): exit 2" 2 \
    duo-get -S 30500568904w auth
finish
