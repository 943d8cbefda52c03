#!/bin/sh
# duo-sign -o curl | curl -K -: accepted by the fake Duo server, which
# checks signatures with its own Python code; forged, stale and
# tampered requests are refused.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

cd "$T" || exit 1
if ! command -v curl >/dev/null 2>&1; then
	skip "curl tests" "no curl"
	finish
fi
fake_start || { _fail "fake server starts"; finish; }
SKEY=$(sed -n 's/^skey *= *//p' "$FAKE/duo.conf")
: >"$T/all"

# last FIELD: a field of the fake's last requests.log line.
last() {
	tail -n 1 "$FAKE/requests.log" | jq -r ".$1"
}

# req DESC CODE SIG duo-sign-args...: sign, send with curl, and check
# the HTTP status and the signature form the fake matched.
req() {
	_d=$1 _code=$2 _sig=$3
	shift 3
	duo-sign "$@" >"$T/cfg" 2>"$T/sign.err"
	_rc=$?
	cat "$T/cfg" "$T/sign.err" >>"$T/all"
	if [ "$_rc" -ne 0 ]; then
		_fail "$_d: duo-sign exited $_rc"
		diag "$T/sign.err"
		return
	fi
	curl -sS -K - --cacert "$FAKE/ca.pem" -o "$T/resp" \
	    -w '%{http_code}\n' <"$T/cfg" >"$T/http" 2>"$T/curl.err"
	cat "$T/resp" >>"$T/all"
	is "$_d: HTTP status" "$(cat "$T/http")" "$_code"
	is "$_d: signature form the fake matched" "$(last sig)" "$_sig"
}

# The pipeline of the issue, verbatim.
duo-sign -o curl GET /admin/v1/info/summary |
    curl -sS -K - --cacert "$FAKE/ca.pem" >"$T/summary" 2>"$T/curl.err"
is "duo-sign | curl -K - exits 0" "$?" 0
is "summary answered OK" "$(jq -r .stat "$T/summary")" OK
is "fake logged status 200" "$(last status)" 200
cat "$T/summary" >>"$T/all"

now=$(date +%s)
min=$(( (now - 3600) * 1000 ))
max=$(( (now - 300) * 1000 ))
req "v5 GET summary" 200 v5 GET /admin/v1/info/summary
req "v2 SHA-1 GET summary" 200 v2-sha1 -V 2 GET /admin/v1/info/summary
req "v2 SHA-512 GET summary" 200 v2-sha512 -V 2 -a sha512 GET /admin/v1/info/summary
req "v5 GET auth log" 200 v5 GET /admin/v2/logs/authentication \
    "mintime=$min" "maxtime=$max" limit=10 sort=ts:asc
is "auth log: the fake got the parameters" \
    "$(tail -n 1 "$FAKE/requests.log" | jq -c '.query.limit + .query.sort')" \
    '["10","ts:asc"]'
# Bytes that need encoding, repeated names, UTF-8: the fake
# re-canonicalizes the query it received and must agree.
req "v5 GET with awkward parameters" 200 v5 GET /admin/v2/logs/authentication \
    "mintime=$min" "maxtime=$max" 'users=jöhn doe' 'users=a+b/c=d&e~f' \
    'users=*!()' 'users=' 'groups=名前'
# (in canonical order: the query is the canonical parameter line)
is "awkward parameters arrived decoded" \
    "$(tail -n 1 "$FAKE/requests.log" | jq -c '.query.users')" \
    '["","*!()","a+b/c=d&e~f","jöhn doe"]'
req "v2 GET with awkward parameters" 200 v2-sha1 -V 2 GET \
    /admin/v2/logs/authentication "mintime=$min" "maxtime=$max" \
    'users=jöhn doe' 'users=a+b/c=d&e~f'

# POST: the fake verifies the signature, then answers 405 (its
# endpoints are GET only).  405, not 401, proves the body arrived byte
# for byte as signed: curl's config quoting of "data" is right.
req "v5 POST JSON body" 405 v5 POST /admin/v1/info/summary \
    'q=say "hi" \ back\slash' 'u=jöhn 名前' n=2 n=1 'tab=	x'
is "v5 POST: 40501" "$(last code)" 40501
req "v2 POST form body" 405 v2-sha1 -V 2 POST /admin/v1/info/summary \
    'q=say "hi" \ x' 'u=jöhn doe' n=2 n=1
req "v2 SHA-512 POST form body" 405 v2-sha512 -V 2 -a sha512 POST \
    /admin/v1/info/summary 'q=a&b=c'

# Forged: one hex digit of the signature changed.
duo-sign GET /admin/v1/info/summary >"$T/cfg"
auth=$(sed -n 's/^header = "Authorization: Basic \(.*\)"$/\1/p' "$T/cfg")
cred=$(printf '%s' "$auth" | base64 -d)
sig=${cred#*:}
first=$(printf '%s' "$sig" | cut -c1)
if [ "$first" = 0 ]; then new=1; else new=0; fi
forged=$(printf '%s:%s%s' "${cred%%:*}" "$new" "$(printf '%s' "$sig" | cut -c2-)" |
    base64 -w0)
sed "s|Basic $auth|Basic $forged|" "$T/cfg" >"$T/forged"
curl -sS -K - --cacert "$FAKE/ca.pem" -o "$T/resp" -w '%{http_code}\n' \
    <"$T/forged" >"$T/http"
is "forged signature: 401" "$(cat "$T/http")" 401
is "forged signature: 40103" "$(jq -r .code "$T/resp")" 40103

# Tampered: a valid signature, a parameter changed after signing.
duo-sign GET /admin/v2/logs/authentication "mintime=$min" "maxtime=$max" \
    limit=10 | sed 's/limit=10/limit=11/' >"$T/tampered"
curl -sS -K - --cacert "$FAKE/ca.pem" -o "$T/resp" -w '%{http_code}\n' \
    <"$T/tampered" >"$T/http"
is "tampered query: 401" "$(cat "$T/http")" 401
is "tampered query: 40103" "$(jq -r .code "$T/resp")" 40103

# Stale: a date an hour old, signed correctly.
old=$(LC_ALL=C date -u -d "@$((now - 3600))" '+%a, %d %b %Y %H:%M:%S -0000')
duo-sign -d "$old" GET /admin/v1/info/summary |
    curl -sS -K - --cacert "$FAKE/ca.pem" -o "$T/resp" -w '%{http_code}\n' \
    >"$T/http"
is "stale date: 401" "$(cat "$T/http")" 401
is "stale date: 40105" "$(jq -r .code "$T/resp")" 40105

# Wrong skey from the environment.
DUO_SKEY=not-the-key duo-sign GET /admin/v1/info/summary |
    curl -sS -K - --cacert "$FAKE/ca.pem" -o "$T/resp" -w '%{http_code}\n' \
    >"$T/http"
is "wrong skey: 40103" "$(jq -r .code "$T/resp")" 40103

nogrep "skey in no output" "$SKEY" "$T/all" "$FAKE/requests.log"
finish
