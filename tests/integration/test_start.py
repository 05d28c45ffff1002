"""
test_start.py: start-up: what ghp refuses to start with (an open or
foreign state directory, a writable chroot, a port in use), starting in
the background, and running as an ordinary user.

Run with tests/integration/run_all.py (or python3 -m unittest from this
directory).  Tests that need root skip when not run as root.
"""

import os
import shutil
import signal
import socket
import stat
import subprocess
import unittest

import harness
from harness import (Ghp, IS_ROOT, NEED_ROOT, pid_alive, proc_status,
                     proc_uids, nobody_ids)
from daemon_case import DaemonCase


class StartTest(DaemonCase):
    """Refusals at start-up and running in the background."""

    def _start_fails(self, g, needle):
        g.start(wait=False)
        try:
            rc = g.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.fail("ghp started although it should not have:\n" +
                      g.log_tail())
        self.assertEqual(rc, 1, g.log_tail())
        self.assertIn(needle, g.log())
        self.assertEqual(g.leftover_pids(), [])

    def test_open_state_directory_is_refused(self):
        g = Ghp(workers=1)
        self.addCleanup(g.cleanup)
        os.mkdir(g.state_dir, 0o755)
        os.chmod(g.state_dir, 0o755)
        if IS_ROOT:
            os.chown(g.state_dir, *nobody_ids())
        self._start_fails(g, "state directory %s" % g.state_dir)

    @unittest.skipUnless(IS_ROOT, NEED_ROOT)
    def test_state_directory_of_another_user_is_refused(self):
        g = Ghp(workers=1)
        self.addCleanup(g.cleanup)
        os.mkdir(g.state_dir, 0o700)    # root's, not nobody's
        self._start_fails(g, "state directory %s" % g.state_dir)

    @unittest.skipUnless(IS_ROOT, NEED_ROOT)
    def test_writable_chroot_is_refused(self):
        g = Ghp(workers=1)
        self.addCleanup(g.cleanup)
        os.mkdir(g.chroot)
        os.chmod(g.chroot, 0o777)
        self._start_fails(g, "chroot %s" % g.chroot)

    def test_port_in_use_is_refused(self):
        g = Ghp(workers=1)
        self.addCleanup(g.cleanup)
        busy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(busy.close)
        busy.bind(("127.0.0.1", g.port))
        busy.listen(1)
        self._start_fails(g, "port %d" % g.port)
        self.assertFalse(os.path.exists(g.sock))

    def test_background_start(self):
        """Without -d ghp detaches; the launcher exits 0 at once."""
        g = Ghp(workers=2)
        self.addCleanup(g.cleanup)
        r = subprocess.run([harness.GHP_BIN, "-f", g.conf],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)

        def ready():
            st = g.status()
            return st if g.is_ready(st) else False
        st = g.wait_for(ready, harness.START_TIMEOUT, "background ghp")
        master = g.procs(st, "master")[0]["pid"]
        g.pgid = master             # daemon(3) made a new session
        self.assertNotEqual(int(proc_status(master)["PPid"]), os.getpid(),
                            "ghp did not detach")
        self.assertNotFound(g.get("/"))
        os.kill(master, signal.SIGTERM)
        pids = list(g.pids)
        g.wait_for(lambda: not any(pid_alive(p) for p in pids), 5,
                   "background ghp to stop")
        self.assertFalse(os.path.exists(g.sock))


@unittest.skipUnless(IS_ROOT, "needs root to become an ordinary user "
                     "with setpriv")
class OrdinaryUserTest(DaemonCase):

    def test_runs_as_an_ordinary_user(self):
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            self.skipTest("setpriv (util-linux) is not installed")
        uid, gid = nobody_ids()
        g = Ghp(workers=2, run_as=[setpriv, "--reuid=nobody",
                                   "--regid=nogroup", "--clear-groups"])
        self.addCleanup(g.cleanup)
        g.chown_dir(uid, gid)
        g.start()
        self.assertIn("not running as root", g.log())
        self.assertEqual(proc_uids(g.pid), (uid,) * 4)
        st = g.status()
        kids = g.procs(st, "worker") + g.procs(st, "keyholder")
        self.assertEqual(len(kids), 3)
        for p in kids:
            ps = proc_status(p["pid"])
            self.assertEqual(proc_uids(p["pid"]), (uid,) * 4, p)
            self.assertEqual(ps["Seccomp"], "2", p)
            self.assertEqual(ps["NoNewPrivs"], "1", p)
        sd = os.lstat(g.state_dir)
        self.assertEqual(sd.st_uid, uid)
        self.assertEqual(stat.S_IMODE(sd.st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.lstat(os.path.join(
            g.state_dir, "box.key")).st_mode), 0o600)
        self.assertNotFound(g.get("/as-nobody"))
        g.stop()
        self.assertEqual(g.leftover_pids(), [])


if __name__ == "__main__":
    unittest.main()
