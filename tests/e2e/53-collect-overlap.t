#!/bin/sh
# Two duo-collect runs started at the same time for the same kinds: for
# each kind one publishes, the other exits 1 and publishes nothing; no
# record is repeated.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

nfiles() {	# nfiles DIR: how many entries, dot files too
	find "$1" -mindepth 1 -maxdepth 1 | wc -l | tr -d ' '
}

fake_start --records auth=600,telephony=300 --latency 40 ||
    { echo "Bail out! no fake"; exit 1; }
cd "$T" || exit 1

# With two kinds per run each run may win one kind; the guarantee is
# per kind, so each round runs one kind.
round=0
for k in auth telephony auth telephony; do
	round=$((round + 1))
	duo-collect -d st -o out -f json "$k" >a.out 2>a.err &
	a=$!
	duo-collect -d st -o out -f json "$k" >b.out 2>b.err &
	b=$!
	wait "$a"
	ra=$?
	wait "$b"
	rb=$?
	is "round $round ($k): one run succeeds, the other exits 1" \
	    "$(printf '%s\n' "$ra" "$rb" | sort | tr '\n' ' ')" "0 1 "
	if [ "$ra" -eq 1 ]; then e=a.err; else e=b.err; fi
	grepq "round $round: the loser says why" \
	    'another run holds the lock|stale cursor' "$e"
	[ "$round" -eq 2 ] && cp -R out out2
done
is "the first rounds published one file per kind" "$(nfiles out2)" 2
for k in auth telephony; do
	cat out/duo-$k-*.log | sed 's/^{"duo_time":"[^"]*",/{/' | sort >got
	sort "$FAKE/data/$k.ndjson" >want
	same "$k: every record exactly once" got want
done
status "ledgers whole" 0 duo-ckpt -d st status
grepq "auth counted once" '^auth .* records=600 ' "$T/.out"
grepq "telephony counted once" '^telephony .* records=300 ' "$T/.out"
finish
