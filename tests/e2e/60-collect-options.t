#!/bin/sh
# duo-collect's options and per-kind logic, against stub tools that
# record their arguments: what each stage is given (-T share of the run
# budget, -R pace file, -t publish cadence, -k, -S, -H, -v, -c, -f), the
# default kinds and their order, a busy kind skipped as status 0, SIGPIPE
# of a stage whose consumer failed not counted, unusable output or state
# directories refused up front (exit 2), and the stop after a first kind
# that made no progress.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

cd "$T" || exit 1
mkdir bin out
cp "$BIN/duo-collect" bin/
# Stubs.  STUB_LOG gets one line per call: the tool and its arguments.
# duo-ckpt get prints $STUB_CUR (default {}) and exits $STUB_GET_<kind>;
# after a commit, get prints "moved" when $STUB_MOVE is set.
# duo-get writes a begin and an exit line, sleeps $STUB_SLEEP, exits
# $STUB_RC_<kind>; duo-fmt copies; commit reads all and exits
# $STUB_COMMIT_<kind>.
cat >bin/duo-ckpt <<'EOS'
#!/bin/sh
echo "duo-ckpt $*" >>"$STUB_LOG"
for k; do :; done
case " $* " in
*" get "*)
	eval "rc=\${STUB_GET_$k:-0}"
	if [ -f "$STUB_LOG.done-$k" ] && [ -n "${STUB_MOVE:-}" ]; then
		echo '{"moved":1}'
	else
		printf '%s\n' "${STUB_CUR:-{\}}"
	fi
	exit "$rc" ;;
*" commit "*)
	cat >/dev/null
	: >"$STUB_LOG.done-$k"
	eval "rc=\${STUB_COMMIT_$k:-0}"
	exit "$rc" ;;
esac
exit 9
EOS
cat >bin/duo-get <<'EOS'
#!/bin/sh
echo "duo-get $*" >>"$STUB_LOG"
for k; do :; done
read -r cur
eval "rc=\${STUB_RC_$k:-0}"
[ -n "${STUB_SLEEP:-}" ] && sleep "$STUB_SLEEP"
printf '{"@duo":"begin","v":1,"kind":"%s","host":"h","cursor":%s}\n' "$k" "$cur"
printf '{"@duo":"exit","status":%s}\n' "$rc"
exit "$rc"
EOS
cat >bin/duo-fmt <<'EOS'
#!/bin/sh
echo "duo-fmt $*" >>"$STUB_LOG"
cat
EOS
chmod +x bin/*
STUB_LOG=$T/log
export STUB_LOG

# run STATUS DESC ARGS...: a fresh log, then duo-collect ARGS.
run() {
	_w=$1 _d=$2
	shift 2
	rm -f "$STUB_LOG" "$STUB_LOG".done-*
	: >"$STUB_LOG"
	status "$_d" "$_w" bin/duo-collect "$@"
}
# calls TOOL: the argument lists TOOL was called with, one a line.
calls() {
	sed -n "s/^$1 //p" "$STUB_LOG"
}

run 0 "defaults: exit 0" -d st -o out
is "default kinds, busiest last" "$(calls duo-get | sed 's/.* //' | tr '\n' ' ')" \
    "admin telephony activity auth "
is "quiet" "$(cat "$T/.err")" ""
is "get: -C, share of 240 s, pace file, cursor on stdin" \
    "$(calls duo-get | sed -n 1p)" "-C -T 60 -R st/admin.pace -s - admin"
grepq "the last kind gets what the others left" \
    '^duo-get -C -T (239|240) -R st/auth.pace -s - auth$' "$T/log"
is "commit: -o, -t 60, -H for mpe" "$(calls duo-ckpt | grep commit | sed -n 1p)" \
    "-d st commit -o out -t 60 -H admin"
is "fmt: no options" "$(calls duo-fmt | sed -n 1p)" ""

run 0 "every option" -v -c my.conf -d st -o out -f json -k 14 -S 7d \
    -t 10 -T 90 auth telephony
is "get options" "$(calls duo-get | sed -n 1p)" \
    "-C -v -c my.conf -S 7d -T 45 -R st/auth.pace -s - auth"
is "fmt options" "$(calls duo-fmt | sed -n 1p)" "-f json"
grepq "commit options, no -H for json" '^duo-ckpt -d st commit -o out -t 10 -k 14 auth$' "$T/log"
run 0 "-H with json" -H -f json -d st -o out auth
grepq "-H passed" '^duo-ckpt -d st commit -o out -t 60 -H auth$' "$T/log"
run 0 "-T 0: no budget" -T 0 -d st -o out auth
grepq "no -T for duo-get" '^duo-get -C -R st/auth.pace -s - auth$' "$T/log"

for bad in "-T x" "-t 1.5" "-k -1" "-T 99999999999"; do
	# shellcheck disable=SC2086
	run 2 "bad number $bad" $bad -d st -o out auth
	grepq "$bad: named" "^duo-collect: -${bad#-}" "$T/.err"
done
run 2 "-k 0 would delete what was just published" -k 0 -d st -o out auth
grepq "said" '^duo-collect: -k 0: keep published files at least 1 day$' "$T/.err"
run 2 "unknown option" -d st -o out -x
grepq "usage mirrors the man page" '^usage: duo-collect \[-Hv\] \[-c conf\] \[-d statedir\] \[-f format\] \[-k days\] \[-o outdir\] \[-S since\] \[-t seconds\] \[-T seconds\] \[kind \.\.\.\]$' "$T/.err"
run 2 "unknown kind" -d st -o out auth nope
grepq "kind named" '^duo-collect: nope: unknown kind$' "$T/.err"
is "nothing ran" "$(cat "$T/log")" ""

# Output and state directories, checked before anything runs.
: >afile
run 2 "output directory is a file" -d st -o afile auth
grepq "path and reason" '^duo-collect: afile: output directory: not a directory$' "$T/.err"
run 2 "output directory's parent missing" -d st -o nodir/out auth
grepq "parent named" '^duo-collect: nodir/out: output directory: nodir does not exist$' "$T/.err"
is "nothing ran" "$(cat "$T/log")" ""
run 2 "state directory's parent missing" -d nodir/st -o out auth
grepq "state named" '^duo-collect: nodir/st: state directory: nodir does not exist$' "$T/.err"
run 0 "a missing output directory with a parent is fine" -d st -o newout auth

# Busy: duo-ckpt get exits 3.
STUB_GET_admin=3 run 0 "busy admin: exit 0" -d st -o out admin auth
grepq "notice" '^duo-collect: admin: skipped: another run is collecting it$' "$T/.err"
is "admin not fetched, auth fetched" "$(calls duo-get | sed 's/.* //' | tr '\n' ' ')" "auth "
STUB_COMMIT_auth=3 run 0 "commit busy (3), upstream fine: skipped" -d st -o out auth
grepq "notice" '^duo-collect: auth: skipped: another run is collecting it$' "$T/.err"
STUB_COMMIT_auth=3 STUB_RC_auth=141 run 0 "commit busy, duo-get got SIGPIPE" -d st -o out auth
STUB_COMMIT_auth=3 STUB_RC_auth=3 run 3 "commit 3 after duo-get 3: temporary" -d st -o out auth
STUB_GET_admin=1 run 1 "get failing (1) is a failure" -d st -o out admin auth
grepq "named" '^duo-collect: admin: duo-ckpt get exited 1$' "$T/.err"

# Statuses: reported once, at the stage they come from.
STUB_RC_auth=3 run 3 "duo-get 3" -d st -o out auth
is "one line" "$(cat "$T/.err")" "duo-collect: auth: duo-get exited 3"
STUB_COMMIT_auth=2 run 2 "commit 2" -d st -o out auth
is "one line for commit" "$(cat "$T/.err")" "duo-collect: auth: duo-ckpt commit exited 2"
STUB_RC_auth=1 STUB_COMMIT_auth=1 run 1 "get 1, commit 1 (from the exit line)" -d st -o out auth
is "reported at duo-get only" "$(cat "$T/.err")" "duo-collect: auth: duo-get exited 1"
STUB_RC_auth=3 STUB_COMMIT_auth=1 run 1 "get 3, commit 1" -d st -o out auth
is "both named" "$(tr '\n' '|' <"$T/.err")" \
    "duo-collect: auth: duo-get exited 3|duo-collect: auth: duo-ckpt commit exited 1|"
# SIGPIPE: a stage killed writing to a consumer that failed.
STUB_RC_auth=141 STUB_COMMIT_auth=2 run 2 "141 upstream of a failed commit" -d st -o out auth
is "141 not reported" "$(cat "$T/.err")" "duo-collect: auth: duo-ckpt commit exited 2"
STUB_RC_auth=141 run 1 "141 with a commit that succeeded counts" -d st -o out auth
grepq "reported" 'duo-get exited 141' "$T/.err"
STUB_RC_auth=139 run 1 "a crash counts as 1" -d st -o out auth
grepq "reported" 'duo-get exited 139' "$T/.err"

# The first kind made no progress (duo-get 3, cursor unchanged): stop.
STUB_RC_admin=3 run 3 "Duo not reached for the first kind" -d st -o out
is "only the first kind ran" "$(calls duo-get | sed 's/.* //' | tr '\n' ' ')" "admin "
grepq "says so" '^duo-collect: admin: no progress; not trying telephony activity auth$' "$T/.err"
STUB_RC_admin=3 STUB_MOVE=1 run 3 "first kind 3 but moved: go on" -d st -o out
is "all kinds ran" "$(calls duo-get | sed 's/.* //' | tr '\n' ' ')" "admin telephony activity auth "
STUB_RC_telephony=3 run 3 "a later kind's 3 does not stop the run" -d st -o out
is "all kinds ran" "$(calls duo-get | sed 's/.* //' | tr '\n' ' ')" "admin telephony activity auth "

# The budget is shared: a kind that takes its share leaves less after.
STUB_SLEEP=2 run 0 "slow kinds" -T 8 -d st -o out admin telephony auth
is "shares: 8/3, then what is left over the kinds left" \
    "$(calls duo-get | sed 's/^-C -T \([0-9]*\) .*/\1/' | tr '\n' ' ' |
    sed 's/^2 [23] [34] $/ok/')" ok
STUB_SLEEP=3 run 0 "budget spent" -T 5 -d st -o out admin telephony auth
# Which kind finds the budget spent depends on how fast the machine
# runs the 3 s stubs (telephony on a slow one, auth on a fast one).
grepq "a kind past the budget is skipped" '^duo-collect: (telephony|auth): skipped: run budget spent$' "$T/.err"
finish
