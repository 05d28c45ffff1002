"""
test_web_copilot.py: Copilot through ghp.  A ghx_ token with the
copilot permission, whose owner's stored credential is a GitHub OAuth
token (gho_), reaches api.githubcopilot.com with a Copilot token that
the keyholder got from GitHub (GET /copilot_internal/v2/token), keeps,
reuses and refreshes; failures of that exchange are 502 and pass; what
is refused (no permission, an agent's token, a stored PAT) reaches
nobody; other tokens pass unchanged; neither the OAuth token nor the
ghx_ token ever reaches the Copilot site, and the ghx_ token nothing at
all; a revoked token stops Copilot at once.

The Copilot site is the FakeGitHub under /_copilot (its answer echoes
the Copilot token it was given); the exchange is the fake's, which
records each token it issues (copilot_tokens()).

Run with tests/integration/run_all.py (or python3 -m unittest from this
directory).
"""

import json
import time
import unittest

from observe_case import ObserveCase
from proxy_case import CRED_ALICE, start_proxy

COPILOT = "api.githubcopilot.com"
OAUTH = "gho_copilotoauthCAROL0001"     # carol's GitHub OAuth token
EXCHANGE = "/copilot_internal/v2/token"
CHAT = "/chat/completions"
JSON_CT = [("Content-Type", "application/json")]
BODY = json.dumps({"model": "gpt-4o", "messages": [
    {"role": "user", "content": "hello"}]}).encode()
APP = {"name": "agents", "id": 321, "installations": [(654, "acme")]}


def auth_values(rec):
    return [v for k, v in rec["headers"] if k.lower() == "authorization"]


class CopilotCase(ObserveCase):
    """A daemon per test (the keyholder's Copilot token is per daemon):
    alice stores a PAT, carol an OAuth token; carol's ghx_ token may use
    Copilot."""

    refresh_in = None       # the fake's refresh_in, set before the start

    def setUp(self):
        g = start_proxy(self, workers=2, record_identity=True, apps=[APP],
                        sites=True)
        self.g = g
        if self.refresh_in is not None:
            g.fake.set_copilot(refresh_in=self.refresh_in)
        g.fake.add_credential(OAUTH, "carol")
        g.add_credential("carol", OAUTH)
        self.tok, self.tid = g.new_token("carol", "acme/widgets",
                                         "contents:read,copilot:read")
        self.pre = g.fake.site_prefixes["copilot"]

    def copilot(self, token=None, auth=None, method="POST", path=CHAT,
                body=BODY, headers=()):
        """One request to the Copilot site through ghp."""
        if auth is None and token is not None:
            auth = "Bearer " + token
        return self.call(self.g, method, path, auth=auth, host=COPILOT,
                         headers=list(JSON_CT if body else []) +
                         list(headers), body=body)[0]

    def exchanges(self):
        """The exchange requests that reached GitHub."""
        return [r for r in self.g.fake.requests() if r["path"] == EXCHANGE]

    def issued(self):
        """The Copilot tokens the fake issued, oldest first."""
        return self.g.fake.copilot_tokens()

    def copilot_recs(self):
        return [r for r in self.g.fake.requests()
                if r["path"] == self.pre or
                r["path"].startswith(self.pre + "/")]

    def ok_echo(self, r):
        """A request the fake's Copilot site took: its echo."""
        self.assertEqual(r.status, 200, r)
        echo = json.loads(r.body)
        self.assertEqual(echo.get("site"), "copilot", echo)
        self.assertEqual(echo.get("login"), "carol", echo)
        return echo

    def assertSecretsKept(self):
        """The OAuth token never reached the Copilot site; the client
        token reached nothing."""
        for rec in self.copilot_recs():
            self.assertNotIn(OAUTH, json.dumps(rec), rec["target"])
        self.assertEqual(self.g.fake.find(self.tok), [])
        self.assertEqual(self.g.fake.find("ghx_"), [])
        for rec in self.exchanges():
            self.assertEqual(auth_values(rec), ["token " + OAUTH])

    def assertRefused(self, r, status, *contains):
        self.assertGitHubError(r, status, *contains)
        self.assertEqual(self.copilot_recs(), [], "a refused request "
                         "reached the Copilot site")
        self.assertEqual(self.issued(), [], "a refused request made ghp "
                         "ask GitHub for a Copilot token")


class CopilotTokenTest(CopilotCase):

    def test_first_use_exchanges_once(self):
        r = self.copilot(self.tok)
        echo = self.ok_echo(r)
        issued = self.issued()
        self.assertEqual(len(issued), 1, issued)
        self.assertEqual(echo["token"], issued[0]["token"])
        self.assertEqual(issued[0]["credential_prefix"], OAUTH[:8])
        self.assertEqual(len(self.exchanges()), 1)
        recs = self.copilot_recs()
        self.assertEqual([(x["method"], x["path"]) for x in recs],
                         [("POST", self.pre + CHAT)])
        self.assertEqual(auth_values(recs[0]),
                         ["Bearer " + issued[0]["token"]])
        self.assertEqual(recs[0]["body_length"], len(BODY))
        self.assertSecretsKept()

    def test_reuse_keeps_one_exchange(self):
        tokens = set()
        for i in range(8):
            method, path, body = (("GET", "/models", None) if i % 2 else
                                  ("POST", CHAT, BODY))
            echo = self.ok_echo(self.copilot(self.tok, method=method,
                                             path=path, body=body))
            tokens.add(echo["token"])
        self.assertEqual(len(tokens), 1, tokens)
        self.assertEqual(len(self.issued()), 1, self.issued())
        self.assertEqual(len(self.exchanges()), 1)
        self.assertEqual(len(self.copilot_recs()), 8)
        self.assertSecretsKept()

    def test_every_copilot_host(self):
        hosts = ("api.githubcopilot.com", "githubcopilot.com",
                 "api.individual.githubcopilot.com",
                 "proxy.business.githubcopilot.com",
                 "API.GitHubCopilot.com")
        for host in hosts:
            with self.subTest(host=host):
                r = self.call(self.g, "GET", "/models",
                              auth="Bearer " + self.tok, host=host)[0]
                echo = self.ok_echo(r)
                self.assertEqual(echo["path"], "/models")
        self.assertEqual(len(self.issued()), 1)
        self.assertEqual(len(self.copilot_recs()), len(hosts))
        self.assertSecretsKept()

    def test_streamed_answer_passes(self):
        body = json.dumps({"model": "gpt-4o", "stream": True,
                           "messages": []}).encode()
        r = self.copilot(self.tok, path=CHAT + "?n=4&delay_ms=50",
                         body=body)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.headers.get("content-type", "").startswith(
            "text/event-stream"), r.headers)
        events = [l for l in r.body.split(b"\n\n") if l.strip()]
        self.assertEqual(len(events), 6, r.body)
        self.assertEqual(events[-1], b"data: [DONE]")
        self.assertSecretsKept()

    def test_audit_record(self):
        r, acc, aud, _ = self.traced(self.g, "POST", CHAT,
                                     auth="Bearer " + self.tok,
                                     host=COPILOT, headers=JSON_CT,
                                     body=BODY)
        self.assertEqual(r.status, 200, r)
        self.assertIsNotNone(aud, "no audit record for Copilot")
        self.assertEqual((aud["decision"], aud["endpoint"],
                          aud["permission"], aud["owner"],
                          aud["token_id"]),
                         ("allow", "copilot", "copilot:read", "carol",
                          self.tid))
        text = json.dumps(aud)
        for secret in (self.tok, OAUTH, self.issued()[0]["token"]):
            self.assertNotIn(secret, text)

    def test_revoked_token_stops_copilot(self):
        self.ok_echo(self.copilot(self.tok))
        rc, _, err = self.g.ctl("token", "revoke", str(self.tid))
        self.assertEqual(rc, 0, err)
        before = len(self.copilot_recs())
        for _ in range(4):          # both workers, whatever they cached
            r = self.copilot(self.tok)
            self.assertGitHubError(r, 401, "revoked")
        self.assertEqual(len(self.copilot_recs()), before)
        self.assertSecretsKept()


class CopilotRefreshTest(CopilotCase):

    refresh_in = 2

    def test_refresh_in_the_background(self):
        first = self.ok_echo(self.copilot(self.tok))["token"]
        self.assertEqual(len(self.issued()), 1)
        # Keep using it: once refresh_in has passed, a new token is got
        # (without a request failing), and soon the requests carry it.
        deadline = time.monotonic() + 30
        seen = [first]
        while True:
            echo = self.ok_echo(self.copilot(self.tok))
            seen.append(echo["token"])
            if len(self.issued()) >= 2 and echo["token"] != first:
                break
            if time.monotonic() > deadline:
                self.fail("no refreshed Copilot token in use within 30 s "
                          "(refresh_in 2 s): issued %d, tokens seen %d" %
                          (len(self.issued()), len(set(seen))))
            time.sleep(0.25)
        issued = [t["token"] for t in self.issued()]
        self.assertEqual(issued[0], first)
        self.assertIn(seen[-1], issued[1:])
        # Workers may keep the old one a few seconds; then every request
        # carries a newer one (several in a row, for both workers).
        deadline = time.monotonic() + 20
        run = 0
        while run < 6:
            echo = self.ok_echo(self.copilot(self.tok))
            issued = [t["token"] for t in self.issued()]
            self.assertIn(echo["token"], issued)
            run = run + 1 if echo["token"] != first else 0
            if time.monotonic() > deadline:
                self.fail("the first Copilot token still in use 20 s "
                          "after a refresh")
            time.sleep(0.1)
        for rec in self.exchanges():
            self.assertEqual(auth_values(rec), ["token " + OAUTH])
        self.assertSecretsKept()

    def test_no_refresh_while_unused(self):
        self.ok_echo(self.copilot(self.tok))
        # An unused token is refreshed at most once more, however long
        # it waits (here three times refresh_in).
        time.sleep(6)
        self.assertLessEqual(len(self.issued()), 2, self.issued())


class CopilotFailureTest(CopilotCase):

    def recover(self):
        """After the fault is gone, Copilot works again once the failure
        is no longer held (about a second)."""
        self.g.fake.clear_copilot_faults()
        deadline = time.monotonic() + 15
        while True:
            r = self.copilot(self.tok)
            if r.status == 200:
                return self.ok_echo(r)
            self.assertEqual(r.status, 502, r)
            if time.monotonic() > deadline:
                self.fail("Copilot still failing 15 s after GitHub "
                          "recovered: %r" % r)
            time.sleep(0.2)

    def check_fault(self, status, reason):
        self.g.fake.set_copilot_fault(next=1000, status=status)
        r = self.copilot(self.tok)
        msg = self.assertGitHubError(r, 502)
        self.assertTrue(reason in msg or str(status) in msg,
                        "502 does not name GitHub's reason (%d %s): %r" %
                        (status, reason, msg))
        self.assertEqual(self.copilot_recs(), [], "forwarded without a "
                         "Copilot token")
        self.assertGreaterEqual(len(self.exchanges()), 1)
        echo = self.recover()
        issued = self.issued()
        self.assertEqual(len(issued), 1, issued)
        self.assertEqual(echo["token"], issued[0]["token"])
        self.assertSecretsKept()

    def test_exchange_500_then_recovery(self):
        self.check_fault(500, "Server Error")

    def test_exchange_401_then_recovery(self):
        self.check_fault(401, "Bad credentials")


class CopilotRefusedTest(CopilotCase):

    def test_no_copilot_permission_is_403(self):
        tok, _ = self.g.new_token("carol", "acme/widgets", "contents:read")
        self.assertRefused(self.copilot(tok), 403, "copilot:read")
        self.assertEqual(self.g.fake.find(tok), [])

    def test_agent_token_is_403(self):
        rc, out, err = self.g.ctl("token", "create", "--type", "agent",
                                  "--owner", "robot", "--repo",
                                  "acme/widgets", "--perm",
                                  "contents:read,copilot:read")
        if rc != 0:
            rc, out, err = self.g.ctl("token", "create", "--type", "agent",
                                      "--owner", "robot", "--repo",
                                      "acme/widgets", "--perm",
                                      "contents:read")
        self.assertEqual(rc, 0, err)
        tok = out.strip()
        self.assertTrue(tok.startswith("gha_"), tok)
        self.assertRefused(self.copilot(tok), 403)
        self.assertEqual(self.g.fake.find(tok), [])

    def test_stored_pat_is_403_oauth_needed(self):
        tok, _ = self.g.new_token("alice", "acme/widgets",
                                  "contents:read,copilot:read")
        msg = self.assertGitHubError(self.copilot(tok), 403)
        self.assertIn("oauth", msg.lower())
        self.assertEqual(self.copilot_recs(), [])
        self.assertEqual(self.issued(), [])
        self.assertEqual(self.g.fake.find(tok), [])
        for rec in self.g.fake.requests():
            self.assertNotEqual(rec["path"], EXCHANGE)
            if rec["path"].startswith(self.pre):
                self.assertNotIn(CRED_ALICE, json.dumps(rec))

    def test_blocked_prefix_is_403(self):
        r = self.copilot(auth="Bearer " + CRED_ALICE)
        self.assertRefused(r, 403, "use the ghp token")


class CopilotPassTest(CopilotCase):

    def test_other_tokens_pass_unchanged(self):
        for auth in ("Bearer tid=abc;exp=1;sku=free", "token tid=abc"):
            with self.subTest(auth=auth):
                self.g.fake.clear()
                r = self.copilot(auth=auth)
                # The fake's Copilot knows no such token: its 401 comes
                # back as it is.
                self.assertEqual(r.status, 401, r)
                recs = self.copilot_recs()
                self.assertEqual(len(recs), 1)
                self.assertEqual(auth_values(recs[0]), [auth])
                self.assertEqual(self.issued(), [])

    def test_a_real_copilot_token_passes(self):
        """A Copilot token the client got itself is forwarded as it is
        and works."""
        self.ok_echo(self.copilot(self.tok))
        mine = self.issued()[0]["token"]
        self.g.fake.clear()
        echo = self.ok_echo(self.copilot(auth="Bearer " + mine))
        self.assertEqual(echo["token"], mine)
        self.assertEqual(auth_values(self.copilot_recs()[0]),
                         ["Bearer " + mine])
        self.assertEqual(len(self.issued()), 1)

    def test_no_token_passes(self):
        r = self.copilot(method="GET", path="/models", body=None)
        self.assertEqual(r.status, 401, r)
        recs = self.copilot_recs()
        self.assertEqual(len(recs), 1)
        self.assertEqual(auth_values(recs[0]), [])

    def test_pass_is_audited(self):
        r, acc, aud, _ = self.traced(self.g, "GET", "/models",
                                     auth="Bearer tid=abc", host=COPILOT)
        self.assertEqual(r.status, 401, r)
        self.assertIsNotNone(aud)
        self.assertEqual((aud["decision"], aud["endpoint"]),
                         ("pass", "copilot"))
        self.assertIsNone(aud["token_id"])


if __name__ == "__main__":
    unittest.main()
