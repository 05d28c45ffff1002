"""
bench/streaming.py: a large download and a large upload, through ghp
and directly to the upstream, with curl (`make bench`, after the API
runs).

  download  GET of an archive on codeload's path (Host
            codeload.github.com): the upstream's nginx sends a sparse
            file of BENCH_STREAM_MIB (1024) MiB with sendfile;
  upload    POST /repos/acme/widgets/git/blobs (contents:write) with a
            body of the same size, read from that file (`curl -T`, with
            Content-Length and, as curl does, Expect: 100-continue); the
            upstream checks the credential and passes the body on as it
            comes to sink.py, which answers 201 only once it has read it
            all, with the number of bytes it got.

curl runs where wrk does.  Each of the four transfers is made
BENCH_STREAM_RUNS (3) times, alternating, and the median throughput is
kept.  Before each transfer through ghp, the worker's peak RSS (VmHWM) is
reset (/proc/PID/clear_refs, 5), so that the peak read after it is the
transfer's own.
"""

import collections
import json
import os
import statistics
import subprocess

from servers import (ARCHIVE_PATH, BLOB_PATH, CODELOAD_HOST, API_HOST,
                     CREDENTIAL, Appended, group_pids)
from tools import (CLK_TCK, MIB, STREAM_MIB, STREAM_RUNS, children_cpu,
                   cpu_sample, cpu_spent, curl, machine_busy, proc_status,
                   reset_peak_rss, rss, say)

LABEL = "streaming"
PEAK_GOAL_MIB = 16


def make_file(d):
    """The file the upstream serves and curl uploads: sparse, read once
    here so that the page cache holds it before anything is timed."""
    path = os.path.join(d, "stream.bin")
    with open(path, "wb") as f:
        f.truncate(STREAM_MIB * MIB)
    os.chmod(path, 0o644)
    subprocess.run(["dd", "if=" + path, "of=/dev/null", "bs=1M"],
                   capture_output=True, check=True)
    return path


def transfer(b, kind, target, port, auth, worker):
    size = STREAM_MIB * MIB
    url = "http://127.0.0.1:%d%s" % (port, ARCHIVE_PATH if kind == "download"
                                     else BLOB_PATH)
    answer = os.path.join(b.d, "stream-answer")
    if kind == "download":
        args = ["-o", "/dev/null", "-H", "Host: " + CODELOAD_HOST]
    else:
        args = ["-o", answer, "-X", "POST", "-T", b.stream_file,
                "-H", "Host: " + API_HOST,
                "-H", "Content-Type: application/octet-stream"]
    args += ["-H", "Authorization: " + auth, "-H", "User-Agent: ghp-bench",
             url]
    label = "%s %s" % (kind, target)
    groups = {"upstream": group_pids(b.up.pid) + [b.sink.pid]}
    if target == "ghp":
        groups.update({"ghp worker": [worker],
                       "ghp master": [b.ghp.proc.pid]})
        b.peak_reset = reset_peak_rss(worker) and b.peak_reset
        before_rss = rss(worker)
    cpu0, kids0, busy0 = cpu_sample(groups), children_cpu(), machine_busy()
    r = curl(args, b.wrk_cpus, b.curl_log, label)
    r["cpu"] = cpu_spent(cpu0, cpu_sample(groups))
    r["cpu"]["curl"] = children_cpu() - kids0
    # CPUs kept busy by anything else on the machine meanwhile.
    r["other_cpus"] = max(0.0, ((machine_busy() - busy0) / CLK_TCK -
                                sum(r["cpu"].values())) /
                          max(r["seconds"], 0.01))
    if target == "ghp":
        st = proc_status(worker)
        r["rss_before"], r["peak_rss"] = before_rss, st["VmHWM"]
    moved = r["down"] if kind == "download" else r["up"]
    r["mb_s"] = moved / r["seconds"] / 1e6 if r["seconds"] else 0
    want = 200 if kind == "download" else 201
    if r["status"] != want or moved != size:
        b.fail(LABEL, "%s: HTTP %d and %d bytes, not %d and %d" % (
            label, r["status"], moved, want, size))
    if kind == "upload":
        try:
            with open(answer) as f:
                got = json.load(f).get("size")
        except (OSError, ValueError):
            got = None
        if got != size:
            b.fail(LABEL, "%s: the upstream read %s bytes of the body, "
                   "not %d" % (label, got, size))
    return r


def measure(b, token):
    """b: the Bench (d, up, sink, ghp, wrk_cpus, stream_file, fail);
    token: a ghx_ token with contents:write on acme/widgets."""
    say("bench: %-16s %d MiB download and upload, direct and through ghp, "
        "%d times each ..." % (LABEL, STREAM_MIB, STREAM_RUNS))
    worker = b.ghp.worker_pids()[0]
    access, audit = Appended(b.ghp.access), Appended(b.ghp.audit)
    b.peak_reset = True
    runs = collections.defaultdict(list)
    for _ in range(STREAM_RUNS):
        for kind in ("download", "upload"):
            for target, port, auth in (
                    ("direct", b.up_port, "token " + CREDENTIAL),
                    ("ghp", b.ghp.port, "token " + token)):
                runs[kind, target].append(
                    transfer(b, kind, target, port, auth, worker))
    b.check_upstream(LABEL)

    # One access record per transfer through ghp, with every byte.
    b.wait_records(access, 2 * STREAM_RUNS)
    size = STREAM_MIB * MIB
    seen = collections.Counter()
    for a in (json.loads(line) for line in access.lines()):
        req = a.get("request", {})
        kind = "upload" if req.get("method") == "POST" else "download"
        moved = a.get("bytes_read") if kind == "upload" else a.get("size")
        ok = (a.get("status") == (201 if kind == "upload" else 200) and
              moved == size)
        seen[kind, ok] += 1
    if seen != {("download", True): STREAM_RUNS,
                ("upload", True): STREAM_RUNS}:
        b.fail(LABEL, "ghp's access records (kind, complete): %s" %
               dict(seen))
    denied = [a for a in (json.loads(line) for line in audit.lines())
              if a.get("decision") != "allow"]
    if denied or len(audit.lines()) != 2 * STREAM_RUNS:
        b.fail(LABEL, "%d audit records for %d transfers, %d not allowed"
               % (len(audit.lines()), 2 * STREAM_RUNS, len(denied)))
    b.check_ghp_alive(LABEL, b.ghp)

    out = {"mib": STREAM_MIB, "runs": STREAM_RUNS, "worker": worker,
           "peak_reset": b.peak_reset, "peak_goal_mib": PEAK_GOAL_MIB,
           "transfers": {"%s %s" % k: v for k, v in runs.items()}}
    for kind in ("download", "upload"):
        d = statistics.median(r["mb_s"] for r in runs[kind, "direct"])
        g = statistics.median(r["mb_s"] for r in runs[kind, "ghp"])
        out[kind] = {
            "direct_mb_s": d, "ghp_mb_s": g,
            "ratio": g / d if d else None,
            "ghp_worker_cpu_s": statistics.median(
                r["cpu"]["ghp worker"] for r in runs[kind, "ghp"]),
            "peak_rss": max(r["peak_rss"] for r in runs[kind, "ghp"]),
            "rss_before": runs[kind, "ghp"][0]["rss_before"]}
    out["other_cpus"] = statistics.median(
        r["other_cpus"] for v in runs.values() for r in v)
    return out


def report(s):
    say("Streaming: %d MiB per transfer, curl where wrk runs; median of %d "
        "transfers each" % (s["mib"], s["runs"]))
    say("%-28s %11s %9s %10s %14s  %s" % (
        "transfer", "direct MB/s", "ghp MB/s", "ghp/direct",
        "worker CPU s", "ghp worker peak RSS (goal)"))
    for kind, what in (("download", "download (codeload archive)"),
                       ("upload", "upload (POST git/blobs)")):
        k = s[kind]
        say("%-28s %11.1f %9.1f %10.3f %14.2f  %.1f MiB (< %d MiB)" % (
            what, k["direct_mb_s"], k["ghp_mb_s"], k["ratio"] or 0,
            k["ghp_worker_cpu_s"], k["peak_rss"] / MIB, s["peak_goal_mib"]))
    say("(MB/s: 10^6 bytes a second, bytes over curl's total time; worker "
        "CPU s: the ghp worker's utime + stime for one transfer; peak RSS: "
        "VmHWM of worker %d, %s; its RSS before the first transfer: "
        "%.1f MiB)" % (
            s["worker"], "reset before each transfer" if s["peak_reset"]
            else "since it started (clear_refs was refused)",
            s["download"]["rss_before"] / MIB))
    say("(other work on the machine kept %.2f CPUs busy during the "
        "transfers, median)" % s["other_cpus"])
