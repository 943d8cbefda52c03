#!/bin/sh
# Windows (make check-windows): duo-collect.cmd under wine's cmd.exe,
# installed as an admin would (the .exe files beside it, duo.conf and
# zoneinfo there too) under a path with spaces and parentheses, against
# the fake Duo: all six kinds, runs killed at random (SIGKILL to every
# process of the run: what Task Scheduler's time limit does), then runs
# to completion: every record exactly once, lines LF-terminated UTF-8, no
# CR; the worst status reaches the caller through exit /b.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"
[ -n "${DUO_WINE:-}" ] ||
    { skip "duo-collect.cmd" "not under wine (make check-windows runs it)"; finish; }
command -v setsid >/dev/null 2>&1 || { skip "random kills" "no setsid"; finish; }
seed=${CRASH_SEED:-7}
echo "# seed $seed"
kinds="auth admin telephony activity offline trustmonitor"
fake_start --records auth=400,admin=60,telephony=60,activity=60,offline=30,trustmonitor=30 \
    --latency 20 || { echo "Bail out! no fake"; exit 1; }
cd "$T" || exit 1

# winp PATH: the wine (Z:) name of a Linux path.
winp() {
	printf 'Z:%s' "$1" | tr / '\134'
}

I="$T/Program Files (x86)/duo pipe"
mkdir -p "$I"
for t in duo-get duo-fmt duo-ckpt duo-sign; do
	cp "$DUO_WIN_EXE/$t.exe" "$I/"
done
cp "$TOP/duo-collect.cmd" "$I/"
[ -d "$DUO_WIN_EXE/zoneinfo" ] && cp -R "$DUO_WIN_EXE/zoneinfo" "$I/"
cp "$FAKE/duo.conf" "$I/duo.conf"
chmod 600 "$I/duo.conf"
# cmd /c "C:\path with spaces\duo-collect.cmd" ARGS fails on cmd.exe
# (it strips the first and the last quote of the line); a shortcut or a
# launcher batch, or Task Scheduler's /c ""PATH" ARGS", quotes it
# whole.  wine 8 cannot take the last form as one argument, so the
# runs here go through a one-line launcher, as in 67-collect-cmd.t.
printf '@"%s" %%*\r\n' "$(winp "$I/duo-collect.cmd")" >run.cmd
CMD=$(winp "$T/run.cmd")

collect() {
	# shellcheck disable=SC2086
	"$DUO_WINE" cmd /c "$CMD" -f json "$@" $kinds
}

records() {
	cat "$@" 2>/dev/null | sed 's/^{"duo_time":"[^"]*",/{/'
}

for k in $kinds; do
	cat "$FAKE/data/$k.ndjson"
done | sort >want

delays=$(awk -v s="$seed" 'BEGIN { srand(s);
    for (i = 0; i < 8; i++) printf "%.2f\n", 0.5 + rand() * 4 }')
kills=0
i=0
for delay in $delays; do
	i=$((i + 1))
	# shellcheck disable=SC2086
	setsid "$DUO_WINE" cmd /c "$CMD" -f json $kinds 2>>log &
	pg=$!
	sleep "$delay"
	kill -s KILL -- "-$pg" 2>/dev/null && kills=$((kills + 1))
	wait "$pg" 2>/dev/null
	records "$I"/out/*.log | sort >got
	ok "run $i (killed after ${delay}s): no record twice" test -z \
	    "$(uniq -d got)"
	ok "run $i: only records the fake served" test -z \
	    "$(comm -23 got want)"
done
echo "# $kills of $i runs were killed while running"
ok "some runs were killed mid-way" test "$kills" -ge 3

n=0
until collect -v >>log 2>&1; do
	n=$((n + 1))
	[ "$n" -ge 6 ] && break
done
ok "completes (after $n retries)" test "$n" -lt 6
status "one more run: exit 0" 0 collect
records "$I"/out/*.log | sort >got
same "all six kinds: every record exactly once" got want
is "no CR in any output file" \
    "$(cat "$I"/out/*.log | tr -d -c '\r' | wc -c | tr -d ' ')" 0
for k in $kinds; do
	if ls "$I"/out/duo-"$k"-*.log >/dev/null 2>&1; then
		_pass "$k: published"
	else
		_fail "$k: published"
	fi
done
is "no temporary copy of the data left in state or out" \
    "$(find "$I/state" "$I/out" -name '*.tmp*' 2>/dev/null)" ""
# A killed run cannot remove its cursor file from TEMP: what is left
# there is at most one line, a cursor, never log data.  Removed here, so
# that 67-collect-cmd.t's check of TEMP holds on the next run.
left=$(find "$WINEPREFIX/drive_c" -name 'duo-collect-*.cursor*' 2>/dev/null)
echo "# $(printf '%s' "$left" | grep -c .) cursor files left in TEMP by killed runs"
bad=
for f in $left; do
	[ "$(wc -l <"$f" | tr -d ' ')" -le 1 ] &&
	    { [ ! -s "$f" ] || grep -Eq '^\{(\}|"kind":)' "$f"; } ||
	    bad="$bad $f"
done
is "TEMP: at most a cursor per killed run, no log data" "$bad" ""
for f in $left; do rm -f "$f"; done

# Exit codes through exit /b: 2 for a missing configuration, 2 for a
# usage error; the message on stderr.
status "missing duo.conf: exit 2" 2 "$DUO_WINE" cmd /c "$CMD" \
    -c "$(winp "$T/none.conf")" auth
status "usage error: exit 2" 2 "$DUO_WINE" cmd /c "$CMD" -Q
status "unknown kind: exit 2" 2 "$DUO_WINE" cmd /c "$CMD" nokind
# A server that is down: 3 (temporary), the next run retries.
fake_stop
status "Duo unreachable: exit 3" 3 env DUO_RETRY_BASE_MS=10 "$DUO_WINE" cmd /c \
    "$CMD" -T 20 auth
finish
