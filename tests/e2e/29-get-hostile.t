#!/bin/sh
# duo-get against hostile networks and neighbours: TLS 1.2 at least
# whatever OPENSSL_CONF allows, cafile the only trust anchor, handshake
# failures final (exit 1, not retried), a malformed http_proxy is a
# configuration error and proxy passwords never appear, Duo's error text
# is escaped, and no DUO_SKEY or core dump is left to read.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

unset http_proxy https_proxy HTTPS_PROXY ALL_PROXY all_proxy no_proxy NO_PROXY
DUO_RETRY_BASE_MS=1
export DUO_RETRY_BASE_MS

# conf FILE SED: the fake's duo.conf edited, mode 0600.
conf() {
	sed "$2" "$FAKE/duo.conf" >"$1"
	chmod 600 "$1"
}

# ---- a server that speaks only TLS 1.0/1.1, a client config allowing it
cat >"$T/openssl.cnf" <<'EOF'
openssl_conf = init
[init]
ssl_conf = ssl
[ssl]
system_default = sys
[sys]
MinProtocol = TLSv1
CipherString = DEFAULT:@SECLEVEL=0
EOF
for v in 1.0 1.1; do
	rm -rf "$T/fake"
	OPENSSL_CONF=$T/openssl.cnf fake_start --tls-max "$v" || exit 1
	OPENSSL_CONF=$T/openssl.cnf status "TLS $v only: refused, exit 1" 1 \
	    duo-get -C auth
	grepq "TLS $v: says why" '^duo-get: auth: SSL connect error' "$T/.err"
	is "TLS $v: not retried (one handshake)" \
	    "$(grep -c . "$FAKE/connections.log")" 1
	is "TLS $v: no request was made" "$(grep -c . "$FAKE/requests.log")" 0
	is "TLS $v: begin and the exit line" \
	    "$(wc -l <"$T/.out"),$(tail -n 1 "$T/.out")" \
	    '2,{"@duo":"exit","status":1}'
	fake_stop
done
# The same config against a TLS 1.2 server: fine.
rm -rf "$T/fake"
OPENSSL_CONF=$T/openssl.cnf fake_start --tls-max 1.2 || exit 1
OPENSSL_CONF=$T/openssl.cnf status "TLS 1.2: exit 0" 0 duo-get auth
same "TLS 1.2: the data" "$T/.out" "$FAKE/data/auth.ndjson"
fake_stop

# ---- cafile is the only trust anchor.  The server's certificate comes
# from a CA that is not in cafile but is in the system's CA directory
# (a private mount namespace puts it there).
rm -rf "$T/fake"
fake_start --cert untrusted || exit 1
if unshare -m true 2>/dev/null && [ -d /etc/ssl/certs ] &&
    mkdir "$T/certs" && cp "$FAKE/other-ca.pem" "$T/certs/" &&
    { [ ! -f /etc/ssl/certs/ca-certificates.crt ] ||
    cp "$FAKE/other-ca.pem" "$T/certs/ca-certificates.crt"; } &&
    openssl rehash "$T/certs" 2>/dev/null; then
	cat >"$T/ns.sh" <<'EOF'
mount --bind "$1" /etc/ssl/certs || exit 99
shift
exec "$@"
EOF
	status "system CA directory trusts the signer: refused, exit 1" 1 \
	    unshare -m sh "$T/ns.sh" "$T/certs" duo-get -C auth
	grepq "cafile only: a certificate error" \
	    '^duo-get: auth: .*(certificate|SSL)' "$T/.err"
	is "cafile only: no request reached the server" \
	    "$(grep -c . "$FAKE/requests.log")" 0
	# Control: without cafile the system directory is used.
	conf "$T/nocafile.conf" '/^cafile/d'
	status "without cafile the system directory is trusted" 0 \
	    unshare -m sh "$T/ns.sh" "$T/certs" duo-get -c "$T/nocafile.conf" auth
else
	skip "cafile only" "no private mount namespace (unshare -m)"
	skip "cafile only: error" "no unshare"
	skip "cafile only: no request" "no unshare"
	skip "without cafile" "no unshare"
fi
fake_stop

# ---- http_proxy: malformed is a configuration error; no password shown
rm -rf "$T/fake"
fake_start --records auth=20 --error-message "$(printf '\033[2J\033]0;x\007\rOK\nduo-get: auth: done: 0 pages')" --forbid admin ||
    exit 1
for p in 'http://duo:s3cr3t@127.0.0.1:99999' 'http://duo:s3cr3t@bad host:8080' \
    'ftp://duo:s3cr3t@127.0.0.1:8080' 'http://duo:s3cr3t@:8080' \
    'http://duo:s3cr3t@127.0.0.1:8080/path'; do
	conf "$T/p.conf" "\$a http_proxy = $p"
	status "http_proxy $p: exit 2" 2 duo-get -C -c "$T/p.conf" auth
	grepq "http_proxy $p: says so" '^duo-get: auth: http_proxy: ' "$T/.err"
	nogrep "http_proxy $p: the password is not shown" s3cr3t "$T/.err" \
	    "$T/.out"
	is "http_proxy $p: the exit line, status 2" "$(tail -n 1 "$T/.out")" \
	    '{"@duo":"exit","status":2}'
done
# libcurl's own text: a proxy that is not there.
# shellcheck disable=SC2016 # a sed command, not shell
conf "$T/p.conf" '$a http_proxy = http://duo:s3cr3t@127.0.0.1:1'
status "unreachable proxy: exit 3" 3 duo-get -v -c "$T/p.conf" auth
grepq "unreachable proxy: names it" 'proxy http://\*\*\*@127\.0\.0\.1:1' \
    "$T/.err"
nogrep "unreachable proxy: no password" s3cr3t "$T/.err"
# shellcheck disable=SC2016 # a sed command, not shell
conf "$T/p.conf" '$a http_proxy = http://duo:s3cr3t@no-such-proxy.invalid:8080'
status "unknown proxy host: exit 3" 3 duo-get -c "$T/p.conf" auth
grepq "unknown proxy host: check http_proxy" \
    'host not found \(check http_proxy in duo\.conf\)$' "$T/.err"
nogrep "unknown proxy host: no password" s3cr3t "$T/.err"

# ---- Duo's error message is escaped: no terminal control, no forged line
status "hostile error message: exit 1" 1 duo-get admin
is "hostile error message: one line" "$(wc -l <"$T/.err")" 1
if LC_ALL=C grep -q "$(printf '[\001-\037\177]')" "$T/.err" ||
    [ "$(tr -d '\n' <"$T/.err" | LC_ALL=C tr -d '[:print:]' | wc -c)" -ne 0 ]; then
	_fail "hostile error message: control bytes reached stderr"
	od -c "$T/.err" | sed -n '1,6s/^/# /p'
else
	_pass "hostile error message: no control bytes on stderr"
fi
grepq "hostile error message: shown escaped" \
    '^duo-get: admin: 403 40301: \\x1b\[2J\\x1b\]0;x\\x07\\rOK\\nduo-get: auth: done: 0 pages: ' \
    "$T/.err"

# ---- secrets: DUO_SKEY leaves the environment, no core dump
fake_stop
rm -rf "$T/fake"
fake_start --records auth=3000 --latency 400 || exit 1
skey=$(sed -n 's/^skey *= *//p' "$FAKE/duo.conf")
conf "$T/noskey.conf" '/^skey/d'
DUO_SKEY=$skey duo-get -n 100 -c "$T/noskey.conf" auth >"$T/env.out" \
    2>"$T/env.err" &
pid=$!
sleep 1.5
if [ -r "/proc/$pid/environ" ]; then
	tr '\0' '\n' <"/proc/$pid/environ" >"$T/environ"
	nogrep "DUO_SKEY's value is gone from /proc/PID/environ" "$skey" \
	    "$T/environ"
	grepq "core dumps off" '^Max core file size +0 +0 ' "/proc/$pid/limits"
else
	skip "DUO_SKEY gone" "no /proc"
	skip "core dumps off" "no /proc"
fi
kill "$pid"
wait "$pid"
is "the run still worked from DUO_SKEY (exit 3 on SIGTERM)" "$?" 3
if [ -s "$T/env.out" ]; then
	_pass "records were fetched with DUO_SKEY"
else
	_fail "nothing fetched with DUO_SKEY"
fi
finish
