"""
test_proxy_audit_full.py: when the master cannot write the audit log
(here /dev/full, which answers every write with ENOSPC), ghp stops
serving rather than serve unaudited: every worker answers 503 until a
reload reopens the log; the daemon's log says so once.  With `log audit
FILE unwritable serve` it serves on instead, counts the lost records in
ghp_audit_records_lost_total, and says when the file takes them again.

Run with tests/integration/run_all.py (or python3 -m unittest from this
directory).
"""

import json
import os
import re
import unittest

from harness import IS_ROOT, NEED_ROOT
from proxy_case import ProxyCase, read_json_lines, start_proxy


@unittest.skipUnless(IS_ROOT and os.path.exists("/dev/full"), NEED_ROOT)
class AuditLogFullTest(ProxyCase):

    def test_refused_until_a_reload_reopens_the_log(self):
        g = start_proxy(self, workers=2, logs=False,
                        extra='log audit "/dev/full"\n')
        tok, _ = g.new_token("alice", "acme/widgets", "contents:read")
        # The first record that fails to be written turns workers away.
        g.wait_for(lambda: g.api("GET", "/repos/acme/widgets",
                                 tok).status == 503, 10,
                   "a 503 once the audit log fails")
        g.fake.clear()
        for _ in range(6):
            r = g.api("GET", "/repos/acme/widgets", tok)
            msg = self.assertGitHubError(r, 503, "audit log")
            self.assertEqual(r.headers.get("retry-after"), "5")
        self.assertNotForwarded(g, "a request while the audit log fails")
        self.assertEqual(g.log().count("audit log: write"), 1, g.log_tail())
        # The operator frees space (here: points it elsewhere) and
        # reloads: served and audited again.
        good = os.path.join(g.dir, "audit.log")
        g.extra = 'log audit "%s"\n' % good
        g.write_config()
        rc, _, err = g.reload()
        self.assertEqual(rc, 0, err)
        g.wait_for(lambda: g.api("GET", "/repos/acme/widgets",
                                 tok).status == 200, 10,
                   "requests served after the reload")
        self.assertTrue(any(x.get("decision") == "allow"
                            for x in read_json_lines(good)))

    def test_unwritable_serve_goes_on_and_counts(self):
        g = start_proxy(self, workers=2, logs=False, metrics=True,
                        extra='log audit "/dev/full" unwritable serve\n')
        tok, _ = g.new_token("alice", "acme/widgets", "contents:read")
        for _ in range(5):
            r = g.api("GET", "/repos/acme/widgets", tok)
            self.assertEqual(r.status, 200, r)

        def lost():
            m = re.search(rb"^ghp_audit_records_lost_total (\d+)$",
                          g.metrics().body, re.M)
            return int(m.group(1)) if m else -1
        g.wait_for(lambda: lost() >= 5, 10, "five lost records counted")
        self.assertEqual(g.log().count("records are lost"), 1,
                         g.log_tail())
        # Space again (another file, as above): written, and said.
        good = os.path.join(g.dir, "audit.log")
        g.extra = 'log audit "%s" unwritable serve\n' % good
        g.write_config()
        rc, _, err = g.reload()
        self.assertEqual(rc, 0, err)
        g.wait_for(lambda: g.api("GET", "/repos/acme/widgets",
                                 tok).status == 200 and
                   any(x.get("decision") == "allow"
                       for x in read_json_lines(good)), 10,
                   "records written after the reload")


if __name__ == "__main__":
    unittest.main()
