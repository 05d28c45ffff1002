"""
bench/idle.py: what idle keep-alive connections cost a ghp worker
(`make bench`, after the streaming runs).

BENCH_IDLE_CONNS (10000: the most a worker serves at a time, ghp(8),
Connections; no configuration keyword changes it) connections are
opened to ghp with `workers 1`, one after the other, and each sends one
request (the API GET, answered 200 with the body) and is then kept
open, idle.  That is what a pool of kept-alive client connections looks
like, and it counts whatever a connection keeps after its first
request; a connection that never sent a request would be closed by ghp
after its header timeout (10 s) anyway.  The bench config sets `idle
timeout 600` so that none is closed while they are counted.

The worker's RSS (VmRSS) is read before, with all of them open (once its
status says it holds them all), and after they are closed (once its
status says it holds none), with its peak (VmHWM, reset when the closing
starts) while it closes them: memory per connection is the growth over
their number; the last figure says whether that memory went back.
"""

import http.client
import json
import selectors
import time

from servers import PATH, Appended
from tools import (IDLE_CONNS, MIB, open_files_limit, proc_status,
                   reset_peak_rss, rss, say)

LABEL = "idle connections"


def worker_connections(ghp, worker):
    return ghp.workers_status().get(worker, {}).get("connections")


def wait_connections(ghp, worker, n, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = worker_connections(ghp, worker)
        if got == n:
            return got
        time.sleep(0.2)
    return worker_connections(ghp, worker)


def measure(b, client, body):
    """b: the Bench (ghp, fail, nofile); client: the headers of the API
    GET with a ghx_ token; body: what it answers."""
    n = IDLE_CONNS
    ghp = b.ghp
    worker = ghp.worker_pids()[0]
    say("bench: %-16s %d connections to ghp's worker, one GET each, then "
        "idle ..." % (LABEL, n))
    limit = open_files_limit(worker)
    if b.nofile < n + 64 or (limit is not None and limit < n + 64):
        b.fail(LABEL, "open files limit %d here, %s for the worker: %d "
               "connections need %d or more (raise the hard limit, ulimit "
               "-Hn)" % (b.nofile, limit, n, n + 64))
        return None
    access, audit = Appended(ghp.access), Appended(ghp.audit)
    if wait_connections(ghp, worker, 0) != 0:
        b.fail(LABEL, "the worker still holds connections before the test")
        return None
    time.sleep(0.5)
    out = {"connections": n, "worker": worker, "rss_before": rss(worker)}
    conns, bad = [], []
    t0 = time.monotonic()
    try:
        for i in range(n):
            c = http.client.HTTPConnection("127.0.0.1", ghp.port, timeout=20)
            conns.append(c)
            c.request("GET", PATH, headers=client)
            resp = c.getresponse()
            got = resp.read()
            if resp.status != 200 or got != body or resp.will_close:
                bad.append("connection %d: %d, %d bytes%s" % (
                    i, resp.status, len(got),
                    ", closed" if resp.will_close else ""))
                if len(bad) >= 5:
                    break
        out["open_seconds"] = time.monotonic() - t0
        held = wait_connections(ghp, worker, len(conns), timeout=10)
        time.sleep(1.0)
        out["held"] = held
        out["rss_open"] = rss(worker)
        out["hwm_open"] = proc_status(worker)["VmHWM"]
        if bad:
            b.fail(LABEL, "answers that were not a kept-alive 200:\n  " +
                   "\n  ".join(bad))
        if held != n:
            b.fail(LABEL, "the worker holds %s connections, not %d" %
                   (held, n))
        # Still open and quiet?  Readable would be a close or bytes.
        with selectors.DefaultSelector() as sel:
            for c in conns:
                sel.register(c.sock, selectors.EVENT_READ)
            woke = len(sel.select(timeout=0))
        if woke:
            b.fail(LABEL, "%d of %d connections were closed or got bytes "
                   "while idle" % (woke, n))
    finally:
        # The peak while they close: from the RSS with them open.
        out["peak_reset"] = reset_peak_rss(worker)
        t1 = time.monotonic()
        for c in conns:
            c.close()
        out["close_seconds"] = time.monotonic() - t1
    out["left"] = wait_connections(ghp, worker, 0)
    time.sleep(1.0)
    st = proc_status(worker)
    out["rss_closed"], out["hwm_closing"] = st["VmRSS"], st["VmHWM"]
    out["per_conn_kib"] = (out["rss_open"] - out["rss_before"]) / n / 1024
    if out["left"] != 0:
        b.fail(LABEL, "the worker still holds %s connections after they "
               "were closed" % out["left"])

    b.wait_records(access, n)
    statuses = [json.loads(line).get("status") for line in access.lines()]
    denied = [line for line in audit.lines()
              if json.loads(line).get("decision") != "allow"]
    if len(statuses) != n or set(statuses) != {200} or denied or \
            len(audit.lines()) != n:
        b.fail(LABEL, "%d access records (statuses %s) and %d audit "
               "records (%d not allowed) for %d requests" % (
                   len(statuses), sorted(set(statuses), key=str),
                   len(audit.lines()), len(denied), n))
    b.check_upstream(LABEL)
    b.check_ghp_alive(LABEL, ghp)
    return out


def report(i):
    say("Idle keep-alive connections: %d to worker %d, one GET each, then "
        "idle (opened in %.1f s)" % (i["connections"], i["worker"],
                                     i["open_seconds"]))
    say("%-16s %14s %15s %15s %15s" % (
        "worker RSS", "before", "%d open" % i["connections"],
        "peak closing", "after closing"))
    say("%-16s %14s %15s %15s %15s" % ("", *(
        "%.1f MiB" % (v / MIB) if v is not None else "-" for v in (
            i["rss_before"], i["rss_open"],
            i["hwm_closing"] if i["peak_reset"] else None,
            i["rss_closed"]))))
    grew = i["rss_open"] - i["rss_before"]
    back = i["rss_open"] - i["rss_closed"]
    if grew <= 0:
        went = "RSS did not grow"
    elif back <= 0:
        went = "none of it went back"
    else:
        went = "%.1f MiB of it went back (%.0f%%)" % (back / MIB,
                                                     100.0 * back / grew)
    say("memory per connection: %.1f KiB (RSS grew %.1f MiB for %d "
        "connections); after closing them: %s" % (
            i["per_conn_kib"], grew / MIB, i["connections"], went))
    say("(the worker's user-space memory only: the kernel's socket "
        "buffers and structures are not in it)")
