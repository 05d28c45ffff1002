"""
test_proxy_mode.py: ghp as a forward proxy (`listen on ... proxy`,
HTTPS_PROXY mode).  Clients keep GitHub's real names and hold no
credential: they trust ghp's CA (`ghpctl ca export`), authenticate to the
proxy listener with `Proxy-Authorization: Basic agent:ghx_...`, and ghp
terminates TLS for the GitHub hosts it intercepts, then runs the
requests inside through its pipeline (routing by the CONNECT host, scope
check, swap, forward to the stand-in upstream, audit).

- curl with --proxy / HTTPS_PROXY and --cacert: in scope 200 with
  alice's real credential upstream; out of scope 403 (GitHub's shape);
  a host outside the policy refused at CONNECT (curl exit 56, "CONNECT
  tunnel failed, response 403"), audited, nothing forwarded; plain-HTTP
  forward requests by the same rules; the other GitHub hosts (raw,
  codeload) through their own routes;
- 407 with `Proxy-Authenticate: Basic realm="ghp"` and the connection
  closed for no, unreadable, foreign, unknown, expired and revoked proxy
  tokens; a token revoked while its tunnel is open is refused inside
  it; an agent token (gha_) works as the proxy token;
- the tool's own Authorization (GH_TOKEN=placeholder, a raw PAT) is
  dropped, never forwarded; a ghp token in it wins over the proxy's;
- inside a tunnel: keep-alive, a Host that is not the CONNECT host
  refused, Proxy-Authorization never forwarded; leaf certificates per
  intercepted host (SAN, serverAuth, signed by the exported CA, about 30
  days); many tunnels to one host, one after another and at once (the
  worker's cached leaf), no worker or keyholder lost;
- the real git (HTTPS_PROXY, http.sslCAInfo, no credential anywhere in
  its configuration): clone, fetch, push a commit and 30 MB, a push with
  a read-only token refused;
- the real gh (HTTPS_PROXY, SSL_CERT_FILE, GH_TOKEN=placeholder):
  `gh api repos/acme/widgets` in scope, refused out of scope;
- `ghpctl ca export`: PEM that openssl parses, the files ca.crt (0644)
  and ca.key (0600) in the state directory, the same CA after a
  restart and a reload, one CA per daemon.

A tool that is not installed skips its tests (curl, git, gh, openssl);
nothing else does.  Run with tests/integration/run_all.py (or python3 -m
unittest from this directory).
"""

import base64
import datetime
import json
import os
import stat
import threading
import unittest

from agent_case import APPS, agent_token
from harness import basic_auth
from http_client import ended
from proxy_case import CRED_ALICE, CRED_BOB, make_token
from proxy_mode_case import (INTERCEPTED, ProxyModeCase, TunnelConn,
                             cert_dates, export_ca, json_body, openssl_x509,
                             proxy_auth, run_curl, run_gh, socket_closed,
                             start_proxy_mode, tool_missing)
from web_case import auth_values, git_tokens, header_values, x_access_basic


API = "https://api.github.com"
REPO_URL = API + "/repos/acme/widgets"
TOKEN_AUTH = "token " + CRED_ALICE
RAW_FILE = "/acme/widgets/main/README.md"
ARCHIVE = "/acme/widgets/tar.gz/main"
GIT_URL = "https://github.com/acme/widgets.git"


def needs(*tools):
    missing = tool_missing(*tools)
    return unittest.skipIf(missing is not None,
                           "%s is not installed" % missing)


class ProxyModeTest(ProxyModeCase):
    """One daemon with a proxy listener for the class (sites, `block
    tokens`, logs); the fake's records are cleared before each test."""

    @classmethod
    def setUpClass(cls):
        cls.g = start_proxy_mode(cls, workers=2, apps=[APPS[0]])
        cls.read_tok, cls.read_tid = cls.g.new_token(
            "alice", "acme/widgets", "contents:read")
        cls.gadgets_tok, _ = cls.g.new_token("alice", "acme/gadgets",
                                             "contents:read")

    def setUp(self):
        super().setUp()
        self.g.fake.clear()
        self.ca = export_ca(self.g, self.tool.dir)

    def curl(self, url, token=None, args=(), env=None, proxy=True):
        """curl through the proxy listener (with token in its URL)."""
        p = self.g.proxy_url(token) if proxy is True else proxy
        return run_curl(self.tool, url, proxy=p, cacert=self.ca,
                        args=args, env=env)

    def tunnel(self, host, token=None, auth=None, port=443):
        """A TunnelConn through which TLS to host is up (CONNECT
        answered 200); closed with the test."""
        c = TunnelConn(self.g)
        self.addCleanup(c.close)
        if auth is None and token is not None:
            auth = proxy_auth(token)
        r = c.connect("%s:%d" % (host, port), auth)
        self.assertEqual(r.status, 200, "CONNECT %s:%d: %r" % (host, port,
                                                                r))
        c.cert = c.start_tls(host, self.ca)
        return c

    def connect_refused(self, target, auth, status):
        """CONNECT target refused with status, the connection closed."""
        c = TunnelConn(self.g)
        self.addCleanup(c.close)
        r = c.connect(target, auth)
        self.assertEqual(r.status, status, "CONNECT %s: %r" % (target, r))
        self.assertTrue(socket_closed(c), "CONNECT %s answered %d but the "
                        "connection stayed open" % (target, status))
        return r

    # ---- curl, in and out of scope

    @needs("curl")
    def test_curl_in_scope_reaches_github_with_alices_credential(self):
        g = self.g
        c = self.curl(REPO_URL, self.read_tok)
        self.assertEqual((c.rc, c.status), (0, 200), c)
        self.assertEqual(c.json()["full_name"], "acme/widgets")
        recs = self.forwarded(g, 1)
        self.assertEqual(len(recs), 1, recs)
        self.assertEqual(recs[0]["site"], "api")
        self.assertEqual(recs[0]["path"], "/repos/acme/widgets")
        self.assertAuthorizationWas(recs[0], TOKEN_AUTH)
        self.assertEqual(recs[0]["login"], "alice")
        self.assertEqual(g.fake.find(self.read_tok), [])
        self.assertEqual(g.fake.find(self.read_tok[:12]), [])
        self.assertEqual(g.fake.find(basic_auth("agent", self.read_tok)),
                         [])

        def audited():
            return [a for a in self.audit_records(g) if
                    a.get("decision") == "allow" and
                    a.get("repository") == "acme/widgets" and
                    a.get("path") == "/repos/acme/widgets" and
                    a.get("token_id") == self.read_tid]
        g.wait_for(audited, 10, "an audit record of the tunnelled request")
        self.assertTokenNowhere(g, self.read_tok)

    @needs("curl")
    def test_curl_with_https_proxy_in_the_environment(self):
        c = run_curl(self.tool, REPO_URL, cacert=self.ca, args=["-v"],
                     env={"HTTPS_PROXY": self.g.proxy_url(self.read_tok),
                          "https_proxy": self.g.proxy_url(self.read_tok)})
        self.assertEqual((c.rc, c.status), (0, 200), c)
        self.assertEqual(c.json()["full_name"], "acme/widgets")
        # curl went through the proxy listener and checked the leaf.
        self.assertIn("CONNECT api.github.com:443", c.stderr)
        self.assertIn('subjectAltName: host "api.github.com" matched',
                      c.stderr)
        self.assertAuthorizationWas(self.forwarded(self.g, 1)[0],
                                    TOKEN_AUTH)

    @needs("curl")
    def test_curl_out_of_scope_is_refused_in_githubs_shape(self):
        g = self.g
        c = self.curl(API + "/repos/acme/gadgets", self.read_tok)
        self.assertCurlGitHubError(c, 403, "acme/gadgets")
        c = self.curl(REPO_URL + "/issues", self.read_tok, args=[
            "-X", "POST", "-H", "Content-Type: application/json",
            "--data-binary", '{"title": "not allowed"}'])
        self.assertCurlGitHubError(c, 403, "issues:write", "acme/widgets")
        self.assertNotForwarded(g, "requests outside the token's scope")

    @needs("curl")
    def test_curl_host_outside_the_policy_is_refused_at_connect(self):
        g = self.g
        c = self.curl("https://example.com/", self.read_tok)
        self.assertEqual(c.rc, 56, c)
        self.assertIn("CONNECT tunnel failed, response 403", c.stderr)
        self.assertNotForwarded(g, "a CONNECT to example.com")

        def audited():
            return [a for a in self.audit_records(g) if
                    a.get("decision") == "deny" and
                    "example.com" in json.dumps(a)]
        g.wait_for(audited, 10, "an audit record (deny) of the CONNECT "
                   "to example.com")

    @needs("curl")
    def test_other_github_hosts_through_their_own_routes(self):
        g = self.g
        c = self.curl("https://raw.githubusercontent.com" + RAW_FILE,
                      self.read_tok)
        self.assertEqual((c.rc, c.status), (0, 200), c)
        self.assertTrue(c.body.startswith(b"# widgets"), c.body[:100])
        c = self.curl("https://codeload.github.com" + ARCHIVE,
                      self.read_tok)
        self.assertEqual((c.rc, c.status), (0, 200), c)
        self.assertEqual(c.body[:2], b"\x1f\x8b", "not a gzip archive")
        recs = self.forwarded(g, 2)
        self.assertEqual(sorted((x["site"], x["site_path"]) for x in recs),
                         [("codeload", ARCHIVE), ("raw", RAW_FILE)])
        for x in recs:
            self.assertEqual(auth_values(x), [TOKEN_AUTH], x["target"])
        c = self.curl("https://raw.githubusercontent.com/acme/gadgets/main/"
                      "README.md", self.read_tok)
        self.assertCurlGitHubError(c, 403, "acme/gadgets")

    @needs("curl")
    def test_plain_http_forward_requests(self):
        g = self.g
        c = self.curl("http://api.github.com/repos/acme/widgets",
                      self.read_tok)
        self.assertEqual((c.rc, c.status), (0, 200), c)
        self.assertEqual(c.json()["full_name"], "acme/widgets")
        recs = self.forwarded(g, 1)
        self.assertEqual(len(recs), 1, recs)
        self.assertAuthorizationWas(recs[0], TOKEN_AUTH)
        self.assertEqual(header_values(recs[0], "Proxy-Authorization"), [])
        self.assertEqual(g.fake.find(self.read_tok), [])
        g.fake.clear()
        c = self.curl("http://api.github.com/repos/acme/gadgets",
                      self.read_tok)
        self.assertCurlGitHubError(c, 403, "acme/gadgets")
        c = self.curl("http://example.com/", self.read_tok)
        self.assertEqual((c.rc, c.status), (0, 403), c)
        self.assertIsInstance(c.json(), dict)
        c = self.curl("http://api.github.com/repos/acme/widgets")
        self.assertEqual((c.rc, c.status), (0, 407), c)
        self.assertEqual(c.headers.get("proxy-authenticate"),
                         'Basic realm="ghp"', c.headers)
        self.assertNotForwarded(g, "refused plain-HTTP forward requests")

    # ---- CONNECT refused

    def test_connect_to_other_hosts_and_ports_is_403(self):
        g = self.g
        st = g.status()
        kh, workers = g.keyholder_pid(st), g.worker_pids(st)
        auth = proxy_auth(self.read_tok)
        for target in ("example.com:443", "api.github.com:8443",
                       "github.com:22", "github.com.example.com:443",
                       "127.0.0.1:%d" % g.port):
            with self.subTest(target=target):
                r = self.connect_refused(target, auth, 403)
                self.assertIsInstance(json_body(r), dict)
        self.assertNotForwarded(g, "refused CONNECTs")
        # No certificate was asked of the keyholder for these names, and
        # nobody fell over.
        self.assertKeyholderAndWorkersSurvived(g, kh, workers)
        # An intercepted host still gets its tunnel.
        self.tunnel("api.github.com", self.read_tok)

    # ---- 407

    def test_proxy_authentication_required(self):
        g = self.g
        cases = [
            ("no Proxy-Authorization", None),
            ("unreadable Basic", "Basic !!!not-base64"),
            ("Basic of garbage", "Basic " + base64.b64encode(
                b"agent:not-a-token").decode()),
            ("another scheme", "Digest username=agent"),
            ("empty password", basic_auth("agent", "")),
            ("a raw GitHub credential", basic_auth("agent", CRED_ALICE)),
            ("a token ghp never issued", basic_auth("agent", make_token())),
            ("an agent token ghp never issued",
             basic_auth("agent", make_token("gha_"))),
            ("a garbled token", basic_auth("agent", self.read_tok[:-1])),
        ]
        for what, auth in cases:
            with self.subTest(what=what):
                r = self.connect_refused("api.github.com:443", auth, 407)
                self.assertProxyAuthRequired(r, what)
        self.assertNotForwarded(g, "CONNECTs without a good proxy token")

    @needs("curl")
    def test_curl_without_a_proxy_token_gets_407(self):
        c = self.curl(REPO_URL, proxy=self.g.proxy_url())
        self.assertEqual(c.rc, 56, c)
        self.assertIn("CONNECT tunnel failed, response 407", c.stderr)
        c = self.curl(REPO_URL, make_token())
        self.assertEqual(c.rc, 56, c)
        self.assertIn("response 407", c.stderr)
        self.assertNotForwarded(self.g, "curl without a good proxy token")

    @needs("curl")
    def test_revoked_token_gets_407(self):
        g = self.g
        tok, tid = g.new_token("alice", "acme/widgets", "contents:read")
        c = self.curl(REPO_URL, tok)
        self.assertEqual((c.rc, c.status), (0, 200), c)
        rc, out, err = g.ctl("token", "revoke", str(tid))
        self.assertEqual(rc, 0, err)
        g.fake.clear()
        c = self.curl(REPO_URL, tok)
        self.assertEqual(c.rc, 56, c)
        self.assertIn("CONNECT tunnel failed, response 407", c.stderr)
        r = self.connect_refused("api.github.com:443", proxy_auth(tok), 407)
        self.assertProxyAuthRequired(r, "a revoked token")
        self.assertNotForwarded(g, "a revoked proxy token")

    def test_expired_token_gets_407(self):
        g = self.g
        tok, _ = g.new_token("alice", "acme/widgets", "contents:read",
                             "--ttl", "1")

        def refused():
            c = TunnelConn(g)
            try:
                r = c.connect("api.github.com:443", proxy_auth(tok))
            finally:
                c.close()
            return r if r.status == 407 else None
        r = g.wait_for(refused, 30, "a 407 for an expired proxy token",
                       interval=0.2)
        self.assertProxyAuthRequired(r, "an expired token")
        self.assertNotForwarded(g, "an expired proxy token")

    def test_token_revoked_while_its_tunnel_is_open(self):
        g = self.g
        tok, tid = g.new_token("alice", "acme/widgets", "contents:read")
        c = self.tunnel("api.github.com", tok)
        hdrs = [("Host", "api.github.com"), ("User-Agent", "ghp-it")]
        c.request("GET", "/repos/acme/widgets", hdrs)
        self.assertEqual(c.read_response().status, 200)
        rc, out, err = g.ctl("token", "revoke", str(tid))
        self.assertEqual(rc, 0, err)
        g.fake.clear()
        # Every worker has dropped the token once "revoked" is said: the
        # tunnel it opened is closed by then.
        self.assertTrue(ended(c, "GET", "/repos/acme/widgets", hdrs),
                        "the tunnel of a revoked token stayed open")
        self.assertNotForwarded(g, "a request in the tunnel of a revoked "
                                "token")

    @needs("curl")
    def test_agent_token_as_the_proxy_token(self):
        g = self.g
        tok = agent_token(g, "acme/widgets", "contents:read")
        c = self.curl(REPO_URL, tok)
        self.assertEqual((c.rc, c.status), (0, 200), c)
        self.assertEqual(c.json()["full_name"], "acme/widgets")
        recs = [x for x in self.forwarded(g, 1)
                if x.get("path") == "/repos/acme/widgets"]
        self.assertEqual(len(recs), 1, g.fake.requests())
        self.assertEqual(recs[0]["login"], "agents[bot]")
        self.assertEqual(g.fake.find(tok), [])
        c = self.curl(API + "/repos/acme/gadgets", tok)
        self.assertCurlGitHubError(c, 403, "acme/gadgets")

    # ---- the tool's own Authorization

    @needs("curl")
    def test_placeholder_authorization_never_reaches_github(self):
        g = self.g
        for auth in ("token placeholder", "Bearer placeholder",
                     basic_auth("placeholder", "x-oauth-basic"),
                     "token " + CRED_BOB):
            with self.subTest(auth=auth[:20]):
                g.fake.clear()
                c = self.curl(REPO_URL, self.read_tok,
                              args=["-H", "Authorization: " + auth])
                self.assertEqual((c.rc, c.status), (0, 200), c)
                recs = self.forwarded(g, 1)
                self.assertEqual(len(recs), 1, recs)
                self.assertAuthorizationWas(recs[0], TOKEN_AUTH)
                self.assertEqual(recs[0]["login"], "alice")
                self.assertEqual(g.fake.find("placeholder"), [])
                self.assertEqual(g.fake.find(CRED_BOB), [])

    def test_a_ghp_token_in_authorization_wins(self):
        g = self.g
        c = self.tunnel("api.github.com", self.read_tok)
        hdrs = [("Host", "api.github.com"), ("User-Agent", "ghp-it"),
                ("Authorization", "token " + self.gadgets_tok)]
        c.request("GET", "/repos/acme/gadgets", hdrs)
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(json_body(r)["full_name"], "acme/gadgets")
        # ... and its scope, not the proxy token's, is what counts.
        c.request("GET", "/repos/acme/widgets", hdrs)
        r = c.read_response()
        self.assertGitHubError(r, 403, "acme/widgets")
        recs = self.forwarded(g, 1)
        self.assertEqual([x["path"] for x in recs], ["/repos/acme/gadgets"])
        self.assertAuthorizationWas(recs[0], TOKEN_AUTH)
        self.assertEqual(g.fake.find(self.gadgets_tok), [])

    # ---- inside a tunnel

    def test_proxy_authorization_inside_a_tunnel_is_not_forwarded(self):
        g = self.g
        c = self.tunnel("api.github.com", self.read_tok)
        c.request("GET", "/repos/acme/widgets", [
            ("Host", "api.github.com"), ("User-Agent", "ghp-it"),
            ("Proxy-Authorization", proxy_auth(self.read_tok))])
        self.assertEqual(c.read_response().status, 200)
        recs = self.forwarded(g, 1)
        self.assertEqual(len(recs), 1, recs)
        self.assertEqual(header_values(recs[0], "Proxy-Authorization"), [])
        self.assertAuthorizationWas(recs[0], TOKEN_AUTH)
        self.assertEqual(g.fake.find(self.read_tok), [])

    def test_keep_alive_inside_a_tunnel(self):
        g = self.g
        c = self.tunnel("api.github.com", self.read_tok)
        hdrs = [("Host", "api.github.com"), ("User-Agent", "ghp-it")]
        for path in ("/repos/acme/widgets",
                     "/repos/acme/widgets/contents/README.md",
                     "/repos/acme/widgets"):
            c.request("GET", path, hdrs)
            r = c.read_response()
            self.assertEqual(r.status, 200, "%s: %r" % (path, r))
        recs = self.forwarded(g, 3)
        self.assertEqual(len(recs), 3, recs)
        for x in recs:
            self.assertAuthorizationWas(x, TOKEN_AUTH)

    def test_many_tunnels_to_the_same_host(self):
        """The second and later CONNECTs to a host find its leaf in the
        worker's cache (and the token in its token cache): each still
        gets its tunnel and its answer, sequentially and at once, and no
        worker falls over (under ASan a use after free there is fatal)."""
        g = self.g
        st = g.status()
        kh, workers = g.keyholder_pid(st), g.worker_pids(st)
        hdrs = [("Host", "api.github.com"), ("User-Agent", "ghp-it")]
        for i in range(3 * len(workers) + 2):
            c = self.tunnel("api.github.com", self.read_tok)
            c.request("GET", "/repos/acme/widgets", hdrs)
            r = c.read_response()
            self.assertEqual(r.status, 200, "tunnel %d: %r" % (i, r))
            c.close()
        errors = []

        def one(host):
            try:
                c = TunnelConn(g)
                try:
                    r = c.connect(host + ":443", proxy_auth(self.read_tok))
                    if r.status != 200:
                        errors.append("%s: CONNECT %r" % (host, r))
                        return
                    c.start_tls(host, self.ca)
                finally:
                    c.close()
            except Exception as e:      # reported below
                errors.append("%s: %r" % (host, e))
        threads = [threading.Thread(target=one, args=(h,))
                   for h in INTERCEPTED * 4]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(errors, [])
        self.assertKeyholderAndWorkersSurvived(g, kh, workers)

    def test_a_host_other_than_the_connect_host_is_refused(self):
        g = self.g
        for host in ("github.com", "example.com", "api.github.com.evil"):
            with self.subTest(host=host):
                c = self.tunnel("api.github.com", self.read_tok)
                c.request("GET", "/repos/acme/widgets",
                          [("Host", host), ("User-Agent", "ghp-it"),
                           ("Connection", "close")])
                r = c.read_response()
                self.assertIn(r.status, (400, 421), r)
        self.assertNotForwarded(g, "a Host that is not the CONNECT host")

    @needs("openssl")
    def test_leaf_certificates_per_intercepted_host(self):
        g = self.g
        st = g.status()
        kh, workers = g.keyholder_pid(st), g.worker_pids(st)
        with open(self.ca) as f:
            ca_pem = f.read()
        rc, ca_subject, err = openssl_x509(ca_pem, "-subject",
                                           "-nameopt", "RFC2253")
        self.assertEqual(rc, 0, err)
        ca_subject = ca_subject.strip().partition("=")[2]
        now = datetime.datetime.now(datetime.timezone.utc)
        for host in INTERCEPTED:
            with self.subTest(host=host):
                # start_tls() verified the chain to the exported CA and
                # the name.
                der = self.tunnel(host, self.read_tok).cert
                rc, out, err = openssl_x509(
                    der, "-ext", "subjectAltName,extendedKeyUsage,"
                    "basicConstraints", der=True)
                self.assertEqual(rc, 0, err)
                self.assertIn("DNS:" + host, out)
                sans = [s.strip() for line in out.splitlines()
                        for s in line.split(",") if "DNS:" in s or
                        "IP Address:" in s]
                self.assertEqual(sans, ["DNS:" + host], out)
                self.assertIn("TLS Web Server Authentication", out)
                self.assertNotIn("CA:TRUE", out)
                rc, issuer, err = openssl_x509(der, "-issuer", "-nameopt",
                                               "RFC2253", der=True)
                self.assertEqual(issuer.strip().partition("=")[2],
                                 ca_subject)
                nb, na = cert_dates(der)
                self.assertLessEqual(nb, now + datetime.timedelta(
                    minutes=5))
                self.assertGreater(na, now + datetime.timedelta(days=20))
                self.assertLessEqual(na - nb, datetime.timedelta(days=32))
        # The same host again: a certificate that still verifies.
        self.tunnel("api.github.com", self.read_tok)
        self.assertKeyholderAndWorkersSurvived(g, kh, workers)

    # ---- gh

    @needs("gh")
    def test_gh_api_in_scope_with_a_placeholder_token(self):
        g = self.g
        p = run_gh(self.tool, g, self.read_tok, self.ca, "api",
                   "repos/acme/widgets")
        self.assertEqual(p.returncode, 0, "gh api: %s%s" % (p.stdout,
                                                             p.stderr))
        self.assertEqual(json.loads(p.stdout)["full_name"], "acme/widgets")
        recs = [x for x in self.forwarded(g, 1) if x["site"] == "api"]
        self.assertTrue(recs)
        for x in recs:
            self.assertAuthorizationWas(x, TOKEN_AUTH)
            self.assertEqual(x["login"], "alice")
        self.assertIn("/repos/acme/widgets", [x["path"] for x in recs])
        self.assertEqual(g.fake.find("placeholder"), [])
        self.assertEqual(g.fake.find(self.read_tok), [])

    @needs("gh")
    def test_gh_api_out_of_scope_is_refused(self):
        g = self.g
        p = run_gh(self.tool, g, self.read_tok, self.ca, "api",
                   "repos/acme/gadgets")
        self.assertNotEqual(p.returncode, 0, "gh api acme/gadgets should "
                            "have failed: %s" % p.stdout)
        self.assertIn("403", p.stderr)
        self.assertIn("acme/gadgets", p.stdout + p.stderr)
        self.assertNotForwarded(g, "gh api outside the scope")
        p = run_gh(self.tool, g, self.read_tok, self.ca, "api", "-X",
                   "POST", "repos/acme/widgets/issues", "-f", "title=x")
        self.assertNotEqual(p.returncode, 0, "gh api POST issues should "
                            "have failed: %s" % p.stdout)
        self.assertIn("403", p.stderr)
        self.assertNotForwarded(g, "gh api POST without issues:write")

    @needs("gh")
    def test_gh_with_a_bad_proxy_token_fails(self):
        p = run_gh(self.tool, self.g, make_token(), self.ca, "api",
                   "repos/acme/widgets")
        self.assertNotEqual(p.returncode, 0, p.stdout)
        # Go says "Proxy Authentication Required" (407's reason).
        self.assertTrue("407" in p.stderr or "Proxy Authentication "
                        "Required" in p.stderr, p.stderr)
        self.assertNotForwarded(self.g, "gh with an unknown proxy token")


@needs("git")
class ProxyGitTest(ProxyModeCase):
    """The real git client with HTTPS_PROXY and ghp's CA, no credential
    in its configuration at all: the token is only in the proxy URL."""

    @classmethod
    def setUpClass(cls):
        cls.g = start_proxy_mode(cls, workers=2)
        cls.read_tok, cls.write_tok = git_tokens(cls.g)

    def setUp(self):
        super().setUp()
        self.g.fake.clear()
        self.ca = export_ca(self.g, self.git.dir)

    def git_as(self, token, *args, cwd=None, env_proxy=True, config=()):
        """git ARGS through the proxy listener: HTTPS_PROXY in the
        environment (or -c http.proxy=... with env_proxy=False) and
        http.sslCAInfo; no credential helper, no prompt."""
        url = self.g.proxy_url(token)
        env = {"NO_PROXY": "", "no_proxy": ""}
        cfg = ["http.sslCAInfo=" + self.ca] + list(config)
        if env_proxy:
            env.update({"HTTPS_PROXY": url, "https_proxy": url})
        else:
            cfg.append("http.proxy=" + url)
        return self.git.run(*args, cwd=cwd, config=cfg, env=env)

    def clone(self, token, url=GIT_URL, dest="w", **kw):
        return self.git_as(token, "clone", "-q", url, dest, **kw)

    def assertNoCredentialConfigured(self, token, repo_dir):
        """Neither the repository's config nor anything under HOME holds
        the token; the remote is GitHub's plain URL."""
        with open(os.path.join(repo_dir, ".git", "config")) as f:
            text = f.read()
        self.assertNotIn(token, text)
        self.assertNotIn("[credential", text)
        r = self.git.run("config", "--get", "remote.origin.url",
                         cwd=repo_dir)
        self.assertEqual(r.stdout.strip(), GIT_URL)
        for root, _, files in os.walk(self.git.home):
            for n in files:
                with open(os.path.join(root, n), "rb") as f:
                    self.assertNotIn(token.encode(), f.read(),
                                     os.path.join(root, n))

    def test_clone_and_fetch_through_the_proxy(self):
        g = self.g
        w = self.clone_checked(g, self.read_tok, "clone through HTTPS_PROXY")
        self.assertNoCredentialConfigured(self.read_tok, w)
        recs = self.site_records(g, "web", 2)
        self.assertTrue(recs)
        for x in recs:
            self.assertEqual(auth_values(x), [x_access_basic(CRED_ALICE)],
                             x["target"])
        self.assertEqual(g.fake.find(self.read_tok), [])
        # A new commit on GitHub; fetch with -c http.proxy instead.
        sha = g.fake.git_seed("acme/widgets", {"news.txt": "fetched\n"})
        r = self.git_as(self.read_tok, "fetch", "-q", "origin", cwd=w,
                        env_proxy=False)
        self.assertGitOK(r, "fetch with http.proxy")
        self.assertEqual(self.git.head(w, "origin/main"), sha)
        self.assertEqual(g.fake.find(self.read_tok), [])

    def test_push_a_commit(self):
        g = self.g
        self.assertGitOK(self.clone(self.write_tok), "clone")
        w = self.git.path("w")
        head = self.git.commit_file(w, "pushed.txt", b"through the proxy\n")
        r = self.git_as(self.write_tok, "push", "-q", "origin", "main", cwd=w)
        self.assertGitOK(r, "push")
        self.assertEqual(g.fake.git_refs("acme/widgets")["refs/heads/main"],
                         head)
        packs = [x for x in self.site_records(g, "web", 1)
                 if x["site_path"].endswith("/git-receive-pack")]
        self.assertTrue(packs)
        for x in packs:
            self.assertEqual(auth_values(x), [x_access_basic(CRED_ALICE)])
        self.assertEqual(g.fake.find(self.write_tok), [])
        self.assertNoCredentialConfigured(self.write_tok, w)

    def test_push_30mb(self):
        g = self.g
        p = self.push_30mb(g, self.write_tok, 2, "push of 30 MB")
        self.assertEqual(p["status"], 200)
        self.assertEqual(auth_values(p), [x_access_basic(CRED_ALICE)])
        self.assertEqual(g.fake.find(self.write_tok), [])

    def test_push_with_a_read_only_token_is_refused(self):
        self.assertPushRefused(self.g, self.read_tok)

    def test_clone_outside_the_scope_is_refused(self):
        r = self.clone(self.read_tok, "https://github.com/acme/gadgets.git",
                       "gadgets")
        self.assertGitFailed(r, "403", what="clone of acme/gadgets")
        self.assertNothingReached(self.g, None, "a clone outside the scope")

    def test_clone_with_an_unknown_proxy_token_fails(self):
        r = self.clone(make_token())
        self.assertGitFailed(r, what="clone with an unknown proxy token")
        self.assertIn("407", r.stderr)
        self.assertNothingReached(self.g, None, "an unknown proxy token")


@needs("openssl")
class ProxyCATest(ProxyModeCase):
    """ghp's CA: made on first start, exported, kept across restarts."""

    def ca_files(self, g):
        """{name: path} of ca.crt and ca.key under the state directory."""
        found = {}
        for root, _, files in os.walk(g.state_dir):
            for n in ("ca.crt", "ca.key"):
                if n in files:
                    found.setdefault(n, os.path.join(root, n))
        return found

    def test_ca_export_is_one_pem_ca_certificate(self):
        g = start_proxy_mode(self, workers=1)
        rc, pem, err = g.ctl("ca", "export")
        self.assertEqual(rc, 0, err)
        self.assertTrue(pem.startswith("-----BEGIN CERTIFICATE-----"), pem)
        self.assertEqual(pem.count("-----BEGIN CERTIFICATE-----"), 1, pem)
        self.assertNotIn("PRIVATE KEY", pem)
        rc, out, err = openssl_x509(pem, "-subject", "-fingerprint",
                                    "-sha256", "-ext", "basicConstraints")
        self.assertEqual(rc, 0, "openssl x509: %s" % err)
        self.assertIn("CA:TRUE", out)
        self.assertEqual(len([l for l in out.splitlines()
                              if "Fingerprint" in l]), 1, out)

    def test_ca_files_in_the_state_directory(self):
        """ca.crt 0644 and ca.key 0600 in the state directory."""
        # ca.crt is what ghpctl ca export prints; the key is nowhere in
        # the log.
        g = start_proxy_mode(self, workers=1)
        rc, pem, err = g.ctl("ca", "export")
        self.assertEqual(rc, 0, err)
        files = self.ca_files(g)
        self.assertEqual(sorted(files), ["ca.crt", "ca.key"], files)
        self.assertEqual(os.path.dirname(files["ca.crt"]), g.state_dir)
        self.assertEqual(os.path.dirname(files["ca.key"]), g.state_dir)
        with open(files["ca.crt"]) as f:
            self.assertEqual(f.read().strip(), pem.strip())
        with open(files["ca.key"], "rb") as f:
            key = f.read()
        self.assertIn(b"PRIVATE KEY", key)
        self.assertNotIn(key.strip(), g.log().encode())
        self.assertEqual(
            oct(stat.S_IMODE(os.stat(files["ca.key"]).st_mode)), "0o600")
        self.assertEqual(
            oct(stat.S_IMODE(os.stat(files["ca.crt"]).st_mode)), "0o644")

    def test_the_same_ca_after_a_restart(self):
        g = start_proxy_mode(self, workers=1)
        rc, pem, err = g.ctl("ca", "export")
        self.assertEqual(rc, 0, err)
        files = self.ca_files(g)
        with open(files["ca.key"], "rb") as f:
            key = f.read()
        g.stop()
        g.start()
        rc, pem2, err = g.ctl("ca", "export")
        self.assertEqual(rc, 0, err)
        self.assertEqual(pem2, pem, "the CA changed across a restart")
        with open(files["ca.key"], "rb") as f:
            self.assertEqual(f.read(), key, "the CA key changed")

    @needs("curl")
    def test_the_exported_ca_verifies_after_a_restart(self):
        g = start_proxy_mode(self, workers=1)
        tok, _ = g.new_token("alice", "acme/widgets", "contents:read")
        ca = export_ca(g, self.tool.dir)
        g.stop()
        g.start()
        c = run_curl(self.tool, REPO_URL, proxy=g.proxy_url(tok), cacert=ca)
        self.assertEqual((c.rc, c.status), (0, 200), c)
        self.assertAuthorizationWas(self.forwarded(g, 1)[-1], TOKEN_AUTH)

    @needs("curl")
    def test_a_reload_keeps_the_proxy_listener_and_the_ca(self):
        g = start_proxy_mode(self, workers=2)
        tok, _ = g.new_token("alice", "acme/widgets", "contents:read")
        ca = export_ca(g, self.tool.dir)
        with open(ca) as f:
            pem = f.read()
        c = run_curl(self.tool, REPO_URL, proxy=g.proxy_url(tok), cacert=ca)
        self.assertEqual((c.rc, c.status), (0, 200), c)
        gen = g.status()["generation"]
        rc, out, err = g.reload()
        self.assertEqual(rc, 0, err)
        g.wait_ready(generation=gen + 1)
        rc, pem2, err = g.ctl("ca", "export")
        self.assertEqual((rc, pem2), (0, pem), err)
        g.fake.clear()
        c = run_curl(self.tool, REPO_URL, proxy=g.proxy_url(tok), cacert=ca)
        self.assertEqual((c.rc, c.status), (0, 200), c)
        self.assertAuthorizationWas(self.forwarded(g, 1)[0], TOKEN_AUTH)

    def test_two_daemons_have_their_own_cas(self):
        a = start_proxy_mode(self, workers=1)
        b = start_proxy_mode(self, workers=1)
        ra, pa, _ = a.ctl("ca", "export")
        rb, pb, _ = b.ctl("ca", "export")
        self.assertEqual((ra, rb), (0, 0))
        self.assertNotEqual(pa, pb)


if __name__ == "__main__":
    unittest.main()
