"""
daemon_case.py: what the test_*.py files share on top of harness.py:
DaemonCase, a TestCase that knows ghp's 404 and 401 answers and the
worker slots, and start_daemon(), a started Ghp that is cleaned up with
the test.

Not a test module itself (run_all.py collects test_*.py only).
"""

import json
import unittest

from harness import Ghp, NOT_FOUND_BODY

NOT_FOUND_JSON = {"message": "Not Found",
                  "documentation_url": "https://docs.github.com/rest"}
REQUIRES_AUTH_JSON = {"message": "Requires authentication",
                      "documentation_url": "https://docs.github.com/rest"}


def start_daemon(case, **kw):
    """A started Ghp that is cleaned up with the test (or the class)."""
    g = Ghp(**kw)
    if isinstance(case, type):
        case.addClassCleanup(g.cleanup)
    else:
        case.addCleanup(g.cleanup)
    g.start()
    return g


class DaemonCase(unittest.TestCase):
    maxDiff = None

    def assertNotFound(self, r, what=""):
        self.assertEqual(r.status, 404, "%s: %r" % (what, r))
        self.assertEqual(r.body.rstrip(b"\n"), NOT_FOUND_BODY, what)
        self.assertEqual(json.loads(r.body), NOT_FOUND_JSON, what)
        self.assertTrue(r.headers.get("content-type", "").startswith(
            "application/json"), r.headers)
        self.assertEqual(int(r.headers.get("content-length", -1)),
                         len(r.body), r.headers)
        self.assertEqual(r.headers.get("connection", "").lower(), "close")

    def assertRequiresAuth(self, r, what=""):
        """401 in GitHub's shape: API traffic that carried no token."""
        self.assertEqual(r.status, 401, "%s: %r" % (what, r))
        self.assertEqual(json.loads(r.body), REQUIRES_AUTH_JSON, what)
        self.assertEqual(int(r.headers.get("content-length", -1)),
                         len(r.body), r.headers)

    def worker_slots(self, g, st):
        return sorted(w["slot"] for w in g.procs(st, "worker"))
