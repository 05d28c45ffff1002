#!/usr/bin/env python3
"""
capture.py: run the real gh CLI against the fake GitHub and keep every
GraphQL request body it sends, verbatim, as
tests/graphql/corpus/<command-slug>-<n>-<OperationName>.json.

gh talks to https://api.github.com through HTTPS_PROXY.  This script
starts, in this process, a FakeGitHub (tests/upstream/fake_github.py,
default world; GH_TOKEN is alice's ghp_realcredentialAAAA) and a small
intercepting proxy: it answers CONNECT api.github.com:443 with 200, ends
TLS itself with a certificate for api.github.com from a TestCA (given to
gh as SSL_CERT_FILE), and hands the decrypted connection to the fake's
request handler, which answers and records it as any other request.
Other hosts are refused (403 to the CONNECT), and listed.

Each command runs with its own temporary HOME and GH_CONFIG_DIR, no
prompt, no pager, in a directory that is not a git repository, so its
`-R acme/widgets` is what names the repository.

    python3 tests/graphql/capture.py            # every command
    python3 tests/graphql/capture.py pr-view issue-create   # some
    python3 tests/graphql/capture.py --list     # the commands
    python3 tests/graphql/capture.py --dry-run  # run, write nothing
    python3 tests/graphql/capture.py -v         # also gh's output

A command's old corpus files (<slug>-*.json) are replaced.  The exit
status is non-zero when a gh command failed or a request got no canned
answer (tests/graphql/answers/): add or fix the answer and run again.
Python 3 standard library, the openssl command and gh.
"""

import argparse
import glob
import json
import os
import shutil
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "upstream"))
sys.dont_write_bytecode = True
import fake_github as fg  # noqa: E402

CORPUS = os.path.join(HERE, "corpus")
TOKEN = "ghp_realcredentialAAAA"            # alice, in the default world
REPO = ["-R", "acme/widgets"]
INTERCEPT = ("api.github.com",)

# (slug, gh arguments).  Slugs are file name prefixes: keep them unique.
# Commands in ANONYMOUS send a document of no operation name, which the
# fake does not answer (only { viewer { login } }): gh fails once the
# body is captured, and that is expected.
COMMANDS = [
    ("pr-list", ["pr", "list"] + REPO),
    ("pr-list-label", ["pr", "list", "--label", "bug"] + REPO),
    ("pr-list-search", ["pr", "list", "--search", "is:open review:required"]
     + REPO),
    ("pr-view", ["pr", "view", "7"] + REPO),
    ("pr-view-comments", ["pr", "view", "7", "--comments"] + REPO),
    ("pr-view-json", ["pr", "view", "7", "--json",
                      "number,title,state,author,labels,files,reviews,"
                      "statusCheckRollup,headRepository"] + REPO),
    ("pr-create", ["pr", "create", "--title", "t", "--body", "b",
                   "--head", "feature-1", "--base", "main"] + REPO),
    ("pr-create-meta", ["pr", "create", "--title", "t", "--body", "b",
                        "--head", "feature-1", "--base", "main", "--label",
                        "bug", "--reviewer", "bob", "--assignee", "@me",
                        "--milestone", "v1.0"] + REPO),
    ("pr-view-url", ["pr", "view", "https://github.com/acme/gadgets/pull/7"]),
    ("pr-view-branch", ["pr", "view", "feature-2"] + REPO),
    ("pr-merge", ["pr", "merge", "7", "--merge"] + REPO),
    ("pr-merge-auto", ["pr", "merge", "7", "--auto", "--squash"] + REPO),
    ("pr-lock", ["pr", "lock", "7"] + REPO),
    ("pr-checks", ["pr", "checks", "7"] + REPO),
    ("pr-status", ["pr", "status"] + REPO),
    ("pr-comment", ["pr", "comment", "7", "--body", "hi"] + REPO),
    ("pr-close", ["pr", "close", "7"] + REPO),
    ("pr-reopen", ["pr", "reopen", "6"] + REPO),
    ("pr-ready", ["pr", "ready", "8"] + REPO),
    ("pr-review", ["pr", "review", "7", "--approve"] + REPO),
    ("pr-edit", ["pr", "edit", "7", "--title", "new title",
                 "--add-label", "bug"] + REPO),
    ("issue-list", ["issue", "list"] + REPO),
    ("issue-list-label", ["issue", "list", "--label", "bug"] + REPO),
    ("issue-list-search", ["issue", "list", "--search", "crash in:title"]
     + REPO),
    ("issue-view", ["issue", "view", "1"] + REPO),
    ("issue-view-comments", ["issue", "view", "1", "--comments"] + REPO),
    ("issue-create", ["issue", "create", "--title", "t", "--body", "b"]
     + REPO),
    ("issue-create-meta", ["issue", "create", "--title", "t", "--body",
                           "b", "--label", "bug", "--assignee", "@me",
                           "--milestone", "v1.0"] + REPO),
    ("issue-comment", ["issue", "comment", "1", "--body", "hi"] + REPO),
    ("issue-close", ["issue", "close", "1"] + REPO),
    ("issue-reopen", ["issue", "reopen", "5"] + REPO),
    ("issue-edit", ["issue", "edit", "1", "--title", "new title",
                    "--add-label", "bug"] + REPO),
    ("issue-transfer", ["issue", "transfer", "1", "acme/gadgets"] + REPO),
    ("issue-view-url", ["issue", "view",
                        "https://github.com/acme/gadgets/issues/1"]),
    ("issue-lock", ["issue", "lock", "1"] + REPO),
    ("issue-unlock", ["issue", "unlock", "2"] + REPO),
    ("issue-pin", ["issue", "pin", "1"] + REPO),
    ("issue-unpin", ["issue", "unpin", "2"] + REPO),
    ("issue-status", ["issue", "status"] + REPO),
    ("issue-delete", ["issue", "delete", "1", "--yes"] + REPO),
    ("repo-view", ["repo", "view", "acme/widgets"]),
    ("repo-view-json", ["repo", "view", "acme/widgets", "--json",
                        "name,owner,description,defaultBranchRef,labels,"
                        "latestRelease,viewerPermission,issues,"
                        "pullRequests"]),
    ("repo-list", ["repo", "list", "acme"]),
    ("repo-list-viewer", ["repo", "list"]),
    ("repo-archive", ["repo", "archive", "acme/widgets", "--yes"]),
    ("repo-create", ["repo", "create", "acme/newthing", "--private"]),
    ("label-list", ["label", "list"] + REPO),
    ("label-clone", ["label", "clone", "acme/gadgets"] + REPO),
    ("release-list", ["release", "list"] + REPO),
    ("api-graphql", ["api", "graphql", "-f", "query={ viewer { login } }"]),
    ("api-graphql-vars", [
        "api", "graphql", "-F", "owner=acme", "-F", "name=widgets", "-f",
        "query=query($owner: String!, $name: String!) { repository(owner: "
        "$owner, name: $name) { issues(first: 5) { nodes { title } } } }"]),
    ("api-graphql-paginate", [
        "api", "graphql", "--paginate", "-f",
        "query=query($endCursor: String) { viewer { repositories(first: 2,"
        " after: $endCursor) { nodes { nameWithOwner } pageInfo { "
        "hasNextPage endCursor } } } }"]),
    ("api-graphql-mutation", [
        "api", "graphql", "-f", "id=R_kgDOacmewidgets", "-f",
        "query=mutation($id: ID!) { addStar(input: {starrableId: $id}) { "
        "starrable { stargazerCount } } }"]),
    ("gist-list", ["gist", "list"]),
    ("status", ["status"]),
]
ANONYMOUS = {"api-graphql-vars", "api-graphql-mutation"}


# ------------------------------------------------------------ the proxy


class _ProxyHandler(socketserver.BaseRequestHandler):
    def handle(self):
        cap = self.server.capture
        sock = self.request
        sock.settimeout(60)
        head = b""
        while b"\r\n\r\n" not in head:
            try:
                data = sock.recv(1)
            except OSError:
                return
            if not data or len(head) > 65536:
                return
            head += data
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        words = line.split()
        if len(words) != 3 or words[0] != "CONNECT":
            sock.sendall(b"HTTP/1.1 405 Method Not Allowed\r\n"
                         b"Content-Length: 0\r\nConnection: close\r\n\r\n")
            return
        host, _, port = words[1].rpartition(":")
        if host not in INTERCEPT or port != "443":
            with cap.lock:
                cap.refused.append(words[1])
            sock.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n"
                         b"Connection: close\r\n\r\n")
            return
        sock.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        try:
            tls = cap.ctx.wrap_socket(sock, server_side=True)
        except (OSError, ssl.SSLError):
            return
        srv = cap.fake._server
        try:
            # The fake's own handler serves the decrypted connection.
            srv.RequestHandlerClass(tls, self.client_address, srv)
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                tls.close()
            except OSError:
                pass


def _empty_list(ex):
    if ex.api_prelude():
        ex.send_json(200, [])


class _ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class Capture:
    """The fake GitHub, its CA and the intercepting proxy."""

    def __init__(self):
        self.lock = threading.Lock()
        self.refused = []
        self.ca = fg.TestCA()
        self.ctx = self.ca.server_context(INTERCEPT)
        self.fake = fg.FakeGitHub(site_prefixes={})
        # REST routes gh needs that the fake does not serve.
        self.fake.add_route(["GET"], r"/notifications", _empty_list)
        self.fake.add_route(["GET"], r"/users/[^/]+/received_events",
                            _empty_list)
        self.fake.start()
        self.proxy = _ProxyServer(("127.0.0.1", 0), _ProxyHandler)
        self.proxy.capture = self
        self.thread = threading.Thread(target=self.proxy.serve_forever,
                                       daemon=True)
        self.thread.start()
        self.proxy_url = "http://127.0.0.1:%d" % self.proxy.server_address[1]

    def close(self):
        self.proxy.shutdown()
        self.proxy.server_close()
        self.fake.stop()
        self.ca.cleanup()

    def run_gh(self, args, gh="gh", timeout=120):
        d = tempfile.mkdtemp(prefix="ghp-capture-")
        try:
            home = os.path.join(d, "home")
            work = os.path.join(d, "work")
            os.mkdir(home)
            os.mkdir(work)
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                   "HOME": home, "LC_ALL": "C", "TERM": "dumb",
                   # gh caches some answers (feature detection) in
                   # $TMPDIR/gh-cli-cache: one per run.
                   "TMPDIR": d,
                   "HTTPS_PROXY": self.proxy_url,
                   "https_proxy": self.proxy_url,
                   "NO_PROXY": "", "no_proxy": "",
                   "SSL_CERT_FILE": self.ca.bundle, "GH_TOKEN": TOKEN,
                   "GH_CONFIG_DIR": os.path.join(d, "gh-config"),
                   "GH_NO_UPDATE_NOTIFIER": "1", "GH_PROMPT_DISABLED": "1",
                   "NO_COLOR": "1", "GH_PAGER": "cat", "PAGER": "cat",
                   "XDG_CONFIG_HOME": os.path.join(d, "xdg-config"),
                   "XDG_CACHE_HOME": os.path.join(d, "xdg-cache"),
                   "XDG_STATE_HOME": os.path.join(d, "xdg-state"),
                   "XDG_DATA_HOME": os.path.join(d, "xdg-data")}
            return subprocess.run([gh] + list(args), env=env, cwd=work,
                                  capture_output=True, text=True,
                                  timeout=timeout, stdin=subprocess.DEVNULL)
        finally:
            shutil.rmtree(d, ignore_errors=True)


def _body_bytes(rec):
    import base64
    if rec.get("body_b64") is not None:
        return base64.b64decode(rec["body_b64"])
    return (rec.get("body") or "").encode("utf-8")


def capture_one(cap, slug, args, out, gh="gh", dry_run=False,
                verbose=False):
    """Run one command; write its GraphQL bodies.  True when it went
    well (gh exit 0, every GraphQL request answered)."""
    cap.fake.reset()
    with cap.lock:
        cap.refused = []
    p = cap.run_gh(args, gh)
    recs = cap.fake.requests()
    gql = fg.graphql_records(recs)
    by_seq = {r["seq"]: r for r in recs}
    files = []
    if not dry_run:
        for old in glob.glob(os.path.join(out, glob.escape(slug) +
                                          "-[0-9]*-*.json")):
            os.unlink(old)
    for n, g in enumerate(gql, 1):
        name = "%s-%d-%s.json" % (slug, n, g["operation"] or "anonymous")
        files.append(name)
        if not dry_run:
            with open(os.path.join(out, name), "wb") as f:
                f.write(_body_bytes(by_seq[g["seq"]]))
    rest = ["%s %s -> %s" % (r["method"], r["target"], r["status"])
            for r in recs if r["seq"] not in {g["seq"] for g in gql}]
    unanswered = [g["operation"] or "anonymous" for g in gql
                  if g["answer"] not in ("canned", "nodes", "viewer")]
    if slug in ANONYMOUS:
        ok = bool(gql) and unanswered == ["anonymous"] * len(gql)
    else:
        ok = p.returncode == 0 and not unanswered
    print("%s %-22s gh %s" % ("ok  " if ok else "FAIL", slug,
                              " ".join(args)))
    for f in files:
        print("       %s" % f)
    for r in rest:
        print("       REST %s" % r)
    with cap.lock:
        for h in cap.refused:
            print("       refused CONNECT %s" % h)
    for u in unanswered:
        print("       no canned answer: %s" % u)
    if slug in ANONYMOUS and ok:
        print("       (expected: the fake answers no anonymous document)")
    elif p.returncode != 0 or verbose:
        print("       exit %d" % p.returncode)
        for line in (p.stdout + p.stderr).splitlines()[:40]:
            print("       | %s" % line)
    return ok


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("slugs", nargs="*", help="only these commands")
    ap.add_argument("--out", default=CORPUS)
    ap.add_argument("--gh", default="gh")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--dry-run", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args(argv)
    if a.list:
        for slug, args in COMMANDS:
            print("%-22s gh %s" % (slug, " ".join(args)))
        return 0
    known = dict(COMMANDS)
    for s in a.slugs:
        if s not in known:
            ap.error("unknown command slug %r (see --list)" % s)
    todo = [(s, args) for s, args in COMMANDS
            if not a.slugs or s in a.slugs]
    v = subprocess.run([a.gh, "--version"], capture_output=True, text=True)
    print("# %s" % v.stdout.splitlines()[0] if v.stdout else "# gh ?")
    os.makedirs(a.out, exist_ok=True)
    cap = Capture()
    bad = 0
    try:
        for slug, args in todo:
            if not capture_one(cap, slug, args, a.out, a.gh, a.dry_run,
                               a.verbose):
                bad += 1
    finally:
        cap.close()
    print("# %d commands, %d failed" % (len(todo), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
