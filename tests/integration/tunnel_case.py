"""
tunnel_case.py: what test_proxy_tunnel.py needs besides harness.py:
targets for ghp's forward proxy to reach (an HTTP or HTTPS server that
records every request whole, raw TCP servers that echo, drip or keep
silent), a raw client for the proxy listener (CONNECT, then bytes or TLS
inside), the real curl run with nothing of the host's configuration, and
deterministic test data.

What other tests use too is imported, not copied: the quiet HTTP
server and its thread (fake_sites.py), the CONNECT client (http_client.py's
ConnectConn), the curl run (proxy_mode_case.py's run_curl()).

Not a test module itself (run_all.py collects test_*.py only).  Python 3
standard library only (and the openssl command, through TestCA).
"""

import hashlib
import json
import select
import shutil
import socket
import ssl
import threading
import time

from fake_sites import BackgroundServer, QuietHandler, QuietHTTPServer
from harness import ConnectConn
# PROXY_REALM, proxy_auth and header_values: test_proxy_tunnel's too.
from proxy_mode_case import (PROXY_REALM, ToolHome,  # noqa: F401
                             proxy_auth, run_curl)
from web_case import header_values  # noqa: F401

# Generous: an ASan build on a loaded machine.
TOOL_TIMEOUT = 120


def blob(n, seed=b"ghp tunnel"):
    """n bytes that look random, the same for the same n and seed."""
    return hashlib.shake_256(seed + b"/%d" % n).digest(n)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def wait_until(pred, timeout, what, interval=0.05):
    """Poll pred() until it returns something true; returns that."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.0fs waiting for %s" %
                                 (timeout, what))
        time.sleep(interval)


# ------------------------------------------------------------ HTTP target


class _TargetHTTPServer6(QuietHTTPServer):
    address_family = socket.AF_INET6


class _TargetHandler(QuietHandler):
    server_version = "tunnel-target"
    timeout = 60

    def _read_body(self):
        """(body bytes, chunked?): the request body, chunked decoded."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts), True
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return (self.rfile.read(n) if n else b""), False

    def _answer(self):
        t = self.server.target
        body, chunked = self._read_body()
        rec = {"method": self.command, "target": self.path,
               "headers": [(k, v) for k, v in self.headers.items()],
               "body": body, "chunked": chunked, "tls": t.tls,
               "client": list(self.client_address[:2]), "time": time.time()}
        with t.lock:
            t._records.append(rec)
        path = self.path.partition("?")[0]
        if path.startswith("/blob/") and self.command in ("GET", "HEAD"):
            data = blob(int(path[6:]))
            ctype = "application/octet-stream"
        else:
            data = json.dumps({"method": self.command, "target": self.path,
                               "body_length": len(body),
                               "body_sha256": sha256(body)}).encode()
            ctype = "application/json"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _answer


class TargetServer(BackgroundServer):
    """An HTTP server (HTTPS with ca: a fake_sites.TestCA, and a
    certificate for hosts from it) that a tunnel or a forwarded request
    reaches.  GET /blob/N answers blob(N); anything else answers JSON
    naming the request.  Every request is recorded whole (headers in
    order, the body chunked-decoded): requests(), clear()."""

    def __init__(self, ca=None, hosts=("127.0.0.1", "localhost"),
                 host="127.0.0.1", port=0):
        self.ca = ca
        self.tls = ca is not None
        self.hosts = tuple(hosts)
        self.host = host
        self.port = port
        self.lock = threading.Lock()
        self._records = []
        self.sni = []               # the names TLS clients asked for

    def start(self):
        cls = _TargetHTTPServer6 if ":" in self.host else QuietHTTPServer
        server = cls((self.host, self.port), _TargetHandler)
        server.target = self
        ctx = None
        if self.tls:
            ctx = self.ca.server_context(self.hosts)

            def sni(sslobj, name, _ctx):
                with self.lock:
                    self.sni.append(name)
            ctx.sni_callback = sni
        return self._serve(server, "tunnel-target", ctx)

    @property
    def addr(self):
        """host:port as a URL or a CONNECT names it."""
        h = "[%s]" % self.host if ":" in self.host else self.host
        return "%s:%d" % (h, self.port)

    def requests(self):
        with self.lock:
            return list(self._records)

    def clear(self):
        with self.lock:
            self._records = []

    def wait_requests(self, n=1, timeout=30.0):
        return wait_until(lambda: len(self.requests()) >= n and
                          self.requests(), timeout,
                          "%d request(s) at the target" % n)


# ------------------------------------------------------------- raw TCP


class RawServer:
    """A TCP server, one thread per connection, doing mode:
      "echo"    send back every byte received, until the peer closes;
      "drip"    send one byte every interval seconds until the peer
                closes (a stream that is never idle);
      "silent"  send nothing, wait for the peer to close;
      "bye"     send BYE and close at once.
    conns(): per connection {"received", "sent", "peer_closed" (the
    other end closed or reset), "ended" (monotonic time or None)}."""

    BYE = b"bye from the target\n"

    def __init__(self, mode="echo", host="127.0.0.1", interval=0.2):
        self.mode = mode
        self.interval = interval
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.host = host
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self._conns = []
        self._stop = threading.Event()
        self._open = []
        self._thread = threading.Thread(target=self._accept, daemon=True,
                                        name="raw-" + mode)
        self._thread.start()

    @property
    def addr(self):
        h = "[%s]" % self.host if ":" in self.host else self.host
        return "%s:%d" % (h, self.port)

    def _accept(self):
        while not self._stop.is_set():
            try:
                s, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            rec = {"received": 0, "sent": 0, "peer_closed": False,
                   "ended": None}
            with self.lock:
                self._conns.append(rec)
                self._open.append(s)
            threading.Thread(target=self._serve, args=(s, rec),
                             daemon=True).start()

    def _serve(self, s, rec):
        try:
            s.setblocking(True)
            if self.mode == "bye":
                s.sendall(self.BYE)
                rec["sent"] = len(self.BYE)
                return
            while not self._stop.is_set():
                wait = self.interval if self.mode == "drip" else 0.2
                r, _, _ = select.select([s], [], [], wait)
                if r:
                    b = s.recv(1 << 20)
                    if not b:
                        rec["peer_closed"] = True
                        break
                    rec["received"] += len(b)
                    if self.mode == "echo":
                        s.sendall(b)
                        rec["sent"] += len(b)
                elif self.mode == "drip":
                    s.sendall(b".")
                    rec["sent"] += 1
        except OSError:
            rec["peer_closed"] = True
        finally:
            rec["ended"] = time.monotonic()
            try:
                s.close()
            except OSError:
                pass

    def conns(self):
        with self.lock:
            return [dict(c) for c in self._conns]

    def stop(self):
        self._stop.set()
        try:
            self.sock.close()
        except OSError:
            pass
        with self.lock:
            for s in self._open:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self._thread.join(5)


# ---------------------------------------------------------- raw client


class ProxyConn(ConnectConn):
    """A client connection to ghp's proxy listener (ConnectConn); after
    connect(), raw bytes too: send(), recv_exact(), wait_closed()."""

    def __init__(self, port, timeout=60.0):
        ConnectConn.__init__(self, port, timeout)

    def recv_exact(self, n):
        return self._take(n)

    def wait_closed(self, timeout):
        """Read (and drop) whatever comes until the other end closes;
        True when it did within timeout, False otherwise."""
        deadline = time.monotonic() + timeout
        self.buf = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(min(left, 1.0))
            try:
                b = self.sock.recv(65536)
            except socket.timeout:
                continue
            except (ConnectionResetError, ssl.SSLError):
                return True
            if not b:
                return True


# --------------------------------------------------------------- curl


class Curl(ToolHome):
    """The real curl with its own HOME and directory (no .curlrc, no
    proxy from the environment unless given)."""

    def __init__(self):
        ToolHome.__init__(self, prefix="ghp-tunnel-")

    def run(self, url, proxy=None, cacert=None, args=(), env=None,
            timeout=TOOL_TIMEOUT):
        """run_curl() in this directory; a CurlResult (.heads: every
        response head, the CONNECT answer first)."""
        return run_curl(self, url, proxy, cacert, args, env, timeout,
                        headers=("User-Agent: ghp-tunnel-test",))


def have_tool(name):
    return shutil.which(name) is not None
