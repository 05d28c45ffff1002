"""
tunnel_case.py: what test_proxy_tunnel.py needs besides harness.py:
targets for ghp's forward proxy to reach (an HTTP or HTTPS server that
records every request whole, raw TCP servers that echo, drip or keep
silent), a raw client for the proxy listener (CONNECT, then bytes or TLS
inside), the real curl run with nothing of the host's configuration, and
deterministic test data.

Not a test module itself (run_all.py collects test_*.py only).  Python 3
standard library only (and the openssl command, through TestCA).
"""

import hashlib
import http.server
import json
import os
import select
import shutil
import socket
import socketserver
import ssl
import subprocess
import tempfile
import threading
import time

from harness import HttpConn, basic_auth, parse_http

# Generous: an ASan build on a loaded machine.
TOOL_TIMEOUT = 120
PROXY_REALM = 'Basic realm="ghp"'


def blob(n, seed=b"ghp tunnel"):
    """n bytes that look random, the same for the same n and seed."""
    return hashlib.shake_256(seed + b"/%d" % n).digest(n)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def proxy_auth(token, user="agent"):
    """The Proxy-Authorization value for a ghp token."""
    return basic_auth(user, token)


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


class _TargetHTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self):
        socketserver.TCPServer.server_bind(self)
        self.server_name = self.server_address[0]
        self.server_port = self.server_address[1]

    def handle_error(self, request, client_address):
        pass


class _TargetHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tunnel-target"

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        super().setup()
        self.connection.settimeout(60)

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (OSError, ssl.SSLError):
            self.close_connection = True

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


class TargetServer:
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
        self._server = None
        self._thread = None

    def start(self):
        cls = _TargetHTTPServer
        if ":" in self.host:
            cls = type("_TargetHTTPServer6", (_TargetHTTPServer,),
                       {"address_family": socket.AF_INET6})
        self._server = cls((self.host, self.port), _TargetHandler)
        self._server.target = self
        if self.tls:
            crt, key = self.ca.issue(self.hosts)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(crt, key)

            def sni(sslobj, name, _ctx):
                with self.lock:
                    self.sni.append(name)
            ctx.sni_callback = sni
            self._server.socket = ctx.wrap_socket(
                self._server.socket, server_side=True,
                do_handshake_on_connect=False)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
            name="tunnel-target", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

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


def header_values(rec, name):
    return [v for k, v in rec["headers"] if k.lower() == name.lower()]


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


class ProxyConn(HttpConn):
    """A client connection to ghp's proxy listener: connect() sends
    CONNECT and reads the answer; then raw bytes (send(), recv_exact(),
    wait_closed()) or start_tls() and HTTP (request(), read_response())
    go through the tunnel."""

    def __init__(self, port, timeout=60.0):
        HttpConn.__init__(self, "127.0.0.1", port, timeout)
        self.timeout = timeout

    def read_head(self):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        r = parse_http(head + b"\r\n\r\n")
        r.header_list = [tuple(x.strip() for x in l.split(":", 1))
                         for l in head.decode("iso-8859-1")
                         .split("\r\n")[1:]]
        return r

    def connect(self, target, auth=None, headers=()):
        """CONNECT target; Proxy-Authorization: auth (the whole value)
        when given.  A 2xx answer has no body; another has its body
        read (Content-Length, else to the end of the connection)."""
        items = [("Host", target), ("User-Agent", "ghp-integration")]
        if auth is not None:
            items.append(("Proxy-Authorization", auth))
        items += list(headers)
        head = "CONNECT %s HTTP/1.1\r\n" % target
        head += "".join("%s: %s\r\n" % kv for kv in items) + "\r\n"
        self.send(head.encode("latin-1"))
        r = self.read_head()
        r.body = b""
        if 200 <= r.status < 300:
            return r
        n = r.headers.get("content-length")
        if n is not None:
            parts = []
            self._body_bytes(int(n), parts.append)
            r.body = b"".join(parts)
        return r

    def recv_exact(self, n):
        return self._take(n)

    def start_tls(self, server_hostname, cafile):
        """TLS to server_hostname inside the tunnel, checked against
        cafile; returns the peer certificate (DER)."""
        if self.buf:
            raise AssertionError("bytes after the CONNECT answer, before "
                                 "TLS: %r" % self.buf[:200])
        ctx = ssl.create_default_context(cafile=cafile)
        self.sock = ctx.wrap_socket(self.sock,
                                    server_hostname=server_hostname)
        self.sock.settimeout(self.timeout)
        return self.sock.getpeercert(binary_form=True)

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


class CurlResult:
    def __init__(self, proc, status, body, heads):
        self.rc = proc.returncode
        self.stderr = proc.stderr
        self.status = status        # %{http_code}: the last response
        self.body = body
        self.heads = heads          # every response head, in order
        self.headers = {}           # the last one's, lower-case names
        if heads:
            for line in heads[-1].split("\r\n")[1:]:
                k, _, v = line.partition(":")
                self.headers[k.strip().lower()] = v.strip()

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<curl exit %d, HTTP %s, %r, stderr %r>" % (
            self.rc, self.status, self.body[:300], self.stderr[-800:])


class Curl:
    """The real curl with its own HOME and directory (no .curlrc, no
    proxy from the environment unless given)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ghp-tunnel-")
        self.home = os.path.join(self.dir, "home")
        os.mkdir(self.home)

    def path(self, *names):
        return os.path.join(self.dir, *names)

    def run(self, url, proxy=None, cacert=None, args=(), env=None,
            timeout=TOOL_TIMEOUT):
        body, hdrs = self.path("body"), self.path("headers")
        for p in (body, hdrs):
            if os.path.exists(p):
                os.unlink(p)
        cmd = ["curl", "-q", "-sS", "--max-time", str(timeout - 10),
               "-o", body, "-D", hdrs, "-w", "%{http_code}",
               "-H", "User-Agent: ghp-tunnel-test"]
        if proxy is not None:
            cmd += ["--proxy", proxy]
        if cacert is not None:
            cmd += ["--cacert", cacert]
        cmd += list(args) + [url]
        e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
             "HOME": self.home, "LC_ALL": "C", "NO_PROXY": "",
             "no_proxy": ""}
        e.update(env or {})
        p = subprocess.run(cmd, env=e, capture_output=True, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL,
                           cwd=self.dir)
        try:
            status = int(p.stdout.strip() or 0)
        except ValueError:
            status = None
        data = b""
        if os.path.exists(body):
            with open(body, "rb") as f:
                data = f.read()
        heads = []
        if os.path.exists(hdrs):
            with open(hdrs, "rb") as f:
                text = f.read().decode("iso-8859-1")
            heads = [b for b in text.split("\r\n\r\n") if b.strip()]
        return CurlResult(p, status, data, heads)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def have_tool(name):
    return shutil.which(name) is not None
