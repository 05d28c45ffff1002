"""TLS listeners: `listen on ... tls certificate F key F`.

A certificate made here with the openssl command; curl talks to ghp
over TLS with it as the only trusted CA.  Bad files are refused at
start and on reload with the reason.
"""
import os
import subprocess
import unittest

from harness import Ghp, free_port


def make_cert(d):
    cert, key = os.path.join(d, "tls.crt"), os.path.join(d, "tls.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                    "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    os.chmod(key, 0o600)        # root's alone: workers load it early
    return cert, key


def curl(*args):
    """curl ARGS, each URL's body discarded; returns (rc, "code version"
    per URL)."""
    argv = []
    for a in args:
        if a.startswith(("http://", "https://")):
            argv += ["-o", "/dev/null"]
        argv.append(a)
    p = subprocess.run(["curl", "-s", "-w",
                        "%{http_code} %{http_version}"] + argv,
                       capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout


@unittest.skipUnless(os.geteuid() == 0, "needs root (key readable by root)")
class TlsListenerTest(unittest.TestCase):

    def setUp(self):
        self.g = Ghp(workers=1, upstream=True)
        self.addCleanup(self.g.cleanup)
        self.cert, self.key = make_cert(self.g.dir)
        self.tls_port = free_port("127.0.0.1")
        self.g.write_config(self.g.config_text(
            extra='listen on 127.0.0.1 port %d tls certificate "%s" '
                  'key "%s"' % (self.tls_port, self.cert, self.key)))
        self.g.start()
        rc, _, _ = self.g.ctl("credential", "add", "--owner", "alice",
                              input="ghp_realcredentialAAAA\n")
        self.assertEqual(rc, 0)
        rc, out, _ = self.g.ctl("token", "create", "--owner", "alice",
                                "--repo", "acme/widgets",
                                "--perm", "contents:read")
        self.assertEqual(rc, 0)
        self.token = out.strip()

    def url(self, path):
        return "https://127.0.0.1:%d%s" % (self.tls_port, path)

    def test_proxies_over_tls(self):
        rc, out = curl("--cacert", self.cert, "-H",
                       "Authorization: token " + self.token,
                       self.url("/api/v3/repos/acme/widgets"),
                       self.url("/api/v3/repos/acme/widgets"))
        self.assertEqual(rc, 0)
        self.assertEqual(out, "200 1.1200 1.1")
        seen = [r for r in self.g.fake.requests()
                if r["path"] == "/repos/acme/widgets"]
        self.assertEqual(len(seen), 2)

    def test_old_protocols_refused(self):
        rc, _ = curl("--cacert", self.cert, "--tls-max", "1.1",
                     self.url("/"))
        self.assertNotEqual(rc, 0)

    def test_plain_http_on_the_tls_port_gets_nothing(self):
        rc, out = curl("http://127.0.0.1:%d/" % self.tls_port)
        self.assertTrue(rc != 0 or not out.startswith("200"))

    def test_reload_with_a_missing_key_is_refused(self):
        self.g.write_config(self.g.config_text(
            extra='listen on 127.0.0.1 port %d tls certificate "%s" '
                  'key "%s"' % (self.tls_port, self.cert,
                                self.key + ".missing")))
        rc, _, err = self.g.ctl("reload")
        self.assertEqual(rc, 1)
        self.assertIn("tls", err)
        rc, out = curl("--cacert", self.cert, "-H",
                       "Authorization: token " + self.token,
                       self.url("/api/v3/repos/acme/widgets"))
        self.assertEqual(out, "200 1.1")


class TlsCheckTest(unittest.TestCase):

    def test_dash_n_loads_the_certificate(self):
        from harness import GHP_BIN
        g = Ghp(workers=1)
        self.addCleanup(g.cleanup)
        cert, key = make_cert(g.dir)
        line = 'listen on 127.0.0.1 port %d tls certificate "%s" key "%s"'
        g.write_config(g.config_text(extra=line % (free_port("127.0.0.1"),
                                                   cert, key)))
        r = subprocess.run([GHP_BIN, "-n", "-f", g.conf],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        g.write_config(g.config_text(extra=line % (free_port("127.0.0.1"),
                                                   cert, cert)))
        r = subprocess.run([GHP_BIN, "-n", "-f", g.conf],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("tls: key", r.stderr)


if __name__ == "__main__":
    unittest.main()
