#!/bin/sh
# duo-get: -S and -U in every form, the 180-day clamp, bad options.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

data() {
	grep -v '^{"@duo":' "$1"
}

# pick FILE KIND FROM_MS TO_MS: the records of FILE with FROM <= t <= TO
# (ms; v1 kinds have whole seconds), in file order.
pick() {
	python3 -c '
import sys, json, datetime
f, kind, lo, hi = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
for line in open(f, encoding="utf-8"):
    r = json.loads(line)
    if kind in ("admin", "offline"):
        t = r["timestamp"] * 1000
    else:
        d = datetime.datetime.fromisoformat(r["isotimestamp"])
        t = int(d.timestamp()) * 1000 + d.microsecond // 1000
    if lo <= t <= hi:
        sys.stdout.write(line)
' "$@"
}

# isotime EPOCH [OFFSET_HOURS]: ISO 8601 with Z or with an offset.
isotime() {
	python3 -c '
import sys, datetime
t, h = int(sys.argv[1]), int(sys.argv[2])
tz = datetime.timezone(datetime.timedelta(hours=h))
d = datetime.datetime.fromtimestamp(t, tz)
print(d.strftime("%Y-%m-%dT%H:%M:%S") + ("Z" if h == 0 else d.strftime("%z")))
' "$1" "${2:-0}"
}

fake_start || exit 1
max=99999999999999

# Times from the data: the seconds of record 1000 and record 2000.
a=$(sed -n 1000p "$FAKE/data/auth.ndjson" | sed 's/.*"timestamp":\([0-9]*\).*/\1/')
b=$(sed -n 2000p "$FAKE/data/auth.ndjson" | sed 's/.*"timestamp":\([0-9]*\).*/\1/')

status "-S epoch seconds" 0 duo-get -S "$a" auth
pick "$FAKE/data/auth.ndjson" auth "${a}000" "$max" >"$T/want"
same "-S epoch: the records from that second on" "$T/.out" "$T/want"
status "-S ISO 8601 Z" 0 duo-get -S "$(isotime "$a")" auth
same "-S ISO Z: the same" "$T/.out" "$T/want"
status "-S ISO 8601 with +02:00" 0 duo-get -S "$(isotime "$a" 2)" auth
same "-S ISO +0200: the same instant" "$T/.out" "$T/want"
status "-S ISO 8601 with -05:00" 0 duo-get -S "$(isotime "$a" -5)" auth
same "-S ISO -0500: the same instant" "$T/.out" "$T/want"

status "-S A -U B (closed window)" 0 duo-get -C -S "$a" -U "$b" auth
pick "$FAKE/data/auth.ndjson" auth "${a}000" "${b}000" >"$T/want"
data "$T/.out" >"$T/got"
same "-S -U: exactly the records in [A, B]" "$T/got" "$T/want"
is "-S -U: ends with the next window at B + 1 ms" "$(tail -n 2 "$T/.out" | head -n 1)" \
    "{\"@duo\":\"end\",\"cursor\":{\"kind\":\"auth\",\"min\":${b}001},\"n\":$(wc -l <"$T/want")}"

for k in admin offline; do
	a1=$(sed -n 10p "$FAKE/data/$k.ndjson" | sed 's/.*"timestamp":\([0-9]*\).*/\1/')
	b1=$(sed -n 40p "$FAKE/data/$k.ndjson" | sed 's/.*"timestamp":\([0-9]*\).*/\1/')
	status "$k: -S A -U B" 0 duo-get -C -S "$a1" -U "$b1" "$k"
	pick "$FAKE/data/$k.ndjson" "$k" "${a1}000" "${b1}999" >"$T/want"
	data "$T/.out" >"$T/got"
	same "$k: -U: nothing after B's second" "$T/got" "$T/want"
	grepq "$k: -U: drained" '^\{"@duo":"end",' "$T/.out"
done

# Durations count back from now.
t0=$(date +%s)
status "-S 3h" 0 duo-get -S 3h auth
t1=$(date +%s)
pick "$FAKE/data/auth.ndjson" auth $(((t1 - 10800) * 1000 + 1000)) "$max" \
    >"$T/surely"
pick "$FAKE/data/auth.ndjson" auth $(((t0 - 10800) * 1000)) "$max" \
    >"$T/atmost"
LC_ALL=C sort "$T/.out" >"$T/got"
LC_ALL=C sort -o "$T/surely" "$T/surely"
LC_ALL=C sort -o "$T/atmost" "$T/atmost"
is "-S 3h: every record surely inside is there" \
    "$(LC_ALL=C comm -13 "$T/got" "$T/surely" | wc -l)" 0
is "-S 3h: nothing from before" \
    "$(LC_ALL=C comm -23 "$T/got" "$T/atmost" | wc -l)" 0
if [ "$(wc -l <"$T/.out")" -gt 100 ]; then
	_pass "-S 3h: got records"
else
	_fail "-S 3h: got records"
fi
status "-S 90m -U 30m" 0 duo-get -S 90m -U 30m telephony
status "default -S 1d: all data (6 h old)" 0 duo-get activity
same "default: everything" "$T/.out" "$FAKE/data/activity.ndjson"
status "-U before -S: nothing" 0 duo-get -C -S 1h -U 2h auth
is "-U before -S: begin and end only" "$(data "$T/.out" | wc -l)" 0

# Older than 180 days: clamped, reported, and Duo does not refuse it.
status "-S 200d: clamped, exit 0" 0 duo-get -S 200d auth
grepq "-S 200d: the gap is reported" \
    '^duo-get: auth: start is older than Duo keeps logs \(180 days\); skipped ' \
    "$T/.err"
same "-S 200d: all the data" "$T/.out" "$FAKE/data/auth.ndjson"
status "old v1 cursor: clamped, exit 0" 0 \
    duo-get -s '{"kind":"admin","sec":1000000000,"seen":[]}' admin
grepq "old v1 cursor: reported" 'skipped 2001-09-09T01:46:40Z to ' "$T/.err"
same "old v1 cursor: all the data" "$T/.out" "$FAKE/data/admin.ndjson"
status "-S 179d: not clamped" 0 duo-get -S 179d offline
is "-S 179d: no warning" "$(wc -c <"$T/.err")" 0

# Bad options and cursors: exit 2, nothing fetched.  The JSON quotes
# are meant literally in $args.
: >"$FAKE/requests.log"
# shellcheck disable=SC2089
for args in "" "nokind" "auth admin" "-x auth" "-n 0 auth" "-n abc auth" \
    "-n -5 auth" "-l 1.5 auth" "-l x auth" "-S 5x auth" "-S 2024-02-30 auth" \
    "-U yesterday auth" "-S" "-s nojson auth" "-s [] auth" \
    "-s {\"kind\":\"admin\",\"sec\":5} auth" \
    "-s {\"kind\":\"auth\",\"min\":5} offline" \
    "-s {\"kind\":\"auth\",\"min\":5,\"bogus\":1} auth" \
    "-c $T/none.conf auth"; do
	# shellcheck disable=SC2086,SC2090
	status "bad: duo-get $args: exit 2" 2 duo-get $args
done
status "usage text" 2 duo-get
grepq "usage text: synopsis" '^usage: duo-get \[-Cv\]' "$T/.err"
status "wrong kind of cursor" 2 duo-get -s '{"kind":"admin","sec":5}' auth
is "wrong kind: says so" "$(cat "$T/.err")" \
    "duo-get: cursor: a cursor of kind admin, not auth"
is "bad options: no request made" "$(wc -l <"$FAKE/requests.log")" 0
finish
