#!/bin/sh
# duo-fmt: golden output per kind and format, kinds from fields, -k and
# the begin line, control lines in place, -f json gives the input back.
. "$(dirname "$0")/lib.sh"
FX=$TOP/tests/fixtures/fmt
KINDS="auth admin telephony activity offline trustmonitor"

for k in $KINDS; do
	for f in mpe kv legacy; do
		status "$k $f: exit 0" 0 duo-fmt -z Europe/Berlin -f "$f" \
		    "$FX/$k.ndjson"
		same "$k $f: golden" "$T/.out" "$FX/golden/$k.$f"
		is "$k $f: no warning" "$(cat "$T/.err")" ""
	done
	# -k names the kind; the same output as from the fields
	status "$k: -k $k" 0 duo-fmt -z Europe/Berlin -k "$k" <"$FX/$k.ndjson"
	same "$k: -k gives the golden" "$T/.out" "$FX/golden/$k.mpe"
done

# stdin, "-" and several files: one stream in order
cat "$FX/auth.ndjson" >"$T/a"
status "file, -, file" 0 duo-fmt -z Europe/Berlin "$FX/admin.ndjson" - \
    "$FX/telephony.ndjson" <"$T/a"
cat "$FX/golden/admin.mpe" "$FX/golden/auth.mpe" \
    "$FX/golden/telephony.mpe" >"$T/want"
same "file, -, file: output in order" "$T/.out" "$T/want"

# the begin line's kind beats -k and the fields; control lines in place
{
	echo '{"@duo":"begin","v":1,"kind":"telephony","host":"api-x.example","cursor":{}}'
	sed -n 1p "$FX/telephony.ndjson"
	echo '{"@duo":"mark","cursor":{"a":1},"n":1}'
	sed -n 2p "$FX/telephony.ndjson"
	echo '{"@duo":"end","cursor":{"a":2},"n":1}'
} >"$T/stream"
status "stream: exit 0" 0 duo-fmt -z Europe/Berlin -k auth "$T/stream"
{
	sed -n 1p "$T/stream"
	sed -n 1p "$FX/golden/telephony.mpe"
	sed -n 3p "$T/stream"
	sed -n 2p "$FX/golden/telephony.mpe"
	sed -n 5p "$T/stream"
} >"$T/want"
same "stream: control lines copied through in place" "$T/.out" "$T/want"
status "stream legacy" 0 duo-fmt -z Europe/Berlin -f legacy "$T/stream"
is "legacy host from the begin line" "$(sed -n 2p "$T/.out" | cut -c1-42)" \
    '1679438089,host="api-x.example",eventtype='
is "legacy: 5 lines" "$(wc -l <"$T/.out" | tr -d ' ')" 5

# the exit line: "status" raised to the worse of it and duo-fmt's own
# (0 < 3 < 1 < 2), the other members kept, nothing else changed
# exitline IN-STATUS BAD(0|1) WANT-STATUS
exitline() {
	{
		echo '{"@duo":"begin","v":1,"kind":"telephony","host":"h","cursor":{}}'
		sed -n 1p "$FX/telephony.ndjson"
		[ "$2" -eq 1 ] && echo 'not json'
		printf '{"@duo":"exit","status":%s,"more":true}\n' "$1"
	} >"$T/xs"
	duo-fmt -z utc "$T/xs" >"$T/xo" 2>/dev/null
	is "exit line $1, own status $2: status $3" "$(tail -n 1 "$T/xo")" \
	    "{\"@duo\":\"exit\",\"status\":$3,\"more\":true}"
}
exitline 0 0 0
exitline 3 0 3
exitline 0 1 1
exitline 3 1 1
exitline 2 1 2
exitline 1 0 1
printf '{"@duo":"exit","status":"x"}\n' >"$T/xs"
status "exit line with a bad status: copied" 0 duo-fmt "$T/xs"
is "exit line with a bad status: unchanged" "$(cat "$T/.out")" \
    '{"@duo":"exit","status":"x"}'

# -f json: minus the duo_time member, the input byte for byte
for k in $KINDS; do
	status "$k json: exit 0" 0 duo-fmt -z Europe/Berlin -f json \
	    "$FX/$k.ndjson"
	sed 's/^{"duo_time":"[0-9T:+-]*",/{/' "$T/.out" >"$T/back"
	same "$k json: input back byte for byte" "$T/back" "$FX/$k.ndjson"
	is "$k json: every line has duo_time" \
	    "$(grep -c '^{"duo_time":"[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9][+-][0-9][0-9]:[0-9][0-9]",' "$T/.out")" \
	    "$(wc -l <"$FX/$k.ndjson" | tr -d ' ')"
done
status "json duo_time is local time" 0 duo-fmt -z America/New_York -f json \
    "$FX/auth.ndjson"
is "json duo_time New York" "$(head -c 40 "$T/.out")" \
    '{"duo_time":"2020-02-13T13:56:20-05:00",'

# the fake Duo's data files, when the fake runs here
if fake_start --records auth=300,admin=50,telephony=50,activity=50,offline=20,trustmonitor=20 2>/dev/null &&
    [ -s "$FAKE/data/auth.ndjson" ]; then
	for f in "$FAKE"/data/*.ndjson; do
		n=$(basename "$f")
		status "fake $n: json exit 0" 0 duo-fmt -f json "$f"
		sed 's/^{"duo_time":"[0-9T:+-]*",/{/' "$T/.out" >"$T/back"
		same "fake $n: json gives the input back" "$T/back" "$f"
		status "fake $n: mpe exit 0" 0 duo-fmt "$f"
		is "fake $n: one line per record" \
		    "$(wc -l <"$T/.out" | tr -d ' ')" \
		    "$(wc -l <"$f" | tr -d ' ')"
		nogrep "fake $n: nothing unparsed" " DUO UNPARSED " "$T/.out"
	done
else
	skip "fake data files" "fakeduo.py did not start"
fi
finish
