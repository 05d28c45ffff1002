"""
harness.py: runs the real ghp daemon for the integration tests.

A Ghp object owns one temporary directory (config, state directory,
chroot, control socket, log) and one daemon started from it.  It waits by
polling `ghpctl status --json`, never by sleeping a fixed time, and it
never leaves a process behind: cleanup() kills, by pid, every process it
has seen (the master, the keyholder, every worker) and every process left
in the master's process group.

With upstream=True a Ghp also runs a FakeGitHub (tests/upstream/
fake_github.py) in this process and points `upstream api` at it;
upstream="process" runs it as a subprocess instead (for bulk transfers,
where one Python process serving and reading would share one GIL).
Either is stopped by cleanup().  With sites=True the other upstreams
point at the same fake too, each under its path prefix (web ->
fake.url + "/_web", codeload, raw, copilot: fake_github.py SITES);
upstream_ca="FILE" writes `upstream ca`.  With proxy=True ghp also
has a forward-proxy listener (`listen on 127.0.0.1 port N proxy`,
HTTPS_PROXY mode) on self.proxy_port.
HttpConn speaks keep-alive HTTP/1.1 to
the daemon one response at a time; request() is one request on its own
connection (both in http_client.py, and importable from here).

The binaries are $GHP_BIN and $GHPCTL_BIN when set (an ASan build, say),
else the ones `make` builds in the repository.

Python 3 standard library only.
"""

import atexit
import json
import os
import pwd
import re
import grp
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

# The raw HTTP client (HttpConn, request(), http_raw() ...) lives in
# http_client.py; its names are harness's too, for the tests.
from http_client import (  # noqa: F401 (re-exported)
    ConnectConn, ConnectionClosed, HttpConn, HttpResponse, basic_auth,
    build_request, http_get, http_raw, parse_http, request)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
UPSTREAM_DIR = os.path.join(os.path.dirname(HERE), "upstream")
if UPSTREAM_DIR not in sys.path:
    sys.path.insert(0, UPSTREAM_DIR)


def _find_bin(env, name):
    """$env, else the first executable file among the usual places."""
    path = os.environ.get(env)
    if path:
        return os.path.abspath(path)
    for cand in (os.path.join(REPO, "build", name), os.path.join(REPO, name),
                 os.path.join(REPO, name, name)):
        if os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    return os.path.join(REPO, "build", name)


GHP_BIN = _find_bin("GHP_BIN", "ghp")
GHPCTL_BIN = _find_bin("GHPCTL_BIN", "ghpctl")

IS_ROOT = os.geteuid() == 0
NEED_ROOT = "needs root (setresuid, chroot, chown)"

# Generous enough for an ASan build on a loaded machine, short enough
# that a hung daemon fails the suite quickly.
START_TIMEOUT = float(os.environ.get("GHP_START_TIMEOUT", "10"))
STOP_TIMEOUT = 5.0

# Where the upstreams point when no FakeGitHub stands in: the discard
# port on loopback, which nothing serves (a forward there is a 502).
NO_UPSTREAM = "http://127.0.0.1:9"

NOT_FOUND_BODY = (b'{"message":"Not Found",'
                  b'"documentation_url":"https://docs.github.com/rest"}')


def have_ipv6():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def free_port(host="127.0.0.1"):
    """A port nothing listens on right now (bind port 0, let it go)."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def nobody_ids():
    pw = pwd.getpwnam("nobody")
    try:
        gid = grp.getgrnam("nogroup").gr_gid
    except KeyError:
        gid = pw.pw_gid
    return pw.pw_uid, gid


# -------------------------------------------------------------- /proc


def open_files(pid):
    """What /proc/PID/fd points at, as a set of paths (and "socket:[..]"
    and the like); gone descriptors are left out."""
    d = "/proc/%d/fd" % pid
    out = set()
    for fd in os.listdir(d):
        try:
            out.add(os.readlink(os.path.join(d, fd)))
        except OSError:
            pass
    return out


def proc_status(pid):
    """/proc/PID/status as a dict of str; {} if the process is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            text = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return {}
    out = {}
    for line in text.splitlines():
        k, _, v = line.partition(":")
        out[k] = v.strip()
    return out



def status_kb(pid, field):
    """A /proc/PID/status field in kB (VmRSS, VmHWM), or None."""
    v = proc_status(pid).get(field)
    return int(v.split()[0]) if v else None


def reset_peak(pid):
    """Reset the kernel's VmHWM of pid (clear_refs 5); True if it could."""
    try:
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class RssWatch:
    """While active, samples VmRSS of pid every 20 ms in a thread.
    .before is VmRSS when it starts; .peak the largest sample, or the
    kernel's VmHWM if larger, when that could be reset first (it sees
    every moment, the samples only some of them)."""

    def __init__(self, pid, baseline=None, interval=0.02):
        self.pid = pid
        self.baseline = baseline
        self.interval = interval
        self.samples = []
        self._stop = threading.Event()

    def _run(self):
        while not self._stop.is_set():
            v = status_kb(self.pid, "VmRSS")
            if v is not None:
                self.samples.append(v)
            self._stop.wait(self.interval)

    def __enter__(self):
        self.before = status_kb(self.pid, "VmRSS")
        self.hwm_reset = reset_peak(self.pid)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.after = status_kb(self.pid, "VmRSS")
        hwm = status_kb(self.pid, "VmHWM") if self.hwm_reset else None
        self.peak = max(self.samples + [hwm or 0, self.before or 0])
        return False

    def growth(self):
        """The peak over the RSS before, or over the baseline (what the
        worker had before any transfer) when that is lower: memory an
        earlier request left behind counts too."""
        base = self.before
        if self.baseline is not None:
            base = min(base, self.baseline)
        return self.peak - base

    def __str__(self):
        return ("worker %d VmRSS at start %s kB, before %d kB, peak %d kB "
                "(%d samples%s), after %d kB" % (
                    self.pid, self.baseline, self.before, self.peak,
                    len(self.samples),
                    ", VmHWM reset" if self.hwm_reset else "",
                    self.after or -1))


def proc_uids(pid):
    """(real, effective, saved, fs) uids."""
    st = proc_status(pid)
    return tuple(int(x) for x in st.get("Uid", "").split())


def proc_root(pid):
    return os.readlink("/proc/%d/root" % pid)


def pid_alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return False
    # "pid (comm) S ...": the state follows the last ')'.
    state = stat.rpartition(")")[2].split()[0]
    return state not in ("Z", "X")


def _pgid_members(pgid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        # after comm: state ppid pgrp
        if len(fields) > 2 and int(fields[2]) == pgid:
            out.append(int(d))
    return out


# -------------------------------------------------------------- daemon

# Daemon log lines that mean memory or sandbox trouble, whatever a test
# was looking at: collected when each daemon is cleaned up (its directory
# is then kept), and run_all.py fails when there is any.
TROUBLE = re.compile(r"ERROR: (Address|Leak|Undefined|Memory)Sanitizer|"
                     r"runtime error: |forbidden system call|"
                     r"killed by signal 31")
TROUBLE_SEEN = []
# A sanitizer build (GHP_SANITIZED=1): its memory figures mean little.
SANITIZED = os.environ.get("GHP_SANITIZED", "") not in ("", "0")

_live = []

# GitHub App keys by name, made once per process (RSA key generation is
# slow-ish): (private PEM, public PEM).
_app_keys = {}


def app_key(name):
    """The RSA key pair of the App known as name in this process."""
    if name not in _app_keys:
        from fake_github import rsa_keypair
        _app_keys[name] = rsa_keypair(2048)
    return _app_keys[name]


@atexit.register
def _cleanup_all():
    for g in list(_live):
        g.cleanup()


class GhpError(AssertionError):
    pass


class GhpDied(GhpError):
    """The master exited when it should not have."""


def api_headers(host="api.github.com", token=None, auth=None, headers=()):
    """A test client's request headers: Host (unless host is None), a
    User-Agent and GitHub's Accept, "Authorization: token TOKEN" when
    token is given (or auth as the whole value), then headers (pairs or
    a dict)."""
    items = [("Host", host)] if host else []
    items += [("User-Agent", "ghp-integration"),
              ("Accept", "application/vnd.github+json")]
    if auth is None and token is not None:
        auth = "token " + token
    if auth is not None:
        items.append(("Authorization", auth))
    items += list(headers.items()) if isinstance(headers, dict) else \
        list(headers)
    return items


class Ghp:
    """One ghp daemon in its own temporary directory.

    workers       the `workers` keyword
    ipv6          also listen on ::1 (when the host has IPv6)
    user          the `user` keyword
    run_as        a command prefix to start ghp with (setpriv ...), for
                  running it as an ordinary user
    extra         more config text, appended
    upstream      True: a FakeGitHub in this process (self.fake) that
                  `upstream api` points at; "process": the same as a
                  subprocess (self.fake is then a FakeGitHubClient)
    sites         True: `upstream web`, `codeload`, `raw` and `copilot`
                  point at the fake as well, under its site prefixes
                  (self.fake.site_url(name)); without a fake they point
                  at NO_UPSTREAM.  False: all but `upstream api` point
                  at NO_UPSTREAM
    upstream_ca   a CA bundle file: `upstream ca "FILE"` (None: no line)
    upstream_urls {name: URL}: the URL of `upstream NAME` instead of what
                  upstream and sites would give it (a scripted server for
                  one site, say: {"raw": "http://127.0.0.1:PORT"})
    fake_kw       FakeGitHub keyword arguments (in-process only)
    block_tokens  prefixes for `block tokens { ... }` (None: no such line)
    logs          True: `log audit` and `log access` in the temporary
                  directory (self.audit_path, self.access_path)
    metrics       True: `metrics listen on 127.0.0.1 port N` on a free
                  port (self.metrics_port; metrics() fetches /metrics)
    proxy         True: a forward-proxy listener as well, `listen on
                  127.0.0.1 port N proxy` on a free port (self.proxy_port;
                  proxy_url(token) is the HTTPS_PROXY value for it)
    apps          GitHub Apps: [{"name": "agents", "id": 123,
                  "installations": [(987, "acme"), (988, None)]}]; each
                  gets a private key file (mode 0600, "key_path"; the key
                  is app_key(name), or app_key(spec["key"])), an `app`
                  block in ghp.conf (owner None: no "for") and, with an
                  upstream, is registered in the FakeGitHub with its
                  public key and installations (owner None: "acme").
                  Optional: "fake": more add_app() keywords (slug,
                  permissions, token_lifetime, installations...);
                  "wrong_key": True registers another key there;
                  "register": False not at all.  self.apps: the specs.
    """

    def __init__(self, workers=2, ipv6=False, user="nobody", run_as=None,
                 extra="", shutdown_timeout=3, verbose=1, upstream=None,
                 fake_kw=None, block_tokens=None, logs=False,
                 metrics=False, apps=None, record_identity=False,
                 sites=False, upstream_ca=None, proxy=False,
                 upstream_urls=None):
        self.dir = os.path.realpath(tempfile.mkdtemp(prefix="ghp-it-"))
        os.chmod(self.dir, 0o755)     # so that nobody can traverse it
        self.conf = os.path.join(self.dir, "ghp.conf")
        self.state_dir = os.path.join(self.dir, "state")
        self.sock = os.path.join(self.dir, "ghp.sock")
        self.chroot = os.path.join(self.dir, "empty")
        self.log_path = os.path.join(self.dir, "ghp.log")
        self.user = user
        self.run_as = list(run_as or [])
        self.verbose = verbose
        self.shutdown_timeout = shutdown_timeout
        self.extra = extra
        self.port = free_port("127.0.0.1")
        self.port6 = None
        if ipv6 and have_ipv6():
            self.port6 = free_port("::1")
        self.workers = workers
        self.proc = None
        self.pgid = None
        self.pids = set()           # every pid ever seen in a status
        self._logf = None
        self.block_tokens = block_tokens
        self.audit_path = self.access_path = None
        if logs:
            self.audit_path = os.path.join(self.dir, "audit.log")
            self.access_path = os.path.join(self.dir, "access.log")
        self.metrics_port = free_port("127.0.0.1") if metrics else None
        self.proxy_port = free_port("127.0.0.1") if proxy else None
        self.sites = sites
        self.upstream_ca = upstream_ca
        self.upstream_urls = dict(upstream_urls or {})
        self.fake = None
        _live.append(self)
        # ghp's own look-up of the login behind a stored credential
        # (GET /user, keyholder/identity.c) is not among what tests
        # count as forwarded, unless they ask for it.
        fake_kw = dict(fake_kw or {})
        if not record_identity:
            fake_kw.setdefault("unrecorded_agents", ["ghp-identity"])
        if upstream == "process":
            from fake_github import spawn
            _, self.fake = spawn(["--config", self._fake_config(fake_kw)]
                                 if fake_kw else [])
        elif upstream:
            from fake_github import FakeGitHub
            self.fake = FakeGitHub(**fake_kw)
            self.fake.start()
        self.apps = [self._setup_app(a) for a in apps or []]
        self.write_config()

    def _setup_app(self, spec):
        """Key file and FakeGitHub registration of one App (see apps)."""
        a = dict(spec)
        a["installations"] = [tuple(i) if isinstance(i, (list, tuple))
                              else (i, None)
                              for i in a.get("installations", [])]
        priv, pub = app_key(a.get("key", a["name"]))
        a["key_path"] = os.path.join(self.dir, "app-%s.pem" % "".join(
            c if c.isalnum() or c in "-_." else "_" for c in a["name"]))
        fd = os.open(a["key_path"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                     0o600)
        with os.fdopen(fd, "w") as f:
            f.write(priv)
        os.chmod(a["key_path"], 0o600)
        if self.fake is not None and a.get("register", True):
            if a.get("wrong_key"):
                pub = app_key(a["name"] + " (wrong)")[1]
            kw = {"slug": a["name"], "installations": {
                i: o or "acme" for i, o in a["installations"]}}
            kw.update(a.get("fake") or {})
            self.fake.add_app(a["id"], pub, **kw)
        return a

    def _fake_config(self, kw):
        path = os.path.join(self.dir, "fake.json")
        with open(path, "w") as f:
            json.dump(kw, f)
        return path

    # ---- config

    def config_text(self, workers=None, extra=None):
        w = self.workers if workers is None else workers
        lines = [
            "# written by tests/integration/harness.py",
            'user "%s"' % self.user,
            'chroot "%s"' % self.chroot,
            "workers %d" % w,
            'state directory "%s"' % self.state_dir,
            'control socket "%s"' % self.sock,
            "shutdown timeout %d" % self.shutdown_timeout,
            "listen on 127.0.0.1 port %d" % self.port,
        ]
        if self.port6:
            lines.append("listen on ::1 port %d" % self.port6)
        if self.proxy_port:
            lines.append("listen on 127.0.0.1 port %d proxy" %
                         self.proxy_port)
        # Every upstream is named, so that no worker start waits on DNS
        # for GitHub's names: the fake's, or a local port nobody serves.
        for name in ("api", "web", "codeload", "raw", "copilot"):
            if name in self.upstream_urls:
                url = self.upstream_urls[name]
            elif self.fake and (name == "api" or self.sites):
                url = self.fake.site_url(name)
            else:
                url = NO_UPSTREAM
            lines.append('upstream %s "%s"' % (name, url))
        if self.upstream_ca:
            lines.append('upstream ca "%s"' % self.upstream_ca)
        if self.block_tokens:
            lines.append("block tokens { %s }" % " ".join(
                '"%s"' % b for b in self.block_tokens))
        if self.audit_path:
            lines.append('log audit "%s"' % self.audit_path)
            lines.append('log access "%s"' % self.access_path)
        if self.metrics_port:
            lines.append("metrics listen on 127.0.0.1 port %d" %
                         self.metrics_port)
        for a in getattr(self, "apps", None) or []:
            lines.append('app "%s" {' % a["name"])
            lines.append("\tid %d" % a["id"])
            lines.append('\tprivate key "%s"' % a["key_path"])
            for iid, owner in a["installations"]:
                lines.append("\tinstallation %d%s" % (
                    iid, ' for "%s"' % owner if owner else ""))
            lines.append("}")
        text = "\n".join(lines) + "\n"
        ex = self.extra if extra is None else extra
        if ex:
            text += ex if ex.endswith("\n") else ex + "\n"
        return text

    def write_config(self, text=None, workers=None):
        """Rewrite the config; workers= changes the expected count too."""
        if workers is not None:
            self.workers = workers
        if text is None:
            text = self.config_text()
        with open(self.conf, "w") as f:
            f.write(text)
        os.chmod(self.conf, 0o644)

    def append_config(self, line):
        """Append a line; returns its line number."""
        with open(self.conf) as f:
            n = len(f.read().splitlines())
        with open(self.conf, "a") as f:
            f.write(line.rstrip("\n") + "\n")
        return n + 1

    def config_lines(self):
        with open(self.conf) as f:
            return len(f.read().splitlines())

    def chown_dir(self, uid, gid):
        """Hand the whole temporary directory to uid:gid."""
        for root, dirs, files in os.walk(self.dir):
            os.chown(root, uid, gid)
            for n in files:
                os.chown(os.path.join(root, n), uid, gid)

    # ---- running

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self, wait=True, timeout=START_TIMEOUT):
        if self.proc is not None and self.proc.poll() is None:
            raise GhpError("ghp already running")
        self._logf = open(self.log_path, "ab")
        args = self.run_as + [GHP_BIN, "-d"]
        if self.verbose:
            args.append("-" + "v" * self.verbose)
        args += ["-f", self.conf]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=self._logf, stderr=self._logf,
                                     start_new_session=True, cwd=self.dir)
        self.pgid = self.proc.pid
        self.pids.add(self.proc.pid)
        if wait:
            self.wait_ready(timeout=timeout)
        return self

    def ctl(self, *args, timeout=15, as_prefix=None, input=None):
        """Run ghpctl -s <sock> ARGS (input: text on its stdin); returns
        (rc, stdout, stderr)."""
        cmd = list(as_prefix or []) + [GHPCTL_BIN]
        if not (args and args[0] in ("-s", "-f")):
            cmd += ["-s", self.sock]
        cmd += list(args)
        kw = {"input": input} if input is not None else \
            {"stdin": subprocess.DEVNULL}
        r = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=timeout, **kw)
        return r.returncode, r.stdout, r.stderr

    def add_credential(self, owner, credential):
        rc, out, err = self.ctl("credential", "add", "--owner", owner,
                                input=credential + "\n")
        if rc != 0:
            raise GhpError("credential add --owner %s: exit %d: %s" %
                           (owner, rc, err.strip()))

    def new_token(self, owner="alice", repos="acme/widgets",
                  perms="contents:read", *more):
        """ghpctl token create ...; returns (token, id)."""
        rc, out, err = self.ctl("token", "create", "--owner", owner,
                                "--repo", repos, "--perm", perms, *more)
        if rc != 0:
            raise GhpError("token create: exit %d: %s" % (rc, err.strip()))
        tok = out.strip()
        tid = None
        for word in err.replace("(", " ").split():
            if word.isdigit():
                tid = int(word)
                break
        return tok, tid

    def api(self, method, path, token=None, headers=(), body=None,
            host="api.github.com", auth=None, timeout=10.0, sink=None):
        """One API request through this daemon (Host: host, unless
        host is None), with "Authorization: token TOKEN" when token is
        given (or auth as the whole Authorization value)."""
        items = api_headers(host, token, auth, headers)
        return request("127.0.0.1", self.port, method, path, items, body,
                       timeout, sink)

    def conn(self, timeout=10.0):
        """A keep-alive connection to this daemon."""
        return HttpConn("127.0.0.1", self.port, timeout)

    def status(self):
        rc, out, err = self.ctl("status", "--json")
        if rc != 0:
            raise GhpError("ghpctl status --json: exit %d: %s" %
                           (rc, err.strip()))
        try:
            st = json.loads(out)
        except ValueError as e:
            raise GhpError("ghpctl status --json: not JSON (%s): %r" %
                           (e, out[:500]))
        for p in st.get("processes", []):
            if isinstance(p.get("pid"), int) and p["pid"] > 0:
                self.pids.add(p["pid"])
        return st

    def reload(self):
        return self.ctl("reload")

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    # ---- what status says

    @staticmethod
    def procs(st, role, state=None, generation=None):
        return [p for p in st["processes"] if p.get("role") == role and
                (state is None or p.get("state") == state) and
                (generation is None or p.get("generation") == generation)]

    def worker_pids(self, st=None, generation=None):
        st = st or self.status()
        return [p["pid"] for p in self.procs(st, "worker", "running",
                                             generation)]

    def keyholder_pid(self, st=None):
        st = st or self.status()
        kh = self.procs(st, "keyholder", "running")
        return kh[0]["pid"] if kh else None

    def is_ready(self, st, workers=None, generation=None):
        """Keyholder running, exactly N workers of the generation running
        and no other worker left."""
        n = self.workers if workers is None else workers
        gen = st["generation"] if generation is None else generation
        if st["generation"] != gen:
            return False
        if len(self.procs(st, "keyholder", "running")) != 1:
            return False
        ws = self.procs(st, "worker")
        return (len(ws) == n and
                all(w["state"] == "running" and w["generation"] == gen
                    for w in ws))

    def wait_ready(self, timeout=START_TIMEOUT, workers=None,
                   generation=None):
        def ready():
            if not self.running():
                raise GhpDied("ghp exited with status %s while starting"
                              % self.proc.returncode)
            if not os.path.exists(self.sock):
                return False
            st = self.status()
            return st if self.is_ready(st, workers, generation) else False
        return self.wait_for(ready, timeout,
                             "keyholder and %s workers running" %
                             (self.workers if workers is None else workers))

    def wait_for(self, pred, timeout=5.0, what="condition", interval=0.05):
        """Poll pred() until it returns something true; returns that.
        An exception from pred counts as "not yet" (the last one is
        reported), except GhpError raised because ghp died."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                v = pred()
                if v:
                    return v
            except GhpDied as e:
                raise GhpDied("%s\n--- ghp log (tail) ---\n%s" %
                              (e, self.log_tail()))
            except GhpError as e:
                last = e
            except (OSError, ValueError, subprocess.SubprocessError) as e:
                last = e
            if time.monotonic() >= deadline:
                raise GhpError("timed out after %.1fs waiting for %s%s\n"
                               "--- ghp log (tail) ---\n%s" %
                               (timeout, what,
                                " (last error: %s)" % last if last else "",
                                self.log_tail()))
            time.sleep(interval)

    # ---- the log

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_size(self):
        try:
            return os.path.getsize(self.log_path)
        except FileNotFoundError:
            return 0

    def log_since(self, offset):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, n=40):
        return "\n".join(self.log().splitlines()[-n:])

    # ---- HTTP to this daemon

    def get(self, path="/", host="127.0.0.1", port=None, **kw):
        if port is None:
            port = self.port6 if ":" in host else self.port
        return http_get(host, port, path, **kw)

    def proxy_url(self, token=None, user="agent"):
        """The forward-proxy listener's URL (proxy=True), as HTTPS_PROXY
        names it: http://USER:TOKEN@127.0.0.1:PORT with a token."""
        if not self.proxy_port:
            raise GhpError("no proxy listener (Ghp(proxy=True))")
        cred = "%s:%s@" % (user, token) if token is not None else ""
        return "http://%s127.0.0.1:%d" % (cred, self.proxy_port)

    def metrics(self, path="/metrics", method="GET", timeout=10.0):
        """One request to the metrics listener (metrics=True)."""
        if not self.metrics_port:
            raise GhpError("no metrics listener (Ghp(metrics=True))")
        return http_get("127.0.0.1", self.metrics_port, path,
                        headers={"Host": "127.0.0.1:%d" % self.metrics_port,
                                 "Accept": "text/plain"},
                        method=method, timeout=timeout)

    # ---- stopping

    def stop(self, sig=None, timeout=STOP_TIMEOUT):
        """Signal the master, wait for it; returns (exit status, seconds).
        Raises GhpError if it does not exit in time or exits non-zero."""
        if not self.running():
            raise GhpError("ghp is not running (status %s)" %
                           (self.proc and self.proc.returncode))
        if sig is None:
            sig = signal.SIGTERM
        t0 = time.monotonic()
        self.signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise GhpError("ghp did not exit within %.1fs of signal %d\n"
                           "--- ghp log (tail) ---\n%s" %
                           (timeout, sig, self.log_tail()))
        took = time.monotonic() - t0
        if self._logf:
            self._logf.close()
            self._logf = None
        if rc != 0:
            raise GhpError("ghp exited with status %d\n--- ghp log "
                           "(tail) ---\n%s" % (rc, self.log_tail()))
        return rc, took

    def leftover_pids(self):
        left = [p for p in sorted(self.pids) if pid_alive(p)]
        if self.pgid:
            left += [p for p in _pgid_members(self.pgid)
                     if p not in left and pid_alive(p)]
        return left

    def kill_all(self):
        """SIGKILL, one pid at a time, whatever this daemon left."""
        for pid in self.leftover_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        # The children may outlive the master by a moment.
        deadline = time.monotonic() + 3
        while self.leftover_pids() and time.monotonic() < deadline:
            for pid in self.leftover_pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.05)

    def cleanup(self):
        self.kill_all()
        if self.fake is not None:
            if hasattr(self.fake, "close"):
                self.fake.close()
            else:
                self.fake.stop()
            self.fake = None
        if self._logf:
            self._logf.close()
            self._logf = None
        if self in _live:
            _live.remove(self)
        trouble = [l for l in self.log().splitlines() if TROUBLE.search(l)]
        TROUBLE_SEEN.extend("%s: %s" % (self.log_path, l) for l in trouble)
        if os.environ.get("GHP_KEEP") or trouble:
            return
        shutil.rmtree(self.dir, ignore_errors=True)


def run_ghp(*args, timeout=15, env=None):
    """Run the ghp binary once (-n and friends); (rc, stdout, stderr)."""
    r = subprocess.run([GHP_BIN] + list(args), stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=timeout,
                       env=env)
    return r.returncode, r.stdout, r.stderr


def run_ghpctl(*args, timeout=15):
    r = subprocess.run([GHPCTL_BIN] + list(args), stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr
