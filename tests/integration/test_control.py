"""
test_control.py: the control socket and ghpctl: garbage and idle clients
on the socket of a running daemon, ghpctl's usage errors, a socket that
is missing or is no socket.

Run with tests/integration/run_all.py (or python3 -m unittest from this
directory).
"""

import os
import shutil
import socket
import unittest

import harness
from harness import run_ghpctl
from daemon_case import DaemonCase, start_daemon


class ControlSocketTest(DaemonCase):

    @classmethod
    def setUpClass(cls):
        cls.g = start_daemon(cls, workers=1)

    def test_garbage_on_the_control_socket(self):
        g = self.g
        junk = [b"", b"x", b"\xff" * 16, b"\x01\x00\x00\x00" + b"\xff" * 12,
                os.urandom(100), b"\x00" * 16 + os.urandom(64 * 1024)]
        for data in junk:
            with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as c:
                c.settimeout(2)
                c.connect(g.sock)
                try:
                    c.send(data)
                    c.recv(65536)
                except OSError:
                    pass
        self.assertTrue(g.running(), g.log_tail())
        self.assertTrue(g.is_ready(g.status()))
        self.assertNotFound(g.get("/"))

    def test_many_idle_clients_then_status(self):
        g = self.g
        socks = []
        try:
            for _ in range(40):
                c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                socks.append(c)
                c.connect(g.sock)
        finally:
            for c in socks:
                c.close()
        st = g.wait_for(lambda: g.status(), 3, "status after idle clients")
        self.assertTrue(g.is_ready(st))


class GhpctlTest(DaemonCase):

    def test_usage_errors_exit_2(self):
        for args in ([], ["frobnicate"], ["status", "--bogus"],
                     ["status", "--json", "extra"], ["reload", "now"],
                     ["-x", "status"]):
            with self.subTest(args=args):
                rc, out, err = run_ghpctl(*args)
                self.assertEqual(rc, 2, err)
                self.assertIn("usage", err)
                self.assertEqual(out, "")

    def test_missing_socket_exits_1_with_one_line(self):
        d = os.path.realpath(harness.tempfile.mkdtemp(prefix="ghp-it-"))
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "none.sock")
        for cmd in (["status"], ["status", "--json"], ["reload"]):
            with self.subTest(cmd=cmd):
                rc, out, err = run_ghpctl("-s", path, *cmd)
                self.assertEqual(rc, 1)
                self.assertEqual(out, "")
                self.assertEqual(len(err.strip().splitlines()), 1, err)
                self.assertTrue(err.startswith("ghpctl: "), err)
                self.assertIn(path, err)

    def test_socket_path_that_is_no_socket(self):
        d = os.path.realpath(harness.tempfile.mkdtemp(prefix="ghp-it-"))
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "file")
        open(path, "w").close()
        rc, out, err = run_ghpctl("-s", path, "status")
        self.assertEqual(rc, 1)
        self.assertEqual(len(err.strip().splitlines()), 1, err)


if __name__ == "__main__":
    unittest.main()
