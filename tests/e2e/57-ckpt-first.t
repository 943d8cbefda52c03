#!/bin/sh
# First commits racing on a new state directory (issue 11): the six
# kinds started together each write host, once, under a temporary name
# of their own; all succeed.  Streams from two hosts racing: one host
# wins the directory, the other's runs are refused, nothing is mixed.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

cd "$T" || exit 1
ROUNDS=${FIRST_ROUNDS:-40}
KINDS="auth admin telephony activity offline trustmonitor"

stream() {	# stream KIND HOST
	case $1 in
	admin|offline)	_c='{"kind":"'$1'","sec":1714500000}' ;;
	*)		_c='{"kind":"'$1'","min":1714500000000}' ;;
	esac
	printf '{"@duo":"begin","v":1,"kind":"%s","host":"%s","cursor":{}}\n' \
	    "$1" "$2"
	echo "$1 from $2"
	printf '{"@duo":"end","cursor":%s,"n":1}\n{"@duo":"exit","status":0}\n' \
	    "$_c"
}
for k in $KINDS; do
	stream "$k" api-a.example >"s-$k-a"
	stream "$k" api-b.example >"s-$k-b"
done

bad=0
r=0
while [ "$r" -lt "$ROUNDS" ]; do
	r=$((r + 1))
	d=r$r
	mkdir "$d"
	pids=
	for k in $KINDS; do
		duo-ckpt -d "$d/st" commit -o "$d/out" "$k" <"s-$k-a" \
		    2>"$d.$k.err" &
		pids="$pids $!"
	done
	for p in $pids; do
		wait "$p" || bad=$((bad + 1))
	done
	[ "$(cat "$d/st/host")" = api-a.example ] || bad=$((bad + 1))
	[ -z "$(find "$d/st" -name '.*.tmp')" ] || bad=$((bad + 1))
done
is "$((ROUNDS * 6)) first commits in $ROUNDS rounds: every one exit 0" "$bad" 0
[ "$bad" -eq 0 ] || for f in ./*.err; do diag "$f"; done
is "every record published" "$(cat r*/out/*.log | wc -l | tr -d ' ')" \
    "$((ROUNDS * 6))"

# Two hosts: one wins, the other's kinds are refused (exit 1).
mixed=0
r=0
while [ "$r" -lt "$((ROUNDS / 4))" ]; do
	r=$((r + 1))
	d=h$r
	mkdir "$d"
	pids=
	for k in $KINDS; do
		if [ "$k" = auth ] || [ "$k" = telephony ] ||
		    [ "$k" = offline ]; then h=a; else h=b; fi
		duo-ckpt -d "$d/st" commit -o "$d/out" "$k" <"s-$k-$h" \
		    2>/dev/null &
		pids="$pids $!"
	done
	for p in $pids; do
		wait "$p"
	done
	win=$(sed 's/api-\(.\).*/\1/' "$d/st/host")
	# Published records all come from the host the directory holds.
	if grep -q "from api-" "$d"/out/*.log 2>/dev/null &&
	    grep -qv "from api-$win" "$d"/out/*.log; then
		mixed=$((mixed + 1))
	fi
done
is "two hosts racing: never both published" "$mixed" 0
finish
