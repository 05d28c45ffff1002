"""
test_web_git.py: git smart HTTP through ghp (github.com traffic), with
the real git client against ghp's own address
(http://127.0.0.1:PORT/acme/widgets.git, GitHub Enterprise style), ghp's
`upstream web` being the FakeGitHub's github.com (the real
`git http-backend` on bare repositories):

- clone and fetch with a ghx_ token holding contents:read; the real
  credential reached GitHub (as Basic x-access-token), the ghp token
  never did; the repository written with or without .git;
- a push of 30 MB of incompressible data (git sends it chunked) with
  contents:write lands in the bare repository;
- refused, and nothing reached GitHub: a push with a read-only token
  (403, no receive-pack at all upstream), a repository outside the
  token's scope (403), no token (401 with `WWW-Authenticate: Basic
  realm="GitHub"`, git gives up), a raw GitHub token (`block tokens`:
  403);
- an agent token (gha_) clones with the installation token ghp mints;
- `allow anonymous` lets an anonymous clone of a public repository
  through, unless `block anonymous git`;
- Git-Protocol: version=2 crosses ghp.

What they share is in web_case.py.  Run with tests/integration/run_all.py
(or python3 -m unittest from this directory).
"""

import json
import os
import unittest

from agent_case import APPS, agent_token, forwarded, is_mint
from harness import basic_auth
from proxy_case import CRED_ALICE, make_token
from web_case import (RAW_TOKEN_REFUSED, WebCase, auth_values, ghp_git_url,
                      ghp_request, git_tokens, header_values, start_web,
                      x_access_basic)

INFO_REFS = "/acme/widgets.git/info/refs?service="


class WebGitTest(WebCase):
    """One daemon (sites, `block tokens`, the "agents" App) for the
    class; the fake's records are cleared before each test."""

    @classmethod
    def setUpClass(cls):
        cls.g = start_web(cls, workers=2, apps=[APPS[0]])
        cls.read_tok, cls.write_tok = git_tokens(cls.g)

    def setUp(self):
        super().setUp()
        self.g.fake.clear()

    def web_records(self, n=1):
        return self.site_records(self.g, "web", n)

    def clone(self, token, repo="acme/widgets", dest="w", suffix=".git",
              **kw):
        return self.git.run("clone", "-q", ghp_git_url(self.g, repo, suffix),
                            dest, token=token, **kw)

    # ---- reading

    def test_clone_and_fetch_with_a_read_token(self):
        g = self.g
        w = self.clone_checked(g, self.read_tok)
        # GitHub gets a new commit; fetch brings it.
        sha = g.fake.git_seed("acme/widgets", {"news.txt": "fetched\n"})
        r = self.git.run("fetch", "-q", "origin", token=self.read_tok,
                         cwd=w)
        self.assertGitOK(r, "fetch")
        self.assertEqual(self.git.head(w, "origin/main"), sha)
        # Without .git too.
        r = self.git.run("ls-remote", ghp_git_url(g, suffix=""),
                         token=self.read_tok)
        self.assertGitOK(r, "ls-remote without .git")
        self.assertIn(sha + "\trefs/heads/main", r.stdout)
        recs = self.web_records(4)
        posts = [x for x in recs if x["method"] == "POST"]
        self.assertTrue(posts, "no git-upload-pack POST reached GitHub")
        for x in recs:
            self.assertIn(x["site_path"], (
                "/acme/widgets.git/info/refs", "/acme/widgets/info/refs",
                "/acme/widgets.git/git-upload-pack",
                "/acme/widgets/git-upload-pack"), x["target"])
            self.assertEqual(x["status"], 200, x["target"])

    def test_real_credential_crossed_and_the_ghp_token_never_did(self):
        g = self.g
        self.assertGitOK(self.clone(self.read_tok), "clone")
        recs = self.web_records(3)
        self.assertTrue(recs)
        for x in recs:
            self.assertEqual(auth_values(x), [x_access_basic(CRED_ALICE)],
                             x["target"])
            self.assertEqual(x["login"], "alice")
        self.assertEqual(g.fake.find(self.read_tok), [])
        self.assertEqual(g.fake.find(self.read_tok[:12]), [])
        self.assertTokenNowhere(g, self.read_tok)

    def test_git_protocol_v2_crosses(self):
        self.assertGitOK(self.clone(self.read_tok, config=[
            "protocol.version=2"]), "clone")
        recs = self.web_records(2)
        self.assertTrue(recs)
        for x in recs:
            self.assertEqual(header_values(x, "Git-Protocol"),
                             ["version=2"], x["target"])
        # v2 commands went to upload-pack (ls-refs, fetch).
        self.assertTrue(any(x["method"] == "POST" and
                            "command=ls-refs" in (x.get("body") or "")
                            for x in recs), [x.get("body") for x in recs])

    def test_audit_names_the_git_endpoint(self):
        g = self.g
        r = ghp_request(g, "GET", INFO_REFS + "git-upload-pack",
                        auth=basic_auth("x", self.read_tok))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("content-type"),
                         "application/x-git-upload-pack-advertisement")

        def found():
            return [a for a in self.audit_records(g) if
                    a.get("endpoint") == "git-upload-pack" and
                    a.get("repository") == "acme/widgets" and
                    a.get("decision") == "allow"]
        recs = g.wait_for(found, 5, "an audit record of git-upload-pack")
        self.assertEqual(recs[-1]["permission"], "contents:read")

    # ---- writing

    def test_push_30mb_with_a_write_token(self):
        g = self.g
        p = self.push_30mb(g, self.write_tok, 3)
        self.assertEqual(p["status"], 200)
        self.assertIsNone(p["error"])
        self.assertEqual(p["cgi_exit"], 0, p.get("cgi_stderr"))
        self.assertTrue(p["chunked"], "the pack should stream to GitHub "
                        "chunked, as git sent it")
        self.assertEqual(auth_values(p), [x_access_basic(CRED_ALICE)])
        self.assertEqual(g.fake.find(self.write_tok), [])

    def test_push_with_a_read_only_token_is_refused(self):
        g = self.g
        self.assertPushRefused(g, self.read_tok)
        self.assertEqual([x["target"] for x in g.fake.requests()
                          if "git-receive-pack" in x["target"]], [])
        rr = ghp_request(g, "GET", INFO_REFS + "git-receive-pack",
                         auth=basic_auth("x", self.read_tok))
        self.assertGitHubError(rr, 403, "contents:write", "acme/widgets")
        rr = ghp_request(g, "POST", "/acme/widgets.git/git-receive-pack",
                         auth=basic_auth("x", self.read_tok), body=b"0000",
                         headers=[("Content-Type", "application/"
                                   "x-git-receive-pack-request")])
        self.assertGitHubError(rr, 403, "contents:write")
        self.assertNothingReached(g, "web", "a refused receive-pack")

    # ---- refused

    def test_clone_outside_the_token_scope_is_refused(self):
        g = self.g
        r = self.clone(self.read_tok, repo="acme/gadgets")
        self.assertGitFailed(r, what="clone of acme/gadgets")
        self.assertIn("403", r.stderr)
        rr = ghp_request(g, "GET", "/acme/gadgets.git/info/refs?service="
                         "git-upload-pack",
                         auth=basic_auth("x", self.read_tok))
        self.assertGitHubError(rr, 403, "acme/gadgets", "scope")
        self.assertNothingReached(g, None, "a clone outside the scope")

    def test_no_token_gets_basic_challenge_and_nothing_is_forwarded(self):
        g = self.g
        rr = ghp_request(g, "GET", INFO_REFS + "git-upload-pack")
        self.assertRequiresBasic(rr, "info/refs without a token")
        body = json.loads(rr.body)
        self.assertIn("Requires authentication", body["message"])
        r = self.clone(None)
        self.assertGitFailed(r, what="clone without credentials")
        self.assertTrue("could not read Username" in r.stderr or
                        "Authentication failed" in r.stderr, r.stderr)
        self.assertNothingReached(g, None, "git without a token")

    def test_unknown_token_authentication_failed(self):
        g = self.g
        r = self.clone(make_token())
        self.assertGitFailed(r, "Authentication failed",
                             what="clone with a token ghp never issued")
        self.assertNothingReached(g, None, "an unknown ghx_ token")

    def test_raw_github_token_in_basic_is_refused(self):
        g = self.g
        r = self.clone(CRED_ALICE)
        self.assertGitFailed(r, what="clone with a raw GitHub token")
        self.assertIn("403", r.stderr)
        rr = ghp_request(g, "GET", INFO_REFS + "git-upload-pack",
                         auth=basic_auth("x", CRED_ALICE))
        self.assertGitHubError(rr, 403, RAW_TOKEN_REFUSED)
        self.assertNothingReached(g, None, "a raw GitHub token")

    # ---- agents

    def test_agent_token_clones_with_the_installation_token(self):
        g = self.g
        tok = agent_token(g, "acme/widgets", "contents:read")
        self.assertGitOK(self.clone(tok), "clone with a gha_ token")
        self.assertTrue(os.path.isfile(self.git.path("w", "README.md")))
        web = [x for x in forwarded(g) if x.get("site") == "web"]
        self.assertTrue(web)
        minted = [x for x in g.fake.requests() if is_mint(x)]
        self.assertLessEqual(len(minted), 1)
        for x in web:
            vals = auth_values(x)
            self.assertEqual(len(vals), 1, x["headers"])
            self.assertTrue(vals[0].startswith("Basic "))
            self.assertEqual(x["login"], "agents[bot]", vals)
        self.assertEqual(g.fake.find(tok), [])
        r = self.git.run("push", "-q", "origin", "HEAD:refs/heads/agent",
                         token=tok, cwd=self.git.path("w"))
        self.assertGitFailed(r, "403", what="push with contents:read")


class WebGitAnonymousTest(WebCase):
    """`allow anonymous` with and without `block anonymous git`."""

    def anonymous_clone(self, g):
        return self.git.run("clone", "-q", ghp_git_url(g, "octo/public"),
                            "pub")

    def test_allow_anonymous_clones_a_public_repository(self):
        g = start_web(self, extra="allow anonymous\n")
        r = self.anonymous_clone(g)
        self.assertGitOK(r, "anonymous clone of octo/public")
        self.assertTrue(os.path.isfile(self.git.path("pub", "README.md")))
        recs = self.site_records(g, "web", 2)
        self.assertTrue(recs)
        for x in recs:
            self.assertEqual(auth_values(x), [], x["target"])
            self.assertEqual(x["status"], 200, x["target"])

    def test_block_anonymous_git_refuses_even_with_allow_anonymous(self):
        g = start_web(self, extra="allow anonymous\nblock anonymous git\n")
        r = self.anonymous_clone(g)
        self.assertGitFailed(r, what="anonymous clone with block "
                             "anonymous git")
        rr = ghp_request(g, "GET", "/octo/public.git/info/refs?service="
                         "git-upload-pack")
        self.assertRequiresBasic(rr, "anonymous info/refs")
        self.assertNothingReached(g, None, "anonymous git")
        # A token still works.
        tok, _ = g.new_token("alice", "octo/public", "contents:read")
        r = self.git.run("ls-remote", ghp_git_url(g, "octo/public"),
                         token=tok)
        self.assertGitOK(r, "ls-remote with a token")


if __name__ == "__main__":
    unittest.main()
