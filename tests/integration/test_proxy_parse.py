"""
test_proxy_parse.py: worker/http.h's strict parsing, over the wire.
Each malformed request carries a valid token and names the API host, so
that a lenient parser would forward it; each must be answered with the
status http.h gives (400, 413, 414, 417, 431, 501, 505) in GitHub's JSON
shape, with Connection: close, and the connection closed: a valid
request pipelined behind it is never answered, and nothing reaches the
fake GitHub.

Run with tests/integration/run_all.py (or python3 -m unittest from this
directory).
"""

import json
import re
import socket
import unittest

from proxy_case import ProxyCase, start_proxy


def head(*lines, line0="GET /repos/acme/widgets HTTP/1.1", end=b"\r\n"):
    """A head from lines (str or bytes), CRLF-joined, with its end."""
    out = [line0.encode() if isinstance(line0, str) else line0]
    out += [l.encode() if isinstance(l, str) else l for l in lines]
    return b"\r\n".join(out) + b"\r\n" + end


class ParseTest(ProxyCase):

    @classmethod
    def setUpClass(cls):
        cls.g = start_proxy(cls, workers=1)
        cls.tok, _ = cls.g.new_token("alice", "acme/widgets",
                                     "contents:write,issues:write")
        cls.auth = "Authorization: token " + cls.tok

    def setUp(self):
        self.g.fake.clear()

    def follow_up(self):
        return ("GET /repos/acme/widgets HTTP/1.1\r\nHost: api.github.com"
                "\r\n%s\r\n\r\n" % self.auth).encode()

    def exchange(self, data, timeout=5.0):
        """Send data and a valid request after it; everything read until
        the server closes."""
        with socket.create_connection(("127.0.0.1", self.g.port),
                                      timeout=timeout) as s:
            try:
                s.sendall(data + self.follow_up())
            except (BrokenPipeError, ConnectionResetError):
                pass
            out = b""
            while True:
                try:
                    b = s.recv(65536)
                except ConnectionResetError:
                    break
                except socket.timeout:
                    self.fail("the connection was not closed after %r" %
                              out[:200])
                if not b:
                    break
                out += b
        return out

    def check(self, data, statuses):
        out = self.exchange(data)
        answers = re.findall(rb"HTTP/1\.[01] (\d{3}) ", out)
        self.assertEqual(len(answers), 1, "answers: %r" % out[:600])
        status = int(answers[0])
        self.assertIn(status, statuses, out[:400])
        hd, _, body = out.partition(b"\r\n\r\n")
        self.assertIn(b"\r\nConnection: close\r\n", hd + b"\r\n")
        msg = json.loads(body)
        self.assertEqual(set(msg), {"message", "documentation_url"})
        self.assertNotForwarded(self.g)
        return status

    def table(self, cases):
        for name, data, statuses in cases:
            with self.subTest(name):
                self.g.fake.clear()
                self.check(data, statuses)

    def test_framing(self):
        A, H = self.auth, "Host: api.github.com"
        post = "POST /repos/acme/widgets/issues HTTP/1.1"
        self.table([
            ("CL and TE", head(H, A, "Content-Length: 5",
                               "Transfer-Encoding: chunked", line0=post) +
             b"0\r\n\r\n", (400,)),
            ("TE and CL", head(H, A, "Transfer-Encoding: chunked",
                               "Content-Length: 5", line0=post) +
             b"0\r\n\r\n", (400,)),
            ("two Content-Lengths", head(H, A, "Content-Length: 2",
                                         "Content-Length: 2", line0=post) +
             b"{}", (400,)),
            ("Content-Length list", head(H, A, "Content-Length: 2, 2",
                                         line0=post) + b"{}", (400,)),
            ("Content-Length sign", head(H, A, "Content-Length: +2",
                                         line0=post) + b"{}", (400,)),
            ("Content-Length negative", head(H, A, "Content-Length: -1",
                                             line0=post), (400,)),
            ("Content-Length junk", head(H, A, "Content-Length: 2x",
                                         line0=post) + b"{}", (400,)),
            ("Content-Length hex", head(H, A, "Content-Length: 0x2",
                                        line0=post) + b"{}", (400,)),
            ("TE gzip", head(H, A, "Transfer-Encoding: gzip",
                             line0=post), (400, 501)),
            ("TE list", head(H, A, "Transfer-Encoding: gzip, chunked",
                             line0=post) + b"0\r\n\r\n", (400, 501)),
            ("TE chunked twice", head(H, A, "Transfer-Encoding: chunked",
                                      "Transfer-Encoding: chunked",
                                      line0=post) + b"0\r\n\r\n", (400,)),
            ("TE in HTTP/1.0", head(H, A, "Transfer-Encoding: chunked",
                                    line0=post.replace("1.1", "1.0")) +
             b"0\r\n\r\n", (400,)),
            ("body over 4 GiB", head(H, A, "Content-Length: 5000000000",
                                     line0=post), (413,)),
        ])

    def test_header_syntax(self):
        A, H = self.auth, "Host: api.github.com"
        self.table([
            ("obs-fold", head(H, A, "X-Folded: a", " b"), (400,)),
            ("obs-fold tab", head(H, A, "X-Folded: a", "\tb"), (400,)),
            ("bare LF in a header",
             head(H, A, b"X-A: 1\nX-B: 2"), (400,)),
            ("bare LF line ends",
             ("GET /repos/acme/widgets HTTP/1.1\nHost: api.github.com\n%s"
              "\n\n" % A).encode(), (400,)),
            ("bare CR", head(H, A, b"X-A: 1\rX-B: 2"), (400,)),
            ("NUL in a value", head(H, A, b"X-A: a\x00b"), (400,)),
            ("control in a value", head(H, A, b"X-A: a\x01b"), (400,)),
            ("DEL in a value", head(H, A, b"X-A: a\x7fb"), (400,)),
            ("space before colon", head(H, A, "X-A : 1"), (400,)),
            ("tab before colon", head(H, A, "X-A\t: 1"), (400,)),
            ("no colon", head(H, A, "X-A 1"), (400,)),
            ("empty name", head(H, A, ": 1"), (400,)),
            ("name not a token", head(H, A, "X(A): 1"), (400,)),
            ("two Hosts", head(H, A, "Host: api.github.com"), (400,)),
            ("Host and ghp's name", head(H, A, "Host: ghp.test"), (400,)),
            ("no Host", head(A), (400,)),
            ("empty Host", head("Host:", A), (400,)),
            ("Host with userinfo", head("Host: u@api.github.com", A),
             (400,)),
            ("two Authorizations", head(H, A, A), (400,)),
            ("empty Authorization", head(H, "Authorization:"), (400,)),
            ("Expect other", head(H, A, "Expect: 200-ok"), (417,)),
            ("two empty lines first", b"\r\n\r\n" + head(H, A), (400,)),
        ])

    def test_request_line(self):
        A, H = self.auth, "Host: api.github.com"
        self.table([
            ("HTTP/2.0", head(H, A, line0="GET /repos/acme/widgets "
                              "HTTP/2.0"), (505,)),
            ("HTTP/1.2", head(H, A, line0="GET /repos/acme/widgets "
                              "HTTP/1.2"), (505,)),
            ("HTTP/0.9", head(H, A, line0="GET /repos/acme/widgets "
                              "HTTP/0.9"), (505,)),
            ("h2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", (505,)),
            ("lower-case version", head(H, A, line0="GET /repos/acme/"
                                        "widgets http/1.1"), (400,)),
            ("two spaces", head(H, A, line0="GET  /repos/acme/widgets "
                                "HTTP/1.1"), (400,)),
            ("tab", head(H, A, line0="GET\t/repos/acme/widgets HTTP/1.1"),
             (400,)),
            ("space in target", head(H, A, line0="GET /repos/acme/wid gets"
                                     " HTTP/1.1"), (400,)),
            ("fragment", head(H, A, line0="GET /repos/acme/widgets#x "
                              "HTTP/1.1"), (400,)),
            ("bad escape", head(H, A, line0="GET /repos/acme/%zzwidgets "
                                "HTTP/1.1"), (400,)),
            ("non-ASCII target", head(H, A, line0=b"GET /repos/acme/w\xc3"
                                      b"\xa9 HTTP/1.1"), (400,)),
            ("method too long", head(H, A, line0="A" * 40 + " /repos/acme/"
                                     "widgets HTTP/1.1"), (501,)),
            ("userinfo in absolute form", head(H, A, line0="GET http://u@"
                                               "api.github.com/repos/acme/"
                                               "widgets HTTP/1.1"), (400,)),
            ("ftp scheme", head(H, A, line0="GET ftp://api.github.com/"
                                "repos/acme/widgets HTTP/1.1"), (400,)),
            ("asterisk form", head(H, A, line0="OPTIONS * HTTP/1.1"),
             (400,)),
            ("authority form", head(H, A, line0="CONNECT api.github.com:443"
                                    " HTTP/1.1"), (400,)),
        ])

    def test_limits(self):
        A, H = self.auth, "Host: api.github.com"
        many = ["X-H%d: %s" % (i, "v" * 200) for i in range(90)]
        self.table([
            ("request line too long", head(H, A, line0="GET /repos/acme/"
                                           "widgets?" + "q" * 9000 +
                                           " HTTP/1.1"), (414,)),
            ("header line too long", head(H, A, "X-Big: " + "a" * 9000),
             (431,)),
            ("head too large", head(H, A, *many), (431,)),
            ("too many header lines", head(H, A, *["X-%d: 1" % i
                                                   for i in range(120)]),
             (431,)),
        ])

    def test_refused_before_the_end_of_an_endless_head(self):
        """An over-long head is refused as soon as it is known to be:
        the client need not finish it (and cannot make ghp buffer it)."""
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            # A small, fixed send buffer: what is sent is what ghp read
            # (give or take its kernel receive buffer), however slowly a
            # loaded machine schedules it.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
            s.settimeout(5)
            s.connect(("127.0.0.1", self.g.port))
            s.sendall(b"GET /repos/acme/widgets HTTP/1.1\r\nHost: "
                      b"api.github.com\r\nX-Endless: ")
            sent = 0
            try:
                while sent < 1 << 20:
                    s.sendall(b"a" * 4096)
                    sent += 4096
            except (BrokenPipeError, ConnectionResetError):
                pass
            try:
                data = s.recv(65536)
            except ConnectionResetError:
                data = b""
        self.assertLess(sent, 1 << 20, "ghp read a 1 MiB header line")
        if data:
            self.assertTrue(data.startswith(b"HTTP/1.1 431 "), data[:100])
        self.assertNotForwarded(self.g)

    def test_malformed_chunked_body(self):
        """A chunked body that goes wrong after the request was allowed:
        the client's connection ends without a success, and GitHub is
        not left with a complete request."""
        H, A = "Host: api.github.com", self.auth
        data = head(H, A, "Transfer-Encoding: chunked", line0="POST /repos/"
                    "acme/widgets/issues HTTP/1.1") + \
            b"5\r\n{\"ti\r\nzz\r\n\r\n"
        out = self.exchange(data)
        answers = re.findall(rb"HTTP/1\.[01] (\d{3}) ", out)
        self.assertLessEqual(len(answers), 1, out[:600])
        if answers:
            self.assertIn(int(answers[0]), (400, 502), out[:400])
        if not answers or int(answers[0]) != 400:
            # It was forwarded: let its record finish here, not arrive
            # in the middle of the next test.
            self.forwarded(self.g, n=1, timeout=5.0)
        done = [r for r in self.g.fake.requests()
                if r.get("status") in (200, 201)]
        self.assertEqual(done, [], "GitHub took a broken body as complete")


if __name__ == "__main__":
    unittest.main()
