#!/bin/sh
# One commit per kind at a time: a second run exits 3 ("busy") at once
# and publishes nothing; racing runs publish once between them.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

nfiles() {	# nfiles DIR: how many entries, dot files too, but our locks
	find "$1" -mindepth 1 -maxdepth 1 ! -name '.duo-*.lock' | wc -l | tr -d ' '
}

cd "$T" || exit 1

b='{"@duo":"begin","v":1,"kind":"auth","host":"h","cursor":{}}'
e='{"@duo":"end","cursor":{"kind":"auth","min":1},"n":2}'
x='{"@duo":"exit","status":0}'
printf '%s\nr1\nr2\n%s\n%s\n' "$b" "$e" "$x" >s

# A commit that holds the lock: its stream stays open on a fifo.
mkfifo fifo
duo-ckpt commit auth <fifo >hold.out 2>hold.err &
hold=$!
exec 3>fifo
printf '%s\nr1\n' "$b" >&3
i=0
until grep -q 'busy' get.err 2>/dev/null; do
	duo-ckpt get auth >/dev/null 2>get.err
	i=$((i + 1))
	[ "$i" -gt 100 ] && break
	sleep 0.05
done
grepq "get refuses while a commit holds the lock" \
    '^duo-ckpt: auth: busy: another run holds auth\.lock$' \
    get.err
start=$(date +%s)
status "second commit exits 3" 3 duo-ckpt commit auth <s
grepq "second commit says why" \
    '^duo-ckpt: auth: busy: another run holds auth\.lock$' "$T/.err"
ok "second commit did not wait" test "$(($(date +%s) - start))" -le 2
ok "nothing published by it" test ! -e out/duo-auth-*.log
status "set exits 3 too" 3 duo-ckpt set auth '{"kind":"auth","min":5}'
# The holder finishes.
printf 'r2\n%s\n%s\n' "$e" "$x" >&3
exec 3>&-
wait "$hold"
is "the holder publishes" "$?" 0
is "its records" "$(cat out/*.log | tr '\n' ' ')" "r1 r2 "
status "lock released" 0 duo-ckpt get auth
is "cursor" "$(cat "$T/.out")" '{"kind":"auth","min":1}'

# Eight commits of the same stream at once: exactly one wins.
rm -rf state out
pids=
for i in 1 2 3 4 5 6 7 8; do
	duo-ckpt commit auth <s >/dev/null 2>"race$i.err" &
	pids="$pids $!"
done
won=0
lost=0
for p in $pids; do
	wait "$p"
	case $? in
	0)	won=$((won + 1)) ;;
	1|3)	lost=$((lost + 1)) ;;
	esac
done
is "one run won" "$won" 1
is "seven exited 3 (busy) or 1 (stale)" "$lost" 7
is "published once" "$(cat out/*.log | tr '\n' ' ')" "r1 r2 "
is "one file" "$(nfiles out)" 1
losers() {
	for f in race*.err; do
		[ -s "$f" ] || continue
		grep -Eq 'busy: another run holds auth.lock|stale cursor' "$f" ||
		    return 1
	done
}
ok "losers say lock or stale" losers
status "ledger whole" 0 duo-ckpt status auth
grepq "one commit in the ledger" 'commits=1 records=2 files=1' "$T/.out"

# Different kinds do not block each other.
mkfifo fifo2
duo-ckpt commit auth <fifo2 >/dev/null 2>&1 &
hold=$!
exec 3>fifo2
printf '%s\n' '{"@duo":"begin","v":1,"kind":"auth","host":"h","cursor":{"kind":"auth","min":1}}' >&3
sleep 0.2
printf '%s\n%s\n%s\n' '{"@duo":"begin","v":1,"kind":"admin","host":"h","cursor":{}}' \
    '{"@duo":"end","cursor":{"kind":"admin","sec":1},"n":0}' "$x" >s2
status "another kind commits meanwhile" 0 duo-ckpt commit admin <s2
printf '%s\n%s\n' '{"@duo":"end","cursor":{"kind":"auth","min":2},"n":0}' "$x" >&3
exec 3>&-
wait "$hold"
is "and the held one finishes" "$?" 0
finish
