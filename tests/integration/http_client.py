"""
http_client.py: the raw HTTP/1.1 client of the integration tests, which
sends exactly the bytes a test asks for and reads answers as they come:
HttpConn speaks keep-alive HTTP/1.1 to the daemon one response at a
time (framed by Content-Length, chunked encoding or the end of the
connection); ConnectConn is one to ghp's proxy listener that sends
CONNECT and then TLS or bytes through the tunnel; request() is one
request on its own connection; http_raw() and parse_http() are bytes
in, bytes out; build_request() and basic_auth() make what goes on the
wire.

harness.py re-exports all of it, so that `from harness import HttpConn`
keeps working.  Not a test module itself (run_all.py collects test_*.py
only).  Python 3 standard library only.
"""

import base64
import socket
import ssl


class HttpResponse:
    def __init__(self, status, reason, headers, body, raw):
        self.status = status
        self.reason = reason
        self.headers = headers      # lower-case names
        self.body = body
        self.raw = raw

    def __repr__(self):
        return "<HTTP %s %r %r>" % (self.status, self.headers, self.body[:200])


def http_raw(host, port, data, timeout=5.0):
    """Send bytes, read until the server closes; returns the bytes."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect((host, port))
        s.sendall(data)
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except ConnectionResetError:
                if chunks:
                    break
                raise
            if not b:
                break
            chunks.append(b)
    return b"".join(chunks)


def parse_http(raw):
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise ValueError("no complete HTTP head in %r" % raw[:300])
    lines = head.decode("iso-8859-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise ValueError("bad status line %r" % lines[0])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return HttpResponse(int(parts[1]), parts[2] if len(parts) > 2 else "",
                        headers, body, raw)


def http_get(host, port, path="/", headers=None, method="GET", timeout=5.0):
    hdrs = {"Host": "ghp.test", "User-Agent": "ghp-integration",
            "Accept": "application/vnd.github+json",
            "Connection": "close"}
    if headers:
        hdrs.update(headers)
    req = "%s %s HTTP/1.1\r\n" % (method, path)
    req += "".join("%s: %s\r\n" % kv for kv in hdrs.items()) + "\r\n"
    return parse_http(http_raw(host, port, req.encode("latin-1"), timeout))


def ended(conn, method, path, headers, timeout=10.0):
    """True when a request on conn (an HttpConn) finds the connection
    closed by the server, however that shows (EOF, reset, TLS alert):
    nothing is answered."""
    conn.sock.settimeout(timeout)
    try:
        conn.request(method, path, headers)
        conn.read_response()
    except (ConnectionClosed, OSError, ssl.SSLError):
        return True
    return False


class ConnectionClosed(EOFError):
    """The server closed the connection before a complete response."""

    def __init__(self, msg, partial=b""):
        EOFError.__init__(self, msg)
        self.partial = partial


def build_request(method, path, headers=(), body=None, version="HTTP/1.1"):
    """The bytes of one request.  headers: a dict or (name, value) pairs,
    sent in order, repeats kept.  A bytes body gets a Content-Length
    unless one is given or Transfer-Encoding is."""
    items = list(headers.items()) if isinstance(headers, dict) else \
        list(headers)
    names = {k.lower() for k, _ in items}
    if body is not None and "content-length" not in names and \
            "transfer-encoding" not in names:
        items.append(("Content-Length", str(len(body))))
    head = "%s %s %s\r\n" % (method, path, version)
    head += "".join("%s: %s\r\n" % kv for kv in items) + "\r\n"
    return head.encode("latin-1") + (body or b"")


class HttpConn:
    """One client connection that reads responses one at a time (framed
    by Content-Length, chunked encoding or the end of the connection),
    so that keep-alive and pipelining can be driven and checked."""

    def __init__(self, host, port, timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def request(self, method, path, headers=(), body=None):
        self.send(build_request(method, path, headers, body))

    def _fill(self, n=262144):
        b = self.sock.recv(n)
        if not b:
            raise ConnectionClosed("connection closed by the server after "
                                   "%d unread bytes" % len(self.buf),
                                   self.buf)
        self.buf += b

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def _body_bytes(self, n, sink):
        """Pass n body bytes to sink, straight from the socket."""
        if self.buf:
            k = min(n, len(self.buf))
            sink(self.buf[:k])
            self.buf = self.buf[k:]
            n -= k
        while n > 0:
            b = self.sock.recv(min(n, 1 << 20))
            if not b:
                raise ConnectionClosed("connection closed with %d body "
                                       "bytes missing" % n)
            sink(b)
            n -= len(b)

    def read_head(self):
        """The next response's head alone (its body is left unread):
        a HttpResponse whose .raw is the head without the blank line,
        .header_list its (name, value) pairs in order, repeats kept."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        r = parse_http(head + b"\r\n\r\n")
        r.header_list = [tuple(x.strip() for x in l.split(":", 1))
                         for l in head.decode("iso-8859-1")
                         .split("\r\n")[1:]]
        r.raw = head
        return r

    def read_response(self, method="GET", sink=None, keep_interim=False):
        """The next response.  Its body goes to sink(bytes) when given
        (then .body is b"" and .body_length counts it); 1xx answers are
        skipped (kept in .interim)."""
        interim = []
        while True:
            r = self.read_head()
            if 100 <= r.status < 200:
                interim.append(r)
                continue
            break
        r.interim = interim
        parts = []
        count = [0]

        def take(b):
            count[0] += len(b)
            if sink is not None:
                sink(b)
            else:
                parts.append(b)
        te = r.headers.get("transfer-encoding", "").lower()
        if method == "HEAD" or r.status in (204, 304):
            pass
        elif te == "chunked":
            r.chunk_sizes = []
            while True:
                size = int(self._line().split(b";")[0], 16)
                r.chunk_sizes.append(size)
                if size == 0:
                    while self._line() != b"":
                        pass
                    break
                self._body_bytes(size, take)
                if self._take(2) != b"\r\n":
                    raise ValueError("chunk not followed by CRLF")
        elif "content-length" in r.headers:
            self._body_bytes(int(r.headers["content-length"]), take)
        else:
            try:
                while True:
                    if self.buf:
                        take(self.buf)
                        self.buf = b""
                    self._fill()
            except ConnectionClosed:
                pass
        r.body = b"".join(parts)
        r.body_length = count[0]
        return r

    def closed_by_server(self, timeout=3.0):
        """True when the server ends the connection (EOF or reset) with
        nothing more to read within timeout; False if data arrives or
        the connection stays open."""
        if self.buf:
            return False
        self.sock.settimeout(timeout)
        try:
            b = self.sock.recv(65536)
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        if b:
            self.buf += b
            return False
        return True


class ConnectConn(HttpConn):
    """A client connection to an HTTP proxy on 127.0.0.1:port (ghp's
    proxy listener).  connect() sends CONNECT and reads the answer;
    start_tls() then speaks TLS to the host inside, after which bytes
    (send()) or HTTP (request(), read_response()) go through the
    tunnel.  Subclasses may set alpn and refusal_to_close."""

    alpn = None                 # the ALPN protocols start_tls() offers
    refusal_to_close = False    # see connect()

    def __init__(self, port, timeout):
        HttpConn.__init__(self, "127.0.0.1", port, timeout)
        self.timeout = timeout

    def connect(self, target, auth=None, headers=()):
        """CONNECT target (host:port); Proxy-Authorization: auth (the
        whole value) when given, then headers.  Returns the answer; a
        2xx has no body, any other has its body read by Content-Length,
        or without one (refusal_to_close) up to the end of the
        connection."""
        items = [("Host", target), ("User-Agent", "ghp-integration")]
        if auth is not None:
            items.append(("Proxy-Authorization", auth))
        self.request("CONNECT", target, items + list(headers))
        r = self.read_head()
        r.body = b""
        if 200 <= r.status < 300:
            return r
        parts = []
        n = r.headers.get("content-length")
        if n is not None:
            self._body_bytes(int(n), parts.append)
        elif self.refusal_to_close:
            try:
                while True:
                    if self.buf:
                        parts.append(self.buf)
                        self.buf = b""
                    self._fill()
            except Exception:       # the end of the connection
                pass
        r.body = b"".join(parts)
        return r

    def start_tls(self, server_hostname, cafile):
        """TLS to server_hostname inside the tunnel, verified against
        cafile (the chain and the name); returns the peer certificate
        (DER)."""
        if self.buf:
            raise AssertionError("bytes after the CONNECT answer, before "
                                 "TLS: %r" % self.buf[:200])
        ctx = ssl.create_default_context(cafile=cafile)
        if self.alpn:
            ctx.set_alpn_protocols(list(self.alpn))
        self.sock = ctx.wrap_socket(self.sock,
                                    server_hostname=server_hostname)
        self.sock.settimeout(self.timeout)
        return self.sock.getpeercert(binary_form=True)


def request(host, port, method, path, headers=(), body=None, timeout=10.0,
            sink=None):
    """One request on a connection of its own (Connection: close is
    added unless headers say otherwise); returns the response."""
    items = list(headers.items()) if isinstance(headers, dict) else \
        list(headers)
    if not any(k.lower() == "connection" for k, _ in items):
        items.append(("Connection", "close"))
    with HttpConn(host, port, timeout) as c:
        c.request(method, path, items, body)
        return c.read_response(method, sink=sink)


def basic_auth(user, password):
    return "Basic " + base64.b64encode(
        ("%s:%s" % (user, password)).encode()).decode()
