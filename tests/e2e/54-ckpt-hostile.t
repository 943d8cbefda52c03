#!/bin/sh
# Hostile streams and damaged names (issue 11): forged control lines
# with cursors of another kind, malformed or in the future are refused
# (nothing after the previous mark is delivered, the cursor does not
# jump); duo-ckpt set checks the same; empty strings where names belong
# give a message and exit 1, never a crash.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

cd "$T" || exit 1
H=api-x.example
C0='{"kind":"auth","min":1714500000000}'
C1='{"kind":"auth","min":1714500001000}'
C2='{"kind":"auth","min":1714500002000}'
FUTURE='{"kind":"auth","min":4102444800000}'

begin() {	# begin CURSOR [KIND]
	printf '{"@duo":"begin","v":1,"kind":"%s","host":"%s","cursor":%s}\n' \
	    "${2:-auth}" "$H" "$1"
}
mark() {
	printf '{"@duo":"mark","cursor":%s,"n":%s}\n' "$1" "$2"
}
end() {
	printf '{"@duo":"end","cursor":%s,"n":%s}\n' "$1" "$2"
}
x0() {
	printf '{"@duo":"exit","status":0}\n'
}
pub() {
	cat out/*.log 2>/dev/null | tr '\n' ' '
}

{ begin '{}'; echo r0; end "$C0" 1; x0; } | duo-ckpt commit auth
is "a first commit" "$(duo-ckpt get auth)" "$C0"

# The injected mark of issue 11: a record that is a control line.
{ begin "$C0"; echo r1; mark "$C1" 1; echo r2; mark "$FUTURE" 1; echo r3
  end "$C2" 1; x0; } >s
status "a mark in the year 2100 exits 1" 1 duo-ckpt commit auth <s
grepq "it says why" 'line 5: mark line with a bad cursor: it lies in the future \(2100-01-01T00:00:00Z\)' "$T/.err"
is "the cursor stays at the last good mark" "$(duo-ckpt get auth)" "$C1"
is "nothing after it published" "$(pub)" "r0 r1 "

for c in '{"kind":"admin","sec":1714500000}' '{"p":1}' '{}' \
    '{"kind":"auth","min":-5}' '{"kind":"auth","min":1,"max":4102444800000}'
do
	{ begin "$C1"; echo r9; end "$c" 1; x0; } >s
	status "end with cursor $c exits 1" 1 duo-ckpt commit auth <s
	grepq "end cursor $c: message" 'end line with a bad cursor' "$T/.err"
done
is "none of them moved the cursor" "$(duo-ckpt get auth)" "$C1"
is "nor published" "$(pub)" "r0 r1 "

# A begin whose cursor is not this kind's: refused before the lock.
{ begin "$FUTURE"; echo r9; end "$C2" 1; x0; } >s
status "begin in the future exits 1" 1 duo-ckpt commit auth <s
grepq "begin message" 'line 1: bad cursor: it lies in the future' "$T/.err"

# duo-ckpt set checks the cursor (a usage error, exit 2).
status "set: another kind's cursor" 2 duo-ckpt set auth \
    '{"kind":"admin","sec":1714500000}'
grepq "set: kind message" 'a cursor of kind admin, not auth' "$T/.err"
status "set: malformed" 2 duo-ckpt set auth '{"c":1}'
status "set: in the future" 2 duo-ckpt set auth "$FUTURE"
is "set refused: cursor unchanged" "$(duo-ckpt get auth)" "$C1"
{ begin "$C1"; echo r2; end "$C2" 1; x0; } >s
status "and later runs still work" 0 duo-ckpt commit auth <s
status "set: a good cursor" 0 duo-ckpt set auth "$C1"
status "set: {} starts over" 0 duo-ckpt set auth '{}'
status "set: admin's own kind" 0 duo-ckpt set admin \
    '{"kind":"admin","sec":1714500000,"seen":[]}'

# Empty strings where names belong (SIGSEGV before): exit 1, a message.
printf '{"@duo":"","cursor":{}}\n' >s
status "an empty @duo as line 1" 1 duo-ckpt commit -o out auth <s
grepq "line 1 message" '^duo-ckpt: stdin: line 1: unknown control line' \
    "$T/.err"
{ begin '{}'; echo e1; printf '{"@duo":"","cursor":{}}\n'; } >s
status "an empty @duo mid-stream" 1 duo-ckpt commit -o out auth <s
grepq "mid-stream message" 'line 3: unknown control line ""' "$T/.err"
printf '{"@duo":"begin","v":1,"kind":"","host":"h","cursor":{}}\n' >s
status "a begin with kind \"\"" 1 duo-ckpt commit -o out auth <s
grepq "empty kind message" 'empty kind or host' "$T/.err"

# A pending intent whose kind or mode is "": corrupt, exit 1.
mkdir -p st2
for f in kind mode; do
	rm -rf st2 && mkdir st2
	if [ $f = kind ]; then k='' m=none; else k=auth m=''; fi
	printf '{"v":1,"kind":"%s","seq":1,"mode":"%s","tmp":null,"file":null,"offset":0,"bytes":0,"sha256":"%s","ledger":0,"cursor":{},"entry":{}}\n' \
	    "$k" "$m" e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 \
	    >st2/auth.intent
	duo-ckpt -d st2 get auth >/dev/null 2>"$T/.err"
	rc=$?
	is "intent with $f \"\": exit 1" "$rc" 1
	grepq "intent with $f \"\": corrupt FILE: why" \
	    'st2/auth.intent: corrupt intent file' "$T/.err"
done

# A last ledger line whose op is "".
rm -rf st2
{ begin '{}'; echo o1; end "$C0" 1; x0; } | duo-ckpt -d st2 commit -o o2 auth
sed 's/"op":"commit"/"op":""/' st2/auth.ledger >l && mv l st2/auth.ledger
status "ledger op \"\": get exits 1" 1 duo-ckpt -d st2 get auth
grepq "ledger op message" 'corrupt ledger \(last line is not a ledger entry\)' \
    "$T/.err"
status "ledger op \"\": status exits 1" 1 duo-ckpt -d st2 status auth

# A set entry with "from":null, then a commit, then status.
rm -rf st2
status "set on a fresh directory" 0 duo-ckpt -d st2 set auth "$C0"
grepq 'set entry has "from":null' '"op":"set",.*"from":null' st2/auth.ledger
{ begin "$C0"; echo n1; end "$C1" 1; x0; } >s
status "then a commit" 0 duo-ckpt -d st2 commit -o o2 auth <s
duo-ckpt -d st2 status >st2.out 2>st2.err
rc=$?
ok "then status does not crash" test "$rc" -lt 128
is "status exits 0" "$rc" 0
grepq "status counts the commit" 'commits=1 records=1' st2.out
finish
