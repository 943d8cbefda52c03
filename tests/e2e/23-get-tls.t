#!/bin/sh
# duo-get: certificates that do not prove the server's identity are
# refused (exit 1, nothing fetched); there is no way to turn this off.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

DUO_RETRY_BASE_MS=1
export DUO_RETRY_BASE_MS

for c in wronghost selfsigned untrusted; do
	rm -rf "$T/fake"
	fake_start --cert "$c" || exit 1
	status "$c certificate: refused, exit 1" 1 duo-get -C auth
	grepq "$c: says why" \
	    '^duo-get: auth: .*(certificate|SSL|subject name|issuer)' "$T/.err"
	is "$c: only begin and the exit line on stdout" \
	    "$(wc -l <"$T/.out"),$(tail -n 1 "$T/.out")" \
	    '2,{"@duo":"exit","status":1}'
	is "$c: no request reached the server" \
	    "$(wc -l <"$FAKE/requests.log")" 0
	is "$c: not retried (one TLS attempt)" \
	    "$(grep -c . "$FAKE/connections.log")" 1
	fake_stop
done

# A good certificate from a CA that is not in cafile's place: without
# cafile the system store is used, which does not know the test CA.
rm -rf "$T/fake"
fake_start || exit 1
grep -v '^cafile' "$FAKE/duo.conf" >"$T/nocafile.conf"
chmod 600 "$T/nocafile.conf"
status "test CA not trusted without cafile: exit 1" 1 \
    duo-get -c "$T/nocafile.conf" auth
grepq "no cafile: certificate problem" '^duo-get: auth: .*certificate' \
    "$T/.err"
status "with cafile the same server is fine" 0 duo-get auth
same "with cafile: the data" "$T/.out" "$FAKE/data/auth.ndjson"
# Nothing listening: a network error, temporary.
sed 's/^host *=.*/host = 127.0.0.1:1/' "$FAKE/duo.conf" >"$T/closed.conf"
chmod 600 "$T/closed.conf"
DUO_RETRY_MAX=2 status "connection refused: temporary, exit 3" 3 \
    duo-get -c "$T/closed.conf" auth
finish
