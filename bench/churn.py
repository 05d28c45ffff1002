"""
bench/churn.py: requests spread over many ghx_ tokens (`make bench`,
last).

BENCH_TOKENS (10000) tokens with contents:read on acme/widgets are made
with `ghpctl token create`, one process per token (ghpctl has no batch
command), several at a time: as many as twice the CPUs.  Then wrk, with
the same settings as the other runs, sends the API GET with the next
token of the list on every request (a Lua script), round and round.  A
worker's token cache holds 4096 answers for 5 seconds, least recently
used first out, so over more tokens than that in turn every request is a
miss that the keyholder answers: the figure is the keyholder's look-up
on every request, against the one-token run ("ghp") that always hits.
The cache's hits and misses during the measured run are read from
ghp's metrics listener, and the worker's RSS before and after, with its
peak in between.
"""

import concurrent.futures
import os
import subprocess
import time

from tools import MIB, TOKENS, proc_status, reset_peak_rss, rss, say

LABEL = "ghp token churn"

LUA = """-- written by bench/churn.py: each request with the next token
local tokens = {}
local i = 0
local counter = 0

function setup(thread)
    thread:set("id", counter)
    counter = counter + 1
end

function init(args)
    for line in io.lines("%(path)s") do
        tokens[#tokens + 1] = line
    end
    -- threads start apart in the list
    i = math.floor((id or 0) * #tokens / %(threads)d)
end

function request()
    i = i %% #tokens + 1
    wrk.headers["Authorization"] = "token " .. tokens[i]
    return wrk.format()
end
"""


def create_tokens(ghp, n, path):
    """n tokens through ghpctl, into path, one a line; returns (seconds,
    processes at a time)."""
    parallel = max(2, 2 * (os.cpu_count() or 1))
    args = ghp.token_args("contents:read", "churn")

    def one(_):
        r = subprocess.run(args, capture_output=True, text=True, timeout=60)
        tok = r.stdout.strip()
        if r.returncode != 0 or not tok.startswith("ghx_"):
            raise RuntimeError("ghpctl token create: exit %d: %s" % (
                r.returncode, (r.stderr or r.stdout).strip()[:200]))
        return tok

    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(parallel) as ex:
        tokens = list(ex.map(one, range(n)))
    seconds = time.monotonic() - t0
    if len(set(tokens)) != n:
        raise RuntimeError("%d distinct tokens of %d" % (len(set(tokens)), n))
    with open(path, "w") as f:
        f.write("\n".join(tokens) + "\n")
    return seconds, parallel


def cache_counts(m):
    return {res: int(sum(v for k, v in m.items()
                         if k.startswith("ghp_token_cache_total") and
                         'result="%s"' % res in k))
            for res in ("hit", "miss")}


def measure(b, client, threads):
    """b: the Bench (d, ghp, measure, check_ghp_run); client: the API
    GET's headers (Authorization is replaced)."""
    ghp = b.ghp
    path = os.path.join(b.d, "tokens.txt")
    say("bench: %-16s creating %d tokens with ghpctl ..." % (LABEL, TOKENS))
    try:
        seconds, parallel = create_tokens(ghp, TOKENS, path)
    except (RuntimeError, subprocess.SubprocessError) as e:
        b.fail(LABEL, "creating the tokens: %s" % e)
        return None
    out = {"tokens": TOKENS, "create_seconds": seconds,
           "create_parallel": parallel}
    with open(path) as f:
        tokens = f.read().split()
    for t in (tokens[0], tokens[-1]):
        b.check_200(LABEL, ghp.port, dict(client,
                                          Authorization="token " + t))
    script = os.path.join(b.d, "churn.lua")
    with open(script, "w") as f:
        f.write(LUA % {"path": path, "threads": threads})
    b.mark_upstream()

    counts = {}
    worker = ghp.worker_pids()[0]
    out["worker"], out["rss_before"] = worker, rss(worker)
    out["peak_reset"] = reset_peak_rss(worker)

    def probe(when):
        counts[when] = cache_counts(ghp.metrics())
    r = b.measure_ghp(LABEL, ghp, client, script=script, probe=probe)
    st = proc_status(worker)
    out["rss_after"], out["peak_rss"] = st["VmRSS"], st["VmHWM"]
    if r is not None and counts.keys() == {"before", "after"}:
        out["cache"] = {k: counts["after"][k] - counts["before"][k]
                        for k in ("hit", "miss")}
        r["token_cache"] = out["cache"]
    return out


def report(c, results):
    say("Token churn: %d ghx_ tokens, made by `ghpctl token create` in "
        "%.0f s, %d processes at a time (%.0f tokens/s)" % (
            c["tokens"], c["create_seconds"], c["create_parallel"],
            c["tokens"] / c["create_seconds"]))
    r, one = results.get(LABEL), results.get("ghp")
    if r and one:
        cache = c.get("cache", {})
        say("%.0f requests/s over %d tokens in turn, %.0f with one token: "
            "%.3f of it; p99 %.3f ms against %.3f ms; token cache during "
            "the measured run: %d hits, %d misses" % (
                r["rps"], c["tokens"], one["rps"], r["rps"] / one["rps"],
                r["lat"].get(99, 0), one["lat"].get(99, 0),
                cache.get("hit", -1), cache.get("miss", -1)))
    say("ghp worker %d RSS: %.1f MiB before the warm-up, %.1f MiB after the "
        "measured run, peak %s" % (
            c["worker"], c["rss_before"] / MIB, c["rss_after"] / MIB,
            "%.1f MiB" % (c["peak_rss"] / MIB) if c["peak_reset"] else
            "unknown (clear_refs was refused)"))
