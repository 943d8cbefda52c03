#!/bin/sh
# duo-fmt never loses a line: whatever it cannot format becomes exactly
# one DUO UNPARSED line, with a warning naming the line, and exit 1.
. "$(dirname "$0")/lib.sh"
FX=$TOP/tests/fixtures/fmt
good1=$(sed -n 1p "$FX/auth.ndjson")
good2=$(sed -n 2p "$FX/auth.ndjson")
sed -n 1,2p "$FX/golden/auth.mpe" >"$T/goodout"

# bad NAME FILE-WITH-THE-BAD-LINE: wrap it between two good records
bad() {
	{ printf '%s\n' "$good1"; cat "$2"; printf '%s\n' "$good2"; } >"$T/in"
	status "$1: exit 1" 1 duo-fmt -z Europe/Berlin "$T/in"
	is "$1: three lines out" "$(wc -l <"$T/.out" | tr -d ' ')" 3
	is "$1: one UNPARSED line, the second" \
	    "$(grep -n ' DUO UNPARSED |' "$T/.out" | cut -d: -f1 | tr '\n' ' ')" \
	    "2 "
	{ sed -n 1p "$T/.out"; sed -n 3p "$T/.out"; } >"$T/ends"
	same "$1: the good records around it intact" "$T/ends" "$T/goodout"
	grepq "$1: warning names file and line" "^duo-fmt: $T/in:2: " "$T/.err"
	is "$1: one warning" "$(wc -l <"$T/.err" | tr -d ' ')" 1
	is "$1: UNPARSED line at most 65535 bytes" \
	    "$(LC_ALL=C awk 'length($0) + 1 > 65535' "$T/.out" | wc -l | tr -d ' ')" 0
	grepq "$1: UNPARSED layout" \
	    '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} DUO UNPARSED \|utc=[0-9T:-]+Z\|kind=\|file=[^|]*\|line=2\|reason=[^|]+\|raw=[^|]*\|$' \
	    "$T/.out"
}

printf '{"txid":"a","factor":"x",}\n' >"$T/l"
bad "invalid JSON" "$T/l"
printf '{"txid":"abc","factor":"du\n' >"$T/l"
bad "truncated JSON" "$T/l"
printf '\000\377\376garbage\200\033[31m|%%\r\n' >"$T/l"
bad "binary garbage" "$T/l"
grepq "binary garbage: escaped" 'raw=%00%FF%FEgarbage%80%1B\[31m%7C%25%0D\|$' "$T/.out"
{ printf '{"txid":"'; head -c 1000000 /dev/zero | tr '\0' a; echo; } >"$T/l"
bad "1 MB line" "$T/l"
grepq "1 MB line: cut marked" 'raw=\{"txid":"a+\.\.\.\[cut [0-9]+ bytes\]\|$' "$T/.out"
python3 -c 'print("[" * 10000 + "]" * 10000)' >"$T/l"
bad "10000 levels of nesting" "$T/l"
python3 -c 'print("{\"a\":" * 10000 + "1" + "}" * 10000)' >"$T/l"
bad "10000 nested objects" "$T/l"
{ head -c 5000000 /dev/zero | tr '\0' x; echo; } >"$T/l"
bad "5 MB line (over the 4 MiB cap)" "$T/l"
grepq "5 MB line: reason" 'reason=line longer than 4194304 bytes' "$T/.out"
printf '[1,2]\n' >"$T/l"
bad "JSON that is not an object" "$T/l"
printf '{"hello":"world"}\n' >"$T/l"
bad "a record of no known kind" "$T/l"
printf '{"txid":"t","factor":"duo_push"}\n' >"$T/l"
bad "a record without a time" "$T/l"
printf '{"txid":"t","factor":"duo_push","isotimestamp":"yesterday"}\n' >"$T/l"
bad "a record with a bad time" "$T/l"
printf '\n' >"$T/l"
bad "an empty line" "$T/l"

# unterminated last line: a whole JSON object is formatted, a cut one is
# UNPARSED
{ printf '%s\n' "$good1"; printf '%s' "$good2"; } >"$T/in"
status "unterminated last line, whole record: exit 0" 0 duo-fmt -z Europe/Berlin "$T/in"
same "unterminated whole record: formatted" "$T/.out" "$T/goodout"
is "unterminated whole record: no warning" "$(cat "$T/.err")" ""
{ printf '%s\n' "$good1"; printf '%s' "$good2" | head -c 100; } >"$T/in"
status "unterminated cut record: exit 1" 1 duo-fmt -z Europe/Berlin "$T/in"
is "unterminated: two lines" "$(wc -l <"$T/.out" | tr -d ' ')" 2
grepq "unterminated: UNPARSED" '^.{19} DUO UNPARSED \|.*\|line=2\|reason=no newline at end of input' "$T/.out"
grepq "unterminated: warning" "^duo-fmt: $T/in:2: no newline" "$T/.err"
printf '{"@duo":"end","cursor":{},"n":1}' >"$T/in"
status "unterminated whole control line: exit 0" 0 duo-fmt "$T/in"
is "unterminated control line: copied with LF" "$(cat "$T/.out")" \
    '{"@duo":"end","cursor":{},"n":1}'
printf '{"@duo":"end","cursor":{' >"$T/in"
status "unterminated cut control line: exit 1" 1 duo-fmt "$T/in"
grepq "unterminated cut control line: UNPARSED" ' DUO UNPARSED ' "$T/.out"
head -c 4194400 /dev/zero | tr '\0' y >"$T/in"
status "over-long unterminated line: exit 1" 1 duo-fmt "$T/in"
is "over-long unterminated line: one line" "$(wc -l <"$T/.out" | tr -d ' ')" 1

# the 4194304-byte limit, however the reads fall: a record of exactly
# that many bytes is formatted from a file and through a pipe, one byte
# more is UNPARSED both ways
for n in 4194304 4194305; do
	python3 -c '
import sys
n = int(sys.argv[1])
h = "{\"txid\":\"t\",\"factor\":\"duo_push\",\"timestamp\":1700000000,\"pad\":\""
sys.stdout.write(h + "a" * (n - len(h) - 2) + "\"}\n")' "$n" >"$T/big$n"
	is "$n: the line is $n bytes" "$(head -n 1 "$T/big$n" | wc -c | tr -d ' ')" \
	    $((n + 1))
done
status "4194304 bytes from a file: exit 0" 0 duo-fmt -z utc "$T/big4194304"
grepq "4194304 bytes from a file: formatted" ' DUO AUTH \|' "$T/.out"
# a pipe, not the file, on purpose
# shellcheck disable=SC2002
cat "$T/big4194304" | duo-fmt -z utc >"$T/o" 2>"$T/e"
is "4194304 bytes through a pipe: exit 0" "$?" 0
grepq "4194304 bytes through a pipe: formatted" ' DUO AUTH \|' "$T/o"
status "4194305 bytes from a file: exit 1" 1 duo-fmt -z utc "$T/big4194305"
grepq "4194305 bytes from a file: too long" 'reason=line longer than 4194304 bytes' "$T/.out"
# a pipe, not the file, on purpose
# shellcheck disable=SC2002
cat "$T/big4194305" | duo-fmt -z utc >"$T/o" 2>"$T/e"
is "4194305 bytes through a pipe: exit 1" "$?" 1
grepq "4194305 bytes through a pipe: too long" 'reason=line longer than 4194304 bytes' "$T/o"

# a bad time field beside a good one: the good one is used, with a
# warning; exit 0
printf '{"action":"user_update","username":"u","isotimestamp":"2024-13-45Tbad","timestamp":1700000000}\n' >"$T/in"
status "bad isotimestamp, good timestamp: exit 0" 0 duo-fmt -z utc "$T/in"
grepq "time fallback: dated from timestamp" '^2023-11-14 22:13:20 DUO ADMIN \|utc=2023-11-14T22:13:20Z\|' "$T/.out"
grepq "time fallback: warning" "^duo-fmt: $T/in:1: warning: bad time in \"isotimestamp\", used \"timestamp\"\$" "$T/.err"
printf '{"sekey":"s","ts":"never","surfaced_timestamp":1700000000123}\n' >"$T/in"
status "bad ts, good surfaced_timestamp: exit 0" 0 duo-fmt -z utc -f cef "$T/in"
grepq "time fallback: milliseconds kept" 'rt=1700000000123 ' "$T/.out"
printf '{"action":"user_update","isotimestamp":"bad","timestamp":"also bad"}\n' >"$T/in"
status "no usable time: exit 1" 1 duo-fmt -z utc "$T/in"
grepq "no usable time: UNPARSED, the first bad field named" 'reason=bad time in "isotimestamp"\|' "$T/.out"

# a file name that is not valid UTF-8 reaches no UNPARSED line raw
bad=$(printf '%s/n\377m|e' "$T")
printf 'x\n' >"$bad"
for f in mpe kv cef json legacy; do
	duo-fmt -f "$f" "$bad" >"$T/o" 2>/dev/null
	is "$f: UNPARSED line valid UTF-8 with a bad file name" \
	    "$(python3 -c 'import sys; open(sys.argv[1], encoding="utf-8").read(); print("ok")' "$T/o" 2>&1)" ok
done
duo-fmt "$bad" >"$T/o" 2>/dev/null
grepq "mpe: the name escaped" 'file=[^|]*/n%FFm%7Ce\|' "$T/o"

# stdin is named "stdin"; many bad lines, each warned with its number
printf 'x\n%s\ny\n' "$good1" >"$T/in"
status "stdin: exit 1" 1 duo-fmt <"$T/in"
is "stdin: warnings" "$(cut -d: -f1-3 "$T/.err" | tr '\n' ' ')" \
    "duo-fmt: stdin:1 duo-fmt: stdin:3 "

# UNPARSED in every format: one line, still parseable
printf 'not "json" | x\\y\n' >"$T/in"
for f in json kv cef legacy; do
	status "$f UNPARSED: exit 1" 1 duo-fmt -f "$f" "$T/in"
	is "$f UNPARSED: one line" "$(wc -l <"$T/.out" | tr -d ' ')" 1
done
status "json UNPARSED" 1 duo-fmt -f json "$T/in"
cp "$T/.out" "$T/ju"
ok "json UNPARSED is JSON with the raw text" python3 -c '
import json, sys
r = json.loads(open(sys.argv[1]).read())
u = r["duo_unparsed"]
assert u["raw"] == "not \"json\" %7C x\\y", u
assert u["line"] == 1 and u["file"] == sys.argv[2], u
assert "duo_time" in r' "$T/ju" "$T/in"
status "kv UNPARSED" 1 duo-fmt -f kv "$T/in"
grepq "kv UNPARSED layout" '^duo_time="[^"]*" kind="unparsed" utc="[^"]*" record_kind="" file="[^"]*" line="1" reason="invalid JSON[^"]*" raw="not \\"json\\" %7C x\\\\y"$' "$T/.out"
status "legacy UNPARSED" 1 duo-fmt -f legacy "$T/in"
grepq "legacy UNPARSED layout" '^[0-9]+,host="",eventtype="unparsed",line="1",reason="invalid JSON[^"]*",raw="not %22json%22 %7C x\\y"$' "$T/.out"

# a huge valid record: every value cut, the line stays under 65535 bytes
python3 - "$FX" >"$T/big" <<'PY'
import json, sys
big = "é|" * 7000
for kind in ("auth", "admin", "telephony", "activity", "offline",
             "trustmonitor"):
    for line in open("%s/%s.ndjson" % (sys.argv[1], kind)):
        r = json.loads(line)
        def fill(o):
            if isinstance(o, dict):
                for k in o:
                    if k in ("isotimestamp", "ts", "timestamp",
                             "surfaced_timestamp", "description", "details"):
                        if k in ("description", "details"):
                            o[k] = json.dumps({"ip_address": big, "ip": big,
                                "factor": big, "error": big, "device": big,
                                "email": big, "status": big, "hostname": big,
                                "user_agent": big, "x": big})
                        continue
                    if isinstance(o[k], (dict, list)):
                        fill(o[k])
                    else:
                        o[k] = big
            elif isinstance(o, list):
                for i, v in enumerate(o):
                    if isinstance(v, (dict, list)):
                        fill(v)
                    else:
                        o[i] = big
        fill(r)
        if kind == "auth":
            r["txid"] = big
        print(json.dumps(r, ensure_ascii=False))
PY
for f in mpe kv cef legacy; do
	status "huge record $f: exit 0" 0 duo-fmt -f "$f" "$T/big"
	is "huge record $f: one line each" "$(wc -l <"$T/.out" | tr -d ' ')" \
	    "$(wc -l <"$T/big" | tr -d ' ')"
	grepq "huge record $f: cut marked" '\.\.\.\[cut [0-9]+ bytes\]' "$T/.out"
	is "huge record $f: valid UTF-8" \
	    "$(python3 -c 'import sys; open(sys.argv[1], encoding="utf-8").read(); print("ok")' "$T/.out" 2>&1)" ok
done
status "huge record mpe" 0 duo-fmt "$T/big"
is "huge record mpe: no line over 65535 bytes" \
    "$(LC_ALL=C awk 'length($0) + 1 > 65535' "$T/.out" | wc -l | tr -d ' ')" 0
is "huge record mpe: every line ends in |" "$(grep -vc '|$' "$T/.out")" 0
# A line with the control prefix that is not a JSON object is no control
# line: it is UNPARSED, so raw control bytes cannot pass through, and a
# valid control line with TAB or CR as JSON whitespace comes out compact.
printf '{"@duo":"\001\000x\n{"@duo":"mark",\t"n":0,\r"cursor":{}}\n' >"$T/badctl"
for f in mpe json kv cef legacy; do
	status "bad control line $f: exit 1" 1 duo-fmt -k auth -f "$f" "$T/badctl"
	is "bad control line $f: two lines" "$(wc -l <"$T/.out" | tr -d ' ')" 2
	is "bad control line $f: no raw control bytes" \
	    "$(LC_ALL=C tr -d '\n' <"$T/.out" | LC_ALL=C tr -d '[:print:]' | wc -c | tr -d ' ')" 0
	grepq "bad control line $f: UNPARSED" 'control line is not a JSON object' "$T/.out"
	grepq "bad control line $f: compacted mark" '^\{"@duo":"mark","n":0,"cursor":\{\}\}$' "$T/.out"
done
# A record with CR or TAB as JSON whitespace: formatted, and no raw CR
# or TAB reaches a line of any format.
printf '\r{"action":"admin_login",\t"isotimestamp":"2024-05-01T18:40:02+00:00","timestamp":1714588802,"username":"x"}\n' >"$T/crrec"
for f in mpe json kv cef legacy; do
	status "CR whitespace $f: exit 0" 0 duo-fmt -k admin -f "$f" "$T/crrec"
	is "CR whitespace $f: no raw CR or TAB" \
	    "$(LC_ALL=C tr -dc '\r\t' <"$T/.out" | wc -c | tr -d ' ')" 0
done
finish
