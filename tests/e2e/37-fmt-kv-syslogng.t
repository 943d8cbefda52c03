#!/bin/sh
# duo-fmt -f kv read back by a real kv parser: syslog-ng's kv-parser
# (Debian's syslog-ng-core), run as `syslog-ng -F` on a file source.
# Every value it decodes equals the record's value (the same value the
# mpe line carries, %XX-decoded); NUL, which no line can carry, comes
# back as the documented text \x00.
. "$(dirname "$0")/lib.sh"
FX=$TOP/tests/fixtures/fmt
KINDS="auth admin telephony activity offline trustmonitor"

if ! command -v syslog-ng >/dev/null 2>&1; then
	echo "# syslog-ng is not installed (Debian: syslog-ng-core; make deps)"
	skip "kv through syslog-ng" "no syslog-ng"
	finish
fi

# records: the fixtures, and values holding every byte a kv parser could
# trip on
cat "$FX"/auth.ndjson "$FX"/admin.ndjson >"$T/in.ndjson"
python3 - >>"$T/in.ndjson" <<'PY'
import json
ctl = "".join(chr(c) for c in range(1, 32)) + "\x7f"
for v in ["q\"uote", "back\\slash \\n \\x41 \\\"", "eq=ual sp ace 'single'",
          ctl, "nul\u0000byte", "trail\\", "\"", "x=\"y\" z=1",
          "é|%25%|日本\t"]:
    print(json.dumps({"txid": v, "factor": v, "user": {"name": v},
                      "application": {"name": v}, "reason": v,
                      "access_device": {"ip": v, "hostname": v},
                      "timestamp": 1700000000}))
    print(json.dumps({"action": v, "username": v, "object": v,
                      "description": v, "timestamp": 1700000000}))
PY
for k in $KINDS; do
	[ "$k" = auth ] || [ "$k" = admin ] || cat "$FX/$k.ndjson" >>"$T/in.ndjson"
done
status "kv: exit 0" 0 duo-fmt -z utc -f kv "$T/in.ndjson"
cp "$T/.out" "$T/in.kv"
status "mpe: exit 0" 0 duo-fmt -z utc -f mpe "$T/in.ndjson"
cp "$T/.out" "$T/in.mpe"
n=$(wc -l <"$T/in.kv" | tr -d ' ')

mkdir "$T/sng"
cat >"$T/sng/sng.conf" <<EOF
@version: 3.35
options { stats-freq(0); log-msg-size(1048576); keep-hostname(yes); };
source s { file("$T/in.kv" flags(no-parse) follow-freq(1)
    log-msg-size(1048576)); };
parser p { kv-parser(prefix("kv.")); };
destination d { file("$T/sng/out.json"
    template("\$(format-json --scope none --key kv.*)\n")); };
log { source(s); parser(p); destination(d); };
EOF
syslog-ng -F -f "$T/sng/sng.conf" -R "$T/sng/persist" -p "$T/sng/pid" \
    -c "$T/sng/ctl" >"$T/sng/log" 2>&1 &
sng=$!
i=0
while [ "$i" -lt 300 ]; do
	[ -f "$T/sng/out.json" ] &&
	    [ "$(wc -l <"$T/sng/out.json" | tr -d ' ')" -ge "$n" ] && break
	kill -0 "$sng" 2>/dev/null || break
	sleep 0.1
	i=$((i + 1))
done
kill "$sng" 2>/dev/null
wait "$sng" 2>/dev/null
diag "$T/sng/log"
is "syslog-ng parsed every line" \
    "$(wc -l <"$T/sng/out.json" 2>/dev/null | tr -d ' ')" "$n"

ok "kv-parser gives back every value" python3 - "$T/in.mpe" \
    "$T/sng/out.json" "$T/in.ndjson" <<'PY'
import json, re, sys

def pct(s):
    return re.sub(rb"%([0-9A-F]{2})", lambda m: bytes([int(m.group(1), 16)]),
                  s.encode()).decode()

mpe = open(sys.argv[1], encoding="utf-8").read().split("\n")[:-1]
got = [json.loads(l)["kv"] for l in open(sys.argv[2], encoding="utf-8")]
recs = [json.loads(l) for l in open(sys.argv[3], encoding="utf-8")]
assert len(mpe) == len(got) == len(recs), (len(mpe), len(got), len(recs))
checked = 0
for n, (m, g, r) in enumerate(zip(mpe, got, recs), 1):
    head, _, body = m.partition(" |")
    pairs = [p.split("=", 1) for p in body.split("|")[:-1]]
    want = {k: pct(v).replace("\0", "\\x00") for k, v in pairs}
    want["kind"] = head.split(" ")[3].lower()
    for k, v in want.items():
        if g.get(k) != v:
            sys.exit("line %d key %s: kv-parser %r, record %r" %
                     (n, k, g.get(k), v))
        checked += 1
    # straight from the record, for the hostile ones
    if isinstance(r.get("user"), dict) and isinstance(
            r["user"].get("name"), str):
        v = r["user"]["name"].replace("\0", "\\x00")
        assert g["user"] == v, (n, g["user"], v)
    if isinstance(r.get("username"), str):
        v = r["username"].replace("\0", "\\x00")
        k = "admin" if "admin" in g else "user"
        assert g[k] == v, (n, g[k], v)
print("# %d values checked" % checked)
PY
# NUL: the documented lossy mapping
grepq "NUL written as \\x00" 'user="nul\\x00byte"' "$T/in.kv"
# UNPARSED kv lines: the keys of the man page's UNPARSED list
printf 'not json\n' | duo-fmt -f kv >"$T/u" 2>/dev/null
keys=$(sed -n '/^\.Ss UNPARSED/,/^\.El/p' "$TOP/man/duo-fmt.1" |
    sed -n 's/^\.It \([a-z_]*\) Ta \([a-z_]*\) Ta .*/\2/p' | tr '\n' ' ')
is "UNPARSED kv keys as the man page lists them" \
    "$(sed 's/="[^"]*"//g' "$T/u")" "duo_time kind utc ${keys% }"
finish
