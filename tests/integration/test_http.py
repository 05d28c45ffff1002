"""
test_http.py: ghp's own HTTP answers, on every listener: 404 in GitHub's
JSON for a path on ghp's own name that is not the API, 401 for API
traffic (Host api.github.com, /api/v3/, /api/graphql) without a token,
the limit on the request head, a request in pieces, a body sent before
reading, requests counted in the status, many clients at once.  What
is forwarded is in test_proxy_*.py.

Run with tests/integration/run_all.py (or python3 -m unittest from this
directory).
"""

import json
import os
import shutil
import socket
import subprocess
import threading
import time
import unittest

from harness import GhpError, HttpConn, NOT_FOUND_BODY, http_raw, parse_http
from daemon_case import DaemonCase, NOT_FOUND_JSON, start_daemon


class HttpTest(DaemonCase):
    """The placeholder answers, on every listener."""

    @classmethod
    def setUpClass(cls):
        cls.g = start_daemon(cls, workers=2, ipv6=True)

    def test_raw_socket_gets_404_json(self):
        self.assertNotFound(self.g.get("/repos/octocat/hello-world"))

    def test_any_method_and_path_gets_404(self):
        """On ghp's own name, only /api/v3/... and /api/graphql are API
        traffic; everything else is not found."""
        for method, path in (("GET", "/"), ("HEAD", "/user"),
                             ("POST", "/graphql"),
                             ("DELETE", "/repos/a/b/issues/1"),
                             ("GET", "/api/v3"), ("GET", "/api/v3x/user"),
                             ("GET", "/api/graphqlx"), ("GET", "/api/")):
            with self.subTest(method=method, path=path):
                r = self.g.get(path, method=method)
                self.assertEqual(r.status, 404, r)

    def test_api_traffic_without_a_token_gets_401(self):
        for method, path, host in (
                ("GET", "/api/v3/user", "ghp.test"),
                ("POST", "/api/graphql", "ghp.test"),
                ("GET", "/user", "api.github.com"),
                ("GET", "/repos/a/b", "API.GitHub.com:443"),
                ("DELETE", "/repos/a/b/issues/1", "api.github.com")):
            with self.subTest(method=method, path=path, host=host):
                r = self.g.get(path, method=method, headers={"Host": host})
                self.assertEqual(r.status, 401, r)
                self.assertEqual(json.loads(r.body), {
                    "message": "Requires authentication",
                    "documentation_url": "https://docs.github.com/rest"})
                self.assertEqual(int(r.headers["content-length"]),
                                 len(r.body))

    def test_curl_gets_404_json(self):
        curl = shutil.which("curl")
        if curl is None:
            self.skipTest("curl is not installed")
        body = os.path.join(self.g.dir, "curl.body")
        # By ghp's own name: 127.0.0.1 is also the host of the tests'
        # "upstream api", on which every path is API traffic.
        r = subprocess.run([curl, "-sS", "--max-time", "5", "-o", body,
                            "-w", "%{http_code}", "--connect-to",
                            "ghp.test:80:127.0.0.1:%d" % self.g.port,
                            "http://ghp.test/repos/octocat/hello"],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "404")
        with open(body, "rb") as f:
            data = f.read()
        self.assertEqual(data.rstrip(b"\n"), NOT_FOUND_BODY)
        self.assertEqual(json.loads(data), NOT_FOUND_JSON)

    def test_oversized_head_gets_431(self):
        r = self.g.get("/", headers={"X-Big": "a" * (20 * 1024)})
        self.assertEqual(r.status, 431, r)
        self.assertEqual(int(r.headers["content-length"]), len(r.body))
        body = json.loads(r.body)
        self.assertIn("message", body)
        self.assertIn("documentation_url", body)

    def test_head_just_under_the_limit_gets_404(self):
        """A head of 16 KiB less a few bytes, in lines under the 8 KiB
        line limit, is read and answered."""
        base = ("GET / HTTP/1.1\r\nHost: ghp.test\r\nUser-Agent: "
                "ghp-integration\r\nAccept: application/vnd.github+json\r\n"
                "Connection: close\r\n")
        room = 16 * 1024 - 4 - len(base) - 2     # less the final CRLF
        lines = []
        for i in range(3):
            n = min(room, 7 * 1024)
            lines.append("X-Big-%d: " % i)
            lines[-1] += "a" * (n - len(lines[-1]) - 2) + "\r\n"
            room -= n
        req = (base + "".join(lines) + "\r\n").encode()
        self.assertEqual(len(req), 16 * 1024 - 4)
        self.assertNotFound(parse_http(http_raw("127.0.0.1", self.g.port,
                                                req)))

    def test_head_in_pieces_gets_401(self):
        """A head that arrives in pieces is answered once complete, and
        the connection stays open for the next request (keep-alive)."""
        with HttpConn("127.0.0.1", self.g.port, timeout=5) as c:
            for piece in (b"GET /user HT", b"TP/1.1\r\nHost: api.git",
                          b"hub.com\r\n", b"\r\n"):
                c.send(piece)
                time.sleep(0.02)
            r = c.read_response()
            self.assertEqual(r.status, 401, r)
            self.assertEqual(json.loads(r.body)["message"],
                             "Requires authentication")
            self.assertNotIn("close", r.headers.get("connection", ""))
            for piece in (b"GET /no", b"where HTTP/1.1\r\nHo",
                          b"st: ghp.test\r\n\r\n"):
                c.send(piece)
                time.sleep(0.02)
            self.assertEqual(c.read_response().status, 404)

    def test_http10_without_host_gets_404(self):
        raw = http_raw("127.0.0.1", self.g.port, b"GET / HTTP/1.0\r\n\r\n")
        self.assertNotFound(parse_http(raw))

    def test_post_body_sent_before_reading_ends_cleanly(self):
        """A client that writes its whole request (a 100 KB body) before
        reading gets the answer and then a clean end of stream, not a
        connection reset.  Closing with unread request data makes the
        kernel send RST, which on a real network can destroy the answer
        still in flight (RFC 7230 6.6: close in stages, lingering).
        With no token, the answer (401) comes before the body is read."""
        n = 100 * 1024
        req = (b"POST /repos/a/b/git/blobs HTTP/1.1\r\nHost: api.github.com"
               b"\r\nContent-Type: application/json\r\nContent-Length: "
               b"%d\r\n\r\n" % n) + b"x" * n
        results = []
        for _ in range(3):
            data = b""
            with socket.create_connection(("127.0.0.1", self.g.port),
                                          timeout=5) as s:
                try:
                    s.sendall(req)
                    while True:
                        b = s.recv(65536)
                        if not b:
                            break
                        data += b
                    end = "EOF"
                except OSError as e:
                    end = "%s after %d bytes" % (type(e).__name__,
                                                 len(data))
            status = parse_http(data).status if data else None
            results.append((status, end))
        self.assertEqual(results, [(401, "EOF")] * 3)

    def test_both_listeners_answer(self):
        self.assertNotFound(self.g.get("/", host="127.0.0.1"), "IPv4")
        if self.g.port6 is None:
            self.skipTest("no IPv6 on this host: only 127.0.0.1 tested")
        self.assertNotFound(self.g.get("/", host="::1"), "IPv6")

    def test_requests_are_counted_in_status(self):
        g = self.g

        def total():
            return sum(w["requests"] for w in g.procs(g.status(), "worker"))
        before = total()
        n = 7
        for i in range(n):
            self.assertEqual(g.get("/count/%d" % i).status, 404)
        got = []

        def counted():
            got.append(total())
            return got[-1] == before + n
        try:
            g.wait_for(counted, 3, "requests == %d" % (before + n))
        except GhpError:
            self.fail("status counts %s requests, expected %d (before %d)"
                      "\n%s" % (got[-5:], before + n, before, g.log_tail()))


class ConcurrencyTest(DaemonCase):

    def test_parallel_clients_all_answered(self):
        g = start_daemon(self, workers=2)
        results = []
        lock = threading.Lock()

        def client(i):
            try:
                r = g.get("/parallel/%d" % i, timeout=10)
                out = r.status
            except Exception as e:      # noqa
                out = repr(e)
            with lock:
                results.append(out)
        threads = [threading.Thread(target=client, args=(i,), daemon=True)
                   for i in range(64)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(15)
        self.assertEqual(len(results), 64)
        self.assertEqual([r for r in results if r != 404], [])
        g.wait_for(lambda: sum(w["requests"] for w in g.procs(
            g.status(), "worker")) == 64, 3, "64 requests counted")


if __name__ == "__main__":
    unittest.main()
