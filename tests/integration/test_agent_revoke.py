"""
test_agent_revoke.py: a token revoked while the keyholder waits on
GitHub for it (an App token being minted, a login being looked up) is
refused once the wait ends: the answer is checked again, so no worker
caches a revoked token after `ghpctl token revoke` returned.

Run with tests/integration/run_all.py (or python3 -m unittest from this
directory).
"""

import threading
import unittest

from proxy_case import ProxyCase, start_proxy


class RevokeWhileWaitingTest(ProxyCase):

    def setUp(self):
        self.g = start_proxy(self, workers=2, record_identity=True, apps=[
            {"name": "agents", "id": 777, "installations": [(901, "acme")]}])

    def revoke_during(self, tok, tid, path, match):
        """Send a request whose resolution GitHub holds (a delay fault
        on match), revoke the token meanwhile; returns the answer."""
        g = self.g
        g.fake.set_fault(1, "delay", match=match, delay_ms=1500)
        out = {}

        def client():
            out["r"] = g.api("GET", path, tok)
        t = threading.Thread(target=client, daemon=True)
        t.start()
        g.wait_for(lambda: [x for x in g.fake.requests()
                            if match in x["path"]], 10,
                   "GitHub to hold %s" % match)
        rc, _, err = g.ctl("token", "revoke", str(tid))
        self.assertEqual(rc, 0, err)
        t.join(15)
        return out["r"]

    def test_agent_token_revoked_during_its_mint(self):
        tok, tid = self.g.new_token("ci", "acme/widgets", "issues:read",
                                    "--type", "agent")
        r = self.revoke_during(tok, tid, "/repos/acme/widgets/issues",
                               "access_tokens")
        self.assertGitHubError(r, 401, "revoked")
        self.assertEqual([x for x in self.g.fake.requests()
                          if x["path"].startswith("/repos/")], [])

    def test_user_token_revoked_during_the_login_look_up(self):
        tok, tid = self.g.new_token("alice", "acme/widgets",
                                    "contents:read")
        r = self.revoke_during(tok, tid, "/repos/acme/widgets", "/user")
        self.assertGitHubError(r, 401, "revoked")
        self.assertEqual([x for x in self.g.fake.requests()
                          if x["path"].startswith("/repos/")], [])


if __name__ == "__main__":
    unittest.main()
