"""
test_proxy_ctl.py: ghpctl's credential and token commands against a
running daemon: what they print (one token line on stdout, listings
that show a prefix and never a token), exit status 0/1/2 with a
one-line reason, and that neither the client token nor the GitHub
credential is left in clear anywhere ghp writes: its log, the audit and
access logs, the listings, the state directory (ghp.db and its WAL).

Run with tests/integration/run_all.py (or python3 -m unittest from this
directory).
"""

import hashlib
import json
import os
import time
import unittest

from proxy_case import (AGENT_RE, CRED_ALICE, ProxyCase, TOKEN_RE,
                        start_proxy)


class CtlCase(ProxyCase):

    def assertRefused(self, res, *contains):
        """Exit 1, nothing on stdout, one "ghpctl: reason" line."""
        rc, out, err = res
        self.assertEqual(rc, 1, (out, err))
        self.assertEqual(out, "")
        lines = err.strip().splitlines()
        self.assertEqual(len(lines), 1, err)
        self.assertTrue(lines[0].startswith("ghpctl: "), err)
        for c in contains:
            self.assertIn(c, lines[0])

    def assertUsage(self, res):
        rc, out, err = res
        self.assertEqual(rc, 2, (out, err))
        self.assertEqual(out, "")
        self.assertIn("usage:", err)


class CredentialTest(CtlCase):

    @classmethod
    def setUpClass(cls):
        cls.g = start_proxy(cls, workers=1, credential=False)

    def test_add_list_remove(self):
        g = self.g
        rc, out, err = g.ctl("credential", "add", "--owner", "carol",
                             input="ghp_carolscredential0001\n")
        self.assertEqual((rc, out, err), (0, "credential stored\n", ""))
        rc, out, err = g.ctl("credential", "list")
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["OWNER", "ADDED"])
        self.assertIn("carol", [l.split()[0] for l in lines[1:]])
        rc, out, err = g.ctl("credential", "list", "--json")
        self.assertEqual(rc, 0, err)
        creds = {c["owner"]: c for c in json.loads(out)}
        self.assertIn("carol", creds)
        self.assertIsInstance(creds["carol"]["created"], int)
        self.assertLessEqual(abs(creds["carol"]["created"] - time.time()),
                             60)
        self.assertNotIn("ghp_carolscredential0001", out)
        rc, out, err = g.ctl("credential", "remove", "--owner", "carol")
        self.assertEqual((rc, out), (0, "credential removed\n"), err)
        rc, out, err = g.ctl("credential", "list", "--json")
        self.assertNotIn("carol", [c["owner"] for c in json.loads(out)])
        self.assertRefused(g.ctl("credential", "remove", "--owner",
                                 "carol"), "no credential")

    def test_add_replaces(self):
        g = self.g
        for cred in ("ghp_first0000000000001", "ghp_second000000000002"):
            self.assertEqual(g.ctl("credential", "add", "--owner", "dave",
                                   input=cred + "\n")[0], 0)
        rc, out, _ = g.ctl("credential", "list", "--json")
        self.assertEqual([c["owner"] for c in json.loads(out)].count(
            "dave"), 1)

    def test_refused(self):
        g = self.g
        self.assertRefused(g.ctl("credential", "add", "--owner", "erin",
                                 input=""), "credential")
        self.assertRefused(g.ctl("credential", "add", "--owner", "erin",
                                 input="\n"), "credential")
        self.assertRefused(g.ctl("credential", "add", "--owner", "erin",
                                 input="has spaces in it\n"))
        self.assertRefused(g.ctl("credential", "add", "--owner", "-erin",
                                 input="ghp_x0000000000000001\n"), "owner")
        self.assertRefused(g.ctl("credential", "add", "--owner", "erin",
                                 input="x" * 600 + "\n"))

    def test_usage(self):
        g = self.g
        for args in (("credential",), ("credential", "add"),
                     ("credential", "add", "--owner"),
                     ("credential", "add", "erin"),
                     ("credential", "list", "--yaml"),
                     ("credential", "remove"), ("credential", "frob")):
            with self.subTest(args=args):
                self.assertUsage(g.ctl(*args, input="ghp_x0001\n"))


class TokenTest(CtlCase):

    @classmethod
    def setUpClass(cls):
        cls.g = start_proxy(cls, workers=1)

    def create(self, *args, owner="alice"):
        return self.g.ctl("token", "create", "--owner", owner, *args)

    def listing(self, *args):
        rc, out, err = self.g.ctl("token", "list", "--json", *args)
        self.assertEqual(rc, 0, err)
        return {t["id"]: t for t in json.loads(out)}

    def test_create_prints_one_token_line_and_nothing_else(self):
        rc, out, err = self.create("--repo", "acme/widgets", "--perm",
                                   "contents:read,issues:write")
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"^ghx_[0-9A-Za-z]{49}\n\Z")
        tok = out.strip()
        self.assertRegex(tok, TOKEN_RE)
        self.assertNotIn(tok, err)
        self.assertNotIn(tok[4:], err)
        self.assertIn(tok[:8], err)        # the prefix, to match a listing

    def test_create_with_every_option(self):
        t0 = int(time.time())
        rc, out, err = self.create(
            "--repo", "acme/widgets,acme/*", "--perm",
            "contents:read,issues:write,pull_requests:admin", "--ttl", "2h",
            "--session", "S-42", "--note", "ci job 7", "--type", "user")
        self.assertEqual(rc, 0, err)
        tok = out.strip()
        rows = [t for t in self.listing().values()
                if t["prefix"].startswith(tok[:8])]
        self.assertEqual(len(rows), 1, rows)
        t = rows[0]
        self.assertEqual(t["owner"], "alice")
        self.assertEqual(t["type"], "user")
        self.assertEqual(t["repos"], ["acme/widgets", "acme/*"])
        self.assertEqual(t["perms"], {"contents": "read", "issues": "write",
                                      "pull_requests": "admin"})
        self.assertEqual(t["session"], "S-42")
        self.assertEqual(t["note"], "ci job 7")
        self.assertTrue(t0 + 7200 <= t["expires"] <= time.time() + 7200)
        self.assertIsNone(t["revoked"])
        self.assertNotIn(tok, json.dumps(t))
        self.assertLessEqual(len(t["prefix"]), len("ghx_") + 4 + 1)

    def test_agent_token(self):
        rc, out, err = self.create("--type", "agent", "--repo",
                                   "acme/widgets", "--perm", "contents:read",
                                   owner="agent-7")
        self.assertEqual(rc, 0, err)
        self.assertRegex(out.strip(), AGENT_RE)
        self.assertEqual(out.count("\n"), 1)

    def test_list_table_and_owner_filter(self):
        tok, tid = self.g.new_token("alice", "acme/gadgets",
                                    "issues:read")
        rc, out, err = self.g.ctl("token", "list")
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        for col in ("ID", "PREFIX", "OWNER", "TYPE", "STATE", "EXPIRES",
                    "REPOS"):
            self.assertIn(col, lines[0])
        row = [l for l in lines[1:] if l.split()[0] == str(tid)]
        self.assertEqual(len(row), 1, out)
        for part in (tok[:8], "alice", "user", "active", "acme/gadgets",
                     "issues:read"):
            self.assertIn(part, row[0])
        self.assertNotIn(tok, out)
        self.assertNotIn(tok[8:], out)
        self.assertIn(tid, self.listing("--owner", "alice"))
        self.assertNotIn(tid, self.listing("--owner", "nobody-here"))
        # Columns line up under the header ("…" is one column).
        self.assertEqual(lines[0].index("OWNER"), row[0].index("alice"))
        self.assertEqual(lines[0].index("REPOS"),
                         row[0].index("acme/gadgets"))

    def test_list_shows_an_expired_token_as_expired(self):
        _, tid = self.g.new_token("alice", "acme/gadgets", "issues:read",
                                  "--ttl", "1")
        time.sleep(1.1)
        rc, out, err = self.g.ctl("token", "list")
        self.assertEqual(rc, 0, err)
        row = [l for l in out.splitlines() if l.split()[0] == str(tid)]
        self.assertEqual(row[0].split()[4], "expired", out)

    def test_revoke(self):
        tok, tid = self.g.new_token()
        rc, out, err = self.g.ctl("token", "revoke", str(tid))
        self.assertEqual(rc, 0, err)
        self.assertIn("revoked", out)
        t = self.listing()[tid]
        self.assertIsInstance(t["revoked"], int)
        rc, out, err = self.g.ctl("token", "list")
        row = [l for l in out.splitlines() if l.split()[0] == str(tid)]
        self.assertIn("revoked", row[0])
        self.assertRefused(self.g.ctl("token", "revoke", str(tid)),
                           "revoked")
        self.assertRefused(self.g.ctl("token", "revoke", "999999"))

    def test_refused_with_one_line(self):
        g = self.g
        r, p = ("--repo", "acme/widgets"), ("--perm", "contents:read")
        cases = [
            ("credential", ("--owner", "zed") + r + p),
            ("--perm", ("--owner", "alice") + r + ("--perm", "contents")),
            ("perms", ("--owner", "alice") + r + ("--perm", "contents:sudo")),
            ("--perm", ("--owner", "alice") + r + ("--perm", ":read")),
            ("repos", ("--owner", "alice", "--repo", "acme") + p),
            ("repos", ("--owner", "alice", "--repo", "a/b/c") + p),
            ("repos", ("--owner", "alice", "--repo", "/widgets") + p),
            ("repos", ("--owner", "alice", "--repo", "acme/..") + p),
            ("--ttl", ("--owner", "alice") + r + p + ("--ttl", "soon")),
            ("--ttl", ("--owner", "alice") + r + p + ("--ttl", "-5")),
            ("--ttl", ("--owner", "alice") + r + p + ("--ttl", "5x")),
            ("type", ("--owner", "alice", "--type", "robot") + r + p),
            ("owner", ("--owner", "al ice") + r + p),
        ]
        before = set(self.listing())
        for why, args in cases:
            with self.subTest(args=args):
                self.assertRefused(g.ctl("token", "create", *args), why)
        self.assertEqual(set(self.listing()), before,
                         "a refused create made a token")

    def test_unknown_permission_name_is_refused(self):
        """A typo in a permission name would make a token that silently
        lacks the permission; GitHub's names are known (permtab)."""
        self.assertRefused(self.create("--repo", "acme/widgets", "--perm",
                                       "isues:write"), "isues")

    def test_usage(self):
        g = self.g
        for args in (("token",), ("token", "frob"),
                     ("token", "create", "--owner", "alice"),
                     ("token", "create", "--owner", "alice", "--repo",
                      "acme/widgets", "--perm", "contents:read", "extra"),
                     ("token", "create", "--bogus", "x"),
                     ("token", "list", "--bogus"), ("token", "revoke"),
                     ("token", "revoke", "1", "2")):
            with self.subTest(args=args):
                self.assertUsage(g.ctl(*args))


class SecretsTest(CtlCase):
    """The client token and the GitHub credential, in clear, nowhere
    but where they belong."""

    def test_no_secret_in_logs_listings_or_state(self):
        g = start_proxy(self, workers=2, verbose=3)
        tok, tid = g.new_token("alice", "acme/widgets", "contents:read")
        self.assertEqual(g.api("GET", "/repos/acme/widgets", tok).status,
                         200)
        self.assertEqual(g.api("GET", "/repos/acme/gadgets", tok).status,
                         403)
        self.assertEqual(g.api("GET", "/repos/acme/widgets",
                               auth="token " + CRED_ALICE).status, 403)
        outs = [g.ctl("token", "list")[1], g.ctl("token", "list",
                                                   "--json")[1],
                g.ctl("credential", "list")[1],
                g.ctl("credential", "list", "--json")[1]]
        self.assertEqual(g.ctl("token", "revoke", str(tid))[0], 0)
        g.stop()        # the WAL checkpointed or not: both are looked at
        self.assertTokenNowhere(g, tok)
        for o in outs:
            self.assertNotIn(tok, o)
            self.assertNotIn(CRED_ALICE, o)
        files = {}
        for root, _, names in os.walk(g.state_dir):
            for n in names:
                with open(os.path.join(root, n), "rb") as f:
                    files[n] = f.read()
        self.assertTrue(any(n.endswith(".db") for n in files), files.keys())
        digest = hashlib.sha256(tok.encode()).digest()
        self.assertTrue(any(digest in d or digest.hex().encode() in d
                            for d in files.values()),
                        "the token's hash is not in the state directory")
        for n, d in files.items():
            self.assertNotIn(CRED_ALICE.encode(), d, "the GitHub "
                             "credential is in clear in %s" % n)
        for path in (g.log_path, g.audit_path, g.access_path):
            with open(path, "rb") as f:
                self.assertNotIn(CRED_ALICE.encode(), f.read(), path)


if __name__ == "__main__":
    unittest.main()
