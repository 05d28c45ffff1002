"""
test_proxy_tunnel.py: ghp's forward proxy for hosts other than GitHub's
(ghp.conf: `proxy policy`, `proxy allow`, `proxy tunnel timeout`,
`intercept` blocks):

- tunnels (CONNECT host:port to a host `proxy allow` names, or any with
  `proxy policy permissive`): "200 Connection established", then bytes
  copied both ways unchanged (plain HTTP, TLS end to end with the
  target's own certificate, 5 MB each way, bytes sent with the CONNECT,
  IPv6), the tunnel ending when either side closes, after `idle timeout`
  of silence, after `proxy tunnel timeout` in all; refused hosts 403
  (JSON, audited), an unknown name or a refused connection 502, no or a
  bad proxy token 407; GitHub's hosts and intercepted ones never
  tunnelled; the metrics counters;
- plain-HTTP forward requests (absolute form) to a host a tunnel could
  go to: passed as they are, Authorization and all, without
  Proxy-Authorization; to other hosts 403;
- intercept blocks: TLS terminated with a leaf from ghp's CA, the stored
  credential put into the named headers (the client's own dropped) and
  in place of placeholders in header values and in small bodies (up to
  64 KiB with a Content-Length; larger and chunked bodies untouched),
  `via` (and the host's own address without it), a missing credential
  502, a revoked proxy token 401 inside the tunnel, the credential in no
  log;
- reload and stop: a tunnel open at a reload goes on in the old
  generation while new CONNECTs follow the new config; a stop cuts it;
  intercept blocks reordered by a reload keep each host's credential, a
  block added by one is not signed for until a restart;
- `ghp -n`: bad proxy and intercept statements refused naming
  file:line; `ghp -nv` prints the good ones back.

Targets are local servers (tunnel_case.py); the HTTPS ones have
certificates from a TestCA (tests/upstream/fake_sites.py), which is what
ghp's `upstream ca` names for intercepted hosts.  Needs curl and openssl
(skipped without).  Run with tests/integration/run_all.py (or python3 -m
unittest from this directory).
"""

import base64
import json
import os
import re
import subprocess
import threading
import unittest

from fake_github import TestCA
from harness import Ghp, free_port, have_ipv6, run_ghp
from http_client import ended
from observe_case import parse_prometheus, series
from proxy_case import ProxyCase, read_json_lines, start_proxy
from tunnel_case import (PROXY_REALM, Curl, ProxyConn, RawServer,
                         TargetServer, blob, have_tool, header_values,
                         proxy_auth, sha256, wait_until)

MB = 1 << 20
KB = 1 << 10
BODY_MAX = 64 * KB      # the largest body whose placeholders ghp replaces

REFUSED_MSG = "ghp: this proxy does not go to that host"
TUNNEL_REASON = "CONNECT: tunnelled as it is"
FORWARD_REASON = "forwarded as it is (proxy allow)"

# Intercept blocks: the stored credentials (never in any log) and the
# placeholders clients hold instead.
CRED_EXAMPLE = "sk-example-REALSECRET-7f3a9c1e5b"
CRED_ORG = "org-REALSECRET-0c4d8e2f6a"
PH_EXAMPLE = "PLACEHOLDER_EXAMPLE_KEY"
PH_ORG = "ORG_PLACEHOLDER_0123"

needs_curl = unittest.skipUnless(have_tool("curl"), "curl is not installed")


def needs_openssl(cls):
    return unittest.skipUnless(have_tool("openssl"),
                               "openssl is not installed")(cls)


def export_ca(g, path):
    """`ghpctl ca export` into path."""
    rc, out, err = g.ctl("ca", "export")
    if rc != 0 or "BEGIN CERTIFICATE" not in out:
        raise AssertionError("ghpctl ca export: exit %d: %s%s" %
                             (rc, out[:200], err))
    with open(path, "w") as f:
        f.write(out)
    return path


def cert_text(der):
    """openssl's subjectAltName and issuer lines of a DER certificate."""
    r = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout",
                        "-ext", "subjectAltName", "-issuer"], input=der,
                       capture_output=True, timeout=60)
    return r.stdout.decode("utf-8", "replace")


class TunnelCase(ProxyCase):
    """A ProxyCase with a Curl per test, the daemon's workers checked
    to have survived each test, and audit look-ups."""

    g = None

    def setUp(self):
        super().setUp()
        self.curl = Curl()
        self.addCleanup(self.curl.cleanup)
        if self.g is not None:
            st = self.g.status()
            self._pids = (self.g.keyholder_pid(st),
                          sorted(self.g.worker_pids(st)))
            self.addCleanup(self._survived)

    def _survived(self):
        st = self.g.status()
        self.assertEqual((self.g.keyholder_pid(st),
                          sorted(self.g.worker_pids(st))), self._pids,
                         "the keyholder or a worker changed during the "
                         "test\n%s" % self.g.log_tail())

    def conn(self, timeout=60.0):
        c = ProxyConn(self.g.proxy_port, timeout)
        self.addCleanup(c.close)
        return c

    def tunnel(self, target, token=None):
        """A ProxyConn whose CONNECT target was answered 200."""
        c = self.conn()
        r = c.connect(target, proxy_auth(token or self.tok))
        self.assertEqual(r.status, 200, "CONNECT %s: %r" % (target, r))
        self.assertEqual(r.reason, "Connection established", r)
        return c

    def refused(self, target, status, *contains, token=None, auth=None):
        """CONNECT target answered status (JSON), the connection closed;
        returns the answer."""
        c = self.conn()
        if auth is None:
            auth = proxy_auth(token or self.tok)
        r = c.connect(target, auth)
        self.assertEqual(r.status, status, "CONNECT %s: %r" % (target, r))
        self.assertTrue(r.headers.get("content-type", "").startswith(
            "application/json"), r)
        msg = json.loads(r.body)["message"]
        for s in contains:
            self.assertIn(s, msg)
        self.assertTrue(c.wait_closed(30), "CONNECT %s answered %d but "
                        "the connection stayed open" % (target, status))
        return r

    def assertProxyAuthRequired(self, r, what=""):
        self.assertEqual(r.status, 407, "%s: %r" % (what, r))
        self.assertEqual([v for k, v in r.header_list
                          if k.lower() == "proxy-authenticate"],
                         [PROXY_REALM], what)
        self.assertIsInstance(json.loads(r.body), dict, what)

    def audit(self, pred, n=1, what="audit record"):
        """The audit records matching pred, once there are n."""
        def got():
            recs = [a for a in read_json_lines(self.g.audit_path)
                    if pred(a)]
            return recs if len(recs) >= n else None
        return self.g.wait_for(got, 30, what)

    def audit_of(self, method, path, n=1):
        return self.audit(lambda a: a.get("method") == method and
                          a.get("path") == path, n,
                          "audit record of %s %s" % (method, path))

    def scrape(self):
        r = self.g.metrics()
        self.assertEqual(r.status, 200, r)
        return parse_prometheus(r.body.decode())

    def counter(self, fams, name, **labels):
        return sum(v for _, v in series(fams, name, **labels))


# ================================================================ tunnels


@needs_openssl
class TunnelTest(TunnelCase):
    """Tunnels under `proxy policy strict` (the default) with an allow
    list: localhost by name, 127.0.0.1 and ::1 by address, "*.invalid"
    (subdomains only), and GitHub's hosts (which are intercepted all the
    same)."""

    @classmethod
    def setUpClass(cls):
        cls.ca = TestCA()
        cls.addClassCleanup(cls.ca.cleanup)
        cls.https = TargetServer(ca=cls.ca).start()
        cls.addClassCleanup(cls.https.stop)
        cls.http = TargetServer().start()
        cls.addClassCleanup(cls.http.stop)
        cls.echo = RawServer("echo")
        cls.addClassCleanup(cls.echo.stop)
        cls.bye = RawServer("bye")
        cls.addClassCleanup(cls.bye.stop)
        cls.echo6 = cls.http6 = None
        if have_ipv6():
            cls.echo6 = RawServer("echo", host="::1")
            cls.addClassCleanup(cls.echo6.stop)
            cls.http6 = TargetServer(host="::1").start()
            cls.addClassCleanup(cls.http6.stop)
        # two statements: the lists add up
        extra = ('proxy allow { "localhost" "127.0.0.1" "::1" }\n'
                 'proxy allow { "*.invalid" "api.github.com" "github.com" }\n')
        cls.g = start_proxy(cls, workers=2, proxy=True, metrics=True,
                            extra=extra)
        cls.tok, cls.tid = cls.g.new_token("alice", "acme/widgets",
                                           "contents:read")

    def setUp(self):
        super().setUp()
        self.https.clear()
        self.http.clear()

    def curl_via(self, url, token=None, args=(), cacert=None, env=None,
                 proxy=True):
        p = self.g.proxy_url(token or self.tok) if proxy is True else proxy
        return self.curl.run(url, proxy=p, cacert=cacert, args=args,
                             env=env)

    # ---- tunnels that work

    @needs_curl
    def test_http_through_a_tunnel_to_localhost_by_name(self):
        url = "http://localhost:%d/tunnel-http?a=1&b=%%20x" % self.http.port
        c = self.curl_via(url, args=["-p", "-H", "Authorization: Bearer "
                                     "the-clients-own", "-H", "X-Mine: 1"])
        self.assertEqual((c.rc, c.status), (0, 200), c)
        self.assertEqual(c.heads[0].split("\r\n")[0],
                         "HTTP/1.1 200 Connection established", c.heads)
        recs = self.http.wait_requests(1)
        self.assertEqual(len(recs), 1, recs)
        rec = recs[0]
        self.assertEqual(rec["target"], "/tunnel-http?a=1&b=%20x")
        # Bytes as they are: the client's own Authorization reaches the
        # target; Proxy-Authorization went to ghp only.
        self.assertEqual(header_values(rec, "authorization"),
                         ["Bearer the-clients-own"])
        self.assertEqual(header_values(rec, "x-mine"), ["1"])
        self.assertEqual(header_values(rec, "proxy-authorization"), [])
        self.assertEqual(header_values(rec, "host"),
                         ["localhost:%d" % self.http.port])
        a = self.audit_of("CONNECT", "localhost:%d" % self.http.port)[-1]
        self.assertEqual((a["decision"], a["reason"], a["status"]),
                         ("allow", TUNNEL_REASON, 200), a)
        self.assertEqual(a["owner"], "alice")
        self.assertEqual(a["token_id"], self.tid)
        self.assertNotIn(self.tok, json.dumps(a))

    @needs_curl
    def test_tls_end_to_end_with_the_targets_own_certificate(self):
        url = "https://127.0.0.1:%d/blob/1000" % self.https.port
        c = self.curl_via(url, cacert=self.ca.bundle)
        self.assertEqual((c.rc, c.status), (0, 200), c)
        self.assertEqual(c.body, blob(1000))
        # ghp does not look inside: with its CA instead of the target's,
        # curl cannot verify the target (exit 60).
        ghp_ca = export_ca(self.g, self.curl.path("ghp-ca.pem"))
        c = self.curl_via(url, cacert=ghp_ca)
        self.assertEqual(c.rc, 60, c)
        # The raw client: the peer certificate is the target's own.
        t = self.tunnel("localhost:%d" % self.https.port)
        der = t.start_tls("localhost", self.ca.bundle)
        text = cert_text(der)
        self.assertIn("ghp test CA", text)
        t.request("GET", "/blob/77", [("Host", "localhost"),
                                      ("Connection", "close")])
        r = t.read_response()
        self.assertEqual((r.status, r.body), (200, blob(77)))

    @needs_curl
    def test_5mb_download_through_a_tunnel(self):
        n = 5 * MB + 123
        url = "https://localhost:%d/blob/%d" % (self.https.port, n)
        env = {"HTTPS_PROXY": self.g.proxy_url(self.tok)}
        c = self.curl.run(url, cacert=self.ca.bundle, env=env)
        self.assertEqual((c.rc, c.status), (0, 200), c)
        self.assertEqual(len(c.body), n)
        self.assertEqual(sha256(c.body), sha256(blob(n)))

    def test_5mb_both_ways_at_once(self):
        n = 5 * MB
        data = blob(n, b"up")
        t = self.tunnel(self.echo.addr)
        got = []
        err = []

        def send():
            try:
                for i in range(0, n, 64 * KB):
                    t.sock.sendall(data[i:i + 64 * KB])
            except OSError as e:
                err.append(e)
        th = threading.Thread(target=send, daemon=True)
        th.start()
        got = t.recv_exact(n)
        th.join(60)
        self.assertEqual(err, [])
        self.assertEqual(len(got), n)
        self.assertEqual(sha256(got), sha256(data))
        t.send(b"ping")
        self.assertEqual(t.recv_exact(4), b"ping")

    def test_bytes_sent_with_the_connect_go_on(self):
        """A client may send its first bytes right behind the CONNECT
        (in the same packet); they reach the target."""
        c = self.conn()
        head = ("CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: "
                "%s\r\n\r\n" % (self.echo.addr, self.echo.addr,
                                proxy_auth(self.tok)))
        c.send(head.encode() + b"early bytes")
        r = c.read_head()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(c.recv_exact(11), b"early bytes")

    def test_tunnel_to_ipv6_address(self):
        if self.echo6 is None:
            self.skipTest("no IPv6 on this host")
        t = self.tunnel(self.echo6.addr)
        t.send(b"over six")
        self.assertEqual(t.recv_exact(8), b"over six")
        self.audit_of("CONNECT", self.echo6.addr)

    def test_many_tunnels_at_once(self):
        conns = [self.tunnel(self.echo.addr) for _ in range(24)]
        for i, t in enumerate(conns):
            t.send(blob(40000 + i, b"many"))
        for i, t in enumerate(conns):
            self.assertEqual(t.recv_exact(40000 + i),
                             blob(40000 + i, b"many"))

    # ---- tunnels ending

    def test_client_closing_ends_the_tunnel(self):
        before = len(self.echo.conns())
        t = self.tunnel(self.echo.addr)
        t.send(b"x")
        self.assertEqual(t.recv_exact(1), b"x")
        t.close()
        wait_until(lambda: len(self.echo.conns()) > before and
                   self.echo.conns()[before]["ended"] is not None, 30,
                   "the target to see the tunnel closed")
        self.assertTrue(self.echo.conns()[before]["peer_closed"])

    def test_target_closing_ends_the_tunnel_after_its_last_bytes(self):
        t = self.tunnel(self.bye.addr)
        self.assertEqual(t.recv_exact(len(RawServer.BYE)), RawServer.BYE)
        self.assertTrue(t.wait_closed(30), "the tunnel stayed open after "
                        "the target closed")

    # ---- refused

    def test_host_not_allowed_is_403_and_audited(self):
        for target in ("127.0.0.2:%d" % self.echo.port, "example.com:443",
                       "invalid:443", "pypi.org:443",
                       "localhost.example:%d" % self.echo.port):
            with self.subTest(target=target):
                before = len(self.echo.conns())
                r = self.refused(target, 403, REFUSED_MSG)
                self.assertEqual(json.loads(r.body)["message"], REFUSED_MSG)
                a = self.audit_of("CONNECT", target)[-1]
                self.assertEqual((a["decision"], a["status"]),
                                 ("deny", 403), a)
                self.assertEqual(a["reason"], REFUSED_MSG)
                self.assertEqual(len(self.echo.conns()), before)

    def test_a_subdomain_pattern_allows_subdomains_only(self):
        # x.invalid is allowed but has no address: 502, not 403.
        self.refused("x.invalid:443", 502,
                     "ghp could not find x.invalid")
        a = self.audit_of("CONNECT", "x.invalid:443")[-1]
        self.assertEqual((a["decision"], a["status"]), ("deny", 502), a)
        self.refused("deep.sub.x.invalid:443", 502)
        self.refused("invalid:443", 403, REFUSED_MSG)

    def test_connection_refused_is_502(self):
        port = free_port()
        self.refused("127.0.0.1:%d" % port, 502,
                     "ghp could not connect to 127.0.0.1")
        a = self.audit_of("CONNECT", "127.0.0.1:%d" % port)[-1]
        self.assertEqual((a["decision"], a["status"]), ("deny", 502), a)

    @needs_curl
    def test_curl_to_a_refused_host(self):
        c = self.curl_via("https://127.0.0.2:%d/" % self.https.port,
                          cacert=self.ca.bundle)
        self.assertEqual(c.rc, 56, c)
        self.assertIn("CONNECT tunnel failed, response 403", c.stderr)
        self.assertEqual(self.https.requests(), [])

    def test_no_or_bad_proxy_token_is_407(self):
        revoked, rtid = self.g.new_token("alice", "acme/widgets",
                                         "contents:read")
        self.tunnel(self.echo.addr, revoked).close()
        rc, out, err = self.g.ctl("token", "revoke", str(rtid))
        self.assertEqual(rc, 0, err)
        cases = [("none", None),
                 ("Digest", 'Digest username="agent", response="x"'),
                 ("not base64", "Basic !!!" + self.tok),
                 ("no password", "Basic " + base64.b64encode(
                     b"agent").decode()),
                 ("not a ghp token", proxy_auth("hunter2")),
                 ("a raw PAT", proxy_auth("ghp_" + "a" * 36)),
                 ("revoked", proxy_auth(revoked))]
        for what, auth in cases:
            with self.subTest(what):
                before = len(self.echo.conns())
                c = self.conn()
                r = c.connect(self.echo.addr, auth)
                self.assertProxyAuthRequired(r, what)
                self.assertTrue(c.wait_closed(30), what)
                self.assertEqual(len(self.echo.conns()), before, what)

    def test_revoking_the_token_ends_its_open_tunnels(self):
        tok, tid = self.g.new_token()
        other, _ = self.g.new_token()
        t = self.tunnel(self.echo.addr, tok)
        u = self.tunnel(self.echo.addr, other)
        t.send(b"before")
        self.assertEqual(t.recv_exact(6), b"before")
        rc, out, err = self.g.ctl("token", "revoke", str(tid))
        self.assertEqual(rc, 0, err)
        # "revoked" is said once every worker has dropped it: by then its
        # tunnels are closed; another token's goes on.
        self.assertTrue(t.wait_closed(10), "the tunnel stayed open")
        u.send(b"still")
        self.assertEqual(u.recv_exact(5), b"still")
        c = self.conn()
        self.assertProxyAuthRequired(c.connect(self.echo.addr,
                                               proxy_auth(tok)), "revoked")

    @needs_curl
    def test_curl_without_a_token_is_407(self):
        url = "https://localhost:%d/blob/10" % self.https.port
        c = self.curl_via(url, cacert=self.ca.bundle,
                          proxy=self.g.proxy_url())
        self.assertEqual(c.rc, 56, c)
        self.assertIn("CONNECT tunnel failed, response 407", c.stderr)
        self.assertEqual(self.https.requests(), [])

    def test_odd_connect_targets(self):
        for target, status in (("localhost.:%d" % self.echo.port, 400),
                               ("localhost", 400),
                               ("localhost:0", 400),
                               ("local_host:%d" % self.echo.port, 400)):
            with self.subTest(target=target):
                before = len(self.echo.conns())
                c = self.conn()
                r = c.connect(target, proxy_auth(self.tok))
                self.assertNotEqual(r.status // 100, 2, r)
                self.assertTrue(c.wait_closed(30), target)
                self.assertEqual(len(self.echo.conns()), before)

    # ---- GitHub's hosts are never tunnelled

    def test_github_hosts_are_intercepted_even_when_allowed(self):
        ghp_ca = export_ca(self.g, self.curl.path("ghp-ca.pem"))
        t = self.tunnel("api.github.com:443")
        der = t.start_tls("api.github.com", ghp_ca)
        text = cert_text(der)
        self.assertIn("DNS:api.github.com", text)
        a = self.audit_of("CONNECT", "api.github.com:443")[-1]
        self.assertNotEqual(a["reason"], TUNNEL_REASON, a)
        # and on another port: refused, not tunnelled
        self.refused("github.com:8443", 403)
        self.refused("api.github.com:80", 403)

    # ---- plain HTTP, absolute form

    @needs_curl
    def test_plain_http_forward_to_an_allowed_host(self):
        url = "http://127.0.0.1:%d/fwd/one?x=1&y=%%2F" % self.http.port
        c = self.curl_via(url, args=["-H", "Authorization: Bearer "
                                     "clients-own", "-H", "X-Mine: 2"])
        self.assertEqual((c.rc, c.status), (0, 200), c)
        self.assertEqual(c.json()["target"], "/fwd/one?x=1&y=%2F")
        rec = self.http.wait_requests(1)[0]
        self.assertEqual(rec["target"], "/fwd/one?x=1&y=%2F")
        self.assertEqual(header_values(rec, "authorization"),
                         ["Bearer clients-own"])
        self.assertEqual(header_values(rec, "x-mine"), ["2"])
        self.assertEqual(header_values(rec, "proxy-authorization"), [])
        self.assertEqual(header_values(rec, "proxy-connection"), [])
        a = self.audit_of("GET", "/fwd/one")[-1]
        self.assertEqual((a["decision"], a["reason"]),
                         ("allow", FORWARD_REASON), a)
        self.assertEqual(a["token_id"], self.tid)
        # a body, by name
        url = "http://localhost:%d/fwd/post" % self.http.port
        body = blob(100 * KB, b"post")
        path = self.curl.path("post-body")
        with open(path, "wb") as f:
            f.write(body)
        c = self.curl_via(url, args=["--data-binary", "@" + path])
        self.assertEqual((c.rc, c.status), (0, 200), c)
        self.assertEqual(c.json()["body_sha256"], sha256(body))

    @needs_curl
    def test_plain_http_forward_5mb_download(self):
        n = 5 * MB + 7
        c = self.curl_via("http://localhost:%d/blob/%d" % (self.http.port, n))
        self.assertEqual((c.rc, c.status), (0, 200), c)
        self.assertEqual(len(c.body), n)
        self.assertEqual(sha256(c.body), sha256(blob(n)))

    @needs_curl
    def test_plain_http_forward_to_an_ipv6_address(self):
        """"::1" is in `proxy allow`: http://[::1]:PORT/ is forwarded
        as it is, like a tunnel to it."""
        if self.http6 is None:
            self.skipTest("no IPv6 on this host")
        self.http6.clear()
        url = "http://%s/fwd/six?x=1" % self.http6.addr
        c = self.curl_via(url, args=["-p"])
        self.assertEqual((c.rc, c.status), (0, 200), "tunnelled: %r" % c)
        self.http6.clear()
        c = self.curl_via(url)
        self.assertEqual((c.rc, c.status), (0, 200), "%r\n%s" % (
            c, "\n".join(l for l in self.g.log().splitlines()
                         if "upstream" in l)[-600:]))
        recs = self.http6.wait_requests(1)
        self.assertEqual(recs[0]["target"], "/fwd/six?x=1")

    @needs_curl
    def test_plain_http_forward_refused(self):
        for url in ("http://127.0.0.2:%d/fwd/no" % self.http.port,
                    "http://example.com/fwd/no", "http://invalid/fwd/no"):
            with self.subTest(url=url):
                c = self.curl_via(url)
                self.assertEqual((c.rc, c.status), (0, 403), c)
                self.assertIsInstance(c.json()["message"], str)
        c = self.curl_via("http://127.0.0.1:%d/fwd/no" % self.http.port,
                          proxy=self.g.proxy_url())
        self.assertEqual((c.rc, c.status), (0, 407), c)
        self.assertEqual(c.headers.get("proxy-authenticate"), PROXY_REALM)
        self.assertEqual(self.http.requests(), [])

    # ---- metrics

    def test_metrics_counters_move(self):
        f0 = self.scrape()
        n0 = self.counter(f0, "ghp_proxy_tunnels_total")
        b0 = self.counter(f0, "ghp_proxy_tunnel_bytes_total")
        r0 = self.counter(f0, "ghp_requests_total", route="tunnel",
                          decision="allow", status="200")
        i0 = self.counter(f0, "ghp_requests_total", route="intercept")
        t = self.tunnel(self.echo.addr)
        t.send(blob(100000))
        self.assertEqual(t.recv_exact(100000), blob(100000))
        t.close()
        r = self.conn()
        r.request("GET", "http://127.0.0.1:%d/fwd/metrics" % self.http.port,
                  [("Host", "127.0.0.1:%d" % self.http.port),
                   ("Proxy-Authorization", proxy_auth(self.tok)),
                   ("Connection", "close")])
        self.assertEqual(r.read_response().status, 200)

        def moved():
            f = self.scrape()
            return f if (
                self.counter(f, "ghp_proxy_tunnels_total") >= n0 + 1 and
                self.counter(f, "ghp_proxy_tunnel_bytes_total") >=
                b0 + 200000 and
                self.counter(f, "ghp_requests_total", route="tunnel",
                             decision="allow", status="200") >= r0 + 1 and
                self.counter(f, "ghp_requests_total", route="intercept")
                >= i0 + 1) else None
        try:
            f = wait_until(moved, 30, "the tunnel counters to move",
                           interval=0.2)
        except AssertionError:
            f = self.scrape()
            self.fail("counters did not move: tunnels %s -> %s, bytes %s "
                      "-> %s, requests{route=tunnel} %s -> %s, "
                      "requests{route=intercept} %s -> %s" % (
                          n0, self.counter(f, "ghp_proxy_tunnels_total"),
                          b0, self.counter(f, "ghp_proxy_tunnel_bytes_total"),
                          r0, self.counter(f, "ghp_requests_total",
                                           route="tunnel"),
                          i0, self.counter(f, "ghp_requests_total",
                                           route="intercept")))
        self.assertEqual(f["ghp_proxy_tunnels_total"]["type"], "counter")
        self.assertEqual(f["ghp_proxy_tunnel_bytes_total"]["type"],
                         "counter")


# ======================================================= permissive, strict


@needs_openssl
class PolicyTest(TunnelCase):
    """`proxy policy permissive` tunnels to any host; the default
    (strict) with no allow list to none."""

    @classmethod
    def setUpClass(cls):
        cls.echo = RawServer("echo")
        cls.addClassCleanup(cls.echo.stop)
        cls.g = start_proxy(cls, workers=1, proxy=True,
                            extra="proxy policy permissive\n")
        cls.strict = start_proxy(cls, workers=1, proxy=True)
        cls.tok, cls.tid = cls.g.new_token()
        cls.stok, _ = cls.strict.new_token()

    def test_permissive_allows_any_host(self):
        t = self.tunnel(self.echo.addr)
        t.send(b"anything")
        self.assertEqual(t.recv_exact(8), b"anything")
        a = self.audit_of("CONNECT", self.echo.addr)[-1]
        self.assertEqual((a["decision"], a["reason"]),
                         ("allow", TUNNEL_REASON))
        # a name: looked up (none here: 502, not 403)
        self.refused("nowhere.invalid:443", 502,
                     "ghp could not find nowhere.invalid")
        self.tunnel("localhost:%d" % self.echo.port).close()

    def test_permissive_still_needs_a_token(self):
        before = len(self.echo.conns())
        c = self.conn()
        self.assertProxyAuthRequired(c.connect(self.echo.addr), "no token")
        self.assertEqual(len(self.echo.conns()), before)

    def test_permissive_never_tunnels_github(self):
        ca = export_ca(self.g, self.curl.path("ghp-ca.pem"))
        t = self.tunnel("github.com:443")
        text = cert_text(t.start_tls("github.com", ca))
        self.assertIn("DNS:github.com", text)
        self.refused("github.com:22", 403)
        self.refused("raw.githubusercontent.com:8080", 403)

    def test_strict_by_default(self):
        before = len(self.echo.conns())
        c = ProxyConn(self.strict.proxy_port)
        self.addCleanup(c.close)
        r = c.connect(self.echo.addr, proxy_auth(self.stok))
        self.assertEqual(r.status, 403, r)
        self.assertEqual(json.loads(r.body)["message"], REFUSED_MSG)
        self.assertEqual(len(self.echo.conns()), before)


# ================================================================ timeouts


class TunnelTimeoutTest(TunnelCase):
    """`proxy tunnel timeout 2`: a tunnel ends after that long in all,
    even one that is never idle."""

    @classmethod
    def setUpClass(cls):
        cls.drip = RawServer("drip", interval=0.2)
        cls.addClassCleanup(cls.drip.stop)
        cls.g = start_proxy(cls, workers=1, proxy=True, metrics=True,
                            extra='proxy allow { "127.0.0.1" }\n'
                                  'proxy tunnel timeout 2\n')
        cls.tok, _ = cls.g.new_token()

    def test_a_streaming_tunnel_ends_at_the_tunnel_timeout(self):
        before = len(self.drip.conns())
        t = self.tunnel(self.drip.addr)
        self.assertEqual(t.recv_exact(3), b"...")
        self.assertTrue(t.wait_closed(90), "the tunnel outlived `proxy "
                        "tunnel timeout 2` by far")
        wait_until(lambda: len(self.drip.conns()) > before and
                   self.drip.conns()[before]["ended"] is not None, 30,
                   "the target's side of the tunnel to be closed")
        self.assertGreater(self.drip.conns()[before]["sent"], 3)
        self.assertTrue(self.drip.conns()[before]["peer_closed"])


class IdleTimeoutTest(TunnelCase):
    """`idle timeout 2`: a silent tunnel ends; a busy one, opened at the
    same time, goes on."""

    @classmethod
    def setUpClass(cls):
        cls.drip = RawServer("drip", interval=0.2)
        cls.addClassCleanup(cls.drip.stop)
        cls.silent = RawServer("silent")
        cls.addClassCleanup(cls.silent.stop)
        cls.g = start_proxy(cls, workers=1, proxy=True,
                            extra='proxy allow { "127.0.0.1" }\n'
                                  'idle timeout 2\n')
        cls.tok, _ = cls.g.new_token()

    def test_a_silent_tunnel_ends_a_busy_one_does_not(self):
        busy = self.tunnel(self.drip.addr)
        quiet = self.tunnel(self.silent.addr)
        self.assertEqual(busy.recv_exact(1), b".")
        self.assertTrue(quiet.wait_closed(90), "a silent tunnel outlived "
                        "`idle timeout 2` by far")
        # The busy one is still there: more bytes come, then we close.
        busy.buf = b""
        self.assertEqual(busy.recv_exact(5), b".....")
        self.assertFalse(busy.closed_by_server(0.5))
        busy.close()


# ================================================================ intercept


@needs_openssl
class InterceptTest(TunnelCase):
    """intercept blocks: three with `via` to one local HTTPS target
    whose certificate (from a TestCA, ghp's `upstream ca`) names their
    hosts, one for a name that has no address and no via, and, as root
    with port 443 free, one for localhost without via."""

    @classmethod
    def setUpClass(cls):
        cls.ca = TestCA()
        cls.addClassCleanup(cls.ca.cleanup)
        hosts = ("api.example.com", "*.example.org", "nocred.example.net",
                 "localhost", "case.example.net")
        cls.target = TargetServer(ca=cls.ca, hosts=hosts).start()
        cls.addClassCleanup(cls.target.stop)
        cls.t443 = None
        try:
            cls.t443 = TargetServer(ca=cls.ca, hosts=hosts,
                                    port=443).start()
            cls.addClassCleanup(cls.t443.stop)
        except OSError:
            pass
        # one whose certificate comes from a CA ghp does not trust
        cls.other_ca = TestCA(name="a CA ghp does not know")
        cls.addClassCleanup(cls.other_ca.cleanup)
        cls.untrusted = TargetServer(ca=cls.other_ca,
                                     hosts=("badca.example.net",)).start()
        cls.addClassCleanup(cls.untrusted.stop)
        cls.target6 = None
        if have_ipv6():
            cls.target6 = TargetServer(ca=cls.ca, hosts=("six.example.net",),
                                       host="::1").start()
            cls.addClassCleanup(cls.target6.stop)
        via = "127.0.0.1:%d" % cls.target.port
        extra = ('proxy allow { "tunnel.invalid" "api.example.com" }\n'
                 # the target's certificate does not name this host
                 'intercept "wrongname.example.net" credential "example" '
                 'via "%s" {\n\theader "x-api-key"\n}\n'
                 'intercept "badca.example.net" credential "example" '
                 'via "127.0.0.1:%d" {\n\theader "x-api-key"\n}\n' %
                 (via, cls.untrusted.port))
        if cls.target6 is not None:
            extra += ('intercept "six.example.net" credential "example" '
                      'via "[::1]:%d" {\n\theader "x-api-key"\n}\n' %
                      cls.target6.port)
        extra += ('intercept "case.example.net" credential "EXAMPLE" '
                  'via "%s" {\n\theader "x-api-key"\n}\n' % via)
        extra += ('intercept "api.example.com" credential "example" '
                 'via "%s" {\n\theader "x-api-key"\n\tplaceholder "%s"\n}\n'
                 'intercept "*.example.org" credential "org" via "%s" {\n'
                 '\tplaceholder "%s"\n}\n'
                 'intercept "nocred.example.net" credential "missing" '
                 'via "%s" {\n\theader "x-api-key"\n}\n'
                 # never used: "*.example.org" comes first
                 'intercept "shadow.example.org" credential "example" '
                 'via "%s" {\n\theader "x-shadow"\n}\n'
                 'intercept "novia.invalid" credential "example" {\n'
                 '\theader "x-api-key"\n}\n' %
                 (via, PH_EXAMPLE, via, PH_ORG, via, via))
        if cls.t443 is not None:
            extra += ('intercept "localhost" credential "example" {\n'
                      '\theader "authorization"\n}\n')
        cls.g = start_proxy(cls, workers=2, proxy=True, metrics=True,
                            verbose=2, upstream_ca=cls.ca.bundle,
                            extra=extra)
        cls.g.add_credential("example", CRED_EXAMPLE)
        cls.g.add_credential("org", CRED_ORG)
        cls.tok, cls.tid = cls.g.new_token()
        cls.ghp_ca = os.path.join(cls.g.dir, "ghp-ca-export.pem")
        export_ca(cls.g, cls.ghp_ca)

    def setUp(self):
        super().setUp()
        self.target.clear()

    def curl_via(self, url, args=(), token=None):
        return self.curl.run(url, proxy=self.g.proxy_url(token or self.tok),
                             cacert=self.ghp_ca, args=args)

    def inside(self, host, token=None):
        """A tunnel to host:443 with TLS up (ghp's leaf)."""
        t = self.tunnel("%s:443" % host, token)
        t.cert = t.start_tls(host, self.ghp_ca)
        return t

    def one(self, host, method, path, headers=(), body=None, token=None):
        """One request through an intercepted tunnel; (response, the
        target's record of it or None)."""
        t = self.inside(host, token)
        n = len(self.target.requests())
        items = [("Host", host), ("User-Agent", "ghp-tunnel-test")]
        items += list(headers) + [("Connection", "close")]
        t.request(method, path, items, body)
        r = t.read_response(method)
        recs = self.target.requests()
        return r, (recs[n] if len(recs) > n else None)

    # ---- the credential in headers

    @needs_curl
    def test_named_header_replaced_and_placeholder_in_authorization(self):
        c = self.curl_via(
            "https://api.example.com/v1/things/a%2Fb?q=1&r=%20s",
            args=["-H", "x-api-key: the-clients-own-value",
                  "-H", "Authorization: Bearer " + PH_EXAMPLE,
                  "-H", "X-Other: keep " + PH_EXAMPLE + " and " +
                  PH_EXAMPLE, "-H", "X-Plain: untouched"])
        self.assertEqual((c.rc, c.status), (0, 200), c)
        rec = self.target.wait_requests(1)[0]
        self.assertEqual(rec["target"], "/v1/things/a%2Fb?q=1&r=%20s")
        self.assertEqual(header_values(rec, "x-api-key"), [CRED_EXAMPLE])
        self.assertEqual(header_values(rec, "authorization"),
                         ["Bearer " + CRED_EXAMPLE])
        self.assertEqual(header_values(rec, "x-other"),
                         ["keep %s and %s" % (CRED_EXAMPLE, CRED_EXAMPLE)])
        self.assertEqual(header_values(rec, "x-plain"), ["untouched"])
        self.assertEqual(header_values(rec, "host"), ["api.example.com"])
        self.assertEqual(header_values(rec, "proxy-authorization"), [])
        self.assertTrue(rec["tls"])
        # via: the request came to the target's address, TLS for the
        # host's name (its SNI), checked against `upstream ca`.
        self.assertIn("api.example.com", self.target.sni)
        a = self.audit_of("GET", "/v1/things/a%2Fb")[-1]
        self.assertEqual((a["decision"], a["reason"]),
                         ("allow", 'intercept: credential "example"'), a)
        self.assertEqual(a["token_id"], self.tid)

    def test_every_copy_of_the_named_header_is_dropped(self):
        r, rec = self.one("api.example.com", "GET", "/v1/dup", [
            ("X-API-KEY", "one"), ("x-api-key", "two"),
            ("X-Api-Key", PH_EXAMPLE)])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(header_values(rec, "x-api-key"), [CRED_EXAMPLE])

    def test_a_ghp_token_in_authorization_never_leaves(self):
        r, rec = self.one("api.example.com", "GET", "/v1/mine", [
            ("Authorization", "token " + self.tok),
            ("Connection", "X-Hop"), ("X-Hop", "hop by hop"),
            ("X-Kept", "kept")])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(header_values(rec, "authorization"), [])
        self.assertEqual(header_values(rec, "x-hop"), [])
        self.assertEqual(header_values(rec, "x-kept"), ["kept"])
        a = self.audit_of("GET", "/v1/mine")[-1]
        self.assertEqual(a["token_type"], "user", a)
        self.assertTrue(a["token"].startswith(self.tok[:8]), a)

    def test_leaf_certificates(self):
        for host in ("api.example.com", "deep.sub.example.org"):
            with self.subTest(host=host):
                t = self.inside(host)
                text = cert_text(t.cert)
                self.assertIn("DNS:%s" % host, text)
                self.assertNotIn("ghp test CA", text)

    def test_wildcard_block_with_a_placeholder_only(self):
        r, rec = self.one("files.example.org", "GET", "/f?k=" + PH_ORG,
                          [("Authorization", "token " + PH_ORG)])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(header_values(rec, "authorization"),
                         ["token " + CRED_ORG])
        # the path and query are not the place for a credential
        self.assertEqual(rec["target"], "/f?k=" + PH_ORG)
        self.assertEqual(header_values(rec, "host"), ["files.example.org"])
        # "*.example.org" is not example.org itself
        self.refused("example.org:443", 403, REFUSED_MSG)

    def test_the_first_matching_block_is_used(self):
        r, rec = self.one("shadow.example.org", "GET", "/v1/shadow",
                          [("Authorization", "Bearer " + PH_ORG),
                           ("x-shadow", "mine")])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(header_values(rec, "authorization"),
                         ["Bearer " + CRED_ORG])
        self.assertEqual(header_values(rec, "x-shadow"), ["mine"])

    def test_the_credential_name_in_any_case(self):
        r, rec = self.one("case.example.net", "GET", "/v1/case")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(header_values(rec, "x-api-key"), [CRED_EXAMPLE])

    # ---- the credential in bodies

    def test_placeholder_in_a_small_body(self):
        body = ('{"key": "%s", "again": "%s"}' % (PH_EXAMPLE, PH_EXAMPLE)
                ).encode()
        r, rec = self.one("api.example.com", "POST", "/v1/small",
                          [("Content-Type", "application/json")], body)
        self.assertEqual(r.status, 200, r)
        want = body.replace(PH_EXAMPLE.encode(), CRED_EXAMPLE.encode())
        self.assertEqual(rec["body"], want)
        self.assertEqual(header_values(rec, "content-length"),
                         [str(len(want))])
        self.assertFalse(rec["chunked"])

    def test_placeholder_in_a_body_of_exactly_64k(self):
        pad = BODY_MAX - len(PH_EXAMPLE) * 2
        body = (PH_EXAMPLE.encode() + b"x" * pad + PH_EXAMPLE.encode())
        self.assertEqual(len(body), BODY_MAX)
        r, rec = self.one("api.example.com", "PUT", "/v1/edge", (), body)
        self.assertEqual(r.status, 200, r)
        want = body.replace(PH_EXAMPLE.encode(), CRED_EXAMPLE.encode())
        self.assertEqual(rec["body"], want)
        self.assertEqual(header_values(rec, "content-length"),
                         [str(len(want))])

    def test_larger_body_passes_untouched(self):
        for size in (BODY_MAX + 1, 300 * KB):
            with self.subTest(size=size):
                pad = size - len(PH_EXAMPLE) * 2
                body = (PH_EXAMPLE.encode() + blob(pad, b"big") +
                        PH_EXAMPLE.encode())
                r, rec = self.one("api.example.com", "POST", "/v1/big",
                                  (), body)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(len(rec["body"]), size)
                self.assertEqual(sha256(rec["body"]), sha256(body))
                self.assertNotIn(CRED_EXAMPLE.encode(), rec["body"])

    def test_chunked_body_passes_untouched(self):
        body = ("a=%s" % PH_EXAMPLE).encode()
        chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        r, rec = self.one("api.example.com", "POST", "/v1/chunked",
                          [("Transfer-Encoding", "chunked")], chunked)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(rec["body"], body)

    def test_small_body_with_expect_continue(self):
        body = ("secret=%s" % PH_EXAMPLE).encode()
        t = self.inside("api.example.com")
        n = len(self.target.requests())
        head = ("POST /v1/expect HTTP/1.1\r\nHost: api.example.com\r\n"
                "Content-Length: %d\r\nExpect: 100-continue\r\n"
                "Connection: close\r\n\r\n" % len(body))
        t.send(head.encode())
        first = t.read_head()
        self.assertEqual(first.status, 100, first)
        t.send(body)
        r = t.read_response("POST")
        self.assertEqual(r.status, 200, r)
        rec = self.target.requests()[n]
        self.assertEqual(rec["body"], body.replace(PH_EXAMPLE.encode(),
                                                   CRED_EXAMPLE.encode()))

    # ---- refusals

    def test_missing_credential_is_502(self):
        r, rec = self.one("nocred.example.net", "GET", "/v1/x",
                          [("x-api-key", "mine")])
        self.assertEqual(r.status, 502, r)
        self.assertEqual(json.loads(r.body)["message"],
                         'ghp has no credential "missing" stored for this '
                         'host')
        self.assertIsNone(rec)

    def test_revoking_the_token_closes_the_intercepted_connection(self):
        tok, tid = self.g.new_token()
        t = self.inside("api.example.com", tok)
        hdrs = [("Host", "api.example.com"), ("x-api-key", "x")]
        t.request("GET", "/v1/before", hdrs)
        self.assertEqual(t.read_response().status, 200)
        rc, out, err = self.g.ctl("token", "revoke", str(tid))
        self.assertEqual(rc, 0, err)
        n = len(self.target.requests())
        self.assertTrue(ended(t, "GET", "/v1/after", hdrs),
                        "the connection of a revoked token stayed open")
        self.assertEqual(len(self.target.requests()), n)
        # and a new CONNECT with it: 407
        c = self.conn()
        self.assertProxyAuthRequired(c.connect("api.example.com:443",
                                               proxy_auth(tok)))

    def test_no_proxy_token_is_407(self):
        c = self.conn()
        self.assertProxyAuthRequired(c.connect("api.example.com:443"))
        self.assertEqual(self.target.requests(), [])

    def test_intercepted_hosts_are_never_tunnelled(self):
        # api.example.com is in `proxy allow` too: still intercepted
        t = self.inside("api.example.com")
        text = cert_text(t.cert)
        self.assertNotIn("ghp test CA", text)
        # only port 443
        self.refused("api.example.com:%d" % self.target.port, 403)

    @needs_curl
    def test_plain_http_to_an_intercepted_host_is_403(self):
        c = self.curl_via("http://api.example.com/v1/plain")
        self.assertEqual((c.rc, c.status), (0, 403), c)
        self.assertEqual(c.json()["message"], "ghp: use https for this host")
        self.assertEqual(self.target.requests(), [])

    def test_strict_without_allow_entry(self):
        self.refused("127.0.0.1:%d" % self.target.port, 403,
                     REFUSED_MSG)

    def test_a_host_other_than_the_connect_host_is_refused(self):
        t = self.inside("api.example.com")
        t.request("GET", "/v1/elsewhere", [("Host", "evil.example.net"),
                                           ("x-api-key", PH_EXAMPLE)])
        r = t.read_response()
        self.assertEqual(r.status // 100, 4, r)
        self.assertEqual(self.target.requests(), [])

    def test_the_targets_certificate_is_checked(self):
        for host in ("wrongname.example.net", "badca.example.net"):
            with self.subTest(host=host):
                r, rec = self.one(host, "GET", "/v1/tls",
                                  [("x-api-key", "x")])
                self.assertEqual(r.status, 502, r)
                self.assertIsNone(rec)
        self.assertEqual(self.untrusted.requests(), [])

    def test_keep_alive_inside_an_intercepted_tunnel(self):
        """Several requests on one tunnel: a small body held whole (sent
        in pieces), a GET, a large body streamed, a 2 MB answer."""
        t = self.inside("api.example.com")
        n = len(self.target.requests())
        small = ("k=%s&k2=%s" % (PH_EXAMPLE, PH_EXAMPLE)).encode()
        head = ("POST /v1/ka/1 HTTP/1.1\r\nHost: api.example.com\r\n"
                "Content-Length: %d\r\n\r\n" % len(small)).encode()
        t.send(head + small[:5])
        t.send(small[5:20])
        t.send(small[20:])
        self.assertEqual(t.read_response("POST").status, 200)
        t.request("GET", "/v1/ka/2", [("Host", "api.example.com")])
        self.assertEqual(t.read_response().status, 200)
        big = blob(200 * KB, b"ka")
        t.request("PUT", "/v1/ka/3", [("Host", "api.example.com")], big)
        self.assertEqual(t.read_response("PUT").status, 200)
        t.request("GET", "/blob/%d" % (2 * MB), [("Host", "api.example.com")])
        r = t.read_response()
        self.assertEqual((r.status, len(r.body)), (200, 2 * MB))
        self.assertEqual(sha256(r.body), sha256(blob(2 * MB)))
        recs = self.target.requests()[n:]
        self.assertEqual([x["target"] for x in recs],
                         ["/v1/ka/1", "/v1/ka/2", "/v1/ka/3",
                          "/blob/%d" % (2 * MB)])
        self.assertEqual(recs[0]["body"], small.replace(
            PH_EXAMPLE.encode(), CRED_EXAMPLE.encode()))
        self.assertEqual(recs[2]["body"], big)
        for x in recs:
            self.assertEqual(header_values(x, "x-api-key"), [CRED_EXAMPLE])

    # ---- via, or the host's own address

    def test_without_via_the_hosts_own_address_is_used(self):
        r, rec = self.one("novia.invalid", "GET", "/v1/novia")
        self.assertEqual(r.status, 502, r)
        self.assertIsNone(rec)
        if self.t443 is None:
            self.skipTest("port 443 on 127.0.0.1 is not ours to listen on")
        self.t443.clear()
        r, _ = self.one("localhost", "GET", "/v1/own-address",
                        [("Authorization", "Bearer mine")])
        self.assertEqual(r.status, 200, r)
        recs = self.t443.wait_requests(1)
        self.assertEqual(header_values(recs[0], "authorization"),
                         [CRED_EXAMPLE])
        self.assertEqual(self.target.requests(), [])

    def test_via_an_ipv6_address(self):
        if self.target6 is None:
            self.skipTest("no IPv6 on this host")
        r, _ = self.one("six.example.net", "GET", "/v1/six",
                        [("x-api-key", "mine")])
        self.assertEqual(r.status, 200, r)
        recs = self.target6.wait_requests(1)
        self.assertEqual(header_values(recs[-1], "x-api-key"),
                         [CRED_EXAMPLE])
        self.assertEqual(header_values(recs[-1], "host"),
                         ["six.example.net"])

    # ---- the credential stays out of the logs

    def test_credential_in_no_log(self):
        r, rec = self.one("api.example.com", "POST", "/v1/logs?k=v",
                          [("Authorization", "Bearer " + PH_EXAMPLE),
                           ("x-api-key", "mine")],
                          ("p=" + PH_EXAMPLE).encode())
        self.assertEqual(r.status, 200, r)
        r, rec = self.one("files.example.org", "GET", "/v1/logs",
                          [("X-K", PH_ORG)])
        self.assertEqual(r.status, 200, r)
        self.audit_of("GET", "/v1/logs")
        self.assertIn(CRED_ORG, json.dumps(rec["headers"]))
        fams = self.g.metrics().body
        for cred in (CRED_EXAMPLE, CRED_ORG):
            for what, path in (("ghp log", self.g.log_path),
                               ("audit log", self.g.audit_path),
                               ("access log", self.g.access_path)):
                with open(path, "rb") as f:
                    self.assertNotIn(cred.encode(), f.read(),
                                     "%s holds a credential" % what)
            self.assertNotIn(cred.encode(), fams)
        self.assertNotIn(self.tok.encode(), open(self.g.log_path,
                                                 "rb").read())


# ================================================================== reload


@needs_openssl
class ReloadTest(TunnelCase):
    """What a reload and a stop do to tunnels and intercept blocks
    (ghp(8) SIGNALS, ghp.conf(5) FORWARD PROXY): a daemon per test."""

    def setUp(self):
        super().setUp()
        self.echo = RawServer("echo")
        self.addCleanup(self.echo.stop)

    def start(self, extra, **kw):
        self.g = start_proxy(self, workers=1, proxy=True, extra=extra, **kw)
        self.tok, self.tid = self.g.new_token()
        return self.g

    def _survived(self):
        pass            # these tests replace the workers on purpose

    def test_a_tunnel_open_at_a_reload_goes_on(self):
        g = self.start('proxy allow { "127.0.0.1" }\n')
        t = self.tunnel(self.echo.addr)
        t.send(b"one")
        self.assertEqual(t.recv_exact(3), b"one")
        g.write_config(g.config_text(extra='proxy allow { "localhost" }\n'))
        rc, out, err = g.reload()
        self.assertEqual(rc, 0, err)
        g.wait_for(lambda: g.worker_pids(generation=2), 30,
                   "a worker of generation 2")
        # the old generation still carries the tunnel
        t.send(b"two")
        self.assertEqual(t.recv_exact(3), b"two")
        self.assertTrue(g.procs(g.status(), "worker", generation=1),
                        "the old worker left with a tunnel open")
        # new CONNECTs follow the new config (once the old worker has
        # stopped accepting)
        def refused_now():
            c = ProxyConn(g.proxy_port)
            try:
                r = c.connect(self.echo.addr, proxy_auth(self.tok))
            finally:
                c.close()
            return r if r.status == 403 else None
        r = g.wait_for(refused_now, 30, "CONNECT %s refused after the "
                       "reload" % self.echo.addr)
        self.assertEqual(json.loads(r.body)["message"], REFUSED_MSG)
        self.tunnel("localhost:%d" % self.echo.port).close()
        # the old worker goes once its last tunnel has ended
        t.close()
        g.wait_ready(timeout=60, generation=2)

    def test_stop_cuts_open_tunnels(self):
        g = self.start('proxy allow { "127.0.0.1" }\n')
        t = self.tunnel(self.echo.addr)
        t.send(b"x")
        self.assertEqual(t.recv_exact(1), b"x")
        rc, _ = g.stop(timeout=60)
        self.assertEqual(rc, 0)
        self.assertTrue(t.wait_closed(30), "the tunnel outlived ghp")

    def test_intercept_blocks_reordered_by_a_reload(self):
        """Reordered blocks keep each host's own credential; a block
        added by a reload is not signed for (502) until a restart."""
        ca = TestCA()
        self.addCleanup(ca.cleanup)
        target = TargetServer(ca=ca, hosts=(
            "api.example.com", "*.example.org", "new.example.net")).start()
        self.addCleanup(target.stop)
        via = "127.0.0.1:%d" % target.port
        a = ('intercept "api.example.com" credential "example" via "%s" {\n'
             '\theader "x-api-key"\n\tplaceholder "%s"\n}\n' %
             (via, PH_EXAMPLE))
        b = ('intercept "*.example.org" credential "org" via "%s" {\n'
             '\theader "x-org-key"\n}\n' % via)
        c = ('intercept "new.example.net" credential "example" via "%s" {\n'
             '\theader "x-api-key"\n}\n' % via)
        g = self.start(a + b, upstream_ca=ca.bundle)
        g.add_credential("example", CRED_EXAMPLE)
        g.add_credential("org", CRED_ORG)
        ghp_ca = export_ca(g, self.curl.path("ghp-ca.pem"))

        def inside(host):
            t = self.tunnel("%s:443" % host)
            t.start_tls(host, ghp_ca)
            return t
        # a request in flight across the reload: its body held back
        t = inside("api.example.com")
        body = ("k=" + PH_EXAMPLE).encode()
        t.send(b"POST /v1/in-flight HTTP/1.1\r\nHost: api.example.com\r\n"
               b"Content-Length: %d\r\n\r\n" % len(body) + body[:4])
        g.write_config(g.config_text(extra=b + a + c))
        rc, out, err = g.reload()
        self.assertEqual(rc, 0, err)
        g.wait_for(lambda: g.worker_pids(generation=2), 30,
                   "a worker of generation 2")
        t.send(body[4:])
        self.assertEqual(t.read_response("POST").status, 200)
        for host, path in (("api.example.com", "/v1/after"),
                           ("x.example.org", "/v1/after")):
            t = inside(host)
            t.request("GET", path, [("Host", host), ("Connection",
                                                       "close")])
            self.assertEqual(t.read_response().status, 200)
        got = {(r["target"], h[0].lower(), h[1]) for r in target.requests()
               for h in r["headers"] if h[0].lower().startswith("x-")}
        self.assertEqual(got, {("/v1/in-flight", "x-api-key", CRED_EXAMPLE),
                               ("/v1/after", "x-api-key", CRED_EXAMPLE),
                               ("/v1/after", "x-org-key", CRED_ORG)})
        self.assertEqual([r["body"] for r in target.requests()
                          if r["target"] == "/v1/in-flight"],
                         [("k=" + CRED_EXAMPLE).encode()])
        # added by the reload: the keyholder does not sign for it
        self.refused("new.example.net:443", 502)


# ============================================================ config errors


class ProxyConfigTest(unittest.TestCase):
    """`ghp -n`: each bad proxy or intercept statement refused, naming
    file:line; the good ones printed back by `ghp -nv`."""

    def setUp(self):
        self.g = Ghp(workers=1, proxy=True)
        self.addCleanup(self.g.cleanup)
        with open(self.g.conf) as f:
            self.base = f.read()

    def check(self, text, at, *contains):
        """text appended: ghp -n exits 1 naming its line at (0: the
        first line of text)."""
        with open(self.g.conf, "w") as f:
            f.write(self.base + text + "\n")
        line = len(self.base.splitlines()) + 1 + at
        rc, out, err = run_ghp("-n", "-f", self.g.conf)
        self.assertEqual(rc, 1, "accepted:\n%s\n%s" % (text, err))
        self.assertRegex(err, r"(?m)^%s:%d: \S" % (re.escape(self.g.conf),
                                                    line),
                         "%s\n%s" % (text, err))
        for c in contains:
            self.assertIn(c, err)
        return err

    def test_bad_statements(self):
        """(text, the line of it named (0: its first), in the message)."""
        icpt = 'intercept "%s" credential "c" %s{\n\theader "x-key"\n}'
        item = 'intercept "api.example.com" credential "c" {\n\t%s\n}'
        cases = [
            ('proxy allow { "Example.com" }', 0, "proxy allow"),
            ('proxy allow { "*." }', 0, "proxy allow"),
            ('proxy allow { "a..b" }', 0, "proxy allow"),
            ('proxy allow { "*.*.example.com" }', 0, "proxy allow"),
            ('proxy allow { "host:443" }', 0, "proxy allow"),
            ('proxy allow { "http://example.com" }', 0, "proxy allow"),
            ('proxy allow { }', 0, "proxy allow"),
            ("proxy policy lenient", 0, "proxy policy"),
            ("proxy policy strict\nproxy policy permissive", 1,
             "proxy policy already set"),
            ("proxy tunnel timeout 0", 0, "proxy tunnel timeout"),
            ("proxy tunnel timeout 86401", 0, "proxy tunnel timeout"),
            ("proxy tunnel timeout 5\nproxy tunnel timeout 6", 1,
             "already set"),
            ("proxy sideways", 0, "proxy"),
            (icpt % ("api.github.com", ""), 0, "intercept"),
            (icpt % ("github.com", ""), 0, "intercept"),
            (icpt % ("*.github.com", ""), 0, "intercept"),
            (icpt % ("raw.githubusercontent.com", ""), 0, "intercept"),
            (icpt % ("*.githubcopilot.com", ""), 0, "intercept"),
            (icpt % ("API.example.com", ""), 0, "intercept"),
            (icpt % ("*.", ""), 0, "intercept"),
            (icpt % ("example.com:443", ""), 0, "intercept"),
            (icpt % ("api.example.com", 'via "localhost:443" '), 0,
             "intercept via"),
            (icpt % ("api.example.com", 'via "127.0.0.1" '), 0,
             "intercept via"),
            (icpt % ("api.example.com", 'via "127.0.0.1:0" '), 0,
             "intercept via"),
            (icpt % ("api.example.com", 'via "127.0.0.1:65536" '), 0,
             "intercept via"),
            (icpt % ("api.example.com", 'via "::1:443" '), 0,
             "intercept via"),
            (icpt % ("api.example.com", 'via "[::1]" '), 0,
             "intercept via"),
            (icpt % ("api.example.com", 'via "https://10.0.0.1:443" '), 0,
             "intercept via"),
            ('intercept "api.example.com" credential "c" {\n}', 0,
             "no header or placeholder"),
            (item % 'placeholder "short"', 1, "placeholder"),
            (item % 'placeholder "has a space"', 1, "placeholder"),
            (item % ('placeholder "%s"' % ("x" * 257)), 1, "placeholder"),
            (item % 'header "Host"', 1, "header"),
            (item % 'header "Proxy-Authorization"', 1, "header"),
            (item % 'header "bad header"', 1, "header"),
            (item % 'cookie "x"', 1, "intercept"),
            ('intercept "api.example.com" credential "" {\n'
             '\theader "x-key"\n}', 0, "credential"),
            ('intercept "api.example.com" {\n\theader "x-key"\n}', 0,
             "intercept"),
        ]
        for text, at, want in cases:
            with self.subTest(text=text):
                self.check(text, at, want)

    def test_good_statements_printed_back(self):
        text = ('proxy policy permissive\n'
                'proxy allow { "pypi.org" "*.pythonhosted.org" '
                '"127.0.0.1" "::1" "localhost" }\n'
                'proxy tunnel timeout 120\n'
                'proxy allow { "files.example.net" }\n'
                'intercept "api.example.com" credential "example" '
                'via "127.0.0.1:8443" {\n\theader "x-api-key"\n'
                '\tplaceholder "PLACEHOLDER_TEXT"\n}\n'
                'intercept "*.example.org" credential "org" '
                'via "[::1]:443" {\n\tplaceholder "%s"\n}\n' % ("p" * 256))
        with open(self.g.conf, "w") as f:
            f.write(self.base + text)
        rc, out, err = run_ghp("-n", "-v", "-f", self.g.conf)
        self.assertEqual(rc, 0, err)
        for want in ("proxy policy permissive", "proxy tunnel timeout 120",
                     '"*.pythonhosted.org"', '"::1"', '"files.example.net"',
                     'intercept "api.example.com" credential "example" '
                     'via "127.0.0.1:8443"', 'header "x-api-key"',
                     'placeholder "PLACEHOLDER_TEXT"',
                     'via "[::1]:443"'):
            self.assertIn(want, out)
        again = os.path.join(self.g.dir, "printed.conf")
        with open(again, "w") as f:
            f.write(out)
        rc, out2, err = run_ghp("-n", "-v", "-f", again)
        self.assertEqual(rc, 0, "printed config does not parse:\n%s\n%s" %
                         (err, out))
        self.assertEqual(out2, out)

    def test_defaults_printed(self):
        rc, out, err = run_ghp("-n", "-v", "-f", self.g.conf)
        self.assertEqual(rc, 0, err)
        self.assertIn("proxy policy strict", out)
        self.assertIn("proxy tunnel timeout 3600", out)


if __name__ == "__main__":
    unittest.main()
