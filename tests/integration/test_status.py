"""
test_status.py: one daemon with three workers, looked at but not
disturbed: ghpctl status as JSON and as a table, the control socket,
and, as root, the privilege drop, sandbox and chroot of every child and
the state directory with the key pair.

Run with tests/integration/run_all.py (or python3 -m unittest from this
directory).  Tests that need root skip when not run as root.
"""

import json
import os
import re
import stat
import unittest

from harness import (IS_ROOT, NEED_ROOT, pid_alive, proc_root, proc_status,
                     proc_uids, nobody_ids, run_ghpctl)
from daemon_case import DaemonCase, start_daemon


class StatusTest(DaemonCase):
    """One daemon with three workers, looked at but not disturbed."""

    N = 3

    @classmethod
    def setUpClass(cls):
        cls.g = start_daemon(cls, workers=cls.N)

    def test_status_json_lists_every_process(self):
        g = self.g
        st = g.status()
        self.assertEqual(st["generation"], 1)
        self.assertTrue(os.path.isabs(st["config"]), st["config"])
        self.assertEqual(st["config"], g.conf)
        self.assertIsInstance(st["uptime_s"], int)
        self.assertGreaterEqual(st["uptime_s"], 0)
        masters = g.procs(st, "master")
        self.assertEqual(len(masters), 1, st)
        self.assertEqual(masters[0]["pid"], g.pid)
        self.assertEqual(masters[0]["state"], "running")
        khs = g.procs(st, "keyholder")
        self.assertEqual(len(khs), 1, st)
        self.assertEqual(khs[0]["state"], "running")
        ws = g.procs(st, "worker")
        self.assertEqual(len(ws), self.N, st)
        for w in ws:
            self.assertEqual(w["state"], "running", w)
            self.assertEqual(w["generation"], 1, w)
            for k in ("pid", "uptime_s", "slot", "requests", "connections"):
                self.assertIsInstance(w.get(k), int, (k, w))
        self.assertEqual(self.worker_slots(g, st), list(range(self.N)))
        roles = {p["role"] for p in st["processes"]}
        self.assertEqual(roles, {"master", "keyholder", "worker"})
        pids = [p["pid"] for p in st["processes"]]
        self.assertEqual(len(pids), len(set(pids)), "pids not distinct")
        for p in st["processes"]:
            self.assertTrue(pid_alive(p["pid"]), p)
            if p["role"] != "master":
                self.assertEqual(int(proc_status(p["pid"])["PPid"]),
                                 g.pid, "%s is not the master's child" % p)

    def test_status_human_table(self):
        g = self.g
        st = g.status()
        rc, out, err = g.ctl("status")
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertIn("generation 1", lines[0])
        self.assertIn(g.conf, lines[0])
        header = [l for l in lines if l.split()[:3] == ["ROLE", "PID",
                                                         "STATE"]]
        self.assertEqual(len(header), 1, out)
        rows = [l.split() for l in lines[lines.index(header[0]) + 1:]]
        by_role = {}
        for r in rows:
            by_role.setdefault(r[0], []).append(r)
        self.assertEqual(len(by_role.get("master", [])), 1, out)
        self.assertEqual(len(by_role.get("keyholder", [])), 1, out)
        self.assertEqual(len(by_role.get("worker", [])), self.N, out)
        self.assertEqual(set(by_role), {"master", "keyholder", "worker"})
        for r in rows:
            self.assertEqual(r[2], "running", r)
        self.assertEqual(sorted(int(r[1]) for r in by_role["worker"]),
                         sorted(g.worker_pids(st)))
        self.assertEqual(int(by_role["master"][0][1]), g.pid)

    def test_ghpctl_finds_the_socket_through_the_config(self):
        rc, out, err = run_ghpctl("-f", self.g.conf, "status", "--json")
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["generation"], 1)

    def test_control_socket_is_private(self):
        st = os.stat(self.g.sock)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertEqual(st.st_uid, os.geteuid())

    @unittest.skipUnless(IS_ROOT, NEED_ROOT)
    def test_workers_dropped_privileges_sandboxed_chrooted(self):
        g = self.g
        uid, gid = nobody_ids()
        pids = g.worker_pids()
        self.assertEqual(len(pids), self.N)
        for pid in pids:
            ps = proc_status(pid)
            self.assertEqual(proc_uids(pid), (uid,) * 4, "worker %d" % pid)
            self.assertEqual(ps["Gid"].split(), [str(gid)] * 4)
            self.assertEqual(ps["Groups"].split(), [str(gid)],
                             "worker %d keeps supplementary groups" % pid)
            self.assertEqual(ps["Seccomp"], "2", "worker %d" % pid)
            self.assertEqual(ps["NoNewPrivs"], "1", "worker %d" % pid)
            root = proc_root(pid)
            self.assertNotEqual(root, "/", "worker %d not chrooted" % pid)
            self.assertEqual(root, g.chroot)
            self.assertEqual(ps["CapEff"], "0" * 16, "worker %d" % pid)

    @unittest.skipUnless(IS_ROOT, NEED_ROOT)
    def test_keyholder_dropped_privileges(self):
        g = self.g
        uid, _ = nobody_ids()
        pid = g.keyholder_pid()
        self.assertIsNotNone(pid)
        ps = proc_status(pid)
        self.assertEqual(proc_uids(pid), (uid,) * 4)
        self.assertEqual(ps["Seccomp"], "2")
        self.assertEqual(ps["NoNewPrivs"], "1")
        self.assertEqual(ps["CapEff"], "0" * 16)
        self.assertEqual(proc_root(pid), g.state_dir)

    @unittest.skipUnless(IS_ROOT, NEED_ROOT)
    def test_state_directory_and_box_key(self):
        g = self.g
        uid, _ = nobody_ids()
        st = os.lstat(g.state_dir)
        self.assertTrue(stat.S_ISDIR(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o700)
        self.assertEqual(st.st_uid, uid)
        key = os.path.join(g.state_dir, "box.key")
        kst = os.lstat(key)
        self.assertTrue(stat.S_ISREG(kst.st_mode))
        self.assertEqual(stat.S_IMODE(kst.st_mode), 0o600)
        self.assertEqual(kst.st_size, 32)
        self.assertEqual(kst.st_uid, uid)
        pub = os.path.join(g.state_dir, "box.pub")
        self.assertEqual(os.lstat(pub).st_size, 32)

    @unittest.skipUnless(IS_ROOT, NEED_ROOT)
    def test_chroot_directory_created_root_owned(self):
        st = os.lstat(self.g.chroot)
        self.assertTrue(stat.S_ISDIR(st.st_mode))
        self.assertEqual(st.st_uid, 0)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o755)
        self.assertEqual(os.listdir(self.g.chroot), [])

    def test_workers_report_sandbox_and_keyholder_channel(self):
        g = self.g
        log = g.log()
        ready = re.findall(r"worker 1\.(\d+): ready, seccomp sandbox "
                           r"closed, uid (\d+)", log)
        self.assertEqual(sorted(int(s) for s, _ in ready),
                         list(range(self.N)), log)
        if IS_ROOT:
            uid, _ = nobody_ids()
            self.assertTrue(all(int(u) == uid for _, u in ready), ready)
        g.wait_for(lambda: len(set(re.findall(
            r"worker 1\.(\d+): keyholder channel up", g.log()))) == self.N,
            3, "every worker's keyholder channel up")


if __name__ == "__main__":
    unittest.main()
