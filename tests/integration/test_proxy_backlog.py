"""
test_proxy_backlog.py: the master writes the audit log from what the
workers send it.  When it stops taking records (here: stopped with
SIGSTOP), a worker must neither forward requests whose records might be
lost nor die of its full queue: it answers 503 until the master catches
up, and every request that did reach GitHub has its audit record.

Run with tests/integration/run_all.py (or python3 -m unittest from this
directory).
"""

import os
import signal
import unittest

from proxy_case import ProxyCase, read_json_lines, start_proxy


class BacklogTest(ProxyCase):

    def test_stalled_master_means_503_not_unaudited_forwards(self):
        g = start_proxy(self, workers=1)
        tok, _ = g.new_token("alice", "acme/widgets", "contents:read")
        worker = g.worker_pids()[0]
        hdrs = [("Host", "api.github.com"),
                ("Authorization", "token " + tok)]
        seen = {}
        os.kill(g.proc.pid, signal.SIGSTOP)
        try:
            # Keep-alive requests until the worker says it is behind;
            # each forwarded one queues two records (audit, access), the
            # access record with the long query string: a few hundred
            # fill the queue.
            for _ in range(20):
                with g.conn() as c:
                    got503 = False
                    for _ in range(500):
                        c.request("GET", "/repos/acme/widgets?pad=" +
                                  "x" * 7000, hdrs)
                        r = c.read_response("GET")
                        seen[r.status] = seen.get(r.status, 0) + 1
                        if r.status == 503:
                            got503 = True
                            break
                if got503:
                    break
        finally:
            os.kill(g.proc.pid, signal.SIGCONT)
        self.assertIn(503, seen, "no 503 after %s" % seen)
        self.assertGreater(seen.get(200, 0), 0, seen)
        self.assertEqual(set(seen) - {200, 503}, set(), seen)
        # The same worker, still serving once the master caught up.
        g.wait_for(lambda: self.one_request(g, hdrs) == 200, 10,
                   "requests to work again")
        self.assertEqual(g.worker_pids(), [worker],
                         "the worker died of its backlog")
        forwarded = [x for x in g.fake.requests()
                     if x.get("path") == "/repos/acme/widgets"]
        audited = g.wait_for(lambda: self.allowed(g) if len(
            self.allowed(g)) >= len(forwarded) else None, 10,
            "an audit record for every forwarded request")
        self.assertEqual(len(audited), len(forwarded))

    @staticmethod
    def one_request(g, hdrs):
        with g.conn() as c:
            c.request("GET", "/repos/acme/widgets", hdrs)
            return c.read_response("GET").status

    @staticmethod
    def allowed(g):
        return [x for x in read_json_lines(g.audit_path)
                if x.get("decision") == "allow"]


if __name__ == "__main__":
    unittest.main()
