#!/bin/sh
# A wrong host fails the whole duo-collect run fast: a closed local port
# and an unresolvable name (nonexistent.invalid) each end the run, all
# four default kinds, within 30 s of real time, with exit 3, one line
# from duo-get naming the host, one line from duo-collect saying it did
# not try the other kinds, and no misleading message from duo-ckpt; the
# health line (mpe) is still published: it is the heartbeat that tells
# the SIEM the collector runs but fails.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

fake_start --records auth=10 || { echo "Bail out! no fake"; exit 1; }
cd "$T" || exit 1
# A port nobody listens on: bind one, note it, close it.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
mkconf() {	# mkconf FILE HOST
	sed "s/^host *=.*/host = $2/" "$DUO_CONF" >"$1"
	chmod 600 "$1"
}
mkconf closed.conf "127.0.0.1:$port"
mkconf nodns.conf nonexistent.invalid
for c in closed nodns; do
	t0=$(date +%s)
	status "$c: exit 3" 3 duo-collect -c "$c.conf" -d "st-$c" -o "out-$c"
	t1=$(date +%s)
	cp "$T/.err" "$c.err"
	ok "$c: within 30 s ($((t1 - t0)) s)" test $((t1 - t0)) -le 30
	case $c in
	closed)	host="127.0.0.1:$port" ;;
	*)	host=nonexistent.invalid ;;
	esac
	grepq "$c: duo-get names the host" "^duo-get: admin: .*$host" "$c.err"
	grepq "$c: the run stops after the first kind" \
	    '^duo-collect: admin: no progress; not trying telephony activity auth$' "$c.err"
	nogrep "$c: no other kind tried" "duo-get: auth" "$c.err"
	nogrep "$c: no misleading end-line message" "end line" "$c.err"
	nogrep "$c: nor an exit-line one" "without an exit line" "$c.err"
	cat "out-$c"/duo-*.log >"$c.out" 2>/dev/null
	grepq "$c: a health line says it failed" \
	    ' DUO STATUS \|utc=[^|]*\|kind=admin\|result=temp\|status=3\|records=0\|' \
	    "$c.out"
	is "$c: nothing else published" "$(grep -cv ' DUO STATUS ' "$c.out")" 0
	n=$(grep -c . "$c.err")
	ok "$c: a few lines, not a ladder ($n)" test "$n" -le 4
	diag "$c.err"
done
grepq "DNS failure points at duo.conf" 'check host in duo.conf' nodns.err
finish
