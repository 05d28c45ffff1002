"""
test_agent_failures.py: agents' client tokens ("gha_") where things can
go wrong (ghp.conf(5) APPS, ghp(8)), seen from both ends: the client's
answer and the fake GitHub's records of what crossed ghp.

- REST through an agent token: ghp's scope check still comes first (a
  refused request never reaches GitHub), the forwarded request carries
  the minted ghs_ token, never the gha_ token or the JWT, and GitHub
  enforces the down-scoped token on its own;
- GraphQL with a gha_ token never sends the gha_ token upstream;
- agent tokens spanning two accounts are refused when created; an
  account with no installation (configured or found by asking the Apps)
  gets a 502 naming it;
- mint failures (401 bad JWT, 404 unknown installation, 5xx retried or
  persistent, no answer): a 502 in GitHub's shape with GitHub's reason,
  a line in the daemon log, the same answer held for a second, and
  recovery once GitHub is well again;
- no gha_ token, ghs_ token or JWT in the daemon log (-vv), the audit
  log, the access log or the state directory: checked last, on the
  daemon of the tests above, after traffic of every kind of its own.

The one slow scenario (a mint that gets no answer: ghp waits MINT_TIMEOUT,
5 s, and does not try again) runs on a daemon of its own in a
background thread started by setUpModule, so that the file takes about
as long as that scenario rather than the sum of everything (unittest
runs the classes by name: AgentFailureTest meanwhile, MintTimeoutTest
after it).

The mint itself is test_agent_mint.py's, two Apps test_agent_apps.py's;
what they share is in agent_case.py.

Run with tests/integration/run_all.py (or python3 -m unittest from this
directory).
"""

import json
import os
import threading
import time
import unittest

from agent_case import (APPS, BAD_APP_ID, BAD_INST, GHS_RE, INST, JSON_CT,
                        JWT_RE, LOST_APP_ID, LOST_INST, MINT_FAIL_HOLD,
                        MINT_TIMEOUT, MINT_TRIES, AgentCase,
                        AgentDaemonCase, agent_token, all_minted_tokens,
                        auth_values, credential_of, direct, forwarded,
                        is_app_call, mint_body, minted_prefixes, mints,
                        next_seq)
from harness import Ghp, app_key
from proxy_case import BLOCK

# ------------------------------------------------- the hung mint (slow)

_hang = {}


def _hang_scenario():
    """A mint that never gets an answer; then GitHub recovers."""
    g = _hang["g"]
    out = _hang["out"]
    try:
        tok = agent_token(g, "acme/widgets", "issues:write")
        out["token"] = tok
        out["offset"] = g.log_size()
        out["since"] = next_seq(g)
        g.fake.set_fault(1000, "hang", match="access_tokens")
        t0 = time.monotonic()
        bound = MINT_TRIES * (MINT_TIMEOUT + 1) + 15
        try:
            out["r"] = g.api("GET", "/repos/acme/widgets", tok,
                             timeout=bound)
        except OSError as e:
            out["r"] = e
        out["took"] = time.monotonic() - t0
        out["bound"] = bound
        g.fake.clear_faults()
        time.sleep(MINT_FAIL_HOLD + 0.2)
        try:
            out["after"] = g.api("GET", "/repos/acme/widgets", tok,
                                 timeout=bound)
        except OSError as e:
            out["after"] = e
    except Exception as e:  # noqa: BLE001 (reported by the test)
        out["error"] = e
    finally:
        _hang["done"].set()


def setUpModule():
    g = Ghp(workers=2, verbose=2, upstream=True, block_tokens=BLOCK,
            logs=True, apps=APPS[:1])
    _hang.update(g=g, out={}, done=threading.Event())
    g.start()
    threading.Thread(target=_hang_scenario, name="hung-mint",
                     daemon=True).start()


def tearDownModule():
    g = _hang.get("g")
    if g is not None:
        g.cleanup()


class MintTimeoutTest(AgentCase):
    """ghp.conf(5): "A mint that gets no answer or a 5xx is tried up to
    three times; when it fails, the client gets a 502 with GitHub's
    reason"; then, GitHub well again, a second later the next request
    works."""

    def test_hung_mint_gives_502_then_recovers(self):
        out = _hang["out"]
        self.assertTrue(_hang["done"].wait(
            MINT_TRIES * (MINT_TIMEOUT + 1) + 40),
            "the hung-mint scenario did not finish")
        if "error" in out:
            raise out["error"]
        g = _hang["g"]
        r = out["r"]
        self.assertNotIsInstance(r, Exception, "no answer within %ds: %r"
                                 % (out["bound"], r))
        msg = self.assertMintFailure(r)
        self.assertRegex(msg.lower(), r"timed? ?out",
                         "the 502 does not say GitHub did not answer")
        self.assertLessEqual(out["took"], out["bound"])
        self.assertTrue(mints(g, out["since"], INST),
                        "no mint reached the fake")
        self.assertLogLine(g, out["offset"], str(INST), "timed out")
        self.assertNotIsInstance(out["after"], Exception)
        self.assertEqual(out["after"].status, 200,
                         "%r: after the hang was cleared and %ss, the "
                         "next request failed" % (out["after"],
                                                  MINT_FAIL_HOLD + 0.2))
        self.assertEqual(g.fake.find(out["token"]), [])


# -------------------- REST and GraphQL, what fails, and (last) secrets


class AgentFailureTest(AgentDaemonCase):
    """REST and GraphQL through an agent token, what cannot be minted,
    mint failures; last, no secret in any log of this daemon."""

    # ---- REST, ghp's scope first, GitHub's enforcement

    def test_rest_through_an_agent_token(self):
        tok = self.token("acme/widgets", "issues:write")
        r = self.get("/repos/acme/widgets", tok)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(json.loads(r.body)["full_name"], "acme/widgets")
        body = json.dumps({"title": "from an agent"}).encode()
        r = self.g.api("POST", "/repos/acme/widgets/issues", tok,
                       headers=JSON_CT, body=body)
        self.assertEqual(r.status, 201, r)
        issue = json.loads(r.body)
        self.assertEqual(issue["title"], "from an agent")
        self.assertEqual(issue["user"]["login"], "agents[bot]")
        m = self.one_mint({"repositories": ["widgets"],
                           "permissions": {"issues": "write"}})
        recs = self.forwarded_since(self.g, self.since, 2)
        self.assertEqual([(x["method"], x["path"]) for x in recs],
                         [("GET", "/repos/acme/widgets"),
                          ("POST", "/repos/acme/widgets/issues")])
        prefix = minted_prefixes(self.g)[m["seq"]]
        for rec in recs:
            self.assertEqual(len(auth_values(rec)), 1, rec["headers"])
            cred = credential_of(rec)
            self.assertTrue(cred.startswith("ghs_"), rec["headers"])
            self.assertEqual(cred[:8], prefix)
            self.assertEqual(rec["login"], "agents[bot]")
            self.assertEqual(rec["body"] or "", "" if rec["method"] ==
                             "GET" else body.decode())
        self.assertEqual(recs[1]["body"], body.decode())
        # Never the client token; the JWT only on the App's own calls
        # (RS256 signs alike: two in one second carry the same JWT).
        self.assertEqual(self.g.fake.find(tok), [])
        self.assertEqual(self.g.fake.find("gha_"), [])
        jwt = credential_of(m)
        self.assertEqual([(x["method"], x["path"]) for x in
                          self.g.fake.find(jwt) if not is_app_call(x)], [])
        for rec in recs:
            self.assertNotRegex(" ".join(auth_values(rec)), JWT_RE)

    def test_scope_check_comes_first_and_github_enforces_too(self):
        tok = self.token("acme/widgets", "issues:write")
        self.assertEqual(self.get("/repos/acme/widgets/issues/1",
                                  tok).status, 200)
        cred = credential_of(self.forwarded_since(self.g, self.since,
                                                  1)[-1])
        self.assertTrue(cred and cred.startswith("ghs_"), cred)
        refused = [
            ("GET", "/repos/acme/gadgets", None),
            ("GET", "/repos/octo/public", None),
            ("POST", "/repos/acme/gadgets/issues", b'{"title":"x"}'),
            ("PUT", "/repos/acme/widgets/contents/README.md",
             b'{"message":"m","content":"eA=="}'),
            ("POST", "/repos/acme/widgets/pulls",
             b'{"title":"t","head":"a","base":"main"}'),
        ]
        for method, path, body in refused:
            with self.subTest(method=method, path=path):
                since = next_seq(self.g)
                r = self.g.api(method, path, tok, body=body,
                               headers=JSON_CT if body else ())
                msg = self.assertGitHubError(r, 403)
                self.assertTrue(msg.startswith("ghp"), msg)
                time.sleep(0.05)
                self.assertEqual([(x["method"], x["path"]) for x in
                                  forwarded(self.g, since)], [],
                                 "a request outside the scope reached "
                                 "GitHub")
        # The installation token on its own, straight to GitHub: GitHub
        # enforces the same scope.
        self.assertEqual(direct(self.g, "GET", "/repos/acme/widgets",
                                cred).status, 200)
        self.assertEqual(direct(self.g, "GET", "/repos/acme/gadgets",
                                cred).status, 404)
        r = direct(self.g, "PUT", "/repos/acme/widgets/contents/README.md",
                   cred, b'{"message":"m","content":"eA=="}')
        self.assertEqual(r.status, 403, r)
        self.assertIn("Resource not accessible by integration",
                      json.loads(r.body)["message"])
        r = direct(self.g, "POST", "/repos/octo/public/issues", cred,
                   b'{"title":"x"}')
        self.assertEqual(r.status, 403, r)

    def test_graphql_never_sends_the_agent_token(self):
        tok = self.token("acme/widgets", "actions:read")
        q = json.dumps({"query": "{ viewer { login } }"}).encode()
        for host, path in (("api.github.com", "/graphql"),
                           ("ghp.test", "/api/graphql")):
            with self.subTest(path=path):
                # Whatever ghp answers (GraphQL for agents is another
                # issue): only what goes upstream is checked.
                self.g.api("POST", path, tok, host=host, headers=JSON_CT,
                           body=q)
        time.sleep(0.1)
        self.assertEqual(self.g.fake.find(tok), [],
                         "the gha_ token was sent to GitHub")
        self.assertEqual(self.g.fake.find(tok[4:]), [])

    # ---- tokens ghp cannot mint for

    def test_agent_token_spanning_two_accounts_is_refused(self):
        rc, out, err = self.g.ctl("token", "create", "--type", "agent",
                                  "--owner", "robot", "--repo",
                                  "acme/widgets,octo/public", "--perm",
                                  "issues:read")
        self.assertNotEqual(rc, 0, out)
        self.assertNotIn("gha_", out)
        self.assertIn("one account", err)

    def test_account_without_installation_gets_502_naming_it(self):
        """No installation configured for the account, and none found by
        asking the Apps (GET /app/installations): a 502 naming it, no
        mint, nothing forwarded."""
        tok = self.token("nobodyco/thing", "issues:read")
        r = self.get("/repos/nobodyco/thing", tok)
        self.assertMintFailure(r, "nobodyco")
        time.sleep(0.1)
        self.assertEqual([(x["method"], x["path"]) for x in
                          self.g.fake.requests(since=self.since)
                          if x["path"] != "/app/installations"], [],
                         "more than the Apps' installations was asked of "
                         "GitHub")

    # ---- mint failures

    def test_bad_jwt_401_then_recovers(self):
        tok = self.token("wrongco/app", "issues:read")
        r = self.get("/repos/wrongco/app", tok)
        self.assertMintFailure(r, "A JSON web token could not be decoded")
        ms = mints(self.g, self.since, BAD_INST)
        self.assertTrue(ms)
        self.assertTrue(all(m["status"] == 401 for m in ms), ms)
        self.assertEqual(forwarded(self.g, self.since), [])
        self.assertLogLine(self.g, self.offset, str(BAD_INST),
                           "A JSON web token could not be decoded")
        # GitHub learns the right key.
        self.g.fake.add_app(BAD_APP_ID, app_key("badkey")[1], slug="badkey",
                            installations={BAD_INST: "wrongco"})
        self.g.fake.add_repo("wrongco/app")
        time.sleep(MINT_FAIL_HOLD + 0.2)
        r = self.get("/repos/wrongco/app", tok)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(forwarded(self.g, self.since)[-1]["login"],
                         "badkey[bot]")

    def test_unknown_installation_404_then_recovers(self):
        tok = self.token("lostco/app", "issues:read")
        r = self.get("/repos/lostco/app", tok)
        self.assertMintFailure(r, "Not Found")
        ms = mints(self.g, self.since, LOST_INST)
        self.assertTrue(ms)
        self.assertTrue(all(m["status"] == 404 for m in ms), ms)
        self.assertLogLine(self.g, self.offset, str(LOST_INST), "Not Found")
        # The App gets installed there.
        self.g.fake.add_app(LOST_APP_ID, app_key("lost")[1], slug="lost",
                            installations={LOST_INST: "lostco"})
        self.g.fake.add_repo("lostco/app")
        time.sleep(MINT_FAIL_HOLD + 0.2)
        r = self.get("/repos/lostco/app", tok)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(forwarded(self.g, self.since)[-1]["login"],
                         "lost[bot]")

    def test_two_5xx_are_retried_and_the_client_succeeds(self):
        tok = self.token("acme/widgets", "checks:write")
        self.g.fake.set_mint_fault(2, 502, installation=INST)
        self.addCleanup(self.g.fake.clear_mint_faults)
        r = self.get("/repos/acme/widgets", tok, timeout=30)
        self.assertEqual(r.status, 200, r)
        ms = mints(self.g, self.since, INST)
        self.assertEqual([m["status"] for m in ms], [502, 502, 201])
        self.assertEqual({json.dumps(mint_body(m), sort_keys=True)
                          for m in ms}, {json.dumps({
                              "repositories": ["widgets"],
                              "permissions": {"checks": "write"}},
                              sort_keys=True)})
        self.assertLogLine(self.g, self.offset, str(INST), "502")
        rec = self.forwarded_since(self.g, self.since, 1)[-1]
        self.assertEqual(credential_of(rec)[:8],
                         minted_prefixes(self.g)[ms[-1]["seq"]])

    def test_persistent_5xx_gives_502_with_reason_then_recovers(self):
        tok = self.token("acme/widgets", "statuses:write")
        self.g.fake.set_mint_fault(1000, 500, installation=INST)
        self.addCleanup(self.g.fake.clear_mint_faults)
        r = self.get("/repos/acme/widgets", tok, timeout=30)
        self.assertMintFailure(r, "Server Error")
        ms = mints(self.g, self.since, INST)
        self.assertEqual([m["status"] for m in ms], [500] * MINT_TRIES)
        self.assertEqual(forwarded(self.g, self.since), [])
        self.assertLogLine(self.g, self.offset, str(INST), "Server Error")
        self.g.fake.clear_mint_faults()
        time.sleep(MINT_FAIL_HOLD + 0.2)
        r = self.get("/repos/acme/widgets", tok)
        self.assertEqual(r.status, 200, r)

    def test_failure_is_answered_again_for_a_second(self):
        """"the same answer is given for a second before GitHub is asked
        again": requests in the 0.7 s after the 502 get the same 502, and
        no mint reaches GitHub.  The last try is answered at about .6 of
        a wall-clock second, so that a hold that ended at the next whole
        second (rather than a second later) would show every time."""
        tok = self.token("acme/gadgets", "statuses:write")
        self.g.fake.set_mint_fault(1000, 503, installation=INST)
        self.addCleanup(self.g.fake.clear_mint_faults)
        calls = []

        def late_last_try(ex, iid, jwt):
            calls.append(iid)
            if len(calls) == MINT_TRIES:
                frac = time.time() % 1
                time.sleep((0.6 - frac) % 1)
            return ex.mint_token(iid)
        self.g.fake.app_token_handler = late_last_try
        self.addCleanup(setattr, self.g.fake, "app_token_handler", None)
        r = self.get("/repos/acme/gadgets", tok, timeout=30)
        t0, wall0 = time.monotonic(), time.time()
        first = self.assertMintFailure(r, "Service Unavailable")
        n = len(mints(self.g, self.since, INST))
        self.assertEqual(n, MINT_TRIES)
        answers = []
        while time.monotonic() - t0 < 0.7:
            answers.append(self.get("/repos/acme/gadgets", tok))
            time.sleep(0.05)
        again = mints(self.g, self.since, INST)[n:]
        self.assertEqual([m["seq"] for m in again], [],
                         "GitHub was asked again %.2fs after "
                         "the failure was answered" %
                         ((again[0]["time"] - wall0) if again else 0))
        for a in answers:
            self.assertEqual(self.assertMintFailure(a), first)

    # ---- last (by name): nothing secret was written anywhere

    def test_zz_no_secret_in_any_log(self):
        """Runs after the others (unittest orders by name) so that it
        also covers what they did; makes traffic of every kind itself
        too: a success, a scope refusal, a mint failure, GraphQL."""
        tok = self.token("acme/widgets", "issues:write")
        self.assertEqual(self.get("/repos/acme/widgets/issues/1",
                                  tok).status, 200)
        self.assertEqual(self.get("/repos/acme/gadgets", tok).status, 403)
        self.g.fake.set_mint_fault(1, 401, installation=INST)
        self.addCleanup(self.g.fake.clear_mint_faults)
        bad = self.token("acme/widgets", "issues:read,checks:read")
        self.assertEqual(self.get("/repos/acme/widgets", bad).status, 502)
        self.g.api("POST", "/graphql", tok, headers=JSON_CT,
                   body=b'{"query":"{ viewer { login } }"}')
        time.sleep(0.3)         # the master writes the logs a moment later
        secrets = {}
        for t in self.tokens:
            secrets[t] = "gha_ token"
        for rec in self.g.fake.requests():
            c = credential_of(rec)
            if c and c.startswith("ghs_"):
                secrets[c] = "ghs_ token"
            if c and is_app_call(rec):
                secrets[c] = "JWT"
                secrets[c.rsplit(".", 1)[-1]] = "JWT signature"
        for t in all_minted_tokens(self.g):
            secrets[t] = "ghs_ token"
        self.assertIn("JWT", secrets.values())
        self.assertIn("ghs_ token", secrets.values())
        places = {"daemon log": self.g.log_path,
                  "audit log": self.g.audit_path,
                  "access log": self.g.access_path}
        for root, _, files in os.walk(self.g.state_dir):
            for n in files:
                places["state " + n] = os.path.join(root, n)
        for what, path in places.items():
            if not os.path.exists(path):
                continue
            with open(path, "rb") as f:
                text = f.read()
            for s, kind in secrets.items():
                self.assertNotIn(s.encode(), text, "the %s %s... is in "
                                 "the %s" % (kind, s[:8], what))
            t = text.decode("utf-8", "replace")
            self.assertIsNone(JWT_RE.search(t), "a JWT in the %s" % what)
            self.assertIsNone(GHS_RE.search(t), "a ghs_ token in the %s" %
                              what)
        for t in self.tokens:
            self.assertTokenNowhere(self.g, t)


if __name__ == "__main__":
    unittest.main()
