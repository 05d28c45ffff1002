"""
web_case.py: what the github.com-traffic tests (test_web_*.py) share: a
daemon whose five upstreams all point at one FakeGitHub under its site
prefixes (fake_github.py SITES), requests to a site by its Host header,
the real git client run against ghp, and checks on what reached which
site of the fake.

Not a test module itself (run_all.py collects test_*.py only).
"""

import base64
import os
import shutil
import subprocess
import tempfile

from fake_github import DEFAULT_CREDENTIALS, SITE_HOSTS
from harness import request
from proxy_case import CRED_ALICE, ProxyCase, read_json_lines, start_proxy

# alice's GitHub OAuth token in the fake's world (start_web(oauth=True)
# stores it in ghp as alice's credential instead of CRED_ALICE).
CRED_OAUTH_ALICE = "gho_realoauthcredentialAAAA"
REALM = 'Basic realm="GitHub"'
RAW_TOKEN_REFUSED = "Raw GitHub tokens are refused here"
MB = 1 << 20
PUSH_SIZE = 31 * MB     # push_30mb()'s commit


def start_web(case, workers=2, oauth=False, **kw):
    """A started Ghp (start_proxy(): `block tokens`, logs) with sites=True
    in front of a FakeGitHub whose world also knows CRED_OAUTH_ALICE;
    alice's stored credential is CRED_ALICE, or CRED_OAUTH_ALICE with
    oauth=True."""
    kw.setdefault("sites", True)
    fake_kw = dict(kw.pop("fake_kw", None) or {})
    creds = dict(fake_kw.get("credentials") or DEFAULT_CREDENTIALS)
    creds.setdefault(CRED_OAUTH_ALICE, "alice")
    fake_kw["credentials"] = creds
    g = start_proxy(case, workers, credential=False, fake_kw=fake_kw, **kw)
    g.add_credential("alice", CRED_OAUTH_ALICE if oauth else CRED_ALICE)
    return g


def site_request(g, site, method, path, token=None, auth=None, headers=(),
                 body=None, timeout=10.0, sink=None):
    """One request through ghp to a site, by its Host header (site:
    "api", "web", "codeload", "raw", "copilot"); Authorization: token
    TOKEN, or auth as the whole value."""
    return g.api(method, path, token, headers=headers, body=body,
                 host=SITE_HOSTS[site], auth=auth, timeout=timeout,
                 sink=sink)


def x_access_basic(cred):
    """How ghp sends a credential to github.com (git, releases)."""
    return "Basic " + base64.b64encode(
        ("x-access-token:" + cred).encode()).decode()


def auth_values(rec):
    return [v for k, v in rec["headers"] if k.lower() == "authorization"]


def header_values(rec, name):
    return [v for k, v in rec["headers"] if k.lower() == name.lower()]


class GitClient:
    """The real git client, with no system or user configuration, no
    prompt, its own HOME and work directory (self.dir; removed by
    cleanup())."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ghp-git-")
        self.home = os.path.join(self.dir, "home")
        os.mkdir(self.home)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.home, "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1", "GIT_ASKPASS": "",
            "SSH_ASKPASS": "", "GIT_AUTHOR_NAME": "Test",
            "GIT_AUTHOR_EMAIL": "test@example.com",
            "GIT_COMMITTER_NAME": "Test",
            "GIT_COMMITTER_EMAIL": "test@example.com"}

    def path(self, *names):
        return os.path.join(self.dir, *names)

    def run(self, *args, token=None, user="x", cwd=None, timeout=180,
            config=(), env=None):
        """git ARGS; with token, a credential helper answers user and
        token (as git's password).  Returns CompletedProcess (text)."""
        cmd = ["git", "-c", "credential.helper=", "-c",
               "init.defaultBranch=main", "-c", "protocol.version=2"]
        if token is not None:
            cmd += ["-c", "credential.helper=!f() { echo username=%s; "
                    "echo password=%s; }; f" % (user, token)]
        for c in config:
            cmd += ["-c", c]
        e = dict(self.env)
        e.update(env or {})
        return subprocess.run(cmd + list(args), cwd=cwd or self.dir,
                              env=e, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def head(self, repo_dir, rev="HEAD"):
        r = self.run("rev-parse", rev, cwd=repo_dir)
        return r.stdout.strip() if r.returncode == 0 else None

    def commit_file(self, repo_dir, name, data, message="a change"):
        """Write a file, commit it; the new commit's id."""
        with open(os.path.join(repo_dir, name), "wb") as f:
            f.write(data)
        self.run("add", name, cwd=repo_dir)
        r = self.run("commit", "-q", "-m", message, cwd=repo_dir)
        if r.returncode != 0:
            raise AssertionError("git commit: %s" % r.stderr)
        return self.head(repo_dir)

    def commit_random(self, repo_dir, name, size, message="random data"):
        """Commit size bytes of incompressible data (written in pieces)."""
        with open(os.path.join(repo_dir, name), "wb") as f:
            left = size
            while left > 0:
                n = min(left, 1 << 20)
                f.write(os.urandom(n))
                left -= n
        self.run("add", name, cwd=repo_dir)
        r = self.run("commit", "-q", "-m", message, cwd=repo_dir)
        if r.returncode != 0:
            raise AssertionError("git commit: %s" % r.stderr)
        return self.head(repo_dir)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def git_tokens(g):
    """(read, write): new ghp tokens of alice's for acme/widgets, with
    contents:read and contents:write (what WebCase's pushes take)."""
    read, _ = g.new_token("alice", "acme/widgets", "contents:read")
    write, _ = g.new_token("alice", "acme/widgets", "contents:write")
    return read, write


def ghp_git_url(g, repo="acme/widgets", suffix=".git"):
    """The URL git uses for repo through ghp (GitHub Enterprise style:
    ghp's own address, every non-API path is github.com's)."""
    return "http://127.0.0.1:%d/%s%s" % (g.port, repo, suffix)


def ghp_request(g, method, path, auth=None, headers=(), body=None,
                timeout=10.0):
    """One request to ghp's own address (Host: 127.0.0.1:PORT), as git
    sends it: a non-API path there is github.com's."""
    items = [("Host", "127.0.0.1:%d" % g.port),
             ("User-Agent", "git/2.39.5")]
    if auth is not None:
        items.append(("Authorization", auth))
    items += list(headers.items()) if isinstance(headers, dict) else \
        list(headers)
    return request("127.0.0.1", g.port, method, path, items, body, timeout)


class WebCase(ProxyCase):
    """ProxyCase plus a GitClient per test (self.git) and checks on what
    reached the fake's sites."""

    def setUp(self):
        super().setUp()
        self.git = GitClient()
        self.addCleanup(self.git.cleanup)

    def site_records(self, g, site="web", n=0, timeout=5.0):
        """The fake's records of site, once at least n are complete."""
        recs = self.forwarded(g, n, timeout)
        return [r for r in recs if r.get("site") == site]

    def assertNothingReached(self, g, site=None, what=""):
        """No record (of site, if given) since the fake's last clear()."""
        recs = [r for r in g.fake.requests()
                if site is None or r.get("site") == site]
        if recs:
            self.fail("%s reached the fake: %s" % (what or "something", [
                (r["site"], r["method"], r["target"], auth_values(r))
                for r in recs]))

    def assertGitOK(self, r, what="git"):
        self.assertEqual(r.returncode, 0, "%s failed:\n%s%s" % (
            what, r.stdout, r.stderr))

    def assertGitFailed(self, r, *contains, what="git"):
        self.assertNotEqual(r.returncode, 0, "%s should have failed:\n%s%s"
                            % (what, r.stdout, r.stderr))
        for c in contains:
            self.assertIn(c, r.stderr, what)

    # The clone and pushes below (tokens: git_tokens()) need the test
    # class's clone(token) (acme/widgets into "w") and, when its git
    # reaches ghp another way, its own git_as().

    def git_as(self, token, *args, **kw):
        """git ARGS with token (as the credential helper answers)."""
        return self.git.run(*args, token=token, **kw)

    def clone_checked(self, g, token, what="clone"):
        """Clone with token: acme/widgets's README.md is in "w", at the
        fake's head of main; returns that directory."""
        self.assertGitOK(self.clone(token), what)
        w = self.git.path("w")
        self.assertTrue(os.path.isfile(os.path.join(w, "README.md")))
        self.assertEqual(self.git.head(w),
                         g.fake.git_refs("acme/widgets")["refs/heads/main"])
        return w

    def push_30mb(self, g, token, n, what="push"):
        """Clone with token, commit PUSH_SIZE bytes of random data and
        push them: the commit lands on the fake, and among the web
        records (at least n) exactly one receive-pack POST carried 30 MB
        or more; returns that record."""
        self.assertGitOK(self.clone(token), "clone")
        w = self.git.path("w")
        head = self.git.commit_random(w, "blob.bin", PUSH_SIZE)
        g.fake.clear()
        r = self.git_as(token, "push", "-q", "origin", "main", cwd=w)
        self.assertGitOK(r, what)
        self.assertEqual(g.fake.git_refs("acme/widgets")["refs/heads/main"],
                         head)
        self.assertTrue(g.fake.git_has("acme/widgets", head))
        recs = self.site_records(g, "web", n)
        packs = [x for x in recs if x["method"] == "POST" and
                 x["site_path"].endswith("/git-receive-pack") and
                 (x["body_length"] or 0) >= 30 * MB]
        self.assertEqual(len(packs), 1, [(x["method"], x["target"],
                                          x["body_length"]) for x in recs])
        return packs[0]

    def assertPushRefused(self, g, token):
        """Clone with token (contents:read), commit and push: git fails
        with 403, the fake's refs stay as they were and nothing reaches
        github.com."""
        self.assertGitOK(self.clone(token), "clone")
        w = self.git.path("w")
        before = g.fake.git_refs("acme/widgets")
        self.git.commit_file(w, "x.txt", b"not pushed\n")
        g.fake.clear()
        r = self.git_as(token, "push", "-q", "origin", "main", cwd=w)
        self.assertGitFailed(r, "403", what="push with contents:read")
        self.assertEqual(g.fake.git_refs("acme/widgets"), before)
        self.assertNothingReached(g, "web", "a refused push")

    def assertRequiresBasic(self, r, what=""):
        """401 with `WWW-Authenticate: Basic realm="GitHub"`."""
        self.assertEqual(r.status, 401, "%s: %r" % (what, r))
        self.assertEqual(r.headers.get("www-authenticate"), REALM,
                         "%s: %r" % (what, r.headers))

    def audit_records(self, g, pred=None):
        return [a for a in read_json_lines(g.audit_path)
                if pred is None or pred(a)]
