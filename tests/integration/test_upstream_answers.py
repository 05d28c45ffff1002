"""
test_upstream_answers.py: what ghp's own HTTP/1.1 client (worker/
upstream.c, upconn.c, http_resp.c) makes of what an upstream answers,
driven against a scripted upstream: a small threaded TCP server in this
file whose answers are raw bytes chosen by each test, and which records
every request head it read and every connection it accepted.

`upstream raw` points at the scripted server (Ghp's upstream_urls), the
API at the usual FakeGitHub (tokens and alice's credential are made
through it); the tests send GET and HEAD for files on
raw.githubusercontent.com with a ghx_ token that has contents:read, which
ghp forwards to the raw upstream.  One worker, so that every request
sees the same pool of kept-alive upstream connections.

Each test looks at both ends: what the client got (status, head, body,
or the end of its connection) and what reached the scripted server (the
requests, on which of its connections, whether ghp closed them).  The
contract checked is http.h's "The response head" and the top comments
of upstream.c and upconn.c: framing by Content-Length, chunked coding
or the end of the connection; 1xx skipped, 101 refused; a malformed
head is a 502 in GitHub's shape with nothing of it passed; a body that
breaks off ends the client's connection; a connection goes back to the
pool only after a clean exchange; a GET whose reused connection was
closed before any answer is sent again once on a new connection;
`upstream timeout` is a 504.

Run with tests/integration/run_all.py (or python3 -m unittest from this
directory).
"""

import socket
import struct
import threading
import time
import unittest

from harness import ConnectionClosed, HttpConn
from proxy_case import CRED_ALICE, ProxyCase, start_proxy

RAW = "raw.githubusercontent.com"
RAW_FILE = "/acme/widgets/main/README.md"
UPSTREAM_TIMEOUT = 2        # `upstream timeout`, seconds
MARK = b"SCRIPTED-MARK"     # in every bad answer: must never reach a client


def ok(body=b"ok", headers=()):
    """A plain 200 with Content-Length, keep-alive."""
    head = b"HTTP/1.1 200 OK\r\n"
    for k, v in headers:
        head += ("%s: %s\r\n" % (k, v)).encode("latin-1")
    head += b"Content-Length: %d\r\n\r\n" % len(body)
    return head + body


# ---------------------------------------------------------------- steps
#
# What the scripted server does with one request it read: a callable
# step(sock) -> True to read the next request on that connection, False
# to close it.  The helpers below make the usual ones.


def send(*parts, delay=0.0, close=False):
    """Send the parts (bytes), delay seconds apart; then close the
    connection, or keep it (and read the next request on it)."""
    def step(sock):
        for i, p in enumerate(parts):
            if i and delay:
                time.sleep(delay)
            sock.sendall(p)
        return not close
    return step


def trickle(data, delay):
    """Send data one byte at a time, delay seconds apart."""
    return send(*[data[i:i + 1] for i in range(len(data))], delay=delay)


def hangup():
    """Close the connection without answering."""
    return lambda sock: False


def reset():
    """Close the connection without answering, with a reset (RST)."""
    def step(sock):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        struct.pack("ii", 1, 0))
        return False
    return step


def hold():
    """Never answer: the connection stays as it is until ghp closes it
    (or the server is reset)."""
    def step(sock):
        return True     # the next read sees ghp's end of the connection
    return step


class ScriptedUpstream:
    """A threaded HTTP/1.1 server on 127.0.0.1 whose answers are the
    steps given to script(), one per request read, in the order the
    requests come (whatever the connection); with none left, ok().

    Recorded: accepted (connections accepted), requests [(connection
    number, request head bytes)], eof {connection numbers the peer
    closed, with a FIN or a reset}."""

    def __init__(self):
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(32)
        self.port = self.lsock.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.lock = threading.Lock()
        self.gen = 0
        self.steps = []
        self.accepted = 0
        self.requests = []
        self.eof = set()
        self.socks = {}
        self.stopped = False
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()

    # ---- the test's side

    def script(self, *steps):
        with self.lock:
            self.steps.extend(steps)

    def reset(self):
        """Close every connection, forget every record and step.  ghp's
        pool sees its idle connections closed and drops them."""
        self.close_all()
        with self.lock:
            self.gen += 1
            self.steps = []
            self.accepted = 0
            self.requests = []
            self.eof = set()
        time.sleep(0.1)

    def close_all(self):
        """Close (from this side) every connection open now."""
        with self.lock:
            socks = list(self.socks.values())
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self):
        self.stopped = True
        self.close_all()
        try:
            self.lsock.close()
        except OSError:
            pass

    def snapshot(self):
        with self.lock:
            return self.accepted, list(self.requests), set(self.eof)

    def wait_eof(self, conn, timeout=3.0):
        """True once the peer (ghp) has closed connection number conn."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if conn in self.eof:
                    return True
            time.sleep(0.01)
        return False

    # ---- the server's side

    def _accept(self):
        while not self.stopped:
            try:
                s, _ = self.lsock.accept()
            except OSError:
                return
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                n = self.accepted
                self.accepted += 1
                gen = self.gen
                self.socks[(gen, n)] = s
            threading.Thread(target=self._serve, args=(s, gen, n),
                             daemon=True).start()

    def _serve(self, s, gen, n):
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    try:
                        b = s.recv(65536)
                    except ConnectionResetError:
                        b = b""     # closed with our bytes unread
                    if not b:
                        with self.lock:
                            if gen == self.gen:
                                self.eof.add(n)
                        return
                    buf += b
                head, _, buf = buf.partition(b"\r\n\r\n")
                with self.lock:
                    if gen != self.gen:
                        return
                    self.requests.append((n, head + b"\r\n\r\n"))
                    step = self.steps.pop(0) if self.steps else send(ok())
                if not step(s):
                    return
        except OSError:
            pass
        finally:
            with self.lock:
                self.socks.pop((gen, n), None)
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


class UpstreamAnswersTest(ProxyCase):
    """ghp in front of a scripted raw upstream: each test scripts the
    answers, sends requests for raw files, and checks what the client
    got and what reached the upstream."""

    @classmethod
    def setUpClass(cls):
        cls.up = ScriptedUpstream()
        cls.addClassCleanup(cls.up.stop)
        cls.g = start_proxy(cls, workers=1,
                            upstream_urls={"raw": cls.up.url},
                            extra="upstream timeout %d\n" % UPSTREAM_TIMEOUT)
        cls.tok, _ = cls.g.new_token("alice", "acme/widgets",
                                     "contents:read")

    def setUp(self):
        self.up.reset()
        self.log_off = self.g.log_size()
        self.t0 = time.monotonic()

    # ---- helpers

    def conn(self, timeout=10.0):
        c = HttpConn("127.0.0.1", self.g.port, timeout)
        self.addCleanup(c.close)
        return c

    def send_req(self, c, method="GET", path=RAW_FILE):
        c.request(method, path, [
            ("Host", RAW), ("User-Agent", "ghp-integration"),
            ("Authorization", "token " + self.tok)])

    def get(self, c=None, method="GET", path=RAW_FILE):
        """One request for a raw file (on c, else a connection of its
        own); the response."""
        c = c or self.conn()
        self.send_req(c, method, path)
        return c.read_response(method)

    def assertOk(self, r, body=b"ok"):
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, body)

    def assertUpstream(self, accepted, requests):
        """The scripted server accepted that many connections and read
        that many requests."""
        acc, reqs, _ = self.up.snapshot()
        self.assertEqual((acc, len(reqs)), (accepted, requests),
                         "connections accepted, requests read: %r" %
                         [(n, h[:80]) for n, h in reqs])
        return reqs

    def log_has(self, text, timeout=3.0):
        """ghp's log since the test began says text (it may be written
        a moment after the answer)."""
        deadline = time.monotonic() + timeout
        while True:
            log = self.g.log_since(self.log_off)
            if text in log:
                return log
            if time.monotonic() > deadline:
                self.fail("ghp's log does not say %r:\n%s" % (text, log))
            time.sleep(0.02)

    def assertBad(self, answer, reason, *more):
        """The upstream's answer (bytes, or a step) is refused: the
        client gets a 502 in GitHub's shape with nothing of the answer
        (MARK nowhere, no header of it), the log names reason, ghp
        closes the upstream connection, and the next request works."""
        self.up.script(answer if callable(answer) else send(answer), *more)
        c = self.conn()
        r = self.get(c)
        self.assertGitHubError(r, 502, "GitHub could not be reached")
        self.assertNotIn(MARK, r.raw + r.body)
        self.assertNotIn(MARK.lower(), r.raw.lower())
        self.assertNotIn("x-scripted", r.headers)
        self.log_has("bad answer: " + reason)
        self.assertTrue(self.up.wait_eof(0), "ghp kept the connection that "
                        "brought a bad answer")
        self.assertOk(self.get())
        self.assertUpstream(2, 2)
        self.assertLess(time.monotonic() - self.t0, UPSTREAM_TIMEOUT,
                        "the bad answer was found out only by the "
                        "upstream timeout")

    def assertBrokenOff(self, c, why):
        """The client connection ends without a complete answer; the
        log says the upstream broke off (why)."""
        with self.assertRaises((ConnectionClosed, ConnectionResetError),
                               msg="a broken answer arrived complete"):
            c.read_response()
        self.log_has("upstream broke off: " + why)

    # ---- framing

    def test_content_length_answer_passes_byte_for_byte(self):
        """A 200 with Content-Length: the client's head is the status
        line (ghp writes its own reason phrase) and the upstream's header
        lines in their order, each byte as sent (odd case, spacing, an
        empty value, repeats), less the hop-by-hop ones (Connection,
        Keep-Alive, Upgrade: first, in the middle, last); the body is
        the same bytes (all 256 byte values).  The request that reached
        the upstream carries alice's credential, the upstream's own
        Host and the path asked for, and no ghx_ token."""
        body = bytes(range(256)) * 40
        kept = [b"Content-Type: application/octet-stream",
                b'ETag: "abc123"',
                b"x-lower-case:value-without-space",
                b"X-Spaced:   a, b;c=d  e \t ",
                b"X-Empty:",
                b"Set-Cookie: a=1", b"Set-Cookie: b=2",
                b"Content-Length: %d" % len(body)]
        lines = [b"Connection: keep-alive"] + kept[:3] + \
            [b"Keep-Alive: timeout=5"] + kept[3:] + [b"Upgrade: h2c"]
        self.up.script(send(b"HTTP/1.1 200 OK\r\n" +
                            b"".join(l + b"\r\n" for l in lines) +
                            b"\r\n" + body))
        c = self.conn()
        r = self.get(c)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.raw.split(b"\r\n"),
                         [b"HTTP/1.1 200 OK"] + kept)
        self.assertEqual(r.body, body)
        reqs = self.assertUpstream(1, 1)
        head = reqs[0][1].decode("latin-1")
        self.assertTrue(head.startswith("GET %s HTTP/1.1\r\n" % RAW_FILE),
                        head)
        lines = head.split("\r\n")
        self.assertIn("Host: 127.0.0.1:%d" % self.up.port, lines)
        self.assertIn("Authorization: token " + CRED_ALICE, lines)
        self.assertNotIn("ghx_", head)
        self.assertNotIn(RAW, head)

    def test_chunked_answer_reaches_client_whole(self):
        """A chunked answer (chunks of several sizes, one with an
        extension, a trailer, sent in pieces that cut through the
        framing) reaches the client as one body, chunked again and
        correctly framed (the next answer on the same client connection
        parses); the upstream connection is reused after it."""
        body = b"".join(bytes([65 + i]) * n for i, n in
                        enumerate((1, 10, 4096, 70000, 3)))
        wire = b""
        for i, n in enumerate((1, 10, 4096, 70000, 3)):
            part = body[sum((1, 10, 4096, 70000, 3)[:i]):][:n]
            wire += b"%x%s\r\n" % (n, b";ext=1" if i == 2 else b"") + \
                part + b"\r\n"
        wire += b"0\r\nX-Trailer: t\r\n\r\n"
        head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n")
        cut = [head + wire[:3], wire[3:4100], wire[4100:4101],
               wire[4101:]]
        self.up.script(send(*cut, delay=0.02))
        c = self.conn()
        r = self.get(c)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("transfer-encoding"), "chunked")
        self.assertNotIn("content-length", r.headers)
        self.assertEqual(len(r.body), len(body))
        self.assertEqual(r.body, body)
        self.assertOk(self.get(c))
        self.assertUpstream(1, 2)

    def test_close_delimited_answer_reaches_client_whole(self):
        """An answer with neither Content-Length nor chunked coding ends
        with the connection: the client gets all of it (chunked, as it
        speaks HTTP/1.1), and the next request goes on a new upstream
        connection."""
        body = b"0123456789abcdef" * 8192          # 128 KiB
        self.up.script(send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain"
                            b"\r\n\r\n" + body[:1000], body[1000:],
                            delay=0.02, close=True))
        c = self.conn()
        r = self.get(c)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("transfer-encoding"), "chunked")
        self.assertEqual(len(r.body), len(body))
        self.assertEqual(r.body, body)
        self.assertOk(self.get(c))
        reqs = self.assertUpstream(2, 2)
        self.assertEqual([n for n, _ in reqs], [0, 1])

    def test_interim_answers_are_not_passed(self):
        """100 Continue and 103 Early Hints before the final answer are
        skipped (in one write with the final answer, and in writes of
        their own); the client sees only the final 200, without the
        103's Link header, and the connection stays usable."""
        interim = (b"HTTP/1.1 100 Continue\r\n\r\n",
                   b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; "
                   b"rel=preload\r\nX-Scripted: 103\r\n\r\n")
        final = ok(b"final", [("X-Final", "yes")])
        self.up.script(send(b"".join(interim) + final),
                       send(interim[0], interim[1], final, delay=0.05),
                       send(interim[0] + interim[1][:20], interim[1][20:] +
                            final[:10], final[10:], delay=0.05))
        c = self.conn()
        for i in range(3):
            with self.subTest(i=i):
                r = self.get(c)
                self.assertOk(r, b"final")
                self.assertEqual(r.interim, [])
                self.assertNotIn(b" 100 ", r.raw)
                self.assertNotIn(b" 103 ", r.raw)
                self.assertNotIn("link", r.headers)
                self.assertNotIn("x-scripted", r.headers)
                self.assertEqual(r.headers.get("x-final"), "yes")
        self.assertUpstream(1, 3)

    # ---- bad heads: 502

    def test_101_is_502(self):
        """101 Switching Protocols to a GET ghp did not ask to upgrade."""
        self.assertBad(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: "
                       b"websocket\r\nConnection: Upgrade\r\nX-Scripted: " +
                       MARK + b"\r\n\r\n" + MARK, "101")

    def test_bad_status_line_is_502(self):
        """A status line that is not HTTP/1.x SP three digits."""
        self.assertBad(b"HTTP/1.1 2000 OK\r\nX-Scripted: 1\r\n"
                       b"Content-Length: 13\r\n\r\n" + MARK, "bad status")

    def test_two_content_lengths_are_502(self):
        """Two Content-Length fields (even equal ones)."""
        self.assertBad(b"HTTP/1.1 200 OK\r\nX-Scripted: 1\r\nContent-Length:"
                       b" 13\r\nContent-Length: 13\r\n\r\n" + MARK,
                       "two Content-Length")

    def test_content_length_with_transfer_encoding_is_502(self):
        """Content-Length and Transfer-Encoding: chunked together."""
        self.assertBad(b"HTTP/1.1 200 OK\r\nX-Scripted: 1\r\nContent-Length:"
                       b" 18\r\nTransfer-Encoding: chunked\r\n\r\nd\r\n" +
                       MARK + b"\r\n0\r\n\r\n",
                       "both Content-Length and Transfer-Encoding")

    def test_other_transfer_encoding_is_502(self):
        """Transfer-Encoding: gzip, chunked (anything but chunked)."""
        self.assertBad(b"HTTP/1.1 200 OK\r\nX-Scripted: 1\r\nTransfer-"
                       b"Encoding: gzip, chunked\r\n\r\nd\r\n" + MARK +
                       b"\r\n0\r\n\r\n",
                       "Transfer-Encoding other than chunked")

    def test_folded_header_is_502(self):
        """An obs-fold continuation line."""
        self.assertBad(b"HTTP/1.1 200 OK\r\nX-Scripted: one\r\n  " + MARK +
                       b"\r\nContent-Length: 13\r\n\r\n" + MARK,
                       "folded header line")

    def test_bare_lf_is_502(self):
        """A header line ended by LF alone inside a CRLF head."""
        self.assertBad(b"HTTP/1.1 200 OK\r\nX-Scripted: 1\nX-Mark: " + MARK +
                       b"\r\nContent-Length: 13\r\n\r\n" + MARK,
                       "bare LF")

    def test_lf_only_head_is_502(self):
        """A head whose every line ends in LF alone (the upstream then
        keeps the connection open): a bare LF is a 502 by http.h's
        contract, so the client should have it at once, not the 504 of
        the upstream timeout for an answer that did come."""
        self.assertBad(b"HTTP/1.1 200 OK\nX-Scripted: 1\nContent-Length:"
                       b" 13\n\n" + MARK, "bare LF")

    def test_head_over_64k_is_502(self):
        """A head that reaches 64 KiB without its end (the upstream then
        keeps the connection open and sends nothing more): refused as
        soon as it is too long, not after the upstream timeout."""
        line = b"X-Scripted: " + MARK + b"x" * 1000 + b"\r\n"
        self.assertBad(b"HTTP/1.1 200 OK\r\n" + line * 70,
                       "response head too long")

    def test_head_limit_is_64k(self):
        """A head of exactly 64 KiB, its empty line included, passes
        whole; one byte more is a 502."""
        line = b"X-Pad: " + b"y" * 990 + b"\r\n"
        tail = b"Content-Length: 2\r\n\r\n"
        fill = 65536 - len(b"HTTP/1.1 200 OK\r\n" + line * 65 + tail) - \
            len(b"X-Last: \r\n")
        head = b"HTTP/1.1 200 OK\r\n" + line * 65 + b"X-Last: " + \
            b"z" * fill + b"\r\n" + tail
        self.assertEqual(len(head), 65536)
        self.up.script(send(head + b"ok"))
        r = self.get()
        self.assertOk(r)
        self.assertEqual(r.raw + b"\r\n\r\n", head)
        self.up.reset()
        self.assertBad(head.replace(b"X-Last: ", b"X-Last: z"),
                       "response head too long")

    # ---- bodies that break off

    def test_truncated_body_ends_the_client_connection(self):
        """Content-Length 10000, 100 bytes, then the upstream closes (and
        the same in the middle of a chunked body): the client cannot
        take what came for the whole (its connection ends), and the
        next request works."""
        for n, cut in enumerate((
                b"Content-Length: 10000\r\n\r\n" + b"x" * 100,
                b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
                b"100\r\nabc")):
            with self.subTest(n=n):
                self.up.reset()
                self.log_off = self.g.log_size()
                self.up.script(send(b"HTTP/1.1 200 OK\r\n" + cut,
                                    close=True))
                c = self.conn()
                self.send_req(c)
                self.assertBrokenOff(c, "the upstream closed the "
                                     "connection in the middle of its "
                                     "answer")
                self.assertOk(self.get())
                self.assertUpstream(2, 2)

    def test_bad_chunked_framing_ends_the_client_connection(self):
        """A good head and chunk, then a chunk size that is not hex (the
        upstream keeps the connection open): the client's connection
        ends without a complete answer, at once, not after the upstream
        timeout; ghp closes the upstream connection."""
        self.up.script(send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
                            b"\r\n\r\n5\r\nhello\r\n", b"zz\r\n" + MARK +
                            b"\r\n0\r\n\r\n", delay=0.05))
        c = self.conn()
        self.send_req(c)
        self.assertBrokenOff(c, "bad chunked answer")
        self.assertLess(time.monotonic() - self.t0, UPSTREAM_TIMEOUT)
        self.assertTrue(self.up.wait_eof(0))
        self.assertOk(self.get())
        self.assertUpstream(2, 2)

    # ---- keep-alive

    def test_keep_alive_reuses_one_connection(self):
        """Three requests in a row (each on a client connection of its
        own) go over one upstream connection."""
        for i in range(3):
            self.up.script(send(ok(b"answer %d" % i)))
        for i in range(3):
            self.assertOk(self.get(), b"answer %d" % i)
        reqs = self.assertUpstream(1, 3)
        self.assertEqual([n for n, _ in reqs], [0, 0, 0])
        self.assertEqual(self.up.snapshot()[2], set(), "ghp closed the "
                         "kept-alive connection")

    def test_connection_close_is_not_reused(self):
        """`Connection: close` in an answer (the upstream leaves the
        connection open all the same), and an HTTP/1.0 answer without
        keep-alive: ghp closes that connection itself, the next request
        opens a new one and succeeds."""
        self.up.script(send(b"HTTP/1.1 200 OK\r\nConnection: close\r\n"
                            b"Content-Length: 2\r\n\r\nok"),
                       send(ok(b"second")),
                       send(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n"
                            b"\r\nok"),
                       send(ok(b"fourth")))
        c = self.conn()
        r = self.get(c)
        self.assertOk(r)
        self.assertNotIn("connection", r.headers)
        self.assertTrue(self.up.wait_eof(0), "ghp kept a connection "
                        "the upstream said it would close")
        self.assertOk(self.get(c), b"second")
        self.assertOk(self.get(c))
        self.assertTrue(self.up.wait_eof(1), "ghp kept an HTTP/1.0 "
                        "connection without keep-alive")
        self.assertOk(self.get(c), b"fourth")
        reqs = self.assertUpstream(3, 4)
        self.assertEqual([n for n, _ in reqs], [0, 1, 1, 2])

    def test_junk_after_answer_is_not_reused(self):
        """Bytes after a complete answer, in the same write or a moment
        later while the connection is idle: the connection is not used
        again, the junk reaches no client, and the next request
        succeeds on a new connection."""
        self.up.script(send(ok(b"first") + b"JUNK" + MARK),
                       send(ok(b"second"), b"JUNK" + MARK, delay=0.1),
                       send(ok(b"third")))
        c = self.conn()
        r = self.get(c)
        self.assertOk(r, b"first")
        self.assertTrue(self.up.wait_eof(0), "ghp kept a connection with "
                        "junk after its answer")
        r = self.get(c)
        self.assertOk(r, b"second")
        self.assertTrue(self.up.wait_eof(1), "ghp kept a connection that "
                        "sent junk while idle")
        r = self.get(c)
        self.assertOk(r, b"third")
        self.assertFalse(c.buf, "bytes after the answer on the client "
                         "connection")
        reqs = self.assertUpstream(3, 3)
        self.assertEqual([n for n, _ in reqs], [0, 1, 2])

    def test_idle_connection_closed_by_upstream(self):
        """The upstream closes a kept-alive connection while it is idle
        in ghp's pool, and the next request comes a moment later, or at
        once (the close and the reuse may then cross): it succeeds on a
        new connection, and the client sees no error."""
        self.assertOk(self.get())
        for i, pause in enumerate((0.2, 0.0, 0.0)):
            with self.subTest(pause=pause):
                self.up.close_all()
                time.sleep(pause)
                self.assertOk(self.get())
                acc, reqs, _ = self.up.snapshot()
                self.assertEqual(acc, i + 2)
                self.assertEqual(reqs[-1][0], i + 1)
        self.assertNotIn("upstream", self.g.log_since(self.log_off))

    def test_reused_connection_closed_after_request_is_retried_once(self):
        """The upstream reads a GET on a reused connection and closes it
        without answering (with a FIN, or a reset): ghp sends the GET
        again once, on a new connection, and the client gets its 200
        (the upstream read the request twice).  When the upstream does
        the same on that new connection too, the client gets a 502."""
        for how, step in (("close", hangup), ("reset", reset)):
            with self.subTest(how=how):
                self.up.reset()
                self.log_off = self.g.log_size()
                self.up.script(send(ok(b"first")), step(),
                               send(ok(b"again")))
                c = self.conn()
                self.assertOk(self.get(c), b"first")
                self.assertOk(self.get(c), b"again")
                reqs = self.assertUpstream(2, 3)
                self.assertEqual([n for n, _ in reqs], [0, 0, 1])
                self.assertEqual(reqs[1][1], reqs[2][1])

                self.up.script(step(), step())
                r = self.get(c)
                self.assertGitHubError(r, 502, "GitHub could not be "
                                       "reached")
                reqs = self.assertUpstream(3, 5)
                self.assertEqual([n for n, _ in reqs][3:], [1, 2])
                self.assertEqual(reqs[3][1], reqs[4][1])
                self.log_has("closed the connection before its answer")
                self.assertOk(self.get())

    def test_trickled_answer_arrives_whole(self):
        """Head and body one byte at a time, 2 ms apart: the answer
        arrives whole and the connection is reused after it."""
        ans = ok(b"trickled body, one byte at a time",
                 [("Content-Type", "text/plain"), ("X-A", "b")])
        self.up.script(trickle(ans, 0.002))
        c = self.conn()
        r = self.get(c)
        self.assertOk(r, b"trickled body, one byte at a time")
        self.assertEqual(r.headers.get("x-a"), "b")
        self.assertOk(self.get(c))
        self.assertUpstream(1, 2)

    # ---- answers without a body

    def test_head_answer_has_no_body(self):
        """HEAD: the answer's Content-Length (1234) is passed, ghp waits
        for no body and sends none (the next answer on the client
        connection parses), and the upstream connection is reused."""
        self.up.script(send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain"
                            b"\r\nContent-Length: 1234\r\n\r\n"))
        c = self.conn()
        r = self.get(c, "HEAD")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("content-length"), "1234")
        self.assertNotIn("transfer-encoding", r.headers)
        self.assertOk(self.get(c))
        reqs = self.assertUpstream(1, 2)
        self.assertTrue(reqs[0][1].startswith(b"HEAD %s " %
                                              RAW_FILE.encode()))
        self.assertLess(time.monotonic() - self.t0, UPSTREAM_TIMEOUT)

    def test_204_and_304_without_body(self):
        """204 and 304 (with a Content-Length the 304 does not send) are
        passed without a body or chunked framing, and the upstream
        connection stays usable."""
        self.up.script(send(b"HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n"),
                       send(b"HTTP/1.1 304 Not Modified\r\nETag: \"e\"\r\n"
                            b"Content-Length: 50\r\n\r\n"))
        c = self.conn()
        r = self.get(c)
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.raw, b"HTTP/1.1 204 No Content\r\nX-A: 1")
        r = self.get(c)
        self.assertEqual(r.status, 304, r)
        self.assertEqual(r.headers.get("etag"), '"e"')
        self.assertNotIn("transfer-encoding", r.headers)
        self.assertOk(self.get(c))
        self.assertFalse(c.buf)
        self.assertUpstream(1, 3)
        self.assertLess(time.monotonic() - self.t0, UPSTREAM_TIMEOUT)

    # ---- silence

    def test_silent_upstream_is_504(self):
        """The upstream reads the request and never answers: after
        `upstream timeout` (2 s) the client gets a 504 in GitHub's
        shape, and ghp closes the upstream connection."""
        self.up.script(hold())
        c = self.conn()
        t0 = time.monotonic()
        r = self.get(c)
        took = time.monotonic() - t0
        self.assertGitHubError(r, 504, "GitHub did not answer in time")
        self.assertGreater(took, UPSTREAM_TIMEOUT - 0.5)
        self.assertLess(took, UPSTREAM_TIMEOUT + 3)
        self.assertTrue(self.up.wait_eof(0))
        self.log_has("nothing from the upstream for %d s" % UPSTREAM_TIMEOUT)
        self.assertOk(self.get())

    def test_silence_mid_body_ends_the_client_connection(self):
        """The head and part of the body come, then nothing: after
        `upstream timeout` the client's connection ends, so that the
        part cannot pass for the whole (ghp.conf(5)), and ghp closes the
        upstream connection."""
        self.up.script(send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n"
                            b"\r\nabc"))
        c = self.conn()
        t0 = time.monotonic()
        self.send_req(c)
        self.assertBrokenOff(c, "nothing from the upstream for %d s" %
                             UPSTREAM_TIMEOUT)
        self.assertGreater(time.monotonic() - t0, UPSTREAM_TIMEOUT - 0.5)
        self.assertTrue(self.up.wait_eof(0))
        self.assertOk(self.get())


if __name__ == "__main__":
    unittest.main()
