"""
test_proxy_identity.py: the GitHub login behind a stored credential is
looked up once (GET /user, by the keyholder) and carried in the audit
and access records of requests made with tokens of that owner.

Run with tests/integration/run_all.py (or python3 -m unittest from this
directory).
"""

import unittest

from proxy_case import (CRED_ALICE, CRED_BOB, ProxyCase, read_json_lines,
                        start_proxy)


class IdentityTest(ProxyCase):

    @classmethod
    def setUpClass(cls):
        cls.g = start_proxy(cls, workers=2, record_identity=True)
        cls.g.add_credential("bob", CRED_BOB)

    def lookups(self):
        return [x for x in self.g.fake.requests() if x["path"] == "/user"]

    def test_login_in_records_and_looked_up_once(self):
        g = self.g
        tok, _ = g.new_token("alice", "acme/widgets", "contents:read")
        tok2, _ = g.new_token("alice", "acme/widgets", "issues:read")
        btok, _ = g.new_token("bob", "acme/gadgets", "contents:read")
        for t, path in ((tok, "/repos/acme/widgets"),
                        (tok2, "/repos/acme/widgets/issues"),
                        (btok, "/repos/acme/gadgets")) * 3:
            r = g.api("GET", path, t)
            self.assertEqual(r.status, 200, r)
        audit = g.wait_for(lambda: [x for x in read_json_lines(
            g.audit_path) if x.get("decision") == "allow"] if len(
            read_json_lines(g.audit_path)) >= 9 else None, 10, "audit")
        self.assertEqual(sorted({(x["owner"], x["login"]) for x in audit}),
                         [("alice", "alice"), ("bob", "bob")])
        access = g.wait_for(lambda: read_json_lines(g.access_path) if len(
            read_json_lines(g.access_path)) >= 9 else None, 10, "access")
        self.assertEqual(sorted({(x["user_id"], x["login"])
                                 for x in access}),
                         [("alice", "alice"), ("bob", "bob")])
        # Once per credential, whatever the tokens and workers; the
        # credential itself went to GitHub, the client tokens did not.
        looked = self.lookups()
        self.assertEqual(sorted(dict(x["headers"])["Authorization"]
                                for x in looked),
                         sorted(["token " + CRED_ALICE,
                                 "token " + CRED_BOB]))


if __name__ == "__main__":
    unittest.main()
