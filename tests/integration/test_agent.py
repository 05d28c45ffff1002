"""
test_agent.py: agents' client tokens ("gha_"), backed by GitHub App
installation tokens that the keyholder mints (ghp.conf(5) APPS, ghp(8)),
seen from both ends: the client's answer and the fake GitHub's records of
what crossed ghp (the mint requests with their bodies, the installation
token on the forwarded requests).

- the mint: signed with the App's key (the fake verifies the JWT), asked
  for exactly the agent token's repositories (none named for account/*)
  and permissions; one mint serves many requests, both workers and every
  agent token of the same scope; another scope mints again; a token
  within five minutes of its expiry is minted anew; concurrent first
  requests share one mint (single flight);
- the App's private key is open in no worker, mapped by none, and not
  kept open by the keyholder;
- REST through an agent token: ghp's scope check still comes first (a
  refused request never reaches GitHub), the forwarded request carries
  the minted ghs_ token, never the gha_ token or the JWT, and GitHub
  enforces the down-scoped token on its own;
- two Apps installed on one account: traffic moves to the other when the
  first answers "rate limit exceeded", and comes back after its reset;
- mint failures (401 bad JWT, 404 unknown installation, 5xx retried or
  persistent, no answer): a 502 in GitHub's shape with GitHub's reason,
  a line in the daemon log, the same answer held for a second, and
  recovery once GitHub is well again;
- agent tokens spanning two accounts are refused when created; an
  account with no installation (configured or found by asking the Apps)
  gets a 502 naming it;
- GraphQL with a gha_ token never sends the gha_ token upstream;
- no gha_ token, ghs_ token or JWT in the daemon log (-vv), the audit
  log, the access log or the state directory.

The one slow scenario (a mint that gets no answer: ghp's MINT_TIMEOUT is
10 s, tried MINT_TRIES times) runs on a daemon of its own in a
background thread started by setUpModule, so that the file takes about
as long as that scenario rather than the sum of everything.

Run with tests/integration/run_all.py (or python3 -m unittest from this
directory).
"""

import base64
import json
import os
import re
import threading
import time
import unittest

from harness import IS_ROOT, NEED_ROOT, Ghp, app_key, request
from proxy_case import (AGENT_RE, BLOCK, ProxyCase, read_json_lines,
                        start_proxy, worker_pid_of)

# keyholder/mint.h
MINT_RENEW = 300
MINT_TRIES = 3
MINT_FAIL_HOLD = 1
MINT_TIMEOUT = 5
# worker/tcache.h: how long a worker trusts the keyholder's answer.
TCACHE_TTL = 5

APP_ID, INST = 123, 987             # "agents", installed on acme
BAD_APP_ID, BAD_INST = 124, 990     # registered with another public key
LOST_APP_ID, LOST_INST = 125, 991   # an installation GitHub does not know

APPS = [
    {"name": "agents", "id": APP_ID, "installations": [(INST, "acme")]},
    {"name": "badkey", "id": BAD_APP_ID,
     "installations": [(BAD_INST, "wrongco")], "wrong_key": True},
    {"name": "lost", "id": LOST_APP_ID,
     "installations": [(LOST_INST, "lostco")],
     "fake": {"installations": {}}},
]

JSON_CT = {"Content-Type": "application/json"}
JWT_RE = re.compile(r"eyJ[0-9A-Za-z_-]+\.[0-9A-Za-z_-]+\.[0-9A-Za-z_-]+")
GHS_RE = re.compile(r"ghs_[0-9A-Za-z]{20,}")
DOTS = "\u2026"


# ------------------------------------------------------------ helpers


def agent_token(g, repos, perms, owner="robot", *more):
    """ghpctl token create --type agent; returns the gha_ token."""
    rc, out, err = g.ctl("token", "create", "--type", "agent", "--owner",
                         owner, "--repo", repos, "--perm", perms, *more)
    if rc != 0:
        raise AssertionError("agent token create %s %s: exit %d: %s" %
                             (repos, perms, rc, err.strip()))
    return out.strip()


def next_seq(g):
    """The seq the fake's next record will have."""
    recs = g.fake.requests()
    return recs[-1]["seq"] + 1 if recs else 0


def is_mint(rec):
    return rec["method"] == "POST" and \
        rec["path"].startswith("/app/installations/") and \
        rec["path"].endswith("/access_tokens")


def mints(g, since=0, inst=None, body=None):
    """The mint requests since seq (of an installation; with that body,
    compared as JSON)."""
    out = []
    for r in g.fake.requests(since=since):
        if not is_mint(r):
            continue
        if inst is not None and \
                r["path"] != "/app/installations/%d/access_tokens" % inst:
            continue
        if body is not None and mint_body(r) != body:
            continue
        out.append(r)
    return out


def mint_body(rec):
    try:
        return json.loads(rec.get("body") or "{}")
    except ValueError:
        return {"unparsable": rec.get("body")}


def is_app_call(rec):
    """A request of ghp's own to GitHub as the App (with a JWT): a mint,
    or a listing of installations."""
    return rec["path"] == "/app" or rec["path"].startswith("/app/")


def forwarded(g, since=0):
    """The records since seq that are not the App's own calls."""
    return [r for r in g.fake.requests(since=since) if not is_app_call(r)]


def auth_values(rec):
    return [v for k, v in rec["headers"] if k.lower() == "authorization"]


def credential_of(rec):
    """The credential in a record's one Authorization header (token X,
    Bearer X), or None."""
    vals = auth_values(rec)
    if len(vals) != 1:
        return None
    parts = vals[0].split(None, 1)
    if len(parts) != 2 or parts[0].lower() not in ("token", "bearer"):
        return None
    return parts[1].strip()


def minted_prefixes(g, app_id=APP_ID):
    """{mint record seq: first 8 characters of the token it answered}."""
    for a in g.fake.apps():
        if a["app_id"] == app_id:
            return {t["seq"]: t["token_prefix"] for t in a["tokens"]}
    return {}


def all_minted_tokens(g):
    """Every installation token the fake minted, in full.  The public
    apps() shows 8 characters only; the in-process fake holds them."""
    out = []
    with g.fake.lock:
        for app in g.fake._apps.values():
            out += [t["token"] for t in app["tokens"]]
    return out


def jwt_parts(jwt):
    def dec(s):
        return json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))
    h, c, _ = jwt.split(".")
    return dec(h), dec(c)


def parallel(fn, n, timeout=60):
    """fn(i) in n threads released together; their results, in order
    (an exception is returned in place of its result)."""
    barrier = threading.Barrier(n)
    out = [None] * n

    def run(i):
        try:
            barrier.wait(timeout)
            out[i] = fn(i)
        except Exception as e:  # noqa: BLE001 (reported by the caller)
            out[i] = e
    ts = [threading.Thread(target=run, args=(i,), daemon=True)
          for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout)
    return out


def direct(g, method, path, cred, body=None):
    """A request straight to the fake (not through ghp) with cred."""
    items = [("Host", "127.0.0.1:%d" % g.fake.port),
             ("User-Agent", "ghp-integration"),
             ("Accept", "application/vnd.github+json"),
             ("Authorization", "token " + cred)]
    if body is not None:
        items.append(("Content-Type", "application/json"))
    return request("127.0.0.1", g.fake.port, method, path, items, body)


class AgentCase(ProxyCase):

    def assertMintFailure(self, r, *reason):
        """502 in GitHub's shape whose message carries GitHub's reason."""
        return self.assertGitHubError(r, 502, *reason)

    def assertLogLine(self, g, offset, *needles, timeout=5.0):
        """A line of the daemon log written since offset holds every one
        of needles."""
        def found():
            return [l for l in g.log_since(offset).splitlines()
                    if all(n in l for n in needles)]
        try:
            return g.wait_for(found, timeout, "a log line with %r" %
                              (needles,))
        except AssertionError:
            self.fail("no line of the daemon log since the request holds "
                      "all of %r; the log since:\n%s" %
                      (needles, g.log_since(offset)))

    def forwarded_since(self, g, since, n, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            recs = forwarded(g, since)
            if len(recs) >= n and all(r.get("complete") for r in recs):
                return recs
            if time.monotonic() > deadline:
                return recs
            time.sleep(0.01)

    def workers_of(self, g, token, n, timeout=10.0):
        """The worker pids that answered token's requests, from the
        audit log, once it holds n records of it."""
        disp = token[:8] + DOTS

        def got():
            recs = [x for x in read_json_lines(g.audit_path)
                    if x.get("token") == disp]
            return recs if len(recs) >= n else None
        recs = g.wait_for(got, timeout, "%d audit records of %s" %
                          (n, disp))
        return {worker_pid_of(x["request_id"]) for x in recs}


# ------------------------------------------------- the hung mint (slow)

_hang = {}


def _hang_scenario():
    """A mint that never gets an answer; then GitHub recovers."""
    g = _hang["g"]
    out = _hang["out"]
    try:
        tok = agent_token(g, "acme/widgets", "issues:write")
        out["token"] = tok
        out["offset"] = g.log_size()
        out["since"] = next_seq(g)
        g.fake.set_fault(1000, "hang", match="access_tokens")
        t0 = time.monotonic()
        bound = MINT_TRIES * (MINT_TIMEOUT + 1) + 15
        try:
            out["r"] = g.api("GET", "/repos/acme/widgets", tok,
                             timeout=bound)
        except OSError as e:
            out["r"] = e
        out["took"] = time.monotonic() - t0
        out["bound"] = bound
        g.fake.clear_faults()
        time.sleep(MINT_FAIL_HOLD + 0.2)
        try:
            out["after"] = g.api("GET", "/repos/acme/widgets", tok,
                                 timeout=bound)
        except OSError as e:
            out["after"] = e
    except Exception as e:  # noqa: BLE001 (reported by the test)
        out["error"] = e
    finally:
        _hang["done"].set()


def setUpModule():
    g = Ghp(workers=2, verbose=2, upstream=True, block_tokens=BLOCK,
            logs=True, apps=APPS[:1])
    _hang.update(g=g, out={}, done=threading.Event())
    g.start()
    threading.Thread(target=_hang_scenario, name="hung-mint",
                     daemon=True).start()


def tearDownModule():
    g = _hang.get("g")
    if g is not None:
        g.cleanup()


class MintTimeoutTest(AgentCase):
    """ghp.conf(5): "A mint that gets no answer or a 5xx is tried up to
    three times; when it fails, the client gets a 502 with GitHub's
    reason"; then, GitHub well again, a second later the next request
    works."""

    def test_hung_mint_gives_502_then_recovers(self):
        out = _hang["out"]
        self.assertTrue(_hang["done"].wait(
            MINT_TRIES * (MINT_TIMEOUT + 1) + 40),
            "the hung-mint scenario did not finish")
        if "error" in out:
            raise out["error"]
        g = _hang["g"]
        r = out["r"]
        self.assertNotIsInstance(r, Exception, "no answer within %ds: %r"
                                 % (out["bound"], r))
        msg = self.assertMintFailure(r)
        self.assertRegex(msg.lower(), r"timed? ?out",
                         "the 502 does not say GitHub did not answer")
        self.assertLessEqual(out["took"], out["bound"])
        self.assertTrue(mints(g, out["since"], INST),
                        "no mint reached the fake")
        self.assertLogLine(g, out["offset"], str(INST), "timed out")
        self.assertNotIsInstance(out["after"], Exception)
        self.assertEqual(out["after"].status, 200,
                         "%r: after the hang was cleared and %ss, the "
                         "next request failed" % (out["after"],
                                                  MINT_FAIL_HOLD + 0.2))
        self.assertEqual(g.fake.find(out["token"]), [])


# ------------------------------------------------- one App, one daemon


class AgentTest(AgentCase):

    @classmethod
    def setUpClass(cls):
        cls.g = start_proxy(cls, workers=2, credential=False, verbose=2,
                            apps=APPS)
        cls.tokens = []         # every gha_ token made, for the log check

    def setUp(self):
        self.since = next_seq(self.g)
        self.offset = self.g.log_size()

    def token(self, repos, perms):
        tok = agent_token(self.g, repos, perms)
        self.tokens.append(tok)
        return tok

    def get(self, path, tok, **kw):
        return self.g.api("GET", path, tok, **kw)

    def one_mint(self, body, inst=INST, since=None):
        """The one mint since the test began with that body."""
        ms = mints(self.g, self.since if since is None else since, inst,
                   body)
        self.assertEqual(len(ms), 1, "mints of %s: %s" % (
            body, [(m["path"], m.get("body"), m.get("status"))
                   for m in mints(self.g, self.since)]))
        return ms[0]

    # ---- the mint: signed, down-scoped

    def test_token_has_the_agent_shape(self):
        self.assertRegex(self.token("acme/widgets", "issues:read"),
                         AGENT_RE)

    def test_mint_is_signed_and_down_scoped_to_named_repositories(self):
        tok = self.token("acme/widgets,acme/gadgets",
                         "contents:read,issues:write")
        r = self.get("/repos/acme/gadgets/issues/1", tok)
        self.assertEqual(r.status, 200, r)
        ms = mints(self.g, self.since)
        self.assertEqual(len(ms), 1, ms)
        m = ms[0]
        self.assertEqual(m["path"],
                         "/app/installations/%d/access_tokens" % INST)
        self.assertEqual(m["status"], 201, m)
        # The fake verified the JWT with the App's public key.
        self.assertEqual(m.get("app_id"), APP_ID)
        jwt = credential_of(m)
        self.assertTrue(auth_values(m)[0].startswith("Bearer "))
        head, claims = jwt_parts(jwt)
        self.assertEqual(head.get("alg"), "RS256")
        self.assertEqual(str(claims.get("iss")), str(APP_ID))
        body = mint_body(m)
        self.assertEqual(set(body), {"repositories", "permissions"}, body)
        self.assertEqual(sorted(body["repositories"]),
                         ["gadgets", "widgets"])
        self.assertEqual(body["permissions"],
                         {"contents": "read", "issues": "write"})
        # What the fake minted is that, and what was forwarded is it.
        app = [a for a in self.g.fake.apps() if a["app_id"] == APP_ID][0]
        t = [x for x in app["tokens"] if x["seq"] == m["seq"]][0]
        self.assertEqual(t["repository_selection"], "selected")
        self.assertEqual(sorted(t["repositories"]), ["gadgets", "widgets"])
        rec = self.forwarded_since(self.g, self.since, 1)[0]
        self.assertEqual(credential_of(rec)[:8], t["token_prefix"])
        self.assertEqual(rec["login"], "agents[bot]")

    def test_mint_for_account_star_names_no_repositories(self):
        tok = self.token("acme/*", "pull_requests:read")
        r = self.get("/repos/acme/widgets/pulls", tok)
        self.assertEqual(r.status, 200, r)
        m = self.one_mint({"permissions": {"pull_requests": "read"}})
        self.assertNotIn("repositories", mint_body(m))
        self.assertNotIn("repository_ids", mint_body(m))
        app = [a for a in self.g.fake.apps() if a["app_id"] == APP_ID][0]
        t = [x for x in app["tokens"] if x["seq"] == m["seq"]][0]
        self.assertEqual(t["repository_selection"], "all")

    # ---- reuse, renewal, single flight

    def test_one_mint_serves_requests_workers_and_tokens_of_a_scope(self):
        scope = ("acme/gadgets", "issues:read")
        body = {"repositories": ["gadgets"],
                "permissions": {"issues": "read"}}
        toks = [self.token(*scope) for _ in range(3)]
        pids = set(self.g.worker_pids())
        self.assertEqual(len(pids), 2)
        # Concurrent connections until both workers have served toks[0].
        n = 0
        for _ in range(8):
            got = parallel(lambda i: self.get(
                "/repos/acme/gadgets/issues/%d" % (i % 5 + 1), toks[0]), 12)
            n += len(got)
            for r in got:
                self.assertNotIsInstance(r, Exception)
                self.assertEqual(r.status, 200, r)
            if self.workers_of(self.g, toks[0], n) >= pids:
                break
        self.assertEqual(self.workers_of(self.g, toks[0], n), pids,
                         "both workers should have served the token")
        for tok in toks[1:]:
            for i in range(3):
                r = self.get("/repos/acme/gadgets/issues/%d" % (i + 1), tok)
                self.assertEqual(r.status, 200, r)
        m = self.one_mint(body)
        recs = self.forwarded_since(self.g, self.since, n + 6)
        self.assertEqual(len(recs), n + 6)
        creds = {credential_of(x) for x in recs}
        self.assertEqual(len(creds), 1, "several credentials forwarded")
        cred = creds.pop()
        self.assertEqual(cred[:8], minted_prefixes(self.g)[m["seq"]])
        # Another scope (issues:write) is another installation token.
        other = self.token("acme/gadgets", "issues:write")
        since = next_seq(self.g)
        r = self.get("/repos/acme/gadgets/issues/1", other)
        self.assertEqual(r.status, 200, r)
        m2 = self.one_mint({"repositories": ["gadgets"],
                            "permissions": {"issues": "write"}},
                           since=since)
        rec = self.forwarded_since(self.g, since, 1)[0]
        self.assertNotEqual(credential_of(rec), cred)
        self.assertEqual(credential_of(rec)[:8],
                         minted_prefixes(self.g)[m2["seq"]])
        self.assertEqual(len(mints(self.g, self.since)), 2)

    def test_same_scope_written_in_another_order_shares_the_mint(self):
        """The same repositories and permissions, listed in another
        order, are the same scope: one installation token."""
        a = self.token("acme/widgets,acme/gadgets", "checks:read,"
                       "statuses:read")
        b = self.token("acme/gadgets,acme/widgets", "statuses:read,"
                       "checks:read")
        for tok in (a, b):
            r = self.get("/repos/acme/widgets", tok)
            self.assertEqual(r.status, 200, r)
        ms = mints(self.g, self.since)
        self.assertEqual(len(ms), 1, "mints for one scope: %s" %
                         [m.get("body") for m in ms])
        body = mint_body(ms[0])
        self.assertEqual(sorted(body["repositories"]),
                         ["gadgets", "widgets"])
        self.assertEqual(body["permissions"],
                         {"checks": "read", "statuses": "read"})

    def test_concurrent_first_requests_share_one_mint(self):
        tok = self.token("acme/widgets", "pull_requests:write")
        # A slow mint, so that every request arrives while it is pending.
        self.g.fake.set_fault(1, "delay", match="access_tokens",
                              delay_ms=1500)
        self.addCleanup(self.g.fake.clear_faults)
        n = 24
        got = parallel(lambda i: self.get("/repos/acme/widgets/pulls",
                                          tok, timeout=30), n)
        for r in got:
            self.assertNotIsInstance(r, Exception)
            self.assertEqual(r.status, 200, r)
        ms = mints(self.g, self.since)
        self.assertEqual(len(ms), 1, "%d concurrent first requests made "
                         "%d mints" % (n, len(ms)))
        self.assertEqual(mint_body(ms[0]), {
            "repositories": ["widgets"],
            "permissions": {"pull_requests": "write"}})
        recs = self.forwarded_since(self.g, self.since, n)
        self.assertEqual(len(recs), n)
        self.assertEqual(len({credential_of(x) for x in recs}), 1)
        # Both workers asked the keyholder: the one mint is its doing.
        self.assertEqual(self.workers_of(self.g, tok, n),
                         set(self.g.worker_pids()),
                         "the concurrent requests all went to one worker")

    def test_token_near_expiry_is_minted_anew(self):
        """With a lifetime of MINT_RENEW + 2 s the cached token is within
        five minutes of expiry two seconds after the mint: once the
        worker's own cache (TCACHE_TTL) lets go, a new mint happens, and
        requests carry the new token."""
        self.g.fake.set_token_lifetime(MINT_RENEW + 2, app_id=APP_ID)
        self.addCleanup(self.g.fake.set_token_lifetime, 3600,
                        app_id=APP_ID)
        tok = self.token("acme/widgets", "deployments:read")
        body = {"repositories": ["widgets"],
                "permissions": {"deployments": "read"}}
        # Due after ~2 s + TCACHE_TTL; generous on a loaded machine.
        deadline = time.monotonic() + 2 + TCACHE_TTL + 15
        seen = []
        while True:
            r = self.get("/repos/acme/widgets", tok)
            self.assertEqual(r.status, 200, r)
            seen.append(credential_of(self.forwarded_since(
                self.g, self.since, len(seen) + 1)[-1]))
            if len(mints(self.g, self.since, INST, body)) >= 2 or \
                    time.monotonic() > deadline:
                break
            time.sleep(0.25)
        ms = mints(self.g, self.since, INST, body)
        self.assertEqual(len(ms), 2, "no new mint within %ds of a token "
                         "expiring in %ds" % (2 + TCACHE_TTL + 15,
                                              MINT_RENEW + 2))
        # The first token served several requests before the renewal.
        self.assertGreaterEqual(seen.count(seen[0]), 2, seen)
        # Requests carry the new token once the other worker's cache lets
        # go of the old one too.
        new = minted_prefixes(self.g)[ms[1]["seq"]]
        deadline = time.monotonic() + TCACHE_TTL + 10
        while True:
            since = next_seq(self.g)
            r = self.get("/repos/acme/widgets", tok)
            self.assertEqual(r.status, 200, r)
            last = credential_of(self.forwarded_since(self.g, since, 1)[-1])
            if last[:8] == new or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        self.assertNotEqual(last, seen[0])
        self.assertEqual(last[:8], new)

    # ---- the App's key stays in the keyholder's memory

    @unittest.skipUnless(IS_ROOT, NEED_ROOT)
    def test_key_file_is_open_in_no_worker_nor_kept_by_keyholder(self):
        keys = {os.path.realpath(a["key_path"]) for a in self.g.apps}
        # Traffic first, so that a key read on demand would show.
        tok = self.token("acme/widgets", "metadata:read")
        self.assertEqual(self.get("/repos/acme/widgets", tok).status, 200)
        st = self.g.status()

        def fds(pid):
            d = "/proc/%d/fd" % pid
            out = set()
            for fd in os.listdir(d):
                try:
                    out.add(os.readlink(os.path.join(d, fd)))
                except OSError:
                    pass
            return out
        workers = self.g.worker_pids(st)
        self.assertEqual(len(workers), 2)
        for pid in workers:
            self.assertEqual(fds(pid) & keys, set(),
                             "worker %d has the App key open" % pid)
            with open("/proc/%d/maps" % pid) as f:
                maps = f.read()
            for k in keys:
                self.assertNotIn(k, maps, "worker %d maps %s" % (pid, k))
        kh = self.g.keyholder_pid(st)
        self.assertIsNotNone(kh)
        self.assertEqual(fds(kh) & keys, set(),
                         "the keyholder keeps the App key open")

    # ---- REST, ghp's scope first, GitHub's enforcement

    def test_rest_through_an_agent_token(self):
        tok = self.token("acme/widgets", "issues:write")
        r = self.get("/repos/acme/widgets", tok)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(json.loads(r.body)["full_name"], "acme/widgets")
        body = json.dumps({"title": "from an agent"}).encode()
        r = self.g.api("POST", "/repos/acme/widgets/issues", tok,
                       headers=JSON_CT, body=body)
        self.assertEqual(r.status, 201, r)
        issue = json.loads(r.body)
        self.assertEqual(issue["title"], "from an agent")
        self.assertEqual(issue["user"]["login"], "agents[bot]")
        m = self.one_mint({"repositories": ["widgets"],
                           "permissions": {"issues": "write"}})
        recs = self.forwarded_since(self.g, self.since, 2)
        self.assertEqual([(x["method"], x["path"]) for x in recs],
                         [("GET", "/repos/acme/widgets"),
                          ("POST", "/repos/acme/widgets/issues")])
        prefix = minted_prefixes(self.g)[m["seq"]]
        for rec in recs:
            self.assertEqual(len(auth_values(rec)), 1, rec["headers"])
            cred = credential_of(rec)
            self.assertTrue(cred.startswith("ghs_"), rec["headers"])
            self.assertEqual(cred[:8], prefix)
            self.assertEqual(rec["login"], "agents[bot]")
            self.assertEqual(rec["body"] or "", "" if rec["method"] ==
                             "GET" else body.decode())
        self.assertEqual(recs[1]["body"], body.decode())
        # Never the client token; the JWT only on the App's own calls
        # (RS256 signs alike: two in one second carry the same JWT).
        self.assertEqual(self.g.fake.find(tok), [])
        self.assertEqual(self.g.fake.find("gha_"), [])
        jwt = credential_of(m)
        self.assertEqual([(x["method"], x["path"]) for x in
                          self.g.fake.find(jwt) if not is_app_call(x)], [])
        for rec in recs:
            self.assertNotRegex(" ".join(auth_values(rec)), JWT_RE)

    def test_scope_check_comes_first_and_github_enforces_too(self):
        tok = self.token("acme/widgets", "issues:write")
        self.assertEqual(self.get("/repos/acme/widgets/issues/1",
                                  tok).status, 200)
        cred = credential_of(self.forwarded_since(self.g, self.since,
                                                  1)[-1])
        self.assertTrue(cred and cred.startswith("ghs_"), cred)
        refused = [
            ("GET", "/repos/acme/gadgets", None),
            ("GET", "/repos/octo/public", None),
            ("POST", "/repos/acme/gadgets/issues", b'{"title":"x"}'),
            ("PUT", "/repos/acme/widgets/contents/README.md",
             b'{"message":"m","content":"eA=="}'),
            ("POST", "/repos/acme/widgets/pulls",
             b'{"title":"t","head":"a","base":"main"}'),
        ]
        for method, path, body in refused:
            with self.subTest(method=method, path=path):
                since = next_seq(self.g)
                r = self.g.api(method, path, tok, body=body,
                               headers=JSON_CT if body else ())
                msg = self.assertGitHubError(r, 403)
                self.assertTrue(msg.startswith("ghp"), msg)
                time.sleep(0.05)
                self.assertEqual([(x["method"], x["path"]) for x in
                                  forwarded(self.g, since)], [],
                                 "a request outside the scope reached "
                                 "GitHub")
        # The installation token on its own, straight to GitHub: GitHub
        # enforces the same scope.
        self.assertEqual(direct(self.g, "GET", "/repos/acme/widgets",
                                cred).status, 200)
        self.assertEqual(direct(self.g, "GET", "/repos/acme/gadgets",
                                cred).status, 404)
        r = direct(self.g, "PUT", "/repos/acme/widgets/contents/README.md",
                   cred, b'{"message":"m","content":"eA=="}')
        self.assertEqual(r.status, 403, r)
        self.assertIn("Resource not accessible by integration",
                      json.loads(r.body)["message"])
        r = direct(self.g, "POST", "/repos/octo/public/issues", cred,
                   b'{"title":"x"}')
        self.assertEqual(r.status, 403, r)

    def test_graphql_never_sends_the_agent_token(self):
        tok = self.token("acme/widgets", "actions:read")
        q = json.dumps({"query": "{ viewer { login } }"}).encode()
        for host, path in (("api.github.com", "/graphql"),
                           ("ghp.test", "/api/graphql")):
            with self.subTest(path=path):
                # Whatever ghp answers (GraphQL for agents is another
                # issue): only what goes upstream is checked.
                self.g.api("POST", path, tok, host=host, headers=JSON_CT,
                           body=q)
        time.sleep(0.1)
        self.assertEqual(self.g.fake.find(tok), [],
                         "the gha_ token was sent to GitHub")
        self.assertEqual(self.g.fake.find(tok[4:]), [])

    # ---- tokens ghp cannot mint for

    def test_agent_token_spanning_two_accounts_is_refused(self):
        rc, out, err = self.g.ctl("token", "create", "--type", "agent",
                                  "--owner", "robot", "--repo",
                                  "acme/widgets,octo/public", "--perm",
                                  "issues:read")
        self.assertNotEqual(rc, 0, out)
        self.assertNotIn("gha_", out)
        self.assertIn("one account", err)

    def test_account_without_installation_gets_502_naming_it(self):
        """No installation configured for the account, and none found by
        asking the Apps (GET /app/installations): a 502 naming it, no
        mint, nothing forwarded."""
        tok = self.token("nobodyco/thing", "issues:read")
        r = self.get("/repos/nobodyco/thing", tok)
        self.assertMintFailure(r, "nobodyco")
        time.sleep(0.1)
        self.assertEqual([(x["method"], x["path"]) for x in
                          self.g.fake.requests(since=self.since)
                          if x["path"] != "/app/installations"], [],
                         "more than the Apps' installations was asked of "
                         "GitHub")

    # ---- mint failures

    def test_bad_jwt_401_then_recovers(self):
        tok = self.token("wrongco/app", "issues:read")
        r = self.get("/repos/wrongco/app", tok)
        self.assertMintFailure(r, "A JSON web token could not be decoded")
        ms = mints(self.g, self.since, BAD_INST)
        self.assertTrue(ms)
        self.assertTrue(all(m["status"] == 401 for m in ms), ms)
        self.assertEqual(forwarded(self.g, self.since), [])
        self.assertLogLine(self.g, self.offset, str(BAD_INST),
                           "A JSON web token could not be decoded")
        # GitHub learns the right key.
        self.g.fake.add_app(BAD_APP_ID, app_key("badkey")[1], slug="badkey",
                            installations={BAD_INST: "wrongco"})
        self.g.fake.add_repo("wrongco/app")
        time.sleep(MINT_FAIL_HOLD + 0.2)
        r = self.get("/repos/wrongco/app", tok)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(forwarded(self.g, self.since)[-1]["login"],
                         "badkey[bot]")

    def test_unknown_installation_404_then_recovers(self):
        tok = self.token("lostco/app", "issues:read")
        r = self.get("/repos/lostco/app", tok)
        self.assertMintFailure(r, "Not Found")
        ms = mints(self.g, self.since, LOST_INST)
        self.assertTrue(ms)
        self.assertTrue(all(m["status"] == 404 for m in ms), ms)
        self.assertLogLine(self.g, self.offset, str(LOST_INST), "Not Found")
        # The App gets installed there.
        self.g.fake.add_app(LOST_APP_ID, app_key("lost")[1], slug="lost",
                            installations={LOST_INST: "lostco"})
        self.g.fake.add_repo("lostco/app")
        time.sleep(MINT_FAIL_HOLD + 0.2)
        r = self.get("/repos/lostco/app", tok)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(forwarded(self.g, self.since)[-1]["login"],
                         "lost[bot]")

    def test_two_5xx_are_retried_and_the_client_succeeds(self):
        tok = self.token("acme/widgets", "checks:write")
        self.g.fake.set_mint_fault(2, 502, installation=INST)
        self.addCleanup(self.g.fake.clear_mint_faults)
        r = self.get("/repos/acme/widgets", tok, timeout=30)
        self.assertEqual(r.status, 200, r)
        ms = mints(self.g, self.since, INST)
        self.assertEqual([m["status"] for m in ms], [502, 502, 201])
        self.assertEqual({json.dumps(mint_body(m), sort_keys=True)
                          for m in ms}, {json.dumps({
                              "repositories": ["widgets"],
                              "permissions": {"checks": "write"}},
                              sort_keys=True)})
        self.assertLogLine(self.g, self.offset, str(INST), "502")
        rec = self.forwarded_since(self.g, self.since, 1)[-1]
        self.assertEqual(credential_of(rec)[:8],
                         minted_prefixes(self.g)[ms[-1]["seq"]])

    def test_persistent_5xx_gives_502_with_reason_then_recovers(self):
        tok = self.token("acme/widgets", "statuses:write")
        self.g.fake.set_mint_fault(1000, 500, installation=INST)
        self.addCleanup(self.g.fake.clear_mint_faults)
        r = self.get("/repos/acme/widgets", tok, timeout=30)
        self.assertMintFailure(r, "Server Error")
        ms = mints(self.g, self.since, INST)
        self.assertEqual([m["status"] for m in ms], [500] * MINT_TRIES)
        self.assertEqual(forwarded(self.g, self.since), [])
        self.assertLogLine(self.g, self.offset, str(INST), "Server Error")
        self.g.fake.clear_mint_faults()
        time.sleep(MINT_FAIL_HOLD + 0.2)
        r = self.get("/repos/acme/widgets", tok)
        self.assertEqual(r.status, 200, r)

    def test_failure_is_answered_again_for_a_second(self):
        """"the same answer is given for a second before GitHub is asked
        again": requests in the 0.7 s after the 502 get the same 502, and
        no mint reaches GitHub.  The last try is answered at about .6 of
        a wall-clock second, so that a hold that ended at the next whole
        second (rather than a second later) would show every time."""
        tok = self.token("acme/gadgets", "statuses:write")
        self.g.fake.set_mint_fault(1000, 503, installation=INST)
        self.addCleanup(self.g.fake.clear_mint_faults)
        calls = []

        def late_last_try(ex, iid, jwt):
            calls.append(iid)
            if len(calls) == MINT_TRIES:
                frac = time.time() % 1
                time.sleep((0.6 - frac) % 1)
            return ex.mint_token(iid)
        self.g.fake.app_token_handler = late_last_try
        self.addCleanup(setattr, self.g.fake, "app_token_handler", None)
        r = self.get("/repos/acme/gadgets", tok, timeout=30)
        t0, wall0 = time.monotonic(), time.time()
        first = self.assertMintFailure(r, "Service Unavailable")
        n = len(mints(self.g, self.since, INST))
        self.assertEqual(n, MINT_TRIES)
        answers = []
        while time.monotonic() - t0 < 0.7:
            answers.append(self.get("/repos/acme/gadgets", tok))
            time.sleep(0.05)
        again = mints(self.g, self.since, INST)[n:]
        self.assertEqual([m["seq"] for m in again], [],
                         "GitHub was asked again %.2fs after "
                         "the failure was answered" %
                         ((again[0]["time"] - wall0) if again else 0))
        for a in answers:
            self.assertEqual(self.assertMintFailure(a), first)

    # ---- last (by name): nothing secret was written anywhere

    def test_zz_no_secret_in_any_log(self):
        """Runs after the others (unittest orders by name) so that it
        also covers what they did; makes traffic of every kind itself
        too: a success, a scope refusal, a mint failure, GraphQL."""
        tok = self.token("acme/widgets", "issues:write")
        self.assertEqual(self.get("/repos/acme/widgets/issues/1",
                                  tok).status, 200)
        self.assertEqual(self.get("/repos/acme/gadgets", tok).status, 403)
        self.g.fake.set_mint_fault(1, 401, installation=INST)
        self.addCleanup(self.g.fake.clear_mint_faults)
        bad = self.token("acme/widgets", "issues:read,checks:read")
        self.assertEqual(self.get("/repos/acme/widgets", bad).status, 502)
        self.g.api("POST", "/graphql", tok, headers=JSON_CT,
                   body=b'{"query":"{ viewer { login } }"}')
        time.sleep(0.3)         # the master writes the logs a moment later
        secrets = {}
        for t in self.tokens:
            secrets[t] = "gha_ token"
        for rec in self.g.fake.requests():
            c = credential_of(rec)
            if c and c.startswith("ghs_"):
                secrets[c] = "ghs_ token"
            if c and is_app_call(rec):
                secrets[c] = "JWT"
                secrets[c.rsplit(".", 1)[-1]] = "JWT signature"
        for t in all_minted_tokens(self.g):
            secrets[t] = "ghs_ token"
        self.assertIn("JWT", secrets.values())
        self.assertIn("ghs_ token", secrets.values())
        places = {"daemon log": self.g.log_path,
                  "audit log": self.g.audit_path,
                  "access log": self.g.access_path}
        for root, _, files in os.walk(self.g.state_dir):
            for n in files:
                places["state " + n] = os.path.join(root, n)
        for what, path in places.items():
            if not os.path.exists(path):
                continue
            with open(path, "rb") as f:
                text = f.read()
            for s, kind in secrets.items():
                self.assertNotIn(s.encode(), text, "the %s %s... is in "
                                 "the %s" % (kind, s[:8], what))
            t = text.decode("utf-8", "replace")
            self.assertIsNone(JWT_RE.search(t), "a JWT in the %s" % what)
            self.assertIsNone(GHS_RE.search(t), "a ghs_ token in the %s" %
                              what)
        for t in self.tokens:
            self.assertTokenNowhere(self.g, t)


# ------------------------------------------- two Apps on one account


class TwoAppsTest(AgentCase):
    """Two Apps installed on acme: the keyholder picks the installation
    with the most headroom that GitHub last reported, and passes over one
    that answered "rate limit exceeded" until its reset.  One worker, so
    that which cache an answer comes from is never in doubt."""

    def setUp(self):
        self.g = start_proxy(self, workers=1, credential=False, verbose=2,
                             apps=[
                                 {"name": "agents", "id": 123,
                                  "installations": [(987, "acme")]},
                                 {"name": "agents2", "id": 124,
                                  "installations": [(988, "acme")]}])

    def served_by(self, tok, path="/repos/acme/widgets"):
        """(status, bot login the fake saw, installation minted for or
        None) of one request."""
        since = next_seq(self.g)
        r = self.g.api("GET", path, tok)
        recs = self.forwarded_since(self.g, since, 1)
        logins = [x.get("login") for x in recs]
        ms = mints(self.g, since)
        inst = [int(m["path"].split("/")[3]) for m in ms]
        return r, (logins[-1] if logins else None), inst

    def warm_up(self):
        """Both installations used once, the first left with more
        headroom (4000 vs 100): a new scope then goes to the first."""
        self.g.fake.set_rate_limit(987, remaining=4000)
        self.g.fake.set_rate_limit(988, remaining=100)
        logins = set()
        for perm in ("issues:read", "checks:read"):
            tok = agent_token(self.g, "acme/widgets", perm)
            r, login, _ = self.served_by(tok)
            self.assertEqual(r.status, 200, r)
            logins.add(login)
        self.assertEqual(logins, {"agents[bot]", "agents2[bot]"},
                         "an installation never used counts as having "
                         "all its headroom")
        tok = agent_token(self.g, "acme/widgets", "pull_requests:read")
        r, login, inst = self.served_by(tok)
        self.assertEqual((r.status, login, inst),
                         (200, "agents[bot]", [987]),
                         "the installation with the most headroom")
        return tok

    def exhaust_first(self, tok, reset):
        self.g.fake.set_rate_limit(987, remaining=0, reset=reset)
        r, login, inst = self.served_by(tok)
        self.assertEqual((r.status, login, inst), (403, "agents[bot]", []))
        self.assertIn("rate limit exceeded", json.loads(r.body)["message"])
        self.assertEqual(r.headers.get("x-ratelimit-remaining"), "0")

    def test_traffic_moves_to_the_other_app_when_first_is_exhausted(self):
        tok = self.warm_up()
        since = next_seq(self.g)
        self.exhaust_first(tok, int(time.time()) + 3600)
        # A new agent token of the same scope: minted by the second App.
        new = agent_token(self.g, "acme/widgets", "pull_requests:read")
        r, login, inst = self.served_by(new)
        self.assertEqual((r.status, login, inst),
                         (200, "agents2[bot]", [988]))
        m = mints(self.g, 0, 988)[-1]
        self.assertEqual(mint_body(m), {
            "repositories": ["widgets"],
            "permissions": {"pull_requests": "read"}})
        # The agent that was answered 403 moves too: its next request.
        r, login, inst = self.served_by(tok)
        self.assertEqual((r.status, login), (200, "agents2[bot]"),
                         "the agent answered 'rate limit exceeded' still "
                         "goes through the exhausted installation")
        self.assertEqual([m["body"] for m in mints(self.g, since, 987)], [],
                         "the exhausted installation minted again")

    def test_exhausted_app_is_used_again_after_its_reset(self):
        tok = self.warm_up()
        reset = int(time.time()) + 3
        self.exhaust_first(tok, reset)
        new = agent_token(self.g, "acme/widgets", "statuses:read")
        r, login, inst = self.served_by(new)
        self.assertEqual((r.status, login, inst),
                         (200, "agents2[bot]", [988]))
        while time.time() < reset + 1:
            time.sleep(0.1)
        # After the reset the first has its headroom again (GitHub would
        # say 5000 remaining; the second reported less).
        later = agent_token(self.g, "acme/widgets", "deployments:read")
        r, login, inst = self.served_by(later)
        self.assertEqual((r.status, login, inst),
                         (200, "agents[bot]", [987]))


if __name__ == "__main__":
    unittest.main()
