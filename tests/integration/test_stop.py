"""
test_stop.py: stop: graceful on SIGTERM and SIGINT with nothing left
behind, a request in flight finished, no new connection taken while
draining, the shutdown timeout, no reload while stopping, the key pair
kept across a restart.

Run with tests/integration/run_all.py (or python3 -m unittest from this
directory).
"""

import os
import signal
import socket
import stat
import unittest

from harness import parse_http, pid_alive
from daemon_case import DaemonCase, start_daemon


class StopTest(DaemonCase):

    def _stop_and_check(self, sig):
        g = start_daemon(self, workers=3, ipv6=True)
        st = g.status()
        pids = [p["pid"] for p in st["processes"]]
        self.assertEqual(len(pids), 5)
        rc, took = g.stop(sig)
        self.assertEqual(rc, 0)
        self.assertLess(took, 5.0)
        left = [p for p in pids if pid_alive(p)]
        self.assertEqual(left, [], "processes left after stop")
        self.assertEqual(g.leftover_pids(), [])
        self.assertFalse(os.path.exists(g.sock), "control socket left")
        with self.assertRaises(ConnectionRefusedError):
            g.get("/", timeout=1)
        self.assertIn("stopped", g.log_tail(5))
        return g

    def test_sigterm_stops_gracefully(self):
        self._stop_and_check(signal.SIGTERM)

    def test_sigint_stops_gracefully(self):
        self._stop_and_check(signal.SIGINT)

    def test_stop_kills_no_child(self):
        """Every child leaves on its own when told to: none is killed
        (by the sandbox or by the master's shutdown timeout)."""
        g = start_daemon(self, workers=2)
        off = g.log_size()
        g.stop()
        log = g.log_since(off)
        bad = [l for l in log.splitlines() if any(
            b in l for b in ("killed by signal", "sandbox violation",
                             "did not stop",
                             "exited with status 70"))]
        self.assertEqual(bad, [], "a child was killed during a clean "
                         "stop; the stop log:\n" + log)

    def test_request_in_flight_finishes_after_sigterm(self):
        g = start_daemon(self, workers=1, shutdown_timeout=5)
        s = socket.create_connection(("127.0.0.1", g.port), timeout=5)
        self.addCleanup(s.close)
        s.sendall(b"GET /slow HTTP/1.1\r\nHost: api.github.com\r\n")
        g.wait_for(lambda: sum(w["connections"] for w in
                               g.procs(g.status(), "worker")) == 1,
                   3, "the worker to hold the connection")
        g.signal(signal.SIGTERM)
        g.wait_for(lambda: g.procs(g.status(), "master")[0]["state"] ==
                   "stopping", 3, "the master to be stopping")
        self.assertTrue(g.running(), "ghp exited with a request in flight")
        s.sendall(b"\r\n")
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
        # API traffic without a token: answered 401, then closed.
        r = parse_http(data)
        self.assertRequiresAuth(r, "request in flight")
        self.assertEqual(r.headers.get("connection"), "close")
        rc = g.proc.wait(timeout=5)
        self.assertEqual(rc, 0)
        self.assertNotIn("did not stop", g.log())

    def test_no_connection_is_taken_while_draining(self):
        """While ghp drains, a new client is refused at once rather than
        accepted into a listen queue that no worker reads any more."""
        g = start_daemon(self, workers=1, shutdown_timeout=5)
        s = socket.create_connection(("127.0.0.1", g.port), timeout=5)
        self.addCleanup(s.close)
        s.sendall(b"GET /slow HTTP/1.1\r\n")
        g.wait_for(lambda: sum(w["connections"] for w in
                               g.procs(g.status(), "worker")) == 1,
                   3, "the worker to hold the connection")
        g.signal(signal.SIGTERM)
        g.wait_for(lambda: g.procs(g.status(), "master")[0]["state"] ==
                   "stopping", 3, "the master to be stopping")
        outcome = None
        try:
            r = g.get("/new-while-draining", timeout=1.5)
            outcome = "answered %d" % r.status
        except ConnectionRefusedError:
            outcome = "refused"
        except socket.timeout:
            outcome = "accepted by the kernel, then never answered"
        except OSError as e:
            outcome = "error %r" % e
        s.sendall(b"\r\n")
        s.recv(65536)
        g.proc.wait(timeout=5)
        self.assertIn(outcome, ("refused", "answered 404"))

    def test_stop_right_after_the_keyholder_died(self):
        g = start_daemon(self, workers=2)
        st = g.status()
        pids = [p["pid"] for p in st["processes"]]
        os.kill(g.keyholder_pid(st), signal.SIGKILL)
        rc, took = g.stop()
        self.assertLess(took, 5.0)
        self.assertEqual([p for p in pids if pid_alive(p)], [])
        self.assertEqual(g.leftover_pids(), [])
        self.assertFalse(os.path.exists(g.sock))

    def test_shutdown_timeout_bounds_the_stop(self):
        """A client that never finishes its request cannot hold ghp up
        past "shutdown timeout": the stragglers are killed."""
        g = start_daemon(self, workers=1, shutdown_timeout=1)
        s = socket.create_connection(("127.0.0.1", g.port), timeout=5)
        self.addCleanup(s.close)
        s.sendall(b"GET /never-finished HTTP/1.1\r\n")
        g.wait_for(lambda: sum(w["connections"] for w in
                               g.procs(g.status(), "worker")) == 1,
                   3, "the worker to hold the connection")
        pids = [p["pid"] for p in g.status()["processes"]]
        rc, took = g.stop(timeout=5)
        self.assertGreaterEqual(took, 0.9)
        self.assertLess(took, 3.0)
        self.assertIn("did not stop", g.log())
        g.wait_for(lambda: not any(pid_alive(p) for p in pids), 2,
                   "the killed children to be gone")
        self.assertFalse(os.path.exists(g.sock))

    def test_reload_is_refused_while_stopping(self):
        g = start_daemon(self, workers=1, shutdown_timeout=5)
        s = socket.create_connection(("127.0.0.1", g.port), timeout=5)
        self.addCleanup(s.close)
        s.sendall(b"GET /slow HTTP/1.1\r\n")
        g.wait_for(lambda: sum(w["connections"] for w in
                               g.procs(g.status(), "worker")) == 1,
                   3, "the worker to hold the connection")
        g.signal(signal.SIGTERM)
        st = g.wait_for(lambda: (lambda st: st if g.procs(
            st, "master")[0]["state"] == "stopping" else False)(g.status()),
            3, "the master to be stopping")
        self.assertEqual([w["state"] for w in g.procs(st, "worker")],
                         ["draining"])
        rc, out, err = g.reload()
        self.assertEqual(rc, 1, (out, err))
        self.assertIn("stopping", err)
        s.sendall(b"\r\n")
        s.recv(65536)
        self.assertEqual(g.proc.wait(timeout=5), 0)

    def test_box_key_is_kept_across_a_restart(self):
        g = start_daemon(self, workers=1)
        key = os.path.join(g.state_dir, "box.key")
        pub = os.path.join(g.state_dir, "box.pub")
        with open(key, "rb") as f:
            k1 = f.read()
        with open(pub, "rb") as f:
            p1 = f.read()
        self.assertEqual(len(k1), 32)
        self.assertEqual(g.log().count("created a new key pair"), 1)
        g.stop()
        g.start()
        with open(key, "rb") as f:
            self.assertEqual(f.read(), k1, "box.key changed on restart")
        with open(pub, "rb") as f:
            self.assertEqual(f.read(), p1, "box.pub changed on restart")
        self.assertEqual(g.log().count("created a new key pair"), 1)
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        g.stop()


if __name__ == "__main__":
    unittest.main()
