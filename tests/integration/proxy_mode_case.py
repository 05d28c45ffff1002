"""
proxy_mode_case.py: what the forward-proxy tests (test_proxy_mode.py)
share: a daemon with a proxy listener (`listen on ... proxy`) in front
of a FakeGitHub whose sites stand in for all of GitHub's hosts, ghp's CA
exported to a file, the real curl, git and gh clients pointed at the
proxy listener (HTTPS_PROXY, each with its own temporary HOME and
nothing else of the host's configuration), and a raw client that speaks
CONNECT and TLS itself (TunnelConn) for what the tools do not show.

Not a test module itself (run_all.py collects test_*.py only).
"""

import datetime
import json
import os
import shutil
import ssl
import subprocess
import tempfile

from harness import ConnectConn, basic_auth
from web_case import WebCase, start_web

# Generous: an ASan build on a loaded machine pushing 30 MB through TLS.
TOOL_TIMEOUT = 300

PROXY_REALM = 'Basic realm="ghp"'

# The hosts ghp intercepts (spec: api, web, codeload, raw, Copilot).
INTERCEPTED = ("api.github.com", "github.com", "codeload.github.com",
               "raw.githubusercontent.com", "api.githubcopilot.com",
               "githubcopilot.com")


def tool_missing(*names):
    """The first of names that is not on PATH, else None."""
    for n in names:
        if shutil.which(n) is None:
            return n
    return None


def start_proxy_mode(case, workers=2, **kw):
    """start_web() with a forward-proxy listener (g.proxy_port)."""
    kw.setdefault("proxy", True)
    return start_web(case, workers=workers, **kw)


def export_ca(g, directory):
    """`ghpctl ca export` into directory/ghp-ca.pem; returns its path."""
    rc, out, err = g.ctl("ca", "export")
    if rc != 0:
        raise AssertionError("ghpctl ca export: exit %d: %s" %
                             (rc, err.strip()))
    if "-----BEGIN CERTIFICATE-----" not in out:
        raise AssertionError("ghpctl ca export printed no PEM "
                             "certificate: %r" % out[:300])
    path = os.path.join(directory, "ghp-ca.pem")
    with open(path, "w") as f:
        f.write(out)
    return path


def openssl_x509(data, *args, der=False):
    """openssl x509 -noout ARGS on a certificate (PEM text or DER
    bytes); (rc, stdout, stderr)."""
    if isinstance(data, str):
        data = data.encode()
    r = subprocess.run(["openssl", "x509", "-inform",
                        "DER" if der else "PEM", "-noout"] + list(args),
                       input=data, capture_output=True, timeout=60)
    return (r.returncode, r.stdout.decode("utf-8", "replace"),
            r.stderr.decode("utf-8", "replace"))


def cert_dates(der):
    """(notBefore, notAfter) of a DER certificate, as aware datetimes."""
    rc, out, err = openssl_x509(der, "-startdate", "-enddate", der=True)
    if rc != 0:
        raise AssertionError("openssl x509 -dates: %s" % err)
    got = {}
    for line in out.splitlines():
        k, _, v = line.partition("=")
        got[k.strip()] = datetime.datetime.strptime(
            v.strip(), "%b %d %H:%M:%S %Y %Z").replace(
                tzinfo=datetime.timezone.utc)
    return got["notBefore"], got["notAfter"]


# ---------------------------------------------------------------- raw


class TunnelConn(ConnectConn):
    """A client connection to ghp's proxy listener (ConnectConn): TLS
    inside offers ALPN http/1.1, and a refusal without Content-Length
    is read to the end of the connection."""

    alpn = ("http/1.1",)
    refusal_to_close = True

    def __init__(self, g, timeout=30.0):
        ConnectConn.__init__(self, g.proxy_port, timeout)


def proxy_auth(token, user="agent"):
    """The Proxy-Authorization value for a ghp token."""
    return basic_auth(user, token)


def json_body(r):
    return json.loads(r.body)


# --------------------------------------------------------------- tools


class ToolHome:
    """A temporary directory with a HOME in it, for one tool run (curl,
    git, gh): nothing of the host's configuration or proxy settings."""

    def __init__(self, prefix="ghp-pm-"):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.home = os.path.join(self.dir, "home")
        os.mkdir(self.home)

    def path(self, *names):
        return os.path.join(self.dir, *names)

    def base_env(self):
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "HOME": self.home, "LC_ALL": "C", "NO_PROXY": "",
                "no_proxy": ""}

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class CurlResult:
    def __init__(self, proc, status, body, heads):
        self.rc = proc.returncode
        self.stderr = proc.stderr
        self.status = status        # curl's %{http_code}: the last response
        self.body = body
        self.heads = heads          # every response head, in order (-D)
        self.headers = {}           # the last one's, lower-case names
        if heads:
            for line in heads[-1].split("\r\n")[1:]:
                k, _, v = line.partition(":")
                self.headers[k.strip().lower()] = v.strip()

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<curl exit %d, HTTP %s, %r, stderr %r>" % (
            self.rc, self.status, self.body[:300], self.stderr[-800:])


CURL_HEADERS = ("Accept: application/vnd.github+json",
                "User-Agent: ghp-integration-curl")


def run_curl(tool, url, proxy=None, cacert=None, args=(), env=None,
             timeout=TOOL_TIMEOUT, headers=CURL_HEADERS):
    """curl URL (with no .curlrc) in tool (a ToolHome), with -H for each
    of headers; proxy: --proxy PROXY (else whatever env says); cacert:
    --cacert.  Returns a CurlResult."""
    body = tool.path("curl-body")
    hdrs = tool.path("curl-headers")
    for p in (body, hdrs):
        if os.path.exists(p):
            os.unlink(p)
    cmd = ["curl", "-q", "-sS", "--max-time", str(timeout - 10),
           "-o", body, "-D", hdrs, "-w", "%{http_code}"]
    for h in headers:
        cmd += ["-H", h]
    if proxy is not None:
        cmd += ["--proxy", proxy]
    if cacert is not None:
        cmd += ["--cacert", cacert]
    cmd += list(args) + [url]
    e = tool.base_env()
    e.update(env or {})
    p = subprocess.run(cmd, env=e, capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL,
                       cwd=tool.dir)
    try:
        status = int(p.stdout.strip() or 0)
    except ValueError:
        status = None
    data = b""
    if os.path.exists(body):
        with open(body, "rb") as f:
            data = f.read()
    heads = []
    if os.path.exists(hdrs):
        with open(hdrs, "rb") as f:
            text = f.read().decode("iso-8859-1")
        # -D holds every response (the CONNECT answer first).
        heads = [b for b in text.split("\r\n\r\n") if b.strip()]
    return CurlResult(p, status, data, heads)


def run_gh(tool, g, token, cafile, *args, timeout=TOOL_TIMEOUT, env=None):
    """gh ARGS with HTTPS_PROXY naming ghp's proxy listener with token,
    SSL_CERT_FILE=cafile, GH_TOKEN=placeholder, GH_HOST unset, HOME and
    GH_CONFIG_DIR in the temporary directory, NO_PROXY empty."""
    cfg = tool.path("gh-config")
    os.makedirs(cfg, exist_ok=True)
    e = tool.base_env()
    e.update({"HTTPS_PROXY": g.proxy_url(token),
              "https_proxy": g.proxy_url(token),
              "SSL_CERT_FILE": cafile, "GH_TOKEN": "placeholder",
              "GH_CONFIG_DIR": cfg, "GH_NO_UPDATE_NOTIFIER": "1",
              "GH_PROMPT_DISABLED": "1", "NO_COLOR": "1",
              "GH_PAGER": "cat", "PAGER": "cat",
              "XDG_CONFIG_HOME": tool.path("xdg-config"),
              "XDG_CACHE_HOME": tool.path("xdg-cache"),
              "XDG_STATE_HOME": tool.path("xdg-state"),
              "XDG_DATA_HOME": tool.path("xdg-data")})
    e.update(env or {})
    return subprocess.run(["gh"] + list(args), env=e, capture_output=True,
                          text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, cwd=tool.dir)


class ProxyModeCase(WebCase):
    """WebCase plus a ToolHome per test (self.tool)."""

    def setUp(self):
        super().setUp()
        self.tool = ToolHome()
        self.addCleanup(self.tool.cleanup)

    def assertProxyAuthRequired(self, r, what=""):
        """407 with `Proxy-Authenticate: Basic realm="ghp"` and a JSON
        body."""
        self.assertEqual(r.status, 407, "%s: %r" % (what, r))
        vals = [v for k, v in r.header_list
                if k.lower() == "proxy-authenticate"]
        self.assertEqual(vals, [PROXY_REALM], "%s: %r" % (what, r.headers))
        self.assertTrue(r.headers.get("content-type", "").startswith(
            "application/json"), "%s: %r" % (what, r.headers))
        self.assertIsInstance(json_body(r), dict, what)

    def assertJSONRefusal(self, r, status, what=""):
        self.assertEqual(r.status, status, "%s: %r" % (what, r))
        self.assertTrue(r.headers.get("content-type", "").startswith(
            "application/json"), "%s: %r" % (what, r.headers))
        self.assertIsInstance(json_body(r), dict, what)

    def assertCurlGitHubError(self, c, status, *contains):
        """curl got status from ghp in GitHub's error shape."""
        self.assertEqual(c.rc, 0, c)
        self.assertEqual(c.status, status, c)
        body = c.json()
        self.assertEqual(set(body), {"message", "documentation_url"}, body)
        for s in contains:
            self.assertIn(s, body["message"])
        return body["message"]

    def assertKeyholderAndWorkersSurvived(self, g, kh, workers):
        st = g.status()
        self.assertEqual(g.keyholder_pid(st), kh, "the keyholder changed")
        self.assertEqual(sorted(g.worker_pids(st)), sorted(workers),
                         "a worker changed")


def socket_closed(conn, timeout=5.0):
    """True when the server ends conn (EOF or reset) with nothing more."""
    try:
        return conn.closed_by_server(timeout)
    except (OSError, ssl.SSLError):
        return True

