"""
test_faults.py: ghp under load while things go wrong.

  1. a worker is killed with SIGKILL: only the requests on connections
     that worker held fail (at most one per connection); every other
     request succeeds, the clients it cut off get answers again within a
     second, and the master starts a worker in its slot;
  2. the keyholder is killed: the master starts a new one and pairs it
     with the running workers; meanwhile ghp answers, never drops a
     connection and never forwards a request whose token it could not
     check (what it promises is spelled out in the test);
  3. the configuration is reloaded five times under load: no request
     fails;
  4. the upstream goes away and comes back: 502s in GitHub's shape while
     it is away, recovery without restarting ghp; connections that the
     upstream resets cost only the requests on them;
  5. the audit log's disk is full (/dev/full): by default requests are
     refused with 503 rather than served unaudited; with `unwritable
     serve` they are served and every lost record is counted;
  6. hostile clients, while a well-behaved client keeps being answered:
     slowloris connections are cut at the header timeout; clients that
     never read a large answer do not make the worker buffer it (its
     RSS stays bounded) and are cut at the send timeout; 1,000
     connections opened and dropped, some mid-request and some
     mid-answer, leave the worker serving, with no connection left over
     and its RSS back near where it was.

THE LOAD

The load comes from Load, a threaded Python client in this file, not
from wrk (which scripts/deps.sh installs for the benchmark).  wrk would
push more requests per second, but these tests need what its Lua
interface does not give: a wall-clock time for each request (to tell a
request made before a fault from one made after it, and to measure how
long clients went unanswered), the identity of the connection each
request went on (to tie a failure to the worker that held that
connection: the test reads /proc for which worker owns which socket),
the body of every refusal (to check GitHub's error shape and ghp's
message), and phases within one run (before, while and after a fault)
on the same kept-alive connections.  wrk reports socket errors only as
totals, and it does not retry a request that lost the race with a
server closing an idle kept-alive connection, which RFC 9112 (9.3.1)
lets clients do and HTTP libraries do; so it cannot tell ghp's fault
from that race (see test_reloads_fail_no_request).

Load mixes three kinds of clients:
  fwd    kept-alive connections asking for a repository: forwarded to
         the stand-in GitHub (200);
  deny   kept-alive connections asking for a repository outside the
         token's scope: decided by ghp alone after the token look-up and
         the audit record (403), thousands per second, so that a worker
         always has requests in flight;
  fresh  a new connection for every request (Connection: close),
         forwarded (200).
The stand-in GitHub answers each connection about 20 times a second (it
is Python, in a subprocess: upstream="process"), so the forwarded load is
a few hundred requests per second and the scope refusals make up the
rest.

Timing: the only thresholds are liveness bounds ("within N seconds"),
generous for shared, noisy machines and ASan builds, except the one
second within which the clients of a killed worker must be answered
again (GAP_LIMIT_S).  GHP_FAULTS_FIGURES=1 prints what was measured
(counts, gaps, RSS) on stderr.  Under a sanitizer build
(GHP_SANITIZED=1) memory figures are printed but not checked.

Run with tests/integration/run_all.py (or python3 -m unittest from this
directory).  Needs root (the daemon drops to nobody; /proc of its
children; /dev/full).
"""

import collections
import json
import os
import resource
import select
import signal
import socket
import struct
import sys
import threading
import time
import unittest

from harness import (ConnectionClosed, HttpConn, IS_ROOT, NEED_ROOT,
                     SANITIZED, TROUBLE, RssWatch, build_request, pid_alive,
                     proc_status, status_kb)
from proxy_case import ProxyCase, read_json_lines, start_proxy

from fake_github import spawn

FIGURES = bool(os.environ.get("GHP_FAULTS_FIGURES"))

REPO = "acme/widgets"
FWD_PATH = "/repos/acme/widgets"                 # forwarded: 200
DENY_PATH = "/repos/acme/other/issues"          # outside the scope: 403
DENY_MESSAGE = "outside this token's scope"
BYTES_PATH = FWD_PATH + "/contents/__fake/bytes/%d"
SLOW_PATH = FWD_PATH + "/contents/__fake/slow?ms=%d"
MiB = 1 << 20

# The clients of a killed worker must be answered again within this
# (from the moment the worker is gone): the brief's "within a second".
GAP_LIMIT_S = 1.0
# Liveness bounds: something that must happen, within this.
LIVE_S = 15.0
# One request may take this long before the client gives up on it.
REQUEST_TIMEOUT_S = 20.0

# A worker's resident memory may grow by this much while clients that
# never read hold large answers (8 of them, 256 MiB each: 2 GiB in all
# if the worker buffered them): each connection may hold about 1 MiB on
# its way through (ghp.8: streamed answers); the rest is allocator slack
# and pages touched for the first time.  Once 1,000 dropped connections
# are gone the worker gives their memory back (malloc_trim a second
# after a burst of closes), so it may stay only this much above its
# baseline.
NONREADER_RSS_GROWTH_KB = 64 * 1024
CHURN_RSS_MARGIN_KB = 4 * 1024


def figure(what, **kw):
    if FIGURES:
        sys.stderr.write("\n  [figures] %s: %s\n" % (what, ", ".join(
            "%s=%s" % kv for kv in kw.items())))


def raise_nofile(want=8192):
    """Let this process hold a few thousand sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))


# ------------------------------------------------------------ /proc


def rss_kb(pid):
    return status_kb(pid, "VmRSS")


def conn_owners(port, pids):
    """{client port: pid}: which of pids holds ghp's end of each
    established TCP connection to 127.0.0.1:port (from /proc/net/tcp and
    /proc/PID/fd)."""
    by_inode = {}
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, remote, state, inode = (fields[1], fields[2], fields[3],
                                           fields[9])
            if state == "01" and int(local.split(":")[1], 16) == port:
                by_inode["socket:[%s]" % inode] = int(
                    remote.split(":")[1], 16)
    out = {}
    for pid in pids:
        d = "/proc/%d/fd" % pid
        try:
            fds = os.listdir(d)
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(os.path.join(d, fd))
            except OSError:
                continue
            if link in by_inode:
                out[by_inode[link]] = pid
    return out


# ------------------------------------------------------------ the load


class TrackedConn(HttpConn):
    """An HttpConn that counts the bytes of answer it received (all of
    them go through _fill until a head is read), so that a failure can
    tell "nothing came back" from "broken off mid-answer"."""

    def __init__(self, port, timeout):
        HttpConn.__init__(self, "127.0.0.1", port, timeout)
        self.rx = 0
        self.port = self.sock.getsockname()[1]
        self.opened = time.monotonic()

    def _fill(self, n=262144):
        b = self.sock.recv(n)
        if not b:
            raise ConnectionClosed("connection closed by the server after "
                                   "%d unread bytes" % len(self.buf),
                                   self.buf)
        self.rx += len(b)
        self.buf += b


class Rec:
    """One request: its client, kind and connection (serial number on
    that client, local port, opened when, how many requests it had
    carried before), when it started and ended, and what came of it:
    the status (None on failure), ghp's message for a refusal, whether
    that refusal had GitHub's shape, its Retry-After, or the error; and
    retried: it went unanswered on a reused connection and was sent
    again on a new one (only with retry_unanswered)."""

    __slots__ = ("client", "kind", "conn", "port", "opened", "reused",
                 "t0", "t1", "status", "message", "shape_ok",
                 "retry_after", "error", "retried")

    def __init__(self, **kw):
        for k in self.__slots__:
            setattr(self, k, kw.get(k))

    @property
    def ok(self):
        return self.status is not None

    def __repr__(self):
        return ("<%s client %d conn %d port %s (opened %.3f, %d requests "
                "before) t0 %.3f t1 %.3f %s>" % (
                    self.kind, self.client, self.conn, self.port,
                    self.opened, self.reused or 0, self.t0, self.t1,
                    self.status if self.ok else "ERROR " + self.error))


KINDS = {
    # kind: (path, keep-alive)
    "fwd": (FWD_PATH, True),
    "deny": (DENY_PATH, True),
    "fresh": (FWD_PATH, False),
}
EXPECTED = {"fwd": 200, "deny": 403, "fresh": 200}


class Load:
    """Client threads sending requests to ghp as fast as it answers,
    each request recorded as a Rec (see KINDS; the module docstring).

    A request that fails (no complete answer) is recorded with its
    error ("unanswered" or "broken off", then "closed", "reset" or
    "timed out"), and the client carries on with a new connection.

    With retry_unanswered, a request on a connection that had already
    carried requests, which found it closed (a FIN) with no byte of
    answer, is sent once more on a new connection, as RFC 9112 9.3.1
    lets a client do with an idempotent request and HTTP libraries do:
    the server closed the connection as idle while the request was on
    its way (it then answers the request's bytes with an RST, which the
    client sees only after the FIN).  It is recorded once, with retried
    set, and counted in .retries.  A reset without a FIN before it is
    not retried: the server closed the connection with the request
    already in its socket, unread, and that request is lost."""

    def __init__(self, port, token, fwd=8, deny=2, fresh=2,
                 retry_unanswered=False, timeout=REQUEST_TIMEOUT_S):
        self.port = port
        self.headers = [("Host", "api.github.com"),
                        ("User-Agent", "ghp-faults-load"),
                        ("Authorization", "token " + token)]
        self.plan = ["fwd"] * fwd + ["deny"] * deny + ["fresh"] * fresh
        self.retry_unanswered = retry_unanswered
        self.timeout = timeout
        self.recs = []
        self.retries = 0
        self.crashed = []
        self._stop = threading.Event()
        self._threads = []

    # ---- running

    def start(self):
        self.t_start = time.monotonic()
        for i, kind in enumerate(self.plan):
            t = threading.Thread(target=self._client, args=(i, kind),
                                 name="load-%s-%d" % (kind, i), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(self.timeout + 10)
        self._threads = [t for t in self._threads if t.is_alive()]
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def _client(self, i, kind):
        try:
            self._loop(i, kind)
        except Exception as e:          # noqa: a bug here, not ghp's
            self.crashed.append("%s client %d: %r" % (kind, i, e))

    def _loop(self, i, kind):
        path, keep = KINDS[kind]
        conn = None
        serial = 0
        carried = 0
        while not self._stop.is_set():
            if conn is None:
                t0 = time.monotonic()
                try:
                    conn = TrackedConn(self.port, self.timeout)
                except OSError as e:
                    serial += 1
                    self.recs.append(Rec(
                        client=i, kind=kind, conn=serial, port=None,
                        opened=t0, reused=0, t0=t0, t1=time.monotonic(),
                        error="connect: %r" % e))
                    time.sleep(0.01)
                    continue
                serial += 1
                carried = 0
            rec, keep_conn = self._one(i, kind, path, keep, conn, serial,
                                       carried)
            if (not rec.ok and self.retry_unanswered and carried > 0 and
                    rec.error == "unanswered, closed"):
                conn.close()
                try:
                    conn = TrackedConn(self.port, self.timeout)
                except OSError as e:
                    rec.error = "retry connect: %r" % e
                    rec.t1 = time.monotonic()
                    self.recs.append(rec)
                    conn = None
                    continue
                self.retries += 1
                serial += 1
                carried = 0
                t0 = rec.t0
                rec, keep_conn = self._one(i, kind, path, keep, conn,
                                           serial, carried)
                rec.t0 = t0
                rec.retried = True
            self.recs.append(rec)
            carried += 1
            if not keep_conn:
                conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def _one(self, i, kind, path, keep, conn, serial, carried):
        """One request on conn: (Rec, whether conn may be used again)."""
        hdrs = self.headers if keep else \
            self.headers + [("Connection", "close")]
        rec = Rec(client=i, kind=kind, conn=serial, port=conn.port,
                  opened=conn.opened, reused=carried, retried=False)
        rx0 = conn.rx
        rec.t0 = time.monotonic()
        try:
            conn.request("GET", path, hdrs)
            r = conn.read_response("GET")
        except (EOFError, OSError, ValueError) as e:
            rec.t1 = time.monotonic()
            if isinstance(e, socket.timeout):
                how = "timed out"
            elif isinstance(e, EOFError):
                how = "closed"          # a FIN
            elif isinstance(e, ConnectionResetError):
                how = "reset"           # an RST, no FIN before it
            else:
                how = repr(e)
            rec.error = "%s, %s" % ("unanswered" if conn.rx == rx0 else
                                    "broken off", how)
            return rec, False
        rec.t1 = time.monotonic()
        rec.status = r.status
        if r.status >= 300:
            try:
                body = json.loads(r.body)
                rec.message = body.get("message")
                rec.shape_ok = (
                    set(body) == {"message", "documentation_url"} and
                    r.headers.get("content-type", "").startswith(
                        "application/json"))
            except ValueError:
                rec.message = r.body[:200]
                rec.shape_ok = False
            rec.retry_after = r.headers.get("retry-after")
        closing = r.headers.get("connection", "").lower() == "close"
        return rec, keep and not closing

    # ---- what happened

    def wait_answers(self, n, timeout=LIVE_S, since=None):
        """Wait until at least n requests were answered (after since)."""
        deadline = time.monotonic() + timeout
        while True:
            got = sum(1 for r in list(self.recs) if r.ok and
                      (since is None or r.t0 >= since))
            if got >= n:
                return got
            if time.monotonic() > deadline:
                raise AssertionError("only %d answers within %.0fs (wanted "
                                     "%d); %s" % (got, timeout, n,
                                                  self.summary()))
            time.sleep(0.02)

    def wait_every_client(self, since, timeout=LIVE_S):
        """Wait until every client had an answer to a request it began
        after since."""
        deadline = time.monotonic() + timeout
        while True:
            done = {r.client for r in list(self.recs)
                    if r.ok and r.t0 >= since}
            if len(done) == len(self.plan):
                return
            if time.monotonic() > deadline:
                raise AssertionError(
                    "clients %s had no answer within %.0fs; %s" % (
                        sorted(set(range(len(self.plan))) - done), timeout,
                        self.summary()))
            time.sleep(0.02)

    def failures(self):
        return [r for r in self.recs if not r.ok]

    def summary(self, recs=None):
        c = collections.Counter()
        for r in (self.recs if recs is None else recs):
            c["%s %s" % (r.kind, r.status if r.ok else "failed")] += 1
        return "%d requests: %s" % (sum(c.values()), dict(sorted(c.items())))

    def rate(self):
        if not self.recs:
            return 0
        span = max(r.t1 for r in self.recs) - self.t_start
        return round(len(self.recs) / span) if span > 0 else 0


# ------------------------------------------------------------ the tests


@unittest.skipUnless(IS_ROOT, NEED_ROOT)
class FaultCase(ProxyCase):

    @classmethod
    def setUpClass(cls):
        raise_nofile()

    def daemon(self, workers=2, **kw):
        """A ghp in front of the stand-in GitHub in a subprocess, alice's
        credential stored; (Ghp, token for acme/widgets contents:read)."""
        kw.setdefault("upstream", "process")
        g = start_proxy(self, workers=workers, **kw)
        # Runs before the daemon's own cleanup, whatever the test did.
        self.addCleanup(self.check_log, g)
        tok, _ = g.new_token("alice", REPO, "contents:read")
        return g, tok

    def check_log(self, g):
        """No sanitizer report or sandbox kill in ghp's log (checked in
        a cleanup, so that a test that failed is checked too)."""
        trouble = [l for l in g.log().splitlines() if TROUBLE.search(l)]
        if trouble:
            self.fail("trouble in ghp's log (%s):\n%s" % (
                g.log_path, "\n".join(trouble[:20])))

    def setUp(self):
        self.loads = []

    def load(self, g, tok, **kw):
        ld = Load(g.port, tok, **kw)
        self.loads.append(ld)
        self.addCleanup(ld.stop)
        return ld.start()

    # ---- checks

    def assertAnswersAsExpected(self, ld, recs=None, also=None):
        """Every answer in recs (default: all) is what its kind gets
        (EXPECTED), or passes also(rec) when given; a list of the others
        fails the test."""
        bad = [r for r in (ld.recs if recs is None else recs)
               if r.ok and r.status != EXPECTED[r.kind] and
               not (also and also(r))]
        self.assertEqual(bad[:10], [], "%d unexpected answers; %s" % (
            len(bad), ld.summary()))
        deny = [r for r in (ld.recs if recs is None else recs)
                if r.ok and r.status == 403]
        self.assertTrue(all(r.shape_ok and DENY_MESSAGE in r.message
                            for r in deny), deny[:3])

    def assertNoFailures(self, ld, g=None):
        f = ld.failures()
        self.assertEqual(f[:10], [], "%d of %d requests failed (%s)%s" % (
            len(f), len(ld.recs), ld.summary(),
            "\n--- ghp log (tail) ---\n" + g.log_tail() if g else ""))

    def assertHealthy(self, g, killed=()):
        """No child of ghp died that the test did not kill (nor exited
        with a failure), and the load generator worked (check_log looks
        for sanitizer reports)."""
        log = g.log()
        deaths = []
        for l in log.splitlines():
            if " killed by signal " in l or (
                    " exited with status " in l and
                    " exited with status 0" not in l):
                if not any("pid %d " % p in l for p in killed):
                    deaths.append(l)
        self.assertEqual(deaths, [], "a child of ghp died")
        self.assertTrue(g.running(), "the master exited")
        for ld in self.loads:
            self.assertEqual(ld.crashed, [], "the load generator broke")
            self.assertEqual([t.name for t in ld._threads], [],
                             "load threads still running")

    # ------------------------------------------------ 1. worker SIGKILL

    def test_killed_worker_costs_only_its_own_requests(self):
        g, tok = self.daemon(workers=2)
        ld = self.load(g, tok, fwd=12, deny=2, fresh=2)
        ld.wait_every_client(ld.t_start)
        time.sleep(0.5)
        st = g.status()
        slots = {w["pid"]: w["slot"] for w in g.procs(st, "worker")}
        owners = conn_owners(g.port, list(slots))
        held = collections.Counter(owners.values())
        # The worker that holds the most of the load's connections.
        victim = max(slots, key=lambda p: (held.get(p, 0), -slots[p]))
        victim_ports = {p for p, pid in owners.items() if pid == victim}
        self.assertTrue(victim_ports, "no load connection on a worker: %s"
                        % owners)
        t_kill = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        g.wait_for(lambda: not pid_alive(victim), LIVE_S,
                   "the killed worker gone", interval=0.001)
        t_dead = time.monotonic()

        def respawned():
            s = g.status()
            new = [w for w in g.procs(s, "worker", "running")
                   if w["slot"] == slots[victim] and w["pid"] != victim]
            return new[0]["pid"] if new and g.is_ready(s) else False
        new_pid = g.wait_for(respawned, LIVE_S, "a worker in slot %d" %
                             slots[victim], interval=0.02)
        t_respawn = time.monotonic()
        # Load on, until every client was answered after the respawn.
        ld.wait_every_client(time.monotonic())
        ld.stop()

        fails = ld.failures()
        # Only the connections that the killed worker held fail, each
        # once at most: its request in flight, or the one sent before the
        # client saw the connection close.  A fresh connection may fail
        # only if it was opened before the worker was gone.
        for r in fails:
            if r.kind == "fresh":
                self.assertLess(r.opened, t_dead, r)
            else:
                self.assertIn(r.port, victim_ports, "a request failed on a "
                              "connection the killed worker did not hold: "
                              "%r" % r)
            self.assertGreaterEqual(r.t1, t_kill, "failed before the "
                                    "kill: %r" % r)
        per_conn = collections.Counter((r.client, r.conn) for r in fails
                                       if r.kind != "fresh")
        self.assertTrue(all(n == 1 for n in per_conn.values()), per_conn)
        # Every answer is the right one, before and after.
        self.assertAnswersAsExpected(ld)
        # The clients that lost a request were answered again within
        # GAP_LIMIT_S of the worker's death.
        gaps = {}
        for r in fails:
            nxt = [x.t1 for x in ld.recs if x.client == r.client and
                   x.ok and x.t0 >= r.t1]
            self.assertTrue(nxt, "client %d never answered again" %
                            r.client)
            gaps[r.client] = max(gaps.get(r.client, 0), min(nxt) - t_dead)
        worst = max(gaps.values()) if gaps else 0.0
        figure("worker SIGKILL", requests=len(ld.recs),
               rate_per_s=ld.rate(), failed=len(fails),
               victim_connections=len(victim_ports),
               load_connections=len(owners),
               failed_by_kind=dict(collections.Counter(r.kind
                                                       for r in fails)),
               worst_gap_ms=round(worst * 1000),
               respawn_ms=round((t_respawn - t_dead) * 1000))
        self.assertLessEqual(worst, GAP_LIMIT_S, "clients of the killed "
                             "worker went unanswered for %.3fs" % worst)
        self.assertIn("worker pid %d killed by signal 9" % victim, g.log())
        self.assertTrue(pid_alive(new_pid))
        # The new worker serves too (it talks to the keyholder).
        self.assertTrue(g.wait_for(lambda: "worker 1.%d: keyholder channel "
                                   "up" % slots[victim] in g.log(), 5,
                                   "the new worker paired"))
        self.assertHealthy(g, killed=[victim])

    # ------------------------------------------------ 2. keyholder

    def test_killed_keyholder_is_replaced_and_tokens_resolve_again(self):
        """A killed keyholder is replaced, and tokens resolve again.

        What ghp promises (master/proc.c, worker/tcache.c, ghp.8 SIGNALS
        and FILES, Errors):

          - the master restarts the keyholder, which dies unasked (at
            once, or after a delay of a second or more if it had not run
            10 seconds), and hands each running worker a channel to the
            new one; the workers themselves are not restarted;
          - a worker drops every token answer it kept when its channel
            to the keyholder closes (answers from another keyholder are
            not trusted), so cached tokens do NOT keep working: until
            the new keyholder is paired, a request that needs a token
            look-up is answered 503 "ghp cannot check tokens right now",
            in GitHub's shape, with Retry-After: 5, and audited as a
            deny ("token resolution failed", status 503); it is never
            forwarded, and no connection is dropped;
          - a request already past its look-up is answered as usual;
          - tokens live in the keyholder's database (ghp.db), so once
            the new keyholder is paired, every token resolves again:
            those in use, one never used before, one made afterwards.
        """
        g, tok = self.daemon(workers=2)
        unused, _ = g.new_token("alice", REPO, "contents:read")
        st = g.status()
        kh = g.keyholder_pid(st)
        workers = sorted(g.worker_pids(st))
        ld = self.load(g, tok, fwd=10, deny=2, fresh=2)
        ld.wait_every_client(ld.t_start)
        time.sleep(0.3)
        off = g.log_size()
        t_kill = time.monotonic()
        os.kill(kh, signal.SIGKILL)

        def paired():
            s = g.status()
            new = g.keyholder_pid(s)
            log = g.log_since(off)
            return (new if new not in (None, kh) and all(
                "worker 1.%d: keyholder channel up" % w["slot"] in log
                for w in g.procs(s, "worker")) else False)
        new_kh = g.wait_for(paired, LIVE_S, "a new keyholder paired with "
                            "every worker", interval=0.01)
        t_paired = time.monotonic()
        ld.wait_every_client(t_paired)
        time.sleep(0.3)
        ld.stop()

        self.assertNoFailures(ld, g)

        def unavailable(r):
            # The keyholder's absence, or, as thousands of those 503s are
            # audited in a second on a busy machine, the master falling
            # behind with the records (ghp.8: "busy writing its audit
            # log"): both are answers, with their Retry-After.
            return (r.status == 503 and r.shape_ok and
                    ((r.message == "ghp cannot check tokens right now" and
                      r.retry_after == "5") or
                     (r.message == "ghp is busy writing its audit log: "
                      "try again" and r.retry_after == "1")))
        self.assertAnswersAsExpected(ld, also=unavailable)
        refused = [r for r in ld.recs if r.ok and r.status == 503 and
                   r.message == "ghp cannot check tokens right now"]
        # None before the keyholder died; none asked once every worker
        # had its channel to the new one.
        self.assertTrue(all(r.t1 >= t_kill for r in refused), refused[:3])
        late = [r for r in refused if r.t0 >= t_paired]
        self.assertEqual(late, [], "503 after the new keyholder was paired")
        # The workers were left alone.
        self.assertEqual(sorted(g.worker_pids()), workers)
        self.assertFalse(pid_alive(kh))
        self.assertIn("keyholder pid %d killed by signal 9" % kh, g.log())
        # Each 503 was audited as such, and nothing but answered requests
        # reached GitHub: every 200 was forwarded once, with alice's
        # credential.
        def audited():
            return [x for x in read_json_lines(g.audit_path)
                    if x.get("reason") == "token resolution failed"]
        g.wait_for(lambda: len(audited()) >= len(refused), 10,
                   "an audit record for each 503")
        self.assertEqual(len(audited()), len(refused))
        self.assertTrue(all(x["decision"] == "deny" and x["status"] == 503
                            for x in audited()))
        served = sum(1 for r in ld.recs if r.ok and r.status == 200)
        recs = self.forwarded_to(g, served)
        self.assertEqual(len(recs), served)
        for x in recs:
            self.assertAuthorizationWas(x, "token ghp_realcredentialAAAA")
        # Tokens resolve again: the one in use, one never used, a new one.
        made_after, _ = g.new_token("alice", REPO, "contents:read")
        for t in (tok, unused, made_after):
            r = g.api("GET", FWD_PATH, t)
            self.assertEqual(r.status, 200, r)
        figure("keyholder SIGKILL", requests=len(ld.recs),
               rate_per_s=ld.rate(), answered_503=len(refused),
               unanswered=len(ld.failures()),
               paired_after_ms=round((t_paired - t_kill) * 1000),
               new_keyholder=new_kh)
        self.assertHealthy(g, killed=[kh])

    def forwarded_to(self, g, n, timeout=10):
        """The stand-in's records of forwarded load requests, once n have
        arrived (or the timeout passes)."""
        deadline = time.monotonic() + timeout
        while True:
            recs = [x for x in g.fake.requests(path_prefix=FWD_PATH)
                    if x.get("path") == FWD_PATH]
            if len(recs) >= n or time.monotonic() > deadline:
                return recs
            time.sleep(0.05)

    # ------------------------------------------------ 3. reloads

    def test_reloads_fail_no_request(self):
        g, tok = self.daemon(workers=2)
        kh = g.keyholder_pid()
        ld = self.load(g, tok, fwd=10, deny=2, fresh=3,
                       retry_unanswered=True)
        ld.wait_every_client(ld.t_start)
        seen = set(g.worker_pids())
        t_first = time.monotonic()
        for gen, n in ((2, 3), (3, 2), (4, 3), (5, 1), (6, 2)):
            g.write_config(workers=n)
            rc, out, err = g.reload()
            self.assertEqual(rc, 0, err)
            st = g.wait_ready(workers=n, generation=gen, timeout=LIVE_S)
            seen |= set(g.worker_pids(st))
            # Some load on each generation.
            ld.wait_answers(30, since=time.monotonic())
        current = set(g.worker_pids())
        g.wait_for(lambda: not any(pid_alive(p) for p in seen - current),
                   LIVE_S, "every older worker gone")
        ld.wait_every_client(time.monotonic())
        ld.stop()
        # Zero failures: every request answered, as it should be.  A
        # worker that drains closes its idle kept-alive connections, and
        # a client's next request may cross that FIN on the wire: such a
        # request, unanswered on a reused connection, was sent again on a
        # new one, as RFC 9112 9.3.1 allows and HTTP libraries do
        # (ld.retries; see Load).  Nothing else is retried: not a reset
        # without a FIN (a request ghp had received and dropped), not a
        # request on a fresh connection.
        self.assertNoFailures(ld, g)
        self.assertAnswersAsExpected(ld)
        during = [r for r in ld.recs if r.t0 >= t_first]
        self.assertGreater(len(during), 300, ld.summary())
        self.assertEqual(g.keyholder_pid(), kh, "a reload restarted the "
                         "keyholder")
        # Every forwarded request has its audit record.
        served = sum(1 for r in ld.recs if r.ok and r.status == 200)
        recs = self.forwarded_to(g, served)
        self.assertEqual(len(recs), served)
        allowed = g.wait_for(lambda: (lambda a: a if len(a) >= served
                                      else None)(
            [x for x in read_json_lines(g.audit_path)
             if x.get("decision") == "allow" and x.get("path") == FWD_PATH]),
            10, "an audit record for every forwarded request")
        self.assertEqual(len(allowed), served)
        figure("5 reloads", requests=len(ld.recs), rate_per_s=ld.rate(),
               during_reloads=len(during), failed=len(ld.failures()),
               retried_unanswered_keepalive=ld.retries,
               retried_by_kind=dict(collections.Counter(
                   r.kind for r in ld.recs if r.retried)))
        self.assertHealthy(g)

    # ------------------------------------------------ 4. upstream away

    def test_upstream_away_gives_502_then_recovers(self):
        g, tok = self.daemon(workers=2)
        master, workers = g.pid, sorted(g.worker_pids())
        port = g.fake.port
        ld = self.load(g, tok, fwd=10, deny=1, fresh=2)
        ld.wait_every_client(ld.t_start)
        # The upstream goes away: its process ends, its port is closed.
        t_down = time.monotonic()
        g.fake.close()
        t_gone = time.monotonic()
        ld.wait_answers(100, since=t_gone)
        time.sleep(1.0)
        # It comes back on the same port.
        t_back = time.monotonic()
        _, g.fake = spawn(["--config", os.path.join(g.dir, "fake.json"),
                           "--port", str(port)])
        t_up = time.monotonic()

        def recovered():
            fwd = [r for r in ld.recs if r.kind != "deny" and r.t0 >= t_up]
            return len(fwd) >= 20 and all(r.status == 200 for r in fwd[-20:])
        g.wait_for(recovered, LIVE_S, "forwarded requests answered 200 "
                   "again", interval=0.02)
        t_recovered = time.monotonic()
        ld.wait_every_client(t_recovered)

        # Connections reset by the upstream: 502 for those requests.
        t_faults = time.monotonic()
        g.fake.set_fault(20, "reset", match=FWD_PATH)
        g.wait_for(lambda: g.fake._call("GET", "faults") == [], LIVE_S,
                   "the upstream's resets used up", interval=0.05)
        t_faults_done = time.monotonic()
        ld.wait_every_client(t_faults_done)
        ld.stop()

        # ghp answers every request, except that an answer GitHub broke
        # off as it went away is broken off for the client too (so that
        # it cannot pass for complete).
        fails = ld.failures()
        self.assertEqual([r for r in fails if not (
            r.kind != "deny" and r.error.startswith("broken off") and
            r.t0 < t_gone and r.t1 >= t_down)][:10], [],
            "requests failed: %s" % ld.summary())

        def bad_gateway(r):
            return (r.kind != "deny" and r.status == 502 and r.shape_ok and
                    r.message == "GitHub could not be reached")
        self.assertAnswersAsExpected(ld, also=bad_gateway)
        away = [r for r in ld.recs if r.kind != "deny" and
                t_gone <= r.t0 and r.t1 <= t_back]
        self.assertGreater(len(away), 0)
        self.assertEqual({r.status for r in away}, {502},
                         "forwarded requests while the upstream was away")
        # No 502 before it went, none once it was back and answering.
        self.assertEqual([r for r in ld.recs if r.status == 502 and
                          r.t1 < t_down], [])
        # (A request under way when the resets were set up may meet one.)
        self.assertEqual([r for r in ld.recs if r.status == 502 and
                          t_recovered <= r.t0 and r.t1 < t_faults], [])
        # The upstream's resets cost at most one answer each (libcurl
        # may retry a request on a reused connection that died, which
        # uses up a second reset).
        reset = [r for r in ld.recs if r.status == 502 and
                 r.t1 >= t_faults]
        self.assertTrue(1 <= len(reset) <= 20, len(reset))
        self.assertEqual([r for r in ld.recs if r.status == 502 and
                          r.t0 >= t_faults_done], [])
        # ghp was not restarted.
        self.assertEqual(g.pid, master)
        self.assertEqual(sorted(g.worker_pids()), workers)
        figure("upstream away", requests=len(ld.recs), rate_per_s=ld.rate(),
               answered_502_while_away=len(away),
               recovered_after_ms=round((t_recovered - t_up) * 1000),
               answered_502_for_20_resets=len(reset), failed=len(fails))
        self.assertHealthy(g)

    # ------------------------------------------------ 5. audit disk full

    @unittest.skipUnless(os.path.exists("/dev/full"), "no /dev/full")
    def test_audit_disk_full_refuses_under_load(self):
        g, tok = self.daemon(workers=2, logs=False,
                             extra='log audit "/dev/full"\n')
        ld = self.load(g, tok, fwd=10, deny=2, fresh=2)

        def refusing():
            return next((r.t1 for r in list(ld.recs) if r.status == 503),
                        None)
        t_first = g.wait_for(refusing, LIVE_S, "a 503", interval=0.01)
        # Every worker has been told by now (the master tells them all
        # when the first write fails): from here on, refusals only, and
        # nothing forwarded.
        time.sleep(1.0)
        t_settled = time.monotonic()
        fwd_before = len(g.fake.requests(path_prefix=FWD_PATH))
        ld.wait_answers(200, since=t_settled)
        ld.wait_every_client(t_settled)
        fwd_after = len(g.fake.requests(path_prefix=FWD_PATH))
        t_reload = time.monotonic()
        # Space again (another file), and a reload: served again.
        good = os.path.join(g.dir, "audit.log")
        g.extra = 'log audit "%s"\n' % good
        g.write_config()
        rc, _, err = g.reload()
        self.assertEqual(rc, 0, err)
        g.wait_ready(generation=2, timeout=LIVE_S)
        t_reloaded = time.monotonic()
        ld.wait_every_client(t_reloaded)
        ld.stop()

        self.assertNoFailures(ld, g)

        def audit_refusal(r):
            return (r.status == 503 and r.shape_ok and
                    r.message == "ghp cannot write its audit log" and
                    r.retry_after == "5")
        self.assertAnswersAsExpected(ld, also=audit_refusal)
        settled = [r for r in ld.recs if t_settled <= r.t0 and
                   r.t1 <= t_reload]
        self.assertEqual(collections.Counter(r.status for r in settled),
                         {503: len(settled)})
        self.assertEqual(fwd_after, fwd_before, "forwarded while the "
                         "audit log could not be written")
        after = [r for r in ld.recs if r.t0 >= t_reloaded]
        self.assertTrue(after and all(r.status == EXPECTED[r.kind]
                                      for r in after),
                        ld.summary(after))
        self.assertTrue(any(x.get("decision") == "allow"
                            for x in read_json_lines(good)))
        # No record was ever written here: what reached GitHub went
        # unaudited, before the workers learnt that the log fails ("the
        # request whose record failed may already have been forwarded").
        figure("audit /dev/full, refuse", requests=len(ld.recs),
               rate_per_s=ld.rate(), forwarded_unaudited=fwd_before,
               answered_before_first_503=sum(1 for r in ld.recs
                                             if r.t1 < t_first),
               refused_503=sum(1 for r in ld.recs if r.status == 503))
        self.assertHealthy(g)

    @unittest.skipUnless(os.path.exists("/dev/full"), "no /dev/full")
    def test_audit_disk_full_serve_counts_every_lost_record(self):
        g, tok = self.daemon(workers=2, logs=False, metrics=True,
                             extra='log audit "/dev/full" '
                             'unwritable serve\n')
        ld = self.load(g, tok, fwd=10, deny=2, fresh=2)
        ld.wait_every_client(ld.t_start)
        ld.wait_answers(2000)
        ld.stop()
        self.assertNoFailures(ld, g)
        self.assertAnswersAsExpected(ld)
        # One audit record per decision, each one lost and counted.
        decided = sum(1 for r in ld.recs if r.ok)

        def lost():
            for line in g.metrics().body.decode().splitlines():
                if line.startswith("ghp_audit_records_lost_total "):
                    return int(line.split()[1])
            return -1
        # The master counts as it writes: wait until it has them all, or
        # until the count stops moving (then it is compared as it is).
        seen = [lost(), time.monotonic()]

        def counted():
            n = lost()
            if n != seen[0]:
                seen[:] = [n, time.monotonic()]
            return n >= decided or time.monotonic() - seen[1] > 2.0
        g.wait_for(counted, LIVE_S, "%d lost records counted" % decided,
                   interval=0.1)
        time.sleep(0.2)
        self.assertEqual(lost(), decided, "ghp_audit_records_lost_total "
                         "against the requests decided (and answered)")
        self.assertEqual(g.log().count("records are lost"), 1)
        figure("audit /dev/full, serve", requests=len(ld.recs),
               rate_per_s=ld.rate(), lost_counted=lost())
        self.assertHealthy(g)

    # ------------------------------------------------ 6. hostile clients

    HOSTILE_CONF = "header timeout 3\nsend timeout 4\n"
    HEADER_TIMEOUT_S = 3
    SEND_TIMEOUT_S = 4

    def hostile_daemon(self):
        g, tok = self.daemon(workers=1, extra=self.HOSTILE_CONF)
        return g, tok, g.worker_pids()[0]

    def well_behaved(self, g, tok):
        """One kept-alive and one fresh-connection client."""
        return self.load(g, tok, fwd=1, deny=0, fresh=1)

    def assertWellServed(self, ld, g, since, until):
        """The well-behaved clients: no failure, right answers, many of
        them while the hostile ones were at it, none slower than the
        liveness bound."""
        self.assertNoFailures(ld, g)
        self.assertAnswersAsExpected(ld)
        during = [r for r in ld.recs if since <= r.t0 and r.t1 <= until]
        self.assertGreaterEqual(len(during), 10, ld.summary())
        slowest = max(r.t1 - r.t0 for r in ld.recs)
        self.assertLess(slowest, 5.0, "a well-behaved request took %.1fs"
                        % slowest)
        return during, slowest

    def worker_connections(self, g):
        return sum(w["connections"] for w in g.procs(g.status(), "worker"))

    def test_slowloris_is_cut_at_the_header_timeout(self):
        g, tok, worker = self.hostile_daemon()
        ld = self.well_behaved(g, tok)
        ld.wait_every_client(ld.t_start)
        head = ("GET %s HTTP/1.1\r\nHost: api.github.com\r\nUser-Agent: "
                "slowloris\r\nAuthorization: token %s\r\nX-Pad: %s\r\n\r\n"
                % (FWD_PATH, tok, "x" * 64)).encode()
        n = 300
        socks = {}
        t_open = time.monotonic()
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", g.port), timeout=10)
            s.setblocking(False)
            socks[s] = {"opened": time.monotonic(), "sent": 0, "got": b"",
                        "closed": None}
        # A header byte a second each: every byte comes well within the
        # header timeout of the one before, so only a timeout on the
        # whole head cuts them.
        deadline = t_open + self.HEADER_TIMEOUT_S + LIVE_S
        next_byte = time.monotonic()
        try:
            while time.monotonic() < deadline:
                open_ = [s for s, st in socks.items()
                         if st["closed"] is None]
                if not open_:
                    break
                if time.monotonic() >= next_byte:
                    for s in open_:
                        st = socks[s]
                        try:
                            st["sent"] += s.send(
                                head[st["sent"]:st["sent"] + 1])
                        except (BlockingIOError, InterruptedError):
                            pass
                        except OSError:
                            pass        # cut: the read below sees it
                    next_byte += 1.0
                r, _, _ = select.select(open_, [], [], 0.05)
                for s in r:
                    st = socks[s]
                    try:
                        b = s.recv(65536)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        b = b""
                    if b:
                        st["got"] += b
                    else:
                        st["closed"] = time.monotonic()
        finally:
            for s in socks:
                s.close()
        t_done = time.monotonic()
        # The well-behaved clients a little longer, then stop.
        ld.wait_answers(5, since=t_done)
        ld.stop()
        states = list(socks.values())
        still = [st for st in states if st["closed"] is None]
        self.assertEqual(len(still), 0, "%d of %d slowloris connections "
                         "still open after %.0fs" % (len(still), n,
                                                     deadline - t_open))
        # Cut with a 408 in GitHub's shape, never having sent a whole
        # head (the head is far longer than the bytes sent).
        for st in states:
            self.assertLess(st["sent"], len(head))
            self.assertTrue(st["got"].startswith(b"HTTP/1.1 408 "),
                            st["got"][:200])
        held = [st["closed"] - st["opened"] for st in states]
        during, slowest = self.assertWellServed(ld, g, t_open, t_done)
        self.assertEqual(g.worker_pids(), [worker])
        g.wait_for(lambda: self.worker_connections(g) == 0, LIVE_S,
                   "no connection left")
        figure("slowloris", connections=n,
               held_s="%.1f..%.1f" % (min(held), max(held)),
               bytes_sent_max=max(st["sent"] for st in states),
               well_behaved_answers=len(during),
               well_behaved_slowest_ms=round(slowest * 1000))
        self.assertHealthy(g)

    def test_clients_that_never_read_do_not_grow_the_worker(self):
        g, tok, worker = self.hostile_daemon()
        # Warm up: one large answer read whole, so that the worker's
        # buffers and code for streaming are in use before the baseline.
        with HttpConn("127.0.0.1", g.port, 30) as c:
            c.request("GET", BYTES_PATH % (8 * MiB),
                      [("Host", "api.github.com"),
                       ("Authorization", "token " + tok)])
            r = c.read_response("GET", sink=lambda b: None)
            self.assertEqual((r.status, r.body_length), (200, 8 * MiB))
        ld = self.well_behaved(g, tok)
        ld.wait_every_client(ld.t_start)
        size = 256 * MiB
        k = 8
        req = build_request("GET", BYTES_PATH % size, [
            ("Host", "api.github.com"), ("Authorization", "token " + tok)])
        sleepers = []
        self.addCleanup(lambda: [s.close() for s in sleepers])

        def held():
            """The sleepers' connections the worker still holds."""
            return ports & set(conn_owners(g.port, [worker]))
        with RssWatch(worker) as w:
            t_open = time.monotonic()
            for _ in range(k):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
                s.settimeout(10)
                s.connect(("127.0.0.1", g.port))
                s.sendall(req)
                sleepers.append(s)
            ports = {s.getsockname()[1] for s in sleepers}
            g.wait_for(lambda: held() == ports, LIVE_S,
                       "the worker to take the clients that do not read")
            # They read nothing.  ghp must stop reading GitHub's answer
            # for them, and drop them once the send timeout passes.
            g.wait_for(lambda: not held(), self.SEND_TIMEOUT_S + LIVE_S,
                       "the clients that do not read cut off", interval=0.1)
            t_cut = time.monotonic()
        # What the worker still held for them then: the answers are far
        # from whole (each is 256 MiB).
        got = 0
        for s in sleepers:
            s.settimeout(5)
            try:
                while True:
                    b = s.recv(1 << 20)
                    if not b:
                        break
                    got += len(b)
            except OSError:
                pass
            s.close()
        ld.wait_answers(5, since=time.monotonic())
        ld.stop()
        during, slowest = self.assertWellServed(ld, g, t_open, t_cut)
        self.assertEqual(g.worker_pids(), [worker])
        self.assertLess(got, k * size // 4)
        growth = w.peak - w.before
        figure("clients that never read", clients=k, answer_mib=size // MiB,
               cut_after_s=round(t_cut - t_open, 1),
               rss_before_kb=w.before, rss_peak_kb=w.peak,
               rss_growth_kb=growth, received_before_cut_mib=round(
                   got / MiB, 1), well_behaved_answers=len(during),
               well_behaved_slowest_ms=round(slowest * 1000))
        if not SANITIZED:
            self.assertLess(growth, NONREADER_RSS_GROWTH_KB,
                            "worker %d grew from %d to %d kB" % (
                                worker, w.before, w.peak))
        self.assertHealthy(g)

    def test_thousand_dropped_connections(self):
        g, tok, worker = self.hostile_daemon()
        auth = [("Host", "api.github.com"), ("Authorization", "token " + tok)]
        full_slow = build_request("GET", SLOW_PATH % 1500, auth)
        full_big = build_request("GET", BYTES_PATH % (64 * MiB), auth)
        half = full_slow[:len(full_slow) // 2]

        def rst(s):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
            s.close()

        def wave(n):
            """n connections: opened, then dropped five ways."""
            socks = []
            for i in range(n):
                s = socket.create_connection(("127.0.0.1", g.port),
                                             timeout=10)
                socks.append((i % 5, s))
            for how, s in socks:
                try:
                    if how in (1, 2):
                        s.sendall(half)             # mid-head
                    elif how == 3:
                        s.sendall(full_slow)        # waiting on GitHub
                    elif how == 4:
                        s.sendall(full_big)         # mid-answer
                except OSError:
                    pass
            time.sleep(0.3)
            for how, s in socks:
                try:
                    if how == 4:
                        s.recv(65536)
                        rst(s)
                    elif how == 2:
                        rst(s)
                    else:
                        s.close()
                except OSError:
                    s.close()

        def settled():
            return self.worker_connections(g) == 0
        # Warm up with a small dose, then the baseline.
        wave(50)
        g.wait_for(settled, LIVE_S, "the warm-up's connections gone")
        time.sleep(0.3)
        base = rss_kb(worker)
        ld = self.well_behaved(g, tok)
        ld.wait_every_client(ld.t_start)
        t_open = time.monotonic()
        with RssWatch(worker) as w:
            for _ in range(10):
                wave(100)
            t_dropped = time.monotonic()
            ld.wait_answers(5, since=t_dropped)
            ld.stop()
            g.wait_for(settled, LIVE_S, "every dropped connection gone")
            t_settled = time.monotonic()
        # The worker gives the memory back a second after the closes.
        time.sleep(1.5)
        after = rss_kb(worker)
        during, slowest = self.assertWellServed(ld, g, t_open, t_dropped)
        self.assertEqual(g.worker_pids(), [worker])
        self.assertEqual(g.api("GET", FWD_PATH, tok).status, 200)
        figure("1000 dropped connections", rss_base_kb=base,
               rss_peak_kb=w.peak, rss_after_kb=after,
               settled_after_s=round(t_settled - t_dropped, 1),
               well_behaved_answers=len(during),
               well_behaved_slowest_ms=round(slowest * 1000))
        if not SANITIZED:
            self.assertLess(after - base, CHURN_RSS_MARGIN_KB,
                            "worker %d: %d kB before, %d kB after" % (
                                worker, base, after))
        self.assertHealthy(g)


if __name__ == "__main__":
    unittest.main()
