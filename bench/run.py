#!/usr/bin/env python3
"""
bench/run.py: ghp's benchmark, in one command (`make bench`).

One upstream, nginx answering GET /repos/acme/widgets with a fixed
repository JSON and GitHub's headers (and 401 unless the request carries
the stored credential, so that a 200 proves the credential was swapped
in); the same nginx also serves a large archive and takes a large blob
upload (see servers.py).  wrk drives, one after the other, the API GET:

  direct           the upstream itself, the client sending the
                   credential;
  nginx proxy      nginx in front of it with `proxy_set_header
                   Authorization` (what an operator might run instead of
                   ghp);
  ghp              build/ghp with `workers 1`, the client sending a ghx_
                   token with contents:read on acme/widgets;
  ghp workers 2    the same with `workers 2` (another ghp);
  ghp token churn  the `workers 1` ghp again, each request with the next
                   of BENCH_TOKENS (10000) ghx_ tokens (churn.py);

each for a warm-up run and then a measured run, with the same wrk
settings.  It prints requests/s, latency percentiles and the CPU each
process spent per request, then the ratios ghp/direct, ghp/nginx,
nginx/direct, workers 2/workers 1 and token churn/one token.  Between
the last two, against the `workers 1` ghp:

  streaming        a 1 GiB download and a 1 GiB upload with curl, through
                   ghp and direct: MB/s, and the ghp worker's peak RSS
                   (streaming.py);
  idle             10,000 idle keep-alive connections to the worker: its
                   RSS before, with them open and after closing them
                   (idle.py).

There are no thresholds: the ratios are against reference runs made in
the same command, and the 16 MiB printed beside the streaming peak RSS
is a goal, not a check.

With 2 CPUs or more, wrk and curl run on the last CPU and every server
process on the others, so that a proxy's CPU cost shows in its
throughput (with 2 CPUs, the two workers of `workers 2` share one CPU).

The run fails (exit 1, loudly) on any non-2xx answer or socket error:
wrk's counts, and the status of every answer in the proxies' access logs
and of every upstream answer that is not a 200 or 201; on a streamed
byte missing at either end; on an idle connection dropped.  Every
process it starts is killed, by pid, on the way out.  Everything it
writes goes to one temporary directory, removed at the end unless the
run failed or BENCH_KEEP is set.  Ports are chosen free at start.

Environment:
  BENCH_DURATION  seconds per measured run (10)
  BENCH_WARMUP    seconds of warm-up before each (2)
  BENCH_CONNS     wrk connections (32)
  BENCH_THREADS   wrk threads (1)
  BENCH_PIN       0: no CPU pinning (default: pin with 2 CPUs or more)
  BENCH_STREAM_MIB   size of the streamed download and upload (1024)
  BENCH_STREAM_RUNS  transfers of each kind, the median kept (3)
  BENCH_IDLE_CONNS   idle connections (10000)
  BENCH_TOKENS       tokens of the churn run (10000)
  BENCH_KEEP      1: keep the temporary directory and print where it is
  BENCH_JSON      a file to write the results to, as JSON
  GHP_BIN, GHPCTL_BIN   other binaries (default build/ghp, build/ghpctl)
  GHP_NO_DEPS     1: do not apt-get wrk, nginx and curl when missing

Python 3 standard library, wrk, nginx and curl.
"""

import collections
import json
import os
import shutil
import signal
import sys
import tempfile
import time

import churn
import idle
import streaming
from servers import (API_HOST, CREDENTIAL, PATH, Appended, BenchError, Ghp,
                     get, group_pids, proxy_conf, repo_json, start_nginx,
                     start_sink, stop, stop_all, upstream_accepts,
                     upstream_conf)
from tools import (CONNS, DURATION, GHP_BIN, GHPCTL_BIN, IDLE_CONNS, KEEP,
                   THREADS, WARMUP, CLK_TCK, children_cpu, cpu_sample,
                   cpu_spent, ensure_tools, loud, machine, machine_busy,
                   raise_nofile, say, wrk, wrk_failures)


def _on_signal(sig, frame):
    raise SystemExit(128 + sig)


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
        self.curl_log = os.path.join(self.d, "curl.log")
        self.results = collections.OrderedDict()
        self.stream = self.idle = self.churn = None
        self.failed = []
        self.failed_targets = set()
        self.notes = []
        self.ratios = {}
        # The idle connections: this process's sockets, the worker's.
        self.nofile = raise_nofile(IDLE_CONNS + 1024)
        cpus = sorted(os.sched_getaffinity(0))
        self.pin = len(cpus) >= 2 and os.environ.get("BENCH_PIN") != "0"
        self.wrk_cpus = str(cpus[-1]) if self.pin else None
        self.srv_cpus = ",".join(map(str, cpus[:-1])) if self.pin else None
        self.n_srv_cpus = len(cpus) - 1 if self.pin else len(cpus)

    def fail(self, label, msg):
        msg = "%s: %s" % (label, msg)
        loud("FAILED: " + msg)
        self.failed.append(msg)
        self.failed_targets.add(label)

    def check_200(self, label, port, headers, body=None):
        body = self.body if body is None else body
        st, got = get(port, headers)
        if st != 200 or got != body.encode():
            raise BenchError("%s: a single GET answered %d (%d bytes), not "
                             "200 and the repository JSON: %r" %
                             (label, st, len(got), got[:200]))

    # -------------------------------------------------------- wrk runs

    def measure(self, label, port, headers, groups, script=None, probe=None):
        """A warm-up run and a measured run of wrk; the CPU each process
        group used during the measured one.  probe("before"),
        probe("after"): called right before and after the measured run."""
        say("bench: %-16s %ds warm-up, %ds measured ..." %
            (label, WARMUP, DURATION))
        url = "http://127.0.0.1:%d%s" % (port, PATH)
        completed = runs = 0
        if WARMUP > 0:
            w = wrk(url, headers, WARMUP, self.wrk_cpus, self.wrk_log,
                    label + " (warm-up)", script)
            completed, runs = w["requests"], 1
            for bad in wrk_failures(w):
                self.fail(label, "warm-up: " + bad)
        pids = {name: f() for name, f in groups.items()}
        if probe:
            probe("before")
        before = cpu_sample(pids)
        busy0 = machine_busy()
        kids0 = children_cpu()
        acc0 = upstream_accepts(self.up_port)
        t0 = time.monotonic()
        r = wrk(url, headers, DURATION, self.wrk_cpus, self.wrk_log, label,
                script)
        elapsed = time.monotonic() - t0
        acc1 = upstream_accepts(self.up_port)
        kids1 = children_cpu()
        busy1 = machine_busy()
        r["cpu"] = cpu_spent(before, cpu_sample(pids))
        if probe:
            probe("after")
        for bad in wrk_failures(r):
            self.fail(label, bad)
        r["cpu"]["wrk"] = kids1 - kids0
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

    def measure_ghp(self, label, ghp, headers, script=None, probe=None):
        """measure() on a ghp, then its checks: every access record a 200,
        every audit record an allow, one of each per request, no upstream
        answer that is not a 200, the same processes throughout."""
        access, audit = Appended(ghp.access), Appended(ghp.audit)
        daemon_log = Appended(ghp.log)
        self.mark_upstream()
        groups = {"upstream": lambda: group_pids(self.up.pid)}
        groups.update({
            "ghp " + role: (lambda role=role: ghp.roles.get(role, []))
            for role in ("worker", "master", "keyholder")})
        r = self.measure(label, ghp.port, headers, groups, script, probe)
        self.check_upstream(label)
        self.check_ghp_alive(label, ghp)
        time.sleep(0.5)         # the master writes the workers' records
        records = [json.loads(line) for line in access.lines()]
        self.check_statuses(label, collections.Counter(
            a.get("status") for a in records), r)
        self.check_count(label, "access records", len(records), r)
        records = [json.loads(line) for line in audit.lines()]
        denied = collections.Counter(
            "%s: %s" % (a.get("decision"), a.get("reason"))
            for a in records if a.get("decision") != "allow")
        if denied:
            self.fail(label, "audit records not allowed: %s" % dict(denied))
        self.check_count(label, "audit records", len(records), r)
        r["audit_records"] = len(records)
        if daemon_log.lines():
            self.notes.append("%s logged during its runs:\n  %s" % (
                label, "\n  ".join(daemon_log.lines()[:20])))
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

    def check_ghp_alive(self, label, ghp):
        if ghp.proc.poll() is not None:
            self.fail(label, "ghp exited (status %s)" % ghp.proc.returncode)
        elif ghp.running_roles() != ghp.roles:
            self.fail(label, "its processes changed (a respawn?): %s, then "
                      "%s" % (ghp.roles, ghp.running_roles()))

    def mark_upstream(self):
        self.not200.mark()

    def check_upstream(self, label):
        """Any upstream answer that was not a 200 or 201 since the last
        mark."""
        bad = self.not200.lines()
        self.not200.mark()
        if bad:
            self.fail(label, "the upstream answered %d requests with "
                      "something other than 200, e.g.:\n  %s" % (
                          len(bad), "\n  ".join(bad[:5])))

    def wait_records(self, appended, n, timeout=5.0):
        """Until appended has n lines (the master writes the workers'
        records a moment after the answers)."""
        deadline = time.monotonic() + timeout
        while len(appended.lines()) < n and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.2)

    # -------------------------------------------------------- the run

    def start_ghp(self, name, workers):
        g = Ghp(self.d, self.up_port, self.srv_cpus, *self.bins, name=name,
                workers=workers)
        g.start()
        g.add_credential()
        return g

    def run(self):
        m = self.machine = machine()
        say("ghp benchmark, %s" % m["date"])
        say("machine: %d CPUs (%s), kernel %s, load average %s" %
            (m["cpus"], m["cpu"], m["kernel"], m["loadavg"]))
        say("ghp %s; %s; %s; %s" % (m["ghp"], m["nginx"], m["wrk"],
                                    m["curl"]))
        say("wrk -t%d -c%d; %ds warm-up and %ds measured per target; %s" % (
            THREADS, CONNS, WARMUP, DURATION,
            "wrk and curl on CPU %s, servers on CPU %s" % (
                self.wrk_cpus, self.srv_cpus)
            if self.pin else "no CPU pinning"))
        say("temporary directory: %s" % self.d)
        say()
        # Copies, so that a rebuild during the run changes nothing.
        self.bins = [shutil.copy2(b, os.path.join(self.d, "bin"))
                     for b in (GHP_BIN, GHPCTL_BIN)]
        body = self.body = repo_json()
        d = self.d

        self.stream_file = streaming.make_file(d)
        self.sink, sink_port = start_sink(d, self.srv_cpus)
        self.up, self.up_port = start_nginx(
            d, "upstream", lambda p: upstream_conf(
                d, p, body, self.stream_file, sink_port), self.srv_cpus)
        if get(self.up_port, {"Host": API_HOST})[0] != 401:
            raise BenchError("the upstream does not answer 401 without "
                             "the credential")
        px, px_port = start_nginx(
            d, "nginx", lambda p: proxy_conf(d, p, self.up_port),
            self.srv_cpus)
        ghp = self.ghp = self.start_ghp("ghp", 1)
        token = ghp.create_token("contents:read", "bench")
        stream_token = ghp.create_token("contents:write", "bench streaming")

        client = {"Host": API_HOST, "Authorization": "token " + token,
                  "User-Agent": "ghp-bench",
                  "Accept": "application/vnd.github+json"}
        direct = dict(client, Authorization="token " + CREDENTIAL)
        self.check_200("direct", self.up_port, direct)
        self.check_200("nginx proxy", px_port, client)
        self.check_200("ghp", ghp.port, client)
        say("upstream nginx on port %d (%d-byte body, 401 without the "
            "credential), nginx proxy on %d, ghp on %d (token %s...): each "
            "answered a GET with 200 and the body" % (
                self.up_port, len(body), px_port, ghp.port, token[:8]))
        say()
        # From here on, the upstream logs only what is not a 200 or 201.
        self.not200 = Appended(os.path.join(d, "upstream-not200.log"))

        up_group = {"upstream": lambda: group_pids(self.up.pid)}
        self.measure("direct", self.up_port, direct, up_group)
        self.check_upstream("direct")

        px_log = Appended(os.path.join(d, "nginx-access.log"))
        r = self.measure("nginx proxy", px_port, client, dict(
            up_group, **{"nginx proxy": lambda: group_pids(px.pid)}))
        self.check_upstream("nginx proxy")
        time.sleep(0.2)
        statuses = [int(line.split()[0]) for line in px_log.lines()]
        self.check_statuses("nginx proxy", collections.Counter(statuses), r)
        self.check_count("nginx proxy", "access log lines", len(statuses), r)
        stop(px)

        self.measure_ghp("ghp", ghp, client)

        # Worker scaling: another ghp, two workers, the same CPUs.
        ghp2 = self.start_ghp("ghp2", 2)
        token2 = ghp2.create_token("contents:read", "bench")
        client2 = dict(client, Authorization="token " + token2)
        self.check_200("ghp workers 2", ghp2.port, client2)
        r = self.measure_ghp("ghp workers 2", ghp2, client2)
        r["per_worker"] = sorted(
            (w.get("requests", 0) for w in ghp2.workers_status().values()),
            reverse=True)
        stop(ghp2.proc)

        self.stream = streaming.measure(self, stream_token)
        self.idle = idle.measure(self, client, body.encode())
        self.churn = churn.measure(self, client, THREADS)
        stop(ghp.proc)
        stop(self.up)
        stop(self.sink)

    # -------------------------------------------------------- the report

    def report(self):
        R = self.results
        if not R:
            return
        say()
        say("%-16s %9s %8s %8s %8s %9s  %s" % (
            "target", "req/s", "p50 ms", "p90 ms", "p99 ms", "requests",
            "other CPUs"))
        for label, r in R.items():
            lat = r["lat"]
            say("%-16s %9.0f %8.3f %8.3f %8.3f %9d  %10.2f%s" % (
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
        say("%-16s" % "target" + "".join("%14s" % n for n in names))
        for label, r in R.items():
            say("%-16s" % label + "".join(
                "%14s" % ("%.1f" % (r["cpu"][n] * 1e6 / r["requests"])
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

        say("%-30s %8s %8s %8s %14s" % ("ratio", "req/s", "p50", "p99",
                                        "proxy CPU/req"))
        for a, b in (("ghp", "direct"), ("ghp", "nginx proxy"),
                     ("nginx proxy", "direct"), ("ghp workers 2", "ghp"),
                     ("ghp token churn", "ghp")):
            if a not in R or b not in R:
                continue
            v = {"rps": ratio(a, b, lambda r: r["rps"]),
                 "p50": ratio(a, b, lambda r: r["lat"].get(50)),
                 "p99": ratio(a, b, lambda r: r["lat"].get(99)),
                 "proxy_cpu": ratio(a, b, proxy_cpu) if b != "direct"
                 else None}
            self.ratios["%s / %s" % (a, b)] = v
            say("%-30s %8s %8s %8s %14s" % (
                "%s / %s" % (a, b),
                *(f % v[k] if v[k] else "-" for f, k in (
                    ("%.3f", "rps"), ("%.2f", "p50"), ("%.2f", "p99"),
                    ("%.2f", "proxy_cpu")))))
        say("(req/s: the share of the reference's throughput kept; p50, "
            "p99: times the reference's latency; proxy CPU/req: times the "
            "reference's proxy CPU per request, ghp counting its workers, "
            "master and keyholder)")
        if "ghp workers 2" in R and self.pin and self.n_srv_cpus < 2:
            say("NOTE: ghp workers 2 shares a CPU: with %d CPUs and wrk on "
                "CPU %s, both workers, the master, the keyholder and the "
                "upstream run on CPU %s, so it measures two workers on one "
                "CPU, not scaling over CPUs" % (
                    os.cpu_count(), self.wrk_cpus, self.srv_cpus))
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
            if r.get("per_worker"):
                facts.append("requests by worker since start: %s" %
                             " / ".join(map(str, r["per_worker"])))
            if r.get("cut_off"):
                facts.append("%d answers logged as 499, cut off when wrk "
                             "stopped" % r["cut_off"])
            say("%s: %s" % (label, "; ".join(facts)))
        for n in self.notes:
            say(n)
        for part, mod in ((self.stream, streaming), (self.idle, idle)):
            if part:
                say()
                mod.report(part)
        if self.churn:
            say()
            churn.report(self.churn, R)

    def dump_json(self, path):
        with open(path, "w") as f:
            json.dump({"machine": self.machine,
                       "settings": {"duration": DURATION, "warmup": WARMUP,
                                    "connections": CONNS,
                                    "threads": THREADS,
                                    "wrk_cpus": self.wrk_cpus,
                                    "server_cpus": self.srv_cpus},
                       "results": self.results,
                       "ratios": self.ratios,
                       "streaming": self.stream,
                       "idle": self.idle,
                       "token_churn": self.churn,
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
        loud("THE RUN FAILED: non-2xx answers, socket errors, missing "
             "records or bytes, dropped connections:\n" +
             "\n".join(b.failed))
        status = 1
    if status or KEEP:
        say("logs kept in %s (wrk.log, curl.log, ghp*.log, *-error.log, "
            "access logs)" % b.d)
    else:
        shutil.rmtree(b.d, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
