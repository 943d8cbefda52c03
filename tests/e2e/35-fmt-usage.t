#!/bin/sh
# duo-fmt: options, usage errors, missing files, write errors.
. "$(dirname "$0")/lib.sh"
FX=$TOP/tests/fixtures/fmt
USAGE='usage: duo-fmt [-f mpe|json|kv|cef|legacy] [-k kind] [-z zone] [file ...]'

status "bad option: exit 2" 2 duo-fmt -x
is "bad option: usage" "$(tail -n 1 "$T/.err")" "$USAGE"
status "unknown format: exit 2" 2 duo-fmt -f xml
grepq "unknown format: message" '^duo-fmt: xml: unknown format$' "$T/.err"
status "unknown kind: exit 2" 2 duo-fmt -k bogus
grepq "unknown kind: message" '^duo-fmt: bogus: unknown kind$' "$T/.err"
status "unknown zone: exit 2" 2 duo-fmt -z ../../etc/passwd
status "zone that is a directory: exit 2" 2 duo-fmt -z America
is "usage error: nothing on stdout" "$(cat "$T/.out")" ""

status "missing file: exit 1" 1 duo-fmt -z Europe/Berlin "$T/nope" \
    "$FX/telephony.ndjson"
grepq "missing file: message" "^duo-fmt: $T/nope: No such file or directory\$" "$T/.err"
same "missing file: the other files still formatted" "$T/.out" \
    "$FX/golden/telephony.mpe"

if [ -w /dev/full ]; then
	duo-fmt "$FX/auth.ndjson" >/dev/full 2>"$T/err"
	is "write error: exit 1" "$?" 1
	grepq "write error: message" '^duo-fmt: stdout: write error: ' "$T/err"
else
	skip "write error" "no /dev/full"
fi

status "empty input: exit 0" 0 duo-fmt </dev/null
is "empty input: no output" "$(wc -c <"$T/.out" | tr -d ' ')" 0
# -k applies when the fields would tell another kind (or none)
printf '{"x":1,"timestamp":1700000000}\n' >"$T/in"
status "-k maps a record the fields cannot" 0 duo-fmt -z utc -k offline "$T/in"
is "-k offline line" "$(cat "$T/.out")" \
    "2023-11-14 22:13:20 DUO OFFLINE |utc=2023-11-14T22:13:20Z|action=|user=|object=|hostname=|factor=|user_agent=|description=|"
# constant memory: 50,000 records through a pipe, RSS stays small
python3 -c '
import sys
r = open(sys.argv[1]).readline()
sys.stdout.write(r * 50000)' "$FX/auth.ndjson" >"$T/many"
if [ -x /usr/bin/time ]; then
	/usr/bin/time -f '%M' duo-fmt <"$T/many" >"$T/o" 2>"$T/rss"
	is "50000 records: 50000 lines" "$(wc -l <"$T/o" | tr -d ' ')" 50000
	rss=$(tail -n 1 "$T/rss")
	lim=64000
	case $BIN in */san) lim=400000 ;; esac
	if [ "$rss" -lt "$lim" ]; then
		_pass "memory flat (max RSS ${rss} KiB)"
	else
		_fail "memory flat (max RSS ${rss} KiB)"
	fi
else
	skip "memory" "no /usr/bin/time"
fi
# signals: with no control line seen, stop after the line at hand, exit 3
good=$(sed -n 1p "$FX/telephony.ndjson")
mkfifo "$T/fifo"
duo-fmt -z utc <"$T/fifo" >"$T/so" 2>"$T/se" &
pid=$!
exec 3>"$T/fifo"
printf '%s\n' "$good" >&3
sleep 0.5
kill -TERM "$pid"
wait "$pid"
is "signal, no control line: exit 3" "$?" 3
exec 3>&-
is "signal, no control line: the line read is written" \
    "$(wc -l <"$T/so" | tr -d ' ')" 1
grepq "signal: message" '^duo-fmt: stopped by signal 15$' "$T/se"
# after a control line: go on copying until the upstream closes
duo-fmt -z utc <"$T/fifo" >"$T/so" 2>"$T/se" &
pid=$!
exec 3>"$T/fifo"
printf '{"@duo":"begin","v":1,"kind":"telephony","host":"h","cursor":{}}\n%s\n' \
    "$good" >&3
sleep 0.5
kill -TERM "$pid"
sleep 0.3
printf '%s\n{"@duo":"end","cursor":{},"n":2}\n{"@duo":"exit","status":0}\n' \
    "$good" >&3
exec 3>&-
wait "$pid"
is "signal in a stream: exit 3" "$?" 3
is "signal in a stream: everything up to the end copied" \
    "$(wc -l <"$T/so" | tr -d ' ')" 5
is "signal in a stream: the exit line last" "$(tail -n 1 "$T/so")" \
    '{"@duo":"exit","status":0}'
# ... but for at most 5 s more
duo-fmt -z utc <"$T/fifo" >"$T/so" 2>"$T/se" &
pid=$!
(
	printf '{"@duo":"begin","v":1,"kind":"telephony","host":"h","cursor":{}}\n'
	i=0
	while [ "$i" -lt 20 ] && kill -0 "$pid" 2>/dev/null; do
		printf '%s\n' "$good"
		sleep 0.5
		i=$((i + 1))
	done
) >"$T/fifo" 2>/dev/null &
wpid=$!
sleep 0.5
t0=$(date +%s)
kill -TERM "$pid"
wait "$pid"
rc=$?
t1=$(date +%s)
wait "$wpid"
is "signal, upstream goes on: exit 3" "$rc" 3
if [ $((t1 - t0)) -ge 4 ] && [ $((t1 - t0)) -le 7 ]; then
	_pass "signal, upstream goes on: stopped after the 5 s grace ($((t1 - t0)) s)"
else
	_fail "signal, upstream goes on: stopped after $((t1 - t0)) s, not about 5"
fi
finish
