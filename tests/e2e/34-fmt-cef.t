#!/bin/sh
# duo-fmt -f cef: every line parses with a strict CEF parser (written
# here in Python from the CEF specification), and the parsed values are
# the record's own values.
. "$(dirname "$0")/lib.sh"
FX=$TOP/tests/fixtures/fmt
KINDS="auth admin telephony activity offline trustmonitor"

cat >"$T/cef.py" <<'PY'
import datetime, ipaddress, json, re, sys

KEY = re.compile(r"[A-Za-z0-9_]+\Z")

def header(line):
    if not line.startswith("CEF:"):
        raise ValueError("no CEF: prefix")
    f, cur, i, s = [], [], 4, line
    while len(f) < 7:
        if i >= len(s):
            raise ValueError("short header")
        c = s[i]
        if c == "\\":
            if i + 1 >= len(s) or s[i + 1] not in "\\|":
                raise ValueError("bad header escape at %d" % i)
            cur.append(s[i + 1]); i += 2; continue
        if c == "|":
            f.append("".join(cur)); cur = []; i += 1; continue
        if ord(c) < 0x20:
            raise ValueError("control character in header")
        cur.append(c); i += 1
    return f, s[i:]

def extension(s):
    # split on unescaped '='; the key is the word before it
    out, pos, keys = {}, [], []
    i = 0
    while i < len(s):
        if s[i] == "\\":
            if i + 1 >= len(s) or s[i + 1] not in "\\=nr":
                raise ValueError("bad extension escape at %d" % i)
            i += 2; continue
        if s[i] in "\r\n":
            raise ValueError("raw line break")
        if s[i] == "=":
            pos.append(i)
        i += 1
    starts = []
    for p in pos:
        b = s.rfind(" ", 0, p) + 1
        k = s[b:p]
        if not KEY.match(k):
            raise ValueError("bad key %r" % k)
        starts.append((b, p, k))
    for n, (b, p, k) in enumerate(starts):
        end = starts[n + 1][0] - 1 if n + 1 < len(starts) else len(s)
        v = s[p + 1:end]
        if n + 1 < len(starts) and s[end] != " ":
            raise ValueError("no space before key %s" % starts[n + 1][2])
        if k in out:
            raise ValueError("duplicate key %s" % k)
        out[k] = re.sub(r"\\(.)", lambda m: {"n": "\n", "r": "\r"}.get(
            m.group(1), m.group(1)), v)
    return out

def clean(v):
    if v is None:
        return None
    if v is True or v is False:
        v = json.dumps(v)
    v = str(v)
    return "".join(" " if (ord(c) < 0x20 and c not in "\r\n") or
                   ord(c) == 0x7f else c for c in v)

def get(r, p):
    for k in p.split("."):
        if not isinstance(r, dict):
            return None
        r = r.get(k)
    return r

def ms(r):
    for k in ("isotimestamp", "ts"):
        if r.get(k):
            d = datetime.datetime.fromisoformat(r[k])
            return int(d.timestamp()) * 1000 + d.microsecond // 1000
    if r.get("timestamp") is not None:
        return r["timestamp"] * 1000
    return r["surfaced_timestamp"]

WANT = {
  "auth": {"externalId": "txid", "suser": "user.name", "outcome": "result",
           "reason": "reason", "act": "factor", "duoEmail": "email",
           "destinationServiceName": "application.name", "shost": "access_device.hostname"},
  "admin": {"act": "action", "suser": "username", "duoObject": "object"},
  "telephony": {"externalId": "telephony_id", "cat": "context", "act": "type",
                "duoPhone": "phone", "cnt": "credits"},
  "activity": {"externalId": "activity_id", "suser": "actor.name",
               "duser": "target.name", "actor_key_": None},
  "offline": {"act": "action", "suser": "username", "duoObject": "object"},
  "trustmonitor": {"externalId": "sekey", "cat": "type", "duoState": "state"},
}

kind, cef, src = sys.argv[1], sys.argv[2], sys.argv[3]
recs = [json.loads(l) for l in open(src, encoding="utf-8")]
lines = open(cef, encoding="utf-8").read().split("\n")
assert lines[-1] == "", "no final newline"
lines.pop()
assert len(lines) == len(recs), (len(lines), len(recs))
for line, r in zip(lines, recs):
    h, ext = header(line)
    assert h[:4] == ["0", "Duo Security", "Duo", "1"], h
    assert h[4].startswith(kind + ":"), h
    assert 0 <= int(h[6]) <= 10, h
    e = extension(ext)
    assert e["rt"] == str(ms(r)) == e["end"], (e["rt"], ms(r))
    for k, p in WANT[kind].items():
        if p is None:
            continue
        v = clean(get(r, p))
        if v in (None, ""):
            assert k not in e, (k, e.get(k))
        else:
            assert e.get(k) == v, (k, e.get(k), v)
    ip = get(r, "access_device.ip") if kind == "auth" else None
    if isinstance(ip, str):
        try:
            ipaddress.ip_address(ip)
            assert e["src"] == ip and "spt" not in e and "duoIp" not in e, e
        except ValueError:
            a, _, port = ip.rpartition(":")
            a = a[1:-1] if a.startswith("[") else a
            try:
                ipaddress.ip_address(a)
                assert e["src"] == a and e["spt"] == port, e
            except ValueError:
                assert "src" not in e and "spt" not in e, e
            assert e["duoIp"] == ip, e
print("ok")
PY

for k in $KINDS; do
	status "$k: cef exit 0" 0 duo-fmt -z Europe/Berlin -f cef "$FX/$k.ndjson"
	cp "$T/.out" "$T/cef"
	ok "$k: strict CEF parse and values" python3 "$T/cef.py" "$k" "$T/cef" \
	    "$FX/$k.ndjson"
done
# the parser is strict: it rejects a bad line
printf 'CEF:0|Duo Security|Duo|1|auth:x|n|3|rt=1 end=1 suser=a=b\n' >"$T/bad"
printf '{"txid":"x","factor":"f","timestamp":0}\n' >"$T/badrec"
status "strict parser rejects an unescaped =" 1 python3 "$T/cef.py" auth \
    "$T/bad" "$T/badrec"
printf 'CEF:0|Duo Security|Duo|1|auth:x|a|b|3|rt=0 end=0\n' >"$T/bad"
status "strict parser rejects an unescaped | in the header" 1 python3 \
    "$T/cef.py" auth "$T/bad" "$T/badrec"
# header escaping
printf '{"action":"x|y\\\\z","username":"u","timestamp":1}\n' >"$T/in"
status "header escaping" 0 duo-fmt -f cef -k admin "$T/in"
grepq "header: | and \\ escaped" '^CEF:0\|Duo Security\|Duo\|1\|admin:x\\\|y\\\\z\|x\\\|y\\\\z\|3\|' "$T/.out"
# a NUL stops no header field and no label lookup
printf '{"action":"user_update\\u0000evil","username":"u","timestamp":1}\n' >"$T/in"
status "NUL in the action" 0 duo-fmt -f cef -k admin "$T/in"
grepq "NUL: whole action in the header, no label" '^CEF:0\|Duo Security\|Duo\|1\|admin:user_update evil\|user_update evil\|3\|' "$T/.out"
nogrep "NUL: not looked up as user_update" "Update User" "$T/.out"
status "NUL in the action (mpe)" 0 duo-fmt -k admin "$T/in"
grepq "NUL: mpe label is the action" '\|action=user_update%00evil\|label=user_update%00evil\|' "$T/.out"
printf '{"txid":"t","factor":"f","result":"fraud\\u0000x","timestamp":1}\n' >"$T/in"
status "NUL in the result" 0 duo-fmt -f cef "$T/in"
grepq "NUL: result whole, severity not fraud's" '^CEF:0\|Duo Security\|Duo\|1\|auth:fraud x\|authentication\|5\|' "$T/.out"
finish
