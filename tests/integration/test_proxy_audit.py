"""
test_proxy_audit.py: what ghp writes down about the traffic it serves,
checked against ghp(8) ("Audit and access records") and ghp.conf(5)
(LOGS):

- the audit log: one JSON object per decision on an API request (allowed,
  refused for scope, for an unknown endpoint, for no token or a bad one,
  a raw token of another kind passed through), written by the master
  from the workers' messages before anything is forwarded, so that it is
  there while GitHub still holds the request, and survives the worker's
  death at that moment;
- the access log: one JSON object per request with Caddy's field names
  and types, its size the bytes of the body the client got;
- no client token, stored credential or Authorization value in either
  log, the daemon's own log or the metrics.

The metrics are test_proxy_metrics.py's; what both share is in
observe_case.py.

Run with tests/integration/run_all.py (or python3 -m unittest from this
directory).
"""

import json
import os
import signal
import time
import unittest

from harness import basic_auth, build_request, open_files
from observe_case import FOREIGN, SESSION, ObserveCase
from proxy_case import (CRED_ALICE, CRED_BOB, make_token, read_json_lines,
                        start_proxy, worker_pid_of)

# ------------------------------------------------------------ audit log


class AuditTest(ObserveCase):
    """One audit record per decision on an API request, its members as
    ghp(8) lists them."""

    @classmethod
    def setUpClass(cls):
        cls.g = start_proxy(cls, workers=2)
        cls.tok, cls.tid = cls.g.new_token(
            "alice", "acme/widgets", "contents:read,issues:write",
            "--session", SESSION)
        cls.g.fake.add_credential(FOREIGN, "bob")

    def setUp(self):
        self.g.fake.clear()

    def test_allowed_request(self):
        r, acc, aud, (t0, t1) = self.traced(
            self.g, "GET", "/api/v3/repos/acme/widgets/issues?state=all",
            token=self.tok, host="ghp.test")
        self.assertEqual(r.status, 200, r)
        self.assertIsNotNone(aud, "no audit record for an allowed request")
        self.assertAuditShape(aud, t0, t1)
        self.assertEqual(aud["request_id"], acc["request_id"])
        self.assertEqual(aud["decision"], "allow")
        self.assertReason(aud)
        self.assertEqual(aud["token_type"], "user")
        self.assertDisplayPrefix(aud, self.tok)
        self.assertEqual(aud["token_id"], self.tid)
        self.assertEqual(aud["owner"], "alice")
        self.assertEqual(aud["session"], SESSION)
        self.assertEqual(aud["method"], "GET")
        self.assertEqual(aud["path"], "/repos/acme/widgets/issues")
        self.assertEqual(aud["repository"], "acme/widgets")
        self.assertEqual(aud["endpoint"], "/repos/{owner}/{repo}/issues")
        self.assertEqual(aud["permission"], "issues:read")
        self.assertIsNone(aud["status"], "a forwarded request's audit "
                          "status is null (GitHub's is in the access log)")
        self.assertEqual(acc["status"], 200)
        self.assertEqual(len(self.forwarded(self.g)), 1)

    def test_allowed_write(self):
        body = b'{"title": "audited"}'
        r, acc, aud, (t0, t1) = self.traced(
            self.g, "POST", "/repos/acme/widgets/issues", token=self.tok,
            headers=[("Content-Type", "application/json")], body=body)
        self.assertEqual(r.status, 201, r)
        self.assertAuditShape(aud, t0, t1)
        self.assertEqual((aud["decision"], aud["method"], aud["path"],
                          aud["permission"], aud["repository"]),
                         ("allow", "POST", "/repos/acme/widgets/issues",
                          "issues:write", "acme/widgets"))
        self.assertReason(aud)
        self.assertIsNone(aud["status"])

    def check_refusal(self, method, path, status, token=None, auth=None,
                      body=None, host="api.github.com"):
        r, acc, aud, (t0, t1) = self.traced(
            self.g, method, path, token=token, auth=auth, body=body,
            host=host)
        self.assertEqual(r.status, status, r)
        self.assertNotForwarded(self.g, "%s %s" % (method, path))
        self.assertIsNotNone(aud, "no audit record for a refused API "
                             "request (%s %s)" % (method, path))
        self.assertAuditShape(aud, t0, t1)
        self.assertEqual(aud["decision"], "deny")
        self.assertEqual(aud["status"], status)
        self.assertEqual(acc["status"], status)
        self.assertEqual(aud["method"], method)
        self.assertReason(aud)
        return aud

    def test_refused_repository_outside_the_scope(self):
        aud = self.check_refusal("GET", "/repos/acme/gadgets", 403,
                                 token=self.tok)
        self.assertEqual(aud["path"], "/repos/acme/gadgets")
        self.assertEqual(aud["repository"], "acme/gadgets")
        self.assertIn("acme/gadgets", aud["reason"])
        self.assertEqual((aud["token_type"], aud["token_id"], aud["owner"],
                          aud["session"]),
                         ("user", self.tid, "alice", SESSION))
        self.assertDisplayPrefix(aud, self.tok)

    def test_refused_permission_missing(self):
        aud = self.check_refusal("PUT", "/repos/acme/widgets/contents/x.md",
                                 403, token=self.tok, body=b"{}")
        self.assertEqual(aud["permission"], "contents:write")
        self.assertEqual(aud["repository"], "acme/widgets")
        self.assertEqual(aud["endpoint"],
                         "/repos/{owner}/{repo}/contents/{path}")
        self.assertIn("contents:write", aud["reason"])
        self.assertEqual(aud["token_id"], self.tid)

    def test_refused_unknown_endpoint(self):
        aud = self.check_refusal("GET", "/repos/acme/widgets/frobnicate",
                                 403, token=self.tok)
        self.assertEqual(aud["path"], "/repos/acme/widgets/frobnicate")
        self.assertIsNone(aud["endpoint"])
        self.assertEqual(aud["token_id"], self.tid)
        self.assertEqual(aud["owner"], "alice")

    def test_refused_without_a_token(self):
        aud = self.check_refusal("GET", "/repos/acme/widgets", 401)
        for k in ("token", "token_type", "token_id", "owner", "session"):
            self.assertIsNone(aud[k], k)

    def test_refused_bad_tokens(self):
        unknown = make_token("ghx_")
        flip = "A" if self.tok[10] != "A" else "B"
        garbled = self.tok[:10] + flip + self.tok[11:]
        revoked, rid = self.g.new_token("alice", "acme/widgets",
                                        "contents:read")
        self.assertEqual(self.g.ctl("token", "revoke", str(rid))[0], 0)
        for what, tok in (("unknown", unknown), ("garbled", garbled),
                          ("revoked", revoked)):
            with self.subTest(token=what):
                self.g.fake.clear()
                aud = self.check_refusal("GET", "/repos/acme/widgets", 401,
                                         token=tok)
                self.assertNotIn(tok, json.dumps(aud))
                if aud["token"] is not None:
                    self.assertDisplayPrefix(aud, tok)
                if what != "revoked":
                    self.assertIsNone(aud["owner"])
                    self.assertIsNone(aud["token_id"])

    def test_refused_blocked_raw_token(self):
        aud = self.check_refusal("GET", "/repos/acme/widgets", 403,
                                 auth="token " + CRED_ALICE)
        self.assertNotIn(CRED_ALICE, json.dumps(aud))
        self.assertIsNone(aud["token_id"])
        self.assertIsNone(aud["owner"])

    def test_foreign_raw_token_passed_through(self):
        """Not ghp's token and not blocked: forwarded unchanged, audited
        with the decision pass and a reason."""
        r, acc, aud, (t0, t1) = self.traced(
            self.g, "GET", "/repos/acme/gadgets", auth="Bearer " + FOREIGN)
        self.assertEqual(r.status, 200, r)
        recs = self.forwarded(self.g)
        self.assertEqual(len(recs), 1)
        self.assertAuthorizationWas(recs[0], "Bearer " + FOREIGN)
        self.assertIsNotNone(aud, "no audit record for a passed request")
        self.assertAuditShape(aud, t0, t1)
        self.assertEqual(aud["decision"], "pass")
        self.assertIsNone(aud["status"])
        self.assertEqual((aud["method"], aud["path"]),
                         ("GET", "/repos/acme/gadgets"))
        self.assertIsNone(aud["token_id"])
        self.assertIsNone(aud["owner"])
        self.assertNotIn(FOREIGN, json.dumps(aud))
        if aud["repository"] is not None:
            self.assertEqual(aud["repository"], "acme/gadgets")
        self.assertNotIn("user_id", acc)
        self.assertReason(aud)

    def test_one_record_per_decision_and_none_outside_the_api(self):
        """Four API requests on one keep-alive connection, allowed and
        refused: four audit records, one each; a request outside the API
        (no decision) has an access record and no audit record."""
        with self.g.conn() as c:
            port = c.sock.getsockname()[1]
            got = [self.call(self.g, m, p, token=t, conn=c)[0].status
                   for m, p, t in (
                       ("GET", "/repos/acme/widgets/issues/1", self.tok),
                       ("GET", "/repos/acme/gadgets", self.tok),
                       ("GET", "/repos/acme/widgets/issues/2", self.tok),
                       ("GET", "/repos/acme/widgets", None))]
            self.assertEqual(got, [200, 403, 200, 401])
            r, _, _, _ = self.call(self.g, "GET", "/not-the-api",
                                   host="ghp.test", conn=c)
            self.assertEqual(r.status, 404)
        accs = self.access_for(self.g, port, 5)
        ids = [a["request_id"] for a in accs]
        self.assertEqual(len(set(ids)), 5, ids)
        auds = [self.audit_for(self.g, i) for i in ids[:4]]
        self.assertEqual([(a["decision"], a["path"]) for a in auds], [
            ("allow", "/repos/acme/widgets/issues/1"),
            ("deny", "/repos/acme/gadgets"),
            ("allow", "/repos/acme/widgets/issues/2"),
            ("deny", "/repos/acme/widgets")])
        self.assertEqual([x for x in read_json_lines(self.g.audit_path)
                          if x.get("request_id") == ids[4]], [],
                         "a request outside the API has an audit record")

    def test_only_the_master_holds_the_log_files(self):
        """The master writes both logs from the workers' messages: it
        holds them open, and no worker or the keyholder does."""
        logs = {os.path.realpath(self.g.audit_path),
                os.path.realpath(self.g.access_path)}
        st = self.g.status()
        self.assertEqual(logs & open_files(self.g.pid), logs)
        others = [p["pid"] for p in st["processes"]
                  if p.get("role") in ("worker", "keyholder")]
        self.assertTrue(others)
        for pid in others:
            self.assertEqual(logs & open_files(pid), set(),
                             "pid %d holds a log file" % pid)

    def test_audit_and_access_records_agree(self):
        """Every audit record's request id has exactly one access record;
        a refusal's status is the same in both."""
        self.traced(self.g, "GET", "/repos/acme/widgets", token=self.tok)
        self.traced(self.g, "GET", "/repos/acme/gadgets", token=self.tok)
        audits = read_json_lines(self.g.audit_path)
        access = {}
        for a in read_json_lines(self.g.access_path):
            if "request_id" in a:
                access.setdefault(a["request_id"], []).append(a)
        ids = [a["request_id"] for a in audits]
        self.assertEqual(len(ids), len(set(ids)), "request ids repeat in "
                         "the audit log")
        for a in audits:
            got = access.get(a["request_id"], [])
            if not got:
                continue        # still in flight (another test's hang)
            self.assertEqual(len(got), 1, got)
            if a["status"] is not None:
                self.assertEqual(got[0]["status"], a["status"], (a, got))
            self.assertLessEqual(a["duration"], got[0]["duration"] + 0.0015,
                                 "decided after the request ended: %s %s"
                                 % (a, got[0]))


class AuditBeforeForwardTest(ObserveCase):
    """The audit record is sent by the worker before the request goes
    to GitHub: it is in the file while GitHub still holds the request,
    and the worker dying at that moment loses nothing."""

    def setUp(self):
        self.g = start_proxy(self, workers=2)
        self.tok, self.tid = self.g.new_token("alice", "acme/widgets",
                                              "issues:write")

    def hold_request(self, path, mode="hang"):
        """Send a request that the fake holds (it has read it and
        answers nothing); returns the open client connection."""
        self.g.fake.set_fault(1, mode, match=path, delay_ms=600000)
        c = self.g.conn()
        self.addCleanup(c.close)
        c.request("GET", path, [("Host", "api.github.com"),
                                ("Authorization", "token " + self.tok)])
        self.g.wait_for(lambda: self.g.fake.requests(path_prefix=path),
                        10, "the fake to hold %s" % path)
        return c

    def audit_with_path(self, path):
        return [x for x in read_json_lines(self.g.audit_path)
                if x.get("path") == path]

    def check_held(self, mode):
        path = "/repos/acme/widgets/issues/4"
        c = self.hold_request(path, mode)
        recs = self.g.wait_for(lambda: self.audit_with_path(path), 10,
                               "the audit record while GitHub holds the "
                               "request")
        # Still held: the fake has not answered.
        held = self.g.fake.requests(path_prefix=path)
        self.assertEqual(len(held), 1)
        self.assertFalse(held[0].get("complete"), "the fake answered")
        self.assertEqual(len(recs), 1, recs)
        rec = recs[0]
        self.assertAuditShape(rec)
        self.assertEqual((rec["decision"], rec["token_id"], rec["status"]),
                         ("allow", self.tid, None))
        # The access record comes once the answer is complete: not yet.
        self.assertEqual([x for x in read_json_lines(self.g.access_path)
                          if x.get("request_id") == rec["request_id"]], [])
        return c

    def test_audit_record_is_there_while_github_holds_the_request(self):
        self.check_held("hang")

    def test_audit_record_is_there_during_a_slow_answer(self):
        self.check_held("delay")

    def test_worker_killed_after_forwarding_loses_no_audit_record(self):
        """SIGKILL every worker as soon as GitHub has the request: the
        master still writes the record the worker had sent it."""
        path = "/repos/acme/widgets/issues/5"
        pids = self.g.worker_pids()
        self.hold_request(path)
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        recs = self.g.wait_for(lambda: self.audit_with_path(path), 10,
                               "the audit record of the killed worker's "
                               "request")
        self.assertEqual(len(recs), 1, recs)
        self.assertEqual(recs[0]["decision"], "allow")
        self.assertIn(worker_pid_of(recs[0]["request_id"]), pids)
        # And ghp is whole again afterwards.
        self.g.wait_ready()
        self.g.fake.clear_faults()
        r = self.g.api("GET", "/repos/acme/widgets/issues/1", self.tok)
        self.assertEqual(r.status, 200, r)


# ----------------------------------------------------------- access log


class AccessLogTest(ObserveCase):
    """One access record per request, Caddy's field names and types, its
    size the bytes of the body the client got."""

    @classmethod
    def setUpClass(cls):
        cls.g = start_proxy(cls, workers=2)
        cls.tok, cls.tid = cls.g.new_token(
            "alice", "acme/widgets", "contents:read,issues:write")
        cls.g.fake.add_credential(FOREIGN, "bob")

    def test_forwarded_request_fields(self):
        uri = "/api/v3/repos/acme/widgets/issues?state=all&per_page=2"
        r, port, t0, t1 = self.call(self.g, "GET", uri, token=self.tok,
                                    host="ghp.test")
        self.assertEqual(r.status, 200, r)
        acc = self.access_for(self.g, port)[0]
        seen = time.time()
        self.assertFullAccess(acc, r, port, "GET", uri, "ghp.test",
                              owner="alice")
        self.assertGreater(acc["size"], 0)
        self.assertGreaterEqual(acc["ts"], t0 - 0.001)
        self.assertLessEqual(acc["ts"], seen + 0.001)

    def test_size_is_the_body_sent(self):
        big = "/repos/acme/widgets/contents/__fake/bytes/20000"
        etag = self.g.api("GET", "/repos/acme/widgets", self.tok) \
            .headers["etag"]
        body = b'{"title": "sized"}'
        cases = [
            ("content-length", "GET", "/repos/acme/widgets", {}, None, 200),
            ("chunked", "GET", big + "?chunked=1", {}, None, 200),
            ("sized", "GET", big, {}, None, 200),
            ("HEAD", "HEAD", "/repos/acme/widgets", {}, None, 200),
            ("304", "GET", "/repos/acme/widgets",
             {"If-None-Match": etag}, None, 304),
            ("POST 201", "POST", "/repos/acme/widgets/issues",
             {"Content-Type": "application/json"}, body, 201),
            ("ghp's 403", "GET", "/repos/acme/gadgets", {}, None, 403),
            ("upstream 404", "GET", "/repos/acme/widgets/issues/999", {},
             None, 404),
        ]
        for what, method, path, hdrs, b, status in cases:
            with self.subTest(case=what):
                r, port, _, _ = self.call(self.g, method, path,
                                          token=self.tok,
                                          headers=list(hdrs.items()),
                                          body=b)
                self.assertEqual(r.status, status, r)
                if what in ("chunked", "sized"):
                    self.assertEqual(r.body_length, 20000)
                acc = self.access_for(self.g, port)[0]
                self.assertFullAccess(acc, r, port, method, path,
                                      "api.github.com", owner="alice",
                                      body_sent=b or b"")

    def test_ghps_own_answers(self):
        for what, kw, status in (
                ("no token", {}, 401),
                ("unknown token", {"token": make_token()}, 401),
                ("blocked", {"auth": "token " + CRED_ALICE}, 403),
                ("not the API", {"host": "ghp.test"}, 404)):
            with self.subTest(case=what):
                path = "/repos/acme/widgets" if what != "not the API" \
                    else "/elsewhere?x=1"
                r, port, _, _ = self.call(self.g, "GET", path, **kw)
                self.assertEqual(r.status, status, r)
                acc = self.access_for(self.g, port)[0]
                self.assertFullAccess(acc, r, port, "GET", path,
                                      kw.get("host", "api.github.com"))

    def test_passed_request_has_no_user(self):
        r, port, _, _ = self.call(self.g, "GET", "/repos/acme/gadgets",
                                  auth="token " + FOREIGN)
        self.assertEqual(r.status, 200, r)
        acc = self.access_for(self.g, port)[0]
        self.assertFullAccess(acc, r, port, "GET", "/repos/acme/gadgets",
                              "api.github.com")

    def test_http10_request(self):
        with self.g.conn() as c:
            port = c.sock.getsockname()[1]
            c.send(build_request("GET", "/repos/acme/widgets", [
                ("Host", "api.github.com"),
                ("Authorization", "token " + self.tok)],
                version="HTTP/1.0"))
            r = c.read_response()
        self.assertEqual(r.status, 200, r)
        acc = self.access_for(self.g, port)[0]
        self.assertFullAccess(acc, r, port, "GET", "/repos/acme/widgets",
                              "api.github.com", proto="HTTP/1.0",
                              owner="alice")

    def test_keep_alive_requests_each_have_a_record(self):
        with self.g.conn() as c:
            port = c.sock.getsockname()[1]
            rs = [self.call(self.g, "GET", "/repos/acme/widgets/issues/%d"
                            % i, token=self.tok, conn=c)[0]
                  for i in (1, 2, 3)]
        accs = self.access_for(self.g, port, 3)
        self.assertEqual([a["request"]["uri"] for a in accs],
                         ["/repos/acme/widgets/issues/%d" % i
                          for i in (1, 2, 3)])
        for r, a in zip(rs, accs):
            self.assertEqual(a["size"], r.body_length)
        self.assertEqual(len({a["request_id"] for a in accs}), 3)

    def test_refused_request_head(self):
        """A head refused before it could be parsed: the shorter
        record."""
        from harness import HttpConn
        with HttpConn("127.0.0.1", self.g.port) as c:
            port = c.sock.getsockname()[1]
            c.send(b"NOT A REQUEST\r\n\r\n")
            r = c.read_response()
        self.assertEqual(r.status, 400, r)
        acc = self.access_for(self.g, port)[0]
        self.assertAccessShape(acc)
        self.assertEqual(acc["msg"], "refused request head")
        self.assertEqual(set(acc["request"]), {"remote_ip", "remote_port"})
        self.assertEqual(acc["status"], 400)
        self.assertEqual(acc["size"], r.body_length)


# ------------------------------------------------------------- secrets


class NoSecretsTest(ObserveCase):
    """No client token, stored credential or Authorization value in the
    audit log, the access log, the daemon's log (at -vv) or the
    metrics, whatever form the token came in."""

    def test_no_secret_anywhere(self):
        g = start_proxy(self, workers=2, metrics=True, verbose=2)
        g.add_credential("bob", CRED_BOB)
        tok, tid = g.new_token("alice", "acme/widgets",
                               "contents:read,issues:write",
                               "--session", SESSION)
        btok, _ = g.new_token("bob", "acme/gadgets", "contents:read")
        g.fake.add_credential(FOREIGN, "bob")
        unknown = make_token("ghx_")
        agent = make_token("gha_")
        cookie = "session=cookie-secret-0123456789"
        proxy_auth = basic_auth("proxyuser", "proxy-secret-0123456789")
        auths = ["token " + tok, "Bearer " + tok,
                 basic_auth("x-access-token", tok), basic_auth(tok, ""),
                 basic_auth(tok, "x-oauth-basic"), "token " + btok,
                 "token " + unknown, "token " + agent,
                 "token " + CRED_ALICE, "Bearer " + CRED_BOB,
                 basic_auth("x", CRED_ALICE), "token " + FOREIGN,
                 basic_auth("x-access-token", FOREIGN)]
        n = 0
        ports = []
        for auth in auths:
            for method, path, body in (
                    ("GET", "/repos/acme/widgets", None),
                    ("GET", "/repos/acme/gadgets/issues/1", None),
                    ("POST", "/repos/acme/widgets/issues",
                     b'{"title": "t"}'),
                    ("GET", "/repos/acme/widgets/frobnicate", None)):
                r, port, _, _ = self.call(
                    g, method, path, auth=auth, body=body, headers=[
                        ("Cookie", cookie),
                        ("Proxy-Authorization", proxy_auth)])
                self.assertLess(r.status, 500, r)
                ports.append(port)
                n += 1
        for port in ports:
            self.access_for(g, port)
        text = g.metrics().body.decode("utf-8", "replace")
        self.assertIn("ghp_requests_total", text)
        needles = {"client token": tok, "client token past its prefix":
                   tok[8:], "bob's client token": btok,
                   "bob's token past its prefix": btok[8:],
                   "an unknown token": unknown, "an agent-looking token":
                   agent, "alice's stored credential": CRED_ALICE,
                   "bob's stored credential": CRED_BOB,
                   "a foreign raw token": FOREIGN,
                   "a cookie": "cookie-secret-0123456789",
                   "a Proxy-Authorization": proxy_auth.split()[1],
                   "the proxy password": "proxy-secret-0123456789"}
        for auth in auths:
            needles["Authorization " + auth[:14]] = auth
            if auth.startswith("Basic "):
                needles["Basic value " + auth[6:16]] = auth[6:]
        places = {"metrics": text.encode()}
        for place, path in (("audit log", g.audit_path),
                            ("access log", g.access_path),
                            ("ghp log", g.log_path)):
            with open(path, "rb") as f:
                places[place] = f.read()
        self.assertGreaterEqual(len(read_json_lines(g.audit_path)), n)
        for place, data in places.items():
            for what, needle in needles.items():
                self.assertNotIn(needle.encode(), data,
                                 "%s holds %s" % (place, what))


if __name__ == "__main__":
    unittest.main()
