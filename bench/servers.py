"""
bench/servers.py: the processes bench/run.py measures, and how it
starts, checks and stops them.

  the upstream   nginx answering GET /repos/acme/widgets with a fixed
                 repository JSON and GitHub's headers, an archive (a large
                 sparse file, GET on codeload's path) and a blob upload
                 (POST /repos/acme/widgets/git/blobs, the body passed on
                 as it comes to sink.py, which reads it whole), and GET
                 /user; 401 unless the request carries CREDENTIAL;
  the proxy      nginx in front of it, `proxy_set_header Authorization`;
  ghp            build/ghp with `workers N`, a stored credential and ghx_
                 tokens.

Each runs in a process group of its own, from one directory; stop()
kills what is left of a group pid by pid.  Ports are chosen free, and a
server that loses its port to another process is started again on
another.
"""

import collections
import hashlib
import http.client
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

PATH = "/repos/acme/widgets"
API_HOST = "api.github.com"
# The streaming benchmark's download (an archive, which codeload.github.com
# serves itself, however large) and upload (a git blob, through the API).
ARCHIVE_PATH = "/acme/widgets/tar.gz/refs/heads/main"
CODELOAD_HOST = "codeload.github.com"
BLOB_PATH = "/repos/acme/widgets/git/blobs"
# A stand-in for a real GitHub credential; it never leaves loopback.
CREDENTIAL = "ghp_BenchCredential0000000000000000000000"


class BenchError(Exception):
    pass


def nginx_bin():
    return shutil.which("nginx", path=os.environ.get("PATH", "") +
                        ":/usr/sbin:/usr/local/sbin")


# ------------------------------------------------------------ processes

_started = []       # Popen objects, each leading a process group of its own


def group_pids(pgid):
    """Live processes of a process group, from /proc."""
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    st = f.read().rpartition(")")[2].split()
            except OSError:
                continue
            if int(st[2]) == pgid and st[0] != "Z":
                pids.append(int(d))
    return pids


def start(args, log, cpus=None, cwd=None):
    """Start a process as the leader of a new session, output to log,
    pinned to cpus ("0,1") when given."""
    if cpus:
        args = ["taskset", "-c", cpus] + list(args)
    with open(log, "ab") as f:
        p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=f,
                             stderr=subprocess.STDOUT, cwd=cwd,
                             start_new_session=True)
    _started.append(p)
    return p


def stop(p, timeout=5.0):
    """SIGTERM the leader and wait; then SIGKILL, pid by pid, whatever is
    left of its process group.  Only pids of that group are signalled:
    the group exists as long as one of them does, so its id cannot have
    been reused."""
    if p.poll() is None:
        os.kill(p.pid, signal.SIGTERM)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        left = group_pids(p.pid)
        if not left and p.poll() is not None:
            break
        for pid in left or [p.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.05)
    if p in _started:
        _started.remove(p)


def stop_all():
    for p in list(reversed(_started)):
        stop(p, timeout=3)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what, log, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError("%s exited (status %s) while starting:\n%s"
                             % (what, proc.returncode, tail(log)))
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise BenchError("%s: nothing listening on port %d" % (what, port))


def get(port, headers, path=PATH):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request("GET", path, headers=headers)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def tail(path, n=20):
    try:
        with open(path, "rb") as f:
            return "\n".join(f.read().decode("utf-8", "replace")
                             .splitlines()[-n:])
    except OSError:
        return "(no %s)" % path


class Appended:
    """The lines appended to a file since the last mark()."""

    def __init__(self, path):
        self.path = path
        self.mark()

    def mark(self):
        try:
            self.offset = os.path.getsize(self.path)
        except OSError:
            self.offset = 0

    def lines(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return []
        return data.decode("utf-8", "replace").splitlines()


# ------------------------------------------------------------ the upstream

def repo_json():
    """A repository object shaped like GitHub's, about 1.3 KB."""
    owner = {"login": "acme", "id": 9919, "type": "Organization",
             "node_id": "MDEyOk9yZ2FuaXphdGlvbjk5MTk=",
             "avatar_url": "https://avatars.githubusercontent.com/u/9919?v=4",
             "html_url": "https://github.com/acme", "site_admin": False}
    return json.dumps({
        "id": 1296269, "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5",
        "name": "widgets", "full_name": "acme/widgets", "private": True,
        "owner": owner, "html_url": "https://github.com/acme/widgets",
        "description": "Widgets, gadgets and the tools to make them",
        "fork": False, "url": "https://api.github.com/repos/acme/widgets",
        "clone_url": "https://github.com/acme/widgets.git",
        "created_at": "2011-01-26T19:01:12Z",
        "updated_at": "2026-11-20T08:14:43Z",
        "pushed_at": "2026-11-22T17:02:51Z",
        "homepage": "https://widgets.acme.example", "size": 108,
        "stargazers_count": 80, "watchers_count": 80, "language": "C",
        "has_issues": True, "has_projects": True, "has_downloads": True,
        "has_wiki": True, "has_pages": False, "has_discussions": False,
        "forks_count": 9, "archived": False, "disabled": False,
        "open_issues_count": 12,
        "license": {"key": "isc", "name": "ISC License", "spdx_id": "ISC"},
        "allow_forking": True, "is_template": False,
        "topics": ["widgets", "gadgets", "manufacturing"],
        "visibility": "private", "forks": 9, "open_issues": 12,
        "watchers": 80, "default_branch": "main",
        "permissions": {"admin": False, "maintain": False, "push": False,
                        "triage": False, "pull": True},
        "network_count": 9, "subscribers_count": 42,
    }, separators=(",", ":"))


# What api.github.com sends with such an answer, give or take.
GITHUB_HEADERS = [
    ("Cache-Control", "private, max-age=60, s-maxage=60"),
    ("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP"),
    ("Last-Modified", "Fri, 20 Nov 2026 08:14:43 GMT"),
    ("X-OAuth-Scopes", "repo"),
    ("X-Accepted-OAuth-Scopes", "repo"),
    ("X-GitHub-Media-Type", "github.v3; format=json"),
    ("X-GitHub-Api-Version-Selected", "2022-11-28"),
    ("X-RateLimit-Limit", "5000"),
    ("X-RateLimit-Remaining", "4987"),
    ("X-RateLimit-Reset", "1795437000"),
    ("X-RateLimit-Used", "13"),
    ("X-RateLimit-Resource", "core"),
    ("Access-Control-Expose-Headers",
     "ETag, Link, Location, Retry-After, X-GitHub-OTP, X-RateLimit-Limit, "
     "X-RateLimit-Remaining, X-RateLimit-Used, X-RateLimit-Resource, "
     "X-RateLimit-Reset, X-OAuth-Scopes, X-Accepted-OAuth-Scopes, "
     "X-Poll-Interval, X-GitHub-Media-Type, X-GitHub-SSO, "
     "X-GitHub-Request-Id, Deprecation, Sunset"),
    ("Access-Control-Allow-Origin", "*"),
    ("Strict-Transport-Security",
     "max-age=31536000; includeSubdomains; preload"),
    ("X-Frame-Options", "deny"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-XSS-Protection", "0"),
    ("Referrer-Policy",
     "origin-when-cross-origin, strict-origin-when-cross-origin"),
    ("Content-Security-Policy", "default-src 'none'"),
    ("X-GitHub-Request-Id", "C0DE:2F1A:1B2C3D4:1C2D3E4:6741A2B3"),
]


def nq(s):
    """s as an nginx quoted string."""
    if any(c in s for c in "$\\\n"):
        raise ValueError("cannot quote %r for nginx" % s)
    return '"%s"' % s.replace('"', '\\"')


def nginx_conf(d, name, body):
    """A whole nginx config: one worker, in the foreground, everything
    under d, keep-alive without limits; body goes in the http block."""
    t = os.path.join(d, name + "-tmp")
    return """worker_processes 1;
daemon off;
pid {d}/{n}.pid;
error_log {d}/{n}-error.log warn;
events {{ worker_connections 4096; }}
http {{
    client_body_temp_path {t}/body;
    proxy_temp_path {t}/proxy;
    fastcgi_temp_path {t}/fastcgi;
    uwsgi_temp_path {t}/uwsgi;
    scgi_temp_path {t}/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    map $status $not200 {{ 200 0; 201 0; default 1; }}
{body}}}
""".format(d=d, n=name, t=t, body=body)


def upstream_conf(d, port, body, archive, sink_port):
    """The upstream: with the credential, 200 and the body, 200 and the
    file archive, or (an upload) 201 from the sink once it has read the
    whole body, and GET /user (which ghp's keyholder asks, once per
    credential, for the login behind it); 401 without.  It logs only
    answers that are not 200 or 201 (upstream-not200.log)."""
    etag = 'W/"%s"' % hashlib.sha256(body.encode()).hexdigest()
    hdrs = "".join("            add_header %s %s;\n" % (k, nq(v))
                   for k, v in [("ETag", etag)] + GITHUB_HEADERS)
    return nginx_conf(d, "upstream", """
    log_format st '$status "$request" auth=$http_authorization';
    access_log {d}/upstream-not200.log st if=$not200;
    upstream sink {{
        server 127.0.0.1:{sink};
        keepalive 4;
    }}
    server {{
        listen 127.0.0.1:{port};
        location = {path} {{
            if ($http_authorization != {auth}) {{
                return 401 '{{"message":"Bad credentials"}}';
            }}
            default_type "application/json; charset=utf-8";
{hdrs}            return 200 {body};
        }}
        location = /user {{
            if ($http_authorization != {auth}) {{
                return 401 '{{"message":"Bad credentials"}}';
            }}
            default_type "application/json; charset=utf-8";
            return 200 '{{"login":"bench-user","id":4242,"type":"User"}}';
        }}
        location = {archive_path} {{
            if ($http_authorization != {auth}) {{
                return 401 '{{"message":"Bad credentials"}}';
            }}
            sendfile on;
            tcp_nopush on;
            types {{ }}
            default_type application/x-gzip;
            add_header Content-Disposition
                "attachment; filename=acme-widgets-main.tar.gz";
            alias {archive};
        }}
        location = {blob_path} {{
            if ($http_authorization != {auth}) {{
                return 401 '{{"message":"Bad credentials"}}';
            }}
            client_max_body_size 0;
            proxy_request_buffering off;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://sink;
        }}
        location = /nginx_status {{ stub_status; }}
        location / {{ return 404 '{{"message":"Not Found"}}'; }}
    }}
""".format(d=d, port=port, path=PATH, auth=nq("token " + CREDENTIAL),
           hdrs=hdrs, body=nq(body), archive_path=ARCHIVE_PATH,
           archive=archive, blob_path=BLOB_PATH, sink=sink_port))


def proxy_conf(d, port, up_port):
    """nginx as the operator's alternative to ghp: swaps in the
    credential whatever the client sent, keeps upstream connections
    open, logs every request (status first)."""
    return nginx_conf(d, "nginx", """
    log_format st '$status $upstream_status $remote_addr [$time_local] '
                  '"$request" $body_bytes_sent $request_time';
    access_log {d}/nginx-access.log st;
    upstream github {{
        server 127.0.0.1:{up};
        keepalive 64;
        keepalive_requests 1000000;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://github;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host {host};
            proxy_set_header Authorization {auth};
        }}
    }}
""".format(d=d, up=up_port, port=port, host=API_HOST,
           auth=nq("token " + CREDENTIAL)))


def start_nginx(d, name, make_conf, cpus):
    """Start nginx on a free port (a few tries, should another process
    take the port first); returns (Popen, port)."""
    os.makedirs(os.path.join(d, name + "-tmp"), exist_ok=True)
    conf = os.path.join(d, name + ".conf")
    log = os.path.join(d, name + "-error.log")
    for attempt in range(3):
        port = free_port()
        with open(conf, "w") as f:
            f.write(make_conf(port))
        p = start([nginx_bin(), "-p", d, "-e", log, "-c", conf],
                  os.path.join(d, name + ".out"), cpus)
        try:
            wait_port(port, p, "nginx (%s)" % name, log)
            return p, port
        except BenchError:
            stop(p)
            if attempt == 2 or "in use" not in tail(log, 5):
                raise


def start_sink(d, cpus):
    """sink.py on a free port; returns (Popen, port)."""
    sink = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "sink.py")
    log = os.path.join(d, "sink.log")
    for attempt in range(3):
        port = free_port()
        p = start([sys.executable, sink, str(port)], log, cpus)
        try:
            wait_port(port, p, "the upload sink", log)
            return p, port
        except BenchError:
            stop(p)
            if attempt == 2:
                raise


def upstream_accepts(port):
    """Connections the upstream has accepted so far (stub_status)."""
    try:
        st, body = get(port, {"Host": "localhost"}, "/nginx_status")
    except (OSError, http.client.HTTPException):
        return None
    m = re.search(rb"\n\s*(\d+)\s+\d+\s+\d+", body)
    return int(m.group(1)) if st == 200 and m else None


# ------------------------------------------------------------ ghp

class Ghp:
    """ghp in the foreground, as the integration tests start it
    (tests/integration/harness.py): as root its children drop to nobody;
    `workers N`, a stored credential, a metrics listener; every file
    under d, named after name ("ghp", "ghp2", ...)."""

    def __init__(self, d, up_port, cpus, ghp_bin, ghpctl_bin, name="ghp",
                 workers=1):
        self.d, self.cpus, self.name = d, cpus, name
        self.workers = workers
        self.ghp_bin, self.ghpctl_bin = ghp_bin, ghpctl_bin
        self.sock = os.path.join(d, name + ".sock")
        self.conf = os.path.join(d, name + ".conf")
        self.log = os.path.join(d, name + ".log")
        self.audit = os.path.join(d, name + "-audit.log")
        self.access = os.path.join(d, name + "-access.log")
        self.state = os.path.join(d, name + "-state")
        self.up = "http://127.0.0.1:%d" % up_port
        self.proc = None
        self.roles = {}

    def write_conf(self, port, metrics_port):
        user = ("nobody" if os.geteuid() == 0 else
                pwd.getpwuid(os.geteuid()).pw_name)
        lines = ['user "%s"' % user,
                 'chroot "%s"' % os.path.join(self.d, "empty"),
                 "workers %d" % self.workers,
                 'state directory "%s"' % self.state,
                 'control socket "%s"' % self.sock,
                 "shutdown timeout 2",
                 # The idle-connection test holds its connections for
                 # longer than the default minute, on a busy machine.
                 "idle timeout 600",
                 "listen on 127.0.0.1 port %d" % port,
                 "metrics listen on 127.0.0.1 port %d" % metrics_port]
        # Every upstream named, so that no worker waits on DNS at start.
        lines += ['upstream %s "%s"' % (n, self.up)
                  for n in ("api", "web", "codeload", "copilot")]
        lines += ['log audit "%s"' % self.audit,
                  'log access "%s"' % self.access]
        with open(self.conf, "w") as f:
            f.write("# written by bench/run.py\n" + "\n".join(lines) + "\n")
        os.chmod(self.conf, 0o644)

    def ctl(self, *args, stdin=None):
        r = subprocess.run([self.ghpctl_bin, "-s", self.sock] + list(args),
                           input=stdin, capture_output=True, text=True,
                           timeout=30)
        if r.returncode != 0:
            raise BenchError("ghpctl %s: exit %d: %s" % (
                args[0], r.returncode, (r.stderr or r.stdout).strip()))
        return r.stdout

    def status(self):
        return json.loads(self.ctl("status", "--json"))

    def running_roles(self):
        """{role: [pids]} of what is running, from ghpctl status."""
        roles = collections.defaultdict(list)
        for p in self.status().get("processes", []):
            if p.get("state") == "running":
                roles[p["role"]].append(p["pid"])
        return dict(roles)

    def workers_status(self):
        """{pid: {requests, connections, ...}} of the running workers."""
        return {p["pid"]: p for p in self.status().get("processes", [])
                if p.get("role") == "worker" and p.get("state") == "running"}

    def worker_pids(self):
        """The workers: the master's children that ghpctl status calls
        workers (the master is the process we started: taskset execs)."""
        pids = []
        for pid in self.running_roles().get("worker", []):
            try:
                with open("/proc/%d/stat" % pid) as f:
                    ppid = int(f.read().rpartition(")")[2].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == self.proc.pid:
                pids.append(pid)
        return pids

    def start(self):
        for attempt in range(3):
            self.port, self.metrics_port = free_port(), free_port()
            self.write_conf(self.port, self.metrics_port)
            self.proc = start([self.ghp_bin, "-d", "-f", self.conf], self.log,
                              self.cpus, cwd=self.d)
            try:
                self.wait_ready()
                return
            except BenchError:
                stop(self.proc)
                if attempt == 2 or "in use" not in tail(self.log, 5):
                    raise

    def wait_ready(self, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError("ghp exited (status %s) while starting:\n%s"
                                 % (self.proc.returncode, tail(self.log)))
            if os.path.exists(self.sock):
                try:
                    roles = self.running_roles()
                except (BenchError, ValueError):
                    roles = {}
                if len(roles.get("worker", [])) == self.workers and \
                        roles.get("keyholder"):
                    self.roles = roles
                    return
            time.sleep(0.05)
        raise BenchError("ghp not ready after %.0fs:\n%s" %
                         (timeout, tail(self.log)))

    def add_credential(self):
        self.ctl("credential", "add", "--owner", "bench",
                 stdin=CREDENTIAL + "\n")

    def token_args(self, perm="contents:read", note="bench"):
        return [self.ghpctl_bin, "-s", self.sock, "token", "create",
                "--owner", "bench", "--repo", "acme/widgets", "--perm",
                perm, "--note", note]

    def create_token(self, perm="contents:read", note="bench"):
        r = subprocess.run(self.token_args(perm, note), capture_output=True,
                           text=True, timeout=30)
        tok = r.stdout.strip()
        if r.returncode != 0 or not tok.startswith("ghx_"):
            raise BenchError("ghpctl token create: exit %d: %s" % (
                r.returncode, (r.stderr or r.stdout).strip()[:200]))
        return tok

    def metrics(self):
        """{series with labels: value} from the metrics listener."""
        st, body = get(self.metrics_port, {"Host": "localhost"}, "/metrics")
        if st != 200:
            raise BenchError("ghp's metrics listener answered %d" % st)
        out = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                k, _, v = line.rpartition(" ")
                try:
                    out[k] = float(v)
                except ValueError:
                    pass
        return out
