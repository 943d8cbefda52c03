#!/bin/sh
# Overlapping duo-collect runs.  A run started while another one holds a
# kind (its commit has the lock) skips that kind with a notice and exits
# 0: it is not a failure.  Two runs started at the same instant may both
# fetch; then the loser's commit is refused and publishes nothing: busy
# (duo-ckpt exits 3, which duo-collect reports as the same skip, 0), or
# stale cursor (1) when the winner had already committed.  Either way no record is lost or repeated.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

nfiles() {	# nfiles DIR: how many entries, dot files too, but locks
	find "$1" -mindepth 1 -maxdepth 1 ! -name '.duo-*.lock' | wc -l |
	    tr -d ' '
}

fake_start --records auth=600,telephony=300 --latency 40 ||
    { echo "Bail out! no fake"; exit 1; }
cd "$T" || exit 1

# Started together: one run per kind per round.
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
	is "round $round ($k): one run succeeds, the other is skipped or refused" \
	    "$(printf '%s\n' "$ra" "$rb" | sort | tr '\n' ' ' |
	    sed 's/^0 [01] $/ok/')" ok
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

# One run holds auth (slow fake: its commit keeps the lock while it
# fetches); a second run started then skips auth and exits 0.
fake_stop
fake_start --records auth=10000 --latency 700 || exit 1
duo-collect -d st3 -o out3 -f json auth >a.out 2>a.err &
a=$!
i=0
while duo-ckpt -d st3 get auth >/dev/null 2>&1; do
	i=$((i + 1))
	if [ "$i" -gt 200 ]; then
		echo "# the first run never held auth's lock"
		break
	fi
	sleep 0.1
done
status "the second run, while the first holds auth: exit 0" 0 \
    duo-collect -d st3 -o out3 -f json auth
grepq "it says auth is skipped" \
    '^duo-collect: auth: skipped: another run is collecting it$' "$T/.err"
wait "$a"
is "the first run: exit 0" "$?" 0
cat out3/duo-auth-*.log | sed 's/^{"duo_time":"[^"]*",/{/' | sort >got
sort "$FAKE/data/auth.ndjson" >want
same "auth: every record exactly once" got want
finish
