#!/bin/sh
# duo-ckpt at the limits (issues 10 and 11): a 2 GiB line in bounded
# memory; few file descriptors; a full -a target; the output directory
# deleted and made again mid-commit; a missing output directory; the
# exit line; signals during a commit.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

cd "$T" || exit 1
c() {
	printf '{"kind":"auth","min":%s}' "$1"
}
begin() {
	printf '{"@duo":"begin","v":1,"kind":"auth","host":"h","cursor":%s}\n' "$1"
}
mark() {
	printf '{"@duo":"mark","cursor":%s,"n":%s}\n' "$1" "$2"
}
end() {
	printf '{"@duo":"end","cursor":%s,"n":%s}\n' "$1" "$2"
}
x() {
	printf '{"@duo":"exit","status":%s%s}\n' "$1" "${2:+,\"more\":true}"
}
get() {
	duo-ckpt get auth 2>/dev/null
}
nlog() {
	find out -name '*.log' 2>/dev/null | wc -l | tr -d ' '
}
case $BIN in
*/san) san=1 ;;
*) san=0 ;;
esac

{ begin '{}'; echo r0; end "$(c 1)" 1; x 0; } | duo-ckpt commit auth

# ---- an over-long line is not buffered whole ----
# 2 GiB (512 MiB under the sanitizers, which read it slowly).
if [ "$san" -eq 1 ]; then LONG=${LONG_BYTES:-536870912}
else LONG=${LONG_BYTES:-2147483648}; fi
if [ -x /usr/bin/time ]; then
	{ begin "$(c 1)"; echo r1; mark "$(c 2)" 1
	  head -c "$LONG" /dev/zero | tr '\0' a; echo; end "$(c 3)" 1; x 0; } |
	    /usr/bin/time -f %M -o rss duo-ckpt commit auth 2>long.err
	is "a $LONG-byte line: exit 1" "$?" 1
	grepq "it says so" 'line 4: longer than 4194304 bytes' long.err
	kb=$(tail -n 1 rss)
	if [ "$san" -eq 1 ]; then max=400000; else max=65536; fi
	echo "# peak RSS ${kb} KiB for a $LONG-byte line"
	ok "memory stays bounded (${kb} KiB <= $max KiB)" test "$kb" -le "$max"
	is "published up to the mark before it" "$(get)" "$(c 2)"
else
	skip "a long line" "no /usr/bin/time"
	{ begin "$(c 1)"; echo r1; mark "$(c 2)" 1; end "$(c 2)" 0; x 0; } |
	    duo-ckpt commit auth
fi

# ---- few file descriptors: succeed, or fail before publishing ----
for n in 5 6 7 8 9 10 12 16; do
	p=$(get)
	pn=${p##*:}
	pn=${pn%\}}
	q=$(c $((pn + 1)))
	{ begin "$p"; echo "fd$n"; end "$q" 1; x 0; } >s
	before=$(nlog)
	# shellcheck disable=SC3045
	(ulimit -n "$n" && exec duo-ckpt commit auth) <s 2>fd.err
	rc=$?
	if [ "$rc" -eq 0 ]; then
		is "ulimit -n $n: exit 0, published" "$(nlog)" $((before + 1))
		is "ulimit -n $n: cursor moved" "$(get)" "$q"
	else
		is "ulimit -n $n: exit $rc, nothing published" "$(nlog)" \
		    "$before"
		ok "ulimit -n $n: no commit left half-done" \
		    test ! -e state/auth.intent
		is "ulimit -n $n: cursor unchanged" "$(get)" "$p"
		grepq "ulimit -n $n: says why" 'Too many open files' fd.err
		status "ulimit -n $n: the same stream later" 0 \
		    duo-ckpt commit auth <s
	fi
done

# ---- a full -a target: no torn or uncommitted line, ever ----
mkdir full
{ head -c 102400 /dev/zero | tr '\0' 'x' | fold -w 99; echo; } >full/sink.log
size0=$(wc -c <full/sink.log)
{ begin '{}'; echo f1; echo f2; end "$(c 1)" 2; x 0; } >sf
# RLIMIT_FSIZE: no file may grow past 200 blocks of 512 bytes.
(ulimit -f 200 && exec duo-ckpt -d full/st commit -a full/sink.log auth) \
    <sf 2>full.err
is "over the file size limit: exit 1" "$?" 1
grepq "it says there is no room" 'no room for 6 more bytes' full.err
is "the target was not touched" "$(wc -c <full/sink.log)" "$size0"
status "with room again the pending commit completes" 0 \
    duo-ckpt -d full/st get auth
is "appended once" "$(tail -n 2 full/sink.log | tr '\n' ' ')" "f1 f2 "
# A small tmpfs, when this system lets us mount one.
mkdir mnt
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=64k tmpfs mnt 2>/dev/null
then
	{ head -c 50000 /dev/zero | tr '\0' y | fold -w 99; echo; } >mnt/sink.log
	{ head -c 30000 /dev/zero | tr '\0' z | fold -w 99; echo; } >big
	{ begin '{}'; cat big; end "$(c 1)" "$(wc -l <big)"; x 0; } >sb
	s0=$(wc -c <mnt/sink.log)
	duo-ckpt -d tst commit -a mnt/sink.log auth <sb 2>tm.err
	is "a full tmpfs: exit 1" "$?" 1
	grepq "no room" 'no room for' tm.err
	is "a full tmpfs: the target was not touched" \
	    "$(wc -c <mnt/sink.log)" "$s0"
	ok "a full tmpfs: it ends in a whole line" sh -c \
	    "tail -c 1 mnt/sink.log | od -An -c | grep -q '\\\\n'"
	umount mnt
else
	skip "a full tmpfs" "cannot mount one here"
fi

# ---- the output directory deleted and made again mid-commit ----
rm -rf state out
{ begin '{}'; echo v1; end "$(c 1)" 1; x 0; } >sv
DUO_CKPT_CRASH_AT=3 duo-ckpt commit auth <sv 2>/dev/null
is "killed before publishing" "$?" 137
rm -rf out
mkdir out
status "recovery copes" 0 duo-ckpt get auth
grepq "and says what it did" \
    'auth: .*gone \(output directory deleted or replaced\?\): undid the interrupted commit 1; its records will be fetched again' \
    "$T/.err"
is "the cursor did not move" "$(cat "$T/.out")" '{}'
ok "no intent left" test ! -e state/auth.intent
status "the next run publishes" 0 duo-ckpt commit auth <sv
is "once" "$(cat out/*.log)" v1

# ---- a missing or unusable output directory: exit 2, path, reason ----
status "-o below a missing directory" 2 duo-ckpt commit -o no/such auth <sv
grepq "path and reason" '^duo-ckpt: output directory no/such: No such file or directory$' "$T/.err"
echo file >notdir
status "-o naming a file" 2 duo-ckpt commit -o notdir auth <sv
grepq "not a directory" 'output directory notdir: not a directory' "$T/.err"
status "-a below a missing directory" 2 duo-ckpt commit -a no/such.log auth <sv
grepq "-a path" 'no/such.log' "$T/.err"

# ---- the exit line ----
rm -rf state out
{ begin '{}'; echo e1; mark "$(c 1)" 1; echo e2; x 3; } >se
status "exit status 3 upstream: 3" 3 duo-ckpt commit auth <se
is "published to the mark" "$(cat out/*.log)" e1
{ begin "$(c 1)"; echo e2; mark "$(c 2)" 1; echo e3; x 1; } >se
status "exit status 1 upstream: 1" 1 duo-ckpt commit auth <se
{ begin "$(c 2)"; echo e3; mark "$(c 3)" 1; x 0 more; } >se
status "a budget stop (more): 0" 0 duo-ckpt commit auth <se
{ begin "$(c 3)"; echo e4; mark "$(c 4)" 1; echo e5; } >se
status "no exit line: 3" 3 duo-ckpt commit auth <se
is "the message" "$(cat "$T/.err")" \
    'duo-ckpt: auth: stream ended without an exit line (upstream killed?)'
{ begin "$(c 4)"; echo e5; end "$(c 5)" 1; x 0; echo late; } >se
status "a line after the exit line: 1" 1 duo-ckpt commit auth <se
is "every record once, in order" "$(cat out/*.log | tr '\n' ' ')" \
    "e1 e2 e3 e4 e5 "

# ---- signals: read on (5 s at most), publish to the last mark, exit 3 ----
rm -rf state out
mkfifo f1
duo-ckpt commit auth <f1 2>sig.err &
pid=$!
exec 3>f1
{ begin '{}'; echo g1; mark "$(c 1)" 1; echo g2; } >&3
sleep 0.5
kill -TERM "$pid"
sleep 0.3
{ mark "$(c 2)" 1; echo g3; } >&3
exec 3>&-
wait "$pid"
is "SIGTERM, then the stream ends: exit 3" "$?" 3
grepq "says why" 'interrupted by a signal: published up to the last mark' \
    sig.err
is "everything up to the last mark" "$(cat out/*.log | tr '\n' ' ')" "g1 g2 "
is "cursor of the last mark" "$(get)" "$(c 2)"
mkfifo f2
duo-ckpt commit auth <f2 2>sig.err &
pid=$!
exec 4>f2
{ begin "$(c 2)"; echo h1; mark "$(c 3)" 1; echo h2; } >&4
sleep 0.5
t0=$(date +%s)
kill -INT "$pid"
wait "$pid"
rc=$?
t1=$(date +%s)
exec 4>&-
is "SIGINT, the stream stays open: exit 3" "$rc" 3
ok "after the grace period ($((t1 - t0)) s)" test $((t1 - t0)) -le 7
is "published to the last mark" "$(get)" "$(c 3)"
finish
