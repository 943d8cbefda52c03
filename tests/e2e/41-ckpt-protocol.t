#!/bin/sh
# The stream protocol as duo-ckpt commit enforces it: begin (kind, host,
# cursor: compare-and-swap), marks and their counts, end.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

nfiles() {	# nfiles DIR: how many entries, dot files too, but our locks
	find "$1" -mindepth 1 -maxdepth 1 ! -name '.duo-*.lock' | wc -l | tr -d ' '
}

cd "$T" || exit 1
H=api-x.example

begin() {	# begin CURSOR [KIND [HOST]]
	printf '{"@duo":"begin","v":1,"kind":"%s","host":"%s","cursor":%s}\n' \
	    "${2:-auth}" "${3:-$H}" "$1"
}
mark() {
	printf '{"@duo":"mark","cursor":%s,"n":%s}\n' "$1" "$2"
}
end() {		# end CURSOR N: the end line and duo-get's exit line
	printf '{"@duo":"end","cursor":%s,"n":%s}\n' "$1" "$2"
	printf '{"@duo":"exit","status":0}\n'
}
pub() {		# every published line, in file order
	cat out/*.log 2>/dev/null
}
cursor() {
	duo-ckpt get auth
}

# Start from a known cursor.
{ begin '{}'; echo r0; end '{"kind":"auth","min":0}' 1; } | duo-ckpt commit auth

# No end: exactly what precedes the last mark, exit 3.
{ begin '{"kind":"auth","min":0}'; echo r1; echo r2; mark '{"kind":"auth","min":1}' 2; echo r3
  mark '{"kind":"auth","min":2}' 1; echo r4; echo r5; } >s
status "stream without end exits 3" 3 duo-ckpt commit auth <s
grepq "message says so" \
    '^duo-ckpt: auth: stream ended without an exit line \(upstream killed\?\)$' \
    "$T/.err"
is "published up to the last mark" "$(pub | tr '\n' ' ')" "r0 r1 r2 r3 "
is "cursor of the last mark" "$(cursor)" '{"kind":"auth","min":2}'
nogrep "nothing after the last mark" r4 out/*.log

# A stream cut inside a line.
{ begin '{"kind":"auth","min":2}'; echo r6; mark '{"kind":"auth","min":3}' 1; printf 'r7-cut'; } >s
status "cut line exits 3" 3 duo-ckpt commit auth <s
nogrep "cut line not published" r7 out/*.log
is "cursor at the mark" "$(cursor)" '{"kind":"auth","min":3}'

# A segment whose count is wrong: nothing after the previous mark, exit 1.
{ begin '{"kind":"auth","min":3}'; echo r8; mark '{"kind":"auth","min":4}' 1; echo r9; echo r10
  mark '{"kind":"auth","min":5}' 3; echo r11; end '{"kind":"auth","min":6}' 1; } >s
status "count mismatch exits 1" 1 duo-ckpt commit auth <s
grepq "count message" 'line 6: mark counts 3 lines but 2 came' "$T/.err"
nogrep "r9 not delivered" r9 out/*.log
pub >all
grepq "r8 delivered" '^r8$' all
is "cursor at the previous mark" "$(cursor)" '{"kind":"auth","min":4}'

# Stale cursor, other host, other kind: nothing published, exit 1.
n=$(nfiles out)
{ begin '{"kind":"auth","min":3}'; echo x1; end '{"kind":"auth","min":9}' 1; } >s
status "stale cursor exits 1" 1 duo-ckpt commit auth <s
grepq "stale message" 'stale cursor.*nothing committed' "$T/.err"
{ begin '{"kind":"auth","min":4}' auth api-other.example; echo x2; end '{"kind":"auth","min":9}' 1; } >s
status "other host exits 1" 1 duo-ckpt commit auth <s
grepq "host message" \
    'stream is from host api-other.example but state belongs to api-x.example' \
    "$T/.err"
{ begin '{"kind":"auth","min":4}' admin; echo x3; end '{"kind":"auth","min":9}' 1; } >s
status "other kind exits 1" 1 duo-ckpt commit auth <s
grepq "kind message" 'stream is for kind admin, not auth' "$T/.err"
{ begin '{"kind":"auth","min":4}' auth API-X.EXAMPLE; end '{"kind":"auth","min":5}' 0; } >s
status "host compares case-insensitively" 0 duo-ckpt commit auth <s
is "nothing published by the refusals" "$(nfiles out)" "$n"
nogrep "no x lines" x out/*.log
is "cursor unchanged by refusals" "$(cursor)" '{"kind":"auth","min":5}'

# No begin line: exit 1 with the -C hint.  Empty stream: exit 3.
printf '{"txid":"a"}\n' >s
status "no begin exits 1" 1 duo-ckpt commit auth <s
grepq "hint to use -C" 'no begin line: run duo-get with -C' "$T/.err"
{ mark '{"kind":"auth","min":6}' 0; } >s
status "mark first exits 1" 1 duo-ckpt commit auth <s
grepq "hint to use -C (mark)" 'run duo-get with -C' "$T/.err"
status "empty stream exits 3" 3 duo-ckpt commit auth </dev/null
grepq "empty message" 'empty stream, nothing committed' "$T/.err"
printf '{"@duo":"begin","v":2,"kind":"auth","host":"h","cursor":{"kind":"auth","min":5}}\n' >s
status "protocol version 2 refused" 1 duo-ckpt commit auth <s
printf '{"@duo":"begin","v":1,"kind":"auth","host":"h","cursor":{"kind":"auth","min":5}' >s
status "cut begin line exits 3" 3 duo-ckpt commit auth <s
is "cursor unchanged" "$(cursor)" '{"kind":"auth","min":5}'

# Garbage control line, a second begin, data after end.
{ begin '{"kind":"auth","min":5}'; echo g1; mark '{"kind":"auth","min":6}' 1; echo g2
  echo '{"@duo":"mark","cursor":{"kind":"auth","min":7},"n":"1"}'; } >s
status "garbage control line exits 1" 1 duo-ckpt commit auth <s
grepq "line number of the bad line" 'line 5: mark line without a count' \
    "$T/.err"
is "cursor at the good mark" "$(cursor)" '{"kind":"auth","min":6}'
{ begin '{"kind":"auth","min":6}'; echo h1; end '{"kind":"auth","min":7}' 1; echo h2; } >s
status "data after end exits 1" 1 duo-ckpt commit auth <s
pub >all
grepq "h1 delivered" '^h1$' all
nogrep "h2 not delivered" h2 out/*.log

# Over-long lines are refused, not cut.
{ begin '{"kind":"auth","min":7}'; echo ok1; mark '{"kind":"auth","min":8}' 1
  head -c 5000000 /dev/zero | tr '\0' a; echo; end '{"kind":"auth","min":9}' 1; } >s
status "over-long line exits 1" 1 duo-ckpt commit auth <s
grepq "long message" 'line 4: longer than' "$T/.err"
is "cursor at the mark before it" "$(cursor)" '{"kind":"auth","min":8}'

# After all that, every published line exactly once.
is "published, in order" "$(pub | tr '\n' ' ')" \
    "r0 r1 r2 r3 r6 r8 g1 h1 ok1 "
ok "no temporary file left" sh -c '! ls -A out | grep -v -e "\.log$" -e "^\.duo-auth\.lock$"'
ok "no spool or intent left" sh -c '! ls state | grep -E "intent|spool|tmp"'
status "ledger chain is whole" 0 duo-ckpt status auth
# duo-get failed before its begin line: the exit line's status is the
# chain's, nothing is committed.
for st in 1 2 3; do
	printf '{"@duo":"exit","status":%d}\n' "$st" >"$T/exitonly"
	status "exit line alone, status $st: commit exits $st" "$st" \
	    duo-ckpt -d "$T/st-exitonly" commit -o "$T/out-exitonly" auth \
	    <"$T/exitonly"
	grepq "exit line alone, status $st: says so" 'before its begin line' "$T/.err"
done
set -- "$T"/out-exitonly/*.log
is "exit line alone: nothing published" "$1" "$T/out-exitonly/*.log"
finish
