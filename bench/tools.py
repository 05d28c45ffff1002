"""
bench/tools.py: what the parts of the benchmark share: its settings
(from the environment), printing, the tools it drives (wrk and curl),
and what it reads of processes and of the machine in /proc.
"""

import datetime
import os
import platform
import re
import resource
import shutil
import subprocess

from servers import BenchError, nginx_bin

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
STREAM_MIB = int(os.environ.get("BENCH_STREAM_MIB", "1024"))
STREAM_RUNS = int(os.environ.get("BENCH_STREAM_RUNS", "3"))
IDLE_CONNS = int(os.environ.get("BENCH_IDLE_CONNS", "10000"))
TOKENS = int(os.environ.get("BENCH_TOKENS", "10000"))

CLK_TCK = os.sysconf("SC_CLK_TCK")
MIB = 1 << 20


def say(msg=""):
    print(msg, flush=True)


def loud(msg):
    bar = "!" * 72
    say("%s\n!!! %s\n%s" % (bar, msg.replace("\n", "\n!!! "), bar))


def ensure_tools():
    """wrk, nginx and curl: apt-get them when missing, as scripts/deps.sh
    does for the build (GHP_NO_DEPS=1: do not)."""
    missing = [t for t, found in (("wrk", shutil.which("wrk")),
                                  ("nginx", nginx_bin()),
                                  ("curl", shutil.which("curl")))
               if not found]
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


def raise_nofile(want):
    """Raise this process's soft RLIMIT_NOFILE to want, as far as the hard
    limit allows (the servers started after inherit it); returns the
    soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# ------------------------------------------------------------ /proc

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


def cpu_spent(before, after):
    """{name: seconds} between two cpu_sample()s."""
    return {name: sum(t - before[name].get(pid, 0)
                      for pid, t in after[name].items()) / CLK_TCK
            for name in after}


def children_cpu():
    """utime + stime of this process's waited-for children, in seconds
    (wrk and curl)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def machine_busy():
    """user + nice + system ticks of all CPUs (not softirq: on this
    kernel the network work of our own loopback traffic lands there and
    in no process)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[0] + v[1] + v[2]


def proc_status(pid):
    """/proc/PID/status as {field: value}, the kB figures in bytes."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            v = v.strip()
            out[k] = int(v.split()[0]) * 1024 if v.endswith(" kB") else v
    return out


def rss(pid):
    return proc_status(pid)["VmRSS"]


def reset_peak_rss(pid):
    """Make VmHWM start again from the present RSS (clear_refs 5); False
    when the kernel or our privileges do not allow it."""
    try:
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def open_files_limit(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                v = line.split()[3]
                return None if v == "unlimited" else int(v)
    return None


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
        "curl": " ".join(first_line(["curl", "--version"]).split()[:2]),
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


def wrk(url, headers, seconds, cpus, log, label, script=None):
    args = ["wrk", "-t%d" % THREADS, "-c%d" % CONNS, "-d%ds" % seconds,
            "--latency"]
    for k, v in headers.items():
        args += ["-H", "%s: %s" % (k, v)]
    if script:
        args += ["-s", script]
    args.append(url)
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


# ------------------------------------------------------------ curl

CURL_OUT = ("%{http_code} %{size_download} %{size_upload} %{time_total} "
            "%{time_starttransfer}")


def curl(args, cpus, log, label, timeout=600):
    """One transfer with curl; returns {status, down, up, seconds,
    first_byte} from its -w."""
    args = ["curl", "-sS", "-w", CURL_OUT] + list(args)
    if cpus:
        args = ["taskset", "-c", cpus] + args
    p = subprocess.run(args, capture_output=True, text=True,
                       timeout=timeout)
    with open(log, "a") as f:
        f.write("=== %s\n%s\n%s%s\n" % (label, " ".join(args), p.stdout,
                                        p.stderr))
    try:
        st, down, up, total, first = p.stdout.split()[-5:]
        r = {"status": int(st), "down": int(float(down)),
             "up": int(float(up)), "seconds": float(total),
             "first_byte": float(first)}
    except ValueError:
        raise BenchError("curl failed on %s (exit %d): %s" % (
            label, p.returncode, (p.stderr or p.stdout)[-500:]))
    if p.returncode != 0:
        raise BenchError("curl failed on %s (exit %d, HTTP status %d): %s"
                         % (label, p.returncode, r["status"],
                            p.stderr.strip()[-500:]))
    return r
