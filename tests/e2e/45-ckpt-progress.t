#!/bin/sh
# Progressive publication (-n records, -t seconds) and retention (-k).
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

nfiles() {	# nfiles DIR: how many entries, dot files too, but our locks
	find "$1" -mindepth 1 -maxdepth 1 ! -name '.duo-*.lock' | wc -l | tr -d ' '
}

cd "$T" || exit 1

b='{"@duo":"begin","v":1,"kind":"auth","host":"h","cursor":{}}'
mark() {
	printf '{"@duo":"mark","cursor":{"kind":"auth","min":%s},"n":%s}\n' \
	    "$1" "$2"
}

# -n: published at the first mark after N records, while the stream is
# still open.
mkfifo fifo
duo-ckpt commit -n 3 auth <fifo 2>n.err &
pid=$!
exec 3>fifo
{ echo "$b"; echo r1; echo r2; mark 1 2; } >&3
sleep 0.3
ok "nothing before N records" test ! -e out/duo-auth-*-000001.log
{ echo r3; echo r4; mark 2 2; } >&3
i=0
while ! ls out/duo-auth-*-000001.log >/dev/null 2>&1 &&
    [ "$i" -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
ok "published at the mark after 3 records" test -e out/duo-auth-*-000001.log
is "the first file" "$(cat out/duo-auth-*-000001.log | tr '\n' ' ')" \
    "r1 r2 r3 r4 "
is "cursor stored while the stream runs" "$(cat state/auth.cursor)" \
    '{"v":1,"seq":1,"cursor":{"kind":"auth","min":2}}'
{ echo r5; mark 3 1; echo r6; } >&3
exec 3>&-
wait "$pid"
is "the stream ends without end: exit 3" "$?" 3
is "two files" "$(nfiles out)" 2
is "everything up to the last mark" "$(cat out/*.log | tr '\n' ' ')" \
    "r1 r2 r3 r4 r5 "

# -t: published at the first mark after T seconds.
rm -rf state out
{ echo "$b"; echo r1; mark 1 1; sleep 1.2; echo r2; mark 2 1; echo r3
  printf '{"@duo":"end","cursor":{"kind":"auth","min":3},"n":1}\n'
  printf '{"@duo":"exit","status":0}\n'; } |
    duo-ckpt commit -t 1 auth
is "-t exit" "$?" 0
is "-t: two files" "$(nfiles out)" 2
is "-t: first file up to the late mark" \
    "$(cat out/duo-auth-*-000001.log | tr '\n' ' ')" "r1 r2 "
is "-t: the rest at end" "$(cat out/duo-auth-*-000002.log | tr '\n' ' ')" \
    "r3 "
grepq "-t: ledger chain" \
    '"from":\{"kind":"auth","min":2\},"to":\{"kind":"auth","min":3\},"n":1' \
    state/auth.ledger

# -k: old published files of this kind go; others stay.
rm -rf state out
mkdir out
old=duo-auth-20000101T000000Z-000001.log
touch "out/$old" out/duo-admin-20000101T000000Z-000001.log \
    out/keep-20000101.log out/duo-auth-notadate-1.log
recent=$(date -u +duo-auth-%Y%m%dT%H%M%SZ-000099.log)
touch "out/$recent"
{ echo "$b"; echo r1
  printf '{"@duo":"end","cursor":{"kind":"auth","min":1},"n":1}\n'
  printf '{"@duo":"exit","status":0}\n'; } |
    duo-ckpt commit -k 2 auth
is "-k exit" "$?" 0
ok "old auth file deleted" test ! -e "out/$old"
ok "recent auth file kept" test -e "out/$recent"
ok "other kind kept" test -e out/duo-admin-20000101T000000Z-000001.log
ok "foreign names kept" test -e out/keep-20000101.log
ok "non-matching name kept" test -e out/duo-auth-notadate-1.log
ok "new file there" test -e out/duo-auth-*-000001.log
finish
