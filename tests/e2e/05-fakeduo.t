#!/bin/sh
# 05-fakeduo.t: self-test of the fake Duo server (fakeduo.py) and the
# CONNECT proxy (proxy.py) with python3, openssl and curl only: no duopipe
# binary takes part.  The client below signs with its own code, which is
# first checked against the official vectors.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

VEC=$TOP/tests/fixtures/sign/sign-vectors.json
H=$T/duoc.py
cat >"$H" <<'PYEOF'
import base64, email.message, hashlib, hmac, http.client, json, os, re
import ssl, sys, time, urllib.parse

FAKE = os.environ.get("FAKE", "")
SKEW = int(os.environ.get("DUOC_SKEW", "0"))
CUR = "status"


def now():
    return time.time() + SKEW
TOP = os.environ.get("TOP", ".")


def conf():
    c = {}
    with open(os.path.join(FAKE, "duo.conf")) as f:
        for line in f:
            k, sep, v = line.partition("=")
            if sep:
                c[k.strip()] = v.strip()
    return c


def enc(s):
    if isinstance(s, str):
        s = s.encode("utf-8")
    return "".join(chr(b) if chr(b) in UNRES else "%%%02X" % b for b in s)


UNRES = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def canon(pairs):
    return "&".join("%s=%s" % kv for kv in sorted((enc(k), enc(v)) for k, v in pairs))


def signature(ver, alg, date, method, host, path, pairs, skey, xh=None):
    if ver == 2:
        msg = "\n".join([date, method.upper(), host.lower(), path, canon(pairs)])
    else:
        e = hashlib.sha512(b"").hexdigest()
        xs = sorted((k.lower(), v) for k, v in (xh or {}).items())
        xd = hashlib.sha512("\0".join(a for kv in xs for a in kv).encode()).hexdigest()
        msg = "\n".join([date, method.upper(), host.lower(), path, canon(pairs), e, xd])
    dig = hashlib.sha1 if alg == "sha1" else hashlib.sha512
    return hmac.new(skey.encode(), msg.encode("utf-8"), dig).hexdigest()


def rfc2822(t):
    return time.strftime("%a, %d %b %Y %H:%M:%S -0000", time.gmtime(t))


def build(argv):
    """[-2|-5] [-1] [-x] [-o SEC] [-b] [-i IKEY] [-h HOST] [-D DATE] PATH k=v..."""
    o = {"ver": 5, "alg": "sha512", "xdate": False, "off": 0, "bad": False,
         "ikey": None, "host": None, "date": None}
    while argv and argv[0].startswith("-"):
        a = argv.pop(0)
        if a == "-2": o["ver"] = 2
        elif a == "-5": o["ver"] = 5
        elif a == "-1": o["alg"] = "sha1"
        elif a == "-x": o["xdate"] = True
        elif a == "-o": o["off"] = int(argv.pop(0))
        elif a == "-b": o["bad"] = True
        elif a == "-i": o["ikey"] = argv.pop(0)
        elif a == "-h": o["host"] = argv.pop(0)
        elif a == "-D": o["date"] = argv.pop(0)
        else: sys.exit("bad option " + a)
    path = argv.pop(0)
    pairs = [tuple(a.split("=", 1)) for a in argv]
    c = conf()
    date = o["date"] or rfc2822(now() + o["off"])
    xh = {"X-Duo-Date": date} if o["xdate"] else {}
    sig = signature(o["ver"], o["alg"], date, "GET", o["host"] or c["host"],
                    path, pairs, c["skey"], xh)
    if o["bad"]:
        sig = ("0" if sig[0] != "0" else "1") + sig[1:]
    auth = base64.b64encode(("%s:%s" % (o["ikey"] or c["ikey"], sig)).encode()).decode()
    hdrs = {"Authorization": "Basic " + auth}
    if o["xdate"]:
        hdrs.update(xh)
    else:
        hdrs["Date"] = date
    q = canon(pairs)
    return c, path + ("?" + q if q else ""), hdrs


def curlcfg(argv):
    c, target, hdrs = build(argv)
    print('url = "https://%s%s"' % (c["host"], target))
    for k, v in hdrs.items():
        print('header = "%s: %s"' % (k, v))


class Client:
    def __init__(self):
        self.c = conf()
        ctx = ssl.create_default_context(cafile=self.c["cafile"])
        host, port = self.c["host"].split(":")
        self.h = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=30)
        self.n = 0

    def get(self, path, pairs, want=200):
        date = rfc2822(now())
        sig = signature(5, "sha512", date, "GET", self.c["host"], path, pairs, self.c["skey"])
        auth = base64.b64encode(("%s:%s" % (self.c["ikey"], sig)).encode()).decode()
        self.h.request("GET", path + "?" + canon(pairs),
                       headers={"Date": date, "Authorization": "Basic " + auth})
        r = self.h.getresponse()
        body = r.read().decode("utf-8")
        self.n += 1
        if r.status != want:
            sys.exit("%s: %d %s" % (path, r.status, body))
        return body


STR_OR_WS = re.compile(r'("(?:[^"\\]|\\.)*")|[ \t\r\n]+')


def compact(text):
    return STR_OR_WS.sub(lambda m: m.group(1) or "", text)


def split_records(body, key):
    """The served text of each record (top-level items of the list)."""
    d = json.loads(body)
    lst = d["response"] if key is None else d["response"][key]
    # re-find each item's exact text by scanning the raw body
    start = body.index("[", body.index('"%s"' % key) if key else body.index('"response"'))
    out = []
    i = start + 1
    dec = json.JSONDecoder()
    while len(out) < len(lst):
        while body[i] in ", \n":
            i += 1
        _, j = dec.raw_decode(body, i)
        out.append(body[i:j])
        i = j
    return out, d


PATHS = {"auth": ("/admin/v2/logs/authentication", "authlogs", "next_offset"),
         "telephony": ("/admin/v2/logs/telephony", "items", "next_offset"),
         "activity": ("/admin/v2/logs/activity", "items", "next_offset"),
         "trustmonitor": ("/admin/v1/trust_monitor/events", "events", "offset"),
         "admin": ("/admin/v1/logs/administrator", None, None),
         "offline": ("/admin/v1/logs/offline_enrollment", None, None)}


def drain(argv):
    """KIND [limit=N] [style=joined|repeated] [sort=ts:asc|ts:desc] [until=SEC]"""
    kind = argv.pop(0)
    opts = dict(a.split("=", 1) for a in argv)
    cl = Client()
    path, key, offp = PATHS[kind]
    out = []
    if key is not None:
        t = int(now() * 1000)
        base = [("mintime", str(t - 86400000)),
                ("maxtime", str(t - int(opts.get("until", "0")) * 1000))]
        if "limit" in opts:
            base.append(("limit", opts["limit"]))
        if kind != "trustmonitor":
            base.append(("sort", opts.get("sort", "ts:asc")))
        nxt = None
        while True:
            pairs = list(base)
            if nxt is not None:
                if isinstance(nxt, list) and opts.get("style") == "repeated":
                    pairs += [(offp, nxt[0]), (offp, nxt[1])]
                elif isinstance(nxt, list):
                    pairs.append((offp, ",".join(nxt)))
                else:
                    pairs.append((offp, nxt))
            recs, d = split_records(cl.get(path, pairs), key)
            out += [compact(r) for r in recs]
            nxt = d["response"]["metadata"]["next_offset"]
            if nxt is None:
                break
            if len(recs) == 0:
                sys.exit("empty page with a next_offset")
    else:
        mint, seen, last = 0, set(), None
        while True:
            recs, d = split_records(cl.get(path, [("mintime", str(mint))]), None)
            if not recs:
                break
            new = [r for r in recs if r not in seen]
            out += [compact(r) for r in new]
            s = d["response"][-1]["timestamp"]
            if s != last:
                seen = set()
            seen |= {r for r, x in zip(recs, d["response"]) if x["timestamp"] == s}
            last = s
            mint = s if new else s + 1
    if opts.get("sort") == "ts:desc":
        out.reverse()
    sys.stdout.write("".join(r + "\n" for r in out))
    sys.stderr.write("%d requests\n" % cl.n)


def v1rule(argv):
    """KIND MINTIME|burst [CAP]: the response is exactly the CAP (1000)
    earliest with timestamp >= MINTIME, extended to the last one's second."""
    kind, m = argv[:2]
    cap = int(argv[2]) if len(argv) > 2 else 1000
    path = PATHS[kind][0]
    lines = open(os.path.join(FAKE, "data", kind + ".ndjson"), encoding="utf-8").read().splitlines()
    ts = [json.loads(x)["timestamp"] for x in lines]
    if m == "burst":
        from collections import Counter
        m = Counter(ts).most_common(1)[0][0]
    m = int(m)
    want = [x for x, t in zip(lines, ts) if t >= m]
    wts = [t for t in ts if t >= m]
    if len(want) > cap:
        k = cap
        while k < len(want) and wts[k] == wts[cap - 1]:
            k += 1
        want = want[:k]
    recs, _ = split_records(Client().get(path, [("mintime", str(m))]), None)
    got = [compact(r) for r in recs]
    if got != want:
        sys.exit("v1 rule broken at mintime %d: got %d records, want %d" % (m, len(got), len(want)))
    print(len(got))


def status(argv):
    """Print 'STATUS CODE' (code '-' on success) of a signed GET, body to $T/.body."""
    c, target, hdrs = build(argv)
    ctx = ssl.create_default_context(cafile=c["cafile"])
    host, port = c["host"].split(":")
    h = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=30)
    h.request("GET", target, headers=hdrs)
    r = h.getresponse()
    body = r.read()
    open(os.path.join(os.environ["T"], "b.%s.body" % CUR), "wb").write(body)
    d = json.loads(body)
    print("%d %s" % (r.status, d.get("code", "-")))


def vectors(argv):
    """The fake's verifier accepts every v2/v5 official vector, rejects tampered ones."""
    sys.path.insert(0, os.path.join(TOP, "tests", "e2e"))
    sys.dont_write_bytecode = True
    import fakeduo
    vs = json.load(open(argv[0], encoding="utf-8"))
    good = bad = 0
    for v in vs:
        if v.get("kind") != "full" or v["version"] not in (2, 5) or "request_uri_as_sent" not in v:
            continue
        app = fakeduo.App.__new__(fakeduo.App)
        app.ikey, app.skey = v["ikey"], v["skey"]
        t = fakeduo.parse_date(v["date"])
        app.now = lambda t=t: t + 10
        for tamper in (False, True):
            h = email.message.Message()
            for k, val in v["headers_sent"].items():
                h[k] = val
            h["Host"] = v["host"]
            h["Authorization"] = v["authorization"]
            raw = v["request_uri_as_sent"]
            body = (v.get("body") or "").encode("utf-8")
            if tamper and v["method"].upper() == "GET":
                raw += ("&" if "?" in raw else "?") + "x=1"
            elif tamper:
                body += b" "
            path, _, q = raw.partition("?")
            try:
                sig = app.verify(v["method"], path, q, h, body)
                ok = not tamper and sig.startswith("v%d" % v["version"])
            except fakeduo.Reply as r:
                ok = tamper and r.code == 40103
            if ok:
                good += 1
            else:
                bad += 1
                print("vector %s tamper=%s: wrong answer" % (v["id"], tamper))
    print("%d ok, %d wrong" % (good, bad))
    sys.exit(1 if bad or good < 100 else 0)


def signcheck(argv):
    """Our own signer reproduces the official vectors (v2 GET/v5 GET, no x-duo)."""
    vs = json.load(open(argv[0], encoding="utf-8"))
    n = 0
    for v in vs:
        if v.get("kind") != "full" or v["method"] != "GET" or v["version"] not in (2, 5) \
                or v.get("x_duo_headers"):
            continue
        alg = "sha1" if v["hmac"] == "HMAC-SHA1" else "sha512"
        s = signature(v["version"], alg, v["date"], "GET", v["host"], v["path"],
                      v["params"], v["skey"])
        if s != v["signature_hex"]:
            sys.exit("signer wrong on " + v["id"])
        n += 1
    print(n)


def facts(argv):
    """Properties the datasets promise."""
    d = os.path.join(FAKE, "data")
    def load(k):
        return open(os.path.join(d, k + ".ndjson"), encoding="utf-8").read().splitlines()
    auth = load("auth")
    from collections import Counter
    ms = [json.loads(x)["isotimestamp"][:23] for x in auth]
    c = Counter(ms)
    assert max(c.values()) >= 100, "no big auth burst in one ms"
    assert ms[999] == ms[1000], "no auth burst across record 1000/1001"
    assert any(len(x) == 19 + 6 for x in (json.loads(a)["isotimestamp"] for a in auth)), \
        "no isotimestamp without fraction"
    adm = load("admin")
    assert max(Counter(json.loads(x)["timestamp"] for x in adm).values()) > 1000, \
        "no admin second with more than 1000 records"
    allt = "\n".join("\n".join(load(k)) for k in PATHS)
    for s in ('\\n', '\\t', '\\"', '\\\\', '\\u0001', '|', '=', 'null', '"unknown"',
              'true', '\\u00e9', 'é'):
        assert s in allt, "no %r in the data" % s
    assert any(isinstance(json.loads(x)["description"], str) and
               json.loads(x)["description"].startswith("{") for x in adm)
    assert any(not json.loads(x)["description"].startswith("{") for x in adm)
    assert any(json.loads(x)["object"] is None for x in adm)
    for k in PATHS:
        lines = load(k)
        assert len(set(lines)) == len(lines), "duplicate records in " + k
    print("ok")


def rec_ms(kind, line):
    import datetime
    d = json.loads(line)
    if kind == "trustmonitor":
        return d["surfaced_timestamp"]
    iso = d["isotimestamp"] if kind == "auth" else d["ts"]
    dt = datetime.datetime.fromisoformat(iso)
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    return (dt - epoch) // datetime.timedelta(milliseconds=1)


def livecheck(argv):
    """KIND: the newest record (visible 95 s after the anchor) is missing up
    to now; up to now-120 s the page set equals the data file's records
    with time <= maxtime."""
    kind = argv[0]
    lines = open(os.path.join(FAKE, "data", kind + ".ndjson"), encoding="utf-8").read().splitlines()
    import io, contextlib
    if PATHS[kind][1] is None:
        recs, _ = split_records(Client().get(PATHS[kind][0], [("mintime", "0")]), None)
        got = [compact(r) for r in recs]
        if lines[-1] in got or got != [x for x in lines if x in got] or len(got) < len(lines) // 2:
            sys.exit("v1 live: invisible record served")
        print("ok")
        return
    f = io.StringIO()
    with contextlib.redirect_stdout(f):
        drain([kind, "limit=7"])
    got = f.getvalue().splitlines()
    if lines[-1] in got or got != [x for x in lines if x in got]:
        sys.exit("invisible record served")
    t = int(now() * 1000) - 120000
    f = io.StringIO()
    with contextlib.redirect_stdout(f):
        drain([kind, "limit=7", "until=120"])
    got = f.getvalue().splitlines()
    want = [x for x in lines if rec_ms(kind, x) <= t]
    if got != want:
        sys.exit("up to now-120s: got %d records, want %d" % (len(got), len(want)))
    if len(want) >= len(lines) or len(want) < len(lines) // 2:
        sys.exit("live dataset not as promised (%d of %d)" % (len(want), len(lines)))
    print("ok")


def noauth(argv):
    c = conf()
    ctx = ssl.create_default_context(cafile=c["cafile"])
    host, port = c["host"].split(":")
    h = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=30)
    h.request("GET", argv[0], headers={"Date": rfc2822(now())})
    r = h.getresponse()
    print("%d %s" % (r.status, json.loads(r.read()).get("code")))


def raw(argv):
    """PATH k=v...: the body as served."""
    cl = Client()
    sys.stdout.write(cl.get(argv[0], [tuple(a.split("=", 1)) for a in argv[1:]]))


def keepalive(argv):
    """N requests over one connection share one conn number in requests.log."""
    n = int(argv[0])
    cl = Client()
    for _ in range(n):
        cl.get("/admin/v1/info/summary", [])
    log = [json.loads(x) for x in open(os.path.join(FAKE, "requests.log"))]
    last = log[-n:]
    conns = {x["conn"] for x in last}
    if len(conns) != 1 or any(x["conn"] in conns for x in log[:-n]):
        sys.exit("conns %r" % conns)
    need = {"n", "conn", "method", "path", "query", "status", "code", "fault"}
    if not need <= set(last[-1]) or last[-1]["method"] != "GET" or \
            last[-1]["path"] != "/admin/v1/info/summary" or last[-1]["status"] != 200:
        sys.exit("requests.log line lacks fields: %r" % last[-1])
    print("%d requests on 1 connection" % n)


def logcol(argv):
    """FIELD [FIRST LAST]: one value per requests.log line."""
    log = [json.loads(x) for x in open(os.path.join(FAKE, "requests.log"))]
    a = int(argv[1]) if len(argv) > 1 else 1
    b = int(argv[2]) if len(argv) > 2 else len(log)
    print(" ".join(str(x[argv[0]]) for x in log[a - 1:b]))


def batch(argv):
    """Lines NAME CMD ARGS... on stdin; stdout of each to $T/b.NAME, exit
    status to $T/b.NAME.rc, error message to $T/b.NAME.err."""
    import contextlib, io, shlex, traceback
    for line in sys.stdin:
        w = shlex.split(line)
        if not w:
            continue
        name, cmd, args = w[0], w[1], w[2:]
        global CUR
        CUR = name
        out, err, rc = io.StringIO(), io.StringIO(), 0
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                globals()[cmd](args)
        except SystemExit as e:
            if isinstance(e.code, str):
                err.write(e.code + "\n")
                rc = 1
            else:
                rc = e.code or 0
        except Exception:
            err.write(traceback.format_exc())
            rc = 1
        base = os.path.join(os.environ["T"], "b." + name)
        with open(base, "w", encoding="utf-8") as f:
            f.write(out.getvalue())
        with open(base + ".err", "w", encoding="utf-8") as f:
            f.write(err.getvalue())
        with open(base + ".rc", "w") as f:
            f.write("%d\n" % rc)


if __name__ == "__main__":
    globals()[sys.argv[1]](sys.argv[2:])
PYEOF

# The interpreter itself (a version-manager shim can cost a second a call).
PY=$(python3 -c 'import sys; print(sys.executable)') || PY=python3

# batch: run helper commands, one "NAME CMD ARGS..." per stdin line;
# results land in $T/b.NAME (stdout), $T/b.NAME.rc and $T/b.NAME.err.
batch() {
	T=$T TOP=$TOP "$PY" "$H" batch
}

# res NAME: exit status and output of a batch command, on one line.
res() {
	printf '%s %s' "$(cat "$T/b.$1.rc")" "$(cat "$T/b.$1")"
	if [ "$(cat "$T/b.$1.rc")" != 0 ]; then
		sed -n '1,5s/^/# /p' "$T/b.$1.err" >&2
	fi
}

# lines FILE: number of lines.
lines() {
	awk 'END { print NR }' "$1"
}

# curlc NAME [curl args]: a request with the curl config $T/b.NAME;
# prints "RC HTTPCODE"; body in $T/cbody, headers in $T/chdr.
curlc() {
	_c=$1
	shift
	: >"$T/cbody"
	: >"$T/chdr"
	_code=$(curl -sS -K "$T/b.$_c" --cacert "$FAKE/ca.pem" -D "$T/chdr" \
	    -o "$T/cbody" -w '%{http_code}' "$@" 2>"$T/cerr")
	printf '%s %s' "$?" "$_code"
}

# bg_start NAME ARGS: start a fake in $T/NAME in the background.
bg_pids=
bg_start() {
	_d=$T/$1
	shift
	mkdir -p "$_d"
	"$PY" "$TOP/tests/e2e/fakeduo.py" -d "$_d" "$@" \
	    >"$_d.stdout" 2>"$_d.stderr" &
	bg_pids="$bg_pids $!"
}
bg_stop() {
	for _p in $bg_pids; do
		kill "$_p" 2>/dev/null
		wait "$_p" 2>/dev/null
	done
	bg_pids=
	return 0
}
at_exit bg_stop

# wait_port DIR: wait up to 30 s for DIR/port.
wait_port() {
	_i=0
	while [ ! -s "$1/port" ]; do
		_i=$((_i + 1))
		[ "$_i" -gt 300 ] && return 1
		sleep 0.1
	done
}

now=$(date +%s)
now_ms=$((now * 1000))
SUM=/admin/v1/info/summary
AUTHP=/admin/v2/logs/authentication

# ---- 1. default dataset, signatures, validation, paging
if ! fake_start --seed 42; then
	echo "Bail out! fakeduo.py did not start"
	exit 1
fi
ok "port file holds the port" test "$FAKE_PORT" -gt 1024
is "duo.conf is mode 0600" "$(find "$FAKE/duo.conf" -perm 0600)" \
    "$FAKE/duo.conf"
grepq "duo.conf: host = localhost:PORT" "^host = localhost:$FAKE_PORT\$" \
    "$FAKE/duo.conf"
grepq "duo.conf: cafile" "^cafile = $FAKE/ca.pem\$" "$FAKE/duo.conf"
grepq "duo.conf: ikey" '^ikey = DI[A-Z0-9]{18}$' "$FAKE/duo.conf"
ok "ca.pem is a CA certificate" sh -c \
    "openssl x509 -in '$FAKE/ca.pem' -noout -text | grep -q 'CA:TRUE'"
ok "cert.pem is issued by ca.pem" openssl verify -CAfile "$FAKE/ca.pem" \
    "$FAKE/cert.pem"
ok "the fake listens on 127.0.0.1 only" sh -c \
    "openssl x509 -in '$FAKE/cert.pem' -noout -text |
    grep -q 'DNS:localhost, IP Address:127.0.0.1'"
n=
for k in auth admin telephony activity offline trustmonitor; do
	n="$n $k=$(lines "$FAKE/data/$k.ndjson")"
done
is "data files hold the default sizes" "$n" \
    " auth=2500 admin=2300 telephony=400 activity=400 offline=60 trustmonitor=300"

old=$((now_ms - 181 * 86400000))
batch <<EOF
signer signcheck $VEC
verifier vectors $VEC
facts facts
v5 status $SUM
v2sha1 status -2 -1 $SUM
v2sha512 status -2 $SUM
xdate status -x $SUM
v2xdate status -2 -1 -x $SUM
badsig status -b $SUM
badsig2 status -2 -1 -b $SUM
ikey status -i DIXXXXXXXXXXXXXXXXXX $SUM
late status -o 400 $SUM
early status -o -400 $SUM
inskew status -o 250 $SUM
german status -D 'Mi, 14 Aug 2024 10:00:00 +0000' $SUM
host status -h 127.0.0.1:$FAKE_PORT $SUM
noauth noauth $SUM
nf status /admin/v1/nope
sec status $AUTHP mintime=$now maxtime=$((now + 300))
nomax status $AUTHP mintime=$((now_ms - 60000))
nomin status /admin/v2/logs/activity maxtime=$now_ms
old status $AUTHP mintime=$old maxtime=$now_ms
order status $AUTHP mintime=$now_ms maxtime=$((now_ms - 1))
unknown status $AUTHP mintime=$((now_ms - 60000)) maxtime=$now_ms foo=bar
limit0 status $AUTHP mintime=$((now_ms - 60000)) maxtime=$now_ms limit=0
badoff status $AUTHP mintime=$((now_ms - 60000)) maxtime=$now_ms next_offset=123
badsort status /admin/v2/logs/telephony mintime=$((now_ms - 60000)) maxtime=$now_ms sort=ts
v1ms status /admin/v1/logs/administrator mintime=$now_ms
tmok status /admin/v1/trust_monitor/events mintime=$((now_ms - 60000)) maxtime=$now_ms
d_auth drain auth limit=1000
d_auth100 drain auth style=repeated
d_authdesc drain auth limit=1000 sort=ts:desc
d_tel drain telephony limit=1000
d_act drain activity limit=333
d_tm drain trustmonitor limit=37
d_tm900 drain trustmonitor limit=900
d_admin drain admin
d_off drain offline
v1a v1rule admin 0
v1b v1rule admin burst
v1c v1rule offline 0
raw_auth raw $AUTHP mintime=$((now_ms - 86400000)) maxtime=$now_ms limit=50
raw_admin raw /admin/v1/logs/administrator
keep keepalive 5
EOF

is "our signer matches the official vectors" "$(res signer)" "0 27"
is "fake verifier: official vectors accepted, tampered refused" \
    "$(res verifier)" "0 100 ok, 0 wrong"
is "datasets: bursts, escapes, mixed types, unique records" \
    "$(res facts)" "0 ok"
is "v5 signature accepted" "$(res v5)" "0 200 -"
is "v2 HMAC-SHA1 signature accepted" "$(res v2sha1)" "0 200 -"
is "v2 HMAC-SHA512 signature accepted" "$(res v2sha512)" "0 200 -"
is "v5 with X-Duo-Date only accepted" "$(res xdate)" "0 200 -"
is "v2 with X-Duo-Date only accepted" "$(res v2xdate)" "0 200 -"
is "bad v5 signature: 401 40103" "$(res badsig)" "0 401 40103"
is "bad v2 signature: 401 40103" "$(res badsig2)" "0 401 40103"
is "wrong ikey: 401 40102" "$(res ikey)" "0 401 40102"
is "date 400 s late: 401 40105" "$(res late)" "0 401 40105"
is "date 400 s early: 401 40105" "$(res early)" "0 401 40105"
is "date 250 s off: accepted" "$(res inskew)" "0 200 -"
is "non-English date: 401 40104" "$(res german)" "0 401 40104"
is "signed for another host: 401 40103" "$(res host)" "0 401 40103"
is "no Authorization: 401 40101" "$(res noauth)" "0 401 40101"
is "unknown path: 404" "$(res nf)" "0 404 40401"
is "mintime in seconds: 400 40002" "$(res sec)" "0 400 40002"
is "no maxtime: 400 40001" "$(res nomax)" "0 400 40001"
is "no mintime (activity): 400 40001" "$(res nomin)" "0 400 40001"
is "mintime 181 days ago: 400 40002" "$(res old)" "0 400 40002"
grepq "... with Duo's message_detail" \
    '"message_detail": "mintime must be within the past 180 days"' "$T/b.old.body"
is "mintime >= maxtime: 400 40002" "$(res order)" "0 400 40002"
is "unknown parameter: 400 40002" "$(res unknown)" "0 400 40002"
is "limit=0: 400 40002" "$(res limit0)" "0 400 40002"
is "malformed next_offset: 400 40002" "$(res badoff)" "0 400 40002"
is "bad sort: 400 40002" "$(res badsort)" "0 400 40002"
is "v1 mintime in ms: 400 40002" "$(res v1ms)" "0 400 40002"
is "trust monitor window accepted" "$(res tmok)" "0 200 -"

for c in d_auth d_auth100 d_authdesc d_tel d_act d_tm d_tm900 d_admin d_off; do
	is "$c: drained without error" "$(cat "$T/b.$c.rc")" 0
done
same "auth: pages of 1000, next_offset \"ms,txid\", drain = data file" \
    "$T/b.d_auth" "$FAKE/data/auth.ndjson"
same "auth: default limit, next_offset as two params, drain = data file" \
    "$T/b.d_auth100" "$FAKE/data/auth.ndjson"
same "auth: sort=ts:desc pages reversed = data file" \
    "$T/b.d_authdesc" "$FAKE/data/auth.ndjson"
same "telephony: drain = data file" "$T/b.d_tel" "$FAKE/data/telephony.ndjson"
same "activity: drain = data file" "$T/b.d_act" "$FAKE/data/activity.ndjson"
same "trustmonitor: offset paging, drain = data file" \
    "$T/b.d_tm" "$FAKE/data/trustmonitor.ndjson"
same "trustmonitor: limit 900 (clamped) drain = data file" \
    "$T/b.d_tm900" "$FAKE/data/trustmonitor.ndjson"
same "admin: v1 mintime paging, drain = data file" \
    "$T/b.d_admin" "$FAKE/data/admin.ndjson"
same "offline: v1 drain = data file" "$T/b.d_off" "$FAKE/data/offline.ndjson"
is "auth default limit: 26 requests (25 full pages, one empty)" \
    "$(cat "$T/b.d_auth100.err")" "26 requests"
is "trustmonitor limit clamped to 500" "$(cat "$T/b.d_tm900.err")" \
    "1 requests"
is "admin mintime=0: 1000 earliest + rest of that second (1800)" \
    "$(res v1a)" "0 1800"
is "admin mintime=burst second: the whole second (1200)" "$(res v1b)" \
    "0 1200"
is "offline mintime=0: all 60" "$(res v1c)" "0 60"
grepq "served JSON uses \", \" and \": \"" '^\{"response": \{"authlogs": \[\{"access_device": \{' \
    "$T/b.raw_auth"
grepq "auth is served \\u-escaped" '\\u00' "$T/b.raw_auth"
nogrep "... and pure ASCII" "$(printf '\303')" "$T/b.raw_auth"
grepq "admin is served as raw UTF-8" "$(printf '\303')" "$T/b.raw_admin"
is "keep-alive: one connection serves many requests" "$(res keep)" \
    "0 5 requests on 1 connection"

kill "$FAKE_PID"
wait "$FAKE_PID"
st=$?
FAKE_PID=
is "SIGTERM: exit status 0" "$st" 0
ok "SIGTERM: port file removed" test ! -e "$FAKE/port"

# ---- 2. faults on request numbers, page caps, --forbid
if ! FAKE_DIR_OVERRIDE=$T/fault fake_start --seed 3 \
    --records auth=300,admin=50,telephony=20,activity=20,offline=20,trustmonitor=20 \
    --faults '429@1,500@2,502@3,503@4,cut@5,badjson@6,reset@7,slow@8' \
    --slow-ms 3000 --max-records-per-page auth=7,admin=10 --forbid telephony; then
	echo "Bail out! fakeduo.py did not start"
	exit 1
fi
echo "cfg curlcfg $SUM" | batch
is "429: status" "$(curlc cfg)" "0 429"
is "429: Duo's exact body" "$(cat "$T/cbody")" \
    '{"code": 42901, "message": "Too Many Requests", "stat": "FAIL"}'
nogrep "429: no Retry-After header" "Retry-After" "$T/chdr"
is "500: status" "$(curlc cfg)" "0 500"
grepq "500: Duo-style JSON body" '^\{"code": 50001, "message": ".*", "stat": "FAIL"\}$' "$T/cbody"
is "502: status" "$(curlc cfg)" "0 502"
grepq "502: Duo-style JSON body" '^\{"code": 50201, ' "$T/cbody"
is "503: status" "$(curlc cfg)" "0 503"
grepq "503: Duo-style JSON body" '^\{"code": 50301, ' "$T/cbody"
is "cut: curl reports a partial body (18)" "$(curlc cfg)" "18 200"
grepq "cut: full Content-Length announced" '^Content-Length: 124' "$T/chdr"
is "cut: half the body arrived" "$(wc -c <"$T/cbody" | tr -d ' ')" 62
is "badjson: 200" "$(curlc cfg)" "0 200"
status "badjson: the body is not JSON" 1 "$PY" -c \
    'import json, sys; json.load(open(sys.argv[1]))' "$T/cbody"
r=$(curlc cfg)
case $r in
"52 000"|"56 000") ok "reset: connection dropped without an answer ($r)" true ;;
*) ok "reset: connection dropped without an answer (got $r)" false ;;
esac
is "slow: a 1 s client timeout fires (28)" "$(curlc cfg --max-time 1)" "28 000"
is "request 9: no fault" "$(curlc cfg)" "0 200"
batch <<EOF
faults logcol fault 1 9
d_auth drain auth limit=1000
d_admin drain admin
v1cap v1rule admin 0 10
forbid status /admin/v2/logs/telephony mintime=$((now_ms - 60000)) maxtime=$now_ms
recs logcol records 10 20
EOF
is "requests.log names each fault" "$(res faults)" \
    "0 429 500 502 503 cut badjson reset slow None"
same "max-records-per-page auth=7: drain = data file" "$T/b.d_auth" \
    "$FAKE/data/auth.ndjson"
is "max-records-per-page auth=7: 300/7 -> 43 requests" \
    "$(cat "$T/b.d_auth.err")" "43 requests"
is "max-records-per-page: pages of 7 with limit=1000" "$(res recs)" \
    "0 7 7 7 7 7 7 7 7 7 7 7"
same "max-records-per-page admin=10: v1 drain = data file" "$T/b.d_admin" \
    "$FAKE/data/admin.ndjson"
ok "max-records-per-page admin=10: 10 earliest + their last second" \
    test "$(cat "$T/b.v1cap.rc")" = 0 -a "$(cat "$T/b.v1cap")" -ge 10
is "--forbid telephony: 403 40301" "$(res forbid)" "0 403 40301"
fake_stop

# ---- 3. --live and --skew
if ! FAKE_DIR_OVERRIDE=$T/live fake_start --seed 5 --live 6 --skew 600 \
    --records auth=40,admin=30,telephony=20,activity=20,offline=10,trustmonitor=20; then
	echo "Bail out! fakeduo.py did not start"
	exit 1
fi
DUOC_SKEW=600 batch <<EOF
unskewed status -o -600 $SUM
skewed status $SUM
l_auth livecheck auth
l_tel livecheck telephony
l_act livecheck activity
l_tm livecheck trustmonitor
l_admin livecheck admin
l_off livecheck offline
EOF
is "--skew 600: a true clock is refused (40105)" "$(res unskewed)" \
    "0 401 40105"
is "--skew 600: a clock 600 s ahead is accepted" "$(res skewed)" "0 200 -"
for k in auth tel act tm admin off; do
	is "--live: $k hides records not yet settled, shows all to now-120s" \
	    "$(res l_$k)" "0 ok"
done
is "--live: data files include the live records" \
    "$(lines "$FAKE/data/auth.ndjson")" 46
fake_stop

# ---- 4. determinism, restart, PRNG faults, certificates, proxy
fixed=$((now - 30))
small=auth=60,admin=20,telephony=10,activity=10,offline=5,trustmonitor=10
FAKE_DIR_OVERRIDE=$T/da fake_start --seed 9 --now "$fixed" --records "$small" \
    --faults 429=0.5
# sixteen: sixteen summary requests for a batch
sixteen() {
	_i=0
	while [ $_i -lt 16 ]; do
		echo "s$_i status $SUM"
		_i=$((_i + 1))
	done
}
sixteen | batch
sa=
for i in 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do
	sa="$sa $(cat "$T/b.s$i")"
done
cp -R "$FAKE/data" "$T/data-a"
fake_stop
bg_start db --seed 9 --now "$fixed" --records "$small" --faults 429=0.5 \
    --no-data-files
bg_start selfsigned --cert selfsigned --records "$small" --no-data-files
bg_start untrusted --cert untrusted --records "$small" --no-data-files
bg_start wronghost --cert wronghost --records "$small" --seed 10 --now "$fixed"
mkdir -p "$T/px" "$T/pa"
"$PY" "$TOP/tests/e2e/proxy.py" -d "$T/px" >"$T/px.err" 2>&1 &
bg_pids="$bg_pids $!"
"$PY" "$TOP/tests/e2e/proxy.py" -d "$T/pa" --auth 'us er:p@ss' \
    >"$T/pa.err" 2>&1 &
bg_pids="$bg_pids $!"
# restart in the same directory: the stored anchor makes the same data
FAKE_DIR_OVERRIDE=$T/da fake_start --seed 9 --records "$small"
ok "db: started" wait_port "$T/db"
sixteen | FAKE=$T/db batch
sb=
for i in 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do
	sb="$sb $(cat "$T/b.s$i")"
done
is "PRNG faults: same seed, same sequence of answers" "$sb" "$sa"
case $sa in
*"429 42901"*"200 -"*|*"200 -"*"429 42901"*)
	ok "PRNG faults: 429=0.5 gives both 429 and 200" true ;;
*)	ok "PRNG faults: 429=0.5 gives both 429 and 200 ($sa)" false ;;
esac
for k in auth admin telephony activity offline trustmonitor; do
	same "restart with the stored anchor: same $k data" \
	    "$FAKE/data/$k.ndjson" "$T/data-a/$k.ndjson"
done

for d in selfsigned untrusted wronghost px pa; do
	ok "$d: started" wait_port "$T/$d"
done
ok "--no-data-files: no data directory" test ! -e "$T/selfsigned/data"
ok "another seed: other data" sh -c \
    "! cmp -s '$T/wronghost/data/auth.ndjson' '$T/data-a/auth.ndjson'"
echo "cfg curlcfg $SUM" | batch
for d in selfsigned untrusted wronghost; do
	_sv=$FAKE
	FAKE=$T/$d
	sed "s/localhost:[0-9]*/localhost:$(cat "$T/$d/port")/" "$T/b.cfg" \
	    >"$T/b.cfg_$d"
	is "--cert $d: curl --cacert ca.pem refuses it (60)" \
	    "$(curlc "cfg_$d")" "60 000"
	FAKE=$_sv
done
is "--cert good: curl --cacert ca.pem accepts it" "$(curlc cfg)" "0 200"

pp=$(cat "$T/px/port")
pa=$(cat "$T/pa/port")
is "proxy without auth: tunnel to the fake" \
    "$(curlc cfg -x "http://127.0.0.1:$pp")" "0 200"
is "proxy: non-loopback target refused (403)" \
    "$(curl -sS -x "http://127.0.0.1:$pp" -o /dev/null -w '%{http_code}' \
    https://192.0.2.1/ 2>/dev/null; echo " $?")" "000 56"
is "auth proxy: no credentials refused (407)" \
    "$(curlc cfg -x "http://127.0.0.1:$pa")" "56 000"
is "auth proxy: wrong credentials refused (407)" \
    "$(curlc cfg -x "http://127.0.0.1:$pa" -U 'us er:bad')" "56 000"
is "auth proxy: right credentials tunnel" \
    "$(curlc cfg -x "http://127.0.0.1:$pa" -U 'us er:p@ss')" "0 200"
is "proxy.log (no auth)" "$(cat "$T/px/proxy.log")" \
    "CONNECT localhost:$FAKE_PORT auth=none status=200
CONNECT 192.0.2.1:443 auth=none status=403"
is "proxy.log (auth)" "$(cat "$T/pa/proxy.log")" \
    "CONNECT localhost:$FAKE_PORT auth=missing status=407
CONNECT localhost:$FAKE_PORT auth=wrong status=407
CONNECT localhost:$FAKE_PORT auth=ok status=200"
bg_stop
ok "proxy: port file removed on SIGTERM" test ! -e "$T/px/port"

status "fakeduo: unknown fault is a usage error (2)" 2 \
    "$PY" "$TOP/tests/e2e/fakeduo.py" -d "$T/bad" --faults oops@1
grepq "... with a message" "^fakeduo.py: --faults: unknown fault" "$T/.err"
status "fakeduo: unknown kind is a usage error (2)" 2 \
    "$PY" "$TOP/tests/e2e/fakeduo.py" -d "$T/bad" --records bogus=1
ok "... and nothing listens" test ! -e "$T/bad/port"

finish
