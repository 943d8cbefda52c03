#!/bin/sh
# duo-fmt: local time around DST changes and in 30/45-minute zones.  The
# expected times come from Python's zoneinfo (tests/fixtures/fmt/mkdst.py),
# written when the fixtures were made, not from duo-fmt.
. "$(dirname "$0")/lib.sh"
FX=$TOP/tests/fixtures/fmt/dst

for z in America/New_York Europe/Berlin Australia/Sydney Asia/Kolkata \
    Australia/Lord_Howe Asia/Kathmandu; do
	b=$(echo "$z" | tr / _)
	status "$z: mpe exit 0" 0 duo-fmt -z "$z" "$FX/$b.ndjson"
	cut -c1-19 "$T/.out" >"$T/mpe"
	status "$z: json exit 0" 0 duo-fmt -z "$z" -f json "$FX/$b.ndjson"
	sed 's/^{"duo_time":"\([^"]*\)".*/\1/' "$T/.out" >"$T/json"
	paste -d ' ' "$T/mpe" "$T/json" >"$T/got"
	same "$z: local times (-z)" "$T/got" "$FX/$b.expect"
	# -z local honours TZ
	TZ=$z duo-fmt "$FX/$b.ndjson" | cut -c1-19 >"$T/mpe2"
	cut -c1-19 "$FX/$b.expect" >"$T/want"
	same "$z: local times (TZ, -z local)" "$T/mpe2" "$T/want"
done
# utc= is the instant whatever the zone
status "utc field" 0 duo-fmt -z Australia/Lord_Howe "$FX/Europe_Berlin.ndjson"
is "utc field in UTC" "$(sed -n 4p "$T/.out" | cut -c20-55)" \
    ' DUO AUTH |utc=2023-03-26T01:00:00Z|'
status "-z utc" 0 duo-fmt -z utc "$FX/Europe_Berlin.ndjson"
is "-z utc: local = utc" "$(sed -n 4p "$T/.out" | cut -c1-19)" \
    "2023-03-26 01:00:00"
status "unknown zone: exit 2" 2 duo-fmt -z Mars/Olympus_Mons "$FX/Europe_Berlin.ndjson"
grepq "unknown zone: message" '^duo-fmt: Mars/Olympus_Mons: unknown time zone$' "$T/.err"
finish
