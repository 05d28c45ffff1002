"""
test_agent_apps.py: two GitHub Apps installed on one account (ghp.conf(5)
APPS, ghp(8)): the keyholder mints with the installation that has the
most headroom GitHub last reported; traffic moves to the other when the
first answers "rate limit exceeded", and comes back after its reset.

The mint itself is test_agent_mint.py's; what the test_agent_*.py files
share is in agent_case.py.

Run with tests/integration/run_all.py (or python3 -m unittest from this
directory).
"""

import json
import time
import unittest

from agent_case import AgentCase, agent_token, mint_body, mints, next_seq
from proxy_case import start_proxy

# ------------------------------------------- two Apps on one account


class TwoAppsTest(AgentCase):
    """Two Apps installed on acme: the keyholder picks the installation
    with the most headroom that GitHub last reported, and passes over one
    that answered "rate limit exceeded" until its reset.  One worker, so
    that which cache an answer comes from is never in doubt."""

    def setUp(self):
        self.g = start_proxy(self, workers=1, credential=False, verbose=2,
                             apps=[
                                 {"name": "agents", "id": 123,
                                  "installations": [(987, "acme")]},
                                 {"name": "agents2", "id": 124,
                                  "installations": [(988, "acme")]}])

    def served_by(self, tok, path="/repos/acme/widgets"):
        """(status, bot login the fake saw, installation minted for or
        None) of one request."""
        since = next_seq(self.g)
        r = self.g.api("GET", path, tok)
        recs = self.forwarded_since(self.g, since, 1)
        logins = [x.get("login") for x in recs]
        ms = mints(self.g, since)
        inst = [int(m["path"].split("/")[3]) for m in ms]
        return r, (logins[-1] if logins else None), inst

    def warm_up(self):
        """Both installations used once, the first left with more
        headroom (4000 vs 100): a new scope then goes to the first."""
        self.g.fake.set_rate_limit(987, remaining=4000)
        self.g.fake.set_rate_limit(988, remaining=100)
        logins = set()
        for perm in ("issues:read", "checks:read"):
            tok = agent_token(self.g, "acme/widgets", perm)
            r, login, _ = self.served_by(tok)
            self.assertEqual(r.status, 200, r)
            logins.add(login)
        self.assertEqual(logins, {"agents[bot]", "agents2[bot]"},
                         "an installation never used counts as having "
                         "all its headroom")
        tok = agent_token(self.g, "acme/widgets", "pull_requests:read")
        r, login, inst = self.served_by(tok)
        self.assertEqual((r.status, login, inst),
                         (200, "agents[bot]", [987]),
                         "the installation with the most headroom")
        return tok

    def exhaust_first(self, tok, reset):
        self.g.fake.set_rate_limit(987, remaining=0, reset=reset)
        r, login, inst = self.served_by(tok)
        self.assertEqual((r.status, login, inst), (403, "agents[bot]", []))
        self.assertIn("rate limit exceeded", json.loads(r.body)["message"])
        self.assertEqual(r.headers.get("x-ratelimit-remaining"), "0")

    def test_traffic_moves_to_the_other_app_when_first_is_exhausted(self):
        tok = self.warm_up()
        since = next_seq(self.g)
        self.exhaust_first(tok, int(time.time()) + 3600)
        # A new agent token of the same scope: minted by the second App.
        new = agent_token(self.g, "acme/widgets", "pull_requests:read")
        r, login, inst = self.served_by(new)
        self.assertEqual((r.status, login, inst),
                         (200, "agents2[bot]", [988]))
        m = mints(self.g, 0, 988)[-1]
        self.assertEqual(mint_body(m), {
            "repositories": ["widgets"],
            "permissions": {"pull_requests": "read"}})
        # The agent that was answered 403 moves too: its next request.
        r, login, inst = self.served_by(tok)
        self.assertEqual((r.status, login), (200, "agents2[bot]"),
                         "the agent answered 'rate limit exceeded' still "
                         "goes through the exhausted installation")
        self.assertEqual([m["body"] for m in mints(self.g, since, 987)], [],
                         "the exhausted installation minted again")

    def test_exhausted_app_is_used_again_after_its_reset(self):
        tok = self.warm_up()
        reset = int(time.time()) + 3
        self.exhaust_first(tok, reset)
        new = agent_token(self.g, "acme/widgets", "statuses:read")
        r, login, inst = self.served_by(new)
        self.assertEqual((r.status, login, inst),
                         (200, "agents2[bot]", [988]))
        while time.time() < reset + 1:
            time.sleep(0.1)
        # After the reset the first has its headroom again (GitHub would
        # say 5000 remaining; the second reported less).
        later = agent_token(self.g, "acme/widgets", "deployments:read")
        r, login, inst = self.served_by(later)
        self.assertEqual((r.status, login, inst),
                         (200, "agents[bot]", [987]))


if __name__ == "__main__":
    unittest.main()
