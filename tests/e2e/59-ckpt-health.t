#!/bin/sh
# The admin's view (issue 10): commit -H writes one health line per run
# into the output, exactly once even across kills; status -L exits 1
# when a kind lags or its last run failed; the ledger stays bounded
# (10,000 commits' worth compacted) and status reads a bounded amount.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

cd "$T" || exit 1
c() {
	printf '{"kind":"auth","min":%s}' "$1"
}
stream() {	# stream FROM TO [UTC]
	if [ "$1" -eq 0 ]; then _f='{}'; else _f=$(c "$1"); fi
	printf '{"@duo":"begin","v":1,"kind":"auth","host":"api-x.example","cursor":%s}\n' "$_f"
	_i=$1
	while [ "$_i" -lt "$2" ]; do
		_i=$((_i + 1))
		echo "2024-05-01 18:45:0$((_i % 10)) DUO AUTH |utc=${3:-2024-05-01T18:45:07Z}|n=$_i|"
	done
	printf '{"@duo":"end","cursor":%s,"n":%s}\n{"@duo":"exit","status":0}\n' \
	    "$(c "$2")" "$(($2 - $1))"
}
# The layout CONTRACT.md fixes (the MPE rule matches it).
RE='^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} DUO STATUS \|utc=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\|kind=auth\|result=(ok|more|temp|fail|usage)\|status=[0-3]\|records=[0-9]+\|lag=[0-9]*\|newest=([0-9T:Z-]{20})?\|more=[01]\|host=[^|]*\|$'

# ---- -H ----
stream 0 3 | TZ=Europe/Berlin duo-ckpt commit -H -o out auth
is "commit -H exits 0" "$?" 0
tail -n 1 out/*.log >h1
grepq "the health line has the fixed layout" "$RE" h1
grepq "records, result, host" \
    '\|result=ok\|status=0\|records=3\|lag=[0-9]+\|newest=2024-05-01T18:45:07Z\|more=0\|host=api-x.example\|$' h1
utc=$(sed 's/.*|utc=\([^|]*\)|.*/\1/' h1)
loc=$(cut -c1-19 h1)
want=$(TZ=Europe/Berlin date -d "$utc" '+%Y-%m-%d %H:%M:%S')
is "its first field is local time (Europe/Berlin)" "$loc" "$want"
is "three records and the health line" "$(cat out/*.log | wc -l | tr -d ' ')" 4
grepq "the ledger counts records only" '"n":3,' state/auth.ledger

# A run with nothing new still writes one: the heartbeat.
stream 3 3 | duo-ckpt commit -H -o out auth
is "an empty run exits 0" "$?" 0
is "a second file" "$(find out -name '*.log' | wc -l | tr -d ' ')" 2
f=$(find out -name '*-000002.log')
is "holding only the health line" "$(wc -l <"$f" | tr -d ' ')" 1
grepq "records=0, the old newest kept" \
    '\|records=0\|lag=[0-9]+\|newest=2024-05-01T18:45:07Z\|' "$f"
# A cut stream: result=temp.
printf '{"@duo":"begin","v":1,"kind":"auth","host":"api-x.example","cursor":%s}\n' \
    "$(c 3)" | duo-ckpt commit -H -a sink.log auth 2>/dev/null
is "a cut stream exits 3" "$?" 3
grepq "and its health line says temp" '\|result=temp\|status=3\|' sink.log
# more: a budget stop.
{ printf '{"@duo":"begin","v":1,"kind":"auth","host":"api-x.example","cursor":%s}\n' "$(c 3)"
  echo x; printf '{"@duo":"mark","cursor":%s,"n":1}\n' "$(c 4)"
  printf '{"@duo":"exit","status":0,"more":true}\n'; } |
    duo-ckpt commit -H -a sink.log auth
is "a budget stop exits 0" "$?" 0
grepq "result=more, more=1" '\|result=more\|status=0\|records=1\|.*\|more=1\|' \
    sink.log

# Killed at every step: the health line is there exactly once per run.
for n in 1 2 3 4 5 6 7 8 9 10; do
	d=k$n
	mkdir "$d"
	stream 0 2 | duo-ckpt -d "$d/st" commit -H -a "$d/sink" auth
	stream 2 4 >"$d/s"
	DUO_CKPT_CRASH_AT=$n duo-ckpt -d "$d/st" commit -H -a "$d/sink" auth \
	    <"$d/s" 2>/dev/null
	duo-ckpt -d "$d/st" get auth >/dev/null 2>&1
	duo-ckpt -d "$d/st" commit -H -a "$d/sink" auth <"$d/s" 2>/dev/null
	is "k$n: two runs, two health lines" \
	    "$(grep -c 'DUO STATUS' "$d/sink")" 2
	is "k$n: four records, once each" \
	    "$(grep -v 'DUO STATUS' "$d/sink" | sort -u | wc -l | tr -d ' ')" 4
	is "k$n: nothing twice" \
	    "$(grep -cv 'DUO STATUS' "$d/sink")" 4
done

# ---- status -L ----
rm -rf state out
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
stream 0 1 "$now" | duo-ckpt commit auth
status "status -L 1h: fresh, exit 0" 0 duo-ckpt status -L 1h
status "status -L 3600 KIND: exit 0" 0 duo-ckpt status -L 3600 auth
sleep 2
status "status -L 1: lagging, exit 1" 1 duo-ckpt status -L 1
grepq "it names the kind and the lag" '^duo-ckpt: auth: lag [0-9]+s exceeds the limit$' "$T/.err"
grepq "the report is printed all the same" '^auth host=' "$T/.out"
status "status without -L: exit 0" 0 duo-ckpt status
# A failed run.
stream 0 1 | duo-ckpt commit auth 2>/dev/null
status "status -L after a failed (stale) run: exit 1" 1 duo-ckpt status -L 1h
grepq "it says the last run failed" 'auth: the last run failed \(status 1\)' \
    "$T/.err"
grepq "status shows result=fail" ' result=fail ' "$T/.out"
stream 1 2 "$now" | duo-ckpt commit auth
status "a good run again: exit 0" 0 duo-ckpt status -L 1h
status "status -L garbage: exit 2" 2 duo-ckpt status -L x

# ---- the ledger stays bounded; status reads a bounded amount ----
rm -rf state out
mkdir state
awk -v n=10000 'BEGIN {
	for (i = 1; i <= n; i++) {
		from = i == 1 ? "{}" : "{\"kind\":\"auth\",\"min\":" (i - 1) "}"
		printf "{\"v\":1,\"op\":\"commit\",\"seq\":%d,\"time\":\"2024-05-01T18:45:07Z\",\"from\":%s,\"to\":{\"kind\":\"auth\",\"min\":%d},\"n\":2,\"mode\":\"file\",\"file\":\"/x/duo-auth-20240501T184507Z-%06d.log\",\"offset\":0,\"bytes\":20,\"sha256\":\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\",\"newest\":1714589107}\n", i, from, i, i
	}
}' >state/auth.ledger
printf '{"v":1,"seq":10000,"cursor":{"kind":"auth","min":10000},"newest":1714589107}\n' \
    >state/auth.cursor
printf 'api-x.example\n' >state/host
big=$(wc -c <state/auth.ledger | tr -d ' ')
status "status of 10,000 entries before compaction" 0 duo-ckpt status auth
grepq "counts them" 'commits=10000 records=20000 files=10000' "$T/.out"
stream 10000 10001 | duo-ckpt commit auth
is "a commit on it exits 0" "$?" 0
lines=$(wc -l <state/auth.ledger | tr -d ' ')
ok "the ledger was compacted ($lines lines)" test "$lines" -le 1025
small=$(wc -c <state/auth.ledger | tr -d ' ')
echo "# ledger: $big bytes before, $small after"
grepq "one summary line first" '^\{"v":1,"op":"summary","seq":9488,.*"from":\{\},"to":\{"kind":"auth","min":9488\}' state/auth.ledger
status "status after compaction" 0 duo-ckpt status auth
grepq "the totals are kept" 'commits=10001 records=20001 files=10001' "$T/.out"
if command -v strace >/dev/null 2>&1; then
	strace -f -o st.trace -e trace=read,pread64 duo-ckpt status auth \
	    >/dev/null 2>&1
	got=$(awk '/= [0-9]+$/ { n += $NF } END { print n + 0 }' st.trace)
	echo "# status read $got bytes"
	ok "status reads a bounded amount ($got bytes < 1 MB)" \
	    test "$got" -lt 1000000
else
	skip "status reads a bounded amount" "no strace"
fi
# Another 2000 commits' worth keeps it bounded (compaction again).
awk -v n=2000 'BEGIN {
	for (i = 10002; i < 10002 + n; i++)
		printf "{\"v\":1,\"op\":\"commit\",\"seq\":%d,\"time\":\"2024-05-01T18:45:07Z\",\"from\":{\"kind\":\"auth\",\"min\":%d},\"to\":{\"kind\":\"auth\",\"min\":%d},\"n\":1,\"mode\":\"none\",\"file\":null,\"offset\":0,\"bytes\":0,\"sha256\":\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\",\"newest\":null}\n", i, i - 1, i
}' >>state/auth.ledger
printf '{"v":1,"seq":12001,"cursor":{"kind":"auth","min":12001},"newest":1714589107}\n' \
    >state/auth.cursor
stream 12001 12002 | duo-ckpt commit auth
ok "compacted again" test "$(wc -l <state/auth.ledger)" -le 1025
status "status still whole" 0 duo-ckpt status auth
grepq "totals" 'commits=12002 records=22002 files=10002' "$T/.out"
finish
