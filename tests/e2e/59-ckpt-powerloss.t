#!/bin/sh
# Power loss: a persistence model of duo-ckpt commit (powerloss.py).
# Each commit is traced with strace; every on-disk image that a power
# cut could leave under POSIX rules (data durable only after fsync of
# the file, a directory entry only after fsync of its directory) is
# built and recovered by the next run, which must leave every record
# published exactly once.  Four cases: the first commit (state and
# output directories created by it) and a later one, in -o and -a mode.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

if ! command -v strace >/dev/null 2>&1; then
	skip "power-loss model" "strace is not installed"
	finish
fi
if ! strace -f -o /dev/null true 2>/dev/null; then
	skip "power-loss model" "strace cannot trace here (ptrace denied)"
	finish
fi
HOST=api-test.duosecurity.com
C1='{"kind":"auth","min":1700000000000,"max":1700000600000}'
C2='{"kind":"auth","min":1700000600001,"max":1700001200000}'

# stream FROM TO FIRST N: a duo-fmt -f json stream of N records numbered
# from FIRST, from cursor FROM to TO, with one mark in the middle.
stream() {
	_h=$(($4 / 2))
	printf '{"@duo":"begin","v":1,"kind":"auth","host":"%s","cursor":%s}\n' \
	    "$HOST" "$1"
	_i=$3
	while [ "$_i" -lt $(($3 + $4)) ]; do
		printf '{"duo_time":"2023-11-14T22:%02d:00+00:00","txid":"r%d","timestamp":%d}\n' \
		    $((_i % 60)) "$_i" $((1700000000 + _i))
		_i=$((_i + 1))
		if [ "$_i" -eq $(($3 + _h)) ]; then
			printf '{"@duo":"mark","cursor":%s,"n":%d}\n' "$2" "$_h"
		fi
	done
	printf '{"@duo":"end","cursor":%s,"n":%d}\n' "$2" $(($4 - _h))
	printf '{"@duo":"exit","status":0}\n'
}

# The next scheduled run after the power cut: recover, and when the
# cursor is still the one the cut commit started from, commit the same
# stream again (the records it covers are fetched again).
cat >"$T/recover" <<'SH'
#!/bin/sh
# recover MODE STREAMFILE FROMCURSOR TOCURSOR (cwd: the image)
mode=$1 s=$2 from=$3 to=$4
c=$(duo-ckpt -d st get auth) || exit 1
if [ "$c" = "$from" ]; then
	if [ "$mode" = a ]; then
		duo-ckpt -d st commit -a sink.log auth <"$s" || exit 1
	else
		duo-ckpt -d st commit -o out auth <"$s" || exit 1
	fi
	c=$(duo-ckpt -d st get auth) || exit 1
fi
[ "$c" = "$to" ] || { echo "cursor is $c, want $to" >&2; exit 1; }
SH
chmod +x "$T/recover"

for mode in o a; do
	if [ "$mode" = a ]; then
		set -- -a sink.log
	else
		set -- -o out
	fi
	for case in first later; do
		d=$T/$mode-$case
		mkdir -p "$d/root"
		stream '{}' "$C1" 1 6 >"$d/s1"
		stream "$C1" "$C2" 101 6 >"$d/s2"
		if [ "$case" = first ]; then
			s=$d/s1 from='{}' to=$C1
			grep -v '"@duo"' "$d/s1" >"$d/expect"
		else
			(cd "$d/root" && duo-ckpt -d st commit "$@" auth <"$d/s1") \
			    2>"$d/err1"
			is "$mode $case: the first commit" "$?" 0
			sync
			s=$d/s2 from=$C1 to=$C2
			grep -hv '"@duo"' "$d/s1" "$d/s2" >"$d/expect"
		fi
		rm -rf "$d/before"
		cp -a "$d/root" "$d/before"
		# LeakSanitizer cannot run under ptrace.
		(cd "$d/root" && ASAN_OPTIONS=detect_leaks=0 strace -f -qq -y -xx -s 16777216 \
		    -e trace=openat,open,creat,write,pwrite64,ftruncate,fsync,fdatasync,rename,renameat,renameat2,link,linkat,unlink,unlinkat,rmdir,mkdir,mkdirat,close,lseek \
		    -o "$d/trace" duo-ckpt -d st commit "$@" auth <"$s") \
		    2>"$d/err2"
		is "$mode $case: the traced commit" "$?" 0
		diag "$d/err2"
		ok "$mode $case: every crash image recovers exactly once" \
		    python3 "$TOP/tests/e2e/powerloss.py" "$d/root" "$d/before" \
		    "$d/trace" \
		    "$d/expect" -- "$T/recover" "$mode" "$s" "$from" "$to"
		sed -n '$s/^/# /p' "$T/.out"
		# The model's check of itself: the same trace without its
		# fsyncs must show images that lose or repeat records.
		status "$mode $case: without fsync the model finds loss" 1 \
		    python3 "$TOP/tests/e2e/powerloss.py" --no-fsync \
		    --max-pending 12 "$d/root" "$d/before" "$d/trace" \
		    "$d/expect" -- "$T/recover" "$mode" "$s" "$from" "$to"
	done
done
finish
