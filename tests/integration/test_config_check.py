"""
test_config_check.py: ghp -n: a config checked from the command line,
every error reported as file:line, ghp -nv printing a config that parses
again, usage errors, the sample config.

Run with tests/integration/run_all.py (or python3 -m unittest from this
directory).
"""

import os
import re
import unittest

import harness
from harness import Ghp, run_ghp
from daemon_case import DaemonCase


class ConfigCheckTest(DaemonCase):

    def setUp(self):
        self.g = Ghp(workers=2, ipv6=True)
        self.addCleanup(self.g.cleanup)

    def test_valid_config(self):
        rc, out, err = run_ghp("-n", "-f", self.g.conf)
        self.assertEqual(rc, 0, err)
        self.assertIn("configuration OK", err)
        self.assertEqual(out, "")

    def test_invalid_config_prints_file_line(self):
        line = self.g.append_config("bogus keyword")
        rc, out, err = run_ghp("-n", "-f", self.g.conf)
        self.assertEqual(rc, 1)
        self.assertNotIn("configuration OK", err)
        self.assertRegex(err, r"(?m)^%s:%d: \S" % (re.escape(self.g.conf),
                                                    line))

    def test_every_error_is_reported(self):
        l1 = self.g.append_config("bogus keyword")
        l2 = self.g.append_config('chroot "relative/path"')
        l3 = self.g.append_config("workers 0")
        rc, out, err = run_ghp("-n", "-f", self.g.conf)
        self.assertEqual(rc, 1)
        for line in (l1, l2, l3):
            self.assertRegex(err, r"(?m)^%s:%d: \S" %
                             (re.escape(self.g.conf), line))
        for e in err.strip().splitlines():
            self.assertRegex(e, r"^%s:\d+: " % re.escape(self.g.conf))

    def test_missing_file(self):
        path = os.path.join(self.g.dir, "nope.conf")
        rc, out, err = run_ghp("-n", "-f", path)
        self.assertEqual(rc, 1)
        self.assertIn(path, err)

    def test_verbose_check_prints_a_config_that_parses_again(self):
        rc, out1, err = run_ghp("-n", "-v", "-f", self.g.conf)
        self.assertEqual(rc, 0, err)
        self.assertIn("workers 2", out1)
        self.assertIn("listen on 127.0.0.1 port %d" % self.g.port, out1)
        again = os.path.join(self.g.dir, "printed.conf")
        with open(again, "w") as f:
            f.write(out1)
        rc, out, err = run_ghp("-n", "-f", again)
        self.assertEqual(rc, 0, "printed config does not parse:\n%s\n%s" %
                         (err, out1))
        rc, out2, err = run_ghp("-n", "-v", "-f", again)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out2, out1, "printing is not stable")

    def test_usage_errors_exit_2(self):
        for args in (["-x"], ["-n", "-f", self.g.conf, "extra"],
                     ["-D", "nonsense", "-n", "-f", self.g.conf]):
            with self.subTest(args=args):
                rc, out, err = run_ghp(*args)
                self.assertEqual(rc, 2, err)

    def _sample(self):
        path = os.path.join(harness.REPO, "etc", "ghp.conf.sample")
        if not os.path.exists(path):
            self.skipTest("etc/ghp.conf.sample is not there yet")
        return path

    def test_sample_config_is_valid(self):
        rc, out, err = run_ghp("-n", "-f", self._sample())
        self.assertEqual(rc, 0, err)
        self.assertIn("configuration OK", err)

    def test_sample_config_with_make_run_defines(self):
        d = self.g.dir
        defs = ["-D", "statedir=%s/run/state" % d,
                "-D", "ctlsock=%s/run/ghp.sock" % d,
                "-D", "chrootdir=%s/run/empty" % d,
                "-D", "ghpuser=nobody"]
        rc, out, err = run_ghp("-n", "-v", *defs, "-f", self._sample())
        self.assertEqual(rc, 0, err)
        self.assertIn('user "nobody"', out)
        self.assertIn('state directory "%s/run/state"' % d, out)
        self.assertIn('control socket "%s/run/ghp.sock"' % d, out)
        self.assertIn('chroot "%s/run/empty"' % d, out)


if __name__ == "__main__":
    unittest.main()
