#!/bin/sh
# duo.conf through duo-sign: the original LogRhythm integration's file
# unchanged, lookup order, environment overrides, refusal of a file
# others can read, errors and their exit codes, and the skey never in
# any output, message or argv.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

F=$TOP/tests/fixtures/conf
V=$TOP/tests/fixtures/sign/sign-vectors.json
SKEY=Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep
D='Tue, 21 Aug 2012 17:29:18 -0000'
cd "$T" || exit 1
: >"$T/all"

# keep: save the last command's output and messages for the final grep.
keep() {
	cat "$T/.out" "$T/.err" >>"$T/all"
}

# The original integration's duo.conf, byte for byte (mode 0600).
cp "$F/logrhythm.conf" lr.conf
chmod 600 lr.conf
status "LogRhythm duo.conf works unchanged" 0 duo-sign -c lr.conf -o canon \
    -d "$D" GET /admin/v1/info/summary
keep
printf '%s\nGET\nuniquehost.duosecurity.com\n/admin/v1/info/summary\n\n%s\n%s\n' \
    "$D" \
    cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e \
    cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e \
    >want
same "LogRhythm conf: host from the file" "$T/.out" want
status "LogRhythm conf signs" 0 duo-sign -c lr.conf -o headers GET /x
keep
nogrep "LogRhythm skey not in headers" secretgoeshere01010101 "$T/.out" "$T/.err"

# A real key pair in a 0600 file gives the vectors' signature.
mk() {
	printf '[duo]\nikey = DIWJ8X6AEYOR5OMC6TQ1\nskey = %s\nhost = %s\n' \
	    "$SKEY" "${2:-api-xxxxxxxx.duosecurity.com}" >"$1"
	chmod 600 "$1"
}
mk good.conf
auth=$(jq -r '.[] | select(.id == "client-c_adminlog_v1-v5-sha512") |
    .authorization' "$V")
status "-c conf signs the vector" 0 duo-sign -c good.conf -o headers -d "$D" \
    GET /admin/v1/logs/administrator mintime=1700000000
keep
grepq "-c conf: vector authorization" "^Authorization: $auth\$" "$T/.out"

# Windows line endings and a BOM, duo_unix's keys.
cp "$F/crlf.conf" crlf.conf
chmod 600 crlf.conf
status "CRLF conf" 0 duo-sign -c crlf.conf -o headers -d "$D" \
    GET /admin/v1/logs/administrator mintime=1700000000
keep
grepq "CRLF conf: vector authorization" "^Authorization: $auth\$" "$T/.out"
{ printf '\357\273\277'; cat good.conf; } >bom.conf
chmod 600 bom.conf
status "conf with a BOM" 0 duo-sign -c bom.conf -o canon GET /x
cp "$F/duo_unix.conf" du.conf
chmod 600 du.conf
status "duo_unix login_duo.conf keys are ignored" 0 duo-sign -c du.conf -o canon GET /x
keep

# Lookup: -c, else $DUO_CONF, else ./duo.conf.
mk duo.conf cwd.example
mk env.conf env.example
mk opt.conf opt.example
status "./duo.conf" 0 duo-sign -o canon -d "$D" GET /x
grepq "./duo.conf used" '^cwd\.example$' "$T/.out"
status "DUO_CONF" 0 env DUO_CONF=env.conf duo-sign -o canon -d "$D" GET /x
grepq "DUO_CONF beats ./duo.conf" '^env\.example$' "$T/.out"
status "-c" 0 env DUO_CONF=env.conf duo-sign -c opt.conf -o canon -d "$D" GET /x
grepq "-c beats DUO_CONF" '^opt\.example$' "$T/.out"
status "DUO_HOST" 0 env DUO_HOST=Over.Example:8443 duo-sign -c opt.conf -o canon -d "$D" GET /x
grepq "DUO_HOST overrides, lower-cased" '^over\.example:8443$' "$T/.out"
status "DUO_HOST in the url" 0 env DUO_HOST=Over.Example:8443 duo-sign -c opt.conf GET /x
grepq "curl url keeps the host as configured" '^url = "https://Over.Example:8443/x"$' "$T/.out"

# DUO_SKEY and DUO_IKEY override the file's keys.
status "DUO_SKEY overrides" 0 env DUO_SKEY=other duo-sign -c good.conf -o headers -d "$D" \
    GET /admin/v1/logs/administrator mintime=1700000000
keep
if grep -q "^Authorization: $auth\$" "$T/.out"; then
	_fail "DUO_SKEY changes the signature"
else
	_pass "DUO_SKEY changes the signature"
fi
printf '[duo]\nhost = api-xxxxxxxx.duosecurity.com\n' >nokeys.conf
chmod 644 nokeys.conf
status "keys from the environment, file without skey may be 0644" 0 \
    env DUO_IKEY=DIWJ8X6AEYOR5OMC6TQ1 DUO_SKEY=$SKEY \
    duo-sign -c nokeys.conf -o headers -d "$D" \
    GET /admin/v1/logs/administrator mintime=1700000000
grepq "environment keys: vector authorization" "^Authorization: $auth\$" "$T/.out"
rm duo.conf
status "no ./duo.conf: the environment alone" 0 \
    env DUO_IKEY=DIWJ8X6AEYOR5OMC6TQ1 DUO_SKEY=$SKEY DUO_HOST=h.example \
    duo-sign -o canon GET /x

# Refused: a file holding the skey that group or others can access.
for m in 644 640 604 660 620; do
	mk shared.conf
	chmod "$m" shared.conf
	status "mode $m refused with exit 2" 2 duo-sign -c shared.conf GET /x
	keep
done
grepq "refusal says why and how to fix" \
    '^duo-sign: shared\.conf: holds the skey but is accessible by group or others \(mode 0620\); run: chmod 600 shared\.conf$' "$T/.err"
is "refusal prints nothing on stdout" "$(cat "$T/.out")" ""
mk shared.conf
chmod 644 shared.conf
status "refused even when DUO_SKEY overrides" 2 env DUO_SKEY=x duo-sign -c shared.conf GET /x
chmod 400 shared.conf
status "mode 400 accepted" 0 duo-sign -c shared.conf -o canon GET /x

# Configuration errors exit 2 with the file and the reason.
status "missing -c file" 2 duo-sign -c nonexistent.conf GET /x
keep
grepq "missing file message" '^duo-sign: nonexistent\.conf: No such file or directory$' "$T/.err"
status "missing DUO_CONF file" 2 env DUO_CONF=gone.conf duo-sign GET /x
grepq "missing DUO_CONF message" '^duo-sign: gone\.conf: No such file' "$T/.err"
status "no conf at all" 2 duo-sign GET /x
grepq "no conf message" '^duo-sign: \./duo\.conf: No such file' "$T/.err"
printf '[duo]\nikey = DIX\nhost = h\n' >noskey.conf
chmod 600 noskey.conf
status "missing skey" 2 duo-sign -c noskey.conf GET /x
grepq "missing skey message" '^duo-sign: noskey\.conf: no skey \(in \[duo\] or DUO_SKEY\)$' "$T/.err"
printf '[duo]\nskey = %s\nhost = h\n' "$SKEY" >noikey.conf
chmod 600 noikey.conf
status "missing ikey" 2 duo-sign -c noikey.conf GET /x
keep
grepq "missing ikey message" 'no ikey' "$T/.err"
printf '[duo]\nikey = DIX\nskey = %s\n' "$SKEY" >nohost.conf
chmod 600 nohost.conf
status "missing host" 2 duo-sign -c nohost.conf GET /x
keep
{ cat good.conf; printf 'colour = blue\n'; } >unknown.conf
chmod 600 unknown.conf
status "unknown key" 2 duo-sign -c unknown.conf GET /x
keep
grepq "unknown key message names key and line" \
    '^duo-sign: unknown\.conf: line 5: unknown key "colour" in \[duo\]$' "$T/.err"
{ printf '[duo]\n%s\n' "$SKEY"; } >pasted.conf
chmod 600 pasted.conf
status "a line without =" 2 duo-sign -c pasted.conf GET /x
keep
grepq "bad line message" '^duo-sign: pasted\.conf: line 2: expected name = value$' "$T/.err"
mk scheme.conf https://api-x.duosecurity.com
status "host with a scheme" 2 duo-sign -c scheme.conf GET /x
keep
grepq "host message" 'host: must be a bare host name' "$T/.err"
printf '[duo]\ntimeout = soon\n' >>good2.conf
chmod 600 good2.conf
status "bad timeout" 2 duo-sign -c good2.conf GET /x
status "a directory as conf" 2 duo-sign -c "$T" GET /x

# argv never holds the skey: duo-sign blocks opening a FIFO as its
# conf while we look at its command line, then reads the conf from it.
mkfifo -m 600 fifo.conf
duo-sign -c fifo.conf -o headers GET /admin/v1/info/summary \
    >fifo.out 2>fifo.err &
pid=$!
i=0
: >ps.out
while [ "$i" -lt 100 ] && ! grep -q 'duo-sign' ps.out; do
	ps -o args= -p "$pid" >ps.out 2>/dev/null
	i=$((i + 1))
	sleep 0.1
done
cat "/proc/$pid/cmdline" >cmdline 2>/dev/null || :
grepq "ps shows duo-sign" 'duo-sign -c fifo.conf' ps.out
nogrep "skey not in ps output" "$SKEY" ps.out cmdline
cat good.conf >fifo.conf
wait "$pid"
is "conf read from a FIFO" "$?" 0
grepq "FIFO conf signs" '^Authorization: Basic ' fifo.out
cat fifo.out fifo.err >>"$T/all"

nogrep "skey in no output or message" "$SKEY" "$T/all"
finish
