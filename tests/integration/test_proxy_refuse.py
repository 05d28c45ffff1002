"""
test_proxy_refuse.py: what ghp refuses on the API route, each refusal
checked at both ends: the client's answer (status, GitHub's error shape,
a message that says what was missing) and the fake GitHub's records,
which must stay empty.  No token, unreadable or unknown or garbled
tokens, revoked and expired ones, a repository or permission outside the
scope, an endpoint not in the table, path tricks, a GraphQL query that
reaches beyond a ghx_ token's repositories (the rest of GraphQL is
test_graphql.py's), raw GitHub tokens of a blocked kind.

Run with tests/integration/run_all.py (or python3 -m unittest from this
directory).
"""

import time
import unittest

from harness import basic_auth, request
from proxy_case import (CRED_ALICE, ProxyCase, make_token, read_json_lines,
                        start_proxy, worker_pid_of)

PATH_TRICKS = (
    "/repos/acme/widgets/../gadgets",
    "/repos/acme/widgets/%2e%2e/gadgets",
    "/repos/acme/widgets/%2E%2E/gadgets",
    "/repos/acme/widgets/.%2e/gadgets",
    "/repos/acme/widgets%2Fissues",
    "/repos/acme/widgets%2fissues",
    "/repos/acme/widgets/issues/..%2f..%2fgadgets",
    "/repos/acme//widgets",
    "//repos/acme/widgets",
    "/repos/acme/widgets/",
    "/repos/acme/widgets/issues/",
    "/repos/acme/widgets/./issues",
    "/repos/acme/widgets/%2e/issues",
    "/repos/acme/widgets/issues/1%00",
    "/repos/acme/widgets%5c..%5cgadgets",
    "/repos/acme/widgets/issues/%zz",
    "/api/v3/repos/acme/widgets/../gadgets",
    "/api/v3//repos/acme/widgets",
    "/api/v3/../v3/repos/acme/gadgets",
)


class RefuseTest(ProxyCase):

    @classmethod
    def setUpClass(cls):
        cls.g = start_proxy(cls, workers=2)
        cls.tok, cls.tid = cls.g.new_token("alice", "acme/widgets",
                                           "contents:read")

    def setUp(self):
        self.g.fake.clear()

    def refused(self, status, *contains, method="GET",
                path="/repos/acme/widgets", **kw):
        self.g.fake.clear()
        r = self.g.api(method, path, **kw)
        msg = self.assertGitHubError(r, status, *contains)
        self.assertNotForwarded(self.g, "%s %s" % (method, path))
        return msg

    def test_no_token(self):
        self.refused(401, "Requires authentication")
        self.refused(401, "Requires authentication", host="ghp.test",
                     path="/api/v3/repos/acme/widgets")

    def test_unreadable_authorization(self):
        for auth in ("Digest username=x", "Basic !!!", "token", "Bearer  ",
                     "Basic " + "QUFB" * 200):
            with self.subTest(auth=auth[:20]):
                self.refused(401, "Bad credentials", auth=auth)

    def test_unknown_well_formed_tokens(self):
        for tok in (make_token("ghx_"), make_token("gha_")):
            with self.subTest(token=tok[:4]):
                self.refused(401, "Bad credentials", token=tok)

    def test_garbled_ghx_tokens_are_refused_here(self):
        """A ghx_ token with a typo is still a ghp token: refused by ghp,
        never sent on to GitHub as if it were one of GitHub's."""
        t = self.tok
        flip = "A" if t[10] != "A" else "B"
        for bad in (t[:10] + flip + t[11:], t[:-1], t + "x", t[:-6] + "000000",
                    "ghx_short", "gha_" + t[4:]):
            with self.subTest(token=bad[:12] + "..."):
                self.refused(401, "Bad credentials", token=bad)

    def test_repository_outside_the_scope(self):
        for path, repo in (("/repos/acme/gadgets", "acme/gadgets"),
                           ("/repos/octo/public/issues", "octo/public"),
                           ("/repos/acme/widgets2/contents/x",
                            "acme/widgets2")):
            with self.subTest(path=path):
                self.refused(403, repo, path=path, token=self.tok)

    def test_missing_permission(self):
        msg = self.refused(403, "issues:write", "acme/widgets",
                           method="POST", path="/repos/acme/widgets/issues",
                           token=self.tok, body=b'{"title": "x"}')
        self.assertIn("issues:write on acme/widgets", msg)
        self.refused(403, "contents:write", method="PUT",
                     path="/repos/acme/widgets/contents/README.md",
                     token=self.tok, body=b"{}")

    def test_endpoint_not_in_the_table(self):
        for method, path in (("GET", "/repos/acme/widgets/frobnicate"),
                             ("GET", "/no/such/endpoint"),
                             ("POST", "/repos/acme/widgets/contents"),
                             ("BREW", "/repos/acme/widgets")):
            with self.subTest(method=method, path=path):
                self.g.fake.clear()
                r = self.g.api(method, path, self.tok)
                self.assertIn(r.status, (403, 405), r)
                msg = self.assertGitHubError(r, r.status)
                self.assertNotForwarded(self.g, path)
                if method == "GET":
                    self.assertIn("permission table", msg)

    def test_path_tricks(self):
        for path in PATH_TRICKS:
            with self.subTest(path=path):
                host = "ghp.test" if path.startswith("/api/v3") else \
                    "api.github.com"
                self.g.fake.clear()
                r = self.g.api("GET", path, self.tok, host=host)
                self.assertIn(r.status, (400, 403), r)
                self.assertGitHubError(r, r.status)
                self.assertNotForwarded(self.g, path)

    def test_absolute_form_naming_another_host(self):
        r = self.g.api("GET", "http://api.github.com/repos/acme/gadgets",
                       self.tok, host="ghp.test")
        self.assertGitHubError(r, 400)
        self.assertNotForwarded(self.g)
        r = self.g.api("GET", "http://api.github.com/repos/acme/widgets",
                       self.tok, host="api.github.com")
        self.assertEqual(r.status, 200, r)

    def test_graphql_with_a_ghx_token(self):
        """GraphQL's search reaches every repository the owner's
        credential sees: refused for a ghx_ token, on GitHub's endpoint
        and on ghp's own host (GitHub Enterprise style), and nothing
        sent on."""
        body = (b'{"query": "query { search(query: \\"repo:acme/widgets\\", '
                b'type: ISSUE, first: 1) { issueCount } }"}')
        self.refused(403, "ghp: search: refused", method="POST",
                     path="/graphql", token=self.tok, body=body)
        self.refused(403, "ghp: search: refused", method="POST",
                     path="/api/graphql", host="ghp.test", token=self.tok,
                     body=body)

    def test_blocked_raw_github_tokens(self):
        for auth in ("token " + CRED_ALICE, "Bearer " + CRED_ALICE,
                     basic_auth("x-access-token", CRED_ALICE),
                     "token github_pat_11ABCDEFG0123456789_abcdefghijkl"):
            with self.subTest(auth=auth[:12]):
                self.refused(403, "Raw GitHub tokens are refused",
                             auth=auth)

    def test_owner_without_a_credential(self):
        """bob's token made while bob had a credential; the credential
        removed: refused (once the workers' cache has let it go)."""
        g = self.g
        g.add_credential("bob", "ghp_realcredentialBBBB")
        tok, _ = g.new_token("bob", "acme/gadgets", "contents:read")
        rc, out, err = g.ctl("credential", "remove", "--owner", "bob")
        self.assertEqual(rc, 0, err)
        self.refused(401, "credential", path="/repos/acme/gadgets",
                     token=tok)


class RevokeExpireTest(ProxyCase):
    """A token stops working at once when revoked, and when it expires,
    in every worker, whatever the workers' cache holds."""

    @classmethod
    def setUpClass(cls):
        cls.g = start_proxy(cls, workers=2)

    def setUp(self):
        self.g.fake.clear()

    def warm_every_worker(self, tok):
        """Keep-alive connections, a request on each, until every worker
        has served (and cached) the token; returns the connections."""
        want = set(self.g.worker_pids())
        conns, seen = [], set()
        for _ in range(60):
            c = self.g.conn()
            self.addCleanup(c.close)
            c.request("GET", "/repos/acme/widgets", [
                ("Host", "api.github.com"), ("Authorization", "token " +
                                             tok)])
            r = c.read_response()
            self.assertEqual(r.status, 200, r)
            conns.append(c)
            time.sleep(0.02)
            ids = [x["request_id"] for x in read_json_lines(
                self.g.access_path) if x["status"] == 200]
            seen = {worker_pid_of(i) for i in ids}
            if want <= seen:
                return conns
        self.fail("only workers %s of %s served" % (seen, want))

    def again(self, c, tok):
        c.request("GET", "/repos/acme/widgets", [
            ("Host", "api.github.com"), ("Authorization", "token " + tok)])
        return c.read_response()

    def test_revoked_token_is_refused_by_the_next_request(self):
        tok, tid = self.g.new_token("alice", "acme/widgets", "contents:read")
        conns = self.warm_every_worker(tok)
        rc, out, err = self.g.ctl("token", "revoke", str(tid))
        self.assertEqual(rc, 0, err)
        self.g.fake.clear()
        for c in conns:
            self.assertGitHubError(self.again(c, tok), 401, "revoked")
        self.assertNotForwarded(self.g, "a revoked token's request")

    def test_expired_token_is_refused(self):
        tok, _ = self.g.new_token("alice", "acme/widgets", "contents:read",
                                  "--ttl", "1")
        time.sleep(2.1)
        r = self.g.api("GET", "/repos/acme/widgets", tok)
        self.assertGitHubError(r, 401, "expired")
        self.assertNotForwarded(self.g, "an expired token's request")

    def test_token_used_then_expired_is_refused(self):
        """Used a moment before its expiry (and so in a worker's cache),
        it must still stop at its expiry, not when the cache entry
        goes."""
        t0 = time.time()
        tok, _ = self.g.new_token("alice", "acme/widgets", "contents:read",
                                  "--ttl", "3")
        conns = self.warm_every_worker(tok)
        self.assertLess(time.time() - t0, 2.5, "too slow to test this")
        time.sleep(max(0.0, t0 + 4.1 - time.time()))
        self.g.fake.clear()
        for c in conns:
            self.assertGitHubError(self.again(c, tok), 401, "expired")
        self.assertNotForwarded(self.g, "an expired token's request")


if __name__ == "__main__":
    unittest.main()
