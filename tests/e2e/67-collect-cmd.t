#!/bin/sh
# duo-collect.cmd under wine's cmd.exe (make check-windows).  Part 1:
# its own logic, against stub .exe files built here with mingw (the C
# source is below) that record their arguments: options, default kinds
# and order, budget shares, paths with spaces, parentheses, & and ^ in
# the install folder and in arguments, relative arguments
# taken from the script's folder and not the working directory, exit
# statuses carried by the exit line through the pipe, the worst status
# as exit /b, busy kinds skipped, the stop after a first kind with no
# progress, usage and configuration errors (2), no cursor file left in
# TEMP.  Part 2: the real .exe files against the fake Duo, installed in
# such a folder: a run, a second run that adds nothing, the health line,
# a backlog drained across runs by the budget, a wrong host failing
# fast.  (71-win-collect.t kills runs at random.)
#
# wine 8 notes: "cmd /c PATH" cannot start a batch whose path holds "&"
# or "^" (wine's quoting), so the tests start it from a one-line
# launcher batch, as a shortcut or Task Scheduler would; wine 8's cmd
# expands a "%" again inside %1 and %~dp0 (real cmd.exe does not), so no
# path here holds "%"; wine's %TIME% is "10:03 PM", which the script does
# not take for a clock, so every kind gets an equal share of the budget.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"
[ -n "${DUO_WINE:-}" ] ||
    { skip "duo-collect.cmd" "not under wine (make check-windows runs it)"; finish; }
cc=${WIN_CC:-x86_64-w64-mingw32-gcc}
command -v "$cc" >/dev/null 2>&1 ||
    { skip "duo-collect.cmd" "no $cc"; finish; }
cd "$T" || exit 1

# winp PATH: the wine (Z:) name of a Linux path.
winp() {
	printf 'Z:%s' "$1" | tr / '\134'
}

cat >stub.c <<'EOC'
/* A stand-in for duo-get.exe, duo-fmt.exe and duo-ckpt.exe. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

static int
envint(const char *pre, const char *kind)
{
	char name[64];
	const char *v;

	snprintf(name, sizeof name, "%s%s", pre, kind);
	v = getenv(name);
	return v != NULL ? atoi(v) : 0;
}

static int
rank(int s)
{
	return s == 0 ? 0 : s == 3 ? 1 : s == 1 ? 2 : 3;
}

int
main(int argc, char *argv[])
{
	const char *log = getenv("STUB_LOG"), *kind = argv[argc - 1];
	const char *base = strrchr(argv[0], '\\');
	char tool[64], line[65536], done[1024];
	int i, rc, ex = -1;
	FILE *fp;

	base = base != NULL ? base + 1 : argv[0];
	snprintf(tool, sizeof tool, "%s", base);
	if (strchr(tool, '.') != NULL)
		*strchr(tool, '.') = '\0';
	if (log != NULL && (fp = fopen(log, "a")) != NULL) {
		fputs(tool, fp);
		for (i = 1; i < argc; i++)
			fprintf(fp, " %s", argv[i]);
		fputc('\n', fp);
		fclose(fp);
	}
	snprintf(done, sizeof done, "%s.done-%s", log ? log : "x", kind);
	if (strcmp(tool, "duo-fmt") == 0) {
		while (fgets(line, sizeof line, stdin) != NULL)
			fputs(line, stdout);
		return 0;
	}
	if (strcmp(tool, "duo-get") == 0) {
		if (fgets(line, sizeof line, stdin) == NULL)
			return 2;
		line[strcspn(line, "\r\n")] = '\0';
		rc = envint("STUB_RC_", kind);
		printf("{\"@duo\":\"begin\",\"v\":1,\"kind\":\"%s\","
		    "\"host\":\"h\",\"cursor\":%s}\n", kind, line);
		printf("{\"@duo\":\"exit\",\"status\":%d}\n", rc);
		fflush(stdout);
		Sleep(1000 * envint("STUB_SLEEP", ""));
		return rc;
	}
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "commit") == 0)
			break;
	if (i == argc) {	/* get */
		if (getenv("STUB_MOVE") != NULL &&
		    (fp = fopen(done, "r")) != NULL) {
			fclose(fp);
			puts("{\"moved\":1}");
		} else
			puts("{}");
		return envint("STUB_GET_", kind);
	}
	while (fgets(line, sizeof line, stdin) != NULL)
		if (strncmp(line, "{\"@duo\":\"exit\",\"status\":", 24) == 0)
			ex = atoi(line + 24);
	if ((fp = fopen(done, "w")) != NULL)
		fclose(fp);
	rc = envint("STUB_COMMIT_", kind);
	if (ex == -1)
		ex = 3;
	return rank(ex) > rank(rc) ? ex : rc;
}
EOC
if ! "$cc" -std=c99 -Wall -Wextra -Werror -O2 -o stub.exe stub.c 2>cc.err; then
	ok "stub tools compile" false
	diag cc.err
	finish
fi

I="$T/Program Files (x86)/duo & co ^x"
mkdir -p "$I" "$T/elsewhere"
for t in duo-get duo-fmt duo-ckpt; do
	cp stub.exe "$I/$t.exe"
done
cp "$TOP/duo-collect.cmd" "$I/"
: >"$I/duo.conf"
: >"$I/rel.conf"
H=$(winp "$I")
# The launcher: one line, the script's path quoted, "%" doubled.
printf '@"%s" %%*\r\n' "$(winp "$I/duo-collect.cmd" | sed 's/%/%%/g')" \
    >run.cmd
RUN=$(winp "$T/run.cmd")
STUB_LOG=$(winp "$T/log")
export STUB_LOG

# c STATUS DESC ARGS...: a fresh log, duo-collect.cmd ARGS from
# elsewhere/ (never the script's folder), which must exit STATUS.
c() {
	_w=$1 _d=$2
	shift 2
	rm -f "$T"/log "$T"/log.done-*
	: >"$T/log"
	(cd "$T/elsewhere" && "$DUO_WINE" cmd /c "$RUN" "$@") \
	    >"$T/.out" 2>"$T/.err"
	_got=$?
	# (lib.sh's ok() writes $T/.err: the messages go to $T/err.)
	tr -d '\r' <"$T/.err" | sed 's/ *$//' >"$T/err"
	tr -d '\r' <"$T/log" >"$T/log2"
	if [ "$_got" -eq "$_w" ]; then
		ok "$_d" true
	else
		ok "$_d (exit $_got, wanted $_w)" false
		diag "$T/err"
	fi
}
calls() {	# calls TOOL: its argument lists
	sed -n "s/^$1 //p" "$T/log2"
}
kinds() {	# the kinds duo-get ran for, in order
	calls duo-get | sed 's/.* //' | tr '\n' ' '
}

c 0 "defaults: exit 0"
is "default kinds, busiest last" "$(kinds)" "admin telephony activity auth "
is "quiet" "$(cat "$T/err")" ""
is "get: conf from the script's folder, a share of 240 s, pace file" \
    "$(calls duo-get | sed -n 1p)" \
    "-C -c $H\\duo.conf -T 60 -R $H\\state\\admin.pace -s - admin"
is "fmt: mpe" "$(calls duo-fmt | sed -n 1p)" "-f mpe"
is "commit: state and out beside the script, -t 60, -H for mpe" \
    "$(calls duo-ckpt | grep ' commit ' | sed -n 1p)" \
    "-d $H\\state commit -o $H\\out -t 60 -H admin"
ok "no cursor file left in TEMP" \
    test -z "$(find "$WINEPREFIX/drive_c" -name 'duo-collect-*.cursor*' 2>/dev/null)"

# The clock: %TIME% as Windows gives it (an environment variable TIME
# stands in for it, frozen): each kind gets the time left over the kinds
# left.  Without a clock (wine's "10:03 PM"), equal shares.
TIME=" 9:05:03.12" c 0 "a Windows %TIME%"
is "shares of the time left" \
    "$(calls duo-get | sed 's/.* -T \([0-9]*\) .*/\1/' | tr '\n' ' ')" "60 80 120 240 "
TIME="10:03 PM" c 0 "a %TIME% that is no clock"
is "equal shares" \
    "$(calls duo-get | sed 's/.* -T \([0-9]*\) .*/\1/' | tr '\n' ' ')" "60 60 60 60 "

mkdir -p "$I/st" "$I/out dir"
c 0 "every option, relative paths" -v -c rel.conf -d st -o "out dir" \
    -f json -k 14 -S 7d -t 10 -T 90 auth telephony
is "get options" "$(calls duo-get | sed -n 1p)" \
    "-C -v -c $H\\rel.conf -S 7d -T 45 -R $H\\st\\auth.pace -s - auth"
is "fmt options" "$(calls duo-fmt | sed -n 1p)" "-f json"
is "commit options, no -H for json" \
    "$(calls duo-ckpt | grep ' commit ' | sed -n 1p)" \
    "-d $H\\st commit -o $H\\out dir -t 10 -k 14 auth"
c 0 "-H with json, -T 0" -H -f json -T 0 auth
is "-H passed, no -T" "$(calls duo-get | sed -n 1p)" \
    "-C -c $H\\duo.conf -R $H\\state\\auth.pace -s - auth"
grepq "-H on the commit" ' commit .* -H auth$' "$T/log2"

# Hostile characters in argument paths.  The arguments are written into
# a launcher batch, since wine passes an argument with "&" unquoted when
# it has no space.  No "%": wine 8's cmd expands "%" again inside the
# value of %1 and %~dp0 (real cmd.exe does not), so a "%" in a path
# cannot be tested here.
X="$T/a & b ^c (1)"
mkdir -p "$X"
XW=$(winp "$X")
printf '@"%s" -d "%s\\st" -o "%s\\out" auth\r\n' \
    "$(winp "$I/duo-collect.cmd")" "$XW" "$XW" >runx.cmd
RUNSAVE=$RUN
RUN=$(winp "$T/runx.cmd")
c 0 "& ^ ( ) in -d and -o"
RUN=$RUNSAVE
is "paths passed as given" "$(calls duo-ckpt | grep ' commit ')" \
    "-d $(winp "$X")\\st commit -o $(winp "$X")\\out -t 60 -H auth"
c 0 "a trailing backslash is dropped (it would escape the quote)" \
    -o "$(winp "$T")\\out\\" auth
grepq "no trailing backslash" "commit -o .*\\\\out -t 60" "$T/log2"

# Usage and configuration errors.
c 2 "unknown option" -x
is "usage mirrors the man page" "$(cat "$T/err")" \
    "usage: duo-collect [-Hv] [-c conf] [-d statedir] [-f format] [-k days] [-o outdir] [-S since] [-t seconds] [-T seconds] [kind ...]"
c 2 "unknown kind" auth nope
is "kind named" "$(cat "$T/err")" "duo-collect: nope: unknown kind"
c 2 "unknown format" -f xml
c 2 "bad number" -T 1x
grepq "named" '^duo-collect: -T 1x: not a number$' "$T/err"
c 2 "leading zero (octal to set /a)" -t 010
c 2 "-k 0" -k 0 auth
is "said" "$(cat "$T/err")" "duo-collect: -k 0: keep published files at least 1 day"
c 2 "output directory's parent missing" -o "nodir\\out"
is "path and reason" "$(cat "$T/err")" \
    "duo-collect: $H\\nodir\\out: output directory: its parent does not exist"
c 2 "missing conf" -c nope.conf auth
grepq "conf named" 'nope.conf: no such file$' "$T/err"
is "nothing ran" "$(cat "$T/log2")" ""
mv "$I/duo-fmt.exe" "$I/duo-fmt.off"
c 2 "missing tool" auth
grepq "tool named" 'duo-fmt.exe: not found$' "$T/err"
mv "$I/duo-fmt.off" "$I/duo-fmt.exe"

# Statuses, through the exit line and the pipe.
STUB_RC_auth=3 c 3 "duo-get 3 reaches the pipe's status" auth
STUB_RC_auth=1 c 1 "duo-get 1" auth
STUB_COMMIT_auth=2 c 2 "commit 2" auth
STUB_RC_admin=3 STUB_MOVE=1 STUB_COMMIT_telephony=1 c 1 "1 beats 3" admin telephony auth
STUB_RC_admin=1 STUB_RC_telephony=2 c 2 "2 beats 1" admin telephony auth
STUB_RC_telephony=3 c 3 "3 beats 0" admin telephony auth
grepq "named" '^duo-collect: telephony: exited 3$' "$T/err"
is "later kinds still ran" "$(kinds)" "admin telephony auth "
STUB_GET_admin=3 c 0 "busy kind skipped, exit 0" admin auth
is "notice" "$(cat "$T/err")" "duo-collect: admin: skipped: another run is collecting it"
is "admin not fetched" "$(kinds)" "auth "
STUB_GET_admin=1 c 1 "get failing" admin auth
STUB_RC_admin=3 c 3 "first kind, no progress: stop"
is "only admin ran" "$(kinds)" "admin "
grepq "says so" '^duo-collect: admin: no progress; not trying the other kinds$' "$T/err"
STUB_RC_admin=3 STUB_MOVE=1 c 3 "first kind 3 with progress: go on"
is "all ran" "$(kinds)" "admin telephony activity auth "
ok "no cursor file left in TEMP" \
    test -z "$(find "$WINEPREFIX/drive_c" -name 'duo-collect-*.cursor*' 2>/dev/null)"

# ---- Part 2: the real tools ----
if [ -z "${DUO_WIN_EXE:-}" ] || [ ! -f "$DUO_WIN_EXE/duo-get.exe" ]; then
	skip "the real .exe files" "DUO_WIN_EXE has no duo-get.exe"
	finish
fi
fake_start --records auth=900,admin=30,telephony=30,activity=30 \
    --max-records-per-page auth=100 --latency 300 ||
    { echo "Bail out! no fake"; exit 1; }
for t in duo-get duo-fmt duo-ckpt duo-sign; do
	cp "$DUO_WIN_EXE/$t.exe" "$I/"
done
[ -d "$DUO_WIN_EXE/zoneinfo" ] && cp -R "$DUO_WIN_EXE/zoneinfo" "$I/"
cp "$FAKE/duo.conf" "$I/duo.conf"
chmod 600 "$I/duo.conf"
unset STUB_LOG
rm -rf "$I/state" "$I/out"
records() {	# records KIND: what out\ holds for KIND, sorted
	cat "$I"/out/duo-"$1"-*.log 2>/dev/null | tr -d '\r' |
	    sed 's/^{"duo_time":"[^"]*",/{/' | sort
}
c 0 "real tools: a run of three kinds" -f json -T 0 admin telephony activity
for k in admin telephony activity; do
	records "$k" >got
	sort "$FAKE/data/$k.ndjson" >want
	same "$k: every record" got want
done
c 0 "a second run adds nothing" -f json admin telephony activity
records admin >got
sort "$FAKE/data/admin.ndjson" >want
same "admin: still once" got want
# The budget: auth's 10 pages of 0.3 s, 2 s per run.
runs=0
while [ "$runs" -lt 10 ]; do
	runs=$((runs + 1))
	c 0 "auth, run $runs within a 2 s budget: exit 0" -f json -T 2 auth
	records auth >got
	[ "$(wc -l <got)" -ge 900 ] && break
done
ok "the backlog took several runs ($runs)" test "$runs" -ge 2
sort "$FAKE/data/auth.ndjson" >want
same "auth: every record exactly once" got want
c 0 "mpe: the default, with health lines" -o mpe telephony
cat "$I"/mpe/duo-telephony-*.log >mpe.out
grepq "a STATUS line for telephony" \
    ' DUO STATUS \|utc=[^|]*\|kind=telephony\|result=ok\|status=0\|' mpe.out
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
sed "s/^host *=.*/host = 127.0.0.1:$port/" "$FAKE/duo.conf" >"$I/closed.conf"
chmod 600 "$I/closed.conf"
t0=$(date +%s)
c 3 "a closed port: exit 3" -c closed.conf -d st-closed -o out-closed
ok "within 30 s ($(($(date +%s) - t0)) s)" test $(($(date +%s) - t0)) -le 30
grepq "only the first kind tried" \
    '^duo-collect: admin: no progress; not trying the other kinds$' "$T/err"
# duo-get's configuration error (2) reaches the pipe's status through
# its exit line, though it never wrote a begin line.
grep -v '^skey' "$FAKE/duo.conf" >"$I/noskey.conf"
c 2 "a conf without skey: exit 2" -c noskey.conf -d st-noskey -o out-noskey auth
grepq "duo-get says why" '^duo-get: .*skey' "$T/err"
finish
