#!/bin/sh
# One commit per kind at a time: a second run exits 1 at once and
# publishes nothing; racing runs publish once between them.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

nfiles() {	# nfiles DIR: how many entries, dot files too
	find "$1" -mindepth 1 -maxdepth 1 | wc -l | tr -d ' '
}

cd "$T" || exit 1

b='{"@duo":"begin","v":1,"kind":"auth","host":"h","cursor":{}}'
e='{"@duo":"end","cursor":{"c":1},"n":2}'
printf '%s\nr1\nr2\n%s\n' "$b" "$e" >s

# A commit that holds the lock: its stream stays open on a fifo.
mkfifo fifo
duo-ckpt commit auth <fifo >hold.out 2>hold.err &
hold=$!
exec 3>fifo
printf '%s\nr1\n' "$b" >&3
i=0
until grep -q 'another run' get.err 2>/dev/null; do
	duo-ckpt get auth >/dev/null 2>get.err
	i=$((i + 1))
	[ "$i" -gt 100 ] && break
	sleep 0.05
done
grepq "get refuses while a commit holds the lock" \
    '^duo-ckpt: auth: another run holds the lock .*auth.lock; nothing done$' \
    get.err
start=$(date +%s)
status "second commit exits 1" 1 duo-ckpt commit auth <s
grepq "second commit says why" 'another run holds the lock' "$T/.err"
ok "second commit did not wait" test "$(($(date +%s) - start))" -le 2
ok "nothing published by it" test ! -e out/duo-auth-*.log
status "set exits 1 too" 1 duo-ckpt set auth '{"c":5}'
# The holder finishes.
printf 'r2\n%s\n' "$e" >&3
exec 3>&-
wait "$hold"
is "the holder publishes" "$?" 0
is "its records" "$(cat out/*.log | tr '\n' ' ')" "r1 r2 "
status "lock released" 0 duo-ckpt get auth
is "cursor" "$(cat "$T/.out")" '{"c":1}'

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
	1)	lost=$((lost + 1)) ;;
	esac
done
is "one run won" "$won" 1
is "seven exited 1" "$lost" 7
is "published once" "$(cat out/*.log | tr '\n' ' ')" "r1 r2 "
is "one file" "$(nfiles out)" 1
losers() {
	for f in race*.err; do
		[ -s "$f" ] || continue
		grep -Eq 'another run holds the lock|stale cursor' "$f" ||
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
printf '%s\n' '{"@duo":"begin","v":1,"kind":"auth","host":"h","cursor":{"c":1}}' >&3
sleep 0.2
printf '%s\n%s\n' '{"@duo":"begin","v":1,"kind":"admin","host":"h","cursor":{}}' \
    '{"@duo":"end","cursor":{"a":1},"n":0}' >s2
status "another kind commits meanwhile" 0 duo-ckpt commit admin <s2
printf '%s\n' '{"@duo":"end","cursor":{"c":2},"n":0}' >&3
exec 3>&-
wait "$hold"
is "and the held one finishes" "$?" 0
finish
