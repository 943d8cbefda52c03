#!/bin/sh
# duo-get: killed with SIGKILL at random moments and resumed from the
# last mark each time (what duo-ckpt does), every record arrives exactly
# once, faults included.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

DUO_RETRY_BASE_MS=1
DUO_RETRY_MAX=30
export DUO_RETRY_BASE_MS DUO_RETRY_MAX

# upto FILE: the lines up to the last control line (what a consumer may
# keep of an interrupted stream).
upto() {
	awk '{ l[NR] = $0 } /^\{"@duo":/ { last = NR }
	    END { for (i = 1; i <= last; i++) print l[i] }' "$1"
}

fake_start --seed 11 --records auth=1200,admin=1500,telephony=400 \
    --latency 60 --max-records-per-page admin=100,offline=4 \
    --faults 429=0.05,503=0.03,reset=0.03,cut=0.03,badjson=0.03 || exit 1
seed=$$
for k in auth admin telephony activity offline trustmonitor; do
	case $k in
	admin) n=100 ;;
	offline) n=4 ;;
	*) n=40 ;;
	esac
	cur='{}'
	: >"$T/acc"
	runs=0
	kills=0
	while [ "$runs" -lt 200 ]; do
		runs=$((runs + 1))
		printf '%s\n' "$cur" >"$T/cur"
		duo-get -C -n "$n" -s - "$k" <"$T/cur" >"$T/part" 2>"$T/err" &
		pid=$!
		d=$(awk -v s="$seed$runs" 'BEGIN { srand(s); printf "%.3f", rand() * 0.3 }')
		sleep "$d"
		kill -KILL "$pid" 2>/dev/null && kills=$((kills + 1))
		wait "$pid" 2>/dev/null
		upto "$T/part" >"$T/kept"
		grep -v '^{"@duo":' "$T/kept" >>"$T/acc"
		last=$(grep -v '^{"@duo":"exit",' "$T/kept" | grep '^{"@duo":' |
		    tail -n 1)
		case $last in
		'{"@duo":"end",'*) break ;;
		'{"@duo":"mark",'*|'{"@duo":"begin",'*)
			c=$(printf '%s\n' "$last" |
			    sed -n 's/^{"@duo":"[a-z]*",.*"cursor":\(.*\)}$/\1/p' |
			    sed 's/,"n":[0-9]*$//')
			[ -n "$c" ] && cur=$c
			;;
		esac
	done
	LC_ALL=C sort "$T/acc" >"$T/got"
	LC_ALL=C sort "$FAKE/data/$k.ndjson" >"$T/want"
	same "$k: $runs runs, $kills killed: every record exactly once" \
	    "$T/got" "$T/want"
	if [ "$kills" -gt 0 ]; then
		_pass "$k: some runs were killed"
	else
		_fail "$k: no run was killed: the test proves nothing"
	fi
done
finish
