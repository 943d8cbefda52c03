#!/bin/sh
# duo-get through an HTTP CONNECT proxy on loopback: from duo.conf
# http_proxy (with and without user:pass) and from the environment.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

unset http_proxy https_proxy HTTPS_PROXY ALL_PROXY all_proxy no_proxy NO_PROXY
DUO_RETRY_BASE_MS=1
DUO_RETRY_MAX=2
export DUO_RETRY_BASE_MS DUO_RETRY_MAX

# proxy_start DIR [ARGS]: start tests/e2e/proxy.py; sets PROXY_PORT.
proxy_start() {
	mkdir -p "$1"
	python3 "$TOP/tests/e2e/proxy.py" -d "$@" >"$1/stdout" 2>"$1/stderr" &
	PROXY_PID=$!
	_i=0
	while [ ! -s "$1/port" ]; do
		_i=$((_i + 1))
		if [ "$_i" -gt 100 ] || ! kill -0 "$PROXY_PID" 2>/dev/null; then
			diag "$1/stderr"
			return 1
		fi
		sleep 0.1
	done
	PROXY_PORT=$(cat "$1/port")
}
proxy_stop() {
	[ -n "${PROXY_PID:-}" ] && kill "$PROXY_PID" 2>/dev/null &&
	    wait "$PROXY_PID" 2>/dev/null
	PROXY_PID=
	return 0
}
at_exit proxy_stop

if [ ! -f "$TOP/tests/e2e/proxy.py" ]; then
	skip "CONNECT proxy" "tests/e2e/proxy.py is missing"
	finish
fi

fake_start --records auth=300 || exit 1

# conf FILE EXTRA: the fake's duo.conf plus one line, mode 0600.
conf() {
	{ cat "$FAKE/duo.conf"; printf '%s\n' "$2"; } >"$1"
	chmod 600 "$1"
}

proxy_start "$T/p1" || exit 1
conf "$T/p1.conf" "http_proxy = http://127.0.0.1:$PROXY_PORT"
status "conf http_proxy, no auth: exit 0" 0 duo-get -c "$T/p1.conf" -n 100 auth
same "through the proxy: the data" "$T/.out" "$FAKE/data/auth.ndjson"
grepq "the proxy saw the CONNECT to the fake" "localhost:$FAKE_PORT" \
    "$T/p1/proxy.log"
is "one tunnel for the whole run" "$(grep -c . "$T/p1/proxy.log")" 1

# From the environment when duo.conf names no proxy.
: >"$T/p1/proxy.log"
status "https_proxy from the environment: exit 0" 0 \
    env https_proxy="http://127.0.0.1:$PROXY_PORT" duo-get auth
same "environment proxy: the data" "$T/.out" "$FAKE/data/auth.ndjson"
is "environment proxy: used" "$(grep -c . "$T/p1/proxy.log")" 1
: >"$T/p1/proxy.log"
status "no_proxy=localhost bypasses it" 0 env \
    https_proxy="http://127.0.0.1:$PROXY_PORT" no_proxy=localhost duo-get auth
is "no_proxy: proxy not used" "$(grep -c . "$T/p1/proxy.log")" 0
proxy_stop

proxy_start "$T/p2" --auth 'duo:s3cr3t' || exit 1
conf "$T/p2.conf" "http_proxy = http://duo:s3cr3t@127.0.0.1:$PROXY_PORT"
status "proxy with user:pass: exit 0" 0 duo-get -c "$T/p2.conf" auth
same "proxy auth: the data" "$T/.out" "$FAKE/data/auth.ndjson"
conf "$T/p3.conf" "http_proxy = http://duo:wrong@127.0.0.1:$PROXY_PORT"
status "wrong proxy password: exit 1" 1 duo-get -c "$T/p3.conf" auth
grepq "wrong proxy password: 407" '^duo-get: auth: proxy: 407 ' "$T/.err"
nogrep "the proxy password is not printed" "wrong" "$T/.err"
conf "$T/p4.conf" "http_proxy = http://127.0.0.1:$PROXY_PORT"
status "no proxy credentials: exit 1" 1 duo-get -c "$T/p4.conf" auth
grepq "no proxy credentials: 407" '^duo-get: auth: proxy: 407 ' "$T/.err"
proxy_stop
finish
