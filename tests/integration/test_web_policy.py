"""
test_web_policy.py: github.com traffic other than the API, seen from
both ends: release downloads on github.com (pass, block, redirect to a
mirror, with allow lists and a checked mirror over https with netrc
credentials), archives on codeload.github.com, files on
raw.githubusercontent.com, `block tokens` on those sites, `enterprise`
(the sec-GitHub-allowed-enterprise header on API, git and Copilot
requests, never on codeload or raw), what github.com paths ghp refuses,
and the audit records and request counts of all of it.

Every site of GitHub is the one FakeGitHub, under a path prefix per
site (its `site_prefixes`: /_web, /_codeload, /_raw, /_copilot); a
request reaches a site by its Host header.

Run with tests/integration/run_all.py (or python3 -m unittest from this
directory).
"""

import json
import os
import re
import unittest

from harness import Ghp, basic_auth, free_port, run_ghp
from observe_case import ObserveCase, parse_prometheus, series
from proxy_case import BLOCK, CRED_ALICE, start_proxy
from fake_github import MirrorServer, TestCA, write_netrc

WEB = "github.com"
CODELOAD = "codeload.github.com"
RAW = "raw.githubusercontent.com"
COPILOT = "api.githubcopilot.com"

ENT = "sec-GitHub-allowed-enterprise"
ENT_SLUG = "acme-ent"

REL = "/acme/widgets/releases/download/v1.0/widget.tar.gz"
REL_LATEST = "/acme/widgets/releases/latest/download/widget.tar.gz"
REL_GADGETS = "/acme/gadgets/releases/download/v2.0/gadget.zip"
REL_PUBLIC = "/octo/public/releases/download/v0.1/tool.tgz"
ARCHIVE = "/acme/widgets/tar.gz/main"
RAW_FILE = "/acme/widgets/main/README.md"

# What ghp sends GitHub for alice on each site.
WEB_AUTH = basic_auth("x-access-token", CRED_ALICE)
TOKEN_AUTH = "token " + CRED_ALICE

BLOCKED_MSG = "ghp: release downloads are blocked by policy"
RAW_TOKEN_MSG = "use the ghp token"

# The audit permission of a decision taken by policy before any token
# is looked at (a redirect, a block, a missing asset): the permission the
# download would need, or none.
POLICY_PERM = ("contents:read", None)


def header_values(rec, name):
    return [v for k, v in rec["headers"] if k.lower() == name.lower()]


def add_assets(fake):
    """The release assets the tests download."""
    fake.add_release_asset("acme/widgets", "v1.0", "widget.tar.gz",
                           b"widget bytes\n")
    fake.add_release_asset("acme/gadgets", "v2.0", "gadget.zip",
                           b"gadget bytes\n")
    fake.add_release_asset("octo/public", "v0.1", "tool.tgz",
                           b"tool bytes\n")


class WebCase(ObserveCase):
    """Requests to GitHub's sites through ghp, and what reached which
    site of the fake."""

    def site(self, g, method, path, host, token=None, auth=None,
             headers=(), body=None):
        """One request with Host: host; the response."""
        return self.call(g, method, path, token=token, auth=auth,
                         host=host, headers=headers, body=body)[0]

    def prefix(self, g, site):
        return g.fake.site_prefixes[site]

    def reached(self, g, site, n=1):
        """The fake's records at site (its prefix), once n are there."""
        pre = self.prefix(g, site)
        recs = self.forwarded(g, n)
        return [r for r in recs if r["path"] == pre or
                r["path"].startswith(pre + "/")]

    def assertReachedOnce(self, g, site, path, auth=None):
        """Exactly one request reached the fake, at site's path, with the
        Authorization auth (None: none); no client token crossed."""
        recs = self.forwarded(g, 1)
        self.assertEqual([r["path"] for r in recs],
                         [self.prefix(g, site) + path],
                         [(r["method"], r["target"]) for r in recs])
        rec = recs[0]
        self.assertEqual(header_values(rec, "authorization"),
                         [auth] if auth else [], rec["headers"])
        self.assertEqual(header_values(rec, "host"),
                         ["127.0.0.1:%d" % g.fake.port])
        self.assertEqual(g.fake.find("ghx_"), [])
        self.assertEqual(g.fake.find("gha_"), [])
        return rec

    def assertAudit(self, g, method, path, host, decision, endpoint,
                    repository, permission, status=None, token=None,
                    auth=None, headers=()):
        """The request, traced to its one audit record, which carries
        decision, endpoint, repository and permission (a tuple: one of
        those); returns (response, audit record)."""
        r, acc, aud, _ = self.traced(g, method, path, token=token,
                                     auth=auth, host=host, headers=headers)
        if status is not None:
            self.assertEqual(r.status, status, r)
        self.assertIsNotNone(aud, "no audit record for %s %s (Host %s)" %
                             (method, path, host))
        self.assertEqual(
            (aud.get("decision"), aud.get("endpoint"),
             aud.get("repository")),
            (decision, endpoint, repository), aud)
        if isinstance(permission, tuple):
            self.assertIn(aud.get("permission"), permission, aud)
        else:
            self.assertEqual(aud.get("permission"), permission, aud)
        self.assertEqual(aud.get("method"), method, aud)
        if token is not None:
            self.assertNotIn(token, json.dumps(aud))
        self.assertNotIn(CRED_ALICE, json.dumps(aud))
        return r, aud

    def scrape(self, g):
        r = g.metrics()
        self.assertEqual(r.status, 200, r)
        return parse_prometheus(r.body.decode("utf-8"))

    def requests_counted(self, g, route):
        """{(decision, status): count} of ghp_requests_total for route."""
        return {(l["decision"], l["status"]): v for l, v in
                series(self.scrape(g), "ghp_requests_total", route=route)}

    def wait_counted(self, g, route, key, n):
        """Scrape until ghp_requests_total{route, decision, status} is at
        least n (the workers report with a lag); returns the counts."""
        def ok():
            got = self.requests_counted(g, route)
            return got if got.get(key, 0) >= n else None
        try:
            return g.wait_for(ok, 15, "%s %s counted %d times" %
                              (route, key, n))
        except AssertionError:
            self.fail("ghp_requests_total{route=%r} never counted %s %d "
                      "times: %s" % (route, key, n,
                                     self.requests_counted(g, route)))


# ------------------------------------------------- the default policies


class DefaultPolicyTest(WebCase):
    """No policy statements: releases, archives and raw files pass for
    a ghp token that may read the repository's contents."""

    @classmethod
    def setUpClass(cls):
        cls.g = start_proxy(cls, workers=2, metrics=True, sites=True)
        add_assets(cls.g.fake)
        cls.tok, cls.tid = cls.g.new_token(
            "alice", "acme/widgets", "contents:read")
        cls.issues_only, _ = cls.g.new_token(
            "alice", "acme/widgets", "issues:read")

    def setUp(self):
        self.g.fake.clear()

    # ---- releases

    def test_release_download_passes_with_contents_read(self):
        r = self.site(self.g, "GET", REL, WEB, token=self.tok)
        # GitHub's answer: a redirect to the asset's storage.
        self.assertEqual(r.status, 302, r)
        self.assertIn("/assets/", r.headers.get("location", ""))
        rec = self.assertReachedOnce(self.g, "web", REL, WEB_AUTH)
        self.assertEqual(rec["method"], "GET")

    def test_latest_release_download_passes(self):
        r = self.site(self.g, "GET", REL_LATEST, WEB, token=self.tok)
        self.assertEqual(r.status, 302, r)
        self.assertReachedOnce(self.g, "web", REL_LATEST, WEB_AUTH)

    def test_release_head_passes(self):
        r = self.site(self.g, "HEAD", REL, WEB, token=self.tok)
        self.assertEqual(r.status, 302, r)
        self.assertReachedOnce(self.g, "web", REL, WEB_AUTH)

    def test_release_token_in_any_scheme(self):
        for auth in ("Bearer " + self.tok, basic_auth("me", self.tok)):
            with self.subTest(auth=auth.split()[0]):
                self.g.fake.clear()
                r = self.site(self.g, "GET", REL, WEB, auth=auth)
                self.assertEqual(r.status, 302, r)
                self.assertReachedOnce(self.g, "web", REL, WEB_AUTH)

    def test_release_refused_without_contents_read(self):
        r = self.site(self.g, "GET", REL, WEB, token=self.issues_only)
        self.assertGitHubError(r, 403, "contents:read", "acme/widgets")
        self.assertNotForwarded(self.g, "a release without contents:read")

    def test_release_refused_outside_the_scope(self):
        r = self.site(self.g, "GET", REL_GADGETS, WEB, token=self.tok)
        self.assertGitHubError(r, 403, "acme/gadgets")
        self.assertNotForwarded(self.g, "a release outside the scope")

    def test_release_without_a_token_is_401(self):
        r = self.site(self.g, "GET", REL, WEB)
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.headers.get("www-authenticate"),
                         'Basic realm="GitHub"')
        self.assertNotForwarded(self.g, "a release without a token")

    def test_release_on_ghps_own_name(self):
        """Any other Host is GitHub Enterprise style: the path decides,
        and a release path is github.com's."""
        r = self.site(self.g, "GET", REL, "ghp.test", token=self.tok)
        self.assertEqual(r.status, 302, r)
        self.assertReachedOnce(self.g, "web", REL, WEB_AUTH)

    # ---- codeload

    def test_archive_passes_with_contents_read(self):
        r = self.site(self.g, "GET", ARCHIVE, CODELOAD, token=self.tok)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body[:2], b"\x1f\x8b", "not a gzip archive")
        self.assertReachedOnce(self.g, "codeload", ARCHIVE, TOKEN_AUTH)

    def test_archive_formats_and_refs_with_slashes(self):
        for path, magic in (("/acme/widgets/zip/refs/heads/main", b"PK"),
                            ("/acme/widgets/legacy.tar.gz/main",
                             b"\x1f\x8b"),
                            ("/acme/widgets/legacy.zip/main", b"PK")):
            with self.subTest(path=path):
                self.g.fake.clear()
                r = self.site(self.g, "GET", path, CODELOAD, token=self.tok)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body[:2], magic)
                self.assertReachedOnce(self.g, "codeload", path, TOKEN_AUTH)

    def test_archive_refused_outside_the_scope_or_without_a_token(self):
        r = self.site(self.g, "GET", "/acme/gadgets/zip/main", CODELOAD,
                      token=self.tok)
        self.assertGitHubError(r, 403, "acme/gadgets")
        r = self.site(self.g, "GET", ARCHIVE, CODELOAD,
                      token=self.issues_only)
        self.assertGitHubError(r, 403, "contents:read")
        r = self.site(self.g, "GET", ARCHIVE, CODELOAD)
        self.assertEqual(r.status, 401, r)
        self.assertNotForwarded(self.g, "refused archives")

    def test_codeload_other_paths_are_404(self):
        for path in ("/acme/widgets", "/acme/widgets/tar.gz",
                     "/acme/widgets/rar/main", "/acme", "/"):
            with self.subTest(path=path):
                r = self.site(self.g, "GET", path, CODELOAD, token=self.tok)
                self.assertEqual(r.status, 404, r)
        self.assertNotForwarded(self.g, "codeload paths ghp does not know")

    # ---- raw

    def test_raw_file_with_contents_read(self):
        r = self.site(self.g, "GET", RAW_FILE, RAW, token=self.tok)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.body.startswith(b"# widgets"), r.body[:100])
        self.assertReachedOnce(self.g, "raw", RAW_FILE, TOKEN_AUTH)

    def test_raw_file_in_a_directory(self):
        path = "/acme/widgets/main/src/hello.txt"
        r = self.site(self.g, "GET", path, RAW, token=self.tok)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"hello from acme/widgets\n")
        self.assertReachedOnce(self.g, "raw", path, TOKEN_AUTH)

    def test_raw_other_methods_are_405(self):
        for method in ("POST", "PUT", "DELETE"):
            with self.subTest(method=method):
                r = self.site(self.g, method, RAW_FILE, RAW, token=self.tok,
                              body=b"x")
                self.assertEqual(r.status, 405, r)
        self.assertNotForwarded(self.g, "raw writes")

    def test_raw_token_query_parameter_is_removed(self):
        r = self.site(self.g, "GET", RAW_FILE + "?token=abc&x=1", RAW,
                      token=self.tok)
        self.assertEqual(r.status, 200, r)
        rec = self.assertReachedOnce(self.g, "raw", RAW_FILE, TOKEN_AUTH)
        self.assertEqual(rec["query"], "x=1", rec["target"])
        self.assertEqual(rec["target"],
                         self.prefix(self.g, "raw") + RAW_FILE + "?x=1")
        self.assertEqual(self.g.fake.find("abc"), [])

    def test_raw_token_alone_leaves_no_query(self):
        r = self.site(self.g, "GET", RAW_FILE + "?token=abc", RAW,
                      token=self.tok)
        self.assertEqual(r.status, 200, r)
        rec = self.assertReachedOnce(self.g, "raw", RAW_FILE, TOKEN_AUTH)
        self.assertNotIn("token", rec["target"])

    def test_raw_refused_outside_the_scope(self):
        r = self.site(self.g, "GET", "/acme/gadgets/main/README.md", RAW,
                      token=self.tok)
        self.assertGitHubError(r, 403, "acme/gadgets")
        self.assertNotForwarded(self.g, "raw outside the scope")

    def test_raw_short_paths_are_404(self):
        for path in ("/acme/widgets/main", "/acme/widgets", "/acme"):
            with self.subTest(path=path):
                r = self.site(self.g, "GET", path, RAW, token=self.tok)
                self.assertEqual(r.status, 404, r)
        self.assertNotForwarded(self.g, "raw paths too short")

    # ---- block tokens on every site

    def test_blocked_raw_tokens_on_codeload_raw_and_releases(self):
        for host, path in ((CODELOAD, ARCHIVE), (RAW, RAW_FILE),
                           (WEB, REL)):
            for auth in ("token " + CRED_ALICE, "Bearer " + CRED_ALICE,
                         basic_auth("x-access-token", CRED_ALICE),
                         "token github_pat_11AAAAAAA0example"):
                with self.subTest(host=host, auth=auth[:14]):
                    r = self.site(self.g, "GET", path, host, auth=auth)
                    self.assertGitHubError(r, 403, RAW_TOKEN_MSG)
        self.assertNotForwarded(self.g, "blocked raw GitHub tokens")

    def test_other_tokens_pass_as_sent(self):
        foreign = "ghu_foreigntoken0001"
        self.g.fake.add_credential(foreign, "alice")
        r = self.site(self.g, "GET", RAW_FILE, RAW, auth="token " + foreign)
        self.assertEqual(r.status, 200, r)
        self.assertReachedOnce(self.g, "raw", RAW_FILE, "token " + foreign)

    # ---- what github.com ghp does not serve

    def test_other_github_paths_are_404_and_not_forwarded(self):
        for path in ("/acme/widgets", "/acme/widgets/issues", "/login",
                     "/acme/widgets/releases", "/acme/widgets/releases/tag/"
                     "v1.0", "/acme/widgets/raw/main/README.md",
                     "/acme/widgets/archive/refs/heads/main.tar.gz",
                     "/acme/widgets/releases/download/v1.0",
                     "/settings/tokens"):
            for host in (WEB, "ghp.test"):
                with self.subTest(path=path, host=host):
                    r = self.site(self.g, "GET", path, host, token=self.tok)
                    self.assertGitHubError(r, 404)
        self.assertNotForwarded(self.g, "github.com paths ghp does not know")

    def test_dumb_http_is_refused(self):
        for path in ("/acme/widgets.git/info/refs",
                     "/acme/widgets.git/info/refs?service=git-frob"):
            with self.subTest(path=path):
                r = self.site(self.g, "GET", path, WEB, token=self.tok)
                self.assertEqual(r.status, 403, r)
        self.assertNotForwarded(self.g, "dumb HTTP")

    # ---- enterprise: not configured

    def test_client_enterprise_header_dropped_without_enterprise(self):
        r = self.site(self.g, "GET", "/repos/acme/widgets", "api.github.com",
                      token=self.tok, headers=[(ENT, "evil-ent")])
        self.assertEqual(r.status, 200, r)
        recs = self.forwarded(self.g, 1)
        self.assertEqual(len(recs), 1)
        self.assertEqual(header_values(recs[0], ENT), [])

    # ---- audit

    def test_audit_records(self):
        g = self.g
        self.assertAudit(g, "GET", REL, WEB, "allow", "releases",
                         "acme/widgets", "contents:read", 302, self.tok)
        _, aud = self.assertAudit(g, "GET", REL_GADGETS, WEB, "deny",
                                  "releases", "acme/gadgets",
                                  "contents:read", 403, self.tok)
        self.assertEqual(aud["status"], 403)
        self.assertAudit(g, "GET", ARCHIVE, CODELOAD, "allow", "codeload",
                         "acme/widgets", "contents:read", 200, self.tok)
        self.assertAudit(g, "GET", RAW_FILE, RAW, "allow", "raw",
                         "acme/widgets", "contents:read", 200, self.tok)
        self.assertAudit(g, "GET", RAW_FILE, RAW, "deny", "raw",
                         "acme/widgets", "contents:read", 403,
                         self.issues_only)
        self.assertAudit(g, "GET", "/acme/widgets.git/info/refs?service="
                         "git-upload-pack", WEB, "allow", "git-upload-pack",
                         "acme/widgets", "contents:read", 200, self.tok)
        # A blocked raw GitHub token is refused before anything else
        # is looked at (as on the API).
        r, acc, aud, _ = self.traced(g, "GET", RAW_FILE, host=RAW,
                                     auth="token " + CRED_ALICE)
        self.assertEqual(r.status, 403, r)
        self.assertEqual((aud["decision"], aud["status"], aud["token_id"]),
                         ("deny", 403, None), aud)
        self.assertNotIn(CRED_ALICE, json.dumps(aud))

    def test_requests_counted_by_route(self):
        g = self.g
        before_rel = self.requests_counted(g, "releases")
        before_cl = self.requests_counted(g, "codeload")
        before_raw = self.requests_counted(g, "raw")
        self.assertEqual(self.site(g, "GET", REL, WEB, token=self.tok)
                         .status, 302)
        self.assertEqual(self.site(g, "GET", REL_GADGETS, WEB,
                                   token=self.tok).status, 403)
        self.assertEqual(self.site(g, "GET", ARCHIVE, CODELOAD,
                                   token=self.tok).status, 200)
        self.assertEqual(self.site(g, "GET", RAW_FILE, RAW,
                                   token=self.tok).status, 200)
        for route, key, before in (
                ("releases", ("allow", "302"), before_rel),
                ("releases", ("deny", "403"), before_rel),
                ("codeload", ("allow", "200"), before_cl),
                ("raw", ("allow", "200"), before_raw)):
            with self.subTest(route=route, key=key):
                self.wait_counted(g, route, key, before.get(key, 0) + 1)


# ------------------------------------------------------ releases block


class ReleasesBlockTest(WebCase):
    """`releases block`: every release download refused, with or
    without a token, and nothing reaches GitHub; other traffic as
    before."""

    @classmethod
    def setUpClass(cls):
        cls.g = start_proxy(cls, workers=2, metrics=True, sites=True,
                            extra="releases block\n")
        add_assets(cls.g.fake)
        cls.tok, _ = cls.g.new_token("alice", "acme/widgets",
                                     "contents:read")

    def setUp(self):
        self.g.fake.clear()

    def test_blocked_with_or_without_a_token(self):
        for path in (REL, REL_LATEST, REL_PUBLIC):
            for token in (self.tok, None):
                for method in ("GET", "HEAD"):
                    with self.subTest(path=path, token=bool(token),
                                      method=method):
                        r = self.site(self.g, method, path, WEB,
                                      token=token)
                        self.assertEqual(r.status, 403, r)
                        if method == "GET":
                            self.assertGitHubError(r, 403, BLOCKED_MSG)
        self.assertNotForwarded(self.g, "blocked release downloads")

    def test_block_leaves_archives_and_git_alone(self):
        r = self.site(self.g, "GET", ARCHIVE, CODELOAD, token=self.tok)
        self.assertEqual(r.status, 200, r)
        r = self.site(self.g, "GET", "/acme/widgets.git/info/refs?service="
                      "git-upload-pack", WEB, token=self.tok)
        self.assertEqual(r.status, 200, r)

    def test_audit_and_count(self):
        before = self.requests_counted(self.g, "releases")
        _, aud = self.assertAudit(self.g, "GET", REL, WEB, "deny",
                                  "releases", "acme/widgets", POLICY_PERM,
                                  403, self.tok)
        self.assertEqual(aud["status"], 403)
        self.assertAudit(self.g, "GET", REL_PUBLIC, WEB, "deny", "releases",
                         "octo/public", POLICY_PERM, 403)
        self.wait_counted(self.g, "releases", ("deny", "403"),
                          before.get(("deny", "403"), 0) + 2)
        self.assertNotForwarded(self.g, "blocked release downloads")


class ReleasesBlockAllowTest(WebCase):
    """`releases block allow { "acme/*" }`: acme's releases pass (with
    the usual token checks), others are blocked."""

    @classmethod
    def setUpClass(cls):
        cls.g = start_proxy(cls, workers=2, sites=True,
                            extra='releases block allow { "acme/*" }\n')
        add_assets(cls.g.fake)
        cls.tok, _ = cls.g.new_token("alice", "acme/widgets,octo/public",
                                     "contents:read")

    def setUp(self):
        self.g.fake.clear()

    def test_allowed_owner_passes(self):
        r = self.site(self.g, "GET", REL, WEB, token=self.tok)
        self.assertEqual(r.status, 302, r)
        self.assertIn("/assets/", r.headers.get("location", ""))
        self.assertReachedOnce(self.g, "web", REL, WEB_AUTH)

    def test_allowed_owner_still_needs_the_scope(self):
        r = self.site(self.g, "GET", REL_GADGETS, WEB, token=self.tok)
        self.assertGitHubError(r, 403, "acme/gadgets")
        r = self.site(self.g, "GET", REL, WEB)
        self.assertEqual(r.status, 401, r)
        self.assertNotForwarded(self.g, "allowed but not in scope")

    def test_other_owner_blocked(self):
        r = self.site(self.g, "GET", REL_PUBLIC, WEB, token=self.tok)
        self.assertGitHubError(r, 403, BLOCKED_MSG)
        self.assertNotForwarded(self.g, "a blocked owner's release")


class CodeloadBlockTest(WebCase):
    """`codeload block allow { "acme/gadgets" }`: archives refused but
    for the allow list; releases as before."""

    @classmethod
    def setUpClass(cls):
        cls.g = start_proxy(cls, workers=2, sites=True, extra=(
            'codeload block allow { "acme/gadgets" }\n'))
        add_assets(cls.g.fake)
        cls.tok, _ = cls.g.new_token("alice", "acme/widgets,acme/gadgets",
                                     "contents:read")

    def setUp(self):
        self.g.fake.clear()

    def test_blocked_with_or_without_a_token(self):
        for token in (self.tok, None):
            with self.subTest(token=bool(token)):
                r = self.site(self.g, "GET", ARCHIVE, CODELOAD, token=token)
                self.assertGitHubError(
                    r, 403, "ghp: archive downloads are blocked by policy")
        self.assertNotForwarded(self.g, "blocked archives")

    def test_allow_listed_archive_passes(self):
        path = "/acme/gadgets/zip/main"
        r = self.site(self.g, "GET", path, CODELOAD, token=self.tok)
        self.assertEqual(r.status, 200, r)
        self.assertReachedOnce(self.g, "codeload", path, TOKEN_AUTH)

    def test_releases_still_pass(self):
        r = self.site(self.g, "GET", REL, WEB, token=self.tok)
        self.assertEqual(r.status, 302, r)
        self.assertReachedOnce(self.g, "web", REL, WEB_AUTH)


# --------------------------------------------------- releases redirect


class RedirectTest(WebCase):
    """`releases redirect to URL allow {...}` and `codeload redirect to
    URL allow {...}`: a 302 to the mirror without asking for a token or
    GitHub; allow-listed repositories pass to GitHub instead."""

    REL_MIRROR = "https://127.0.0.1:9/gh-mirror"
    CL_MIRROR = "https://127.0.0.1:9/codeload-mirror"

    @classmethod
    def setUpClass(cls):
        cls.g = start_proxy(cls, workers=2, metrics=True, sites=True,
                            extra=(
            'releases redirect to "%s/" allow { "acme/gadgets" }\n'
            'codeload redirect to "%s" allow { "acme/gadgets" }\n' %
            (cls.REL_MIRROR, cls.CL_MIRROR)))
        add_assets(cls.g.fake)
        cls.tok, _ = cls.g.new_token("alice", "acme/widgets,acme/gadgets",
                                     "contents:read")

    def setUp(self):
        self.g.fake.clear()

    def assertRedirect(self, r, location):
        self.assertEqual(r.status, 302, r)
        self.assertEqual(r.headers.get("location"), location)
        self.assertIn("html", r.headers.get("content-type", ""))
        if "content-length" in r.headers and r.body:
            self.assertEqual(int(r.headers["content-length"]), len(r.body))

    def test_release_download_redirected(self):
        for token in (self.tok, None):
            with self.subTest(token=bool(token)):
                r = self.site(self.g, "GET", REL, WEB, token=token)
                self.assertRedirect(r, self.REL_MIRROR + REL)
                self.assertIn(b"<", r.body)
        self.assertNotForwarded(self.g, "redirected release downloads")

    def test_latest_release_download_redirected(self):
        r = self.site(self.g, "GET", REL_LATEST, WEB)
        self.assertRedirect(r, self.REL_MIRROR + REL_LATEST)
        r = self.site(self.g, "HEAD", REL_PUBLIC, WEB)
        self.assertRedirect(r, self.REL_MIRROR + REL_PUBLIC)
        self.assertNotForwarded(self.g, "redirected release downloads")

    def test_allow_listed_release_passes(self):
        r = self.site(self.g, "GET", REL_GADGETS, WEB, token=self.tok)
        self.assertEqual(r.status, 302, r)
        self.assertIn("/assets/", r.headers.get("location", ""))
        self.assertNotIn("127.0.0.1:9", r.headers.get("location", ""))
        self.assertReachedOnce(self.g, "web", REL_GADGETS, WEB_AUTH)

    def test_allow_listed_release_needs_a_token(self):
        r = self.site(self.g, "GET", REL_GADGETS, WEB)
        self.assertEqual(r.status, 401, r)
        self.assertNotForwarded(self.g, "an allow-listed release, no token")

    def test_archive_redirected(self):
        for path in (ARCHIVE, "/acme/widgets/zip/refs/heads/main",
                     "/octo/public/legacy.tar.gz/v1"):
            with self.subTest(path=path):
                r = self.site(self.g, "GET", path, CODELOAD)
                self.assertRedirect(r, self.CL_MIRROR + path)
        self.assertNotForwarded(self.g, "redirected archives")

    def test_allow_listed_archive_passes(self):
        path = "/acme/gadgets/tar.gz/main"
        r = self.site(self.g, "GET", path, CODELOAD, token=self.tok)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body[:2], b"\x1f\x8b")
        self.assertReachedOnce(self.g, "codeload", path, TOKEN_AUTH)

    def test_redirect_leaves_raw_and_git_alone(self):
        r = self.site(self.g, "GET", RAW_FILE, RAW, token=self.tok)
        self.assertEqual(r.status, 200, r)
        r = self.site(self.g, "GET", "/acme/widgets.git/info/refs?service="
                      "git-upload-pack", WEB, token=self.tok)
        self.assertEqual(r.status, 200, r)

    def test_audit_and_count(self):
        g = self.g
        rel = self.requests_counted(g, "releases")
        cl = self.requests_counted(g, "codeload")
        _, aud = self.assertAudit(g, "GET", REL, WEB, "redirect",
                                  "releases", "acme/widgets", POLICY_PERM,
                                  302)
        self.assertEqual(aud["status"], 302)
        self.assertAudit(g, "GET", ARCHIVE, CODELOAD, "redirect",
                         "codeload", "acme/widgets", POLICY_PERM, 302)
        self.assertAudit(g, "GET", "/acme/gadgets/zip/main", CODELOAD,
                         "allow", "codeload", "acme/gadgets",
                         "contents:read", 200, self.tok)
        self.wait_counted(g, "releases", ("redirect", "302"),
                          rel.get(("redirect", "302"), 0) + 1)
        self.wait_counted(g, "codeload", ("redirect", "302"),
                          cl.get(("redirect", "302"), 0) + 1)
        self.wait_counted(g, "codeload", ("allow", "200"),
                          cl.get(("allow", "200"), 0) + 1)


# ------------------------------------------------- a checked mirror


class CheckedMirrorTest(WebCase):
    """`releases redirect to "https://MIRROR/gh" check netrc "FILE"` with
    `upstream ca` naming the mirror's CA: ghp asks the mirror (HEAD,
    with the netrc entry's credentials) before it redirects."""

    USER, PASSWORD = "mirror-user", "s3cret-from-netrc"

    @classmethod
    def setUpClass(cls):
        cls.ca = TestCA()
        cls.addClassCleanup(cls.ca.cleanup)
        cls.mirror = MirrorServer(tls=True, ca=cls.ca,
                                  auth=(cls.USER, cls.PASSWORD)).start()
        cls.addClassCleanup(cls.mirror.stop)
        cls.mirror.add("/gh" + REL, b"mirrored widget\n")
        cls.mirror.add("/gh" + REL_LATEST, b"mirrored latest widget\n")
        cls.mirror.add("/gh/acme/widgets/releases/download/v1.0/gone.zip",
                       status=410)
        cls.mirror.add("/gh/acme/widgets/releases/download/v1.0/boom.zip",
                       status=500)
        g = Ghp(workers=2, upstream=True, block_tokens=BLOCK, logs=True,
                metrics=True, sites=True, upstream_ca=cls.ca.bundle)
        cls.addClassCleanup(g.cleanup)
        netrc = write_netrc(os.path.join(g.dir, "mirror.netrc"),
                            "127.0.0.1", cls.USER, cls.PASSWORD)
        g.write_config(g.config_text(extra=(
            'releases redirect to "%s/gh" check netrc "%s"\n' %
            (cls.mirror.url, netrc))))
        g.start()
        g.add_credential("alice", CRED_ALICE)
        cls.g = g
        cls.base = cls.mirror.url + "/gh"

    def setUp(self):
        self.g.fake.clear()
        self.mirror.clear()

    def heads(self):
        return self.mirror.requests("HEAD")

    def test_present_asset_is_redirected_after_a_head(self):
        r = self.site(self.g, "GET", REL, WEB)
        self.assertEqual(r.status, 302, r)
        self.assertEqual(r.headers.get("location"), self.base + REL)
        heads = self.heads()
        self.assertEqual([h["path"] for h in heads], ["/gh" + REL])
        self.assertEqual(heads[0]["user"], self.USER)
        self.assertTrue(heads[0]["authorized"], heads[0])
        self.assertEqual(self.mirror.requests("GET"), [],
                         "the download itself is the client's business")
        self.assertNotForwarded(self.g, "a checked redirect")

    def test_latest_is_checked_at_its_own_path(self):
        r = self.site(self.g, "HEAD", REL_LATEST, WEB)
        self.assertEqual(r.status, 302, r)
        self.assertEqual(r.headers.get("location"), self.base + REL_LATEST)
        self.assertEqual([h["path"] for h in self.heads()],
                         ["/gh" + REL_LATEST])

    def test_missing_asset_is_404_html(self):
        for name in ("missing-asset.tar.gz", "gone.zip"):
            with self.subTest(name=name):
                path = "/acme/widgets/releases/download/v1.0/" + name
                r = self.site(self.g, "GET", path, WEB)
                self.assertEqual(r.status, 404, r)
                self.assertTrue(r.headers.get("content-type", "")
                                .startswith("text/html"), r.headers)
                self.assertIn(name.encode(), r.body)
                self.assertNotIn("location", r.headers)
        self.assertEqual(len(self.heads()), 2)
        self.assertNotForwarded(self.g, "a missing asset")

    def test_mirror_error_is_502(self):
        path = "/acme/widgets/releases/download/v1.0/boom.zip"
        r = self.site(self.g, "GET", path, WEB)
        self.assertEqual(r.status, 502, r)
        self.assertNotIn("location", r.headers)
        self.assertEqual(len(self.heads()), 1)
        self.assertNotForwarded(self.g, "a mirror failing")

    def test_netrc_password_is_nowhere_in_the_logs(self):
        self.assertEqual(self.site(self.g, "GET", REL, WEB).status, 302)
        for path in (self.g.log_path, self.g.audit_path,
                     self.g.access_path):
            with open(path, "rb") as f:
                self.assertNotIn(self.PASSWORD.encode(), f.read(), path)

    def test_audit_and_count(self):
        g = self.g
        before = self.requests_counted(g, "releases")
        self.assertAudit(g, "GET", REL, WEB, "redirect", "releases",
                         "acme/widgets", POLICY_PERM, 302)
        _, aud = self.assertAudit(
            g, "GET", "/acme/widgets/releases/download/v1.0/nope.bin", WEB,
            "missing", "releases", "acme/widgets", POLICY_PERM, 404)
        self.assertEqual(aud["status"], 404)
        self.wait_counted(g, "releases", ("redirect", "302"),
                          before.get(("redirect", "302"), 0) + 1)
        self.wait_counted(g, "releases", ("missing", "404"),
                          before.get(("missing", "404"), 0) + 1)


class MirrorDownTest(WebCase):
    """A checked mirror that nobody answers: 502, and no redirect."""

    def test_unreachable_mirror_is_502(self):
        dead = "https://127.0.0.1:%d/gh" % free_port()
        g = start_proxy(self, workers=1, metrics=True, sites=True,
                        extra='releases redirect to "%s" check\n' % dead)
        for path in (REL, REL_LATEST):
            with self.subTest(path=path):
                r = self.site(g, "GET", path, WEB)
                self.assertEqual(r.status, 502, r)
                self.assertNotIn("location", r.headers)
        self.assertNotForwarded(g, "a release while the mirror is down")
        self.wait_counted(g, "releases", ("deny", "502"), 2)


class CheckConfigTest(WebCase):
    """ghp -n on the policy statements."""

    def test_netrc_with_an_http_url_is_refused(self):
        g = Ghp(workers=1)
        self.addCleanup(g.cleanup)
        netrc = write_netrc(os.path.join(g.dir, "m.netrc"), "mirror.test",
                            "u", "p")
        line = g.append_config('releases redirect to "http://127.0.0.1:9/gh"'
                               ' check netrc "%s"' % netrc)
        rc, out, err = run_ghp("-n", "-f", g.conf)
        self.assertEqual(rc, 1, err)
        self.assertRegex(err, r"(?m)^%s:%d: .*netrc" %
                         (re.escape(g.conf), line))
        self.assertNotIn("configuration OK", err)

    def test_netrc_with_an_https_url_is_taken(self):
        g = Ghp(workers=1)
        self.addCleanup(g.cleanup)
        netrc = write_netrc(os.path.join(g.dir, "m.netrc"), "127.0.0.1",
                            "u", "p")
        g.append_config('releases redirect to "https://127.0.0.1:9/gh" '
                        'check netrc "%s" allow { "acme/*" }' % netrc)
        g.append_config('codeload redirect to "https://127.0.0.1:9/cl"')
        g.append_config('enterprise "%s"' % ENT_SLUG)
        rc, out, err = run_ghp("-n", "-f", g.conf)
        self.assertEqual(rc, 0, err)
        self.assertIn("configuration OK", err)

    def test_policy_errors_name_their_line(self):
        for bad in ('releases frob', 'codeload redirect "https://x.test"',
                    'releases block allow { "not a repo" }',
                    'releases redirect to "ftp://x.test/"',
                    'enterprise "bad slug!"'):
            with self.subTest(bad=bad):
                g = Ghp(workers=1)
                self.addCleanup(g.cleanup)
                line = g.append_config(bad)
                rc, out, err = run_ghp("-n", "-f", g.conf)
                self.assertEqual(rc, 1, err)
                self.assertRegex(err, r"(?m)^%s:%d: \S" %
                                 (re.escape(g.conf), line))


# ------------------------------------------------------- enterprise


class EnterpriseTest(WebCase):
    """`enterprise "acme-ent"`: the header reaches GitHub on API, git
    and Copilot requests, whatever the client sent; never on codeload
    or raw."""

    @classmethod
    def setUpClass(cls):
        cls.g = start_proxy(cls, workers=2, sites=True,
                            extra='enterprise "%s"\n' % ENT_SLUG)
        cls.tok, _ = cls.g.new_token("alice", "acme/widgets",
                                     "contents:read")

    def setUp(self):
        self.g.fake.clear()

    def one(self, site=None):
        recs = self.forwarded(self.g, 1)
        self.assertEqual(len(recs), 1, [(r["method"], r["target"])
                                        for r in recs])
        if site is not None:
            self.assertTrue(recs[0]["path"].startswith(
                self.prefix(self.g, site) + "/"), recs[0]["path"])
        return recs[0]

    CASES = (
        ("api", "api.github.com", "/repos/acme/widgets", 200, True),
        ("web", WEB, "/acme/widgets.git/info/refs?service=git-upload-pack",
         200, True),
        ("web", "ghp.test", "/acme/widgets/info/refs?service="
         "git-upload-pack", 200, True),
        ("codeload", CODELOAD, ARCHIVE, 200, False),
        ("raw", RAW, RAW_FILE, 200, False),
    )

    def test_header_where_it_belongs(self):
        for site, host, path, status, want in self.CASES:
            for sent in ([], [(ENT, "evil-ent")],
                         [(ENT, "evil-ent"), (ENT.upper(), "two")]):
                with self.subTest(host=host, path=path, sent=len(sent)):
                    self.g.fake.clear()
                    r = self.site(self.g, "GET", path, host, token=self.tok,
                                  headers=sent)
                    self.assertEqual(r.status, status, r)
                    rec = self.one(None if site == "api" else site)
                    self.assertEqual(header_values(rec, ENT),
                                     [ENT_SLUG] if want else [],
                                     rec["headers"])

    def test_header_on_copilot_passthrough(self):
        for sent in ([], [(ENT, "evil-ent")]):
            with self.subTest(sent=len(sent)):
                self.g.fake.clear()
                self.site(self.g, "POST", "/chat/completions", COPILOT,
                          auth="Bearer tid=abc;exp=1;sku=x",
                          headers=[("Content-Type", "application/json")]
                          + sent, body=b'{"messages": []}')
                rec = self.one("copilot")
                self.assertEqual(header_values(rec, ENT), [ENT_SLUG],
                                 rec["headers"])
                self.assertEqual(header_values(rec, "authorization"),
                                 ["Bearer tid=abc;exp=1;sku=x"])

    def test_header_on_git_push_discovery(self):
        tok, _ = self.g.new_token("alice", "acme/widgets", "contents:write")
        r = self.site(self.g, "GET", "/acme/widgets.git/info/refs?service="
                      "git-receive-pack", WEB, token=tok)
        self.assertEqual(r.status, 200, r)
        rec = self.one("web")
        self.assertEqual(header_values(rec, ENT), [ENT_SLUG])
        self.assertEqual(header_values(rec, "authorization"), [WEB_AUTH])


if __name__ == "__main__":
    unittest.main()
