"""
proxy_case.py: what the test_proxy_*.py files share: a daemon in front of
a FakeGitHub with alice's credential stored, GitHub's error shape, and
checks on what crossed ghp (the fake's records).

Not a test module itself (run_all.py collects test_*.py only).
"""

import json
import os
import re
import secrets
import time
import zlib

from harness import Ghp
from daemon_case import DaemonCase

# The fake's default world (tests/upstream/fake_github.py): real GitHub
# credentials and their logins.
CRED_ALICE = "ghp_realcredentialAAAA"
CRED_BOB = "ghp_realcredentialBBBB"
BLOCK = ("ghp_", "github_pat_")
TOKEN_RE = re.compile(r"^ghx_[0-9A-Za-z]{49}$")
AGENT_RE = re.compile(r"^gha_[0-9A-Za-z]{49}$")
DOC_URL = "https://docs.github.com/rest"


def start_proxy(case, workers=2, credential=True, **kw):
    """A started Ghp in front of an in-process FakeGitHub (or one in a
    subprocess: upstream="process"), with `block tokens`, audit and
    access logs, and alice's credential stored; cleaned up with the test
    (or the class)."""
    kw.setdefault("upstream", True)
    kw.setdefault("block_tokens", BLOCK)
    kw.setdefault("logs", True)
    g = Ghp(workers=workers, **kw)
    if isinstance(case, type):
        case.addClassCleanup(g.cleanup)
    else:
        case.addCleanup(g.cleanup)
    g.start()
    if credential:
        g.add_credential("alice", CRED_ALICE)
    return g


_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _b62(n, width):
    out = ""
    for _ in range(width):
        n, r = divmod(n, 62)
        out = _B62[r] + out
    return out


def make_token(prefix="ghx_"):
    """A well-formed client token (its checksum right, common/token.c)
    that no daemon issued."""
    body = prefix + "".join(secrets.choice(_B62) for _ in range(43))
    return body + _b62(zlib.crc32(body.encode()), 6)


def read_json_lines(path):
    """The JSON objects of a log file, one a line ([] if absent)."""
    try:
        with open(path, "rb") as f:
            text = f.read().decode()
    except FileNotFoundError:
        return []
    return [json.loads(l) for l in text.splitlines() if l.strip()]


def worker_pid_of(request_id):
    """ghp's request ids are the worker's pid then a sequence, in hex."""
    return int(request_id[:8], 16)


class ProxyCase(DaemonCase):

    def assertGitHubError(self, r, status, *contains):
        """status with {"message", "documentation_url"}, the message
        containing each of contains; returns the message."""
        self.assertEqual(r.status, status, r)
        self.assertTrue(r.headers.get("content-type", "").startswith(
            "application/json"), r.headers)
        body = json.loads(r.body)
        self.assertEqual(set(body), {"message", "documentation_url"}, body)
        self.assertTrue(body["documentation_url"].startswith(
            "https://docs.github.com/"), body)
        for c in contains:
            self.assertIn(c, body["message"])
        return body["message"]

    def assertNotForwarded(self, g, what=""):
        """Nothing reached the fake since its last clear()."""
        recs = g.fake.requests()
        if recs:
            self.fail("%s reached upstream: %s" % (what, [
                (x["method"], x["target"], [v for k, v in x["headers"]
                                            if k.lower() == "authorization"])
                for x in recs]))

    def forwarded(self, g, n=1, timeout=5.0):
        """The fake's records once n have completed (they complete a
        moment after the answer is written)."""
        deadline = time.monotonic() + timeout
        while True:
            recs = g.fake.requests()
            if len(recs) >= n and all(x.get("complete") for x in recs):
                return recs
            if time.monotonic() > deadline:
                return recs
            time.sleep(0.01)

    def assertAuthorizationWas(self, rec, value):
        auth = [v for k, v in rec["headers"] if k.lower() == "authorization"]
        self.assertEqual(auth, [value], rec["headers"])

    def assertTokenNowhere(self, g, token):
        """The full client token is in none of ghp's logs and files."""
        places = {"ghp log": g.log_path, "audit log": g.audit_path,
                  "access log": g.access_path}
        for root, _, files in os.walk(g.state_dir):
            for n in files:
                places["state " + n] = os.path.join(root, n)
        needle = token.encode()
        for what, path in places.items():
            if path is None or not os.path.exists(path):
                continue
            with open(path, "rb") as f:
                self.assertNotIn(needle, f.read(), "%s holds the full "
                                 "client token (%s)" % (what, path))
