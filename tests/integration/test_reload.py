"""
test_reload.py: reload, by signal and by ghpctl: a bad config is refused
with file:line and the old generation keeps serving; a good one changes
the workers and listeners, old workers drain their connections, and no
request fails meanwhile.

Run with tests/integration/run_all.py (or python3 -m unittest from this
directory).  Tests that need root skip when not run as root.
"""

import signal
import socket
import threading
import time
import unittest

import harness
from harness import GhpError, IS_ROOT, NEED_ROOT, parse_http, pid_alive
from daemon_case import DaemonCase, start_daemon


class ReloadTest(DaemonCase):

    def test_bad_config_by_signal_is_refused(self):
        g = start_daemon(self, workers=2)
        pids = sorted(g.worker_pids())
        line = g.append_config("bogus keyword")
        for sig in (signal.SIGUSR1, signal.SIGHUP):
            with self.subTest(signal=sig.name):
                off = g.log_size()
                g.signal(sig)
                g.wait_for(lambda: "reload refused" in g.log_since(off), 3,
                           "reload refused after %s" % sig.name)
                log = g.log_since(off)
                self.assertIn("%s:%d: " % (g.conf, line), log)
                st = g.status()
                self.assertEqual(st["generation"], 1)
                self.assertTrue(g.is_ready(st), st)
                self.assertEqual(sorted(g.worker_pids(st)), pids)
                self.assertNotFound(g.get("/still-serving"))

    def test_ghpctl_reload_bad_config_exits_1_with_file_line(self):
        g = start_daemon(self, workers=2)
        l1 = g.append_config("bogus keyword")
        l2 = g.append_config("workers 100000")
        rc, out, err = g.reload()
        self.assertEqual(rc, 1, (out, err))
        for e in err.splitlines():
            self.assertTrue(e.startswith("ghpctl: "), err)
        self.assertIn("%s:%d: " % (g.conf, l1), err)
        self.assertIn("%s:%d: " % (g.conf, l2), err)
        self.assertEqual(out, "")
        st = g.status()
        self.assertEqual(st["generation"], 1)
        self.assertTrue(g.is_ready(st))
        self.assertNotFound(g.get("/"))

    def test_ghpctl_reload_changes_the_worker_count(self):
        g = start_daemon(self, workers=2)
        st = g.status()
        old = g.worker_pids(st)
        kh = g.keyholder_pid(st)
        for gen, n in ((2, 3), (3, 1)):
            with self.subTest(generation=gen, workers=n):
                g.write_config(workers=n)
                rc, out, err = g.reload()
                self.assertEqual(rc, 0, err)
                self.assertEqual(out.strip(), "reload: generation %d taken, "
                                 "%d workers" % (gen, n))
                st = g.wait_ready(workers=n, generation=gen)
                ws = g.procs(st, "worker")
                self.assertEqual(len(ws), n)
                self.assertTrue(all(w["generation"] == gen and
                                    w["state"] == "running" for w in ws), ws)
                self.assertEqual(self.worker_slots(g, st), list(range(n)))
                g.wait_for(lambda: not any(pid_alive(p) for p in old), 3,
                           "old workers gone")
                self.assertEqual(g.keyholder_pid(st), kh,
                                 "reload restarted the keyholder")
                self.assertNotFound(g.get("/gen/%d" % gen))
                old = g.worker_pids(st)

    def test_reload_adds_and_removes_a_listener(self):
        g = start_daemon(self, workers=2)
        extra = harness.free_port()
        g.extra = "listen on 127.0.0.1 port %d" % extra
        g.write_config()
        rc, out, err = g.reload()
        self.assertEqual(rc, 0, err)
        g.wait_ready(generation=2)
        self.assertNotFound(g.get("/", port=extra), "new listener")
        self.assertNotFound(g.get("/", port=g.port), "kept listener")
        g.extra = ""
        g.write_config()
        rc, out, err = g.reload()
        self.assertEqual(rc, 0, err)
        g.wait_ready(generation=3)
        self.assertNotFound(g.get("/", port=g.port), "kept listener")
        with self.assertRaises(ConnectionRefusedError):
            g.get("/", port=extra, timeout=1)

    def test_reload_that_cannot_bind_is_refused(self):
        g = start_daemon(self, workers=2)
        busy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(busy.close)
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        g.append_config("listen on 127.0.0.1 port %d" % port)
        pids = sorted(g.worker_pids())
        rc, out, err = g.reload()
        self.assertEqual(rc, 1, (out, err))
        self.assertIn("port %d" % port, err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        st = g.status()
        self.assertEqual(st["generation"], 1)
        self.assertEqual(sorted(g.worker_pids(st)), pids)
        self.assertNotFound(g.get("/"))

    def test_reload_with_unknown_user_is_refused(self):
        if not IS_ROOT:
            self.skipTest(NEED_ROOT)
        g = start_daemon(self, workers=1)
        g.user = "ghp-no-such-user"
        g.write_config()
        rc, out, err = g.reload()
        self.assertEqual(rc, 1, (out, err))
        self.assertIn("ghp-no-such-user", err)
        self.assertEqual(g.status()["generation"], 1)
        self.assertNotFound(g.get("/"))

    def test_old_worker_drains_its_connection_then_exits(self):
        g = start_daemon(self, workers=1, shutdown_timeout=5)
        old = g.worker_pids()[0]
        s = socket.create_connection(("127.0.0.1", g.port), timeout=5)
        self.addCleanup(s.close)
        s.sendall(b"GET /old HTTP/1.1\r\nHost: api.github.com\r\n")
        g.wait_for(lambda: sum(w["connections"] for w in
                               g.procs(g.status(), "worker")) == 1,
                   3, "the worker to hold the connection")
        rc, out, err = g.reload()
        self.assertEqual(rc, 0, err)

        def draining():
            st = g.status()
            d = [w for w in g.procs(st, "worker") if w["pid"] == old]
            new = g.procs(st, "worker", "running", 2)
            return st if d and d[0]["state"] == "draining" and \
                len(new) == 1 else False
        st = g.wait_for(draining, 3, "old worker draining, new running")
        self.assertEqual(g.procs(st, "worker", "draining")[0]["generation"],
                         1)
        self.assertNotFound(g.get("/new"), "new generation")
        self.assertTrue(pid_alive(old), "old worker left with a request "
                        "in flight")
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
        g.wait_for(lambda: not pid_alive(old), 3, "the old worker to exit")
        g.wait_ready(generation=2)

    def test_rapid_reloads_settle_on_the_last_generation(self):
        g = start_daemon(self, workers=2)
        seen = set(g.worker_pids())
        for i in range(5):
            g.write_config(workers=1 + i % 3)
            rc, out, err = g.reload()
            self.assertEqual(rc, 0, err)
            try:
                seen |= set(g.worker_pids())
            except GhpError:
                pass
        last = 1 + 4 % 3
        st = g.wait_ready(workers=last, generation=6)
        self.assertEqual(self.worker_slots(g, st), list(range(last)))
        current = set(g.worker_pids(st))
        g.wait_for(lambda: not any(pid_alive(p) for p in seen - current), 3,
                   "every older worker gone")
        self.assertNotFound(g.get("/"))

    def test_signals_reload_a_good_config(self):
        g = start_daemon(self, workers=2)
        for gen, sig in ((2, signal.SIGUSR1), (3, signal.SIGHUP)):
            with self.subTest(signal=sig.name):
                old = g.worker_pids()
                g.signal(sig)
                st = g.wait_ready(generation=gen)
                self.assertTrue(set(g.worker_pids(st)).isdisjoint(old))
                self.assertNotFound(g.get("/"))

    def test_reloads_fail_no_request(self):
        g = start_daemon(self, workers=2, ipv6=True)
        stop = threading.Event()
        failures = []
        done = [0]

        def client():
            i = 0
            while not stop.is_set():
                host = "::1" if (g.port6 and i % 2) else "127.0.0.1"
                i += 1
                try:
                    r = g.get("/during-reload/%d" % i, host=host,
                              timeout=5)
                    if r.status != 404:
                        failures.append("%s: status %d" % (host, r.status))
                except Exception as e:      # noqa: any failure counts
                    failures.append("%s: %r" % (host, e))
                done[0] += 1
        threads = [threading.Thread(target=client, daemon=True)
                   for _ in range(2)]
        for t in threads:
            t.start()
        try:
            for gen, n in ((2, 3), (3, 2), (4, 3)):
                g.write_config(workers=n)
                rc, out, err = g.reload()
                self.assertEqual(rc, 0, err)
                g.wait_ready(workers=n, generation=gen)
            time.sleep(0.2)     # a little traffic on the last generation
        finally:
            stop.set()
            for t in threads:
                t.join(10)
        self.assertGreater(done[0], 20, "the client loop hardly ran")
        self.assertEqual(failures, [], "%d of %d requests failed during "
                         "3 reloads\n%s" % (len(failures), done[0],
                                            g.log_tail()))


if __name__ == "__main__":
    unittest.main()
