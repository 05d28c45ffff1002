#!/usr/bin/env python3
"""
bench/run.py: ghp's benchmark, in one command (`make bench`).

One upstream, nginx answering GET /repos/acme/widgets with a fixed
repository JSON and GitHub's headers (and 401 unless the request carries
the stored credential, so that a 200 proves the credential was swapped
in).  wrk drives, one after the other:

  direct       the upstream itself, the client sending the credential;
  nginx proxy  nginx in front of it with `proxy_set_header Authorization`
               (what an operator might run instead of ghp);
  ghp          build/ghp with `workers 1`, the client sending a ghx_
               token with contents:read on acme/widgets;

each proxy with one worker process, each for a warm-up run and then a
measured run, with the same wrk settings.  It prints requests/s, latency
percentiles and the CPU each process spent per request, then the ratios
ghp/direct, ghp/nginx and nginx/direct.  There are no thresholds: the
ratios are against reference runs made in the same command.

With 2 CPUs or more, wrk runs on the last CPU and every server process
on the others, so that a proxy's CPU cost shows in its throughput.

The run fails (exit 1, loudly) on any non-2xx answer or socket error:
wrk's counts, and the status of every answer in the proxies' access logs
and of every upstream answer that is not a 200.  Every process it starts
is killed, by pid, on the way out.  Everything it writes goes to one
temporary directory, removed at the end unless the run failed or
BENCH_KEEP is set.  Ports are chosen free at start.

Environment:
  BENCH_DURATION  seconds per measured run (10)
  BENCH_WARMUP    seconds of warm-up before each (2)
  BENCH_CONNS     wrk connections (32)
  BENCH_THREADS   wrk threads (1)
  BENCH_PIN       0: no CPU pinning (default: pin with 2 CPUs or more)
  BENCH_KEEP      1: keep the temporary directory and print where it is
  BENCH_JSON      a file to write the results to, as JSON
  GHP_BIN, GHPCTL_BIN   other binaries (default build/ghp, build/ghpctl)
  GHP_NO_DEPS     1: do not apt-get wrk and nginx when they are missing

Python 3 standard library, wrk and nginx.
"""

import collections
import datetime
import json
import os
import platform
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from servers import (API_HOST, CREDENTIAL, PATH, Appended, BenchError, Ghp,
                     get, group_pids, nginx_bin, proxy_conf, repo_json,
                     start_nginx, stop, stop_all, upstream_accepts,
                     upstream_conf)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
GHP_BIN = os.path.abspath(os.environ.get("GHP_BIN") or
                          os.path.join(REPO, "build", "ghp"))
GHPCTL_BIN = os.path.abspath(os.environ.get("GHPCTL_BIN") or
                             os.path.join(REPO, "build", "ghpctl"))

DURATION = int(os.environ.get("BENCH_DURATION", "10"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "2"))
CONNS = int(os.environ.get("BENCH_CONNS", "32"))
THREADS = int(os.environ.get("BENCH_THREADS", "1"))
KEEP = os.environ.get("BENCH_KEEP", "") not in ("", "0")

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _on_signal(sig, frame):
    raise SystemExit(128 + sig)


def say(msg=""):
    print(msg, flush=True)


def loud(msg):
    bar = "!" * 72
    say("%s\n!!! %s\n%s" % (bar, msg.replace("\n", "\n!!! "), bar))


# ------------------------------------------------------------ tools

def ensure_tools():
    """wrk and nginx: apt-get them when missing, as scripts/deps.sh does
    for the build (GHP_NO_DEPS=1: do not)."""
    missing = [t for t, found in (("wrk", shutil.which("wrk")),
                                  ("nginx", nginx_bin())) if not found]
    if not missing:
        return
    if os.environ.get("GHP_NO_DEPS") == "1" or not shutil.which("apt-get"):
        raise BenchError("missing: %s; install it (Debian: apt-get install "
                         "%s)" % (" ".join(missing), " ".join(missing)))
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    say("bench: installing %s with apt-get" % " ".join(missing))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(sudo + ["apt-get", "update", "-qq"], env=env, check=True)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-qq",
                           "--no-install-recommends"] + missing,
                   env=env, check=True)


# ------------------------------------------------------------ CPU

def cpu_ticks(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read().rpartition(")")[2].split()
        return int(st[11]) + int(st[12])        # utime + stime
    except (OSError, IndexError, ValueError):
        return None


def cpu_sample(groups):
    """{name: {pid: ticks}} for groups {name: [pids]}."""
    return {name: {pid: t for pid in pids
                   for t in [cpu_ticks(pid)] if t is not None}
            for name, pids in groups.items()}


def machine_busy():
    """user + nice + system ticks of all CPUs (not softirq: on this
    kernel the network work of our own loopback traffic lands there and
    in no process)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[0] + v[1] + v[2]


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break

    def first_line(cmd):
        try:
            r = subprocess.run(cmd, capture_output=True, text=True,
                               timeout=10)
            return ((r.stdout + r.stderr).strip().splitlines() or ["?"])[0]
        except (OSError, subprocess.SubprocessError):
            return "?"
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(), "cpu": model, "kernel": platform.release(),
        "loadavg": " ".join(open("/proc/loadavg").read().split()[:3]),
        "ghp": first_line(["git", "-C", REPO, "describe", "--always",
                           "--dirty"]),
        "nginx": first_line([nginx_bin(), "-v"]),
        "wrk": first_line(["wrk", "--version"]).split(" [")[0],
    }


# ------------------------------------------------------------ wrk

def to_ms(s):
    m = re.match(r"([0-9.]+)(us|ms|s|m)$", s)
    if not m:
        raise BenchError("wrk: cannot read the latency %r" % s)
    return float(m.group(1)) * {"us": 1e-3, "ms": 1, "s": 1e3,
                                "m": 60e3}[m.group(2)]


def parse_wrk(text):
    def num(pattern, default=0):
        m = re.search(pattern, text)
        return float(m.group(1)) if m else default
    r = {"rps": num(r"Requests/sec:\s+([0-9.]+)"),
         "requests": int(num(r"(\d+) requests in")),
         # wrk counts answers >= 400 here (1xx and 3xx are caught in the
         # servers' logs).
         "non2xx": int(num(r"Non-2xx or 3xx responses:\s+(\d+)")),
         "errors": {}, "lat": {}}
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                  r"timeout (\d+)", text)
    if m:
        r["errors"] = {k: int(v) for k, v in zip(
            ("connect", "read", "write", "timeout"), m.groups()) if int(v)}
    for pct, val in re.findall(r"^\s+(\d+)%\s+([0-9.]+\w+)\s*$", text, re.M):
        r["lat"][int(pct)] = to_ms(val)
    return r


def wrk(port, headers, seconds, cpus, log, label):
    args = ["wrk", "-t%d" % THREADS, "-c%d" % CONNS, "-d%ds" % seconds,
            "--latency"]
    for k, v in headers.items():
        args += ["-H", "%s: %s" % (k, v)]
    args.append("http://127.0.0.1:%d%s" % (port, PATH))
    if cpus:
        args = ["taskset", "-c", cpus] + args
    p = subprocess.run(args, capture_output=True, text=True,
                       timeout=seconds + 30)
    with open(log, "a") as f:
        f.write("=== %s\n%s%s\n" % (label, p.stdout, p.stderr))
    if p.returncode != 0 or "Requests/sec" not in p.stdout:
        raise BenchError("wrk failed on %s (exit %d): %s" % (
            label, p.returncode, (p.stderr or p.stdout)[-500:]))
    return parse_wrk(p.stdout)


def wrk_failures(r):
    bad = []
    if r["non2xx"]:
        bad.append("%d answers >= 400" % r["non2xx"])
    if r["errors"]:
        bad.append("socket errors: " + ", ".join(
            "%s %d" % kv for kv in r["errors"].items()))
    if not r["requests"]:
        bad.append("no request completed")
    return bad


# ------------------------------------------------------------ the run

class Bench:
    def __init__(self):
        for b in (GHP_BIN, GHPCTL_BIN):
            if not os.access(b, os.X_OK):
                raise BenchError("%s is missing: run `make all` first" % b)
        self.d = os.path.realpath(tempfile.mkdtemp(prefix="ghp-bench-"))
        os.chmod(self.d, 0o755)         # ghp's workers (nobody) traverse it
        os.makedirs(os.path.join(self.d, "empty"))
        os.makedirs(os.path.join(self.d, "bin"))
        self.wrk_log = os.path.join(self.d, "wrk.log")
        self.results = collections.OrderedDict()
        self.failed = []
        self.failed_targets = set()
        self.notes = []
        cpus = sorted(os.sched_getaffinity(0))
        self.pin = len(cpus) >= 2 and os.environ.get("BENCH_PIN") != "0"
        self.wrk_cpus = str(cpus[-1]) if self.pin else None
        self.srv_cpus = ",".join(map(str, cpus[:-1])) if self.pin else None

    def fail(self, label, msg):
        msg = "%s: %s" % (label, msg)
        loud("FAILED: " + msg)
        self.failed.append(msg)
        self.failed_targets.add(label)

    def check_200(self, label, port, headers, body):
        st, got = get(port, headers)
        if st != 200 or got != body.encode():
            raise BenchError("%s: a single GET answered %d (%d bytes), not "
                             "200 and the repository JSON: %r" %
                             (label, st, len(got), got[:200]))

    def measure(self, label, port, headers, groups):
        """A warm-up run and a measured run of wrk; the CPU each process
        group used during the measured one."""
        say("bench: %-12s %ds warm-up, %ds measured ..." %
            (label, WARMUP, DURATION))
        completed = runs = 0
        if WARMUP > 0:
            w = wrk(port, headers, WARMUP, self.wrk_cpus, self.wrk_log,
                    label + " (warm-up)")
            completed, runs = w["requests"], 1
            for bad in wrk_failures(w):
                self.fail(label, "warm-up: " + bad)
        pids = {name: f() for name, f in groups.items()}
        before = cpu_sample(pids)
        busy0 = machine_busy()
        kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        acc0 = upstream_accepts(self.up_port)
        t0 = time.monotonic()
        r = wrk(port, headers, DURATION, self.wrk_cpus, self.wrk_log, label)
        elapsed = time.monotonic() - t0
        acc1 = upstream_accepts(self.up_port)
        kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy1 = machine_busy()
        after = cpu_sample(pids)
        for bad in wrk_failures(r):
            self.fail(label, bad)
        r["cpu"] = {name: sum(t - before[name].get(pid, 0)
                              for pid, t in after[name].items()) / CLK_TCK
                    for name in pids}
        r["cpu"]["wrk"] = (kids1.ru_utime + kids1.ru_stime -
                           kids0.ru_utime - kids0.ru_stime)
        # CPUs kept busy by anything else on the machine meanwhile.
        r["other_cpus"] = max(0.0, ((busy1 - busy0) / CLK_TCK -
                                    sum(r["cpu"].values())) / elapsed)
        # New upstream connections (less the status request itself).
        r["upstream_conns"] = (acc1 - acc0 - 1 if None not in (acc0, acc1)
                               else None)
        r["completed"] = completed + r["requests"]
        r["runs"] = runs + 1
        self.results[label] = r
        return r

    def check_count(self, label, what, n, r):
        """n records for the requests of r: wrk counts what finished
        before it stopped, and a server may still answer one more request
        per connection, cut off when wrk stopped."""
        if not r["completed"] <= n <= r["completed"] + CONNS * r["runs"]:
            self.fail(label, "%d %s for %d requests completed" % (
                n, what, r["completed"]))

    def check_statuses(self, label, statuses, r):
        """statuses: a Counter of the statuses of a server's answers.
        499 is nginx's for a client that closed its connection first:
        wrk does, with a request in flight on each, when it stops."""
        other = {s: c for s, c in statuses.items() if s != 200}
        if other.get(499, 0) <= CONNS * r["runs"]:
            r["cut_off"] = other.pop(499, 0)
        if other:
            self.fail(label, "answers that were not 200, by status: %s" %
                      ", ".join("%s: %d" % kv for kv in
                                sorted(other.items(), key=str)))

    def run(self):
        m = self.machine = machine()
        say("ghp benchmark, %s" % m["date"])
        say("machine: %d CPUs (%s), kernel %s, load average %s" %
            (m["cpus"], m["cpu"], m["kernel"], m["loadavg"]))
        say("ghp %s; %s; %s" % (m["ghp"], m["nginx"], m["wrk"]))
        say("wrk -t%d -c%d; %ds warm-up and %ds measured per target; %s" % (
            THREADS, CONNS, WARMUP, DURATION,
            "wrk on CPU %s, servers on CPU %s" % (self.wrk_cpus,
                                                 self.srv_cpus)
            if self.pin else "no CPU pinning"))
        say("temporary directory: %s" % self.d)
        say()
        # Copies, so that a rebuild during the run changes nothing.
        bins = [shutil.copy2(b, os.path.join(self.d, "bin"))
                for b in (GHP_BIN, GHPCTL_BIN)]
        body = repo_json()
        d = self.d

        up, self.up_port = start_nginx(
            d, "upstream", lambda p: upstream_conf(d, p, body),
            self.srv_cpus)
        if get(self.up_port, {"Host": API_HOST})[0] != 401:
            raise BenchError("the upstream does not answer 401 without "
                             "the credential")
        px, px_port = start_nginx(
            d, "nginx", lambda p: proxy_conf(d, p, self.up_port),
            self.srv_cpus)
        ghp = Ghp(d, self.up_port, self.srv_cpus, *bins)
        ghp.start()
        token = ghp.setup_token()

        client = {"Host": API_HOST, "Authorization": "token " + token,
                  "User-Agent": "ghp-bench",
                  "Accept": "application/vnd.github+json"}
        direct = dict(client, Authorization="token " + CREDENTIAL)
        self.check_200("direct", self.up_port, direct, body)
        self.check_200("nginx proxy", px_port, client, body)
        self.check_200("ghp", ghp.port, client, body)
        say("upstream nginx on port %d (%d-byte body, 401 without the "
            "credential), nginx proxy on %d, ghp on %d (token %s...): each "
            "answered a GET with 200 and the body" % (
                self.up_port, len(body), px_port, ghp.port, token[:8]))
        say()

        up_group = {"upstream": lambda: group_pids(up.pid)}
        not200 = Appended(os.path.join(d, "upstream-not200.log"))

        self.measure("direct", self.up_port, direct, up_group)
        self.check_upstream("direct", not200)

        px_log = Appended(os.path.join(d, "nginx-access.log"))
        r = self.measure("nginx proxy", px_port, client, dict(
            up_group, **{"nginx proxy": lambda: group_pids(px.pid)}))
        self.check_upstream("nginx proxy", not200)
        time.sleep(0.2)
        statuses = [int(line.split()[0]) for line in px_log.lines()]
        self.check_statuses("nginx proxy", collections.Counter(statuses), r)
        self.check_count("nginx proxy", "access log lines", len(statuses), r)

        access, audit = Appended(ghp.access), Appended(ghp.audit)
        daemon_log = Appended(ghp.log)
        r = self.measure("ghp", ghp.port, client, dict(up_group, **{
            "ghp " + role: (lambda role=role: ghp.roles.get(role, []))
            for role in ("worker", "master", "keyholder")}))
        self.check_upstream("ghp", not200)
        if ghp.proc.poll() is not None:
            self.fail("ghp", "ghp exited (status %s)" % ghp.proc.returncode)
        elif ghp.running_roles() != ghp.roles:
            self.fail("ghp", "its processes changed (a respawn?): %s, then "
                      "%s" % (ghp.roles, ghp.running_roles()))
        time.sleep(0.5)         # the master writes the workers' records
        records = [json.loads(line) for line in access.lines()]
        self.check_statuses("ghp", collections.Counter(
            a.get("status") for a in records), r)
        self.check_count("ghp", "access records", len(records), r)
        records = [json.loads(line) for line in audit.lines()]
        denied = collections.Counter(
            "%s: %s" % (a.get("decision"), a.get("reason"))
            for a in records if a.get("decision") != "allow")
        if denied:
            self.fail("ghp", "audit records not allowed: %s" % dict(denied))
        self.check_count("ghp", "audit records", len(records), r)
        r["audit_records"] = len(records)
        if daemon_log.lines():
            self.notes.append("ghp logged during its runs:\n  " +
                              "\n  ".join(daemon_log.lines()[:20]))
        stop(ghp.proc)
        stop(px)
        stop(up)

    def check_upstream(self, label, not200):
        """Any upstream answer that was not a 200 since the last call."""
        bad = not200.lines()
        not200.mark()
        if bad:
            self.fail(label, "the upstream answered %d requests with "
                      "something other than 200, e.g.:\n  %s" % (
                          len(bad), "\n  ".join(bad[:5])))

    def report(self):
        R = self.results
        if not R:
            return
        say()
        say("%-12s %9s %8s %8s %8s %9s  %s" % (
            "target", "req/s", "p50 ms", "p90 ms", "p99 ms", "requests",
            "other CPUs"))
        for label, r in R.items():
            lat = r["lat"]
            say("%-12s %9.0f %8.3f %8.3f %8.3f %9d  %10.2f%s" % (
                label, r["rps"], lat.get(50, 0), lat.get(90, 0),
                lat.get(99, 0), r["requests"], r["other_cpus"],
                "  FAILED" if label in self.failed_targets else ""))
        say("(other CPUs: how many CPUs, of %d, other work on the machine "
            "kept busy during the measured run)" % os.cpu_count())
        say()

        names = []
        for r in R.values():
            names += [n for n in r["cpu"] if n not in names]
        say("CPU per request, microseconds (utime + stime, measured run)")
        say("%-12s" % "target" + "".join("%15s" % n for n in names))
        for label, r in R.items():
            say("%-12s" % label + "".join(
                "%15s" % ("%.1f" % (r["cpu"][n] * 1e6 / r["requests"])
                          if n in r["cpu"] and r["requests"] else "-")
                for n in names))
        say()

        def proxy_cpu(r):
            return sum(v for k, v in r["cpu"].items()
                       if k.startswith("ghp") or k == "nginx proxy"
                       ) / (r["requests"] or 1)

        def ratio(a, b, f):
            if a not in R or b not in R:
                return None
            x, y = f(R[a]), f(R[b])
            return x / y if x and y else None

        say("%-22s %8s %8s %8s %14s" % ("ratio", "req/s", "p50", "p99",
                                        "proxy CPU/req"))
        self.ratios = {}
        for a, b in (("ghp", "direct"), ("ghp", "nginx proxy"),
                     ("nginx proxy", "direct")):
            v = {"rps": ratio(a, b, lambda r: r["rps"]),
                 "p50": ratio(a, b, lambda r: r["lat"].get(50)),
                 "p99": ratio(a, b, lambda r: r["lat"].get(99)),
                 "proxy_cpu": ratio(a, b, proxy_cpu) if b != "direct"
                 else None}
            self.ratios["%s / %s" % (a, b)] = v
            say("%-22s %8s %8s %8s %14s" % (
                "%s / %s" % (a, b),
                *(f % v[k] if v[k] else "-" for f, k in (
                    ("%.3f", "rps"), ("%.2f", "p50"), ("%.2f", "p99"),
                    ("%.2f", "proxy_cpu")))))
        say("(req/s: the share of the reference's throughput kept; p50, "
            "p99: times the reference's latency; proxy CPU/req: times the "
            "CPU nginx spends per request, ghp counting its worker, master "
            "and keyholder)")
        say()
        for label, r in R.items():
            facts = []
            if r.get("upstream_conns") is not None:
                facts.append("the upstream accepted %d new connections "
                             "during the measured run" % r["upstream_conns"])
            if "audit_records" in r:
                facts.append("%d audit records for %d requests completed "
                             "(warm-up included)" % (r["audit_records"],
                                                     r["completed"]))
            if r.get("cut_off"):
                facts.append("%d answers logged as 499, cut off when wrk "
                             "stopped" % r["cut_off"])
            say("%s: %s" % (label, "; ".join(facts)))
        for n in self.notes:
            say(n)

    def dump_json(self, path):
        with open(path, "w") as f:
            json.dump({"machine": self.machine,
                       "settings": {"duration": DURATION, "warmup": WARMUP,
                                    "connections": CONNS,
                                    "threads": THREADS,
                                    "wrk_cpus": self.wrk_cpus,
                                    "server_cpus": self.srv_cpus},
                       "results": self.results,
                       "ratios": getattr(self, "ratios", {}),
                       "failed": self.failed}, f, indent=1)


def main():
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    b = None
    status = 0
    try:
        ensure_tools()
        b = Bench()
        b.run()
    except BenchError as e:
        loud("BENCHMARK FAILED: %s" % e)
        status = 1
    except SystemExit as e:
        loud("BENCHMARK INTERRUPTED (%s)" % e.code)
        status = 130
    except Exception as e:
        import traceback
        traceback.print_exc()
        loud("BENCHMARK FAILED: %s: %s" % (type(e).__name__, e))
        status = 1
    finally:
        stop_all()
    if b is None:
        return status
    b.report()
    if os.environ.get("BENCH_JSON"):
        b.dump_json(os.environ["BENCH_JSON"])
    if b.failed:
        loud("THE RUN FAILED: non-2xx answers, socket errors or missing "
             "records:\n" + "\n".join(b.failed))
        status = 1
    if status or KEEP:
        say("logs kept in %s (wrk.log, ghp.log, *-error.log, access logs)"
            % b.d)
    else:
        shutil.rmtree(b.d, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
