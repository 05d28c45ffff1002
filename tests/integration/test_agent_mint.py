"""
test_agent_mint.py: agents' client tokens ("gha_"), backed by GitHub App
installation tokens that the keyholder mints (ghp.conf(5) APPS, ghp(8)):
the mint, seen from both ends: the client's answer and the fake GitHub's
records of what crossed ghp (the mint requests with their bodies, the
installation token on the forwarded requests).

- the mint: signed with the App's key (the fake verifies the JWT), asked
  for exactly the agent token's repositories (none named for account/*)
  and permissions; one mint serves many requests, both workers and every
  agent token of the same scope; another scope mints again; a token
  within five minutes of its expiry is minted anew; concurrent first
  requests share one mint (single flight);
- the App's private key is open in no worker, mapped by none, and not
  kept open by the keyholder.

Two Apps on one account are test_agent_apps.py's; REST and GraphQL
through an agent token, what cannot be minted, mint failures and secrets
test_agent_failures.py's; an installation found by asking GitHub
test_agent_discover.py's.  What they share is in agent_case.py.

Run with tests/integration/run_all.py (or python3 -m unittest from this
directory).
"""

import os
import time
import unittest

from agent_case import (APP_ID, INST, MINT_RENEW, TCACHE_TTL,
                        AgentDaemonCase, auth_values, credential_of,
                        jwt_parts, mint_body, mints, minted_prefixes,
                        next_seq, parallel)
from harness import IS_ROOT, NEED_ROOT, open_files
from proxy_case import AGENT_RE

# ----------------------------------- the mint, reuse, renewal, the key


class AgentMintTest(AgentDaemonCase):
    """What is minted and how often: signed and down-scoped, one mint
    per scope, a new one near expiry, single flight; and the App's key
    out of the workers' reach."""

    # ---- the mint: signed, down-scoped

    def test_token_has_the_agent_shape(self):
        self.assertRegex(self.token("acme/widgets", "issues:read"),
                         AGENT_RE)

    def test_mint_is_signed_and_down_scoped_to_named_repositories(self):
        tok = self.token("acme/widgets,acme/gadgets",
                         "contents:read,issues:write")
        r = self.get("/repos/acme/gadgets/issues/1", tok)
        self.assertEqual(r.status, 200, r)
        ms = mints(self.g, self.since)
        self.assertEqual(len(ms), 1, ms)
        m = ms[0]
        self.assertEqual(m["path"],
                         "/app/installations/%d/access_tokens" % INST)
        self.assertEqual(m["status"], 201, m)
        # The fake verified the JWT with the App's public key.
        self.assertEqual(m.get("app_id"), APP_ID)
        jwt = credential_of(m)
        self.assertTrue(auth_values(m)[0].startswith("Bearer "))
        head, claims = jwt_parts(jwt)
        self.assertEqual(head.get("alg"), "RS256")
        self.assertEqual(str(claims.get("iss")), str(APP_ID))
        body = mint_body(m)
        self.assertEqual(set(body), {"repositories", "permissions"}, body)
        self.assertEqual(sorted(body["repositories"]),
                         ["gadgets", "widgets"])
        self.assertEqual(body["permissions"],
                         {"contents": "read", "issues": "write"})
        # What the fake minted is that, and what was forwarded is it.
        app = [a for a in self.g.fake.apps() if a["app_id"] == APP_ID][0]
        t = [x for x in app["tokens"] if x["seq"] == m["seq"]][0]
        self.assertEqual(t["repository_selection"], "selected")
        self.assertEqual(sorted(t["repositories"]), ["gadgets", "widgets"])
        rec = self.forwarded_since(self.g, self.since, 1)[0]
        self.assertEqual(credential_of(rec)[:8], t["token_prefix"])
        self.assertEqual(rec["login"], "agents[bot]")

    def test_mint_for_account_star_names_no_repositories(self):
        tok = self.token("acme/*", "pull_requests:read")
        r = self.get("/repos/acme/widgets/pulls", tok)
        self.assertEqual(r.status, 200, r)
        m = self.one_mint({"permissions": {"pull_requests": "read"}})
        self.assertNotIn("repositories", mint_body(m))
        self.assertNotIn("repository_ids", mint_body(m))
        app = [a for a in self.g.fake.apps() if a["app_id"] == APP_ID][0]
        t = [x for x in app["tokens"] if x["seq"] == m["seq"]][0]
        self.assertEqual(t["repository_selection"], "all")

    # ---- reuse, renewal, single flight

    def test_one_mint_serves_requests_workers_and_tokens_of_a_scope(self):
        scope = ("acme/gadgets", "issues:read")
        body = {"repositories": ["gadgets"],
                "permissions": {"issues": "read"}}
        toks = [self.token(*scope) for _ in range(3)]
        pids = set(self.g.worker_pids())
        self.assertEqual(len(pids), 2)
        # Concurrent connections until both workers have served toks[0].
        n = 0
        for _ in range(8):
            got = parallel(lambda i: self.get(
                "/repos/acme/gadgets/issues/%d" % (i % 5 + 1), toks[0]), 12)
            n += len(got)
            for r in got:
                self.assertNotIsInstance(r, Exception)
                self.assertEqual(r.status, 200, r)
            if self.workers_of(self.g, toks[0], n) >= pids:
                break
        self.assertEqual(self.workers_of(self.g, toks[0], n), pids,
                         "both workers should have served the token")
        for tok in toks[1:]:
            for i in range(3):
                r = self.get("/repos/acme/gadgets/issues/%d" % (i + 1), tok)
                self.assertEqual(r.status, 200, r)
        m = self.one_mint(body)
        recs = self.forwarded_since(self.g, self.since, n + 6)
        self.assertEqual(len(recs), n + 6)
        creds = {credential_of(x) for x in recs}
        self.assertEqual(len(creds), 1, "several credentials forwarded")
        cred = creds.pop()
        self.assertEqual(cred[:8], minted_prefixes(self.g)[m["seq"]])
        # Another scope (issues:write) is another installation token.
        other = self.token("acme/gadgets", "issues:write")
        since = next_seq(self.g)
        r = self.get("/repos/acme/gadgets/issues/1", other)
        self.assertEqual(r.status, 200, r)
        m2 = self.one_mint({"repositories": ["gadgets"],
                            "permissions": {"issues": "write"}},
                           since=since)
        rec = self.forwarded_since(self.g, since, 1)[0]
        self.assertNotEqual(credential_of(rec), cred)
        self.assertEqual(credential_of(rec)[:8],
                         minted_prefixes(self.g)[m2["seq"]])
        self.assertEqual(len(mints(self.g, self.since)), 2)

    def test_same_scope_written_in_another_order_shares_the_mint(self):
        """The same repositories and permissions, listed in another
        order, are the same scope: one installation token."""
        a = self.token("acme/widgets,acme/gadgets", "checks:read,"
                       "statuses:read")
        b = self.token("acme/gadgets,acme/widgets", "statuses:read,"
                       "checks:read")
        for tok in (a, b):
            r = self.get("/repos/acme/widgets", tok)
            self.assertEqual(r.status, 200, r)
        ms = mints(self.g, self.since)
        self.assertEqual(len(ms), 1, "mints for one scope: %s" %
                         [m.get("body") for m in ms])
        body = mint_body(ms[0])
        self.assertEqual(sorted(body["repositories"]),
                         ["gadgets", "widgets"])
        self.assertEqual(body["permissions"],
                         {"checks": "read", "statuses": "read"})

    def test_concurrent_first_requests_share_one_mint(self):
        tok = self.token("acme/widgets", "pull_requests:write")
        # A slow mint, so that every request arrives while it is pending.
        self.g.fake.set_fault(1, "delay", match="access_tokens",
                              delay_ms=1500)
        self.addCleanup(self.g.fake.clear_faults)
        n = 24
        got = parallel(lambda i: self.get("/repos/acme/widgets/pulls",
                                          tok, timeout=30), n)
        for r in got:
            self.assertNotIsInstance(r, Exception)
            self.assertEqual(r.status, 200, r)
        ms = mints(self.g, self.since)
        self.assertEqual(len(ms), 1, "%d concurrent first requests made "
                         "%d mints" % (n, len(ms)))
        self.assertEqual(mint_body(ms[0]), {
            "repositories": ["widgets"],
            "permissions": {"pull_requests": "write"}})
        recs = self.forwarded_since(self.g, self.since, n)
        self.assertEqual(len(recs), n)
        self.assertEqual(len({credential_of(x) for x in recs}), 1)
        # Both workers asked the keyholder: the one mint is its doing.
        self.assertEqual(self.workers_of(self.g, tok, n),
                         set(self.g.worker_pids()),
                         "the concurrent requests all went to one worker")

    def test_token_near_expiry_is_minted_anew(self):
        """With a lifetime of MINT_RENEW + 2 s the cached token is within
        five minutes of expiry two seconds after the mint: once the
        worker's own cache (TCACHE_TTL) lets go, a new mint happens, and
        requests carry the new token."""
        self.g.fake.set_token_lifetime(MINT_RENEW + 2, app_id=APP_ID)
        self.addCleanup(self.g.fake.set_token_lifetime, 3600,
                        app_id=APP_ID)
        tok = self.token("acme/widgets", "deployments:read")
        body = {"repositories": ["widgets"],
                "permissions": {"deployments": "read"}}
        # Due after ~2 s + TCACHE_TTL; generous on a loaded machine.
        deadline = time.monotonic() + 2 + TCACHE_TTL + 15
        seen = []
        while True:
            r = self.get("/repos/acme/widgets", tok)
            self.assertEqual(r.status, 200, r)
            seen.append(credential_of(self.forwarded_since(
                self.g, self.since, len(seen) + 1)[-1]))
            if len(mints(self.g, self.since, INST, body)) >= 2 or \
                    time.monotonic() > deadline:
                break
            time.sleep(0.25)
        ms = mints(self.g, self.since, INST, body)
        self.assertEqual(len(ms), 2, "no new mint within %ds of a token "
                         "expiring in %ds" % (2 + TCACHE_TTL + 15,
                                              MINT_RENEW + 2))
        # The first token served several requests before the renewal.
        self.assertGreaterEqual(seen.count(seen[0]), 2, seen)
        # Requests carry the new token once the other worker's cache lets
        # go of the old one too.
        new = minted_prefixes(self.g)[ms[1]["seq"]]
        deadline = time.monotonic() + TCACHE_TTL + 10
        while True:
            since = next_seq(self.g)
            r = self.get("/repos/acme/widgets", tok)
            self.assertEqual(r.status, 200, r)
            last = credential_of(self.forwarded_since(self.g, since, 1)[-1])
            if last[:8] == new or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        self.assertNotEqual(last, seen[0])
        self.assertEqual(last[:8], new)

    # ---- the App's key stays in the keyholder's memory

    @unittest.skipUnless(IS_ROOT, NEED_ROOT)
    def test_key_file_is_open_in_no_worker_nor_kept_by_keyholder(self):
        keys = {os.path.realpath(a["key_path"]) for a in self.g.apps}
        # Traffic first, so that a key read on demand would show.
        tok = self.token("acme/widgets", "metadata:read")
        self.assertEqual(self.get("/repos/acme/widgets", tok).status, 200)
        st = self.g.status()

        workers = self.g.worker_pids(st)
        self.assertEqual(len(workers), 2)
        for pid in workers:
            self.assertEqual(open_files(pid) & keys, set(),
                             "worker %d has the App key open" % pid)
            with open("/proc/%d/maps" % pid) as f:
                maps = f.read()
            for k in keys:
                self.assertNotIn(k, maps, "worker %d maps %s" % (pid, k))
        kh = self.g.keyholder_pid(st)
        self.assertIsNotNone(kh)
        self.assertEqual(open_files(kh) & keys, set(),
                         "the keyholder keeps the App key open")


if __name__ == "__main__":
    unittest.main()
