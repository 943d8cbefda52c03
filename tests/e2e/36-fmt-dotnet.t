#!/bin/sh
# The MPE rules under the .NET regex engine, the one LogRhythm runs
# (System.Text.RegularExpressions; mono's copy of the .NET Framework's):
# tests/dotnet/rxcheck.cs, compiled here with mcs, gives the same table
# as mpe/check-rules (PCRE2) does in 33-fmt-rules.t.
# - every shipped rule compiles, the original integration's broken rule
#   does not (a test that must fail);
# - every golden line: right first rule, right captures;
# - long near-miss lines: no rule takes long (linear rules);
# - the community fork's published rules (tests/fixtures/fmt/fork, as
#   deployed sites run them) against -f legacy output of every auth,
#   admin and telephony record the fake Duo makes: at least 99% matched
#   by the rule meant for them, with the right login, sip, result and
#   action; the others are listed.
. "$(dirname "$0")/lib.sh"
FX=$TOP/tests/fixtures/fmt
MPE=$TOP/mpe
KINDS="auth admin telephony activity offline trustmonitor"

if ! command -v mcs >/dev/null 2>&1 || ! command -v mono >/dev/null 2>&1; then
	echo "# mono is not installed (Debian: mono-mcs mono-runtime; make deps)"
	skip ".NET rule tests" "no mcs or mono"
	finish
fi
status "rxcheck.cs compiles" 0 mcs -nologo -out:"$T/rxcheck.exe" \
    "$TOP/tests/dotnet/rxcheck.cs"
rx() {
	mono "$T/rxcheck.exe" "$@"
}

# compile: every shipped rule; the original 2FA rule fails
status "every shipped rule compiles under .NET" 0 rx -c "$MPE"/*.re \
    "$MPE"/legacy/*.re "$FX"/fork/*.re
is "no compile error" "$(grep -vc ': ok$' "$T/.out")" 0
status "the original duo_2faUserAuth.re does not compile" 1 rx -c \
    "$FX/original/duo_2faUserAuth.re"
grepq "original: .NET names the bad group" 'duo_2faUserAuth.re: error: .*[Gg]roup' "$T/.out"

# golden lines: the table 33-fmt-rules.t checks with PCRE2
for f in mpe legacy; do
	: >"$T/all"
	for k in $KINDS; do
		duo-fmt -z Europe/Berlin -f "$f" "$FX/$k.ndjson" >>"$T/all"
	done
	printf 'not | json\n' | duo-fmt -f "$f" >>"$T/all" 2>/dev/null
	cat "$FX/status.lines" >>"$T/all"
	cp "$T/all" "$T/all.$f"
	d=$MPE
	[ "$f" = legacy ] && d=$MPE/legacy
	status "$f: .NET runs the rules" 0 rx "$d" "$T/all"
	same "$f: .NET: each line's rule and captures" "$T/.out" \
	    "$FX/rules-$f.expect"
done

# near-miss lines of 60 KB and more: every rule answers at once.  Each
# golden line with its end broken and a long value of the characters
# the rules scan ("|", quotes, the ip_address key) appended.
python3 - "$T/all.mpe" "$T/all.legacy" >"$T/near" <<'PY'
import sys
for path in sys.argv[1:]:
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        body = line.rstrip('|"')
        print(body + "x" * 60000)
        print(body + '"a' * 30000)
        print(body + '"ip_address": "' + "1" * 60000)
        print(body + '{"ip_address": "1.2.3.4' + ' "ip": ' * 8000)
PY
for d in "$MPE" "$MPE/legacy"; do
	t0=$(date +%s)
	status "$(basename "$d"): near-miss lines, no match over 2 s" 0 \
	    rx -T 2000 "$d" "$T/near"
	t1=$(date +%s)
	nogrep "$(basename "$d"): no timeout" "timeout=" "$T/.out"
	if [ $((t1 - t0)) -lt 60 ]; then
		_pass "$(basename "$d"): $(wc -l <"$T/near" | tr -d ' ') near-miss lines in $((t1 - t0)) s"
	else
		_fail "$(basename "$d"): near-miss lines took $((t1 - t0)) s"
	fi
done

# the STATUS rule: a line of the wrong layout is no STATUS line
printf '%s\n' '2026-05-01 13:45:10 DUO STATUS |utc=x|kind=auth|result=ok|status=zero|' >"$T/st"
status "STATUS rule: a broken health line" 0 rx "$MPE" "$T/st"
grepq "STATUS rule: broken line only caught by the catch-all" \
    '	first=99-catch-all.re	' "$T/.out"

# the fork's rules against legacy lines of the fake Duo's records
if fake_start --records auth=1000,admin=1000,telephony=400 2>/dev/null &&
    [ -s "$FAKE/data/admin.ndjson" ]; then
	: >"$T/recs"
	: >"$T/leg"
	for k in auth admin telephony; do
		cat "$FAKE/data/$k.ndjson" >>"$T/recs"
		duo-fmt -z utc -k "$k" -f legacy "$FAKE/data/$k.ndjson" >>"$T/leg"
	done
	is "fake: one legacy line per record" "$(wc -l <"$T/leg" | tr -d ' ')" \
	    "$(wc -l <"$T/recs" | tr -d ' ')"
	status "fork rules run" 0 rx "$FX/fork" "$T/leg"
	cp "$T/.out" "$T/got"
	ok "fork rules: >= 99% right rule and captures" python3 - \
	    "$T/recs" "$T/leg" "$T/got" <<'PY'
import ipaddress, json, re, sys

V1F = {"duo_push": "Duo Push", "phone_call": "Phone Call",
       "passcode": "Passcode", "sms_passcode": "SMS Passcode",
       "bypass_code": "Bypass Code", "hardware_token": "Hardware Token",
       "remembered_device": "Remembered Device",
       "trusted_network": "Trusted Network",
       "verified_duo_push": "Verified Duo Push",
       "not_available": "Not Available",
       "webauthn_security_key": "WebAuthn Security Key"}
V1R = {"success": "SUCCESS", "denied": "FAILURE", "fraud": "FRAUD"}
LABEL = {"admin_login": "Admin Login", "admin_login_error": "Admin Login Error",
         "admin_2fa_error": "Admin 2FA Error", "user_update": "Update User",
         "user_create": "Create User", "user_delete": "Delete User",
         "group_update": "Update Group",
         "integration_update": "Update Integration"}

def pct(s):
    return re.sub(rb"%([0-9A-F]{2})", lambda m: bytes([int(m.group(1), 16)]),
                  s.encode()).decode()

def addr(ip):
    """The address of "a", "a:port", "[a]" or "[a]:port"; else ""."""
    if ip is None:
        return ""
    m = re.fullmatch(r"\[([^]]*)\](?::\d{1,5})?|(.*?)(?::\d{1,5})?", ip)
    for a in (ip, m.group(1) or m.group(2) or ""):
        try:
            ipaddress.ip_address(a)
            return a
        except ValueError:
            pass
    return ""

recs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
legs = open(sys.argv[2], encoding="utf-8").read().split("\n")[:-1]
got = open(sys.argv[3], encoding="utf-8").read().split("\n")[:-1]
assert len(recs) == len(legs) == len(got)
bad = []
for n, (r, leg, g) in enumerate(zip(recs, legs, got), 1):
    f = dict(x.split("=", 1) for x in g.split("\t")[1:])
    if "telephony_id" in r or "credits" in r:
        want = ("2-telephony-activity.re", None)
    elif "txid" in r:
        want = ("1-2fa-user-auth-activity.re", {
            "login": r["user"]["name"],
            "sip": addr(r["access_device"]["ip"]),
            "result": V1R.get(r["result"], r["result"].upper()),
            "action": V1F.get(r["factor"], r["factor"])})
    else:
        d = None
        try:
            d = json.loads(r["description"])
        except (ValueError, TypeError):
            pass
        label = LABEL.get(r["action"], r["action"])
        if (r["action"] == "admin_login" and isinstance(d, dict) and
                "ip_address" in d):
            want = ("3-admin-login-success.re", {
                "login": r["username"], "sip": d["ip_address"],
                "result": "-", "action": label})
        elif (r["action"] in ("admin_login_error", "admin_2fa_error") and
              isinstance(d, dict) and isinstance(d.get("error"), str) and
              "ip_address" in d):
            want = ("4-admin-login-or-2fa-failure.re", {
                "login": r["username"], "sip": d["ip_address"],
                "result": "-", "action": label})
        else:
            want = ("5-admin-object-manipulation.re", {
                "login": r["username"], "sip": "-", "result": "-",
                "action": label})
    why = None
    if f["first"] != want[0]:
        why = "first rule %s, not %s" % (f["first"], want[0])
    elif want[1] is not None:
        for k, v in want[1].items():
            if pct(f[k]) != v:
                why = "%s captured %r, not %r" % (k, f[k], v)
                break
    if why:
        bad.append((n, why, leg[:160]))
ok = len(recs) - len(bad)
print("# fork rules: %d of %d lines right (%.2f%%)" %
      (ok, len(recs), 100.0 * ok / len(recs)))
for n, why, leg in bad:
    print("# unmatched line %d: %s: %s" % (n, why, leg))
sys.exit(0 if ok >= 0.99 * len(recs) else 1)
PY
	cat "$T/.out"
	# the mpe rules under .NET on the fake's records of every kind
	: >"$T/mpeall"
	for f in "$FAKE"/data/*.ndjson; do
		duo-fmt -z utc "$f" >>"$T/mpeall"
	done
	status "fake mpe lines: .NET runs the rules" 0 rx "$MPE" "$T/mpeall"
	is "fake mpe lines: every line first matched by its kind's rule" \
	    "$(grep -c 'first=none\|first=99-catch-all\|first=08-unparsed' "$T/.out")" 0
else
	skip "fork rules on the fake's records" "fakeduo.py did not start"
fi
finish
