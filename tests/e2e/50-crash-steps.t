#!/bin/sh
# The whole pipeline against the fake Duo, with duo-ckpt killed by
# SIGKILL at every step of the commit protocol (DUO_CKPT_CRASH_AT), in
# -o and -a mode; then runs to completion.  Every record the fake served
# is published exactly once, and no partial or temporary file ever
# matches *.log.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

fake_start --records auth=300 || { echo "Bail out! no fake"; exit 1; }
cd "$T" || exit 1
sort "$FAKE/data/auth.ndjson" >want

# run DIR MODEARGS...: one pipeline; pages of 50, a commit every 120.
run() {
	_d=$1
	shift
	duo-ckpt -d "$_d/st" get auth 2>>"$_d/log" |
	    duo-get -C -n 50 -s - auth 2>>"$_d/log" |
	    duo-fmt -f json 2>>"$_d/log" |
	    duo-ckpt -d "$_d/st" commit -n 120 "$@" auth 2>>"$_d/log"
}

# records FILE...: the published lines as the fake served them.
records() {
	cat "$@" 2>/dev/null | sed 's/^{"duo_time":"[^"]*",/{/'
}

# sane DIR FILES...: every file ends in LF, every line is a record the
# fake served, and none is there twice.
sane() {
	_d=$1
	shift
	for _f in "$@"; do
		[ -e "$_f" ] || continue
		[ ! -s "$_f" ] ||
		    [ "$(tail -c 1 "$_f" | od -An -c | tr -d ' ')" = '\n' ] ||
		    return 1
	done
	records "$@" | sort >"$_d/got"
	[ -z "$(uniq -d "$_d/got")" ] || return 1
	[ -z "$(comm -23 "$_d/got" want)" ]
}

for mode in o a; do
	for n in 1 2 3 4 5 6 7 8 9 10; do
		d=$T/$mode$n
		mkdir "$d"
		if [ "$mode" = a ]; then
			set -- -a "$d/sink.log"
		else
			set -- -o "$d/out"
		fi
		(DUO_CKPT_CRASH_AT=$n run "$d" "$@") 2>/dev/null
		rc=$?
		is "$mode$n: killed at step $n" "$rc" 137
		[ "$rc" -eq 137 ] || diag "$d/log"
		if [ "$mode" = a ]; then
			# A torn append is cut back by the next get.
			[ "$n" -eq 4 ] && ok "$mode$n: torn append on disk" \
			    sh -c "! tail -c 1 '$d/sink.log' | od -c | grep -q '\\\\n'"
		else
			ok "$mode$n: after the kill, *.log files are whole" \
			    sane "$d" "$d"/out/*.log
		fi
		# Run to completion.
		i=0
		while :; do
			run "$d" "$@"
			rc=$?
			i=$((i + 1))
			[ "$rc" -eq 0 ] || [ "$i" -ge 5 ] && break
		done
		is "$mode$n: completes" "$rc" 0
		if [ "$mode" = a ]; then
			f=$d/sink.log
		else
			f=$(ls "$d"/out/*.log)
		fi
		# shellcheck disable=SC2086
		ok "$mode$n: complete lines, no duplicates" sane "$d" $f
		# shellcheck disable=SC2086
		records $f | sort >"$d/all"
		same "$mode$n: every record exactly once" "$d/all" want
		ok "$mode$n: no temporary *.log, no leftovers" sh -c \
		    "! ls -A '$d/out' 2>/dev/null | grep -v -e '^duo-auth-.*\.log$' -e '^\.duo-auth\.lock$'"
		ok "$mode$n: ledger whole" duo-ckpt -d "$d/st" status auth
		grepq "$mode$n: ledger counts each record once" ' records=300 ' \
		    "$T/.out"
	done
done
finish
