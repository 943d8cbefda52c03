#!/bin/sh
# Windows (make check-windows): lib/compat_win.c under wine, through
# tests/win/compat-test.c (built here with mingw-w64): UTF-8 arguments,
# environment and file names, binary standard I/O, files opened with
# delete sharing (renamed and removed while open, where the CRT's open
# refuses), replace-rename, locks between two processes, positioned I/O
# past 4 GiB in a sparse file, directory listing, absolute paths, the
# calendar, the system zone's historical offsets, and the duo.conf ACL
# check.  Where wine 8 differs from Windows 10 the script says so.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"
if [ -z "${DUO_WINE:-}" ] || [ -z "${DUO_WIN_EXE:-}" ]; then
	skip "compat on Windows" "not under wine (make check-windows runs it)"
	finish
fi
DEPS=$TOP/build/mingw/prefix
CC=${WIN_CC:-x86_64-w64-mingw32-gcc}
[ -f "$DEPS/lib/libcrypto.a" ] ||
    { skip "compat on Windows" "no $DEPS/lib/libcrypto.a"; finish; }
X=$DUO_WIN_EXE/test/compat-test.exe
SRC="$TOP/tests/win/compat-test.c $TOP/lib/compat_win.c $TOP/lib/util.c
$TOP/lib/conf.c"
mkdir -p "$DUO_WIN_EXE/test"
# shellcheck disable=SC2086
if [ ! -f "$X" ] ||
    [ -n "$(find $SRC "$TOP"/lib/*.h -newer "$X" 2>/dev/null)" ]; then
	# shellcheck disable=SC2086
	ok "compat-test.exe builds" "$CC" -std=c99 -D_POSIX_C_SOURCE=200809L \
	    -D_DEFAULT_SOURCE -DOPENSSL_API_COMPAT=30000 \
	    -DOPENSSL_NO_DEPRECATED -Wall -Wextra -pedantic -Werror \
	    -D_FILE_OFFSET_BITS=64 -D__USE_MINGW_ANSI_STDIO=1 -O1 \
	    -I"$DEPS/include" -I"$DUO_WIN_EXE/include" -o "$X" $SRC \
	    "$DEPS/lib/libcrypto.a" -static -lws2_32 -lcrypt32 -lbcrypt \
	    -ladvapi32 -lshell32 -luser32
fi
[ -f "$X" ] || { echo "Bail out! no compat-test.exe"; exit 1; }
cd "$T" || exit 1

# ct ARGS...: compat-test under wine.  wine reads the Unix command line
# in the locale's code set, so UTF-8 for the non-ASCII cases.
ct() {
	LC_ALL=C.UTF-8 "$DUO_WINE" "$X" "$@"
}

crs() {
	tr -d -c '\r' <"$1" | wc -c | tr -d ' '
}

# ---- arguments and environment arrive as UTF-8 ----
status "argv: exit 0" 0 ct argv 'héllo wörld' '✓ "q" \x' ''
printf '%s\n' 'héllo wörld' '✓ "q" \x' '' >want
same "argv: UTF-8, quotes and empty arguments as given" "$T/.out" want
DUO_X='C:\Users\Jörg ✓'
export DUO_X
status "env: exit 0" 0 ct env DUO_X
is "env: UTF-8 value" "$(cat "$T/.out")" 'C:\Users\Jörg ✓'
status "env wipe: exit 0" 0 ct wipe DUO_X
is "env wipe: all 18 bytes overwritten, gone from every copy" \
    "$(cat "$T/.out")" "xxxxxxxxxxxxxxxxxx gone gone gone"
unset DUO_X

# ---- binary standard I/O ----
status "stdio: exit 0" 0 ct lines
is "stdout: LF, no CR" "$(crs "$T/.out")" 0
is "stdout: every line" "$(tr '\n' ' ' <"$T/.out")" "one two three four "
is "stderr: LF, no CR" "$(crs "$T/.err")" 0
printf 'a\r\nb\032c\nlast' >bin
ct cat <bin >bin.out 2>/dev/null
same "stdin to stdout: CR and Ctrl-Z are bytes" bin.out bin
{
	printf 'short\n\n'
	i=0
	while [ "$i" -lt 40 ]; do printf '0123456789'; i=$((i + 1)); done
	printf '\nno newline'
} >lines.txt
status "getdelim: exit 0" 0 ct getdelim lines.txt
is "getdelim: each line, LF kept, the last without" \
    "$(tr '\n' ' ' <"$T/.out")" "6 1 401 10 "

# ---- UTF-8 file names go to the wide API ----
status "create a non-ASCII name" 0 ct create 'été ✓.txt' 'données'
ok "the Unix name is the same UTF-8" test -f 'été ✓.txt'
status "read it back" 0 ct read 'été ✓.txt'
is "its contents" "$(cat "$T/.out")" 'données'
status "create refuses an existing file (EXCL)" 1 ct create 'été ✓.txt'
mkdir 'dïr'
: >'dïr/ä' && : >'dïr/b'
status "list a directory" 0 ct ls 'dïr'
is "its names, UTF-8, without . and .." "$(sort "$T/.out" | tr '\n' ' ')" \
    "b ä "

# ---- delete sharing: rename and remove while open ----
status "share: exit 0" 0 ct share held other
cp "$T/.out" share.out
grepq "a file open elsewhere can be renamed" '^rename held file: ok$' \
    share.out
grepq "and a new file take its name" '^new file under the old name: ok$' \
    share.out
grepq "the holder still reads the old data" '^held file still reads old$' \
    share.out
grepq "a file open elsewhere can be removed" '^unlink held file: ok$' \
    share.out
grepq "the CRT's own open() blocks the rename (the trap)" \
    '^crt open: rename refused$' share.out
# Windows 10 1607+ (POSIX rename and delete semantics) says ok to both;
# wine 8 has neither.
sed -n 's/^\(over held\|recreate while held\): /# wine: &/p' share.out

# ---- replace-rename, rename without replacing, unlink ----
printf 'one\n' >r1
printf 'two\n' >r2
status "rename replaces an existing file" 0 ct rename r1 r2
is "the target has the new contents" "$(cat r2)" one
ok "the source is gone" test ! -e r1
printf 'three\n' >r3
status "rename-new refuses an existing target" 1 ct rename-new r3 r2
grepq "saying so" 'r2: exists already' "$T/.err"
is "the target is unchanged" "$(cat r2)" one
status "rename-new to a free name" 0 ct rename-new r3 r4
is "moved" "$(cat r4)" three
status "unlink" 0 ct unlink r4
is "unlink: 0 removed" "$(cat "$T/.out")" 0
status "unlink a missing file" 0 ct unlink r4
is "unlink: 1 not there" "$(cat "$T/.out")" 1
chmod 444 r2
status "unlink a read-only file, as on POSIX" 0 ct unlink r2
ok "gone" test ! -e r2

# ---- directories ----
status "mkdir" 0 ct mkdir nd
is "mkdir: 1 created" "$(cat "$T/.out")" 1
status "mkdir again" 0 ct mkdir nd
is "mkdir: 0 there already" "$(cat "$T/.out")" 0
: >nf
status "mkdir over a file" 1 ct mkdir nf
grepq "mkdir: not a directory" 'nf: not a directory' "$T/.err"
status "fsync of a directory" 0 ct fsyncdir nd
status "lstat of a directory" 0 ct lstat nd
is "lstat: dir" "$(cat "$T/.out")" "dir 0"
status "compat_open refuses a directory" 1 ct read nd
grepq "saying what it is" 'nd: is a directory, not a regular file' \
    "$T/.err"
status "lstat of a missing file" 1 ct lstat nope
is "lstat: ENOENT" "$(cat "$T/.out")" missing

# ---- absolute paths: drive letters, both separators ----
status "abspath of a relative name" 0 ct abspath x
case $(cat "$T/.out") in
[A-Z]:/*/x) _pass "abspath: drive letter, '/' between names, name kept" ;;
*) _fail "abspath: drive letter, '/' between names, name kept"
	diag "$T/.out" ;;
esac
status "abspath with / and \\ and .." 0 ct abspath 'nd/../nd\y'
case $(cat "$T/.out") in
[A-Z]:/*/nd/y) _pass "abspath: separators and .. resolved" ;;
*) _fail "abspath: separators and .. resolved"
	diag "$T/.out" ;;
esac
status "abspath of a directory with a trailing \\" 0 ct abspath "nd\\"
case $(cat "$T/.out") in
[A-Z]:/*/nd) _pass "abspath: the trailing separator dropped" ;;
*) _fail "abspath: the trailing separator dropped"
	diag "$T/.out" ;;
esac
status "abspath of C:/windows/../x" 0 ct abspath 'C:/windows/../x'
is "abspath: C:/x" "$(cat "$T/.out")" 'C:/x'
status "abspath: the directory must exist" 1 ct abspath nope/x

# ---- locks between two processes ----
ct lock lk 4 >lock1.out 2>&1 &
p1=$!
i=0
while [ "$i" -lt 100 ] && ! grep -q locked lock1.out 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
is "first process takes the lock" "$(cat lock1.out)" locked
status "second process: busy, at once" 3 ct lock lk 0
is "busy" "$(cat "$T/.out")" busy
status "the locked file's data stays readable" 0 ct read lk
wait "$p1"
status "after the holder ended: free" 0 ct lock lk 0

# ---- waiting for input on a pipe ----
# Windows: "0 1 3 1 0" (times out, data, read 3, end of input, read 0).
# wine 8 cannot peek a Unix pipe (ERROR_NOT_SUPPORTED): "ready" at once.
(sleep 2; printf 'abc') | ct waitread >wr.out 2>&1
grepq "wait: data, read, end of input, read 0" '^[01] 1 3 1 0$' wr.out
sed -n 's/^1 1 3 1 0$/# wine: no timeout on a Unix pipe: &/p' wr.out

# ---- console control events (wine turns SIGINT into Ctrl-C) ----
(sleep 4 | ct sigread >sig.out 2>&1) &
p1=$!
i=0
while [ "$i" -lt 100 ] && ! grep -q waiting sig.out 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
pid=$(pgrep -f "$X sigread" | head -n 1)
[ -n "$pid" ] && kill -INT "$pid"
wait "$p1"
# Windows cancels the blocked ReadFile (EINTR); wine 8 does not, and
# the read ends with the input.
grepq "Ctrl-C sets the flag to SIGINT, the process goes on" \
    '^read -?[0-9]+ errno [A-Za-z]+ sig 2$' sig.out
sed -n 's/^read .*/# wine: &/p' sig.out

# ---- positioned I/O past 4 GiB, sparse ----
status "pio: exit 0" 0 ct pio big
cp "$T/.out" pio.out
printf '%s\n' '0 head' '4294967294 ABAB' '4294967296 ABCD' \
    '5368709127 ABCD' 'size 5368709131' 'truncated 4294967300' \
    'reserved, size 4294967300' >want
same "pread/pwrite at 64-bit offsets, the file position untouched" \
    pio.out want
is "64-bit size on the Unix side" "$(wc -c <big | tr -d ' ')" 4294967300
blocks=$(du -k big | cut -f1)
if [ "$blocks" -lt 1024 ]; then
	_pass "sparse: $blocks KiB on disk"
else
	_fail "sparse: $blocks KiB on disk"
fi
rm -f big

# ---- the calendar and the system zone ----
status "gmtime/timegm against the CRT from 1970 to 3000" 0 ct time
grepq "every sample checked" '^ok [0-9]+$' "$T/.out"
# America/New_York: 2006-11-01 was EST under the pre-2007 rules, 2007-11-01
# EDT under the new ones; wine follows the Unix zone (TZ).
TZ=America/New_York
export TZ
status "system zone: per-year rules" 0 ct utcoff 1162382400 1193918400 \
    1782907200
printf '%s\n' '1162382400 -18000 0' '1193918400 -14400 1' \
    '1782907200 -14400 1' >want
same "system zone: historical offsets and DST flags" "$T/.out" want
TZ=Europe/Berlin
status "system zone: Berlin" 0 ct utcoff 1174392000 1782907200
unset TZ
printf '%s\n' '1174392000 3600 0' '1782907200 7200 1' >want
same "system zone: Berlin offsets" "$T/.out" want

# ---- duo.conf: the skey file's ACL ----
printf '[duo]\nikey = DIXXXXXXXXXXXXXXXXXX\nskey = %s\nhost = %s\n' \
    abcdefghijabcdefghijabcdefghijabcdefghij api-x.duosecurity.com \
    >c.conf
chmod 600 c.conf
status "conf: owner only: loaded" 0 ct conf c.conf
ok "ACL: grant Everyone read" ct acl c.conf everyone
status "compat_file_is_shared sees it" 0 ct shared c.conf
is "shared" "$(cat "$T/.out")" shared
status "conf: refused" 1 ct conf c.conf
grepq "with the icacls command that fixes it" \
    '^c\.conf: holds the skey but is readable by others; run: icacls "c\.conf" /inheritance:r /remove:g \*S-1-1-0 /grant:r \*S-1-3-4:F \*S-1-5-18:R \*S-1-5-32-544:R$' \
    "$T/.out"
nogrep "the skey is not in the message" abcdefghij "$T/.out"
ok "ACL: owner, SYSTEM, Administrators" ct acl c.conf private
status "conf: loaded again" 0 ct conf c.conf

# ---- a state directory others may write to ----
mkdir sd
chmod 700 sd
status "dir_private: owner only" 0 ct dirpriv sd
chmod 777 sd
status "dir_private: writable by Everyone" 1 ct dirpriv sd
grepq "refused with an icacls fix" \
    '^sd: writable by others than its owner, SYSTEM and Administrators: run icacls "sd" /inheritance:r /remove:g \*S-1-1-0 ' \
    "$T/.out"
chmod 700 sd
finish
