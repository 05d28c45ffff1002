"""
agent_case.py: what test_agent_mint.py, test_agent_apps.py and
test_agent_failures.py share: ghp's mint constants and the Apps they
configure (ghp.conf(5) APPS); helpers that read the fake GitHub's
records of what crossed ghp (the mint requests with their bodies, the
installation token on the forwarded requests); AgentCase, a ProxyCase
that checks mint failures, the daemon log and which workers answered;
and AgentDaemonCase, a class's tests on one daemon with every App.

Not a test module itself (run_all.py collects test_*.py only).
"""

import base64
import json
import re
import threading
import time

from harness import request
from proxy_case import ProxyCase, read_json_lines, start_proxy, worker_pid_of

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


# ------------------------------------------ a class's tests, one daemon


class AgentDaemonCase(AgentCase):
    """A class's tests share one daemon (two workers, -vv, every App of
    APPS); since and offset mark where each test began in the fake's
    records and in the daemon log; token() keeps every gha_ token it
    makes in the class's tokens, for a check of the logs."""

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
