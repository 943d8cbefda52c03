#!/bin/sh
# duo-ckpt killed (SIGKILL, through DUO_CKPT_CRASH_AT) at every step of
# the commit protocol, in -o and -a mode; the next run recovers: every
# line exactly once, no partial line, nothing temporary named *.log.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

cd "$T" || exit 1

stream() {	# stream FROM TO LINES... (FROM 0 is the empty cursor)
	_f='"kind":"auth","min":'$1 _t=$2
	[ "$1" = 0 ] && _f=
	shift 2
	printf '{"@duo":"begin","v":1,"kind":"auth","host":"h","cursor":{%s}}\n' "$_f"
	for _l in "$@"; do echo "$_l"; done
	printf '{"@duo":"end","cursor":{"kind":"auth","min":%s},"n":%s}\n' "$_t" "$#"
	printf '{"@duo":"exit","status":0}\n'
}

# complete FILE...: every file ends in LF (or is empty).
complete() {
	for _f in "$@"; do
		[ -s "$_f" ] || continue
		[ "$(tail -c 1 "$_f" | od -An -c | tr -d ' ')" = '\n' ] ||
		    return 1
	done
	return 0
}

for mode in o a; do
	for n in 1 2 3 4 5 6 7 8 9 10; do
		d=$mode$n
		mkdir "$d"
		if [ "$mode" = a ]; then
			set -- -a "$d/sink.log"
			echo "old line" >"$d/sink.log"
		else
			set -- -o "$d/out"
		fi
		stream 0 1 one >"$d/s1"
		stream 1 2 two three "a longer line four" >"$d/s2"
		duo-ckpt -d "$d/st" commit "$@" auth <"$d/s1"
		DUO_CKPT_CRASH_AT=$n duo-ckpt -d "$d/st" commit "$@" auth \
		    <"$d/s2" 2>/dev/null
		rc=$?
		is "$mode: killed at step $n" "$rc" 137
		if [ "$mode" = o ]; then
			ok "$mode$n: every *.log complete after the kill" \
			    complete "$d"/out/*.log
			ok "$mode$n: *.log files are whole commits" sh -c \
			    "cat $d/out/*.log | sort | tr '\n' ' ' |
			    grep -Eqx '(one )|(a longer line four one three two )'"
		fi
		# Recovery: get finishes or undoes the commit.
		c=$(duo-ckpt -d "$d/st" get auth 2>"$d/err")
		if [ "$n" -le 2 ]; then want='{"kind":"auth","min":1}'; else want='{"kind":"auth","min":2}'; fi
		is "$mode$n: recovered cursor" "$c" "$want"
		if [ "$mode" = a ]; then
			ok "$mode$n: no partial line after recovery" \
			    complete "$d/sink.log"
		fi
		# Run to completion: the replay is stale if it was completed.
		duo-ckpt -d "$d/st" commit "$@" auth <"$d/s2" 2>/dev/null
		rc=$?
		if [ "$n" -le 2 ]; then wrc=0; else wrc=1; fi
		is "$mode$n: replay status" "$rc" "$wrc"
		if [ "$mode" = a ]; then
			got=$(cat "$d/sink.log")
			pre="old line
"
		else
			got=$(cat "$d"/out/*.log)
			pre=
		fi
		is "$mode$n: every line exactly once" "$got" "${pre}one
two
three
a longer line four"
		ok "$mode$n: no temporary files" sh -c \
		    "! ls -A $d/out 2>/dev/null | grep -v -e '\.log$' -e '^\.duo-auth\.lock$'"
		ok "$mode$n: no intent or spool" sh -c \
		    "! ls -A $d/st | grep -E 'intent|spool'"
		ok "$mode$n: status accepts the ledger" \
		    duo-ckpt -d "$d/st" status auth
		grepq "$mode$n: records counted once" ' records=4 ' "$T/.out"
	done
done

# A kill mid-append leaves a partial line until the next run cuts it.
mkdir m
echo "old" >m/sink.log
stream 0 1 "first line" >m/s1
DUO_CKPT_CRASH_AT=4 duo-ckpt -d m/st commit -a m/sink.log auth <m/s1 \
    2>/dev/null
is "mid-append kill" "$?" 137
is "partial bytes on disk" "$(cat m/sink.log)" "old
first"
status "next get recovers" 0 duo-ckpt -d m/st get auth
grepq "recovery reported" 'completed an interrupted commit' "$T/.err"
is "rolled back and completed" "$(cat m/sink.log)" "old
first line"
finish
