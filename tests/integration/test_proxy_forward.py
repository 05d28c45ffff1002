"""
test_proxy_forward.py: what ghp forwards for a ghx_ token in scope, seen
from both ends: the client's answer (status, body, GitHub's headers) and
the fake GitHub's record of what arrived (the real credential, never the
client token, the fake's own Host, the query, the body); keep-alive and
pipelining; a raw token of another kind passed through unchanged.

Run with tests/integration/run_all.py (or python3 -m unittest from this
directory).
"""

import json
import unittest

from harness import basic_auth, build_request, request
from proxy_case import CRED_ALICE, ProxyCase, TOKEN_RE, start_proxy, \
    read_json_lines

RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining",
                "x-ratelimit-reset", "x-ratelimit-used",
                "x-ratelimit-resource")


class ForwardTest(ProxyCase):

    @classmethod
    def setUpClass(cls):
        cls.g = start_proxy(cls, workers=2)
        cls.tok, cls.tid = cls.g.new_token(
            "alice", "acme/widgets", "contents:read,issues:write")

    def setUp(self):
        self.g.fake.clear()

    def check_forwarded_once(self, path, method="GET"):
        """The one record: at path, alice's real credential, the fake's
        own Host; the client token nowhere."""
        recs = self.forwarded(self.g)
        self.assertEqual([(x["method"], x["path"]) for x in recs],
                         [(method, path)])
        rec = recs[0]
        self.assertAuthorizationWas(rec, "token " + CRED_ALICE)
        self.assertEqual(rec["login"], "alice")
        hosts = [v for k, v in rec["headers"] if k.lower() == "host"]
        self.assertEqual(hosts, ["127.0.0.1:%d" % self.g.fake.port])
        self.assertEqual(self.g.fake.find(self.tok), [])
        self.assertEqual(self.g.fake.find("ghx_"), [])
        self.assertEqual(self.g.fake.find("ghp.test"), [])
        self.assertEqual(self.g.fake.find("api.github.com"), [])
        return rec

    def test_token_is_one_line_of_the_right_shape(self):
        self.assertRegex(self.tok, TOKEN_RE)

    def test_get_repository_by_api_host(self):
        r = self.g.api("GET", "/repos/acme/widgets", self.tok)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(json.loads(r.body)["full_name"], "acme/widgets")
        for h in RATE_HEADERS + ("etag", "x-github-request-id",
                                 "x-github-media-type"):
            self.assertIn(h, r.headers)
        self.assertEqual(r.headers["x-ratelimit-limit"], "5000")
        self.assertEqual(int(r.headers["content-length"]), len(r.body))
        rec = self.check_forwarded_once("/repos/acme/widgets")
        self.assertEqual(r.headers["x-github-request-id"],
                         rec["request_id"])

    def test_get_repository_by_api_v3_on_ghps_name(self):
        r = self.g.api("GET", "/api/v3/repos/acme/widgets", self.tok,
                       host="ghp.test")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(json.loads(r.body)["full_name"], "acme/widgets")
        self.assertIn("etag", r.headers)
        rec = self.check_forwarded_once("/repos/acme/widgets")
        self.assertEqual(rec["target"], "/repos/acme/widgets")

    def test_get_repository_by_the_upstream_api_host(self):
        """The host of "upstream api" (here the fake's, 127.0.0.1) is
        API traffic too, with or without the /api/v3 prefix, as a
        GitHub Enterprise server's own name would be."""
        for path in ("/repos/acme/widgets", "/api/v3/repos/acme/widgets"):
            with self.subTest(path=path):
                self.g.fake.clear()
                r = self.g.api("GET", path, self.tok,
                               host="127.0.0.1:%d" % self.g.port)
                self.assertEqual(r.status, 200, r)
                rec = self.check_forwarded_once("/repos/acme/widgets")
                self.assertEqual(rec["target"], "/repos/acme/widgets")

    def test_query_string_and_link_header_pass(self):
        r = self.g.api("GET", "/repos/acme/widgets/issues?state=all&"
                       "per_page=2&page=2", self.tok)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(json.loads(r.body)), 2)
        self.assertIn('rel="next"', r.headers["link"])
        self.assertIn('rel="prev"', r.headers["link"])
        rec = self.check_forwarded_once("/repos/acme/widgets/issues")
        self.assertEqual(rec["query"], "state=all&per_page=2&page=2")

    def test_if_none_match_gives_304_without_a_body(self):
        etag = self.g.api("GET", "/repos/acme/widgets", self.tok) \
            .headers["etag"]
        self.g.fake.clear()
        with self.g.conn() as c:
            c.request("GET", "/repos/acme/widgets", [
                ("Host", "api.github.com"),
                ("Authorization", "token " + self.tok),
                ("If-None-Match", etag)])
            r = c.read_response()
            self.assertEqual(r.status, 304, r)
            self.assertEqual(r.body, b"")
            self.assertEqual(r.headers.get("etag"), etag)
            self.assertNotIn("transfer-encoding", r.headers)
            # The connection is still in step: a next request works.
            c.request("GET", "/repos/acme/widgets", [
                ("Host", "api.github.com"),
                ("Authorization", "token " + self.tok)])
            self.assertEqual(c.read_response().status, 200)
        rec = self.forwarded(self.g, 2)[0]
        self.assertIn(["If-None-Match", etag], rec["headers"])

    def test_post_issue_forwards_the_body(self):
        body = json.dumps({"title": "from ghp", "body": "hello"}).encode()
        r = self.g.api("POST", "/repos/acme/widgets/issues", self.tok,
                       headers={"Content-Type": "application/json"},
                       body=body)
        self.assertEqual(r.status, 201, r)
        issue = json.loads(r.body)
        self.assertEqual(issue["title"], "from ghp")
        self.assertIn("location", r.headers)
        rec = self.check_forwarded_once("/repos/acme/widgets/issues",
                                        "POST")
        self.assertEqual(rec["body"], body.decode())
        self.assertEqual(rec["body_length"], len(body))

    def test_head_is_answered_without_a_body(self):
        r = self.g.api("HEAD", "/repos/acme/widgets", self.tok)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"")
        self.check_forwarded_once("/repos/acme/widgets", "HEAD")

    def test_basic_and_bearer_carry_the_token(self):
        for auth in (basic_auth("x-access-token", self.tok),
                     basic_auth("", self.tok), basic_auth(self.tok, ""),
                     "Bearer " + self.tok, "token " + self.tok):
            with self.subTest(auth=auth.split()[0]):
                self.g.fake.clear()
                r = self.g.api("GET", "/repos/acme/widgets", auth=auth)
                self.assertEqual(r.status, 200, r)
                self.check_forwarded_once("/repos/acme/widgets")

    def test_basic_with_the_token_as_user_name(self):
        """GitHub's other Basic form: the token as the user name and
        "x-oauth-basic" (or anything) as the password.  The ghx_ token
        must be recognised there too, and never sent on to GitHub."""
        for password in ("x-oauth-basic", "x"):
            with self.subTest(password=password):
                self.g.fake.clear()
                r = self.g.api("GET", "/repos/acme/widgets",
                               auth=basic_auth(self.tok, password))
                self.assertEqual(self.g.fake.find(self.tok), [],
                                 "the client token was sent to GitHub")
                self.assertEqual(r.status, 200, r)
                self.check_forwarded_once("/repos/acme/widgets")

    def test_client_headers_pass_hop_by_hop_ones_do_not(self):
        r = self.g.api("GET", "/repos/acme/widgets", self.tok, headers=[
            ("X-GitHub-Api-Version", "2022-11-28"),
            ("X-Custom", "kept"), ("Proxy-Authorization", "Basic eDp5"),
            ("Connection", "close, X-Hop"), ("X-Hop", "dropped"),
            ("TE", "trailers"), ("Keep-Alive", "timeout=5")])
        self.assertEqual(r.status, 200, r)
        rec = self.check_forwarded_once("/repos/acme/widgets")
        names = [k.lower() for k, _ in rec["headers"]]
        self.assertIn(["X-GitHub-Api-Version", "2022-11-28"], rec["headers"])
        self.assertIn(["X-Custom", "kept"], rec["headers"])
        for hop in ("proxy-authorization", "te", "keep-alive"):
            self.assertNotIn(hop, names)
        # RFC 9110 7.6.1: a proxy removes the fields Connection names.
        self.assertNotIn("x-hop", names, "a field named in Connection "
                         "was forwarded")

    def test_other_raw_token_goes_upstream_unchanged(self):
        """Not a ghp token and not a blocked prefix: forwarded as sent
        (GitHub decides), and audited."""
        self.g.fake.add_credential("ghu_someothertoken0001", "bob")
        r = self.g.api("GET", "/repos/acme/gadgets",
                       auth="Bearer ghu_someothertoken0001")
        self.assertEqual(r.status, 200, r)
        recs = self.forwarded(self.g)
        self.assertEqual(len(recs), 1)
        self.assertAuthorizationWas(recs[0], "Bearer ghu_someothertoken0001")
        self.assertEqual(recs[0]["login"], "bob")


class KeepAliveTest(ProxyCase):

    @classmethod
    def setUpClass(cls):
        cls.g = start_proxy(cls, workers=1)
        cls.tok, _ = cls.g.new_token("alice", "acme/widgets",
                                     "contents:read,issues:write")

    def hdrs(self, *more):
        return [("Host", "api.github.com"),
                ("Authorization", "token " + self.tok)] + list(more)

    def test_several_requests_on_one_connection(self):
        self.g.fake.clear()
        with self.g.conn() as c:
            for i in range(1, 6):
                c.request("GET", "/repos/acme/widgets/issues/%d" % i,
                          self.hdrs())
                r = c.read_response()
                self.assertEqual(r.status, 200, r)
                self.assertEqual(json.loads(r.body)["number"], i)
                self.assertNotIn("close", r.headers.get("connection", ""))
            c.request("GET", "/repos/acme/widgets", self.hdrs(
                ("Connection", "close")))
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.headers.get("connection"), "close")
            self.assertTrue(c.closed_by_server(), "Connection: close "
                            "was not honoured")
        recs = self.forwarded(self.g, 6)
        self.assertEqual(len(recs), 6)
        # One worker, requests one after another: libcurl kept its
        # upstream connection.
        self.assertGreater(max(x["conn_request"] for x in recs), 1)

    def test_pipelined_requests_answered_in_order(self):
        """Five requests in one write, some refused by ghp itself, one
        slow upstream: five answers, in order, on one connection."""
        ghp_host = [("Host", "ghp.test")]
        reqs = [
            ("GET", "/repos/acme/widgets/contents/__fake/slow?ms=300",
             self.hdrs()),
            ("GET", "/repos/acme/widgets/issues/2", self.hdrs()),
            ("GET", "/repos/acme/widgets", [("Host", "api.github.com")]),
            ("GET", "/not-the-api", ghp_host),
            ("GET", "/api/v3/repos/acme/widgets/issues/3",
             [("Host", "ghp.test"), ("Authorization", "token " + self.tok)]),
        ]
        data = b"".join(build_request(m, p, h) for m, p, h in reqs)
        with self.g.conn() as c:
            c.send(data)
            got = [c.read_response() for _ in reqs]
            self.assertEqual([r.status for r in got],
                             [200, 200, 401, 404, 200])
            self.assertEqual(json.loads(got[0].body)["slept_ms"], 300)
            self.assertEqual(json.loads(got[1].body)["number"], 2)
            self.assertEqual(json.loads(got[4].body)["number"], 3)
            self.assertFalse(c.closed_by_server(0.3))

    def test_post_then_get_on_one_connection(self):
        body = b'{"title": "keep-alive"}'
        with self.g.conn() as c:
            c.request("POST", "/repos/acme/widgets/issues", self.hdrs(
                ("Content-Type", "application/json")), body)
            self.assertEqual(c.read_response().status, 201)
            c.request("POST", "/repos/acme/widgets/issues", self.hdrs(
                ("Transfer-Encoding", "chunked")),
                b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
            self.assertEqual(c.read_response().status, 201)
            c.request("GET", "/repos/acme/widgets", self.hdrs())
            self.assertEqual(c.read_response().status, 200)

    def test_http10_closes_after_the_answer(self):
        with self.g.conn() as c:
            c.send(build_request("GET", "/repos/acme/widgets", self.hdrs(),
                                 version="HTTP/1.0"))
            r = c.read_response()
            self.assertEqual(r.status, 200, r)
            self.assertEqual(json.loads(r.body)["full_name"],
                             "acme/widgets")
            self.assertTrue(c.closed_by_server())

    def test_expect_100_continue(self):
        """ghp says 100 Continue itself once the request is allowed, then
        forwards the body."""
        body = b'{"title": "expect"}'
        with self.g.conn() as c:
            c.send(build_request("POST", "/repos/acme/widgets/issues",
                                 self.hdrs(("Expect", "100-continue"),
                                           ("Content-Length",
                                            str(len(body))))))
            line = c.sock.recv(64)
            self.assertTrue(line.startswith(b"HTTP/1.1 100 "), line)
            c.buf = line[line.index(b"\r\n\r\n") + 4:] \
                if b"\r\n\r\n" in line else b""
            c.send(body)
            r = c.read_response()
            self.assertEqual(r.status, 201, r)
            self.assertEqual(json.loads(r.body)["title"], "expect")


class UpstreamFailureTest(ProxyCase):
    """GitHub down or breaking off: 502 in GitHub's shape, and the next
    request after recovery works."""

    def setUp(self):
        self.g = start_proxy(self, workers=1)
        self.tok, _ = self.g.new_token("alice", "acme/widgets",
                                       "contents:read")

    def get(self):
        return self.g.api("GET", "/repos/acme/widgets", self.tok)

    def test_upstream_stopped_gives_502_then_recovers(self):
        self.assertEqual(self.get().status, 200)
        self.g.fake.stop()
        self.assertGitHubError(self.get(), 502)
        self.g.fake.start()
        self.assertEqual(self.get().status, 200)

    def test_reset_and_close_give_502(self):
        """Two faults in a row: libcurl may retry once, on a fresh
        connection, a request whose reused connection died before any
        answer; the retry fails too."""
        for mode in ("reset", "close"):
            with self.subTest(mode=mode):
                self.g.fake.clear()
                self.g.fake.set_fault(2, mode, match="/repos/acme/widgets")
                self.assertGitHubError(self.get(), 502,
                                       "GitHub could not be reached")
                self.assertLessEqual(len(self.g.fake.requests()), 2)
                self.g.fake.clear_faults()
                r = self.get()
                self.assertEqual(r.status, 200, r)
                self.assertEqual(json.loads(r.body)["full_name"],
                                 "acme/widgets")

    def test_truncated_answer_is_not_passed_as_complete(self):
        """GitHub sent a head and half the body: the client must not be
        able to take the half for the whole (the connection ends)."""
        self.g.fake.set_fault(1, "truncate", match="/repos/acme/widgets")
        with self.g.conn(timeout=5) as c:
            c.request("GET", "/repos/acme/widgets", [
                ("Host", "api.github.com"),
                ("Authorization", "token " + self.tok)])
            try:
                r = c.read_response()
                self.fail("a truncated answer arrived as complete: %r" % r)
            except (EOFError, ConnectionResetError):
                pass
        self.assertEqual(self.get().status, 200)

    def test_upstream_errors_pass_through(self):
        for code in ("503", "404"):
            self.g.fake.set_fault(1, code, match="/repos/acme/widgets")
            r = self.get()
            self.assertEqual(r.status, int(code), r)
        self.assertEqual(self.get().status, 200)


if __name__ == "__main__":
    unittest.main()
