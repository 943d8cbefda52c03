#!/usr/bin/env python3
r"""fakeduo.py: a fake Duo Admin API server for duopipe's tests, demo and
benchmarks.  Python 3 standard library only; certificates come from the
openssl command line tool.

Usage:
    python3 tests/e2e/fakeduo.py -d DIR [--seed N] [--records KIND=N,...]
        [--span SEC] [--live N] [--now EPOCH] [--faults SPEC]
        [--slow-ms MS] [--latency MS] [--cert good|wronghost|selfsigned|untrusted]
        [--forbid KIND,...] [--skew SEC] [--no-data-files]
        [--max-records-per-page KIND=N,...] [--bucket N/SECONDS]
        [--tls-max 1.0|1.1|1.2|1.3] [--error-message TEXT]

KIND is auth, admin, telephony, activity, offline or trustmonitor.

It listens on 127.0.0.1 only, on a free port, HTTPS (TLS 1.2+) with
HTTP/1.1 keep-alive, and leaves in DIR:
    ca.pem        a fresh CA (EC P-256, openssl CLI); trust it via cafile
    cert.pem, key.pem (and ca.key, other-ca.pem for --cert untrusted)
    duo.conf      mode 0600: [duo] ikey, skey, host = localhost:PORT, cafile
    data/KIND.ndjson  every record of KIND in the server's ascending order,
                  one per line, byte-identical to the record's served text
                  with whitespace outside strings removed (what duo-get
                  must print); not written with --no-data-files
    requests.log  one compact JSON line per request: n, conn, t, method,
                  path, query (dict of lists), status (null for reset),
                  code (Duo error code or null), fault (or null), sig
                  (v2-sha1, v2-sha512, v5 or null), records, bytes, ms
    connections.log  one JSON line per accepted connection (TLS ok/failed)
    anchor        the dataset's time anchor (epoch seconds); reused when
                  DIR is reused, so a restarted fake serves the same data
    port          written last (port.tmp, rename) once listening; removed
                  at start and on exit
SIGTERM or SIGINT: exits 0.

JSON is served with Python's default separators (", " and ": ") and sorted
keys; auth, trustmonitor and offline are \u-escaped (ensure_ascii), admin,
telephony and activity are raw UTF-8.  Records carry non-ASCII text,
escapes and control characters (\n, \t, quotes, backslashes, \u0001, |, =),
nulls and mixed types (true vs "unknown"), JSON inside strings (admin
description, activity details), bursts (auth/telephony/activity: 40 records
in one ms across every 1000th record and the 100th, 150 in one ms in the
middle; admin: 1200 records in one second from record 600 when it has
>= 1500 records; trustmonitor: across every 500th), and some auth/telephony/
activity times with microsecond 0 (isotimestamp without a fraction).

Endpoints (GET, signed):
  /admin/v2/logs/authentication  response.authlogs, metadata.next_offset
      ["ms","txid"] or null, total_objects (int)
  /admin/v2/logs/telephony       response.items, next_offset "ms,id" string
  /admin/v2/logs/activity        response.items, next_offset "ms,id",
      total_objects {"relation": "eq", "value": N}
  /admin/v1/trust_monitor/events response.events, metadata.next_offset
      (opaque string, pass back as `offset`); limit max 500; `type` filter
  /admin/v1/logs/administrator, /admin/v1/logs/offline_enrollment
      mintime in seconds (optional, default 0); bare array of the 1000
      earliest records with timestamp >= mintime, extended by every further
      record of the last record's second
  /admin/v1/info/summary
v2 kinds and trustmonitor: mintime and maxtime required (40001), 13-digit
ms (40002), mintime < maxtime (40002), mintime not older than 180 days
(40002 "mintime must be within the past 180 days"); the window is the closed
interval [mintime, maxtime] in ms; limit default 100, clamped to 1000 (500
for trustmonitor), limit < 1 or not a number is 40002; sort ts:asc or
ts:desc, default ts:desc (as Duo); next_offset for auth may be "ms,txid" or
two repeated parameters (either order).  Order is (ms, id) ascending, id =
txid, telephony_id, activity_id or sekey; the next page starts strictly
after the (ms, id) given.  next_offset is non-null when the page is full
(even if nothing follows) or more records follow; else null.
--max-records-per-page KIND=N caps a page below the asked limit (for v1
kinds it replaces the 1000).  Unknown parameters are 40002.
Errors: 401 40101 missing/garbled Authorization, 40102 wrong ikey, 40104
missing or unparsable date, 40105 date more than 300 s from the fake's clock
(real clock + --skew), 40103 bad signature; 403 40301 --forbid; 404 40401;
405 40501; 429 {"code": 42901, "message": "Too Many Requests", "stat":
"FAIL"} without Retry-After; 5xx {"code": 50001|50201|50301, ...}.
Signatures: v2 (5 lines, HMAC-SHA1 or HMAC-SHA512, chosen by the signature
length) and v5 (7 lines, HMAC-SHA512); the date is X-Duo-Date or Date; the
host line is the Host header lower-cased (it includes :PORT).

--faults SPEC: comma list of FAULT=PROB (per request, from a PRNG seeded by
--seed) or FAULT@N:M:A-B (on those request numbers, n of requests.log);
FAULT is 429, 500, 502, 503, reset (close with a TCP reset, no answer),
cut (full Content-Length announced, body cut mid-JSON, close), badjson (200
with invalid JSON), slow (sleep --slow-ms, default 2000, then answer),
inject (a log page with two extra records that are stream control lines:
first a mark moving the kind's cursor to 2100, last a begin of another
kind).
--bucket N/SECONDS: a token bucket per endpoint path (capacity N, refilled
continuously at N per SECONDS, full at start); a request finding it empty
is answered 429 {"code": 42901, ...} without Retry-After (no Retry-After
is ever sent), logged with fault "bucket", and costs no token.
--tls-max V: the highest TLS version spoken (with 1.0 or 1.1 the minimum
is lowered to 1.0 and the cipher list to SECLEVEL 0, so a client that
refuses old TLS fails its handshake).  --error-message TEXT replaces the
"message" of every error answer (for tests of what a client prints).
--latency MS sleeps before every answer.  --live N adds N records per kind
in the last 4 minutes before the anchor, each visible only from its time
plus a random delay up to 120 s (the last one: time anchor-5 s, visible at
anchor+95 s); a query returns only visible records.  Base records lie in
[anchor-span, anchor-300 s] (span default 21600).  Everything is a pure
function of --seed, the options and the anchor.
"""

import argparse
import array
import base64
import bisect
import datetime
import email.utils
import hashlib
import hmac
import json
import json.encoder
import os
import random
import re
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROG = "fakeduo.py"
KINDS = ("auth", "admin", "telephony", "activity", "offline", "trustmonitor")
DEFAULT_RECORDS = {"auth": 2500, "admin": 2300, "telephony": 400,
                   "activity": 400, "offline": 60, "trustmonitor": 300}
DAY_MS = 86400 * 1000
FAULTS = ("429", "500", "502", "503", "reset", "cut", "badjson", "slow",
          "inject")

SPEC = {
    "auth": dict(path="/admin/v2/logs/authentication", style="v2",
                 listkey="authlogs", ascii=True, maxlimit=1000,
                 offparam="next_offset", unit=1000, idname="txid",
                 params={"mintime", "maxtime", "limit", "sort",
                         "next_offset", "applications", "users", "groups",
                         "event_types", "factors", "phone_numbers",
                         "reasons", "results", "tokens", "assessment",
                         "detections", "account_id"}),
    "telephony": dict(path="/admin/v2/logs/telephony", style="v2",
                      listkey="items", ascii=False, maxlimit=1000,
                      offparam="next_offset", unit=1000,
                      idname="telephony_id",
                      params={"mintime", "maxtime", "limit", "sort",
                              "next_offset", "account_id", "filters"}),
    "activity": dict(path="/admin/v2/logs/activity", style="v2",
                     listkey="items", ascii=False, maxlimit=1000,
                     offparam="next_offset", unit=1000,
                     idname="activity_id",
                     params={"mintime", "maxtime", "limit", "sort",
                             "next_offset", "account_id"}),
    "trustmonitor": dict(path="/admin/v1/trust_monitor/events", style="v2",
                         listkey="events", ascii=True, maxlimit=500,
                         offparam="offset", unit=1000, idname="sekey",
                         params={"mintime", "maxtime", "limit", "offset",
                                 "type", "account_id"}),
    "admin": dict(path="/admin/v1/logs/administrator", style="v1",
                  ascii=False, unit=1000000, params={"mintime"}),
    "offline": dict(path="/admin/v1/logs/offline_enrollment", style="v1",
                    ascii=True, unit=1000000, params={"mintime"}),
}
PATHS = {s["path"]: k for k, s in SPEC.items()}
SUMMARY = "/admin/v1/info/summary"


def die(msg, code=2):
    sys.stderr.write("%s: %s\n" % (PROG, msg))
    sys.exit(code)


# ---------------------------------------------------------------- JSON

class Frag:
    """A value serialized once per escaping style: (served, compact)."""
    __slots__ = ("v", "cache")

    def __init__(self, v):
        self.v = v
        self.cache = {}

    def get(self, ea):
        r = self.cache.get(ea)
        if r is None:
            r = ser(self.v, ea)
            self.cache[ea] = r
        return r


_keys = {}


def _key(k, ea):
    r = _keys.get((k, ea))
    if r is None:
        r = json.dumps(k, ensure_ascii=ea)
        _keys[(k, ea)] = r
    return r


_esc = {True: json.encoder.encode_basestring_ascii,
        False: json.encoder.encode_basestring}


def scalar(v, ea):
    """json.dumps(v, ensure_ascii=ea) for a scalar, faster."""
    t = type(v)
    if t is str:
        return _esc[ea](v)
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if t is int:
        return int.__repr__(v)
    return json.dumps(v, ensure_ascii=ea)


def ser(v, ea):
    """Serialize v like json.dumps(v, sort_keys=True, ensure_ascii=ea)
    (the served text, with ", " and ": ") and with separators (",", ":")
    (the compact text); both share every string's escaping."""
    t = type(v)
    if t is Frag:
        return v.get(ea)
    if t is dict:
        ps = []
        pc = []
        for k in sorted(v):
            x = v[k]
            tx = type(x)
            if tx is Frag:
                s, c = x.get(ea)
            elif tx is dict or tx is list:
                s, c = ser(x, ea)
            else:
                s = c = scalar(x, ea)
            ks = _keys.get((k, ea)) or _key(k, ea)
            ps.append(ks + ": " + s)
            pc.append(ks + ":" + c)
        return "{" + ", ".join(ps) + "}", "{" + ",".join(pc) + "}"
    if t is list:
        ps = []
        pc = []
        for x in v:
            s, c = ser(x, ea)
            ps.append(s)
            pc.append(c)
        return "[" + ", ".join(ps) + "]", "[" + ",".join(pc) + "]"
    s = scalar(v, ea)
    return s, s


def iso_us(us):
    """Duo's isotimestamp: Python isoformat (no fraction when 0)."""
    d = datetime.datetime.fromtimestamp(us // 1000000, datetime.timezone.utc)
    return d.replace(microsecond=us % 1000000).isoformat()


def iso_s(sec):
    d = datetime.datetime.fromtimestamp(sec, datetime.timezone.utc)
    return d.isoformat()


# ---------------------------------------------------------------- pools

ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def dkey(rng, prefix):
    return prefix + "".join(rng.choice(ALNUM) for _ in range(20 - len(prefix)))


def uuid_of(tag, pos):
    h = hashlib.blake2b(b"%s:%d" % (tag, pos), digest_size=16).hexdigest()
    return "%s-%s-4%s-%s%s-%s" % (h[:8], h[8:12], h[13:16],
                                   "89ab"[int(h[16], 16) & 3], h[17:20],
                                   h[20:32])


LOCATIONS = [
    ("Ann Arbor", "Michigan", "United States"),
    ("München", "Bavaria", "Germany"),
    ("São Paulo", "São Paulo", "Brazil"),
    ("Zürich", "Zurich", "Switzerland"),
    ("Kraków", "Lesser Poland", "Poland"),
    ("Reykjavík", "Capital Region", "Iceland"),
    ("東京", "Tokyo", "Japan"),
    ("Москва", "Moscow", "Russia"),
    ("Montréal", "Quebec", "Canada"),
    ("Dublin", "Leinster", "Ireland"),
    ("Austin", "Texas", "United States"),
    (None, None, None),
    ("", "", "Unknown"),
]
FIRST = ["Ana", "José", "Zoë", "Łukasz", "Søren", "Renée", "Chloé",
         "Björk", "Dmitri", "Aiko", "Olusegun", "Priya", "Siobhán",
         "Jürgen", "Nguyễn", "Ólafur", "Fatima", "Emily", "John", "Wei"]
LAST = ["Núñez", "Ødegård", "Żółć", "O'Brien", "Guðmundsdóttir", "Smith",
        "Иванов", "李", "Tanaka", "Adeyemi", "Kowalski", "van der Berg",
        "D'Angelo", "Schäfer", "Brown", "García"]
# Users whose names carry the characters a formatter must escape.
SPECIAL_USERS = [
    ("CORP\\svc-backup", "Backup \\ Service", None),
    ("pipe|user=1", "Pipe | Equals = User", "pipe@example.com"),
    ("zoë.ødegård", "Zoë Ødegård", "zoe@exämple.com"),
    ("tab\tuser", "Tab\tSeparated", "tab@example.com"),
    ("ctl\u0001user", "Control \u0001 Char", "ctl@example.com"),
    ("nl\nuser", "Line\nBreak", "nl@example.com"),
    ("kiosk🔐", "Kiosk 🔐 Terminal", None),
    ("o\"brien", "Pat \"Quoted\" O'Brien", "pat.o\"brien@example.com"),
    ("李小龙", "李小龙", "li@example.com"),
]
GROUPS = ["Duo Users", "CorpHQ Users", "VPN – Contractors", "Ñandú Team",
          "Admins \"Tier 1\"", "Finance|EU"]
APPS = [("Acme Corp IdP", "sso-generic"), ("Microsoft 365", "o365"),
        ("VPN \"Gateway\"", "ciscoasa"), ("Café Portal", "websdk"),
        ("SSH | bastion", "unix"), ("Windows Logon", "rdp"),
        ("Payroll=Prod", "saml"), ("Jira Cloud", "sso-jira")]
BROWSERS = [("Chrome", "124.0.6367.91"), ("Firefox", "125.0"),
            ("Safari", "17.4.1"), ("Edge", "124.0.2478.67"), (None, None)]
OSES = [("Mac OS X", "14.4.1"), ("Windows", "10"), ("Linux", None),
        ("iOS", "17.4"), ("Android", "14")]
TRISTATE = [True, False, "unknown"]


def ip_of(rng):
    c = rng.randrange(6)
    if c == 0:
        return "2001:db8:%x::%x" % (rng.randrange(65536), rng.randrange(1, 65536))
    if c == 1:
        return "81.2.69.%d" % rng.randrange(1, 255)
    if c == 2:
        return "175.16.199.%d" % rng.randrange(1, 255)
    if c == 3:
        return "216.160.83.%d" % rng.randrange(1, 255)
    if c == 4:
        return "89.160.20.%d" % rng.randrange(1, 255)
    return "67.43.156.%d" % rng.randrange(1, 255)


def loc_of(rng):
    c, s, n = LOCATIONS[rng.randrange(len(LOCATIONS))]
    return {"city": c, "country": n, "state": s}


class Pools:
    def __init__(self, seed):
        rng = random.Random("pools:%d" % seed)
        self.users = []
        names = list(SPECIAL_USERS)
        for i in range(70):
            f = rng.choice(FIRST)
            ln = rng.choice(LAST)
            uname = (f + "." + ln).lower().replace(" ", "").replace("'", "")
            uname = "%s%d" % (uname, i)
            email = None if rng.random() < 0.1 else uname + "@example.com"
            names.append((uname, f + " " + ln, email))
        for uname, real, email in names:
            u = {}
            u["name"] = uname
            u["realname"] = real
            u["email"] = email
            u["key"] = dkey(rng, "DU")
            g = rng.sample(GROUPS, rng.randrange(0, 3))
            u["frag"] = Frag({"groups": g, "key": u["key"], "name": uname})
            u["adev"] = []
            for _ in range(rng.randrange(1, 3)):
                b, bv = rng.choice(BROWSERS)
                o, ov = rng.choice(OSES)
                sa = rng.choice([None, "unknown", [],
                                 [{"security_agent": "cisco-amp",
                                   "version": "1.%d" % rng.randrange(20)}]])
                d = {"browser": b, "browser_version": bv,
                     "epkey": dkey(rng, "EP"),
                     "flash_version": "uninstalled",
                     "hostname": rng.choice([None, "WKS-%d" % rng.randrange(999),
                                             "mäc-book.local"]),
                     "ip": ip_of(rng),
                     "is_encryption_enabled": rng.choice(TRISTATE),
                     "is_firewall_enabled": rng.choice(TRISTATE),
                     "is_password_set": rng.choice(TRISTATE),
                     "java_version": rng.choice(["uninstalled", "1.8.0"]),
                     "location": loc_of(rng), "os": o, "os_version": ov,
                     "security_agents": sa}
                u["adev"].append(Frag(d))
                # activity's access_device: ip is an object there
                d2 = {"browser": b, "browser_version": bv,
                      "epkey": d["epkey"], "ip": {"address": d["ip"]},
                      "location": d["location"], "os": o, "os_version": ov}
                u.setdefault("adev2", []).append(Frag(d2))
            ph = "+1%03d555%04d" % (rng.randrange(200, 999), rng.randrange(10000))
            u["phone"] = ph
            u["authdev"] = Frag({"ip": ip_of(rng), "key": dkey(rng, "DP"),
                                 "location": loc_of(rng),
                                 "name": "%s's iPhone (%s)" % (real.split()[0], ph)})
            self.users.append(u)
        self.apps = []
        for name, typ in APPS:
            k = dkey(rng, "DI")
            self.apps.append({"key": k, "name": name, "type": typ,
                              "frag": Frag({"key": k, "name": name})})
        self.nulldev = Frag({"ip": None, "key": None,
                             "location": {"city": None, "country": None,
                                          "state": None},
                             "name": None})
        mk = {"features_version": "3.0", "model_version": "2022.07.19.001"}
        self.ata = [
            Frag({}),
            Frag({"remember_me": dict(mk, policy_enabled=False,
                                      reason="Known Access IP",
                                      trust_level="NORMAL")}),
            Frag({"more_secure_auth": dict(
                mk, detected_attack_detectors=["USER_MARKED_FRAUD"],
                policy_enabled=True, reason="User marked \"fraud\"\n(report)",
                trust_level="LOW"),
                "remember_me": dict(mk, policy_enabled=False,
                                    reason="New Access IP",
                                    trust_level="NORMAL")}),
        ]
        self.passport = [Frag({"is_supported": False,
                               "reason": "absent_health_report"}),
                         Frag({"is_supported": True, "reason": None}), None]
        self.rbfs = [Frag([]), Frag([{
            "country_code_access": "US", "country_code_auth": "IN",
            "detected_occurrences": 1, "detector": "NOVEL_ASN",
            "shadow_mode": False, "suppressed": "KNOWN_IP",
            "threshold_occurrences": 1, "threshold_time_frame": 86400,
            "unrealistic_travel_velocity": 3360.5}])]
        self.admins = ["admin", "Jürgen Schäfer", "sec|ops=1", "helpdesk \"L1\"",
                       "API (DIXXXXXXXXXXXXXXXXXX)"]


FACTOR_RESULTS = [
    ("duo_push", "success", "user_approved"),
    ("duo_push", "success", "user_approved"),
    ("duo_push", "success", "user_approved"),
    ("duo_push", "denied", "user_declined"),
    ("duo_push", "fraud", "user_marked_fraud"),
    ("duo_push", "denied", "no_response"),
    ("verified_duo_push", "success", "user_approved"),
    ("phone_call", "success", "user_approved"),
    ("sms_passcode", "success", "valid_passcode"),
    ("passcode", "denied", "invalid_passcode"),
    ("hardware_token", "success", "valid_passcode"),
    ("webauthn_security_key", "success", "user_approved"),
    ("bypass_code", "success", "bypass_user"),
    ("remembered_device", "success", "remembered_device"),
    ("trusted_network", "success", "trusted_network"),
    ("not_available", "denied", "location_restricted"),
    ("not_available", "denied", "deny_unenrolled_user"),
]


# ---------------------------------------------------------------- datasets

class Dataset:
    """One kind's records: sort keys in arrays, record text made on demand
    from (seed, kind, position)."""

    def __init__(self, kind, n, nlive, seed, anchor, span, pools):
        self.kind = kind
        self.spec = SPEC[kind]
        self.unit = self.spec["unit"]      # us per key unit
        self.v1 = self.spec["style"] == "v1"
        self.ea = self.spec["ascii"]
        self.pools = pools
        self.seed = seed
        self.tag = b"%d:%s" % (seed, kind.encode())
        self.rseed = int.from_bytes(hashlib.sha256(self.tag).digest()[:6], "big")
        rng = random.Random("times:%d:%s" % (seed, kind))
        lo = (anchor - span) * 1000000
        hi = (anchor - 300) * 1000000
        ts = sorted(rng.randrange(lo, hi + 1) for _ in range(n))
        if self.v1:
            ts = [t - t % 1000000 for t in ts]
        self.us = array.array("q", ts)
        del ts
        self.key = array.array("q", (t // self.unit for t in self.us))
        self.nbase = n
        self._groups(rng)
        # live records
        self.visible = {}
        if nlive:
            # The newest live record (anchor-5 s) must stay last: Duo
            # serves records in time order, so the others end before it.
            lts = sorted(rng.randrange((anchor - 240) * 1000000,
                                       (anchor - 6) * 1000000)
                         for _ in range(nlive))
            lts[-1] = (anchor - 5) * 1000000 + rng.randrange(1000000)
            for i, t in enumerate(lts):
                if self.v1:
                    t -= t % 1000000
                p = len(self.us)
                self.us.append(t)
                self.key.append(t // self.unit)
                if i == nlive - 1:
                    self.visible[p] = anchor + 95
                else:
                    self.visible[p] = t / 1e6 + rng.uniform(0, 120)
        self.n = len(self.us)
        # ids: sorted within every group of equal keys
        self.ids = {}
        if not self.v1:
            p = 0
            key = self.key
            n = self.n
            while p < n:
                q = p + 1
                while q < n and key[q] == key[p]:
                    q += 1
                if q - p > 1:
                    ids = sorted(self._rawid(i) for i in range(p, q))
                    for i, x in zip(range(p, q), ids):
                        self.ids[i] = x
                p = q
        self.cache = [None] * self.n if self.n <= 20000 else None

    def _burst(self, rng, a, b):
        n = self.nbase
        a = max(0, a)
        b = min(n, b)
        if b - a < 2:
            return
        k = self.key[a]
        for p in range(a, b):
            self.key[p] = k
            if self.v1:
                self.us[p] = k * self.unit
            else:
                self.us[p] = k * self.unit + rng.randrange(self.unit)

    def _groups(self, rng):
        n = self.nbase
        kind = self.kind
        # scattered small groups sharing one ms (one second for v1)
        prob, gmax = {"admin": (0.05, 10), "offline": (0.1, 4)}.get(
            kind, (0.02, 8))
        p = 1
        while p < n:
            if rng.random() < prob:
                g = rng.randrange(2, gmax + 1)
                self._burst(rng, p, p + g)
                p += g
            p += 1
        # bursts that straddle page boundaries
        if kind == "admin":
            if n >= 1500:
                p0 = min(600, n - 1300)
                self._burst(rng, p0, p0 + 1200)
            elif n > 1000:
                self._burst(rng, 990, 1010)
        elif kind != "offline":
            step = 500 if kind == "trustmonitor" else 1000
            bounds = [100] + list(range(step, n, step))
            for b in bounds:
                self._burst(rng, b - 20, b + 20)
            if n >= 400:
                self._burst(rng, n // 2 - 75, n // 2 + 75)
        # some isotimestamps without fraction (microsecond 0)
        if not self.v1:
            key = self.key
            for p in range(7, n - 1, 97):
                if key[p - 1] == key[p] or key[p + 1] == key[p]:
                    continue
                c = self.us[p] - self.us[p] % 1000000
                if c // self.unit > key[p - 1]:
                    self.us[p] = c
                    key[p] = c // self.unit

    def _rawid(self, p):
        if self.kind == "trustmonitor":
            h = hashlib.blake2b(b"%s:%d" % (self.tag, p), digest_size=12).digest()
            return "SE" + "".join(ALNUM[b % 36] for b in h)[:18]
        return uuid_of(self.tag, p)

    def id(self, p):
        x = self.ids.get(p)
        return x if x is not None else self._rawid(p)

    def is_visible(self, p, now):
        v = self.visible.get(p)
        return v is None or v <= now

    def served(self, p):
        if self.cache is not None:
            s = self.cache[p]
            if s is None:
                s = self.texts(p)[0]
                self.cache[p] = s
            return s
        return self.texts(p)[0]

    def texts(self, p):
        rng = random.Random(self.rseed * 10000019 + p)
        rec = getattr(self, "_gen_" + self.kind)(p, rng)
        return ser(rec, self.ea)

    # -- generators; each returns a dict (values may be Frags)

    def _authrec(self, rng, us, txid):
        P = self.pools
        u = P.users[rng.randrange(len(P.users))]
        app = P.apps[rng.randrange(len(P.apps))]
        factor, result, reason = FACTOR_RESULTS[rng.randrange(len(FACTOR_RESULTS))]
        if factor in ("duo_push", "verified_duo_push", "phone_call",
                      "sms_passcode"):
            adev = u["authdev"]
        elif factor in ("bypass_code", "not_available"):
            adev = rng.choice([P.nulldev, None])
        else:
            adev = P.nulldev
        r = {
            "access_device": u["adev"][rng.randrange(len(u["adev"]))],
            "adaptive_trust_assessments": P.ata[rng.randrange(len(P.ata))],
            "alias": rng.choice(["", "", "", u["name"].split(".")[0]]),
            "application": app["frag"],
            "auth_device": adev,
            "email": u["email"],
            "event_type": "enrollment" if rng.random() < 0.03 else "authentication",
            "factor": factor,
            "isotimestamp": iso_us(us),
            "ood_software": None,
            "passport_assessment": P.passport[rng.randrange(3)],
            "rbfs_triggered_attacks": P.rbfs[1 if rng.random() < 0.05 else 0],
            "reason": reason,
            "result": result,
            "timestamp": us // 1000000,
            "trusted_endpoint_status": rng.choice(["not trusted", "trusted",
                                                   "unknown", None]),
            "txid": txid,
            "user": u["frag"],
        }
        if rng.random() < 0.3:
            r["trusted_session_info"] = {
                "trusted_session_uuid": uuid_of(b"ts", rng.randrange(1 << 30))}
        if rng.random() < 0.1:
            r["application"] = {"destination_name": "Microsoft 365",
                                "key": app["key"], "name": app["name"]}
        return r

    def _gen_auth(self, p, rng):
        return self._authrec(rng, self.us[p], self.id(p))

    def _gen_telephony(self, p, rng):
        u = self.pools.users[rng.randrange(len(self.pools.users))]
        ctx = rng.choice(["authentication", "authentication", "enrollment",
                          "administrator login", "verify"])
        typ = rng.choice(["sms", "sms", "phone"])
        return {"context": ctx,
                "credits": rng.choice([1, 1, 1, 2, 3]) if typ == "sms"
                else rng.choice([2, 4]),
                "phone": u["phone"],
                "telephony_id": self.id(p),
                "ts": iso_us(self.us[p]),
                "txid": None if rng.random() < 0.1
                else uuid_of(b"tx" + self.tag, p),
                "type": typ}

    def _gen_activity(self, p, rng):
        P = self.pools
        u = P.users[rng.randrange(len(P.users))]
        t = P.users[rng.randrange(len(P.users))]
        app = P.apps[rng.randrange(len(P.apps))]
        created = iso_us(self.us[p] - rng.randrange(1, 400) * 86400 * 1000000)
        act = rng.choice(["webauthncredential_create", "user_update",
                          "phone_create", "admin_login", "user_login",
                          "group_membership_update"])
        actor_details = json.dumps({"created": created, "email": u["email"],
                                    "groups": [], "last_login": None,
                                    "realname": u["realname"],
                                    "status": "active"}, ensure_ascii=False)
        r = {
            "access_device": u["adev2"][rng.randrange(len(u["adev2"]))],
            "action": {"details": None if rng.random() < 0.6 else json.dumps(
                {"reason": "Bulk \"sync\" | step=%d\nnext" % p}), "name": act},
            "activity_id": self.id(p),
            "actor": {"details": actor_details, "key": u["key"],
                      "name": u["name"], "type": "user"},
            "akey": "DAAR5FO0OZ4VYZA0WOB2",
            "application": None if rng.random() < 0.2 else
            {"key": app["key"], "name": app["name"], "type": app["type"]},
            "old_target": None,
            "outcome": {"result": rng.choice(["SUCCESS", "SUCCESS", "FAILURE"])},
            "target": {"details": None if rng.random() < 0.3 else json.dumps(
                {"authenticator_type": "Security key", "created": created,
                 "label": "YubiKey 5 – %s" % t["realname"]}),
                "key": t["key"], "name": t["name"],
                "type": rng.choice(["user", "webauthn_credential", "phone"])},
            "ts": iso_us(self.us[p]),
        }
        return r

    def _gen_trustmonitor(self, p, rng):
        P = self.pools
        ms = self.key[p]
        sekey = self.id(p)
        u = P.users[rng.randrange(len(P.users))]
        typ = rng.choice(["auth", "auth", "auth", "bypass_status",
                          "device_registration"])
        state = rng.choice(["new", "processed", "triaged"])
        r = {"priority_event": rng.random() < 0.3,
             "priority_reasons": [] if rng.random() < 0.5 else
             [{"label": "Unusual \"country\"", "type": "country"}],
             "sekey": sekey,
             "state": state,
             "state_updated_timestamp": None if state == "new" else ms + 60000,
             "surfaced_timestamp": ms,
             "triaged_as_interesting": state == "triaged",
             "type": typ}
        if typ == "auth":
            aus = self.us[p] - rng.randrange(1, 3600) * 1000000
            r.update({
                "explanations": [{"summary": "amanda_tucker has not logged in "
                                  "from this\tIP recently", "type": "NEW_IP"}],
                "from_common_netblock": rng.choice([True, False]),
                "from_new_user": rng.random() < 0.1,
                "low_risk_ip": False,
                "surfaced_auth": self._authrec(rng, aus,
                                               uuid_of(b"sa" + self.tag, p)),
                "triage_event_uri": "https://admin-xxxxxxxx.duosecurity.com/"
                "trust-monitor?sekey=" + sekey})
        elif typ == "bypass_status":
            a = P.users[rng.randrange(len(P.users))]
            r.update({"bypass_status_enabled": ms - rng.randrange(1, 86400000),
                      "enabled_by": {"key": dkey(rng, "DE"),
                                     "name": rng.choice(P.admins)},
                      "enabled_for": {"key": a["key"], "name": a["name"]}})
        else:
            r.update({"explanations": [{"summary": "New device registered "
                                        "for «%s»" % u["name"],
                                        "type": "REGISTER_TAMPERED"}],
                      "from_new_user": False,
                      "triage_event_uri": "https://admin-xxxxxxxx."
                      "duosecurity.com/trust-monitor?sekey=" + sekey})
        return r

    def _gen_admin(self, p, rng):
        P = self.pools
        sec = self.us[p] // 1000000
        u = P.users[rng.randrange(len(P.users))]
        c = rng.randrange(10)
        if c == 0:
            action, obj = "admin_login", None
            desc = json.dumps({"ip_address": ip_of(rng),
                               "device": u["phone"], "factor": "push",
                               "primary_auth_method": "Password",
                               "session": uuid_of(self.tag, p)[:13]})
        elif c == 1:
            action, obj = "admin_login_error", None
            desc = json.dumps({"ip_address": ip_of(rng),
                               "error": "Invalid password \"%d\"" % p,
                               "email": "bad|admin=1@example.com"},
                              ensure_ascii=False)
        elif c == 2:
            action, obj = "user_update", u["name"]
            desc = "Plain text: reset\tphone for \"%s\" \\ row %d\nsecond line" % (
                u["realname"], p)
        elif c == 3:
            action, obj = "group_update", rng.choice(GROUPS)
            desc = "\u0001control | pipe = equals (%d)" % p
        elif c == 4:
            action, obj = "bypass_create", u["name"]
            desc = json.dumps({"bypass": "", "count": 1, "valid_secs": 3600,
                               "remaining_uses": 1, "user_id": u["key"],
                               "auto_generated": True, "row": p})
        elif c == 5:
            action, obj = "integration_update", rng.choice(APPS)[0]
            desc = json.dumps({"name": "Café Portal", "notes": "line1\nline2",
                               "greeting": "Grüß Gott 👋", "row": p},
                              ensure_ascii=False)
        else:
            action = rng.choice(["user_create", "user_update", "user_delete",
                                 "phone_associate"])
            obj = "%s.%d" % (u["name"], p)
            desc = json.dumps({"realname": u["realname"], "email": u["email"],
                               "status": "Active", "row": p},
                              ensure_ascii=rng.random() < 0.5)
        return {"action": action, "description": desc,
                "isotimestamp": iso_s(sec), "object": obj,
                "timestamp": sec, "username": rng.choice(P.admins)}

    def _gen_offline(self, p, rng):
        sec = self.us[p] // 1000000
        u = self.pools.users[rng.randrange(len(self.pools.users))]
        desc = json.dumps({"user_agent": "DuoCredProv/4.0.6.413 (Windows NT "
                           "6.3.9600; x64; Server)",
                           "hostname": "WKSW10x64-%d" % p,
                           "factor": rng.choice(["duo_otp", "security_key"])})
        return {"action": rng.choice(["o2fa_user_provisioned",
                                      "o2fa_user_deprovisioned",
                                      "o2fa_user_reenrolled"]),
                "description": desc, "isotimestamp": iso_s(sec),
                "object": rng.choice(["Acme Laptop Windows Logon",
                                      "Kiosk «Lobby» Logon"]),
                "timestamp": sec, "username": u["name"]}

    def write_data(self, path):
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            buf = []
            for p in range(self.n):
                s, c = self.texts(p)
                if self.cache is not None:
                    self.cache[p] = s
                buf.append(c)
                if len(buf) >= 4096:
                    f.write("\n".join(buf) + "\n")
                    buf = []
            if buf:
                f.write("\n".join(buf) + "\n")
        os.rename(tmp, path)


# ---------------------------------------------------------------- signing

DATE_RE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} "
                     r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                     r"\d{4} \d\d:\d\d:\d\d ([+-]\d{4}|GMT|UT)$")
SHA512_EMPTY = hashlib.sha512(b"").hexdigest()


def parse_pairs(qs):
    out = []
    for part in qs.split("&"):
        if part == "":
            continue
        k, _, v = part.partition("=")
        out.append((urllib.parse.unquote_to_bytes(k.replace("+", " ")),
                    urllib.parse.unquote_to_bytes(v.replace("+", " "))))
    return out


def canon_params(pairs):
    enc = sorted((urllib.parse.quote(k, safe="~"),
                  urllib.parse.quote(v, safe="~")) for k, v in pairs)
    return "&".join(k + "=" + v for k, v in enc)


def parse_date(s):
    if not DATE_RE.match(s):
        return None
    try:
        d = email.utils.parsedate_to_datetime(s)
        # "-0000" means UTC (RFC 2822: no local zone known); python
        # returns a naive time for it, which .timestamp() would read
        # in the fake's own TZ.
        if d.tzinfo is None:
            d = d.replace(tzinfo=datetime.timezone.utc)
        return d.timestamp()
    except (TypeError, ValueError, OverflowError):
        return None


class Reply(Exception):
    def __init__(self, status, code, message, detail=None):
        Exception.__init__(self, message)
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail

    def body(self):
        d = {"code": self.code, "message": self.message, "stat": "FAIL"}
        if self.detail is not None:
            d["message_detail"] = self.detail
        return json.dumps(d, sort_keys=True)


def inject(text, kind):
    """--faults inject: control lines posing as the page's records."""
    other = "auth" if kind == "admin" else "admin"
    mark = ('{"@duo": "mark", "cursor": {"kind": "%s", "min": 4102444800000}'
            ', "n": 0}' % kind)
    begin = ('{"@duo": "begin", "v": 1, "kind": "%s", "host": "x", '
             '"cursor": {}}' % other)
    if SPEC[kind]["style"] == "v1":
        head, tail = '"response": [', '], "stat": '
    else:
        head, tail = '"%s": [' % SPEC[kind]["listkey"], '], "metadata": '
    i = text.index(head) + len(head)
    j = text.rindex(tail)
    recs = [x for x in (mark, text[i:j], begin) if x]
    return text[:i] + ", ".join(recs) + text[j:]


FAULT_BODY = {
    "429": (429, '{"code": 42901, "message": "Too Many Requests", "stat": "FAIL"}'),
    "500": (500, '{"code": 50001, "message": "Unknown internal server error", "stat": "FAIL"}'),
    "502": (502, '{"code": 50201, "message": "Bad Gateway", "stat": "FAIL"}'),
    "503": (503, '{"code": 50301, "message": "Service Unavailable", "stat": "FAIL"}'),
}


# ---------------------------------------------------------------- app

class App:
    def __init__(self, opt, anchor):
        self.opt = opt
        self.anchor = anchor
        r = random.Random("keys:%d" % opt.seed)
        self.ikey = "DI" + "".join(r.choice(ALNUM) for _ in range(18))
        self.skey = "".join(r.choice(ALNUM + "abcdefghijklmnopqrstuvwxyz")
                            for _ in range(40))
        self.lock = threading.Lock()
        self.nreq = 0
        self.nconn = 0
        self.frng = random.Random("faults:%d" % opt.seed)
        self.faults_at = {}
        self.faults_p = []
        for item in filter(None, (opt.faults or "").split(",")):
            if "@" in item:
                name, _, nums = item.partition("@")
                if name not in FAULTS:
                    die("--faults: unknown fault %r" % name)
                for x in nums.split(":"):
                    try:
                        if "-" in x:
                            a, b = x.split("-", 1)
                            rng = range(int(a), int(b) + 1)
                        else:
                            rng = [int(x)]
                    except ValueError:
                        die("--faults: bad request number %r" % x)
                    for i in rng:
                        self.faults_at.setdefault(i, name)
            elif "=" in item:
                name, _, pr = item.partition("=")
                if name not in FAULTS:
                    die("--faults: unknown fault %r" % name)
                try:
                    pr = float(pr)
                except ValueError:
                    die("--faults: bad probability %r" % pr)
                if not 0 <= pr <= 1:
                    die("--faults: bad probability %r" % pr)
                self.faults_p.append((name, pr))
            else:
                die("--faults: bad item %r (want FAULT=PROB or FAULT@N:M)" % item)
        self.pools = Pools(opt.seed)
        self.ds = {}
        for k in KINDS:
            self.ds[k] = Dataset(k, opt.records[k], opt.live, opt.seed,
                                 anchor, opt.span, self.pools)
        self.logfd = None
        self.connfd = None
        self.buckets = {}

    def take_token(self, path):
        """--bucket: take one token of path's bucket; False when empty."""
        if self.opt.bucket is None or path not in PATHS:
            return True
        cap, per = self.opt.bucket
        now = time.monotonic()
        with self.lock:
            tok, last = self.buckets.get(path, (float(cap), now))
            tok = min(float(cap), tok + (now - last) * cap / per)
            ok = tok >= 1.0
            if ok:
                tok -= 1.0
            self.buckets[path] = (tok, now)
        return ok

    def now(self):
        return time.time() + self.opt.skew

    def next_request(self):
        with self.lock:
            self.nreq += 1
            n = self.nreq
            fault = self.faults_at.get(n)
            for name, pr in self.faults_p:
                hit = self.frng.random() < pr
                if hit and fault is None:
                    fault = name
        return n, fault

    def next_conn(self):
        with self.lock:
            self.nconn += 1
            return self.nconn

    def log(self, fd, obj):
        line = json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n"
        os.write(fd, line.encode("utf-8", "replace"))

    # -- authentication

    def verify(self, method, rawpath, query, headers, body):
        auth = headers.get("Authorization")
        if not auth or not auth.startswith("Basic "):
            raise Reply(401, 40101, "Missing request credentials")
        try:
            cred = base64.b64decode(auth[6:].strip(), validate=True).decode()
            ikey, sig = cred.split(":", 1)
        except (ValueError, UnicodeDecodeError):
            raise Reply(401, 40101, "Invalid request credentials")
        if ikey != self.ikey:
            raise Reply(401, 40102, "Invalid integration key in request credentials")
        dates = []
        for h in ("X-Duo-Date", "Date"):
            v = headers.get(h)
            if v is not None and v not in dates:
                dates.append(v)
        if not dates:
            raise Reply(401, 40104, "Missing request timestamp")
        host = (headers.get("Host") or "").lower()
        meth = method.upper()
        pairs = parse_pairs(query)
        ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
        v2pairs = list(pairs)
        if meth in ("POST", "PUT", "PATCH") and \
                ctype == "application/x-www-form-urlencoded":
            v2pairs += parse_pairs(body.decode("latin-1"))
        v2params = canon_params(v2pairs)
        v5params = "" if meth in ("POST", "PUT", "PATCH") else canon_params(pairs)
        xd = sorted((k.lower(), v) for k, v in headers.items()
                    if k.lower().startswith("x-duo-"))
        xdh = hashlib.sha512("\x00".join(
            x for kv in xd for x in kv).encode("latin-1", "replace")).hexdigest()
        bh = hashlib.sha512(body).hexdigest()
        sig = sig.lower()
        if not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{128}", sig):
            sig = ""
        skey = self.skey.encode()
        matched = None
        for d in dates:
            v2 = "\n".join([d, meth, host, rawpath, v2params]).encode("latin-1",
                                                                       "replace")
            cands = []
            if len(sig) == 40:
                cands.append(("v2-sha1", v2, hashlib.sha1))
            elif len(sig) == 128:
                v5 = "\n".join([d, meth, host, rawpath, v5params, bh, xdh])
                cands.append(("v2-sha512", v2, hashlib.sha512))
                cands.append(("v5", v5.encode("latin-1", "replace"),
                              hashlib.sha512))
            for name, msg, dig in cands:
                h = hmac.new(skey, msg, dig).hexdigest()
                if hmac.compare_digest(h, sig):
                    matched = (name, d)
                    break
            if matched:
                break
        if matched is None:
            if all(parse_date(d) is None for d in dates):
                raise Reply(401, 40104, "Missing request timestamp")
            raise Reply(401, 40103, "Invalid signature in request credentials")
        t = parse_date(matched[1])
        if t is None:
            raise Reply(401, 40104, "Missing request timestamp")
        if abs(t - self.now()) > 300:
            raise Reply(401, 40105, "Request timestamp is too far from the "
                        "server's time", "server time %d" % int(self.now()))
        return matched[0]

    # -- queries

    def params(self, kind, pairs):
        allowed = SPEC[kind]["params"] if kind else set()
        d = {}
        for k, v in pairs:
            k = k.decode("utf-8", "replace")
            v = v.decode("utf-8", "replace")
            if k not in allowed:
                raise Reply(400, 40002, "Invalid request parameters",
                            "Received unexpected parameters: %s" % k)
            d.setdefault(k, []).append(v)
        for k, v in d.items():
            if len(v) > 1 and k not in ("next_offset", "applications", "users",
                                        "groups", "event_types", "factors",
                                        "phone_numbers", "reasons", "results",
                                        "tokens"):
                raise Reply(400, 40002, "Invalid request parameters",
                            "'%s' given more than once" % k)
        return d

    def query_v2(self, kind, d):
        ds = self.ds[kind]
        spec = SPEC[kind]
        now = self.now()
        for k in ("mintime", "maxtime"):
            if k not in d:
                raise Reply(400, 40001, "Missing required request parameters",
                            k)
            if not re.fullmatch(r"[0-9]{13}", d[k][0]):
                raise Reply(400, 40002, "Invalid request parameters",
                            "'%s' must be a timestamp in milliseconds" % k)
        mint = int(d["mintime"][0])
        maxt = int(d["maxtime"][0])
        if mint < int(now * 1000) - 180 * DAY_MS:
            raise Reply(400, 40002, "Invalid request parameters",
                        "mintime must be within the past 180 days")
        if mint >= maxt:
            raise Reply(400, 40002, "Invalid request parameters",
                        "mintime must be less than maxtime")
        limit = 100
        if "limit" in d:
            if not re.fullmatch(r"[0-9]{1,9}", d["limit"][0]) or \
                    int(d["limit"][0]) < 1:
                raise Reply(400, 40002, "Invalid request parameters",
                            "'limit' must be a positive integer")
            limit = min(int(d["limit"][0]), spec["maxlimit"])
        cap = self.opt.maxpage.get(kind)
        eff = min(limit, cap) if cap else limit
        desc = False
        if kind != "trustmonitor":
            s = d.get("sort", ["ts:desc"])[0]
            if s not in ("ts:asc", "ts:desc"):
                raise Reply(400, 40002, "Invalid request parameters",
                            "'sort' must be ts:asc or ts:desc")
            desc = s == "ts:desc"
        cur = None
        offs = d.get(spec["offparam"])
        if offs is not None:
            cur = self.parse_offset(kind, offs)
        ttype = d.get("type", [None])[0]
        if ttype == "bypass_status_enabled":
            ttype = "bypass_status"
        lo = bisect.bisect_left(ds.key, mint)
        hi = bisect.bisect_right(ds.key, maxt)

        def ok(p):
            if not ds.is_visible(p, now):
                return False
            if ttype is not None and \
                    not ds.served(p).endswith('"type": "%s"}' % ttype):
                return False
            return True

        out = []
        if not desc:
            p = lo
            if cur is not None:
                p = max(lo, bisect.bisect_left(ds.key, cur[0], lo, hi))
                while p < hi and ds.key[p] == cur[0] and ds.id(p) <= cur[1]:
                    p += 1
            while p < hi and len(out) < eff:
                if ok(p):
                    out.append(p)
                p += 1
            more = False
            while p < hi:
                if ok(p):
                    more = True
                    break
                p += 1
        else:
            p = hi - 1
            if cur is not None:
                p = min(hi, bisect.bisect_right(ds.key, cur[0], lo, hi)) - 1
                while p >= lo and ds.key[p] == cur[0] and ds.id(p) >= cur[1]:
                    p -= 1
            while p >= lo and len(out) < eff:
                if ok(p):
                    out.append(p)
                p -= 1
            more = False
            while p >= lo:
                if ok(p):
                    more = True
                    break
                p -= 1
        if ttype is None:
            total = (hi - lo) - sum(1 for q in ds.visible
                                    if lo <= q < hi and not ds.is_visible(q, now))
        else:
            total = sum(1 for q in range(lo, hi) if ok(q))
        nxt = None
        if out and (more or len(out) == eff):
            last = out[-1]
            if kind == "auth":
                nxt = [str(ds.key[last]), ds.id(last)]
            else:
                nxt = "%d,%s" % (ds.key[last], ds.id(last))
        meta = {"next_offset": nxt}
        if kind == "auth" or kind == "telephony":
            meta["total_objects"] = total
        elif kind == "activity":
            meta["total_objects"] = {"relation": "eq", "value": total}
        texts = ", ".join(ds.served(p) for p in out)
        body = '{"response": {"%s": [%s], "metadata": %s}, "stat": "OK"}' % (
            spec["listkey"], texts, json.dumps(meta, sort_keys=True))
        return body, len(out)

    def parse_offset(self, kind, offs):
        bad = Reply(400, 40002, "Invalid request parameters",
                    "invalid '%s'" % SPEC[kind]["offparam"])
        if len(offs) == 1:
            ts, sep, ident = offs[0].partition(",")
            if not sep:
                raise bad
        elif len(offs) == 2 and kind == "auth":
            a, b = offs
            if re.fullmatch(r"[0-9]{13}", a) and not re.fullmatch(r"[0-9]{13}", b):
                ts, ident = a, b
            elif re.fullmatch(r"[0-9]{13}", b) and not re.fullmatch(r"[0-9]{13}", a):
                ts, ident = b, a
            else:
                raise bad
        else:
            raise bad
        if not re.fullmatch(r"[0-9]{13}", ts) or not ident:
            raise bad
        return int(ts), ident

    def query_v1(self, kind, d):
        ds = self.ds[kind]
        now = self.now()
        mint = 0
        if "mintime" in d:
            v = d["mintime"][0]
            if not re.fullmatch(r"[0-9]{1,11}", v):
                raise Reply(400, 40002, "Invalid request parameters",
                            "'mintime' must be a timestamp in seconds")
            mint = int(v)
        cap = self.opt.maxpage.get(kind) or 1000
        p = bisect.bisect_left(ds.key, mint * 1000000 // ds.unit)
        out = []
        while p < ds.n and len(out) < cap:
            if ds.is_visible(p, now):
                out.append(p)
            p += 1
        if len(out) == cap:
            last = ds.key[out[-1]]
            while p < ds.n and ds.key[p] == last:
                if ds.is_visible(p, now):
                    out.append(p)
                p += 1
        texts = ", ".join(ds.served(p) for p in out)
        return '{"response": [%s], "stat": "OK"}' % texts, len(out)

    def dispatch(self, method, rawpath, query, headers, body, meta):
        meta["sig"] = self.verify(method, rawpath, query, headers, body)
        kind = PATHS.get(rawpath)
        if kind is None and rawpath != SUMMARY:
            raise Reply(404, 40401, "Resource not found")
        if method != "GET":
            raise Reply(405, 40501, "Method not allowed")
        name = kind or "summary"
        if name in self.opt.forbid:
            raise Reply(403, 40301, "Access forbidden",
                        "This integration is not permitted to access %s"
                        % rawpath)
        d = self.params(kind, parse_pairs(query))
        if kind is None:
            return json.dumps({"response": {
                "admin_count": len(self.pools.admins),
                "integration_count": len(self.pools.apps),
                "telephony_credits_remaining": 960,
                "user_count": len(self.pools.users)}, "stat": "OK"},
                sort_keys=True), None
        if SPEC[kind]["style"] == "v1":
            return self.query_v1(kind, d)
        return self.query_v2(kind, d)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY a
    # client waits for the delayed ACK (about 40 ms) on every request.
    disable_nagle_algorithm = True
    server_version = "fakeduo/1"
    sys_version = ""
    timeout = 120

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        self.answer()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def answer(self):
        app = self.server.app
        t0 = time.time()
        body = b""
        clen = self.headers.get("Content-Length")
        if clen:
            try:
                n = int(clen)
            except ValueError:
                n = -1
            if n < 0 or n > 1 << 20:
                self.close_connection = True
                self.send_error(400)
                return
            body = self.rfile.read(n)
        n, fault = app.next_request()
        target = self.path
        if target.startswith("http://") or target.startswith("https://"):
            u = urllib.parse.urlsplit(target)
            target = u.path + ("?" + u.query if u.query else "")
        rawpath, _, query = target.partition("?")
        meta = {"sig": None}
        nrec = None
        try:
            if not app.take_token(rawpath):
                fault = "bucket"
                raise Reply(429, 42901, "Too Many Requests")
            text, nrec = app.dispatch(self.command, rawpath, query,
                                      self.headers, body, meta)
            status, code = 200, None
        except Reply as r:
            status, code, text = r.status, r.code, r.body()
        except Exception as e:  # a bug in the fake: say so loudly
            sys.stderr.write("%s: request %d: %r\n" % (PROG, n, e))
            status, code = 500, 50001
            text = FAULT_BODY["500"][1]
        if fault in FAULT_BODY:
            status, text = FAULT_BODY[fault]
            code = json.loads(text)["code"]
            nrec = None
        if fault == "inject" and status == 200 and PATHS.get(rawpath):
            text = inject(text, PATHS[rawpath])
        if status != 200 and app.opt.error_message is not None:
            d = json.loads(text)
            d["message"] = app.opt.error_message
            text = json.dumps(d, sort_keys=True)
        data = text.encode("utf-8")
        if fault == "badjson":
            status, code = 200, None
            data = data[:len(data) // 2] + b"\x00<html>502 Bad Gateway</html>"
        qd = {}
        for k, v in parse_pairs(query):
            qd.setdefault(k.decode("utf-8", "replace"), []).append(
                v.decode("utf-8", "replace"))
        app.log(app.logfd, {
            "n": n, "conn": self.conn, "t": round(t0, 6),
            "method": self.command, "path": rawpath, "query": qd,
            "status": None if fault == "reset" else status, "code": code,
            "fault": fault, "sig": meta["sig"], "records": nrec,
            "bytes": None if fault == "reset" else len(data),
            "ms": round((time.time() - t0) * 1000, 3)})
        delay = app.opt.latency / 1000.0
        if fault == "slow":
            delay += app.opt.slow_ms / 1000.0
        if delay > 0:
            time.sleep(delay)
        if fault == "reset":
            self.close_connection = True
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           b"\x01\x00\x00\x00\x00\x00\x00\x00")
            except OSError:
                pass
            self.reset = True
            return
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if fault == "cut":
            self.wfile.write(data[:max(1, len(data) // 2)])
            self.close_connection = True
        else:
            self.wfile.write(data)
        self.wfile.flush()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def finish_request(self, request, client_address):
        conn = self.app.next_conn()
        request.settimeout(30)
        try:
            s = self.ctx.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError) as e:
            self.app.log(self.app.connfd, {"conn": conn, "t": round(time.time(), 6),
                                           "tls": "failed", "error": str(e)})
            try:
                request.close()
            except OSError:
                pass
            return
        self.app.log(self.app.connfd, {"conn": conn, "t": round(time.time(), 6),
                                       "tls": "ok", "version": s.version()})
        try:
            _Conn(s, client_address, self, conn)
        except (OSError, ssl.SSLError):
            pass
        finally:
            # after a reset fault SO_LINGER is 0: this close sends a RST
            try:
                s.close()
            except OSError:
                pass

    def server_bind(self):
        socketserver.TCPServer.server_bind(self)
        self.server_name = "localhost"
        self.server_port = self.server_address[1]

    def handle_error(self, request, client_address):
        pass


class _Conn(Handler):
    def __init__(self, sock, addr, server, conn):
        self.conn = conn
        self.reset = False
        Handler.__init__(self, sock, addr, server)

    def handle_one_request(self):
        if self.reset:
            self.close_connection = True
            return
        Handler.handle_one_request(self)

    def finish(self):
        if self.reset:
            return
        try:
            Handler.finish(self)
        except (OSError, ssl.SSLError):
            pass


# ---------------------------------------------------------------- setup

def openssl(*args):
    r = subprocess.run(("openssl",) + args, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    if r.returncode != 0:
        die("openssl %s: %s" % (args[0], r.stderr.decode(errors="replace").strip()),
            1)


def make_ca(dir, name, cn):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-keyout",
            os.path.join(dir, name + ".key"), "-out",
            os.path.join(dir, name + ".pem"), "-days", "30", "-subj",
            "/CN=" + cn, "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")


def make_certs(dir, kind, seed):
    make_ca(dir, "ca", "fakeduo test CA %d.%d" % (seed, os.getpid()))
    san = "subjectAltName=DNS:localhost,IP:127.0.0.1"
    cn = "localhost"
    signer = "ca"
    if kind == "wronghost":
        san = "subjectAltName=DNS:wrong.example.invalid"
        cn = "wrong.example.invalid"
    elif kind == "untrusted":
        make_ca(dir, "other-ca", "fakeduo untrusted CA %d" % os.getpid())
        signer = "other-ca"
    args = ["req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", os.path.join(dir, "key.pem"),
            "-out", os.path.join(dir, "cert.pem"), "-days", "30",
            "-subj", "/CN=" + cn, "-addext", san,
            "-addext", "basicConstraints=critical,CA:FALSE",
            "-addext", "extendedKeyUsage=serverAuth"]
    if kind != "selfsigned":
        args += ["-CA", os.path.join(dir, signer + ".pem"),
                 "-CAkey", os.path.join(dir, signer + ".key")]
    openssl(*args)


def kv_option(s, what):
    out = {}
    for item in filter(None, s.split(",")):
        k, sep, v = item.partition("=")
        if not sep or k not in KINDS:
            die("%s: bad item %r (want KIND=N, KIND one of %s)"
                % (what, item, " ".join(KINDS)))
        try:
            out[k] = int(v)
        except ValueError:
            die("%s: bad number %r" % (what, v))
        if out[k] < 0:
            die("%s: bad number %r" % (what, v))
    return out


class Stop(BaseException):
    """Raised by the SIGTERM/SIGINT handler."""


def serve(d, setup):
    """Run a test server on loopback until SIGTERM or SIGINT.

    setup() makes and returns the bound server; its port is then written
    to d/port (atomically, last, so a waiting test sees a ready server),
    and d/port is removed again on the way out.  Shared with proxy.py.
    """
    stop = {"now": False}

    def onsig(signum, frame):
        if not stop["now"]:
            stop["now"] = True
            raise Stop()
    signal.signal(signal.SIGTERM, onsig)
    signal.signal(signal.SIGINT, onsig)
    portf = os.path.join(d, "port")
    server = None
    try:
        for f in (portf, portf + ".tmp"):
            try:
                os.unlink(f)
            except FileNotFoundError:
                pass
        server = setup()
        with open(portf + ".tmp", "w") as f:
            f.write("%d\n" % server.server_address[1])
        os.rename(portf + ".tmp", portf)
        server.serve_forever(poll_interval=0.2)
    except Stop:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if server is not None:
            server.server_close()
        for f in (portf, portf + ".tmp"):
            try:
                os.unlink(f)
            except OSError:
                pass
    return 0


def main():
    ap = argparse.ArgumentParser(prog=PROG, description="fake Duo Admin API")
    ap.add_argument("-d", dest="dir", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--records", default="")
    ap.add_argument("--span", type=int, default=21600)
    ap.add_argument("--live", type=int, default=0)
    ap.add_argument("--now", type=int, default=None)
    ap.add_argument("--faults", default="")
    ap.add_argument("--slow-ms", dest="slow_ms", type=int, default=2000)
    ap.add_argument("--latency", type=int, default=0)
    ap.add_argument("--cert", default="good",
                    choices=("good", "wronghost", "selfsigned", "untrusted"))
    ap.add_argument("--forbid", default="")
    ap.add_argument("--skew", type=int, default=0)
    ap.add_argument("--no-data-files", dest="no_data", action="store_true")
    ap.add_argument("--max-records-per-page", dest="maxpage", default="")
    ap.add_argument("--bucket", default=None)
    ap.add_argument("--tls-max", dest="tls_max", default="1.3",
                    choices=("1.0", "1.1", "1.2", "1.3"))
    ap.add_argument("--error-message", dest="error_message", default=None)
    opt = ap.parse_args()
    if opt.bucket is not None:
        m = re.fullmatch(r"([0-9]+)/([0-9]+(?:\.[0-9]+)?)", opt.bucket)
        if not m or int(m.group(1)) < 1 or float(m.group(2)) <= 0:
            die("--bucket: want N/SECONDS, e.g. 1/2")
        opt.bucket = (int(m.group(1)), float(m.group(2)))
    if opt.span <= 300:
        die("--span must be more than 300 seconds")
    if opt.live < 0 or opt.latency < 0 or opt.slow_ms < 0:
        die("--live, --latency and --slow-ms must not be negative")
    rec = dict(DEFAULT_RECORDS)
    rec.update(kv_option(opt.records, "--records"))
    opt.records = rec
    opt.maxpage = {k: v for k, v in kv_option(opt.maxpage,
                                              "--max-records-per-page").items()
                   if v > 0}
    opt.forbid = set(filter(None, opt.forbid.split(",")))
    for k in opt.forbid:
        if k not in KINDS and k != "summary":
            die("--forbid: unknown kind %r" % k)

    d = os.path.abspath(opt.dir)
    os.makedirs(d, exist_ok=True)

    def setup():
        anchorf = os.path.join(d, "anchor")
        if opt.now is not None:
            anchor = opt.now
        elif os.path.exists(anchorf):
            with open(anchorf) as f:
                anchor = int(f.read().strip())
        else:
            anchor = int(time.time() + opt.skew)
        with open(anchorf + ".tmp", "w") as f:
            f.write("%d\n" % anchor)
        os.rename(anchorf + ".tmp", anchorf)
        make_certs(d, opt.cert, opt.seed)
        app = App(opt, anchor)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        tv = {"1.0": ssl.TLSVersion.TLSv1, "1.1": ssl.TLSVersion.TLSv1_1,
              "1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}
        if opt.tls_max in ("1.0", "1.1"):
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.maximum_version = tv[opt.tls_max]
        ctx.load_cert_chain(os.path.join(d, "cert.pem"),
                            os.path.join(d, "key.pem"))
        server = Server(("127.0.0.1", 0), Handler)
        server.app = app
        server.ctx = ctx
        port = server.server_address[1]
        conf = os.path.join(d, "duo.conf")
        try:
            os.unlink(conf)
        except FileNotFoundError:
            pass
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, ("[duo]\nikey = %s\nskey = %s\nhost = localhost:%d\n"
                      "cafile = %s\n" % (app.ikey, app.skey, port,
                                         os.path.join(d, "ca.pem"))).encode())
        os.close(fd)
        if not opt.no_data:
            dd = os.path.join(d, "data")
            os.makedirs(dd, exist_ok=True)
            for k in KINDS:
                app.ds[k].write_data(os.path.join(dd, k + ".ndjson"))
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND
        app.logfd = os.open(os.path.join(d, "requests.log"), flags, 0o644)
        app.connfd = os.open(os.path.join(d, "connections.log"), flags, 0o644)
        return server
    return serve(d, setup)


if __name__ == "__main__":
    sys.exit(main())
