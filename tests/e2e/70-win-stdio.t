#!/bin/sh
# Windows (.exe under wine, make check-windows): binary standard I/O (no
# CRLF out, no Ctrl-Z end of file in), paths with spaces, parentheses and
# non-ASCII letters, exit codes as the tools return them.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"
[ -n "${DUO_WINE:-}" ] ||
    { skip "Windows stdio" "not under wine (make check-windows runs it)"; finish; }
FX=$TOP/tests/fixtures/fmt/dst
cd "$T" || exit 1

crs() {
	tr -d -c '\r' <"$1" | wc -c | tr -d ' '
}

status "duo-fmt.exe: exit 0" 0 duo-fmt -z America/New_York \
    "$FX/America_New_York.ndjson"
cp "$T/.out" out1
is "stdout: no CR" "$(crs out1)" 0
is "stdout: one line per record" "$(wc -l <out1 | tr -d ' ')" \
    "$(wc -l <"$FX/America_New_York.ndjson" | tr -d ' ')"
cut -c1-19 out1 >got
cut -c1-19 "$FX/America_New_York.expect" >want
same "stdout: the right local times" got want

# Standard input, binary: CRLF input is not a text-mode artefact, and a
# raw Ctrl-Z (0x1a) is a byte, not the end of the input.
duo-fmt -z America/New_York <"$FX/America_New_York.ndjson" >out2 2>err2
is "stdin: same as a file argument" "$(cmp out1 out2 && echo same)" same
{
	sed -n 1p "$FX/America_New_York.ndjson"
	printf '{"txid":"ctrlz","factor":"\032","timestamp":1678604399}\n'
	sed -n 2p "$FX/America_New_York.ndjson"
} >z.ndjson
duo-fmt -z UTC <z.ndjson >out3 2>err3
is "stdin: Ctrl-Z does not end the input" "$(wc -l <out3 | tr -d ' ')" 3
grepq "stdin: the record after Ctrl-Z is there" 'dst-1' out3

# Paths with spaces, parentheses, & and non-ASCII letters.
d="$T/Program Files (x86)/duo & pipe/été"
mkdir -p "$d"
cp "$FX/America_New_York.ndjson" "$d/in put (1).ndjson"
status "path with spaces, (), &, é: exit 0" 0 duo-fmt -z America/New_York \
    "$d/in put (1).ndjson"
same "path with spaces, (), &, é: same output" "$T/.out" out1
status "missing file: exit 1" 1 duo-fmt "$d/none.ndjson"
grepq "missing file: message names the UTF-8 path" \
    '^duo-fmt: .*/été/none\.ndjson: ' "$T/.err"
is "message: no CR" "$(crs "$T/.err")" 0

# Exit codes reach the caller unchanged (35-fmt-usage.t, which has
# these checks too, is not run under wine: see win/e2e-skip).
status "usage: exit 2" 2 duo-fmt -Q
is "usage: the usage line" "$(tail -n 1 "$T/.err")" \
    'usage: duo-fmt [-f mpe|json|kv|cef|legacy] [-k kind] [-z zone] [file ...]'
status "unknown format: exit 2" 2 duo-fmt -f xml
grepq "unknown format: message" '^duo-fmt: xml: unknown format$' "$T/.err"
status "unknown zone: exit 2" 2 duo-fmt -z ../../etc/passwd
status "empty input: exit 0" 0 duo-fmt </dev/null
is "empty input: no output" "$(wc -c <"$T/.out" | tr -d ' ')" 0
if [ -w /dev/full ]; then
	duo-fmt "$FX/America_New_York.ndjson" >/dev/full 2>err4
	is "write error: exit 1" "$?" 1
	grepq "write error: message" '^duo-fmt: stdout: write error: ' err4
else
	skip "write error" "no /dev/full"
fi
status "duo-ckpt usage: exit 2" 2 duo-ckpt
status "duo-get usage: exit 2" 2 duo-get -Q
status "duo-sign usage: exit 2" 2 duo-sign -Q

# duo-ckpt writes its files in binary too.
mkdir st outd
n=$(wc -l <"$FX/America_New_York.ndjson" | tr -d ' ')
{
	printf '{"@duo":"begin","v":1,"kind":"auth","host":"h","cursor":{}}\n'
	cat "$FX/America_New_York.ndjson"
	printf '{"@duo":"mark","cursor":{"kind":"auth","min":1},"n":%s}\n' "$n"
	printf '{"@duo":"end","cursor":{"kind":"auth","min":2},"n":0}\n'
	printf '{"@duo":"exit","status":0}\n'
} >s
status "duo-ckpt commit: exit 0" 0 sh -c \
    "duo-fmt -z UTC -f json <s | duo-ckpt -d st commit -o outd auth"
n=0
for f in outd/*.log; do
	[ -f "$f" ] && n=$((n + $(crs "$f")))
done
is "published files: no CR" "$n" 0

# A reader that goes away: POSIX ends duo-fmt quietly by SIGPIPE (the
# shell sees 141); the .exe, with no SIGPIPE, ends quietly with 141 too.
i=0
while [ "$i" -lt 200 ]; do
	cat "$FX/America_New_York.ndjson"
	i=$((i + 1))
done >big.ndjson
sh -c 'duo-fmt -z UTC big.ndjson 2>pipe.err; echo $? >pipe.rc' | head -n 1 >/dev/null
is "reader gone: exit 141, as SIGPIPE" "$(cat pipe.rc)" 141
is "reader gone: no message" "$(cat pipe.err)" ""
finish
