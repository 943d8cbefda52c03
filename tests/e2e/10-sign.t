#!/bin/sh
# duo-sign: the GET and POST vectors of sign-vectors.json (from Duo's
# official clients) through the binary, -o canon and -o headers; the
# curl config format; usage errors and write errors.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

V=$TOP/tests/fixtures/sign/sign-vectors.json
SKEY=Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep
cd "$T" || exit 1

# The vectors duo-sign can express: version 2 or 5, no extra X-Duo
# headers, GET, or POST whose body is the client's JSON of the params.
jq -r '
def pbody: (.params | reduce .[] as $p ({};
    .[$p[0]] += [$p[1]]) | map_values(if length == 1 then .[0] else . end));
.[] | select(.kind == "full" and (.version == 2 or .version == 5)
    and ((.x_duo_headers // {}) | length) == 0
    and ((.method | ascii_upcase) == "GET"
	or ((.method | ascii_upcase) == "POST" and (.version == 2
	    or ((.params | length) > 0 and (.body | fromjson) == pbody)))))
| @sh "vec \(.id) \(.ikey) \(.skey) \(.host) \(.date) \(.version) \(if .hmac == "HMAC-SHA512" then "sha512" else "sha1" end) \(.method) \(.path) \(.canonical) \(.authorization) \(.params | map(.[0] + "=" + .[1]))"
' "$V" >"$T/vectors.sh" || exit 1
nvec=$(grep -c "^vec '" "$T/vectors.sh")
is "40 GET and POST vectors selected" "$nvec" 40

vec() {
	id=$1 ikey=$2 skey=$3 host=$4 date=$5 ver=$6 alg=$7 meth=$8 path=$9
	shift 9
	canon=$1 auth=$2
	shift 2
	ctype=
	case $meth in
	[Pp][Oo][Ss][Tt])
		if [ "$ver" = 2 ]; then
			ctype=application/x-www-form-urlencoded
		else
			ctype=application/json
		fi ;;
	esac
	set -- -V "$ver" -d "$date" "$meth" "$path" "$@"
	[ "$ver" = 2 ] && set -- -a "$alg" "$@"
	printf '%s\n' "$canon" >"$T/want"
	DUO_IKEY=$ikey DUO_SKEY=$skey DUO_HOST=$host \
	    duo-sign -o canon "$@" >"$T/got" 2>>"$T/stderr"
	same "$id: -o canon" "$T/got" "$T/want"
	{
		printf 'Date: %s\nAuthorization: %s\n' "$date" "$auth"
		[ -n "$ctype" ] && printf 'Content-Type: %s\n' "$ctype"
	} >"$T/want"
	DUO_IKEY=$ikey DUO_SKEY=$skey DUO_HOST=$host \
	    duo-sign -o headers "$@" >"$T/got" 2>>"$T/stderr"
	same "$id: -o headers" "$T/got" "$T/want"
	cat "$T/got" >>"$T/allout"
}
: >"$T/stderr"
: >"$T/allout"
# shellcheck disable=SC1091
. "$T/vectors.sh"
is "no messages from the vector runs" "$(cat "$T/stderr")" ""

export DUO_IKEY=DIWJ8X6AEYOR5OMC6TQ1 DUO_SKEY=$SKEY
export DUO_HOST=api-xxxxxxxx.duosecurity.com
D='Tue, 21 Aug 2012 17:29:18 -0000'

# -o curl (the default), GET: url with the canonical query.
status "-o curl GET" 0 duo-sign -d "$D" GET /admin/v2/logs/authentication \
    mintime=1700000000000 maxtime=1700000300000 limit=1000
cat >"$T/want" <<'EOF2'
url = "https://api-xxxxxxxx.duosecurity.com/admin/v2/logs/authentication?limit=1000&maxtime=1700000300000&mintime=1700000000000"
header = "Date: Tue, 21 Aug 2012 17:29:18 -0000"
header = "Authorization: Basic RElXSjhYNkFFWU9SNU9NQzZUUTE6ZmFkZDk1OWRkNGUxMWQzZDVhOTQwZDJiYzRmMTk0ZjU4ZjcxODQzNTljNDRlMzZmNzM2NjhhN2Y3ZjZmYTdmOTNlMWQ1NjUxZTBjNGU3MmM0MzdkOGU5ZjViN2ExNjlhNDc5ZjM0OTEzNzQ2YTE2ZTNlMWRmNzU1ZTE0MmRkZjk="
EOF2
auth=$(jq -r '.[] | select(.id == "client-a_authlog_v2-v5-sha512") |
    .authorization' "$V")
sed "s|^header = \"Authorization: .*|header = \"Authorization: $auth\"|" \
    "$T/want" >"$T/want2"
cp "$T/.out" "$T/got"
same "-o curl GET output" "$T/got" "$T/want2"

# No parameters: no "?".
status "-o curl GET without params" 0 duo-sign -d "$D" GET /admin/v1/info/summary
grepq "url without ?" '^url = "https://api-xxxxxxxx.duosecurity.com/admin/v1/info/summary"$' "$T/.out"

# POST v5: JSON body, escaped for curl's config syntax.
status "-o curl POST v5" 0 duo-sign -d "$D" POST /admin/v1/users \
    'username=jöhn doe' 'realname=First Last' email=jdoe+test@example.com
grepq "POST v5 data line" '^data = "\{\\"email\\":\\"jdoe\+test@example.com\\",\\"realname\\":\\"First Last\\",\\"username\\":\\"j\\\\u00f6hn doe\\"\}"$' "$T/.out"
grepq "POST v5 content type" '^header = "Content-Type: application/json"$' "$T/.out"
auth=$(jq -r '.[] | select(.id == "client-e_post_form_or_json-v5-sha512") |
    .authorization' "$V")
grepq "POST v5 authorization" "^header = \"Authorization: $auth\"\$" "$T/.out"

# POST v2: form body, the canonical parameter line.
status "-o curl POST v2" 0 duo-sign -V 2 -d "$D" POST /admin/v1/users \
    'username=jöhn doe' 'realname=First Last' email=jdoe+test@example.com
grepq "POST v2 data line" '^data = "email=jdoe%2Btest%40example.com&realname=First%20Last&username=j%C3%B6hn%20doe"$' "$T/.out"
grepq "POST v2 content type" '^header = "Content-Type: application/x-www-form-urlencoded"$' "$T/.out"

# A repeated name in a v5 body becomes an array, quotes are escaped.
status "-o curl POST v5 quoting" 0 duo-sign -d "$D" POST /x 'q=say "hi" \ ' n=2 n=1
grepq "curl quoting of JSON" '^data = "\{\\"n\\":\[\\"2\\",\\"1\\"\],\\"q\\":\\"say \\\\\\"hi\\\\\\" \\\\\\\\ \\"\}"$' "$T/.out"

# PUT and DELETE name their method.
status "-o curl DELETE" 0 duo-sign -d "$D" delete /admin/v1/users/X a=1
grepq "DELETE request line" '^request = "DELETE"$' "$T/.out"
grepq "DELETE query" '^url = "https://api-xxxxxxxx.duosecurity.com/admin/v1/users/X\?a=1"$' "$T/.out"

# The date defaults to now, RFC 2822 with English names, in UTC.
status "date defaults to now" 0 env LC_ALL=de_DE.UTF-8 duo-sign -o headers GET /x
grepq "current date format" '^Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} -0000$' "$T/.out"
now=$(date -u +%s)
got=$(sed -n 's/^Date: ..., \(.*\) -0000$/\1/p' "$T/.out")
sent=$(date -u -d "${got:-x}" +%s 2>/dev/null || echo 0)
ok "current date within 60 s of now" \
    test $((now - sent)) -le 60 -a $((sent - now)) -le 60

# Usage errors: exit 2 and the synopsis.
cat >"$T/usage" <<'EOF2'
usage: duo-sign [-c conf] [-a sha1|sha512] [-d date] [-o curl|headers|canon]
                [-V 2|5] METHOD PATH [name=value ...]
EOF2
status "no operands" 2 duo-sign
same "usage text" "$T/.err" "$T/usage"
status "one operand" 2 duo-sign GET
status "unknown option" 2 duo-sign -x GET /x
status "-V 3" 2 duo-sign -V 3 GET /x
grepq "-V message" '^duo-sign: -V 3: must be 2 or 5$' "$T/.err"
status "-V 4" 2 duo-sign -V 4 GET /x
status "-a md5" 2 duo-sign -a md5 GET /x
status "-a sha1 with -V 5" 2 duo-sign -a sha1 -V 5 GET /x
grepq "-a sha1 -V 5 message" 'version 5 always signs with SHA-512' "$T/.err"
status "-a sha1 with default version" 2 duo-sign -a sha1 GET /x
status "-a sha512 with -V 5 is fine" 0 duo-sign -a sha512 -V 5 -o canon GET /x
status "-o xml" 2 duo-sign -o xml GET /x
status "bad method" 2 duo-sign FETCH /x
grepq "bad method message" '^duo-sign: FETCH: method must be' "$T/.err"
status "relative path" 2 duo-sign GET admin/v1/users
status "path with ?" 2 duo-sign GET '/admin/v1/users?a=1'
status "path with dot segment" 2 duo-sign GET /admin/../v1
status "path with blank" 2 duo-sign GET '/a b'
status "operand without =" 2 duo-sign GET /x limit
grepq "operand message" '^duo-sign: limit: parameter must be name=value$' "$T/.err"
status "operand with empty name" 2 duo-sign GET /x =1
status "empty value is fine" 0 duo-sign -o canon -d "$D" GET /x a= b=1
grepq "empty value canonical" '^a=&b=1$' "$T/.out"
status "-d with a line break" 2 duo-sign -d "$(printf 'a\nb')" GET /x
status "invalid UTF-8 in a v5 body" 2 duo-sign POST /x "a=$(printf '\377')"
grepq "UTF-8 message" 'not valid UTF-8' "$T/.err"
status "invalid UTF-8 is fine in a v2 body" 0 duo-sign -V 2 POST /x "a=$(printf '\377')"
grepq "v2 body encodes the byte" '^data = "a=%FF"$' "$T/.out"

# A failed write to stdout is an error.
if [ -w /dev/full ]; then
	status "write error exits 1" 1 sh -c 'duo-sign GET /x >/dev/full'
	grepq "write error message" '^duo-sign: stdout: write error' "$T/.err"
else
	skip "write error exits 1" "no /dev/full"
	skip "write error message" "no /dev/full"
fi

# The skey appears nowhere.
nogrep "skey in no output" "$SKEY" "$T/allout" "$T/stderr" "$T/.out" "$T/.err"
finish
