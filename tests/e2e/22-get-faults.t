#!/bin/sh
# duo-get: 429, 5xx, resets, cut and invalid bodies are retried and
# still deliver exactly once; exhausted retries exit 3 after writing
# every completed page; Duo's errors exit 1 with code and message.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

data() {
	grep -v '^{"@duo":' "$1"
}

DUO_RETRY_BASE_MS=1
DUO_RETRY_MAX=30
export DUO_RETRY_BASE_MS DUO_RETRY_MAX

fake_start --seed 3 --records auth=700,admin=1500 \
    --max-records-per-page admin=100,offline=5 \
    --faults 429=0.1,500=0.04,502=0.04,503=0.04,reset=0.06,cut=0.06,badjson=0.06 ||
    exit 1
for k in auth admin telephony activity offline trustmonitor; do
	case $k in
	admin) n=100 ;;
	offline) n=5 ;;
	*) n=40 ;;
	esac
	status "$k: faults on: exit 0" 0 duo-get -C -n "$n" "$k"
	data "$T/.out" >"$T/got"
	same "$k: faults on: exactly the data, in order" "$T/got" \
	    "$FAKE/data/$k.ndjson"
	tail -n 2 "$T/.out" | head -n 1 >"$T/last"
	grepq "$k: faults on: the stream ends with end" '^\{"@duo":"end",' \
	    "$T/last"
	is "$k: faults on: then the exit line, status 0" \
	    "$(tail -n 1 "$T/.out")" '{"@duo":"exit","status":0}'
done
for f in 429 500 502 503 reset cut badjson; do
	grepq "the fake injected $f" "\"fault\": *\"$f\"" "$FAKE/requests.log"
done
fake_stop

# Retries exhausted: requests 3 to 8 fail (libcurl itself retries a
# request once on a reused connection that was reset); two pages are
# complete.
for f in 503 429 reset cut badjson; do
	fake_start --records auth=700 --faults "$f@3:4:5:6:7:8" || exit 1
	DUO_RETRY_MAX=3 status "$f: retries exhausted: exit 3" 3 \
	    duo-get -C -n 100 auth
	data "$T/.out" >"$T/got"
	head -n 200 "$FAKE/data/auth.ndjson" >"$T/want"
	same "$f: both completed pages written, nothing partial" "$T/got" \
	    "$T/want"
	is "$f: the exit line says 3" "$(tail -n 1 "$T/.out")" \
	    '{"@duo":"exit","status":3}'
	is "$f: a mark after each completed page, no end" \
	    "$(grep -c '^{"@duo":"mark"' "$T/.out"),$(grep -c '^{"@duo":"end"' "$T/.out")" \
	    "2,0"
	grepq "$f: says it gave up" \
	    '^duo-get: auth: giving up after 3 attempts: ' "$T/.err"
	# Resume from the last mark: the rest, exactly.
	cur=$(sed -n 's/^{"@duo":"mark","cursor":\(.*\),"n":[0-9]*}$/\1/p' \
	    "$T/.out" | tail -n 1)
	status "$f: resume from the last mark" 0 duo-get -C -s "$cur" auth
	data "$T/.out" >>"$T/got"
	same "$f: resumed: exactly the data" "$T/got" "$FAKE/data/auth.ndjson"
	fake_stop
done

# A cut-off body on every request: never a partial record.
fake_start --faults cut=1 || exit 1
DUO_RETRY_MAX=2 status "cut always: exit 3" 3 duo-get -C auth
is "cut always: only begin and the exit line" \
    "$(wc -l <"$T/.out"),$(tail -n 1 "$T/.out")" '2,{"@duo":"exit","status":3}'
fake_stop

# An oversized response: refused whole, exit 1, no partial record; the
# pages before it are written with their marks.  Pages of 10 records
# fit in 30,000 bytes, pages of 100 do not.
fake_start || exit 1
DUO_MAX_BODY=30000
export DUO_MAX_BODY
status "small pages under the cap: exit 0" 0 duo-get -n 10 auth
same "small pages under the cap: every record" "$T/.out" \
    "$FAKE/data/auth.ndjson"
status "a page over the cap: exit 1" 1 duo-get -C -n 100 auth
grepq "a page over the cap: says why" \
    '^duo-get: auth: response larger than 30000 bytes; try a smaller -n$' \
    "$T/.err"
is "a page over the cap: only begin and the exit line" \
    "$(wc -l <"$T/.out"),$(tail -n 1 "$T/.out")" '2,{"@duo":"exit","status":1}'
is "a page over the cap: not retried" \
    "$(grep -c '"path": *"/admin/v2/logs/authentication"' \
    "$FAKE/requests.log")" "$(($(wc -l <"$FAKE/data/auth.ndjson") / 10 + 2))"
unset DUO_MAX_BODY
fake_stop

# Duo's errors.
fake_start --forbid admin || exit 1
status "401 (wrong skey): exit 1" 1 env DUO_SKEY=wrongwrongwrongwrongwrongwrongwrongwrong \
    duo-get auth
is "401: Duo's code and message" "$(cat "$T/.err")" \
    "duo-get: auth: 401 40103: Invalid signature in request credentials"
status "401 (wrong ikey): exit 1" 1 env DUO_IKEY=DIXXXXXXXXXXXXXXXXXX \
    duo-get telephony
grepq "401 40102" '^duo-get: telephony: 401 40102: ' "$T/.err"
status "403 (forbidden): exit 1" 1 duo-get -C admin
grepq "403: Duo's code and message" '^duo-get: admin: 403 40301: ' "$T/.err"
is "403: nothing but begin and the exit line on stdout" \
    "$(wc -l <"$T/.out"),$(tail -n 1 "$T/.out")" '2,{"@duo":"exit","status":1}'
status "400 (bad next_offset): exit 1" 1 duo-get -s \
    "{\"kind\":\"telephony\",\"min\":$(($(date +%s) - 3600))000,\"max\":$(($(date +%s) - 1800))000,\"next\":\"garbage\"}" \
    telephony
grepq "400: Duo's code, message and detail" \
    "^duo-get: telephony: 400 40002: Invalid request parameters: invalid 'next_offset'$" \
    "$T/.err"
status "one 401 is not retried" 1 env DUO_SKEY=x duo-get activity
is "401 is not retried: requests" \
    "$(grep -c '"status": *401' "$FAKE/requests.log")" 3
nogrep "the skey never appears in messages" \
    "$(sed -n 's/^skey *= *//p' "$FAKE/duo.conf")" "$T/.err" "$T/.out"
fake_stop
fake_start --skew 1000 || exit 1
status "clock skew (40105): exit 1" 1 duo-get auth
grepq "40105" '^duo-get: auth: 401 40105: ' "$T/.err"
finish
