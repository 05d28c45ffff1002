"""
test_agent_discover.py: an agent token for an account no configured
installation serves: the keyholder finds the App's installation on that
account with GET /app/installations, remembers it, and mints there; an
account with no installation anywhere gets a 502 that names it, and is
not asked about again at once.

Run with tests/integration/run_all.py (or python3 -m unittest from this
directory).
"""

import json
import unittest

from proxy_case import ProxyCase, start_proxy


class DiscoverTest(ProxyCase):

    @classmethod
    def setUpClass(cls):
        # Configured with no installation at all; GitHub knows two.
        cls.g = start_proxy(cls, workers=2, credential=False, apps=[{
            "name": "agents", "id": 321, "installations": [],
            "fake": {"installations": {555: "acme", 556: "octo"}}}])

    def listings(self):
        return [x for x in self.g.fake.requests()
                if x["path"] == "/app/installations"]

    def mints(self):
        return [x for x in self.g.fake.requests()
                if x["path"].endswith("/access_tokens")]

    def test_installation_found_then_remembered(self):
        g = self.g
        tok, _ = g.new_token("ci", "acme/widgets", "issues:read", "--type",
                             "agent")
        r = g.api("GET", "/repos/acme/widgets/issues", tok)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(self.listings()), 1)
        self.assertEqual([m["path"] for m in self.mints()],
                         ["/app/installations/555/access_tokens"])
        st = json.loads(g.ctl("status", "--json")[1])
        insts = {i["id"]: i["account"]
                 for i in st["apps"][0]["installations"]}
        self.assertEqual(insts.get(555), "acme", st["apps"])
        # Another token on the same account: no second listing.
        tok2, _ = g.new_token("ci", "acme/*", "contents:read", "--type",
                              "agent")
        r = g.api("GET", "/repos/acme/widgets", tok2)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(self.listings()), 1)

    def test_account_without_installation(self):
        g = self.g
        tok, _ = g.new_token("ci", "nowhere/repo", "issues:read", "--type",
                             "agent")
        before = len(self.listings())
        r = g.api("GET", "/repos/nowhere/repo/issues", tok)
        msg = self.assertGitHubError(r, 502, "nowhere")
        self.assertIn("installation", msg)
        self.assertEqual(len(self.listings()), before + 1)
        # Asked again at once: answered from memory.
        r = g.api("GET", "/repos/nowhere/repo/issues", tok)
        self.assertEqual(r.status, 502, r)
        self.assertEqual(len(self.listings()), before + 1)
        self.assertEqual([x for x in g.fake.requests()
                          if x["path"].startswith("/repos/nowhere")], [],
                         "an agent request with no App token went on")


if __name__ == "__main__":
    unittest.main()
