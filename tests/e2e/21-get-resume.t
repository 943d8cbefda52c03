#!/bin/sh
# duo-get: resuming from any mark reproduces exactly the rest of the
# stream; records that become visible late (Duo's settling delay) are
# delivered once, also on v1's boundary second.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

data() {
	grep -v '^{"@duo":' "$1"
}

# cursors FILE: the cursor of every mark and end, one per line.
cursors() {
	sed -n 's/^{"@duo":"[a-z]*","cursor":\(.*\),"n":[0-9]*}$/\1/p' "$1"
}

# rest FILE I: the data lines after the I-th control line but begin.
rest() {
	awk -v i="$2" '/^\{"@duo":/ { c++; next } c > i' "$1"
}

fake_start --records auth=600,telephony=300,activity=300 \
    --max-records-per-page admin=400,offline=10 || exit 1

for k in auth admin telephony activity offline trustmonitor; do
	case $k in
	admin) n=400 ;;
	offline) n=10 ;;
	auth) n=100 ;;
	*) n=50 ;;
	esac
	status "$k: full run" 0 duo-get -C -n "$n" "$k"
	cp "$T/.out" "$T/full"
	cursors "$T/full" >"$T/cursors"
	i=0
	bad=0
	while IFS= read -r cur; do
		i=$((i + 1))
		printf '%s\n' "$cur" | duo-get -C -n "$n" -s - "$k" \
		    >"$T/part" 2>"$T/err" || bad=$((bad + 1))
		data "$T/part" >"$T/got"
		rest "$T/full" "$i" >"$T/want"
		cmp -s "$T/got" "$T/want" || bad=$((bad + 1))
	done <"$T/cursors"
	is "$k: each of $i cursors resumes to exactly the rest" "$bad" 0
	[ "$i" -gt 3 ] || _fail "$k: too few marks to test ($i)"
done
fake_stop

# Late records.  Duo shows a record up to 120 s after its time (the
# settling delay, the default -l).  A first run with the default lag,
# then the same data a little later (fake clock +150 s, same dataset:
# everything visible) and a run with -l 0 from the first run's end
# cursor: together exactly the data.
rm -rf "$T/fake"
fake_start --live 40 --records admin=300,offline=200 \
    --max-records-per-page admin=20,offline=20 || exit 1
for k in auth admin telephony activity offline trustmonitor; do
	status "$k: live, first run" 0 duo-get -C -n 20 "$k"
	cp "$T/.out" "$T/$k.1"
done
# v1 kinds with no lag at all: records of the boundary second that show
# up later are taken by the next run, and nothing is repeated.
for k in admin offline; do
	status "$k: live, run with -l 0" 0 duo-get -C -l 0 -n 20 "$k"
	cp "$T/.out" "$T/$k.l0"
done
visible1=$(data "$T/admin.l0" | wc -l)
fake_stop
fake_start --live 40 --records admin=300,offline=200 \
    --max-records-per-page admin=20,offline=20 --skew 150 || exit 1
for k in auth admin telephony activity offline trustmonitor; do
	cur=$(cursors "$T/$k.1" | tail -n 1)
	status "$k: live, second run from the end cursor" 0 \
	    duo-get -C -l 0 -n 20 -s "$cur" "$k"
	{ data "$T/$k.1"; data "$T/.out"; } | LC_ALL=C sort >"$T/got"
	LC_ALL=C sort "$FAKE/data/$k.ndjson" >"$T/want"
	same "$k: late records delivered once, none lost" "$T/got" "$T/want"
done
for k in admin offline; do
	cur=$(cursors "$T/$k.l0" | tail -n 1)
	status "$k: -l 0, second run" 0 duo-get -C -l 0 -n 20 -s "$cur" "$k"
	{ data "$T/$k.l0"; data "$T/.out"; } | LC_ALL=C sort >"$T/got"
	is "$k: -l 0: no record twice" "$(uniq -d "$T/got" | wc -l)" 0
	LC_ALL=C sort "$FAKE/data/$k.ndjson" >"$T/want"
	is "$k: -l 0: only records of the data" \
	    "$(LC_ALL=C comm -23 "$T/got" "$T/want" | wc -l)" 0
done
all=$(wc -l <"$FAKE/data/admin.ndjson")
if [ "$visible1" -lt "$all" ]; then
	_pass "the -l 0 run saw fewer records than there are"
else
	_fail "the -l 0 run saw all $all records: the test proves nothing"
fi
finish
