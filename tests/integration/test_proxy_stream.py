"""
test_proxy_stream.py: ghp forwards bodies as streams, both ways, with
back-pressure, and copes with slow or broken peers.

  - 1 GiB down and 1 GiB up, with Content-Length and chunked, the data
    checked with a running hash (never held in memory here), the
    worker's memory sampled during the transfer;
  - a client that reads slowly, an upstream that writes slowly, an
    upstream that reads an upload slowly: the answer arrives whole and
    the worker's memory stays bounded;
  - the timeouts of ghp.conf(5): upstream (504 in GitHub's shape, or a
    closed connection once an answer has begun), send (a client that
    stops reading is dropped, the worker carries on), body (a client
    that stalls mid-body is dropped, GitHub gets no complete request),
    header (a head trickled a byte at a time gets 408 or a close), and
    what they must not catch: a client waiting on a slow GitHub once
    its request is in, a client pausing longer than the upstream
    timeout while GitHub is alive.

Every daemon has one worker (workers 1), so the worker that serves a
request is known (`ghpctl status`), and the fake GitHub runs as a
subprocess (upstream="process"), so that it and this test do not share
one GIL during bulk transfers.

GHP_STREAM_FIGURES=1 prints, on stderr, the time and the worker's RSS
(before / peak) of each transfer.

Run with tests/integration/run_all.py (or python3 -m unittest from this
directory).
"""

import concurrent.futures
import functools
import hashlib
import json
import os
import select
import socket
import sys
import threading
import time
import unittest

from harness import HttpConn, IS_ROOT, NEED_ROOT, SANITIZED, RssWatch, \
    build_request, proc_status, status_kb
from proxy_case import ProxyCase, start_proxy

from fake_github import iter_pattern, pattern, pattern_sha256

MiB = 1 << 20
GiB = 1 << 30

# How much a worker's resident memory may grow while it forwards one
# request, whatever the body's size.  The issue bounds what one request
# may hold at about 1 MiB.  On top of that come libcurl's and libevent's
# own buffers, memory glibc's allocator keeps after a free, and pages of
# code and libraries the worker had not touched before; the kernel's
# socket buffers are not in RSS.  All of that is a few MiB at most (a
# worker that streams grows by under 1 MiB here).  32 MiB leaves room
# for a noisy machine and an allocator's whims, yet is far below what
# forwarding without back-pressure holds in these tests: the producer
# there outruns the consumer by hundreds of MiB (1 GiB at loopback
# speed, a 128 MiB answer to a client that reads slowly, a 128 MiB
# upload to a GitHub that does not read for 2 s), so buffering even a
# quarter of it would break the bound.
RSS_GROWTH_LIMIT_KB = 32 * 1024

REPO_PATH = "/repos/acme/widgets"
BYTES_PATH = REPO_PATH + "/contents/__fake/bytes/%d"
UPLOAD_PATH = REPO_PATH + "/contents/__fake/upload"

FIGURES = bool(os.environ.get("GHP_STREAM_FIGURES"))

# The timeout tests set each timeout to 2 s.  What ghp does on it must
# come no earlier than EARLY (not before the peer had its time) and no
# later than LATE: the timeout plus 4 s for a busy machine.  A daemon
# that keeps its word acts at about 2.0 s; one that waits two or three
# times its timeout does not do what ghp.conf(5) says.
TIMEOUT_S = 2
EARLY_S = 1.0
LATE_S = TIMEOUT_S + 4.0


def figure(what, **kw):
    if FIGURES:
        sys.stderr.write("\n  [figures] %s: %s\n" % (what, ", ".join(
            "%s=%s" % kv for kv in kw.items())))


@functools.lru_cache(maxsize=None)
def expected_sha256(n):
    """sha256 of the fake's first n pattern bytes (computed once)."""
    return pattern_sha256(n)


# ------------------------------------------------------------ memory


# ------------------------------------------------------------ clients


class SmallWindowConn(HttpConn):
    """An HttpConn whose receive buffer is fixed small before it
    connects (no autotuning up to tcp_rmem's 32 MiB), so that a client
    that stops reading is felt by ghp at once rather than after the
    kernel has soaked up tens of MiB."""

    def __init__(self, host, port, rcvbuf=65536, timeout=30.0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.buf = b""


class PatternCheck:
    """A sink that hashes what it is given and counts it."""

    def __init__(self):
        self.sha = hashlib.sha256()
        self.count = 0
        self.first_at = None
        self.last_at = None

    def __call__(self, data):
        now = time.monotonic()
        if self.first_at is None and data:
            self.first_at = now
        self.last_at = now
        self.sha.update(data)
        self.count += len(data)

    def hexdigest(self):
        return self.sha.hexdigest()


class SlowReader(PatternCheck):
    """A PatternCheck that reads like a slow client: a short sleep
    after every `every` bytes, and a longer pause once the count passes
    each offset in pauses ({offset: seconds})."""

    def __init__(self, every=MiB, sleep=0.01, pauses=None):
        PatternCheck.__init__(self)
        self.every = every
        self.sleep = sleep
        self.pauses = sorted((pauses or {}).items())
        self._next = every
        self.paused = 0.0

    def __call__(self, data):
        PatternCheck.__call__(self, data)
        while self.count >= self._next:
            self._next += self.every
            time.sleep(self.sleep)
        while self.pauses and self.count >= self.pauses[0][0]:
            _, secs = self.pauses.pop(0)
            time.sleep(secs)
            self.paused += secs


def wait_closed(sock, timeout):
    """Read until the peer closes (EOF or reset) or timeout passes.
    Returns (closed, data, seconds)."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    data = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False, data, time.monotonic() - t0
        sock.settimeout(left)
        try:
            b = sock.recv(65536)
        except socket.timeout:
            return False, data, time.monotonic() - t0
        except (ConnectionResetError, BrokenPipeError):
            return True, data, time.monotonic() - t0
        if not b:
            return True, data, time.monotonic() - t0
        data += b


def send_pattern(sock, n, chunked, piece=MiB):
    """n pattern bytes, raw or as chunks of `piece` (then the last
    chunk)."""
    for p in iter_pattern(n, piece):
        if chunked:
            sock.sendall(b"%x\r\n" % len(p))
            sock.sendall(p)
            sock.sendall(b"\r\n")
        else:
            sock.sendall(p)
    if chunked:
        sock.sendall(b"0\r\n\r\n")


# ------------------------------------------------------------ base


@unittest.skipUnless(IS_ROOT, NEED_ROOT)
class StreamCase(ProxyCase):
    """One daemon per class, one worker, the fake in a subprocess; a
    token that may read and write acme/widgets' contents."""

    extra = ""

    @classmethod
    def setUpClass(cls):
        cls.g = start_proxy(cls, workers=1, upstream="process",
                            extra=cls.extra)
        cls.tok, _ = cls.g.new_token("alice", "acme/widgets",
                                     "contents:write")
        cls.worker = cls.g.worker_pids()[0]
        # Warm the worker up (its upstream handle, its first upload)
        # so that the memory baseline of the first test is not lower
        # than that of the others.
        r = cls.g.api("GET", BYTES_PATH % MiB, cls.tok)
        assert r.status == 200 and r.body == pattern(MiB), r
        r = cls.g.api("PUT", UPLOAD_PATH, cls.tok, body=pattern(MiB))
        assert r.status == 200, r
        cls.rss_start = status_kb(cls.worker, "VmRSS")

    def setUp(self):
        self.g.fake.clear_faults()
        self.g.fake.clear()

    def hdrs(self, *more):
        return [("Host", "api.github.com"),
                ("User-Agent", "ghp-integration"),
                ("Authorization", "token " + self.tok)] + list(more)

    def assertWorkerHealthy(self):
        """The same worker is running (not crashed, not replaced) and
        answers a request."""
        self.assertEqual(self.g.worker_pids(), [self.worker],
                         "the worker was replaced\n" + self.g.log_tail())
        r = self.g.api("GET", REPO_PATH, self.tok)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(json.loads(r.body)["full_name"], "acme/widgets")

    def assertRssBounded(self, watch, what):
        self.assertGreaterEqual(len(watch.samples), 3,
                                "%s: too few RSS samples: %s" % (what, watch))
        if SANITIZED:
            return      # ASan's quarantine holds freed memory on purpose
        self.assertLess(watch.growth(), RSS_GROWTH_LIMIT_KB,
                        "%s: the worker's memory grew by %d kB: %s" %
                        (what, watch.growth(), watch))

    def upload(self, n, chunked, timeout=60.0, conn=None):
        """PUT n pattern bytes to the fake's upload helper; returns the
        answer.  A send that fails shows ghp's answer if there is one."""
        framing = ("Transfer-Encoding", "chunked") if chunked else \
            ("Content-Length", str(n))
        c = conn or self.g.conn(timeout=timeout)
        with c:
            c.send(build_request("PUT", UPLOAD_PATH, self.hdrs(
                ("Content-Type", "application/octet-stream"), framing,
                ("Connection", "close"))))
            try:
                send_pattern(c.sock, n, chunked)
            except OSError as e:
                try:
                    r = c.read_response()
                except (OSError, EOFError, ValueError):
                    r = None
                self.fail("sending the body failed (%s); ghp answered %r"
                          % (e, r))
            return c.read_response()

    def assertUploaded(self, r, n):
        self.assertEqual(r.status, 200, r)
        self.assertEqual(json.loads(r.body),
                         {"bytes": n, "sha256": expected_sha256(n)})
        recs = [x for x in self.forwarded(self.g)
                if x["path"] == UPLOAD_PATH]
        self.assertEqual(len(recs), 1, recs)
        self.assertEqual(recs[0]["body_length"], n)
        self.assertIsNone(recs[0]["error"])


# ------------------------------------------------------------ bulk


class BulkStreamTest(StreamCase):
    """Default timeouts: 1 GiB each way, and slow peers that make ghp
    hold the faster side back."""

    def download(self, n, chunked, sink):
        path = BYTES_PATH % n + ("?chunked=1" if chunked else "")
        return self.g.api("GET", path, self.tok, sink=sink, timeout=60)

    def check_download_1gib(self, chunked):
        check = PatternCheck()
        t0 = time.monotonic()
        with RssWatch(self.worker, self.rss_start) as watch:
            r = self.download(GiB, chunked, check)
        took = time.monotonic() - t0
        figure("download 1 GiB " + ("chunked" if chunked else
                                    "Content-Length"),
               seconds="%.1f" % took, rss=watch)
        self.assertEqual(r.status, 200, r)
        if chunked:
            self.assertEqual(r.headers.get("transfer-encoding"), "chunked",
                             r.headers)
        else:
            self.assertEqual(r.headers.get("content-length"), str(GiB),
                             r.headers)
        self.assertEqual(check.count, GiB)
        self.assertEqual(check.hexdigest(), expected_sha256(GiB))
        self.assertRssBounded(watch, "1 GiB download")

    def check_upload_1gib(self, chunked):
        t0 = time.monotonic()
        with RssWatch(self.worker, self.rss_start) as watch:
            r = self.upload(GiB, chunked, timeout=120)
        took = time.monotonic() - t0
        figure("upload 1 GiB " + ("chunked" if chunked else
                                  "Content-Length"),
               seconds="%.1f" % took, rss=watch)
        self.assertUploaded(r, GiB)
        self.assertRssBounded(watch, "1 GiB upload")

    def test_download_1gib_content_length(self):
        self.check_download_1gib(chunked=False)

    def test_download_1gib_chunked(self):
        self.check_download_1gib(chunked=True)

    def test_upload_1gib_content_length(self):
        self.check_upload_1gib(chunked=False)

    def test_upload_1gib_chunked(self):
        self.check_upload_1gib(chunked=True)

    def test_slow_client_gets_the_whole_answer_memory_bounded(self):
        """128 MiB to a client with a 64 KiB window that sleeps 10 ms a
        MiB and pauses three times for 0.6 s: GitHub is far faster, so
        ghp must hold it back rather than buffer the difference."""
        n = 128 * MiB
        reader = SlowReader(every=MiB, sleep=0.01,
                            pauses={16 * MiB: 0.6, 48 * MiB: 0.6,
                                    96 * MiB: 0.6})
        t0 = time.monotonic()
        with RssWatch(self.worker, self.rss_start) as watch:
            with SmallWindowConn("127.0.0.1", self.g.port) as c:
                c.request("GET", BYTES_PATH % n, self.hdrs(
                    ("Connection", "close")))
                r = c.read_response(sink=reader)
        figure("slow client 128 MiB", seconds="%.1f" %
               (time.monotonic() - t0), rss=watch)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(reader.count, n)
        self.assertEqual(reader.hexdigest(), expected_sha256(n))
        self.assertRssBounded(watch, "slow client")

    def test_upload_to_a_slow_upstream_memory_bounded(self):
        """GitHub reads nothing of a 128 MiB upload for 2 s (a delay
        fault holds its reading back): the client, far faster, must be
        held back, and the whole body arrive."""
        n = 128 * MiB
        self.g.fake.set_fault(1, "delay", match=UPLOAD_PATH, delay_ms=2000)
        t0 = time.monotonic()
        with RssWatch(self.worker, self.rss_start) as watch:
            r = self.upload(n, chunked=False)
        figure("upload 128 MiB to an upstream that waits 2 s",
               seconds="%.1f" % (time.monotonic() - t0), rss=watch)
        self.assertUploaded(r, n)
        self.assertEqual(self.g.fake.requests()[0]["fault"], "delay")
        self.assertRssBounded(watch, "upload to a slow upstream")


# ------------------------------------------------------------ timeouts


class TimeoutTest(StreamCase):
    """header, body, send and upstream timeout 2: peers that stall."""

    extra = ("header timeout 2\nbody timeout 2\nsend timeout 2\n"
             "upstream timeout 2\n")

    def test_upstream_hang_gives_504_promptly(self):
        self.g.fake.set_fault(1, "hang", match=REPO_PATH)
        t0 = time.monotonic()
        r = self.g.api("GET", REPO_PATH, self.tok, timeout=30)
        took = time.monotonic() - t0
        self.assertGitHubError(r, 504)
        self.assertGreaterEqual(took, EARLY_S, "504 before the upstream "
                                "timeout (2 s) could have passed")
        self.assertLess(took, LATE_S, "504 came %.1fs after the request, "
                        "with upstream timeout 2" % took)
        self.assertWorkerHealthy()

    def test_upstream_closing_gives_502(self):
        """Twice, so that a retry by libcurl on a new connection fails
        too."""
        self.g.fake.set_fault(2, "close", match=REPO_PATH)
        r = self.g.api("GET", REPO_PATH, self.tok)
        self.assertGitHubError(r, 502)
        self.g.fake.clear_faults()
        self.assertWorkerHealthy()

    def test_upstream_hang_after_the_head_closes_the_client(self):
        """GitHub sends the head and 64 KiB of a 1 MiB body, then
        nothing for 30 s: within about the upstream timeout the client's
        connection ends, and what it got cannot pass for a whole
        answer."""
        for chunked in (False, True):
            with self.subTest(chunked=chunked):
                path = BYTES_PATH % MiB + "?chunk=65536&delay_ms=30000" + \
                    ("&chunked=1" if chunked else "")
                check = PatternCheck()
                t0 = time.monotonic()
                with self.g.conn(timeout=20) as c:
                    c.request("GET", path, self.hdrs())
                    try:
                        r = c.read_response(sink=check)
                        self.fail("a broken-off answer arrived as complete"
                                  " (%d of %d bytes): %r" %
                                  (check.count, MiB, r))
                    except (EOFError, ConnectionResetError):
                        pass
                    except socket.timeout:
                        self.fail("the client's connection was still open "
                                  "20 s after GitHub went silent "
                                  "(upstream timeout 2), %d bytes in" %
                                  check.count)
                took = time.monotonic() - t0
                self.assertLess(check.count, MiB)
                self.assertGreaterEqual(took, EARLY_S)
                self.assertLess(took, LATE_S, "closed %.1fs after GitHub "
                                "went silent (upstream timeout 2)" % took)
        self.assertWorkerHealthy()

    def test_send_timeout_drops_a_client_that_stops_reading(self):
        """A client takes 1 MiB of a 256 MiB answer, then nothing for
        LATE_S (send timeout 2): ghp drops it.  Reading again, the
        client gets what the kernel had buffered, then the end: never
        the whole answer (which it would read in a moment, were the
        connection still open).  The worker stays healthy."""
        n = 256 * MiB
        with SmallWindowConn("127.0.0.1", self.g.port, timeout=20) as c:
            c.request("GET", BYTES_PATH % n, self.hdrs(
                ("Connection", "close")))
            while b"\r\n\r\n" not in c.buf:
                c._fill()
            head, _, rest = c.buf.partition(b"\r\n\r\n")
            self.assertTrue(head.startswith(b"HTTP/1.1 200 "), head[:200])
            got = len(rest)
            while got < MiB:
                b = c.sock.recv(65536)
                self.assertTrue(b, "closed before the client stopped")
                got += len(b)
            time.sleep(LATE_S)
            closed, data, took = wait_closed(c.sock, 20)
            got += len(data)
        self.assertTrue(closed, "the connection was still open 20 s "
                        "after the client read again")
        self.assertLess(got, n, "the whole answer reached a client that "
                        "read nothing for %.0f s (send timeout 2)" % LATE_S)
        self.assertWorkerHealthy()

    def check_body_stall(self, chunked):
        n = 8 * MiB
        framing = ("Transfer-Encoding", "chunked") if chunked else \
            ("Content-Length", str(n))
        with self.g.conn(timeout=20) as c:
            c.send(build_request("PUT", UPLOAD_PATH, self.hdrs(
                ("Content-Type", "application/octet-stream"), framing)))
            first = pattern(MiB)
            c.send(b"%x\r\n%s\r\n" % (MiB, first) if chunked else first)
            closed, data, took = wait_closed(c.sock, 20)
        self.assertTrue(closed, "still open 20 s after the client fell "
                        "silent mid-body (body timeout 2)")
        self.assertGreaterEqual(took, EARLY_S)
        self.assertLess(took, LATE_S, "closed %.1fs after the client fell "
                        "silent mid-body (body timeout 2)" % took)
        if data:
            self.assertFalse(data.startswith(b"HTTP/1.1 2"),
                             "a stalled upload was answered %r" % data[:300])
        # GitHub must not have received a complete request: each record
        # of the upload ends in an error, never in the fake's answer.
        deadline = time.monotonic() + 5
        while True:
            recs = [x for x in self.g.fake.requests()
                    if x["path"] == UPLOAD_PATH]
            if all(x["complete"] for x in recs) or \
                    time.monotonic() > deadline:
                break
            time.sleep(0.05)
        for x in recs:
            self.assertNotEqual(x["body_length"], n, x)
            self.assertNotEqual(x["status"], 200,
                                "GitHub took a truncated upload (%s bytes "
                                "of %d) for a whole one" %
                                (x["body_length"], n))
        self.assertWorkerHealthy()

    def test_body_timeout_drops_a_stalled_upload_content_length(self):
        self.check_body_stall(chunked=False)

    def test_body_timeout_drops_a_stalled_upload_chunked(self):
        self.check_body_stall(chunked=True)

    def test_header_timeout_with_a_trickled_head(self):
        """One byte every 0.5 s: the head (over 100 bytes) would take a
        minute; ghp answers 408, or closes, about 2 s after the first
        byte."""
        data = build_request("GET", REPO_PATH, self.hdrs())
        s = socket.create_connection(("127.0.0.1", self.g.port),
                                     timeout=5)
        got = b""
        closed = False
        t0 = time.monotonic()
        try:
            for i in range(len(data)):
                try:
                    s.sendall(data[i:i + 1])
                except (BrokenPipeError, ConnectionResetError):
                    closed = True
                    break
                r, _, _ = select.select([s], [], [], 0.5)
                if r:
                    c, got, _ = wait_closed(s, 5)
                    closed = c
                    break
                if time.monotonic() - t0 > 15:
                    break
        finally:
            took = time.monotonic() - t0
            s.close()
        self.assertTrue(closed, "a head trickled for %.1fs was not cut "
                        "off (header timeout 2); %d of %d bytes sent" %
                        (took, i + 1, len(data)))
        self.assertGreaterEqual(took, EARLY_S)
        self.assertLess(took, LATE_S, "cut off %.1fs after its first byte "
                        "(header timeout 2)" % took)
        if got:
            self.assertTrue(got.startswith(b"HTTP/1.1 408 "), got[:300])
        self.assertNotForwarded(self.g, "a trickled head")
        self.assertWorkerHealthy()


class WaitOnUpstreamTest(StreamCase):
    """body timeout 1: it is for a client sending a body, not for one
    waiting on GitHub."""

    extra = "body timeout 1\n"

    def test_client_waits_on_an_upstream_slower_than_body_timeout(self):
        """A PUT with a body and a GET, each whole, wait 3 s on GitHub
        (a delay fault): both are answered."""
        body = pattern(64 * 1024)
        self.g.fake.set_fault(2, "delay", match=REPO_PATH, delay_ms=3000)

        def call(method, path, body=None):
            t0 = time.monotonic()
            try:
                r = self.g.api(method, path, self.tok, body=body,
                               timeout=30)
            except (EOFError, ConnectionResetError) as e:
                self.fail("%s %s: the connection was closed %.1fs into "
                          "the wait on GitHub (body timeout 1): %s" %
                          (method, path, time.monotonic() - t0, e))
            return r, time.monotonic() - t0

        with concurrent.futures.ThreadPoolExecutor(2) as ex:
            fput = ex.submit(call, "PUT", UPLOAD_PATH, body)
            fget = ex.submit(call, "GET", REPO_PATH)
            (rp, tput), (rg, tget) = fput.result(), fget.result()
        self.assertEqual(rp.status, 200, rp)
        self.assertEqual(json.loads(rp.body), {
            "bytes": len(body),
            "sha256": hashlib.sha256(body).hexdigest()})
        self.assertEqual(rg.status, 200, rg)
        self.assertEqual(json.loads(rg.body)["full_name"], "acme/widgets")
        self.assertEqual(sorted(x["fault"] for x in self.forwarded(
            self.g, 2)), ["delay", "delay"])
        self.assertGreaterEqual(min(tput, tget), 2.5)
        self.assertWorkerHealthy()


class SlowUpstreamTest(StreamCase):
    """upstream timeout 2: an upstream that is slow but alive, and one
    held back by ghp itself for a slow client, are not stalled ones."""

    extra = "upstream timeout 2\n"

    def test_slow_upstream_body_streams_through(self):
        """512 KiB in four writes 0.5 s apart: passed on as it comes
        (the first bytes reach the client well before the last), and
        whole."""
        n = 512 * 1024
        for chunked in (False, True):
            with self.subTest(chunked=chunked):
                path = BYTES_PATH % n + "?chunk=131072&delay_ms=500" + \
                    ("&chunked=1" if chunked else "")
                check = PatternCheck()
                r = self.g.api("GET", path, self.tok, sink=check,
                               timeout=30)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(check.count, n)
                self.assertEqual(check.hexdigest(), expected_sha256(n))
                # The upstream spreads the body over 1.5 s; a proxy that
                # held it until the end would deliver it all at once.
                self.assertGreater(check.last_at - check.first_at, 0.75,
                                   "the body was not passed on as it came")

    def test_client_pausing_longer_than_upstream_timeout(self):
        """48 MiB from a GitHub that writes 64 KiB every 2 ms, to a
        client (64 KiB window) that pauses 3.5 s after 4 MiB: ghp stops
        reading GitHub while the client pauses, which is not GitHub
        stalling.  The answer arrives whole."""
        n = 48 * MiB
        reader = SlowReader(every=MiB, sleep=0.0, pauses={4 * MiB: 3.5})
        t0 = time.monotonic()
        with RssWatch(self.worker, self.rss_start) as watch:
            with SmallWindowConn("127.0.0.1", self.g.port) as c:
                c.request("GET", BYTES_PATH % n +
                          "?chunk=65536&delay_ms=2", self.hdrs(
                              ("Connection", "close")))
                try:
                    r = c.read_response(sink=reader)
                except (EOFError, ConnectionResetError) as e:
                    self.fail("the answer was cut off after %d of %d bytes "
                              "(%.1fs in, the client paused %.1fs): %s" %
                              (reader.count, n, time.monotonic() - t0,
                               reader.paused, e))
        figure("slow client pausing 3.5 s, 48 MiB", seconds="%.1f" %
               (time.monotonic() - t0), rss=watch)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(reader.count, n)
        self.assertEqual(reader.hexdigest(), expected_sha256(n))
        self.assertRssBounded(watch, "client pausing")
        self.assertWorkerHealthy()


if __name__ == "__main__":
    unittest.main()
