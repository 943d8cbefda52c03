#!/usr/bin/env python3
"""proxy.py: an HTTP CONNECT proxy for duopipe's tests (python3 stdlib).

Usage:
    python3 tests/e2e/proxy.py -d DIR [--auth user:pass]

Listens on 127.0.0.1 on a free port and writes DIR/port (port.tmp, then
rename) once listening; the file is removed at start and on exit.  Only
CONNECT is served (other methods: 405).  A CONNECT target must be a
loopback host (localhost, 127.0.0.1, ::1) with a port; any other target is
refused with 403 before anything is connected.  With --auth, a CONNECT
without the right `Proxy-Authorization: Basic base64(user:pass)` gets 407
with `Proxy-Authenticate: Basic realm="fakeproxy"`.  Once tunnelled, bytes
are relayed both ways until either side closes.

DIR/proxy.log gets one line per CONNECT request, written before the answer:
    CONNECT <target> auth=<none|ok|missing|wrong> status=<200|403|407|502>
(auth=none: the proxy requires no authentication).
SIGTERM or SIGINT: exits 0.
"""

import argparse
import base64
import os
import select
import socket
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from fakeduo import serve

PROG = "proxy.py"
LOOPBACK = ("localhost", "127.0.0.1", "::1", "[::1]")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fakeproxy/1"
    sys_version = ""
    timeout = 120

    def log_message(self, fmt, *args):
        pass

    def log_connect(self, target, auth, status):
        srv = self.server
        line = "CONNECT %s auth=%s status=%d\n" % (target, auth, status)
        with srv.lock:
            os.write(srv.logfd, line.encode("utf-8", "replace"))

    def refuse(self, code, extra=None):
        self.send_response(code)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_CONNECT(self):
        srv = self.server
        target = self.path
        if srv.auth is None:
            auth = "none"
        else:
            got = self.headers.get("Proxy-Authorization")
            want = "Basic " + base64.b64encode(srv.auth.encode()).decode()
            if got is None:
                auth = "missing"
            elif got.strip() == want:
                auth = "ok"
            else:
                auth = "wrong"
        if auth in ("missing", "wrong"):
            self.log_connect(target, auth, 407)
            self.refuse(407, {"Proxy-Authenticate": 'Basic realm="fakeproxy"'})
            return
        host, _, port = target.rpartition(":")
        if host not in LOOPBACK or not port.isdigit():
            self.log_connect(target, auth, 403)
            self.close_connection = True
            self.refuse(403, {"Connection": "close"})
            return
        try:
            up = socket.create_connection((host.strip("[]"), int(port)), 10)
        except OSError:
            self.log_connect(target, auth, 502)
            self.close_connection = True
            self.refuse(502, {"Connection": "close"})
            return
        self.log_connect(target, auth, 200)
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        relay(self.connection, up)

    def other(self):
        self.close_connection = True
        self.send_response(405)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = other


def relay(a, b):
    socks = [a, b]
    try:
        a.settimeout(None)
        b.settimeout(None)
        while True:
            r, _, _ = select.select(socks, [], [], 300)
            if not r:
                return
            for s in r:
                data = s.recv(65536)
                if not data:
                    return
                (b if s is a else a).sendall(data)
    except OSError:
        return
    finally:
        b.close()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def server_bind(self):
        socketserver.TCPServer.server_bind(self)
        self.server_name = "localhost"
        self.server_port = self.server_address[1]

    def handle_error(self, request, client_address):
        pass


def main():
    ap = argparse.ArgumentParser(prog=PROG, description="HTTP CONNECT proxy")
    ap.add_argument("-d", dest="dir", required=True)
    ap.add_argument("--auth", default=None, help="user:pass")
    opt = ap.parse_args()
    if opt.auth is not None and ":" not in opt.auth:
        sys.stderr.write("%s: --auth: want user:pass\n" % PROG)
        return 2

    d = os.path.abspath(opt.dir)
    os.makedirs(d, exist_ok=True)

    def setup():
        server = Server(("127.0.0.1", 0), Handler)
        server.auth = opt.auth
        server.lock = threading.Lock()
        server.logfd = os.open(os.path.join(d, "proxy.log"),
                               os.O_WRONLY | os.O_CREAT | os.O_TRUNC |
                               os.O_APPEND, 0o644)
        return server
    return serve(d, setup)


if __name__ == "__main__":
    sys.exit(main())
