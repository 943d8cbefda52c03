#!/bin/sh
# duo-ckpt get, commit, set, status from the command line, with streams
# written by hand; usage errors; the files it leaves.
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
mark() {	# mark CURSOR N
	printf '{"@duo":"mark","cursor":%s,"n":%s}\n' "$1" "$2"
}
end() {		# end CURSOR N: the end line and duo-get's exit line
	printf '{"@duo":"end","cursor":%s,"n":%s}\n' "$1" "$2"
	printf '{"@duo":"exit","status":0}\n'
}

# Usage errors: exit 2, usage on stderr.
status "no command" 2 duo-ckpt
grepq "usage lists commit's options" \
    'commit \[-H\] \[-a file \| -o dir\] \[-k days\] \[-n records\]' "$T/.err"
status "unknown command" 2 duo-ckpt frob auth
status "get without kind" 2 duo-ckpt get
status "get with two kinds" 2 duo-ckpt get auth admin
status "unknown kind" 2 duo-ckpt get nope
grepq "unknown kind message" '^duo-ckpt: nope: unknown kind$' "$T/.err"
status "set without cursor" 2 duo-ckpt set auth
status "set with a non-object" 2 duo-ckpt -d s0 set auth '[1]'
status "commit -a and -o" 2 duo-ckpt commit -a f -o d auth </dev/null
status "commit -k with -a" 2 duo-ckpt commit -a f -k 3 auth </dev/null
status "commit -n 0" 2 duo-ckpt commit -n 0 auth </dev/null
status "commit -t x" 2 duo-ckpt commit -t x auth </dev/null
status "unknown option" 2 duo-ckpt -x get auth
nogrep "usage errors created no state" x s0/auth.ledger
ok "no default state dir made by usage errors" test ! -e state

# get on a fresh directory: {} and the directory is made.
status "get fresh" 0 duo-ckpt get auth
is "get prints {}" "$(cat "$T/.out")" "{}"
ok "default state directory ./state" test -d state

# A commit into the default ./out.
{ begin '{}'; echo 'line 1 |utc=2024-05-01T18:45:07Z|'; echo 'line 2'
  mark '{"kind":"auth","min":1}' 2; echo 'line 3'; end '{"kind":"auth","min":2}' 1; } >s1
status "commit" 0 duo-ckpt commit auth <s1
is "commit is silent" "$(cat "$T/.err" "$T/.out")" ""
set -- out/duo-auth-*.log
is "one file published" "$#" 1
ok "name duo-KIND-YYYYMMDDTHHMMSSZ-SEQ.log" sh -c \
    'ls out | grep -Eqx "duo-auth-[0-9]{8}T[0-9]{6}Z-000001\.log"'
printf 'line 1 |utc=2024-05-01T18:45:07Z|\nline 2\nline 3\n' >want
same "published bytes" "$1" want
is "no other files in out" "$(nfiles out)" 1
status "get after commit" 0 duo-ckpt get auth
is "cursor stored" "$(cat "$T/.out")" '{"kind":"auth","min":2}'
is "host remembered" "$(cat state/host)" "$H"
is "state file" "$(cat state/auth.cursor)" '{"v":1,"seq":1,"cursor":{"kind":"auth","min":2},"newest":1714589107}'
is "one ledger line" "$(wc -l <state/auth.ledger | tr -d ' ')" 1
l=$(cat state/auth.ledger)
sha=$(sha256sum <want | cut -d' ' -f1)
size=$(wc -c <want | tr -d ' ')
# On Windows (under wine) the path is absolute with a drive: Z:/tmp/...
drv=
[ -n "${DUO_WINE:-}" ] && drv='?:'
case $l in
*'"op":"commit","seq":1,'*'"from":{},"to":{"kind":"auth","min":2},"n":3,"mode":"file","file":"'$drv"$T"/out/duo-auth-*'.log","offset":0,"bytes":'"$size"',"sha256":"'"$sha"'","newest":1714589107}')
	ok "ledger entry" true ;;
*)	ok "ledger entry: $l" false ;;
esac
ok "ledger line is JSON" jq -e . state/auth.ledger

# The same stream again: stale.
status "replay is stale" 1 duo-ckpt commit auth <s1
grepq "stale message" '^duo-ckpt: auth: stale cursor' "$T/.err"
is "still one file" "$(nfiles out)" 1

# -d and -o elsewhere; kinds are independent.
{ begin '{}' admin; echo a; end '{"kind":"admin","sec":1}' 1; } >s2
status "commit -d -o" 0 duo-ckpt -d st2 commit -o o2 admin <s2
ok "o2 made" test -f o2/duo-admin-*-000001.log
ok "st2 made" test -f st2/admin.cursor

# set, then a commit from the set cursor.
status "set" 0 duo-ckpt set auth '{ "kind":"auth", "min" : 9 }'
status "get after set" 0 duo-ckpt get auth
is "set stored compact" "$(cat "$T/.out")" '{"kind":"auth","min":9}'
grepq "set in ledger" '"op":"set","seq":2,.*"from":\{"kind":"auth","min":2\},"to":\{"kind":"auth","min":9\}' \
    state/auth.ledger
{ begin '{"kind":"auth","min":9}'; echo x; end '{"kind":"auth","min":10}' 1; } >s3
status "commit after set" 0 duo-ckpt commit auth <s3
is "two files" "$(nfiles out)" 2
ok "second file has seq 3" test -f out/duo-auth-*-000003.log

# status.
status "status" 0 duo-ckpt status
is "status lists auth only" "$(cut -d' ' -f1 "$T/.out")" auth
grepq "status fields" "^auth host=$H last_commit=[0-9T:Z-]+ commits=2 records=4 files=2 newest=2024-05-01T18:45:07Z lag=[0-9]+s last_run=[0-9T:Z-]+ result=ok cursor=\\{\"kind\":\"auth\",\"min\":10\\}$" "$T/.out"
status "status KIND" 0 duo-ckpt -d st2 status admin
grepq "status admin" '^admin host=api-x.example .* records=1 files=1 newest=- lag=- last_run=[0-9T:Z-]+ result=ok cursor=\{"kind":"admin","sec":1\}$' "$T/.out"
status "status of a missing dir" 1 duo-ckpt -d nodir status
grepq "missing dir message" '^duo-ckpt: nodir: No such file' "$T/.err"

# An empty window moves the cursor without a file.
{ begin '{"kind":"auth","min":10}'; end '{"kind":"auth","min":11}' 0; } >s4
status "empty window" 0 duo-ckpt commit auth <s4
is "no new file" "$(nfiles out)" 2
status "get" 0 duo-ckpt get auth
is "cursor moved" "$(cat "$T/.out")" '{"kind":"auth","min":11}'
grepq "ledger records the empty window" '"n":0,"mode":"none","file":null' \
    state/auth.ledger

# stdout failures are errors.
if [ -w /dev/full ]; then
	status "get to /dev/full" 1 sh -c 'duo-ckpt get auth >/dev/full'
else
	skip "get to /dev/full" "no /dev/full"
fi
finish
