#!/bin/sh
# Damaged state files are refused with a clear message and exit 1; they
# are never taken for a fresh start.  duo-ckpt set is the way out.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

cd "$T" || exit 1

s() {	# s FROM TO LINE: a one-line stream
	printf '{"@duo":"begin","v":1,"kind":"auth","host":"h","cursor":%s}\n%s\n{"@duo":"end","cursor":%s,"n":1}\n{"@duo":"exit","status":0}\n' "$1" "$3" "$2"
}

fresh() {
	rm -rf state out
	s '{}' '{"kind":"auth","min":1}' first | duo-ckpt commit auth
	s '{"kind":"auth","min":1}' '{"kind":"auth","min":2}' second | duo-ckpt commit auth
}

# check NAME MESSAGE: every command refuses the damage; nothing new is
# published, neither from the stored cursor nor from the start.
check() {
	status "$1: get refuses" 1 duo-ckpt get auth
	grepq "$1: get says why" "$2" "$T/.err"
	status "$1: commit from the start refused" 1 sh -c \
	    "printf '%s\n' '$(s '{}' '{"kind":"auth","min":9}' again)' | duo-ckpt commit auth"
	status "$1: commit from the cursor refused" 1 sh -c \
	    "printf '%s\n' '$(s '{"kind":"auth","min":2}' '{"kind":"auth","min":3}' third)' | duo-ckpt commit auth"
	is "$1: nothing new published" "$(cat out/*.log | tr '\n' ' ')" \
	    "first second "
}

fresh
printf '{"v":1,"seq":2,"cursor":{"c"' >state/auth.cursor
check "truncated state" 'auth.cursor: corrupt state file \(truncated'
grepq "truncated state: the way out is named" 'duo-ckpt set auth' "$T/.err"
status "status refuses too" 1 duo-ckpt status
grepq "status message" 'corrupt state file' "$T/.err"

fresh
: >state/auth.cursor
check "empty state" 'corrupt state file'

fresh
head -c 100 /dev/urandom >state/auth.cursor
check "garbage state" 'corrupt state file'

fresh
rm state/auth.cursor
check "state deleted, ledger kept" 'state file missing but the ledger has'

fresh
printf '{"v":1,"seq":2,"cursor":{"kind":"auth","min":7}}\n' >state/auth.cursor
check "state and ledger disagree" 'does not match'

fresh
head -c 150 state/auth.ledger >l && mv l state/auth.ledger
check "truncated ledger" 'corrupt ledger \(last line is not complete\)'

fresh
echo garbage >>state/auth.ledger
check "garbage ledger line" 'corrupt ledger \(last line is not a ledger'

fresh
rm state/auth.ledger
check "ledger deleted" 'ledger missing or empty'

fresh
sed '1s/"seq":1/"seq":7/' state/auth.ledger >l && mv l state/auth.ledger
status "status checks every ledger line" 1 duo-ckpt status auth
grepq "sequence message" 'line 2: sequence 2 out of order' "$T/.err"

fresh
printf '{"v":1,"kind":"auth","seq":3' >state/auth.intent
check "truncated intent" 'corrupt intent file'
grepq "intent: what to do" 'then remove it' "$T/.err"

fresh
printf 'api x\n' >state/host
check "garbage host file" 'corrupt host file'

# set repairs a damaged state file; the chain goes on from there.
fresh
echo junk >state/auth.cursor
status "set over a damaged state" 0 duo-ckpt set auth '{"kind":"auth","min":2}'
status "get after the repair" 0 duo-ckpt get auth
is "repaired cursor" "$(cat "$T/.out")" '{"kind":"auth","min":2}'
s '{"kind":"auth","min":2}' '{"kind":"auth","min":3}' third | duo-ckpt commit auth
is "commits go on" "$(cat out/*.log | tr '\n' ' ')" "first second third "
status "status after the repair" 0 duo-ckpt status auth
grepq "status counts" 'commits=3 records=3' "$T/.out"

# set refuses a damaged ledger (move it aside first).
fresh
echo junk >>state/auth.ledger
status "set refuses a damaged ledger" 1 duo-ckpt set auth '{"kind":"auth","min":2}'
grepq "set says move it aside" 'move it aside' "$T/.err"
finish
