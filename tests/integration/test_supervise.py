"""
test_supervise.py: supervision: a killed worker is replaced in its slot,
a killed keyholder is replaced and paired with the workers again, and
the children leave when the master is killed.

Run with tests/integration/run_all.py (or python3 -m unittest from this
directory).
"""

import os
import re
import signal
import unittest

from harness import pid_alive
from daemon_case import DaemonCase, start_daemon


class SupervisionTest(DaemonCase):

    def test_killed_worker_is_replaced_in_its_slot(self):
        g = start_daemon(self, workers=2)
        st = g.status()
        victim = [w for w in g.procs(st, "worker") if w["slot"] == 0][0]
        os.kill(victim["pid"], signal.SIGKILL)

        def replaced():
            s = g.status()
            new = [w for w in g.procs(s, "worker", "running")
                   if w["slot"] == 0]
            return (s if g.is_ready(s) and new and
                    new[0]["pid"] != victim["pid"] else False)
        st2 = g.wait_for(replaced, 5, "a new worker in slot 0")
        self.assertFalse(pid_alive(victim["pid"]))
        self.assertEqual(st2["generation"], 1)
        self.assertEqual(self.worker_slots(g, st2), [0, 1])
        self.assertIn("worker pid %d killed by signal 9" % victim["pid"],
                      g.log())
        for i in range(4):
            self.assertNotFound(g.get("/after-kill/%d" % i))

    def test_killed_keyholder_is_replaced(self):
        g = start_daemon(self, workers=2)
        st = g.status()
        kh = g.keyholder_pid(st)
        workers = sorted(g.worker_pids(st))
        off = g.log_size()
        os.kill(kh, signal.SIGKILL)

        def replaced():
            s = g.status()
            new = g.keyholder_pid(s)
            return s if g.is_ready(s) and new not in (None, kh) else False
        g.wait_for(replaced, 6, "a new keyholder")
        self.assertFalse(pid_alive(kh))
        # Every worker is paired with the new keyholder.
        g.wait_for(lambda: set(re.findall(
            r"worker 1\.(\d+): keyholder channel up", g.log_since(off)))
            == {"0", "1"}, 3, "keyholder channel up in both workers")
        # The workers themselves were not disturbed.
        self.assertEqual(sorted(g.worker_pids()), workers)
        self.assertNotFound(g.get("/after-keyholder-kill"))


class MasterDeathTest(DaemonCase):

    def test_children_leave_when_the_master_is_killed(self):
        g = start_daemon(self, workers=2)
        st = g.status()
        kids = [p["pid"] for p in st["processes"] if p["role"] != "master"]
        self.assertEqual(len(kids), 3)
        os.kill(g.pid, signal.SIGKILL)
        g.proc.wait(timeout=5)
        g.wait_for(lambda: not any(pid_alive(p) for p in kids), 3,
                   "no orphan left serving")
        with self.assertRaises(ConnectionRefusedError):
            g.get("/", timeout=1)


if __name__ == "__main__":
    unittest.main()
