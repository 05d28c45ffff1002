#!/usr/bin/env python3
"""
selftest.py: checks fake_github.py against live instances: one started
as a subprocess (the way the integration tests may run it), a second one
with command-line options, and a few in-process ones.  urllib and
http.client for ordinary requests, raw sockets where the framing matters
(keep-alive reuse, chunked bodies both ways, 100-continue, resets).

The last line of output is exactly `upstream: N passed, N failed`; the
exit status is non-zero when a check failed.  Python 3 standard library
only; about 12 s (the GitHub App checks run openssl).
"""

import base64
import calendar
import hashlib
import http.client
import json
import os
import re
import socket
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True      # no __pycache__ in the tree
import fake_github as fg  # noqa: E402

ALICE = "ghp_realcredentialAAAA"
BOB = "ghp_realcredentialBBBB"
MB = 1 << 20

PASSED = 0
FAILED = 0
VERBOSE = "-v" in sys.argv


def check(name, cond, detail=""):
    global PASSED, FAILED
    if cond:
        PASSED += 1
        if VERBOSE:
            print("ok   %s" % name)
    else:
        FAILED += 1
        print("FAIL %s%s" % (name, (": %s" % (detail,)) if detail else ""))
    return cond


def section(fn):
    """Run one group of checks; an exception is one more failure."""
    global FAILED
    t0 = time.monotonic()
    try:
        fn()
    except Exception:
        FAILED += 1
        print("FAIL %s raised:" % fn.__name__)
        traceback.print_exc(file=sys.stdout)
    if VERBOSE:
        print("--   %s %.2fs" % (fn.__name__, time.monotonic() - t0))


# ------------------------------------------------------------ clients

HOST = "127.0.0.1"
PORT = None          # the subprocess instance
FAKE = None          # its FakeGitHubClient


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers      # http.client.HTTPMessage
        self.body = body

    def json(self):
        return json.loads(self.body)

    def h(self, name):
        return self.headers.get(name)


def req(method, path, token=None, body=None, headers=None, port=None,
        conn=None, auth=None):
    """One request (on conn, when given).  auth: a whole Authorization
    header value, else token gives `token X`."""
    c = conn or http.client.HTTPConnection(HOST, port or PORT, timeout=30)
    h = dict(headers or {})
    if auth is not None:
        h["Authorization"] = auth
    elif token:
        h["Authorization"] = "token " + token
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    if conn is None:
        c.close()
    return Resp(r.status, r.headers, data)


class RawSocket(socket.socket):
    """A socket whose close() also closes the file read_response() reads
    (makefile() keeps the descriptor open otherwise)."""
    rfile = None

    def close(self):
        if self.rfile is not None:
            self.rfile.close()
        super().close()


def raw_connect(port=None, timeout=10):
    """(socket, its binary read file)."""
    s = RawSocket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((HOST, port or PORT))
    s.rfile = s.makefile("rb")
    return s, s.rfile


def read_response(f, head=False):
    """(status, {lower name: value}, [(name, value)], body, chunk sizes)
    from a raw socket file; chunk sizes is None unless chunked."""
    line = f.readline()
    if not line:
        raise EOFError("connection closed before a status line")
    parts = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    status = int(parts[1])
    pairs = []
    while True:
        ln = f.readline()
        if ln in (b"\r\n", b"\n", b""):
            break
        k, _, v = ln.decode("latin-1").partition(":")
        pairs.append((k.strip(), v.strip()))
    hd = {}
    for k, v in pairs:
        hd.setdefault(k.lower(), v)
    chunks = None
    if head or status in (204, 304) or status < 200:
        body = b""
    elif "chunked" in hd.get("transfer-encoding", "").lower():
        chunks = []
        out = bytearray()
        while True:
            size = int(f.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while f.readline() not in (b"\r\n", b"\n", b""):
                    pass
                break
            chunks.append(size)
            out += f.read(size)
            assert f.read(2) == b"\r\n", "chunk not followed by CRLF"
        body = bytes(out)
    elif "content-length" in hd:
        body = f.read(int(hd["content-length"]))
    else:
        body = f.read()
    return status, hd, pairs, body, chunks


def fake_json(method, name, obj=None, port=None):
    data = None if obj is None else json.dumps(obj).encode()
    r = urllib.request.Request("http://%s:%d/__fake/%s" % (
        HOST, port or PORT, name), data=data, method=method)
    with urllib.request.urlopen(r, timeout=30) as resp:
        return json.loads(resp.read())


def records(port=None):
    return fake_json("GET", "requests", port=port)


def reset(port=None):
    fake_json("POST", "reset", port=port)


# ------------------------------------------------------------ sections


def t_startup():
    global PORT, FAKE
    tmp = tempfile.mkdtemp(prefix="fake-github-selftest-")
    T.tmp = tmp
    T.record = os.path.join(tmp, "record.jsonl")
    ready = os.path.join(tmp, "port")
    proc, FAKE = fg.spawn(["--record", T.record], ready_file=ready)
    T.proc = proc
    with open(ready) as f:
        text = f.read()
    check("ready file holds the port", text.strip().isdigit(), repr(text))
    PORT = FAKE.port
    check("spawn() port matches the ready file", int(text) == PORT)
    r = req("GET", "/")
    check("GET / answers 200", r.status == 200, r.status)
    check("server process is not us", FAKE.stats()["pid"] == proc.pid)


def t_repo_get():
    reset()
    r = req("GET", "/repos/acme/widgets", ALICE)
    check("GET repo 200", r.status == 200, r.status)
    j = r.json()
    for k in ("id", "node_id", "name", "full_name", "private", "owner",
              "default_branch", "visibility", "permissions", "url"):
        check("repo JSON has %s" % k, k in j)
    check("repo name/full_name", j["name"] == "widgets" and
          j["full_name"] == "acme/widgets", j.get("full_name"))
    check("repo private", j["private"] is True)
    check("repo owner login", j["owner"]["login"] == "acme")
    check("repo default_branch main", j["default_branch"] == "main")
    check("repo permissions push for writer",
          j["permissions"]["push"] is True and j["permissions"]["pull"])
    check("Content-Type json utf-8",
          r.h("Content-Type") == "application/json; charset=utf-8",
          r.h("Content-Type"))
    check("Content-Length matches", int(r.h("Content-Length")) == len(r.body))
    check("X-RateLimit-Limit 5000", r.h("X-RateLimit-Limit") == "5000")
    check("X-RateLimit-Remaining 4999", r.h("X-RateLimit-Remaining") == "4999",
          r.h("X-RateLimit-Remaining"))
    check("X-RateLimit-Used 1", r.h("X-RateLimit-Used") == "1")
    check("X-RateLimit-Resource core", r.h("X-RateLimit-Resource") == "core")
    reset_at = int(r.h("X-RateLimit-Reset"))
    now = time.time()
    check("X-RateLimit-Reset within the hour",
          now < reset_at <= now + 3601, reset_at)
    rid = r.h("X-GitHub-Request-Id") or ""
    check("X-GitHub-Request-Id shaped like GitHub's",
          len(rid.split(":")) == 5, rid)
    check("X-GitHub-Media-Type default",
          r.h("X-GitHub-Media-Type") == "github.v3; format=json")
    etag = r.h("ETag") or ""
    check("strong ETag", etag.startswith('"') and etag.endswith('"') and
          len(etag) > 10, etag)
    check("Cache-Control private",
          r.h("Cache-Control") == "private, max-age=60, s-maxage=60",
          r.h("Cache-Control"))
    vary = r.headers.get_all("Vary") or []
    check("Vary names Authorization", any("Authorization" in v for v in vary),
          vary)
    check("Server github.com", r.h("Server") == "github.com", r.h("Server"))
    check("X-OAuth-Scopes for a classic token", r.h("X-OAuth-Scopes") ==
          "repo")
    r2 = req("GET", "/repos/acme/widgets", ALICE,
             headers={"Accept": "application/vnd.github.raw+json"})
    check("X-GitHub-Media-Type follows Accept",
          r2.h("X-GitHub-Media-Type") == "github.v3; param=raw; format=json",
          r2.h("X-GitHub-Media-Type"))
    check("request id differs per request",
          r2.h("X-GitHub-Request-Id") != rid)
    r3 = req("GET", "/api/v3/repos/ACME/Widgets", ALICE)
    check("GHE /api/v3 prefix and case-insensitive names",
          r3.status == 200 and r3.json()["full_name"] == "acme/widgets",
          r3.status)
    r4 = req("HEAD", "/repos/acme/widgets", ALICE)
    check("HEAD: headers, no body",
          r4.status == 200 and r4.body == b"" and
          int(r4.h("Content-Length")) == len(r.body), r4.h("Content-Length"))
    u = req("GET", "/user", ALICE).json()
    check("GET /user", u["login"] == "alice" and u["id"] == 1001, u)
    check("GET /users/bob", req("GET", "/users/bob", ALICE).json()["id"]
          == 1002)
    check("GET /users/nobody 404",
          req("GET", "/users/nosuchuser", ALICE).status == 404)


def t_auth():
    for label, auth in (
            ("token", "token " + ALICE),
            ("Bearer", "Bearer " + ALICE),
            ("Basic user:credential", "Basic " + base64.b64encode(
                b"x-access-token:" + ALICE.encode()).decode()),
            ("Basic credential:x-oauth-basic", "Basic " + base64.b64encode(
                ALICE.encode() + b":x-oauth-basic").decode())):
        r = req("GET", "/repos/acme/widgets", auth=auth)
        check("auth %s accepted" % label, r.status == 200, r.status)
    bad = (b'{"message":"Bad credentials",'
           b'"documentation_url":"https://docs.github.com/rest"}')
    for label, auth in (("unknown token", "token ghx_clienttoken0000"),
                        ("unknown Bearer", "Bearer nope"),
                        ("unknown scheme", "Digest abc"),
                        ("bad Basic", "Basic !!!")):
        r = req("GET", "/repos/acme/widgets", auth=auth)
        check("401 for %s" % label, r.status == 401 and r.body == bad,
              (r.status, r.body))
    c = http.client.HTTPConnection(HOST, PORT)
    c.putrequest("GET", "/repos/acme/widgets")
    c.putheader("Authorization", "token " + ALICE)
    c.putheader("Authorization", "token " + BOB)
    c.endheaders()
    rr = c.getresponse()
    rr.read()
    c.close()
    check("two Authorization headers: 401", rr.status == 401, rr.status)
    nf = (b'{"message":"Not Found","documentation_url":'
          b'"https://docs.github.com/rest/repos/repos#get-a-repository"}')
    r = req("GET", "/repos/acme/widgets")
    check("anonymous private repo: 404 exact body",
          r.status == 404 and r.body == nf, (r.status, r.body))
    check("anonymous rate limit 60", r.h("X-RateLimit-Limit") == "60")
    r = req("GET", "/repos/octo/public")
    check("anonymous public repo 200", r.status == 200 and
          r.json()["private"] is False and "permissions" not in r.json())
    check("anonymous Cache-Control public",
          r.h("Cache-Control").startswith("public"))
    r = req("GET", "/repos/acme/widgets", BOB)
    check("non-reader: 404 exact body", r.status == 404 and r.body == nf)
    r = req("GET", "/repos/acme/gadgets", BOB)
    check("reader: 200", r.status == 200 and
          r.json()["permissions"]["push"] is False)
    r = req("GET", "/repos/acme/nosuch", ALICE)
    check("unknown repo 404", r.status == 404 and r.body == nf)
    r = req("GET", "/user")
    check("anonymous /user 401 Requires authentication",
          r.status == 401 and r.json()["message"] ==
          "Requires authentication")
    r = req("POST", "/repos/octo/public/issues/1/comments", None,
            {"body": "x"})
    check("anonymous write 401", r.status == 401, r.status)
    r = req("PATCH", "/repos/acme/gadgets/issues/1", BOB, {"state": "closed"})
    check("reader writing: 403 push access", r.status == 403 and
          "push access" in r.json()["message"], (r.status, r.body))
    r = req("DELETE", "/repos/acme/gadgets", BOB)
    check("reader deleting repo: 403 admin", r.status == 403 and
          "admin" in r.json()["message"], r.body)
    r = req("GET", "/nope/nothing", ALICE)
    check("unknown top-level 404 JSON", r.status == 404 and r.json() == {
        "message": "Not Found", "documentation_url":
        "https://docs.github.com/rest"}, r.body)


def t_etag():
    reset()
    r = req("GET", "/repos/acme/widgets", ALICE)
    etag = r.h("ETag")
    rem = int(r.h("X-RateLimit-Remaining"))
    r2 = req("GET", "/repos/acme/widgets", ALICE,
             headers={"If-None-Match": etag})
    check("If-None-Match: 304", r2.status == 304, r2.status)
    check("304 has no body", r2.body == b"")
    check("304 keeps the ETag", r2.h("ETag") == etag)
    check("304 does not count",
          int(r2.h("X-RateLimit-Remaining")) == rem,
          (r2.h("X-RateLimit-Remaining"), rem))
    r3 = req("GET", "/repos/acme/widgets", ALICE,
             headers={"If-None-Match": 'W/%s, "other"' % etag})
    check("weak/list If-None-Match: 304", r3.status == 304)
    r4 = req("GET", "/repos/acme/widgets", ALICE,
             headers={"If-None-Match": '"stale"'})
    check("stale ETag: 200", r4.status == 200 and r4.h("ETag") == etag)
    check("200 after 304 counts",
          int(r4.h("X-RateLimit-Remaining")) == rem - 1)
    r5 = req("PATCH", "/repos/acme/widgets", ALICE,
             {"description": "changed"})
    check("PATCH repo 200", r5.status == 200 and
          r5.json()["description"] == "changed", r5.status)
    r6 = req("GET", "/repos/acme/widgets", ALICE,
             headers={"If-None-Match": etag})
    check("changed repo: 200 with a new ETag",
          r6.status == 200 and r6.h("ETag") != etag, r6.status)
    reset()
    r7 = req("GET", "/repos/acme/widgets", ALICE,
             headers={"If-None-Match": etag})
    check("reset restores the repo (same ETag again)", r7.status == 304)


def t_ratelimit():
    reset()
    FAKE.set_rate_limit(BOB, limit=5, remaining=5)
    rems = []
    for _ in range(5):
        r = req("GET", "/repos/acme/gadgets", BOB)
        rems.append((r.status, r.h("X-RateLimit-Remaining"),
                     r.h("X-RateLimit-Used"), r.h("X-RateLimit-Limit")))
    check("countdown 4..0", [x[1] for x in rems] == ["4", "3", "2", "1", "0"],
          rems)
    check("used 1..5", [x[2] for x in rems] == ["1", "2", "3", "4", "5"])
    check("limit 5 throughout", {x[3] for x in rems} == {"5"})
    check("all 200 while remaining", {x[0] for x in rems} == {200})
    r = req("GET", "/repos/acme/gadgets", BOB)
    check("exhausted: 403", r.status == 403, r.status)
    check("exhausted: exact body", r.body == (
        b'{"message":"API rate limit exceeded for user ID 1002.",'
        b'"documentation_url":"https://docs.github.com/rest/overview/'
        b'rate-limits-for-the-rest-api"}'), r.body)
    check("exhausted: Remaining 0", r.h("X-RateLimit-Remaining") == "0")
    check("exhausted: Used stays 5", r.h("X-RateLimit-Used") == "5")
    r = req("GET", "/repos/acme/widgets", ALICE)
    check("other credentials unaffected", r.status == 200 and
          r.h("X-RateLimit-Limit") == "5000")
    r = req("GET", "/rate_limit", BOB)
    j = r.json()
    check("/rate_limit shows 0 and does not count",
          r.status == 200 and j["resources"]["core"]["remaining"] == 0 and
          j["rate"]["limit"] == 5 and r.h("X-RateLimit-Remaining") == "0",
          r.body[:200])
    r = req("GET", "/rate_limit", ALICE)
    before = r.json()["resources"]["core"]["remaining"]
    r = req("GET", "/rate_limit", ALICE)
    check("/rate_limit itself is free",
          r.json()["resources"]["core"]["remaining"] == before)
    st = fake_json("GET", "ratelimit")
    check("GET /__fake/ratelimit lists buckets",
          any(b["identity"] == "cred:" + BOB and b["used"] == 5
              for b in st["buckets"]), st)
    FAKE.set_rate_limit(BOB, remaining=2)
    r = req("GET", "/repos/acme/gadgets", BOB)
    check("remaining set again: 200, 1 left",
          r.status == 200 and r.h("X-RateLimit-Remaining") == "1")
    FAKE.set_secondary(next=1, retry_after=7)
    r = req("GET", "/repos/acme/widgets", ALICE)
    check("secondary: 429", r.status == 429, r.status)
    check("secondary: Retry-After", r.h("Retry-After") == "7")
    check("secondary: message", r.json()["message"].startswith(
        "You have exceeded a secondary rate limit") and
        r.json()["documentation_url"].endswith(
            "#about-secondary-rate-limits"))
    r = req("GET", "/repos/acme/widgets", ALICE)
    check("after secondary: 200", r.status == 200)
    FAKE.set_secondary(next=1, retry_after=3, status=403)
    r = req("GET", "/repos/acme/widgets", ALICE)
    check("secondary as 403", r.status == 403 and r.h("Retry-After") == "3")
    FAKE.set_rate_limit(None, limit=2)
    codes = [req("GET", "/repos/octo/public").status for _ in range(3)]
    r = req("GET", "/repos/octo/public")
    check("anonymous limit exhausts", codes == [200, 200, 403], codes)
    check("anonymous exhausted message", "API rate limit exceeded for "
          "127.0.0.1." in r.json()["message"], r.body)
    reset()
    r = req("GET", "/repos/octo/public")
    check("reset restores limits", r.status == 200 and
          r.h("X-RateLimit-Limit") == "60")


def t_issues():
    reset()
    r = req("GET", "/repos/acme/widgets/issues?per_page=2", ALICE)
    j = r.json()
    check("issues list page 1", r.status == 200 and len(j) == 2 and
          j[0]["number"] == 5, [i["number"] for i in j])
    link = r.h("Link") or ""
    check("Link next+last", 'page=2>; rel="next"' in link and
          'page=3>; rel="last"' in link, link)
    r = req("GET", "/repos/acme/widgets/issues?per_page=2&page=3", ALICE)
    link = r.h("Link") or ""
    check("last page: 1 item, prev+first, no next",
          len(r.json()) == 1 and 'rel="prev"' in link and
          'rel="first"' in link and 'rel="next"' not in link, link)
    r = req("GET", "/repos/acme/widgets/issues", ALICE)
    check("no Link when one page", r.h("Link") is None and
          len(r.json()) == 5)
    r = req("POST", "/repos/acme/widgets/issues", ALICE,
            {"title": "Made by the selftest", "body": "hello",
             "labels": ["bug"]})
    j = r.json()
    check("POST issue 201", r.status == 201, r.status)
    check("issue echoes title", j["title"] == "Made by the selftest" and
          j["body"] == "hello" and j["labels"][0]["name"] == "bug")
    check("issue user is the caller", j["user"]["login"] == "alice")
    check("Location header", r.h("Location", ) == j["url"] and
          j["url"].endswith("/repos/acme/widgets/issues/%d" % j["number"]))
    n = j["number"]
    r = req("GET", "/repos/acme/widgets/issues/%d" % n, ALICE)
    check("GET created issue", r.status == 200 and
          r.json()["title"] == "Made by the selftest")
    r = req("PATCH", "/repos/acme/widgets/issues/%d" % n, ALICE,
            {"state": "closed", "title": "Renamed"})
    check("PATCH issue", r.status == 200 and r.json()["state"] == "closed"
          and r.json()["title"] == "Renamed" and r.json()["closed_at"])
    r = req("GET", "/repos/acme/widgets/issues?state=closed", ALICE)
    check("state=closed lists it", [i["number"] for i in r.json()] == [n])
    r = req("GET", "/repos/acme/widgets/issues/999", ALICE)
    check("missing issue 404", r.status == 404 and
          r.json()["documentation_url"].endswith("#get-an-issue"))
    r = req("POST", "/repos/acme/widgets/issues", ALICE, b"{not json")
    check("bad JSON 400 Problems parsing JSON", r.status == 400 and
          r.json()["message"] == "Problems parsing JSON", r.body)
    r = req("POST", "/repos/acme/widgets/issues", ALICE, {"body": "x"})
    check("no title 422", r.status == 422 and "title" in
          r.json()["message"], r.body)
    r = req("POST", "/repos/acme/gadgets/issues", BOB, {"title": "by bob"})
    check("readers may open issues", r.status == 201, r.status)
    r = req("POST", "/repos/acme/widgets/issues/1/comments", ALICE,
            {"body": "a comment"})
    cid = r.json().get("id")
    check("POST comment 201", r.status == 201 and
          r.json()["body"] == "a comment", r.body)
    r = req("GET", "/repos/acme/widgets/issues/1/comments", ALICE)
    check("comments list", [c["id"] for c in r.json()] == [cid])
    r = req("PATCH", "/repos/acme/widgets/issues/comments/%d" % cid, ALICE,
            {"body": "edited"})
    check("PATCH comment", r.status == 200 and r.json()["body"] == "edited")
    r = req("DELETE", "/repos/acme/widgets/issues/comments/%d" % cid, ALICE)
    check("DELETE comment 204, no body", r.status == 204 and r.body == b"" and
          r.h("Content-Type") is None)
    r = req("GET", "/repos/acme/widgets/issues/comments/%d" % cid, ALICE)
    check("deleted comment 404", r.status == 404)
    r = req("PUT", "/repos/acme/widgets/issues/1/lock", ALICE)
    check("PUT lock 204", r.status == 204)
    check("issue locked", req("GET", "/repos/acme/widgets/issues/1",
                              ALICE).json()["locked"] is True)
    r = req("DELETE", "/repos/acme/widgets/issues/1/lock", ALICE)
    check("DELETE lock 204", r.status == 204)
    r = req("GET", "/repos/acme/widgets/pulls", ALICE)
    check("pulls list", r.status == 200 and
          [p["number"] for p in r.json()] == [7, 6], r.body[:100])
    r = req("GET", "/repos/acme/widgets/pulls/6", ALICE)
    check("GET pull", r.status == 200 and r.json()["base"]["ref"] == "main")
    check("missing pull 404",
          req("GET", "/repos/acme/widgets/pulls/1", ALICE).status == 404)
    r = req("PUT", "/repos/acme/widgets/issues", ALICE, {"x": 1})
    check("known shape, other method: 404", r.status == 404, r.status)
    for m, p in (("GET", "/repos/acme/widgets/branches/main/protection"),
                 ("POST", "/repos/acme/widgets/git/blobs"),
                 ("PUT", "/repos/acme/widgets/contents/a/b.txt"),
                 ("DELETE", "/repos/acme/widgets/hooks/1"),
                 ("PATCH", "/repos/acme/widgets/labels/bug")):
        r = req(m, p + "?x=1", ALICE, b"{}" if m != "GET" else None)
        check("catch-all %s %s" % (m, p), r.status == 200 and r.json() == {
            "ok": True, "method": m, "path": p}, r.body)
    r = req("DELETE", "/repos/acme/widgets/hooks/1", BOB)
    check("catch-all keeps visibility (404)", r.status == 404)
    r = req("POST", "/repos/octo/public/git/blobs", ALICE, b"{}")
    check("catch-all write needs push (403)", r.status == 403)
    r = req("DELETE", "/repos/acme/widgets", ALICE)
    check("DELETE repo 204", r.status == 204)
    check("deleted repo 404",
          req("GET", "/repos/acme/widgets", ALICE).status == 404)
    reset()
    check("reset brings it back",
          req("GET", "/repos/acme/widgets", ALICE).status == 200)
    r = req("POST", "/graphql", ALICE, {"query": "{ viewer { login } }"})
    check("graphql viewer", r.status == 200 and r.json() == {
        "data": {"viewer": {"login": "alice"}}} and
        r.h("X-RateLimit-Resource") == "graphql", r.body)
    r = req("POST", "/graphql", None, {"query": "{ viewer { login } }"})
    check("graphql anonymous 401", r.status == 401)


def t_keepalive():
    reset()
    s, f = raw_connect()
    get = ("GET /repos/acme/widgets HTTP/1.1\r\nHost: x\r\n"
           "Authorization: token %s\r\n\r\n" % ALICE).encode()
    s.sendall(get)
    a = read_response(f)
    s.sendall(get)
    b = read_response(f)
    s.sendall(get + get)                      # pipelined
    c = read_response(f)
    d = read_response(f)
    check("raw keep-alive: four answers on one socket",
          [x[0] for x in (a, b, c, d)] == [200] * 4)
    check("no Connection: close on keep-alive",
          "connection" not in a[1])
    s.sendall(b"GET /repos/octo/public HTTP/1.1\r\nHost: x\r\n"
              b"Connection: close\r\n\r\n")
    e = read_response(f)
    check("Connection: close honoured", e[1].get("connection") == "close"
          and f.read() == b"")
    s.close()
    recs = records()
    check("records: same conn, conn_request 1..5",
          len({r["conn"] for r in recs}) == 1 and
          [r["conn_request"] for r in recs] == [1, 2, 3, 4, 5],
          [(r["conn"], r["conn_request"]) for r in recs])
    check("records: same client port", len({r["client"][1] for r in recs})
          == 1)
    reset()
    c = http.client.HTTPConnection(HOST, PORT)
    for _ in range(3):
        req("GET", "/repos/acme/widgets", ALICE, conn=c)
    c.close()
    recs = records()
    check("http.client reuse: one connection",
          len({r["conn"] for r in recs}) == 1 and len(recs) == 3)
    s, f = raw_connect()
    s.sendall(b"GET /repos/octo/public HTTP/1.0\r\nHost: x\r\n\r\n")
    st, hd, _, body, _ = read_response(f)
    check("HTTP/1.0 answered and closed", st == 200 and json.loads(body)
          and f.read() == b"")
    s.close()


def t_chunked_request():
    reset()
    s, f = raw_connect()
    payload = json.dumps({"title": "chunked title"}).encode()
    parts = [payload[:7], payload[7:20], payload[20:]]
    wire = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(p), p) for p in parts)
    s.sendall(b"POST /repos/acme/widgets/issues HTTP/1.1\r\nHost: x\r\n"
              b"Authorization: token " + ALICE.encode() +
              b"\r\nTransfer-Encoding: chunked\r\n\r\n" + wire +
              b"0\r\nX-Trailer: yes\r\n\r\n")
    st, hd, _, body, _ = read_response(f)
    check("chunked POST decoded", st == 201 and
          json.loads(body)["title"] == "chunked title", (st, body[:100]))
    s.sendall(b"GET /repos/octo/public HTTP/1.1\r\nHost: x\r\n\r\n")
    st2 = read_response(f)[0]
    check("connection usable after a chunked body", st2 == 200)
    rec = records()[0]
    check("record: chunked, length, sha256, trailers",
          rec["chunked"] is True and rec["body_length"] == len(payload) and
          rec["body_sha256"] == hashlib.sha256(payload).hexdigest() and
          rec["trailers"] == [["X-Trailer", "yes"]] and
          rec["body"] == payload.decode(), rec)
    # Expect: 100-continue
    s.sendall(b"POST /__fake/upload HTTP/1.1\r\nHost: x\r\n"
              b"Content-Length: 5\r\nExpect: 100-continue\r\n\r\n")
    line = f.readline()
    f.readline()
    check("100 Continue", line.startswith(b"HTTP/1.1 100"), line)
    s.sendall(b"hello")
    st, _, _, body, _ = read_response(f)
    check("body after 100 Continue", st == 200 and json.loads(body) == {
        "bytes": 5, "sha256": hashlib.sha256(b"hello").hexdigest()}, body)
    s.close()
    # Content-Length and Transfer-Encoding together: chunked wins, close
    s, f = raw_connect()
    s.sendall(b"POST /__fake/upload HTTP/1.1\r\nHost: x\r\n"
              b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"5\r\nhello\r\n0\r\n\r\n")
    st, hd, _, body, _ = read_response(f)
    check("TE+CL: chunked wins, then close", st == 200 and
          json.loads(body)["bytes"] == 5 and hd.get("connection") == "close")
    s.close()
    # malformed chunked
    s, f = raw_connect()
    s.sendall(b"POST /__fake/upload HTTP/1.1\r\nHost: x\r\n"
              b"Transfer-Encoding: chunked\r\n\r\nzz\r\n")
    st, hd, _, body, _ = read_response(f)
    check("bad chunk size: 400 and close", st == 400 and
          hd.get("connection") == "close" and f.read() == b"", (st, body))
    s.close()
    s, f = raw_connect()
    s.sendall(b"THIS IS NOT HTTP\r\n\r\n")
    st, hd, _, body, _ = read_response(f)
    check("malformed request line: 400 JSON", st == 400 and
          "message" in json.loads(body))
    s.close()
    time.sleep(0.05)
    recs = records()
    check("TE+CL recorded", any(r["te_and_cl"] for r in recs))
    check("bad chunk recorded with an error",
          any(r["error"] and "chunk" in r["error"] for r in recs),
          [r["error"] for r in recs])
    check("malformed request recorded",
          any(r["malformed"] and r["status"] == 400 for r in recs))


def _mem_kb():
    return FAKE.stats()


def t_upload_50mb():
    reset()
    total = 50 * MB
    st0 = FAKE.stats(reset_peak=True)
    s, f = raw_connect(timeout=60)
    s.sendall(b"POST /__fake/upload HTTP/1.1\r\nHost: x\r\n"
              b"Transfer-Encoding: chunked\r\n"
              b"Content-Type: application/octet-stream\r\n\r\n")
    h = hashlib.sha256()
    sent = 0
    chunk = 65536 + 17                   # odd sizes: not block aligned
    while sent < total:
        n = min(chunk, total - sent)
        data = fg.pattern(n, sent)
        h.update(data)
        s.sendall(b"%x\r\n" % n + data + b"\r\n")
        sent += n
    s.sendall(b"0\r\n\r\n")
    st, _, _, body, _ = read_response(f)
    s.close()
    j = json.loads(body)
    check("50 MB chunked upload: 200", st == 200, st)
    check("50 MB upload: bytes", j["bytes"] == total, j)
    check("50 MB upload: sha256", j["sha256"] == h.hexdigest())
    st1 = FAKE.stats()
    grow = st1["vmhwm_kb"] - st0["vmrss_kb"]
    check("50 MB upload: server peak memory grew < 24 MB",
          grow < 24 * 1024, "%d kB (peak reset %s)" % (
              grow, st0.get("peak_reset")))
    rec = records()[-1]
    check("upload recorded: length and sha256, body not kept",
          rec["body_length"] == total and rec["body_sha256"] == h.hexdigest()
          and rec["body"] is None and rec["chunked"], rec["body_length"])
    # Content-Length upload through the repository (query form), urllib
    data = fg.pattern(3 * MB + 5)
    r = urllib.request.Request(
        "http://%s:%d/repos/acme/widgets/git/blobs?__fake=upload" % (
            HOST, PORT), data=data, method="POST",
        headers={"Authorization": "token " + ALICE})
    with urllib.request.urlopen(r) as resp:
        j = json.loads(resp.read())
        rl = resp.headers.get("X-RateLimit-Remaining")
    check("upload via repo path (Content-Length)", j == {
        "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}, j)
    check("upload via repo counts against the limit", rl == "4999", rl)
    r = req("PUT", "/repos/acme/widgets/contents/__fake/upload", BOB, data)
    check("upload via repo refused for non-reader (404), body drained",
          r.status == 404)
    rec = records()[-1]
    check("refused upload still recorded in full",
          rec["status"] == 404 and rec["body_length"] == len(data))


def t_download_200mb():
    n = 200 * MB
    want = fg.pattern_sha256(n)
    st0 = FAKE.stats(reset_peak=True)
    t0 = time.monotonic()
    c = http.client.HTTPConnection(HOST, PORT, timeout=60)
    c.request("GET", "/__fake/bytes/%d" % n)
    r = c.getresponse()
    check("200 MB download: Content-Length", r.getheader("Content-Length")
          == str(n))
    h = hashlib.sha256()
    got = 0
    while True:
        b = r.read(4 * MB)
        if not b:
            break
        got += len(b)
        h.update(b)
    dt = time.monotonic() - t0
    c.close()
    check("200 MB download: size", got == n, got)
    check("200 MB download: pattern sha256", h.hexdigest() == want)
    st1 = FAKE.stats()
    grow = st1["vmhwm_kb"] - st0["vmrss_kb"]
    check("200 MB download: server peak memory grew < 16 MB",
          grow < 16 * 1024, "%d kB" % grow)
    check("200 MB download: RSS before/after within 8 MB",
          abs(st1["vmrss_kb"] - st0["vmrss_kb"]) < 8 * 1024,
          (st0["vmrss_kb"], st1["vmrss_kb"]))
    if VERBOSE:
        print("     200 MB in %.2fs, peak +%d kB" % (dt, grow))
    # chunked and slow, raw
    s, f = raw_connect()
    t0 = time.monotonic()
    s.sendall(b"GET /__fake/bytes/300000?chunked=1&delay_ms=60 HTTP/1.1\r\n"
              b"Host: x\r\n\r\n")
    st, hd, _, body, chunks = read_response(f)
    dt = time.monotonic() - t0
    check("chunked download framing", st == 200 and
          hd.get("transfer-encoding") == "chunked" and
          "content-length" not in hd and chunks == [65536] * 4 + [37856],
          chunks)
    check("chunked download content", body == fg.pattern(300000))
    check("delay_ms between chunks (slow body)", dt >= 0.24, dt)
    s.sendall(b"GET /__fake/bytes/1000?chunk=100 HTTP/1.1\r\nHost: x\r\n\r\n")
    st, hd, _, body, _ = read_response(f)
    check("keep-alive after a chunked download, chunk=",
          st == 200 and body == fg.pattern(1000))
    s.close()
    r = req("GET", "/repos/acme/widgets/contents/__fake/bytes/5000", ALICE)
    check("bytes via repo path", r.status == 200 and
          r.body == fg.pattern(5000) and r.h("X-RateLimit-Limit") == "5000")
    r = req("GET", "/repos/acme/widgets/tarball/main?__fake=bytes/7000"
            "&chunked=1", ALICE)
    check("bytes via repo query form", r.status == 200 and
          r.body == fg.pattern(7000))
    r = req("GET", "/repos/acme/widgets/contents/__fake/bytes/5000", BOB)
    check("bytes via repo: 404 for non-reader", r.status == 404)
    r = req("GET", "/repos/acme/widgets/contents/__fake/bytes/5000",
            auth="token ghx_nope")
    check("bytes via repo: 401 for unknown credential", r.status == 401)


def t_slow_status():
    t0 = time.monotonic()
    r = req("GET", "/__fake/slow?ms=300")
    dt = time.monotonic() - t0
    check("slow: waits", r.status == 200 and dt >= 0.3 and
          r.json()["slept_ms"] == 300, dt)
    r = req("GET", "/__fake/status/418")
    check("status 418 GitHub-shaped", r.status == 418 and
          r.json()["message"] == "I'm a Teapot" and
          "documentation_url" in r.json(), r.body)
    r = req("GET", "/__fake/status/503?retry_after=9")
    check("status 503 + Retry-After", r.status == 503 and
          r.h("Retry-After") == "9")
    r = req("GET", "/__fake/status/204")
    check("status 204 empty", r.status == 204 and r.body == b"")
    r = req("DELETE", "/__fake/status/500")
    check("status 500 Server Error", r.status == 500 and
          r.json()["message"] == "Server Error")
    r = req("GET", "/__fake/status/302?location=http://elsewhere/")
    check("status 302 with Location", r.status == 302 and
          r.h("Location") == "http://elsewhere/")
    r = req("GET", "/repos/octo/public/__fake/status/502", ALICE)
    check("status via repo path", r.status == 502)
    r = req("GET", "/__fake/echo?q=1", headers={"X-Probe": "p"})
    j = r.json()
    check("echo returns the record", j["path"] == "/__fake/echo" and
          ["X-Probe", "p"] in j["headers"] and j["query"] == "q=1")
    r = req("GET", "/__fake/nosuch")
    check("unknown helper 404", r.status == 404)


def t_faults():
    reset()
    FAKE.set_fault(1, "close")
    try:
        req("GET", "/repos/acme/widgets", ALICE)
        check("close: no answer", False, "got an answer")
    except (http.client.RemoteDisconnected, ConnectionResetError) as e:
        check("close: no answer", isinstance(
            e, http.client.RemoteDisconnected), repr(e))
    check("close: then normal",
          req("GET", "/repos/acme/widgets", ALICE).status == 200)
    FAKE.set_fault(1, "reset")
    s, f = raw_connect()
    s.sendall(b"GET /repos/acme/widgets HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        data = s.recv(100)
        check("reset: RST", False, "recv gave %r" % data)
    except ConnectionResetError:
        check("reset: RST", True)
    s.close()
    FAKE.set_fault(1, "hang")
    s, f = raw_connect(timeout=0.5)
    t0 = time.monotonic()
    s.sendall(b"GET /repos/acme/widgets HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        data = s.recv(100)
        check("hang: nothing arrives", False, repr(data))
    except socket.timeout:
        check("hang: nothing arrives", time.monotonic() - t0 >= 0.45)
    before = FAKE.stats()["connections"]
    s.close()
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and \
            FAKE.stats()["connections"] >= before:
        time.sleep(0.05)
    check("hang: ends when the client goes", FAKE.stats()["connections"] <
          before)
    FAKE.set_fault(1, "502")
    c = http.client.HTTPConnection(HOST, PORT)
    r = req("GET", "/repos/acme/widgets", ALICE, conn=c)
    check("502 fault GitHub-shaped", r.status == 502 and
          r.json()["message"] == "Bad Gateway", r.body)
    r = req("GET", "/repos/acme/widgets", ALICE, conn=c)
    check("502 fault keeps the connection", r.status == 200)
    c.close()
    FAKE.set_fault(1, "truncate")
    try:
        req("GET", "/repos/acme/widgets", ALICE)
        check("truncate: short body", False)
    except http.client.IncompleteRead:
        check("truncate: short body", True)
    FAKE.set_fault(1, "delay", delay_ms=250)
    t0 = time.monotonic()
    r = req("GET", "/repos/acme/widgets", ALICE)
    check("delay fault", r.status == 200 and time.monotonic() - t0 >= 0.25)
    FAKE.set_fault(2, "503", match="/repos/acme/gadgets")
    got = [req("GET", p, ALICE).status for p in (
        "/repos/acme/widgets", "/repos/acme/gadgets", "/repos/acme/widgets",
        "/repos/acme/gadgets", "/repos/acme/gadgets")]
    check("next=2 with match", got == [200, 503, 200, 503, 200], got)
    FAKE.set_fault(3, "500")
    pend = fake_json("GET", "faults")
    check("GET faults lists pending", pend and pend[0]["remaining"] == 3 and
          pend[0]["mode"] == "500", pend)
    check("control calls are not faulted", fake_json("GET", "faults") ==
          pend)
    FAKE.clear_faults()
    check("DELETE faults", fake_json("GET", "faults") == [] and
          req("GET", "/repos/acme/widgets", ALICE).status == 200)
    recs = records()
    check("faulted requests recorded with the fault",
          [r["fault"] for r in recs if r["fault"]] ==
          ["close", "reset", "hang", "502", "truncate", "delay", "503", "503"],
          [r["fault"] for r in recs])
    try:
        fake_json("POST", "faults", {"next": 1, "mode": "explode"})
        check("unknown fault mode refused", False)
    except urllib.error.HTTPError as e:
        check("unknown fault mode refused", e.code == 400)


def t_recording():
    reset()
    req("GET", "/repos/acme/widgets?per_page=3&a=b", ALICE,
        headers={"X-Custom": "one", "User-Agent": "selftest"})
    req("GET", "/repos/acme/widgets", auth="token ghx_clientTOKENshouldnot")
    body = json.dumps({"title": "recorded"}).encode()
    req("POST", "/repos/acme/widgets/issues", ALICE, body,
        headers={"Content-Type": "application/json"})
    fake_json("GET", "requests")
    fake_json("GET", "faults")
    fake_json("GET", "stats")
    recs = records()
    check("three records; control calls not recorded", len(recs) == 3,
          [r["path"] for r in recs])
    a, b, c = recs
    check("record method/path/query", a["method"] == "GET" and
          a["path"] == "/repos/acme/widgets" and
          a["query"] == "per_page=3&a=b" and
          a["params"] == [["per_page", "3"], ["a", "b"]] and
          a["target"] == "/repos/acme/widgets?per_page=3&a=b", a)
    check("record headers as ordered pairs",
          ["Authorization", "token " + ALICE] in a["headers"] and
          ["X-Custom", "one"] in a["headers"] and
          ["User-Agent", "selftest"] in a["headers"])
    check("record client address", a["client"][0] == "127.0.0.1" and
          isinstance(a["client"][1], int))
    check("record time", abs(a["time"] - time.time()) < 30)
    check("record status/login/request id", a["status"] == 200 and
          a["login"] == "alice" and a["request_id"] and a["complete"])
    check("refused request recorded", b["status"] == 401 and
          b["login"] is None)
    check("POST body recorded", c["body_length"] == len(body) and
          c["body_sha256"] == hashlib.sha256(body).hexdigest() and
          c["body"] == body.decode() and
          base64.b64decode(c["body_b64"]) == body)
    check("GET has empty body", a["body_length"] == 0 and
          a["body_sha256"] == hashlib.sha256(b"").hexdigest())
    check("find() locates the client token",
          [r["seq"] for r in FAKE.find("ghx_clientTOKENshouldnot")] ==
          [b["seq"]])
    check("find() for a real credential", len(FAKE.find(ALICE)) == 2)
    since = fake_json("GET", "requests?since=%d" % c["seq"])
    check("?since=", [r["seq"] for r in since] == [c["seq"]])
    post = fake_json("GET", "requests?method=POST")
    check("?method=", len(post) == 1 and post[0]["method"] == "POST")
    FAKE.clear()
    check("clear()", records() == [])
    # the JSON lines file
    time.sleep(0.05)
    with open(T.record) as f:
        lines = [json.loads(ln) for ln in f if ln.strip()]
    ids = {r["request_id"] for r in lines}
    check("--record file has the records as JSON lines",
          a["request_id"] in ids and b["request_id"] in ids and
          c["request_id"] in ids, len(lines))
    check("--record lines are complete",
          all(r["complete"] for r in lines))


def t_cli_options():
    cfg = os.path.join(T.tmp, "cfg.json")
    with open(cfg, "w") as f:
        json.dump({"users": {"zed": 4242}, "seed_issues": 1}, f)
    proc, fake = fg.spawn(["--cred", "tokZ=zed", "--repo", "z/q:private:zed",
                           "--repo", "z/pub:public", "--rate-limit", "30",
                           "--config", cfg, "--prefix", "/__ctl"])
    try:
        p = fake.port
        r = req("GET", "/repos/z/q", "tokZ", port=p)
        check("CLI --cred/--repo/--rate-limit", r.status == 200 and
              r.h("X-RateLimit-Limit") == "30", r.status)
        check("CLI defaults replaced",
              req("GET", "/repos/acme/widgets", ALICE, port=p).status == 401)
        check("CLI --config users",
              req("GET", "/user", "tokZ", port=p).json()["id"] == 4242)
        check("CLI --config seed_issues", len(req(
            "GET", "/repos/z/q/issues", "tokZ", port=p).json()) == 1)
        check("CLI public repo", req("GET", "/repos/z/pub",
                                     port=p).status == 200)
        check("--prefix moves the helpers", req(
            "GET", "/__ctl/bytes/10", port=p).body == fg.pattern(10) and
            req("GET", "/__fake/bytes/10", port=p).status == 404)
        check("client follows the prefix", len(fake.requests()) >= 6)
        fake.add_credential("ghs_install", "agents[bot]", repos=["z/q"],
                            permission="read")
        r = req("GET", "/repos/z/q", "ghs_install", port=p)
        check("added credential limited to its repos", r.status == 200 and
              r.json()["permissions"]["push"] is False and
              req("GET", "/repos/z/pub", "ghs_install",
                  port=p).status == 404, r.status)
        fake.add_repo("z/new", private=True, readers=["zed"])
        check("added repository", req("GET", "/repos/z/new", "tokZ",
                                      port=p).status == 200)
    finally:
        fake.close()
    check("SIGTERM stops it", proc.poll() == 0, proc.returncode)


def t_in_process():
    seen = []

    def custom(ex, word):
        seen.append(word)
        ex.send_json(200, {"got": word, "body": ex.body.read_all().decode()})

    srv = fg.FakeGitHub(credentials={"tok1": "carol"},
                        repos={"x/y": {"private": True,
                                       "readers": ["carol"]}},
                        chunk_threshold=256, seed_issues=20,
                        primary_status=429, rate_limits={"tok1": 40},
                        extra_routes=[(["POST"], r"/custom/(\w+)", custom)])
    srv.start()
    try:
        p = srv.port
        check("in-process: port and url", p > 0 and srv.url ==
              "http://127.0.0.1:%d" % p)
        r = req("GET", "/repos/x/y", "tok1", port=p)
        check("in-process: GET repo", r.status == 200 and
              r.h("X-RateLimit-Limit") == "40")
        s, f = raw_connect(p)
        s.sendall(b"GET /repos/x/y/issues?per_page=20 HTTP/1.1\r\nHost: h\r\n"
                  b"Authorization: Bearer tok1\r\n\r\n")
        st, hd, _, body, chunks = read_response(f)
        check("large JSON list goes chunked", st == 200 and chunks and
              hd.get("transfer-encoding") == "chunked" and
              len(json.loads(body)) == 20, (st, chunks))
        s.sendall(b"GET /repos/x/y HTTP/1.1\r\nHost: h\r\n"
                  b"Authorization: Bearer tok1\r\n\r\n")
        check("keep-alive after chunked JSON", read_response(f)[0] == 200)
        s.close()
        r = req("POST", "/custom/hello", port=p, body=b"payload")
        check("extra route (hook) answers and streams the body",
              r.json() == {"got": "hello", "body": "payload"} and
              seen == ["hello"], r.body)
        r = req("POST", "/app/installations/12/access_tokens", port=p,
                auth="Bearer a.b.c")
        check("app token route: default 401 (JWT)", r.status == 401 and
              r.json()["message"] == "A JSON web token could not be decoded")
        r = req("GET", "/acme/widgets.git/info/refs?service=git-upload-pack",
                port=p)
        check("git route: default 404", r.status == 404)
        srv.app_token_handler = lambda ex, inst, jwt: ex.send_json(
            201, {"token": "ghs_x", "installation": inst, "jwt": jwt})
        srv.git_handler = lambda ex, o, rp, rest: ex.send_bytes(
            200, ("%s %s %s" % (o, rp, rest)).encode(), ctype="text/plain")
        r = req("POST", "/app/installations/12/access_tokens", port=p,
                auth="Bearer a.b.c")
        check("app token hook called", r.status == 201 and r.json() == {
            "token": "ghs_x", "installation": "12", "jwt": "a.b.c"})
        r = req("GET", "/acme/widgets.git/info/refs", port=p)
        r2 = req("POST", "/acme/widgets/git-upload-pack", port=p, body=b"x")
        check("git hook called", r.body == b"acme widgets /info/refs" and
              r2.body == b"acme widgets /git-upload-pack", (r.body, r2.body))
        recs = srv.requests()
        check("in-process requests()", len(recs) == 9 and
              recs[0]["path"] == "/repos/x/y", len(recs))
        check("in-process find()", len(srv.find("tok1")) == 3)
        check("wait_requests()", srv.wait_requests(9, timeout=2))
        srv.clear()
        check("in-process clear()", srv.requests() == [])
        srv.set_rate_limit("tok1", remaining=1)
        req("GET", "/repos/x/y", "tok1", port=p)
        r = req("GET", "/repos/x/y", "tok1", port=p)
        check("primary_status 429 with Retry-After", r.status == 429 and
              r.h("Retry-After") is not None and
              "rate limit exceeded" in r.json()["message"])
        c = http.client.HTTPConnection(HOST, p)
        req("GET", "/__fake/bytes/10", conn=c)
    finally:
        srv.stop()
    try:
        c.request("GET", "/__fake/bytes/10")
        c.getresponse().read()
        check("stop() closes kept-alive connections", False)
    except (ConnectionError, http.client.HTTPException, OSError):
        check("stop() closes kept-alive connections", True)
    try:
        socket.create_connection((HOST, p), timeout=1).close()
        check("stop() stops listening", False)
    except OSError:
        check("stop() stops listening", True)
    # context manager, IPv6
    try:
        with socket.socket(socket.AF_INET6) as s6:
            s6.bind(("::1", 0))
        v6 = True
    except OSError:
        v6 = False
    if v6:
        with fg.FakeGitHub(host="::1") as srv6:
            c = http.client.HTTPConnection("::1", srv6.port)
            c.request("GET", "/repos/octo/public")
            r = c.getresponse()
            r.read()
            check("IPv6 and context manager", r.status == 200 and
                  srv6.url.startswith("http://[::1]:"))
            c.close()


def t_concurrency():
    reset()
    errs = []

    def worker():
        try:
            c = http.client.HTTPConnection(HOST, PORT, timeout=20)
            for _ in range(20):
                r = req("GET", "/repos/acme/widgets", ALICE, conn=c)
                if r.status != 200:
                    errs.append(r.status)
            c.close()
        except Exception as e:            # noqa: BLE001
            errs.append(repr(e))
    ts = [threading.Thread(target=worker) for _ in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    check("8 threads x 20 keep-alive requests", not errs, errs[:3])
    r = req("GET", "/rate_limit", ALICE)
    check("rate limit counted every one",
          r.json()["resources"]["core"]["used"] == 160, r.body[:120])
    recs = records()
    mine = [x for x in recs if x["path"] == "/repos/acme/widgets"]
    check("160 records, 8 connections", len(mine) == 160 and
          len({x["conn"] for x in mine}) == 8 and
          all(x["status"] == 200 for x in mine),
          (len(mine), len({x["conn"] for x in mine})))


# ------------------------------------------------------------ GitHub Apps
#
# Keys and JWTs are made here with the openssl command directly (not
# with fake_github's helpers), so that a mistake there cannot hide one
# in the fake's checks.

APP = 123            # "agents": installations 987 (acme), 988 (octo)
APP2 = 456           # "limited": installation 654 (acme), few permissions
APP3 = 789           # "picky": installation 555 (acme, gadgets only)
ALNUM36 = r"ghs_[A-Za-z0-9]{36}"


def openssl(*args, data=None):
    import subprocess
    r = subprocess.run(("openssl",) + args, input=data, capture_output=True,
                       check=True, timeout=60)
    return r.stdout


def app_keys():
    """Two RSA keys (private and public PEM files in T.tmp), made once."""
    if T.keys is None:
        T.keys = []
        for i in range(2):
            priv = os.path.join(T.tmp, "app%d.pem" % i)
            pub = os.path.join(T.tmp, "app%d.pub.pem" % i)
            with open(priv, "wb") as f:
                f.write(openssl("genpkey", "-algorithm", "RSA", "-pkeyopt",
                                "rsa_keygen_bits:2048"))
            os.chmod(priv, 0o600)
            with open(pub, "wb") as f:
                f.write(openssl("pkey", "-in", priv, "-pubout"))
            with open(pub) as f:
                T.keys.append((priv, f.read()))
    return T.keys


def b64u(b):
    if not isinstance(b, bytes):
        b = json.dumps(b, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(iss=APP, key=0, iat=None, exp=None, header=None, payload=None):
    now = int(time.time())
    if payload is None:
        payload = {"iat": now - 60 if iat is None else iat,
                   "exp": now + 540 if exp is None else exp, "iss": iss}
    head = b64u(header or {"alg": "RS256", "typ": "JWT"}) + "." + \
        b64u(payload)
    sig = openssl("dgst", "-sha256", "-sign", app_keys()[key][0],
                  data=head.encode())
    return head + "." + b64u(sig)


def mint(iid, body=None, token=None, port=None, raw=None):
    """POST /app/installations/IID/access_tokens with a good JWT of APP
    (or token, a whole JWT)."""
    h = {"Accept": "application/vnd.github+json"}
    if raw is not None:
        body = raw
    elif body is not None:
        body = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    return req("POST", "/app/installations/%s/access_tokens" % iid,
               body=body, headers=h, port=port,
               auth="Bearer " + (token or jwt()))


def gh_err(message, doc="https://docs.github.com/rest"):
    return json.dumps({"message": message, "documentation_url": doc},
                      separators=(",", ":")).encode()


def setup_apps(fake=None):
    fake = fake or FAKE
    (_, pub0), (_, pub1) = app_keys()
    fake.add_app(APP, pub0, {987: "acme", 988: "octo"}, slug="agents")
    fake.add_app(APP2, pub1, {654: "acme"}, slug="limited",
                 permissions={"contents": "read", "issues": "write"})
    fake.add_app(APP3, pub0, [(555, {"account": "acme",
                                     "repositories": ["gadgets"]})],
                 slug="picky")


def t_apps_jwt():
    reset()
    setup_apps()
    now = int(time.time())

    def app_get(token):
        return req("GET", "/app", auth="Bearer " + token)

    def refused(name, token, message):
        r = app_get(token)
        check(name, r.status == 401 and r.body == gh_err(message),
              (r.status, r.body))
    r = app_get(jwt())
    check("JWT: good one (iss a string) authenticates as the App",
          r.status == 200 and r.json()["id"] == APP and
          r.json()["slug"] == "agents", (r.status, r.body[:200]))
    check("JWT: iss as a number", app_get(jwt(iss=APP)).status == 200 and
          app_get(jwt(iss=str(APP))).status == 200)
    cid = r.json()["client_id"]
    check("JWT: iss as the client id", app_get(jwt(iss=cid)).status == 200)
    check("JWT: no typ is fine", app_get(jwt(header={"alg": "RS256"}))
          .status == 200)
    check("JWT: exp - iat exactly 600 (ghp's keyholder)",
          app_get(jwt(iat=now - 60, exp=now + 540)).status == 200)
    check("JWT: iat 30 s ahead (clock skew) is fine",
          app_get(jwt(iat=now + 30, exp=now + 500)).status == 200)
    und = "A JSON web token could not be decoded"
    refused("JWT: garbage", "a.b.c", und)
    refused("JWT: two parts", jwt().rpartition(".")[0], und)
    refused("JWT: not base64url", "!!!." + jwt().partition(".")[2], und)
    refused("JWT: alg HS256", jwt(header={"alg": "HS256", "typ": "JWT"}),
            und)
    refused("JWT: alg none", jwt(header={"alg": "none"}), und)
    refused("JWT: no iss", jwt(payload={"iat": now - 60,
                                        "exp": now + 500}), und)
    refused("JWT: signed with another key (bad signature)", jwt(key=1), und)
    good = jwt()
    h, _, s = good.split(".")
    forged = h + "." + b64u({"iat": now - 60, "exp": now + 540,
                             "iss": str(APP), "x": 1}) + "." + s
    refused("JWT: payload changed after signing", forged, und)
    refused("JWT: signature cut short", good[:-10], und)
    refused("JWT: unknown App", jwt(iss=999999), "Integration not found")
    exp_msg = ("'Expiration time' claim ('exp') must be a numeric value "
               "representing the future time at which the assertion expires")
    iat_msg = ("'Issued at' claim ('iat') must be an Integer representing "
               "the time that the assertion was issued")
    far_msg = "'Expiration time' claim ('exp') is too far in the future"
    refused("JWT: expired", jwt(iat=now - 700, exp=now - 100), exp_msg)
    refused("JWT: exp not a number", jwt(payload={
        "iat": now - 60, "exp": str(now + 500), "iss": APP}), exp_msg)
    refused("JWT: iat in the future (past the 60 s skew)",
            jwt(iat=now + 120, exp=now + 500), iat_msg)
    refused("JWT: iat not an integer", jwt(payload={
        "iat": now - 60.5, "exp": now + 500, "iss": APP}), iat_msg)
    refused("JWT: no iat", jwt(payload={"exp": now + 500, "iss": APP}),
            iat_msg)
    refused("JWT: exp more than 10 minutes ahead",
            jwt(iat=now, exp=now + 700), far_msg)
    refused("JWT: exp - iat over 600", jwt(iat=now - 120, exp=now + 540),
            far_msg)
    r = req("GET", "/app", auth="token " + jwt())
    check("JWT: only as Bearer", r.status == 401 and r.body == gh_err(und))
    r = req("GET", "/app", ALICE)
    check("JWT: a user's token is no JWT", r.status == 401 and
          r.body == gh_err(und))
    r = req("GET", "/app")
    check("JWT: none at all", r.status == 401 and r.body == gh_err(und))
    check("JWT: fake_github.make_jwt interoperates", app_get(fg.make_jwt(
        open(app_keys()[0][0]).read(), APP)).status == 200)
    recs = [x for x in records() if x["path"] == "/app"]
    check("JWT requests are recorded, the good ones with app_id",
          recs[0].get("app_id") == APP and recs[0]["status"] == 200 and
          any(x["status"] == 401 and not x.get("app_id") for x in recs))


def t_apps_mint():
    reset()
    setup_apps()
    now = time.time()
    r = mint(987)
    j = r.json()
    check("mint: 201 without a body", r.status == 201, (r.status, r.body))
    check("mint: ghs_ and 36 letters or digits",
          re.fullmatch(ALNUM36, j["token"]), j.get("token"))
    exp = calendar.timegm(time.strptime(j["expires_at"],
                                        "%Y-%m-%dT%H:%M:%SZ"))
    check("mint: expires_at an hour ahead", abs(exp - (now + 3600)) < 5,
          j["expires_at"])
    check("mint: every App permission, all repositories",
          j["permissions"]["contents"] == "write" and
          j["permissions"]["metadata"] == "read" and
          j["repository_selection"] == "all" and "repositories" not in j, j)
    tok = j["token"]
    r = req("GET", "/repos/acme/widgets", tok)
    check("all-repositories token reads a private repo of the account",
          r.status == 200 and r.json()["permissions"]["admin"], r.status)
    check("... and the other one", req("GET", "/repos/acme/gadgets",
                                       tok).status == 200)
    check("... and writes", req("POST", "/repos/acme/gadgets/issues", tok,
                                {"title": "t"}).status == 201)
    check("... reads a public repo elsewhere", req(
        "GET", "/repos/octo/public", tok).status == 200)
    r = req("POST", "/repos/octo/public/issues", tok, {"title": "t"})
    check("... but writes there: 403 not accessible by integration",
          r.status == 403 and r.json()["message"] ==
          "Resource not accessible by integration", r.body)
    check("an installation token is no user", req("GET", "/user", tok)
          .status == 403)

    body = {"repositories": ["widgets"], "permissions": {"issues": "read"}}
    r = mint(987, body)
    j = r.json()
    check("down-scoped mint: 201", r.status == 201, r.body)
    check("down-scoped mint: the permissions asked for, and metadata",
          j["permissions"] == {"issues": "read", "metadata": "read"}, j)
    check("down-scoped mint: selected, with the repository",
          j["repository_selection"] == "selected" and
          [x["full_name"] for x in j["repositories"]] == ["acme/widgets"]
          and j["repositories"][0]["name"] == "widgets" and
          isinstance(j["repositories"][0]["id"], int), j)
    tok = j["token"]
    r = req("GET", "/repos/acme/widgets/issues", tok)
    check("down-scoped: issues read", r.status == 200, r.status)
    check("down-scoped: X-RateLimit-* on answers to it",
          r.h("X-RateLimit-Limit") == "5000" and
          r.h("X-RateLimit-Resource") == "core" and
          r.h("X-RateLimit-Remaining") is not None)
    check("down-scoped: the repository (metadata)",
          req("GET", "/repos/acme/widgets", tok).status == 200)
    r = req("POST", "/repos/acme/widgets/issues", tok, {"title": "no"})
    check("down-scoped: opening an issue with issues:read is 403",
          r.status == 403 and r.body == gh_err(
              "Resource not accessible by integration",
              "https://docs.github.com/rest/issues/issues#create-an-issue"),
          (r.status, r.body))
    check("down-scoped: X-Accepted-GitHub-Permissions says what it needs",
          r.h("X-Accepted-GitHub-Permissions") == "issues=write",
          r.h("X-Accepted-GitHub-Permissions"))
    check("down-scoped: pulls without pull_requests: 403",
          req("GET", "/repos/acme/widgets/pulls", tok).status == 403)
    check("down-scoped: contents without contents: 403",
          req("GET", "/repos/acme/widgets/contents/README.md", tok)
          .status == 403)
    check("down-scoped: repository settings: 403",
          req("PATCH", "/repos/acme/widgets", tok, {}).status == 403)
    r = req("GET", "/repos/acme/gadgets", tok)
    check("down-scoped: another private repository: 404",
          r.status == 404, r.status)
    recs = records()
    m = [x for x in recs if x["path"].endswith("/access_tokens")]
    check("the mint's record holds its body",
          json.loads(m[-1]["body"]) == body and m[-1]["status"] == 201 and
          m[-1].get("installation") == 987 and m[-1].get("app_id") == APP,
          m[-1])
    used = [x for x in recs if x["path"] == "/repos/acme/widgets/issues"]
    check("requests with the token are recorded as the App's bot",
          used and used[0]["login"] == "agents[bot]", used[:1])

    gad = req("GET", "/repos/acme/gadgets", ALICE).json()["id"]
    r = mint(987, {"repository_ids": [gad],
                   "permissions": {"contents": "write", "issues": "write"}})
    tok = r.json()["token"]
    check("mint by repository_ids", r.status == 201 and [
        x["name"] for x in r.json()["repositories"]] == ["gadgets"])
    check("issues:write opens issues", req(
        "POST", "/repos/acme/gadgets/issues", tok, {"title": "y"})
        .status == 201)
    check("contents:write writes contents", req(
        "PUT", "/repos/acme/gadgets/contents/a.txt", tok, {}).status == 200)
    check("contents via a fake helper", req(
        "GET", "/repos/acme/gadgets/contents/__fake/bytes/10", tok)
        .body == fg.pattern(10))
    check("still no pulls", req("GET", "/repos/acme/gadgets/pulls", tok)
          .status == 403)
    check("widgets out of reach", req("GET", "/repos/acme/widgets", tok)
          .status == 404)

    bad_repo = gh_err(
        "There is at least one repository that does not exist or is not "
        "accessible to the parent installation.",
        fg.DOC_APP_TOKEN)
    for name, b in (("a repository of another account",
                     {"repositories": ["public"]}),
                    ("no such repository", {"repositories": ["nosuch"]}),
                    ("owner/name is no name",
                     {"repositories": ["acme/widgets"]}),
                    ("an unknown repository id", {"repository_ids": [1]})):
        r = mint(987, b)
        check("mint 422: " + name, r.status == 422 and r.body == bad_repo,
              (r.status, r.body))
    r = mint(988, {"repositories": ["public"]})
    check("installation 988 is octo's", r.status == 201 and
          r.json()["repositories"][0]["full_name"] == "octo/public")
    bad_perm = gh_err("The permissions requested are not granted to this "
                      "installation.", fg.DOC_APP_TOKEN)
    t2 = jwt(iss=APP2, key=1)
    for name, p in (("above the App's level", {"contents": "write"}),
                    ("one the App lacks", {"pull_requests": "read"}),
                    ("an unknown one", {"pull-requests": "read"}),
                    ("admin", {"issues": "admin"}),
                    ("not a level", {"issues": "all"})):
        r = mint(654, {"permissions": p}, token=t2)
        check("mint 422: permission " + name, r.status == 422 and
              r.body == bad_perm, (r.status, r.body))
    r = mint(654, {"permissions": {"issues": "write"}}, token=t2)
    check("mint within the App's permissions", r.status == 201, r.body)
    r = mint(654, token=t2)
    check("no permissions asked: the App's",
          r.json()["permissions"] == {"contents": "read", "issues": "write",
                                      "metadata": "read"}, r.body)
    check("contents:read is not write", req(
        "PUT", "/repos/acme/widgets/contents/a", r.json()["token"], {})
        .status == 403)
    r = mint(654)
    nf = gh_err("Not Found", fg.DOC_APP_TOKEN)
    check("mint 404: another App's installation", r.status == 404 and
          r.body == nf, (r.status, r.body))
    check("mint 404: no such installation", mint(1).body == nf)
    r = mint(987, {"repositories": "widgets"})
    check("mint 422: repositories not an array", r.status == 422 and
          "is not an array" in r.json()["message"], r.body)
    r = mint(987, raw=b"{")
    check("mint 400: body not JSON", r.status == 400 and
          r.json()["message"] == "Problems parsing JSON")
    r = mint(987, token="x.y.z")
    check("mint 401: bad JWT", r.status == 401 and r.json()["message"] ==
          "A JSON web token could not be decoded")
    r = req("POST", "/app/installations/987/access_tokens", ALICE)
    check("mint 401: a user's token", r.status == 401)

    t3 = jwt(iss=APP3)
    r = mint(555, token=t3)
    j = r.json()
    check("selected installation: its repositories by default",
          r.status == 201 and j["repository_selection"] == "selected" and
          [x["name"] for x in j["repositories"]] == ["gadgets"], r.body)
    check("selected installation: nothing else", req(
        "GET", "/repos/acme/widgets", j["token"]).status == 404)
    r = req("GET", "/installation/repositories", j["token"])
    check("GET /installation/repositories", r.status == 200 and
          r.json()["total_count"] == 1 and
          r.json()["repositories"][0]["full_name"] == "acme/gadgets",
          r.body[:200])
    check("selected installation: others refused",
          mint(555, {"repositories": ["widgets"]}, token=t3).status == 422)

    # lifetime, expiry, revocation
    FAKE.set_token_lifetime(1, app_id=APP)
    r = mint(988)
    j = r.json()
    tok = j["token"]
    exp = calendar.timegm(time.strptime(j["expires_at"],
                                        "%Y-%m-%dT%H:%M:%SZ"))
    check("token_lifetime shortens expires_at",
          exp - time.time() <= 1.5, j["expires_at"])
    T.expiring = (tok, exp)
    FAKE.set_token_lifetime(3600, app_id=APP)
    tok2 = mint(987).json()["token"]
    check("token works", req("GET", "/repos/acme/widgets", tok2)
          .status == 200)
    n = FAKE.expire_tokens(token_prefix=tok2[:12])
    r = req("GET", "/repos/acme/widgets", tok2)
    check("expire_tokens(): 401 Bad credentials", n == 1 and
          r.status == 401 and r.body == gh_err("Bad credentials"),
          (n, r.status, r.body))
    tok3 = mint(987).json()["token"]
    r = req("DELETE", "/installation/token", tok3)
    check("DELETE /installation/token: 204, then 401", r.status == 204 and
          req("GET", "/repos/acme/widgets", tok3).status == 401)

    apps = FAKE.apps()
    a = [x for x in apps if x["app_id"] == APP][0]
    check("GET /__fake/apps: the Apps", sorted(x["app_id"] for x in apps)
          == [APP, APP2, APP3] and a["slug"] == "agents")
    check("GET /__fake/apps: installations",
          [(i["id"], i["account"], i["repository_selection"])
           for i in a["installations"]] ==
          [(987, "acme", "all"), (988, "octo", "all")], a["installations"])
    toks = a["tokens"]
    check("GET /__fake/apps: every mint, prefixes only",
          a["mints"] == len(toks) == 7 and
          all(len(t["token_prefix"]) == 8 for t in toks) and
          toks[-1]["token_prefix"] == tok3[:8] and
          tok3 not in json.dumps(apps), (a["mints"], toks[-1]))
    check("GET /__fake/apps: permissions and repositories of a mint",
          toks[1]["permissions"] == {"issues": "read", "metadata": "read"}
          and toks[1]["repositories"] == ["widgets"] and
          toks[1]["repository_selection"] == "selected" and
          toks[0]["repositories"] is None, toks[1])
    check("GET /__fake/apps: expiry, revocation",
          toks[-1]["revoked"] and toks[-1]["expired"] and
          toks[-2]["expired"] and not toks[0]["expired"] and
          toks[0]["expires_at"].endswith("Z"), toks[-2:])


def t_apps_list():
    reset()
    setup_apps()
    r = req("GET", "/app/installations", auth="Bearer " + jwt())
    j = r.json()
    check("GET /app/installations", r.status == 200 and
          [i["id"] for i in j] == [987, 988], r.body[:300])
    i = j[0]
    check("installation fields", i["account"]["login"] == "acme" and
          i["account"]["type"] == "Organization" and
          isinstance(i["account"]["id"], int) and i["app_id"] == APP and
          i["target_type"] == "Organization" and
          i["repository_selection"] == "all" and
          i["permissions"]["issues"] == "write", i)
    r = req("GET", "/app/installations?per_page=1", auth="Bearer " + jwt())
    link = r.h("Link") or ""
    check("per_page and Link", len(r.json()) == 1 and 'rel="next"' in link
          and 'rel="last"' in link and "page=2" in link, link)
    r = req("GET", "/app/installations?per_page=1&page=2",
            auth="Bearer " + jwt())
    check("page 2", [x["id"] for x in r.json()] == [988] and
          'rel="prev"' in (r.h("Link") or ""))
    r = req("GET", "/app/installations", auth="Bearer " + jwt(APP3))
    check("another App sees its own", [x["id"] for x in r.json()] == [555]
          and r.json()[0]["repository_selection"] == "selected")
    check("GET /app/installations/{id}", req(
        "GET", "/app/installations/988", auth="Bearer " + jwt()).json()
        ["account"]["login"] == "octo")
    check("... not another App's", req(
        "GET", "/app/installations/654", auth="Bearer " + jwt())
        .status == 404)
    check("... not without a JWT",
          req("GET", "/app/installations", ALICE).status == 401)


def t_apps_ratelimit():
    reset()
    setup_apps()
    a = mint(987).json()["token"]
    b = mint(987, {"repositories": ["widgets"]}).json()["token"]
    o = mint(988).json()["token"]
    r1 = req("GET", "/repos/acme/widgets", a)
    r2 = req("GET", "/repos/acme/widgets", b)
    check("installation tokens share their installation's limit",
          r1.h("X-RateLimit-Limit") == "5000" and
          int(r2.h("X-RateLimit-Remaining")) ==
          int(r1.h("X-RateLimit-Remaining")) - 1 and
          r2.h("X-RateLimit-Used") == "2",
          (r1.h("X-RateLimit-Remaining"), r2.h("X-RateLimit-Remaining")))
    FAKE.set_rate_limit(987, remaining=1)
    r = req("GET", "/repos/acme/widgets", a)
    check("one left, then 0", r.status == 200 and
          r.h("X-RateLimit-Remaining") == "0")
    r = req("GET", "/repos/acme/widgets", b)
    check("exhausted installation: 403, GitHub's message",
          r.status == 403 and r.body == gh_err(
              "API rate limit exceeded for installation ID 987.",
              "https://docs.github.com/rest/overview/"
              "rate-limits-for-the-rest-api") and
          r.h("X-RateLimit-Remaining") == "0", (r.status, r.body))
    r = req("GET", "/repos/octo/public", o)
    check("another installation is not exhausted", r.status == 200 and
          int(r.h("X-RateLimit-Remaining")) > 4990)
    st = FAKE.rate_state()
    check("/__fake/ratelimit shows the installation bucket",
          any(x["identity"] == "inst:987" and x["used"] == x["limit"]
              for x in st["buckets"]), st["buckets"])
    r = req("GET", "/rate_limit", a)
    check("/rate_limit of an installation token",
          r.json()["resources"]["core"]["remaining"] == 0)
    inst = [i for x in FAKE.apps() for i in x["installations"]
            if i["id"] == 987][0]
    check("GET /__fake/apps shows the installation's rate limit",
          inst["rate_limit"]["remaining"] == 0 and
          inst["rate_limit"]["limit"] == 5000, inst)
    FAKE.set_installation_rate_limit(987, remaining=0,
                                     reset=int(time.time()) + 1)
    time.sleep(max(0, T.expiring[1] - time.time()) + 1.05
               if T.expiring else 1.05)
    r = req("GET", "/repos/acme/widgets", a)
    check("after its reset the installation may go on", r.status == 200 and
          r.h("X-RateLimit-Remaining") == "4999", r.h("X-RateLimit-Remaining"))
    fake_json("POST", "ratelimit", {"installation": 988, "limit": 10,
                                    "remaining": 0})
    r = req("GET", "/repos/octo/public", o)
    check("POST /__fake/ratelimit {installation}: limit and remaining",
          r.status == 403 and r.h("X-RateLimit-Limit") == "10" and
          "installation ID 988" in r.json()["message"], r.body)
    if T.expiring:
        r = req("GET", "/repos/octo/public", T.expiring[0])
        check("an expired installation token: 401 Bad credentials",
              r.status == 401 and r.body == gh_err("Bad credentials"),
              (r.status, r.body))
    reset()
    r = req("GET", "/repos/acme/widgets", a)
    check("reset() forgets minted tokens", r.status == 401)
    check("reset() keeps the Apps", mint(987).status == 201)


def t_apps_faults():
    reset()
    setup_apps()
    FAKE.set_mint_fault(2, 502)
    got = [mint(987) for _ in range(3)]
    check("mint fault 502 twice, then a token",
          [r.status for r in got] == [502, 502, 201] and
          got[0].json()["message"] == "Bad Gateway",
          [(r.status, r.body[:80]) for r in got])
    FAKE.set_mint_fault(1, 401)
    r = mint(987)
    check("mint fault 401: the JWT message", r.status == 401 and
          r.json()["message"] == "A JSON web token could not be decoded")
    FAKE.set_mint_fault(1, 500, installation=988)
    r1, r2 = mint(987), mint(988)
    check("mint fault for one installation", r1.status == 201 and
          r2.status == 500 and r2.json()["message"] == "Server Error",
          (r1.status, r2.status))
    FAKE.set_mint_fault(1, 429, retry_after=30)
    r = mint(987)
    check("mint fault 429 with Retry-After (a secondary limit)",
          r.status == 429 and r.h("Retry-After") == "30" and
          "secondary rate limit" in r.json()["message"], r.body)
    FAKE.set_mint_fault(3, 503, message="try later")
    pend = FAKE.mint_faults()
    check("pending mint faults listed", len(pend) == 1 and
          pend[0]["remaining"] == 3 and pend[0]["status"] == 503, pend)
    r = mint(987)
    check("mint fault message", r.status == 503 and
          r.json()["message"] == "try later")
    FAKE.clear_mint_faults()
    check("mint faults cleared", FAKE.mint_faults() == [] and
          mint(987).status == 201)
    check("a mint fault touches no other request",
          req("GET", "/repos/acme/widgets", ALICE).status == 200)
    recs = [x for x in records() if x["fault"]]
    check("mint faults recorded", [x["fault"] for x in recs] ==
          ["mint:502", "mint:502", "mint:401", "mint:500", "mint:429",
           "mint:503"], [x["fault"] for x in recs])
    try:
        FAKE.set_mint_fault(1, 200)
        check("mint fault status 2xx refused", False)
    except urllib.error.HTTPError as e:
        check("mint fault status 2xx refused", e.code == 400)

    # the general faults, aimed at the mint by match
    FAKE.set_fault(1, "reset", match="access_tokens")
    check("fault match access_tokens spares other paths",
          req("GET", "/repos/acme/widgets", ALICE).status == 200)
    try:
        mint(987)
        check("fault reset on the mint", False, "answered")
    except (ConnectionResetError, http.client.RemoteDisconnected) as e:
        check("fault reset on the mint", True, repr(e))
    FAKE.set_fault(1, "close", match="access_tokens")
    try:
        mint(987)
        check("fault close on the mint", False, "answered")
    except (http.client.RemoteDisconnected, ConnectionResetError):
        check("fault close on the mint", True)
    FAKE.set_fault(1, "delay", match="access_tokens", delay_ms=200)
    t0 = time.monotonic()
    r = mint(987)
    check("fault delay on the mint", r.status == 201 and
          time.monotonic() - t0 >= 0.2)
    FAKE.set_fault(1, "502", match="access_tokens")
    check("fault status on the mint", mint(987).status == 502)
    FAKE.set_fault(1, "hang", match="access_tokens")
    s, _ = raw_connect(timeout=0.5)
    body = b"{}"
    s.sendall(b"POST /app/installations/987/access_tokens HTTP/1.1\r\n"
              b"Host: x\r\nAuthorization: Bearer " + jwt().encode() +
              b"\r\nContent-Length: 2\r\n\r\n" + body)
    try:
        data = s.recv(100)
        check("fault hang on the mint", False, repr(data))
    except socket.timeout:
        check("fault hang on the mint", True)
    s.close()
    m = [x for x in records() if x["path"].endswith("/access_tokens")]
    check("faulted mints are recorded with their body",
          m[-1]["fault"] == "hang" and m[-1]["body"] == "{}" and
          m[-2]["fault"] == "502", [(x["fault"], x["body"]) for x in m[-3:]])


def t_apps_in_process():
    pub = app_keys()[0][1]
    srv = fg.FakeGitHub(apps=[{"app_id": 5, "public_key_pem": pub,
                               "installations": {"50": "acme"},
                               "slug": "inproc"}], token_lifetime=120)
    srv.start()
    try:
        p = srv.port
        r = mint(50, token=jwt(iss=5), port=p)
        j = r.json()
        exp = calendar.timegm(time.strptime(j["expires_at"],
                                            "%Y-%m-%dT%H:%M:%SZ"))
        check("in-process: apps= and token_lifetime=", r.status == 201 and
              abs(exp - time.time() - 120) < 5, r.body[:200])
        seen = []

        def hook(ex, iid, token):
            seen.append((iid, token[:10] if token else None))
            if iid == "51":
                return ex.send_json(201, {"token": "ghs_fromhook"})
            return ex.mint_token(iid)
        srv.app_token_handler = hook
        r1 = mint(50, token=jwt(iss=5), port=p)
        r2 = mint(51, token=jwt(iss=5), port=p)
        check("hook overrides, and may fall back to the built-in",
              r1.status == 201 and r1.json()["token"].startswith("ghs_") and
              r2.json() == {"token": "ghs_fromhook"} and len(seen) == 2,
              (r1.status, r2.body, seen))
        srv.app_token_handler = None
        srv.set_rate_limit(50, remaining=0)
        r = req("GET", "/repos/acme/widgets", r1.json()["token"], port=p)
        check("in-process set_rate_limit(installation id)",
              r.status == 403 and "installation ID 50" in
              r.json()["message"])
        check("in-process apps()", srv.apps()[0]["mints"] == 2)
    finally:
        srv.stop()
    cfg = os.path.join(T.tmp, "apps.json")
    with open(cfg, "w") as f:
        json.dump({"apps": [{"app_id": 8, "public_key_file":
                             os.path.join(T.tmp, "app1.pub.pem"),
                             "installations": {"80": "octo"}}]}, f)
    _, fake = fg.spawn(["--app", "7:%s:70=acme,71=octo" %
                           os.path.join(T.tmp, "app0.pub.pem"),
                           "--token-lifetime", "90", "--config", cfg])
    try:
        r = mint(71, token=jwt(iss=7), port=fake.port)
        j = r.json()
        exp = calendar.timegm(time.strptime(j["expires_at"],
                                            "%Y-%m-%dT%H:%M:%SZ"))
        check("CLI --app and --token-lifetime", r.status == 201 and
              abs(exp - time.time() - 90) < 5, r.body[:200])
        r = mint(80, token=jwt(iss=8, key=1), port=fake.port)
        check("--config apps", r.status == 201, r.body[:200])
        check("CLI apps listed", [a["app_id"] for a in fake.apps()] ==
              [7, 8])
    finally:
        fake.close()


# ------------------------------------------------------------ the sites


def basic(user, password):
    return "Basic " + base64.b64encode(
        ("%s:%s" % (user, password)).encode()).decode()


def git_cmd(*args, cwd=None, input=None):
    """Run the real git client (no prompt, no user configuration):
    (returncode, stdout, stderr) as text."""
    import subprocess
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1",
               GIT_CONFIG_GLOBAL=os.devnull, GIT_ASKPASS="/bin/false",
               SSH_ASKPASS="/bin/false", LC_ALL="C")
    env.pop("GIT_DIR", None)
    r = subprocess.run(["git", "-c", "user.name=Self Test", "-c",
                        "user.email=selftest@example.com", "-c",
                        "init.defaultBranch=main", "-c",
                        "credential.helper="] + list(args),
                       cwd=cwd or T.tmp, env=env, capture_output=True,
                       input=input, timeout=120)
    return r.returncode, r.stdout.decode("utf-8", "replace"), \
        r.stderr.decode("utf-8", "replace")


def t_sites_routing():
    srv = fg.FakeGitHub().start()
    try:
        p = srv.port
        r = req("GET", "/_web/nothing/here", port=p)
        r2 = req("GET", "/_raw/acme", port=p)
        r3 = req("GET", "/_copilot/models", port=p)
        r4 = req("GET", "/_codeload/x", port=p)
        r5 = req("GET", "/repos/acme/widgets", ALICE, port=p)
        recs = srv.requests()
        check("sites: unknown web path 404 text", r.status == 404 and
              r.body == b"Not Found\n" and
              r.h("X-RateLimit-Limit") is None and
              r.h("X-GitHub-Request-Id"), (r.status, r.body))
        check("sites: records name the site, path as received",
              [(x["site"], x["path"], x["site_path"]) for x in recs] == [
                  ("web", "/_web/nothing/here", "/nothing/here"),
                  ("raw", "/_raw/acme", "/acme"),
                  ("copilot", "/_copilot/models", "/models"),
                  ("codeload", "/_codeload/x", "/x"),
                  ("api", "/repos/acme/widgets", "/repos/acme/widgets")],
              [(x["site"], x["path"], x["site_path"]) for x in recs])
        check("sites: raw/codeload 404s, copilot 401 without a token",
              r2.status == 404 and r4.status == 404 and r3.status == 401 and
              r5.status == 200, (r2.status, r3.status, r4.status))
        check("sites: requests(site=)",
              [x["path"] for x in srv.requests(site="raw")] ==
              ["/_raw/acme"])
        check("sites: site_url()", srv.site_url("web") == srv.url + "/_web"
              and srv.site_url("api") == srv.url)
        r = req("GET", "/acme/widgets.git/info/refs?service=git-upload-pack",
                ALICE, port=p)
        check("sites: git on the API site stays 404", r.status == 404)
        seen = []
        srv.add_route(["GET"], r"/special/(\w+)", lambda ex, w: (
            seen.append(w), ex.send_bytes(200, w.encode(),
                                          ctype="text/plain")), site="web")
        r = req("GET", "/_web/special/word", port=p)
        r2 = req("GET", "/special/word", port=p)
        check("sites: add_route(site=) matches the site's paths",
              r.body == b"word" and r2.status == 404 and seen == ["word"],
              (r.status, r2.status))
    finally:
        srv.stop()
    srv = fg.FakeGitHub(site_prefixes={"web": "/gh", "raw": ""}).start()
    try:
        p = srv.port
        r = req("GET", "/gh/acme/widgets.git/info/refs?service="
                "git-upload-pack", port=p)
        r2 = req("GET", "/_web/acme/widgets.git/info/refs?service="
                 "git-upload-pack", port=p)
        r3 = req("GET", "/_raw/acme/widgets/main/README.md", ALICE, port=p)
        check("sites: site_prefixes knob", r.status == 401 and
              r2.status == 404 and r3.status == 404 and
              r2.json()["message"] == "Not Found" and
              srv.site_prefixes == {"web": "/gh"} and
              [x["site"] for x in srv.requests()] == ["web", "api", "api"],
              (r.status, r2.status, srv.site_prefixes))
    finally:
        srv.stop()


def t_sites_git():
    srv = fg.FakeGitHub(chunk_threshold=256).start()
    web = srv.site_url("web")
    hostport = "127.0.0.1:%d" % srv.port
    d = os.path.join(T.tmp, "git")
    import shutil
    os.mkdir(d)
    try:
        p = srv.port
        seed = srv.git_refs("acme/widgets")["refs/heads/main"]
        path = srv.git_repo_path("acme/widgets")
        check("git: bare repository seeded on main", os.path.isfile(
            os.path.join(path, "HEAD")) and len(seed) == 40 and
            srv.git_has("acme/widgets", seed))
        url = "http://x:%s@%s/_web/acme/widgets.git" % (ALICE, hostport)
        srv.clear()
        rc, _, err = git_cmd("clone", "-q", url, "w", cwd=d)
        recs = srv.requests()
        check("git: clone with Basic (token as password)", rc == 0 and
              os.path.isfile(os.path.join(d, "w", "README.md")), err)
        check("git: the first request is refused 401, Basic realm GitHub",
              recs[0]["status"] == 401 and recs[1]["status"] == 200 and
              recs[1]["login"] == "alice", [x["status"] for x in recs])
        check("git: Git-Protocol and the service recorded",
              ["Git-Protocol", "version=2"] in recs[1]["headers"] and
              recs[1]["git_service"] == "git-upload-pack" and
              recs[-1]["method"] == "POST" and recs[-1]["cgi_exit"] == 0,
              recs[-1])
        rc, out, err = git_cmd("ls-remote", "http://%s@%s/_web/acme/widgets"
                               % (ALICE, hostport), cwd=d)
        check("git: token as user name, repository without .git",
              rc == 0 and seed in out, err)
        rc, _, err = git_cmd("clone", "-q", web + "/acme/widgets.git", "a",
                             cwd=d)
        check("git: anonymous clone of a private repository fails",
              rc != 0 and "Username" in err, err)
        r = req("GET", "/_web/acme/widgets.git/info/refs?service="
                "git-upload-pack", port=p)
        check("git: 401 with WWW-Authenticate: Basic realm=\"GitHub\"",
              r.status == 401 and
              r.h("WWW-Authenticate") == 'Basic realm="GitHub"')
        r = req("GET", "/_web/acme/widgets.git/info/refs?service="
                "git-upload-pack", port=p, auth=basic("x", "ghp_unknown"))
        check("git: unknown credential 401", r.status == 401 and
              b"Invalid username or token" in r.body)
        rc, _, err = git_cmd("clone", "-q", web + "/octo/public", "pub",
                             cwd=d)
        check("git: anonymous clone of a public repository", rc == 0, err)
        rc, _, err = git_cmd("clone", "-q", "http://x:%s@%s/_web/acme/"
                             "widgets.git" % (BOB, hostport), "b", cwd=d)
        check("git: a credential that cannot see it: not found", rc != 0
              and "not found" in err.lower(), err)
        r = req("GET", "/_web/acme/gadgets.git/info/refs?service="
                "git-receive-pack", port=p, auth=basic("x", BOB))
        check("git: reader's receive-pack 403", r.status == 403 and
              b"denied to bob" in r.body, (r.status, r.body))
        r = req("GET", "/_web/octo/public.git/info/refs?service="
                "git-receive-pack", port=p)
        check("git: anonymous receive-pack 401", r.status == 401 and
              r.h("WWW-Authenticate") == 'Basic realm="GitHub"')
        r = req("GET", "/_web/acme/widgets.git/info/refs", port=p,
                auth=basic("x", ALICE))
        check("git: dumb HTTP refused 403", r.status == 403 and
              b"dumb-http" in r.body)
        # push, chunked
        w = os.path.join(d, "w")
        with open(os.path.join(w, "blob.bin"), "wb") as f:
            f.write(os.urandom(3 * MB))
        git_cmd("add", "blob.bin", cwd=w)
        git_cmd("commit", "-qm", "big", cwd=w)
        head = git_cmd("rev-parse", "HEAD", cwd=w)[1].strip()
        srv.clear()
        rc, _, err = git_cmd("push", "-q", "origin", "main", cwd=w)
        posts = [x for x in srv.requests(method="POST")
                 if x["path"].endswith("/git-receive-pack")]
        check("git: push (chunked body) lands in the bare repository",
              rc == 0 and srv.git_refs("acme/widgets")["refs/heads/main"]
              == head and posts and posts[-1]["chunked"] and
              posts[-1]["body_length"] > 3 * MB and
              posts[-1]["status"] == 200, (rc, err, [
                  (x["chunked"], x["body_length"]) for x in posts]))
        ro = "ghs_readonlyAAAA"
        srv.add_credential(ro, "robot[bot]", repos=["acme/widgets"],
                           permission="read")
        rc, out, err = git_cmd("push", "-q", "http://x:%s@%s/_web/acme/"
                               "widgets.git" % (ro, hostport),
                               "HEAD:refs/heads/other", cwd=w)
        check("git: read-only credential cannot push (403)", rc != 0 and
              "403" in err and "refs/heads/other" not in
              srv.git_refs("acme/widgets"), err)
        # an installation token with contents:read only
        pub = app_keys()[0][1]
        srv.add_app(5, pub, {"50": "acme"}, slug="inproc")
        tok = mint(50, {"permissions": {"contents": "read"}},
                   token=jwt(iss=5), port=p).json()["token"]
        tokw = mint(50, {"permissions": {"issues": "write"}},
                    token=jwt(iss=5), port=p).json()["token"]
        u = "http://x-access-token:%s@%s/_web/acme/widgets.git"
        rc1, _, e1 = git_cmd("ls-remote", u % (tok, hostport), cwd=d)
        rc2, _, e2 = git_cmd("push", "-q", u % (tok, hostport),
                             "HEAD:refs/heads/other", cwd=w)
        rc3, _, e3 = git_cmd("ls-remote", u % (tokw, hostport), cwd=d)
        check("git: installation token: contents:read reads, cannot push;"
              " no contents: refused", rc1 == 0 and rc2 != 0 and
              "403" in e2 and rc3 != 0, (e1, e2, e3))
        # seeding, Git-Protocol v2 and gzip bodies by hand
        sha = srv.git_seed("acme/widgets", {"docs/new.md": "new\n"},
                           branch="feature/x")
        rc, out, err = git_cmd("ls-remote", url, cwd=d)
        check("git: git_seed() makes a branch", rc == 0 and
              "%s\trefs/heads/feature/x" % sha in out, out)
        import gzip
        body = gzip.compress(b"0014command=ls-refs\n0001" b"0009peel\n0000")
        r = req("POST", "/_web/acme/widgets.git/git-upload-pack", port=p,
                body=body, auth=basic("x", ALICE), headers={
                    "Content-Type": "application/x-git-upload-pack-request",
                    "Content-Encoding": "gzip", "Git-Protocol":
                    "version=2"})
        check("git: v2 ls-refs, gzip body (CGI gets Git-Protocol and "
              "Content-Encoding)", r.status == 200 and
              b"refs/heads/feature/x" in r.body and
              r.h("Content-Type") ==
              "application/x-git-upload-pack-result", (r.status, r.body))
        r = req("POST", "/_web/acme/widgets.git/git-upload-pack", port=p,
                body=b"0000", auth=basic("x", ALICE), headers={
                    "Content-Type": "application/x-git-upload-pack-request"
                })
        check("git: POST with Content-Length", r.status == 200, r.status)
        srv.reset()
        check("git: reset() goes back to the seed",
              srv.git_refs("acme/widgets") == {"refs/heads/main": seed})
        srv.git_handler = lambda ex, o, rp, rest: ex.send_bytes(
            200, ("%s %s %s" % (o, rp, rest)).encode(), ctype="text/plain")
        r = req("GET", "/_web/acme/widgets.git/info/refs", port=p)
        check("git: git_handler replaces the built-in",
              r.body == b"acme widgets /info/refs", r.body)
    finally:
        srv.stop()
        shutil.rmtree(d, ignore_errors=True)
    check("git: stop() removes the bare repositories",
          not os.path.exists(path))


def t_sites_releases():
    srv = fg.FakeGitHub().start()
    try:
        p = srv.port
        a = basic("x-access-token", ALICE)
        loc = srv.add_release_asset("acme/widgets", "v1.0", "tool.tgz",
                                    b"tool bytes")
        srv.add_release_asset("acme/widgets", "v0.9", "old.tgz", b"old",
                              latest=False)
        big = srv.add_release_asset("octo/public", "v2", "big.bin",
                                    size=3 * MB)
        path = "/_web/acme/widgets/releases/download/v1.0/tool.tgz"
        r = req("GET", path, port=p, auth=a)
        check("releases: 302 to the fake's objects URL", r.status == 302 and
              r.h("Location") == loc and loc.startswith(srv.url + "/__fake/"
                                                        "assets/") and
              b"redirected" in r.body, (r.status, r.headers))
        r = req("HEAD", path, port=p, auth=a)
        check("releases: HEAD 302 too", r.status == 302 and
              r.h("Location") == loc)
        r = req("GET", urllib.parse.urlsplit(loc).path, port=p)
        check("releases: the asset's bytes, no credential needed",
              r.status == 200 and r.body == b"tool bytes" and
              r.h("Content-Disposition") == "attachment; filename=tool.tgz"
              and r.h("Content-Type") == "application/octet-stream" and
              srv.requests()[-1]["site"] == "objects", r.status)
        r = req("GET", "/_web/acme/widgets/releases/latest/download/"
                "tool.tgz", port=p, auth=a)
        r2 = req("GET", "/_web/acme/widgets/releases/latest/download/"
                 "old.tgz", port=p, auth=a)
        check("releases: latest", r.status == 302 and
              r.h("Location") == loc and r2.status == 404)
        r = req("GET", "/_web/acme/widgets/releases/download/v0.9/old.tgz",
                port=p, auth=a)
        check("releases: an older tag", r.status == 302)
        for what, pth, au in (
                ("unknown file", "/_web/acme/widgets/releases/download/"
                 "v1.0/nope", a),
                ("unknown tag", "/_web/acme/widgets/releases/download/"
                 "v9/tool.tgz", a),
                ("no credential, private", path, None),
                ("no access", path, basic("x", BOB))):
            r = req("GET", pth, port=p, auth=au)
            check("releases: %s: 404" % what, r.status == 404, r.status)
        r = req("GET", "/_web/octo/public/releases/download/v2/big.bin",
                port=p)
        r2 = req("HEAD", urllib.parse.urlsplit(big).path, port=p)
        r3 = req("GET", urllib.parse.urlsplit(big).path, port=p)
        check("releases: public, anonymous; a pattern asset",
              r.status == 302 and r.h("Location") == big and
              r2.h("Content-Length") == str(3 * MB) and r2.body == b"" and
              r3.body == fg.pattern(3 * MB), (r.status, r2.headers))
        check("releases: release_assets()", [
            (x["name"], x["downloads"], x["latest"])
            for x in srv.release_assets()] == [
                ("tool.tgz", 1, True), ("old.tgz", 0, False),
                ("big.bin", 1, True)], srv.release_assets())
        r = req("POST", path, port=p, auth=a)
        check("releases: POST 404", r.status == 404)
    finally:
        srv.stop()


def t_sites_codeload():
    import io
    import tarfile
    srv = fg.FakeGitHub().start()
    try:
        p = srv.port
        sha = srv.git_refs("acme/widgets")["refs/heads/main"]
        r = req("GET", "/_codeload/acme/widgets/tar.gz/main", ALICE, port=p)
        names = []
        if r.status == 200:
            with tarfile.open(fileobj=io.BytesIO(r.body)) as tf:
                names = tf.getnames()
        check("codeload: tar.gz of main", r.status == 200 and
              r.h("Content-Type") == "application/x-gzip" and
              r.h("Content-Disposition") ==
              "attachment; filename=widgets-main.tar.gz" and
              "widgets-main/README.md" in names and
              r.h("Transfer-Encoding") == "chunked", (r.status, names))
        check("codeload: deterministic, codeload_bytes()",
              r.body == srv.codeload_bytes("acme/widgets", "tar.gz", "main")
              and req("GET", "/_codeload/acme/widgets/tar.gz/main", ALICE,
                      port=p).body == r.body)
        r = req("GET", "/_codeload/acme/widgets/zip/" + sha, ALICE, port=p)
        check("codeload: zip of a commit id", r.status == 200 and
              r.body[:2] == b"PK" and r.h("Content-Type") ==
              "application/zip")
        r = req("GET", "/_codeload/acme/widgets/legacy.tar.gz/main", ALICE,
                port=p)
        names = []
        if r.status == 200:
            with tarfile.open(fileobj=io.BytesIO(r.body)) as tf:
                names = tf.getnames()
        check("codeload: legacy.tar.gz names",
              r.h("Content-Disposition") == "attachment; filename="
              "acme-widgets-%s.tar.gz" % sha[:7] and
              "acme-widgets-%s/README.md" % sha[:7] in names, names)
        srv.git_seed("acme/widgets", {"x": "y"}, branch="release/1.0")
        r = req("GET", "/_codeload/acme/widgets/tar.gz/release/1.0", ALICE,
                port=p)
        check("codeload: a ref with a slash", r.status == 200 and
              "widgets-release-1.0.tar.gz" in r.h("Content-Disposition"))
        r = req("HEAD", "/_codeload/acme/widgets/zip/main", ALICE, port=p)
        check("codeload: HEAD", r.status == 200 and r.body == b"" and
              r.h("Content-Type") == "application/zip")
        for what, pth, tok in (
                ("unknown ref", "/_codeload/acme/widgets/zip/nope", ALICE),
                ("no credential", "/_codeload/acme/widgets/zip/main", None),
                ("no access", "/_codeload/acme/widgets/zip/main", BOB),
                ("bad credential", "/_codeload/acme/widgets/zip/main",
                 "ghp_nope"),
                ("unknown format", "/_codeload/acme/widgets/rar/main",
                 ALICE)):
            r = req("GET", pth, tok, port=p)
            check("codeload: %s: 404" % what, r.status == 404 and
                  r.body == b"404: Not Found", r.status)
        r = req("GET", "/_codeload/octo/public/tar.gz/main", port=p)
        check("codeload: public without a credential", r.status == 200)
    finally:
        srv.stop()


def t_sites_raw():
    srv = fg.FakeGitHub().start()
    try:
        p = srv.port
        r = req("GET", "/_raw/acme/widgets/main/README.md", ALICE, port=p)
        check("raw: a file", r.status == 200 and
              r.body.startswith(b"# widgets\n") and
              r.h("Content-Type") == "text/plain; charset=utf-8" and
              r.h("Content-Length") == str(len(r.body)), r.status)
        r = req("GET", "/_raw/acme/widgets/main/src/hello.txt?token=abc&x=1",
                ALICE, port=p)
        rec = srv.requests()[-1]
        check("raw: nested path; the query recorded",
              r.body == b"hello from acme/widgets\n" and
              rec["query"] == "token=abc&x=1" and rec["site"] == "raw" and
              rec["raw"] == ["acme/widgets", "main", "src/hello.txt"],
              rec.get("raw"))
        sha = srv.git_seed("acme/widgets", {"a/b.txt": b"\x00\x01bin"},
                           branch="fix/one")
        r = req("GET", "/_raw/acme/widgets/fix/one/a/b.txt", ALICE, port=p)
        r2 = req("GET", "/_raw/acme/widgets/%s/a/b.txt" % sha, ALICE,
                 port=p)
        r3 = req("GET", "/_raw/acme/widgets/refs/heads/fix/one/a/b.txt",
                 ALICE, port=p)
        check("raw: refs with slashes, commit ids, refs/heads/",
              r.body == r2.body == r3.body == b"\x00\x01bin",
              (r.status, r2.status, r3.status))
        r = req("HEAD", "/_raw/acme/widgets/main/README.md", ALICE, port=p)
        check("raw: HEAD", r.status == 200 and r.body == b"" and
              int(r.h("Content-Length")) > 0)
        for what, pth, tok in (
                ("unknown path", "/_raw/acme/widgets/main/nope", ALICE),
                ("a tree", "/_raw/acme/widgets/main/src", ALICE),
                ("no credential", "/_raw/acme/widgets/main/README.md", None),
                ("no access", "/_raw/acme/widgets/main/README.md", BOB)):
            r = req("GET", pth, tok, port=p)
            check("raw: %s: 404" % what, r.status == 404, r.status)
        r = req("POST", "/_raw/acme/widgets/main/README.md", ALICE, port=p,
                body=b"x")
        check("raw: POST 405", r.status == 405)
        r = req("GET", "/_raw/octo/public/main/README.md", port=p)
        check("raw: public without a credential", r.status == 200)
    finally:
        srv.stop()


def t_sites_copilot():
    srv = fg.FakeGitHub(copilot_refresh_in=100, copilot_lifetime=200)
    srv.add_credential("gho_aliceOAUTH", "alice")
    srv.add_credential("ghu_bobUSER", "bob")
    srv.start()
    try:
        p = srv.port
        t0 = int(time.time())
        r = req("GET", "/copilot_internal/v2/token", "gho_aliceOAUTH",
                port=p)
        j = r.json() if r.status == 200 else {}
        tok = j.get("token", "")
        check("copilot: token exchange", r.status == 200 and
              tok.startswith("tid=") and ";exp=%d;" % j["expires_at"] in tok
              and abs(j["expires_at"] - t0 - 200) <= 2 and
              j["refresh_in"] == 100 and
              j["endpoints"]["api"] == "https://api.githubcopilot.com" and
              r.h("X-RateLimit-Limit") is not None, r.body)
        toks = srv.copilot_tokens()
        check("copilot: copilot_tokens()", len(toks) == 1 and
              toks[0]["token"] == tok and toks[0]["login"] == "alice" and
              not toks[0]["expired"] and
              toks[0]["credential_prefix"] == "gho_alic", toks)
        r = req("GET", "/api/v3/copilot_internal/v2/token", "ghu_bobUSER",
                port=p)
        check("copilot: ghu_ and /api/v3", r.status == 200)
        r = req("GET", "/copilot_internal/v2/token", ALICE, port=p)
        check("copilot: a PAT gets 404", r.status == 404 and
              r.json() == {"message": "Not Found",
                           "documentation_url": "https://docs.github.com/"
                           "rest"})
        r = req("GET", "/copilot_internal/v2/token", "gho_unknown", port=p)
        r2 = req("GET", "/copilot_internal/v2/token", port=p)
        check("copilot: unknown 401, anonymous 401", r.status == 401 and
              r.json()["message"] == "Bad credentials" and
              r2.status == 401)
        srv.set_copilot(refresh_in=5, lifetime=60)
        srv.set_copilot_fault(2, 503)
        rs = [req("GET", "/copilot_internal/v2/token", "gho_aliceOAUTH",
                  port=p) for _ in range(3)]
        check("copilot: faults, then set_copilot() values",
              [x.status for x in rs] == [503, 503, 200] and
              rs[0].json()["message"] == "Service Unavailable" and
              rs[2].json()["refresh_in"] == 5 and
              srv.requests()[-2]["fault"] == "copilot:503",
              [x.status for x in rs])
        srv.set_copilot_fault(1, 401, "Bad credentials")
        r = req("GET", "/copilot_internal/v2/token", "gho_aliceOAUTH",
                port=p)
        check("copilot: fault message", r.status == 401 and
              r.json()["message"] == "Bad credentials")
        # the Copilot site
        r = req("POST", "/_copilot/chat/completions?x=1", port=p,
                auth="Bearer " + tok, body={"model": "gpt-4o"},
                headers={"sec-GitHub-allowed-enterprise": "acme-ent"})
        j = r.json()
        rec = srv.requests()[-1]
        check("copilot site: echoes token and login", r.status == 200 and
              j["login"] == "alice" and j["token"] == tok and
              j["path"] == "/chat/completions" and j["query"] == "x=1" and
              j["enterprise"] == "acme-ent" and j["method"] == "POST" and
              rec["login"] == "alice" and rec["site"] == "copilot", j)
        r = req("GET", "/_copilot/models", port=p, auth="Bearer " + tok)
        check("copilot site: models", r.status == 200 and
              "gpt-4o" in [m["id"] for m in r.json()["data"]])
        n = len(srv.requests())
        rs = [req("GET", "/_copilot/models", port=p, auth=a) for a in
              (None, "Bearer tid=forged", "token " + tok,
               "Bearer gho_aliceOAUTH")]
        check("copilot site: no, forged, wrong scheme, OAuth: 401, "
              "recorded", [x.status for x in rs] == [401] * 4 and
              len(srv.requests()) == n + 4 and
              "unauthorized" in rs[0].json()["message"],
              [x.status for x in rs])
        check("copilot: expire_copilot_tokens()",
              srv.expire_copilot_tokens(token=tok) == 1 and
              req("GET", "/_copilot/models", port=p,
                  auth="Bearer " + tok).status == 401 and
              srv.copilot_tokens()[0]["expired"])
        tok2 = srv.copilot_tokens()[-1]["token"]
        s, f = raw_connect(p)
        body = b'{"stream": true}'
        s.sendall(b"POST /_copilot/chat/completions HTTP/1.1\r\nHost: h\r\n"
                  b"Authorization: Bearer " + tok2.encode() + b"\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body) + body)
        st, hd, _, data, chunks = read_response(f)
        s.close()
        check("copilot site: stream: server-sent events, chunked",
              st == 200 and hd["content-type"] == "text/event-stream" and
              chunks and data.endswith(b"data: [DONE]\n\n") and
              data.count(b"data: ") == 5, (st, data[:200]))
    finally:
        srv.stop()


def t_sites_client():
    """The sites' test methods through FakeGitHubClient (subprocess)."""
    reset()
    check("client: sites()", FAKE.site_prefixes == fg.SITE_PREFIXES and
          FAKE.site_url("raw") == FAKE.url + "/_raw")
    path = FAKE.git_repo_path("acme/gadgets")
    sha = FAKE.git_seed("acme/gadgets", {"f.txt": "x", "g.bin": b"\xff"},
                        message="m")
    check("client: git_repo_path, git_seed, git_refs", os.path.isdir(path)
          and FAKE.git_refs("acme/gadgets")["refs/heads/main"] == sha)
    r = req("GET", "/_raw/acme/gadgets/main/g.bin", ALICE)
    check("client: seeded bytes served", r.body == b"\xff")
    loc = FAKE.add_release_asset("acme/gadgets", "v1", "a.bin", b"\x00A")
    r = req("GET", "/_web/acme/gadgets/releases/download/v1/a.bin", BOB)
    check("client: add_release_asset", r.status == 302 and
          r.h("Location") == loc and req(
              "GET", urllib.parse.urlsplit(loc).path).body == b"\x00A" and
          FAKE.release_assets()[0]["downloads"] == 1)
    FAKE.add_credential("gho_clientOAUTH", "alice")
    FAKE.set_copilot(refresh_in=7, lifetime=70)
    FAKE.set_copilot_fault(1, 500)
    r1 = req("GET", "/copilot_internal/v2/token", "gho_clientOAUTH")
    r2 = req("GET", "/copilot_internal/v2/token", "gho_clientOAUTH")
    toks = FAKE.copilot_tokens()
    check("client: copilot settings, faults, tokens", r1.status == 500 and
          r2.json()["refresh_in"] == 7 and len(toks) == 1 and
          toks[0]["token"] == r2.json()["token"])
    FAKE.set_copilot_fault(1, 500)
    FAKE.clear_copilot_faults()
    check("client: clear_copilot_faults, expire_copilot_tokens",
          req("GET", "/copilot_internal/v2/token",
              "gho_clientOAUTH").status == 200 and
          FAKE.expire_copilot_tokens(login="alice") == 2)
    check("client: requests(site=)", [
        x["path"] for x in FAKE.requests(site="web")] ==
        ["/_web/acme/gadgets/releases/download/v1/a.bin"])
    reset()
    check("client: reset() drops assets and seeds",
          FAKE.release_assets() == [] and
          FAKE.git_refs("acme/gadgets")["refs/heads/main"] != sha)


def t_mirror():
    import ssl
    ca = fg.TestCA()
    try:
        m = fg.MirrorServer(tls=True, ca=ca, auth=("mirror", "s3cret"))
        m.start()
        try:
            m.add("/acme/widgets/releases/download/v1/t.tgz", b"mirrored")
            m.add("/gone", status=410)
            ctx = ssl.create_default_context(cafile=ca.bundle)
            out = []
            for host in ("127.0.0.1", "localhost"):
                for method, path, auth in (
                        ("GET", "/acme/widgets/releases/download/v1/t.tgz",
                         basic("mirror", "s3cret")),
                        ("HEAD", "/acme/widgets/releases/download/v1/t.tgz",
                         basic("mirror", "s3cret")),
                        ("HEAD", "/acme/widgets/releases/download/v1/t.tgz",
                         None),
                        ("GET", "/gone", basic("mirror", "s3cret")),
                        ("HEAD", "/missing", basic("mirror", "s3cret")),
                        ("HEAD", "/missing", basic("mirror", "wrong"))):
                    c = http.client.HTTPSConnection(host, m.port,
                                                    context=ctx, timeout=10)
                    h = {"Authorization": auth} if auth else {}
                    c.request(method, path, headers=h)
                    r = c.getresponse()
                    out.append((r.status, r.read(),
                                r.getheader("WWW-Authenticate"),
                                r.getheader("Content-Length")))
                    c.close()
            check("mirror: https with the test CA, Basic auth, statuses",
                  out[:6] == [(200, b"mirrored", None, "8"),
                              (200, b"", None, "8"),
                              (401, b"", 'Basic realm="mirror"', "13"),
                              (410, b"Status 410\n", None, "11"),
                              (404, b"", None, "10"),
                              (401, b"", 'Basic realm="mirror"', "13")] and
                  out[6:] == out[:6] and m.url.startswith("https://"), out)
            recs = m.requests()
            check("mirror: records", len(recs) == 12 and
                  recs[0]["method"] == "GET" and recs[0]["user"] == "mirror"
                  and recs[0]["authorized"] and recs[2]["user"] is None and
                  recs[5]["authorized"] is False and recs[0]["tls"] and
                  len(m.requests("HEAD")) == 8, recs[:2])
            m.clear()
            check("mirror: clear()", m.requests() == [])
            n = m.netrc(os.path.join(T.tmp, "netrc"))
            with open(n) as f:
                text = f.read()
            check("mirror: netrc()", text == "machine 127.0.0.1\nlogin "
                  "mirror\npassword s3cret\n" and
                  os.stat(n).st_mode & 0o777 == 0o600)
            os.unlink(n)
            try:
                c = http.client.HTTPSConnection(
                    "127.0.0.1", m.port, timeout=10,
                    context=ssl.create_default_context())
                c.request("GET", "/")
                c.getresponse()
                bad = False
            except ssl.SSLError:
                bad = True
            check("mirror: not trusted without the test CA", bad)
        finally:
            m.stop()
    finally:
        ca.cleanup()
    check("TestCA cleanup", not os.path.exists(ca.dir))
    with fg.MirrorServer({"/x": b"plain"}) as m:
        r = req("GET", "/x", port=m.port)
        r2 = req("PUT", "/x", port=m.port, body=b"")
        check("mirror: plain HTTP, no auth; 405", r.status == 200 and
              r.body == b"plain" and r2.status == 405 and
              m.url == "http://127.0.0.1:%d" % m.port)


# ------------------------------------------------------------ GraphQL

GRAPHQL_DIR = os.path.join(HERE, "..", "graphql")
CORPUS = os.path.join(GRAPHQL_DIR, "corpus")
ANSWERS = os.path.join(GRAPHQL_DIR, "answers")


def gql(body, token=ALICE, port=None, path="/graphql"):
    """POST a GraphQL body (a dict, or bytes as is)."""
    return req("POST", path, token, body, port=port,
               headers={"Content-Type": "application/json"})


def corpus_body(name):
    with open(os.path.join(CORPUS, name), "rb") as f:
        return f.read()


def nodes_body(ids):
    return {"query": fg.NODE_QUERY, "variables": {"ids": ids}}


def not_found(i, nid, col=43):
    return {"type": "NOT_FOUND", "path": ["nodes", i],
            "locations": [{"line": 1, "column": col}],
            "message": "Could not resolve to a node with the global id of "
                       "'%s'." % nid}


def t_graphql():
    """The GraphQL stand-in (subprocess instance, FakeGitHubClient)."""
    reset()
    # canned answers, chosen by the document's first operation name
    r = gql(corpus_body("pr-view-1-PullRequestByNumber.json"))
    pr = r.json()["data"]["repository"]["pullRequest"] \
        if r.status == 200 else None
    check("graphql: gh's PullRequestByNumber answered from its file",
          pr and pr["number"] == 7 and pr["id"] == "PR_kwDOacmewidgets7" and
          pr["state"] == "OPEN" and "errors" not in r.json() and
          r.h("X-RateLimit-Resource") == "graphql", r.body[:300])
    r = gql(corpus_body("pr-list-1-PullRequestList.json"))
    check("graphql: name found after a leading fragment", r.status == 200
          and r.json()["data"]["repository"]["pullRequests"]["totalCount"]
          == 2, r.body[:200])
    # variants
    q = json.loads(corpus_body("issue-close-1-IssueByNumber.json"))
    q["variables"]["number"] = 5
    five = gql(q).json()
    q["variables"]["number"] = 99
    missing = gql(q).json()
    check("graphql: variants by variables; the default answer",
          five["data"]["repository"]["issue"]["state"] == "CLOSED" and
          five["data"]["repository"]["issue"]["id"] == "I_kwDOacmewidgets5"
          and missing["data"]["repository"]["issue"] is None and
          missing["errors"][0]["type"] == "NOT_FOUND", (five, missing))
    # unknown operation, operationName, anonymous
    r = gql({"query": "query NoSuchOperation { viewer { login } }"})
    check("graphql: unknown operation: data null and errors, 200",
          r.status == 200 and r.json()["data"] is None and
          "NoSuchOperation" in r.json()["errors"][0]["message"] and
          set(r.json()["errors"][0]) == {"message"}, r.body)
    body = json.loads(corpus_body("octokit-operation-name.json"))
    r = gql(body)
    check("graphql: operationName picks the operation",
          "'gadgets'" in r.json()["errors"][0]["message"], r.body)
    body["operationName"] = "nope"
    r = gql(body)
    check("graphql: operationName not in the document",
          r.status == 200 and r.json() == {"errors": [
              {"message": 'No operation named "nope"'}]}, r.body)
    r = gql({"query": "query { repository(owner: \"a\", name: \"b\") "
                      "{ id } }"})
    check("graphql: anonymous without viewer is unknown",
          r.status == 200 and r.json()["data"] is None, r.body)
    r = gql({"query": "# query Commented\n query Real { x }"})
    check("graphql: a name in a comment does not count",
          "'Real'" in r.json()["errors"][0]["message"], r.body)
    # viewer login: the caller's
    r = gql(corpus_body("status-2-UserCurrent.json"), BOB)
    check("graphql: viewer login is the caller's", r.json() == {
        "data": {"viewer": {"login": "bob"}}}, r.body)
    # repository named by the variables
    q = json.loads(corpus_body("pr-view-url-1-PullRequestByNumber.json"))
    pr = gql(q).json()["data"]["repository"]["pullRequest"]
    check("graphql: answer rebased on the repository asked (gadgets)",
          pr["id"] == "PR_kwDOacmegadgets7" and pr["url"] ==
          "https://github.com/acme/gadgets/pull/7" and
          pr["headRepository"] == {"id": "R_kgDOacmegadgets",
                                   "name": "gadgets"} and
          "acmewidgets" not in json.dumps(pr), pr)
    r = gql(corpus_body("repo-view-1-RepositoryInfo.json"), BOB)
    check("graphql: a repository the caller cannot see: NOT_FOUND",
          r.status == 200 and r.json() == {
              "data": {"repository": None}, "errors": [{
                  "type": "NOT_FOUND", "path": ["repository"],
                  "locations": [{"line": 2, "column": 3}],
                  "message": "Could not resolve to a Repository with the "
                             "name 'acme/widgets'."}]}, r.body)
    # ghp's node resolution
    ids = ["R_kgDOacmewidgets", "I_kwDOacmegadgets1", "PR_kwDOacmewidgets7",
           "LA_kwDOacmewidgets1", "U_kgDOalice", "MDEwOlJlcG9zaXRvcnkx",
           "REF_kwDOacmegadgetsmain", "R_kgDOacmegadgets"]
    r = gql(nodes_body(ids))
    check("graphql: GhpNodeRepositories in order, unknown id null + error",
          r.status == 200 and r.json() == {"data": {"nodes": [
              {"__typename": "Repository", "nameWithOwner": "acme/widgets"},
              {"__typename": "Issue",
               "repository": {"nameWithOwner": "acme/gadgets"}},
              {"__typename": "PullRequest",
               "repository": {"nameWithOwner": "acme/widgets"}},
              {"__typename": "Label",
               "repository": {"nameWithOwner": "acme/widgets"}},
              {"__typename": "User"}, None,
              {"__typename": "Ref",
               "repository": {"nameWithOwner": "acme/gadgets"}},
              {"__typename": "Repository",
               "nameWithOwner": "acme/gadgets"}]},
              "errors": [not_found(5, "MDEwOlJlcG9zaXRvcnkx")]}, r.body)
    r = gql(nodes_body(ids[:3]), BOB)
    check("graphql: nodes of a repository the caller cannot see: null",
          r.json() == {"data": {"nodes": [None, {
              "__typename": "Issue",
              "repository": {"nameWithOwner": "acme/gadgets"}}, None]},
              "errors": [not_found(0, ids[0]), not_found(2, ids[2])]},
          r.body)
    r = gql({"query": fg.NODE_QUERY, "variables": {}})
    e = r.json()
    check("graphql: GhpNodeRepositories without ids: variable error",
          r.status == 200 and "data" not in e and e["errors"][0][
              "message"] == "Variable $ids of type [ID!]! was provided "
          "invalid value", e)
    r = gql({"query": "query GhpNodeRepositories($ids: [ID!]!) {\n  "
                      "nodes(ids: $ids) { __typename ... on Repository "
                      "{ nameWithOwner } } }",
             "variables": {"ids": ["LA_kwDOacmewidgets1", "x"]}})
    check("graphql: only the fragments the document has; location",
          r.json() == {"data": {"nodes": [{"__typename": "Label"}, None]},
                       "errors": [dict(not_found(1, "x", 3), locations=[
                           {"line": 2, "column": 3}])]}, r.body)
    rest_id = req("GET", "/repos/acme/gadgets", ALICE).json()["node_id"]
    owner_id = req("GET", "/users/acme", ALICE).json()["node_id"]
    r = gql(nodes_body([rest_id, owner_id]))
    check("graphql: REST node_ids resolve too", r.json() == {
        "data": {"nodes": [{"__typename": "Repository",
                            "nameWithOwner": "acme/gadgets"},
                           {"__typename": "Organization"}]}}, r.body)
    # bad requests
    r = gql(b"{not json")
    check("graphql: bad JSON: 400 Problems parsing JSON",
          r.status == 400 and r.json() == {
              "message": "Problems parsing JSON",
              "documentation_url": "https://docs.github.com/graphql"} and
          r.h("X-RateLimit-Resource") == "graphql", r.body)
    r = gql(b'[{"query": "{ viewer { login } }"}]')
    check("graphql: a JSON array (batch): 400", r.status == 400, r.status)
    r = gql({"variables": {}})
    check("graphql: no query", r.status == 200 and r.json() == {"errors": [
        {"message": "A query attribute must be specified and must be a "
                    "string."}]}, r.body)
    r = req("GET", "/graphql", ALICE)
    check("graphql: GET 404", r.status == 404, r.status)
    r = gql({"query": "{ viewer { login } }"}, None)
    check("graphql: anonymous 401 (GitHub's message)", r.status == 401 and
          r.json()["message"] == "This endpoint requires you to be "
          "authenticated.", r.body)
    r = gql({"query": "{ viewer { login } }"}, path="/api/graphql")
    check("graphql: /api/graphql", r.status == 200 and r.json() == {
        "data": {"viewer": {"login": "alice"}}}, r.body)
    # records
    recs = FAKE.graphql_requests()
    check("graphql_requests(): every GraphQL request, parsed",
          len(recs) == 23 and recs[0]["operation"] == "PullRequestByNumber"
          and recs[0]["authorization"] == ["token " + ALICE] and
          recs[0]["login"] == "alice" and recs[0]["answer"] == "canned" and
          recs[0]["variables"]["pr_number"] == 7 and
          recs[0]["body"] == corpus_body(
              "pr-view-1-PullRequestByNumber.json").decode(),
          [(x["operation"], x["answer"]) for x in recs])
    kinds = [x["answer"] for x in recs]
    # None: bad JSON, a batch, GET, no credential (no answer chosen)
    check("graphql_requests(): how each was answered", kinds == [
        "canned", "canned", "canned", "canned", "unknown", "unknown",
        "invalid", "unknown", "unknown", "canned", "canned", "not_found",
        "nodes", "nodes", "nodes", "nodes", "nodes", None, None,
        "invalid", None, None, "viewer"], kinds)
    check("graphql_requests(): refused ones keep their Authorization",
          [x["authorization"] for x in recs if x["status"] == 401] == [[]]
          and [x["status"] for x in recs if x["path"] == "/api/graphql"]
          == [200], [(x["status"], x["authorization"]) for x in recs])
    since = recs[-1]["seq"]
    check("graphql_requests(since=) and the control call",
          [x["seq"] for x in FAKE.graphql_requests(since)] == [since] and
          fake_json("GET", "graphql/requests") == recs)
    rec = [x for x in records() if x["seq"] == recs[0]["seq"]][0]
    check("the record says how it was answered", rec["graphql"] == {
        "operation": "PullRequestByNumber", "answer": "canned"}, rec)
    # rate limit: the graphql bucket
    rl = req("GET", "/rate_limit", ALICE).json()["resources"]
    # alice's: 23, less bob's 3, the 401 and the GET (core)
    check("graphql requests count against graphql, not core",
          rl["graphql"]["used"] == 18 and rl["core"]["used"] == 3, rl)
    # test additions through the client
    FAKE.add_node("MDQ6VXNlcjE=", "Issue", "octo/public")
    FAKE.add_node("PVT_kwDOother", "ProjectV2")
    FAKE.add_graphql_answer("TestOnly", {"data": {"ok": True}})
    r = gql(nodes_body(["MDQ6VXNlcjE=", "PVT_kwDOother"]), BOB)
    check("client: add_node()", r.json() == {"data": {"nodes": [
        {"__typename": "Issue",
         "repository": {"nameWithOwner": "octo/public"}},
        {"__typename": "ProjectV2"}]}} and
        FAKE.graphql_nodes()["PVT_kwDOother"] == ["ProjectV2", None],
        r.body)
    r = gql({"query": "query TestOnly { ok }"})
    check("client: add_graphql_answer()", r.json() == {"data": {"ok": True}}
          and FAKE.graphql_answer_names()["added"] == ["TestOnly"] and
          "PullRequestByNumber" in FAKE.graphql_answer_names()["files"],
          r.body)
    FAKE.remove_node("PVT_kwDOother")
    check("client: remove_node()", "PVT_kwDOother" not in
          FAKE.graphql_nodes())
    reset()
    check("reset(): nodes and answers as at start",
          "MDQ6VXNlcjE=" not in FAKE.graphql_nodes() and
          FAKE.graphql_answer_names()["added"] == [] and
          FAKE.graphql_requests() == [])


def t_graphql_data():
    """tests/graphql: the corpus parses, the answers are consistent with
    the node table, and every corpus request is answered."""
    bodies = sorted(n for n in os.listdir(CORPUS) if n.endswith(".json"))
    bad = []
    for n in bodies:
        try:
            b = json.loads(corpus_body(n))
        except ValueError as e:
            bad.append((n, str(e)))
            continue
        if not isinstance(b, dict) or not isinstance(b.get("query"), str):
            bad.append((n, "no query"))
            continue
        m = re.fullmatch(r"(.+)-\d+-(\w+)\.json", n)
        if m:
            op = fg.operation_name(b) or "anonymous"
            if op != m.group(2):
                bad.append((n, op))
    check("corpus: %d bodies, JSON with a query, named by their operation"
          % len(bodies), len(bodies) > 50 and not bad, bad)
    srv = fg.FakeGitHub()
    table = srv.graphql_nodes()
    ids, bad = set(), []
    for n in sorted(os.listdir(ANSWERS)):
        try:
            with open(os.path.join(ANSWERS, n)) as f:
                text = f.read()
            json.loads(text)
        except (OSError, ValueError) as e:
            bad.append((n, str(e)))
            continue
        ids |= set(re.findall(r'"([A-Z]+_k[gw]DO\w+)"', text))
    # R_kgDOacmenewthing: RepositoryCreate's new repository, not in the
    # world (so it resolves to nothing, as an unknown id).
    unknown = sorted(i for i in ids if srv.lookup_node(i) is None and
                     i not in ("R_kgDOacmenewthing",))
    check("answers: valid JSON; their node ids are in the node table",
          not bad and len(ids) > 20 and not unknown, (bad, unknown))
    check("node table: the documented ids", all(
        table.get(k) == v for k, v in (
            ("R_kgDOacmewidgets", ["Repository", "acme/widgets"]),
            ("R_kgDOacmegadgets", ["Repository", "acme/gadgets"]),
            ("I_kwDOacmewidgets1", ["Issue", "acme/widgets"]),
            ("PR_kwDOacmewidgets7", ["PullRequest", "acme/widgets"]),
            ("I_kwDOacmegadgets1", ["Issue", "acme/gadgets"]),
            ("LA_kwDOacmegadgets1", ["Label", "acme/gadgets"]),
            ("U_kgDOalice", ["User", None]))))
    srv.start()
    try:
        unanswered = []
        for n in bodies:
            if n.startswith("octokit-") or "-anonymous" in n:
                continue
            r = gql(corpus_body(n), port=srv.port)
            if r.status != 200 or "errors" in r.json():
                unanswered.append((n, r.status, r.body[:120]))
        check("every named gh corpus request has a canned answer",
              not unanswered, unanswered)
    finally:
        srv.stop()


def t_graphql_in_process():
    d = tempfile.mkdtemp(prefix="fake-graphql-", dir=T.tmp)
    with open(os.path.join(d, "Mine.json"), "w") as f:
        json.dump({"variants": [{"variables": {"n": 1},
                                 "response": {"data": {"n": "one"}}}],
                   "response": {"data": {"n": "other"}}}, f)
    srv = fg.FakeGitHub(graphql_answers=d, graphql_nodes={
        "X_custom": ["Issue", "acme/widgets"], "Y_none": ["User", None]})
    srv.start()
    try:
        p = srv.port
        a = gql({"query": "query Mine($n: Int) { n }",
                 "variables": {"n": 1}}, port=p).json()
        b = gql({"query": "query Mine($n: Int) { n }",
                 "variables": '{"n": 2}'}, port=p).json()
        c = gql(corpus_body("pr-view-1-PullRequestByNumber.json"),
                port=p).json()
        check("in-process: graphql_answers= directory, variables as a "
              "JSON string", a == {"data": {"n": "one"}} and
              b == {"data": {"n": "other"}} and c["data"] is None, (a, b))
        r = gql(nodes_body(["X_custom", "Y_none", "R_kgDOacmewidgets"]),
                port=p).json()
        check("in-process: graphql_nodes= adds to the default table",
              r == {"data": {"nodes": [
                  {"__typename": "Issue",
                   "repository": {"nameWithOwner": "acme/widgets"}},
                  {"__typename": "User"},
                  {"__typename": "Repository",
                   "nameWithOwner": "acme/widgets"}]}}, r)
        srv.add_repo("x/y", private=True, readers=["alice"])
        r = gql(nodes_body(["R_kgDOxy"]), port=p).json()
        check("in-process: R_kgDO + key of an added repository", r == {
            "data": {"nodes": [{"__typename": "Repository",
                                "nameWithOwner": "x/y"}]}}, r)
        srv.add_graphql_answer("Mine", {"data": {"n": "added"}})
        r = gql({"query": "query Mine { n }"}, port=p).json()
        g = srv.graphql_requests()
        check("in-process: add_graphql_answer() before the file; "
              "graphql_requests()", r == {"data": {"n": "added"}} and
              len(g) == 6 and g[-1]["operation"] == "Mine", (r, g[-1:]))
        try:
            srv.add_node("Z", "not a name!", None)
            refused = False
        except ValueError:
            refused = True
        check("in-process: add_node() checks its arguments", refused)
    finally:
        srv.stop()
        for n in os.listdir(d):
            os.unlink(os.path.join(d, n))
        os.rmdir(d)
    # the CLI flag
    proc, cli = fg.spawn(["--graphql-answers", T.tmp])
    try:
        r = gql(corpus_body("status-2-UserCurrent.json"), port=cli.port)
        check("--graphql-answers DIR", r.status == 200 and
              r.json()["data"] is None and "UserCurrent" in
              r.json()["errors"][0]["message"], r.body)
    finally:
        cli.close()


class T:
    tmp = None
    record = None
    proc = None
    keys = None
    expiring = None


def main():
    t0 = time.monotonic()
    try:
        section(t_startup)
        if PORT is not None:
            for fn in (t_repo_get, t_auth, t_etag, t_ratelimit, t_issues,
                       t_keepalive, t_chunked_request, t_upload_50mb,
                       t_download_200mb, t_slow_status, t_faults,
                       t_recording, t_concurrency, t_cli_options,
                       t_in_process, t_apps_jwt, t_apps_mint, t_apps_list,
                       t_apps_ratelimit, t_apps_faults, t_apps_in_process,
                       t_sites_routing, t_sites_git, t_sites_releases,
                       t_sites_codeload, t_sites_raw, t_sites_copilot,
                       t_sites_client, t_mirror, t_graphql, t_graphql_data,
                       t_graphql_in_process):
                section(fn)
    finally:
        if FAKE is not None:
            FAKE.close()
            check("subprocess stops on SIGTERM", T.proc.returncode == 0,
                  T.proc.returncode)
        if T.tmp:
            for name in os.listdir(T.tmp):
                os.unlink(os.path.join(T.tmp, name))
            os.rmdir(T.tmp)
    print("runtime %.1fs" % (time.monotonic() - t0))
    print("upstream: %d passed, %d failed" % (PASSED, FAILED))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
