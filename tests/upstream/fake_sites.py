"""
fake_sites.py: GitHub's other sites for fake_github.py, and a mirror.

fake_github.py's FakeGitHub serves api.github.com; with this module it
also serves, by path prefix (the `site_prefixes` knob), github.com
(git smart HTTP through the real `git http-backend`, release downloads),
codeload.github.com (archives), raw.githubusercontent.com (files) and
api.githubcopilot.com, plus the API's Copilot token exchange
(GET /copilot_internal/v2/token).  What the sites do is documented in
fake_github.py's docstring (SITES); the code is here as two mixins:
SitesWorld (the FakeGitHub side: bare repositories, release assets,
Copilot tokens) and SitesHandler (the request handler side).

MirrorServer is a separate small HTTP or HTTPS server that stands in
for a release or archive mirror (GET and HEAD of given paths, optional
Basic authentication, records); TestCA makes a certificate authority
and server certificates for it with the openssl command.  Its parts
(QuietHTTPServer, QuietHandler, BackgroundServer: a quiet HTTP/1.1
server served in a thread) make the integration tests' own small
servers too, and FakeGitHub is a BackgroundServer.

This module imports nothing of fake_github.py (which may run as
__main__); what it needs of it comes through the objects.  Python 3
standard library only.
"""

import base64
import copy
import http.server
import json
import os
import re
import secrets
import shutil
import socketserver
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.parse

__all__ = ["SITE_PREFIXES", "SitesWorld", "SitesHandler", "MirrorServer",
           "TestCA", "write_netrc", "QuietHTTPServer", "QuietHandler",
           "BackgroundServer"]

SITE_PREFIXES = {"web": "/_web", "codeload": "/_codeload", "raw": "/_raw",
                 "copilot": "/_copilot"}
SITE_HOSTS = {"api": "api.github.com", "web": "github.com",
              "codeload": "codeload.github.com",
              "raw": "raw.githubusercontent.com",
              "copilot": "api.githubcopilot.com"}

_LEVEL = {"read": 1, "write": 2, "admin": 3}
_DOC_REST = "https://docs.github.com/rest"
_JSON_CT = "application/json; charset=utf-8"
_TEXT_CT = "text/plain; charset=utf-8"

# Commits the fake makes itself: fixed names and dates, so that a seeded
# repository has the same commit ids in every run.
SEED_EPOCH = 1577836800             # 2020-01-01T00:00:00Z
SEED_IDENTITY = ("Fake GitHub", "noreply@github.com")

GIT_DUMB_REFUSED = (
    "Please upgrade your git client.\nGitHub.com no longer supports "
    "git over dumb-http: https://github.com/blog/809-git-dumb-http-"
    "transport-to-be-turned-off-in-90-days\n")
GIT_BAD_CREDENTIALS = (
    "Invalid username or token. Password authentication is not "
    "supported for Git operations.\n")

ARCHIVE_FORMATS = {
    # codeload format: (git archive --format, Content-Type, extension)
    "tar.gz": ("tar.gz", "application/x-gzip", ".tar.gz"),
    "legacy.tar.gz": ("tar.gz", "application/x-gzip", ".tar.gz"),
    "zip": ("zip", "application/zip", ".zip"),
    "legacy.zip": ("zip", "application/zip", ".zip"),
}

COPILOT_ENDPOINTS = {
    "api": "https://api.githubcopilot.com",
    "origin-tracker": "https://origin-tracker.githubcopilot.com",
    "proxy": "https://proxy.githubcopilot.com",
    "telemetry": "https://telemetry.githubcopilot.com",
}
COPILOT_MODELS = ["gpt-4o", "gpt-4.1", "claude-sonnet-4", "o3-mini"]


def _is_oauth_credential(cred, spec):
    """Whether GitHub would exchange this credential for a Copilot
    token: an OAuth App or GitHub App user token, unless the spec says."""
    if spec and spec.get("copilot") is not None:
        return bool(spec["copilot"])
    return cred.startswith(("gho_", "ghu_"))


# ------------------------------------------------------------ the world


class SitesWorld:
    """FakeGitHub's side of the sites (mixed into FakeGitHub)."""

    def _init_sites(self, site_prefixes=None, git_root=None,
                    copilot_refresh_in=1500, copilot_lifetime=1800):
        pre = SITE_PREFIXES if site_prefixes is None else site_prefixes
        self.site_prefixes = {k: "/" + v.strip("/") for k, v in pre.items()
                              if v and v.strip("/")}
        self._git_root_given = git_root
        self._git_root = git_root
        self._git_lock = threading.RLock()
        self.copilot_refresh_in = int(copilot_refresh_in)
        self.copilot_lifetime = int(copilot_lifetime)
        self._assets = {}               # id -> asset
        self._releases = {}             # "o/r" -> {tag: {name: id}}
        self._latest = {}               # "o/r" -> tag
        self._asset_seq = 0
        self._copilot_tokens = []       # issued, oldest first
        self._copilot_faults = []

    def _reset_sites(self):
        """Back to the start: no assets, no Copilot tokens or faults, the
        bare repositories deleted (made and seeded again on demand)."""
        with self.lock:
            self._assets = {}
            self._releases = {}
            self._latest = {}
            self._copilot_tokens = []
            self._copilot_faults = []
        with self._git_lock:
            root = self._git_root
            if root and os.path.isdir(root):
                for n in os.listdir(root):
                    p = os.path.join(root, n)
                    if os.path.isdir(p) and not os.path.islink(p):
                        shutil.rmtree(p, ignore_errors=True)

    def _stop_sites(self):
        with self._git_lock:
            if self._git_root and not self._git_root_given:
                shutil.rmtree(self._git_root, ignore_errors=True)
                self._git_root = None

    def site_of(self, path):
        """(site, path within the site) of a request path."""
        for site, pre in self.site_prefixes.items():
            if path == pre or path.startswith(pre + "/"):
                return site, path[len(pre):] or "/"
        return "api", path

    def site_url(self, site):
        """The base URL of a site on this server: url + its prefix."""
        if site == "api":
            return self.url
        return self.url + self.site_prefixes[site]

    # ---------------------------------------------------- git

    @property
    def git_root(self):
        """The directory of the bare repositories (made on first use)."""
        with self._git_lock:
            if self._git_root is None:
                self._git_root = tempfile.mkdtemp(prefix="fake-github-git-")
            os.makedirs(self._git_root, exist_ok=True)
            return self._git_root

    def git_env(self, extra=None):
        """The environment the fake runs git in: no system or global
        configuration, fixed identities and dates."""
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
               "HOME": self.git_root, "GIT_CONFIG_NOSYSTEM": "1",
               "GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C",
               "GIT_AUTHOR_NAME": SEED_IDENTITY[0],
               "GIT_AUTHOR_EMAIL": SEED_IDENTITY[1],
               "GIT_COMMITTER_NAME": SEED_IDENTITY[0],
               "GIT_COMMITTER_EMAIL": SEED_IDENTITY[1]}
        env.update(extra or {})
        return env

    def git(self, full_name, *args, input=None, env=None, check=True):
        """Run git in the bare repository of full_name (made on
        demand); its stdout, as bytes.  CalledProcessError on failure
        (check=True)."""
        path = self.git_repo_path(full_name)
        return self._git_in(path, *args, input=input, env=env,
                            check=check)

    def _git_in(self, gitdir, *args, input=None, env=None, check=True):
        r = subprocess.run(["git", "--git-dir", gitdir] + list(args),
                           input=input, capture_output=True,
                           env=self.git_env(env), timeout=120)
        if check and r.returncode != 0:
            raise subprocess.CalledProcessError(
                r.returncode, ["git"] + list(args), r.stdout, r.stderr)
        return r.stdout

    def _git_repo(self, full_name):
        with self.lock:
            return self.repos.get(full_name.lower())

    def git_repo_path(self, full_name, create=True):
        """The bare repository of a repository of the world, made and
        seeded (a commit on its default branch) when it does not exist
        yet.  KeyError for a repository the world does not have."""
        repo = self._git_repo(full_name)
        if repo is None:
            raise KeyError("no repository %r in the fake's world" %
                           full_name)
        owner, name = repo["owner"].lower(), repo["name"].lower()
        path = os.path.join(self.git_root, owner, name + ".git")
        with self._git_lock:
            if os.path.isdir(path) or not create:
                return path
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = path + ".new"
            shutil.rmtree(tmp, ignore_errors=True)
            branch = repo.get("default_branch") or "main"
            subprocess.run(["git", "init", "-q", "--bare", "-b", branch,
                            tmp], check=True, capture_output=True,
                           env=self.git_env())
            for k, v in (("http.receivepack", "true"),
                         ("uploadpack.allowFilter", "true"),
                         ("uploadpack.allowAnySHA1InWant", "true"),
                         ("receive.fsckObjects", "false")):
                self._git_in(tmp, "config", k, v)
            self._seed(tmp, {
                "README.md": "# %s\n\n%s\n" % (repo["name"],
                                               repo["description"]),
                "src/hello.txt": "hello from %s\n" % repo["full_name"]},
                branch, "Initial commit", SEED_EPOCH)
            os.rename(tmp, path)
            return path

    def _seed(self, gitdir, files, branch, message, when):
        idx = os.path.join(gitdir, "fake-seed-index")
        env = {"GIT_INDEX_FILE": idx,
               "GIT_AUTHOR_DATE": "@%d +0000" % when,
               "GIT_COMMITTER_DATE": "@%d +0000" % when}
        try:
            tip = self._git_in(gitdir, "rev-parse", "--verify", "-q",
                               "refs/heads/" + branch, check=False).strip()
            if tip:
                self._git_in(gitdir, "read-tree", tip, env=env)
            else:
                self._git_in(gitdir, "read-tree", "--empty", env=env)
            for p, data in files.items():
                if isinstance(data, str):
                    data = data.encode()
                if data is None:
                    self._git_in(gitdir, "update-index", "--force-remove",
                                 "--", p, env=env)
                    continue
                sha = self._git_in(gitdir, "hash-object", "-w", "--stdin",
                                   input=data).strip().decode()
                self._git_in(gitdir, "update-index", "--add", "--cacheinfo",
                             "100644,%s,%s" % (sha, p), env=env)
            tree = self._git_in(gitdir, "write-tree", env=env).strip()
            args = ["commit-tree", tree.decode(), "-m", message]
            if tip:
                args += ["-p", tip.decode()]
            commit = self._git_in(gitdir, *args, env=env).strip().decode()
            self._git_in(gitdir, "update-ref", "refs/heads/" + branch,
                         commit)
            return commit
        finally:
            try:
                os.unlink(idx)
            except OSError:
                pass

    def git_seed(self, full_name, files, branch=None, message=None):
        """A new commit on branch (default: the default branch) of
        full_name's bare repository that adds (or changes) files:
        {path: bytes or str}, None deletes.  Returns its id."""
        path = self.git_repo_path(full_name)
        repo = self._git_repo(full_name)
        branch = branch or repo.get("default_branch") or "main"
        with self._git_lock:
            n = len(self._git_in(path, "rev-list", "--all").split())
            return self._seed(path, files, branch,
                              message or "Seeded by the fake",
                              SEED_EPOCH + 60 * n)

    def git_refs(self, full_name):
        """{ref name: commit id} of full_name's bare repository."""
        out = self.git(full_name, "for-each-ref",
                       "--format=%(refname) %(objectname)").decode()
        return dict(line.split(" ", 1) for line in out.splitlines() if line)

    def git_has(self, full_name, rev):
        """Whether rev (an id, a ref) names an object in the bare repo."""
        return bool(self.git(full_name, "rev-parse", "--verify", "-q",
                             rev + "^{object}", check=False).strip())

    def git_resolve(self, full_name, ref):
        """The commit id ref names in full_name's repository, or None."""
        out = self.git(full_name, "rev-parse", "--verify", "-q",
                       "--end-of-options", ref + "^{commit}",
                       check=False).strip()
        return out.decode() if out else None

    def codeload_args(self, full_name, fmt, ref):
        """(commit, git archive arguments, file name) of a codeload
        archive, or None when ref names no commit."""
        repo = self._git_repo(full_name)
        sha = self.git_resolve(full_name, ref)
        if repo is None or sha is None or fmt not in ARCHIVE_FORMATS:
            return None
        gfmt, _, ext = ARCHIVE_FORMATS[fmt]
        if fmt.startswith("legacy."):
            base = "%s-%s-%s" % (repo["owner"], repo["name"], sha[:7])
        else:
            base = "%s-%s" % (repo["name"], re.sub(r"[^A-Za-z0-9._-]", "-",
                                                   ref.replace("/", "-")))
        return sha, ["archive", "--format=" + gfmt, "--prefix=" + base + "/",
                     sha], base + ext

    def codeload_bytes(self, full_name, fmt, ref):
        """The whole archive codeload answers for fmt and ref (None: 404)."""
        a = self.codeload_args(full_name, fmt, ref)
        if a is None:
            return None
        return self.git(full_name, *a[1])

    # ---------------------------------------------------- releases

    def add_release_asset(self, full_name, tag, name, data=None, size=None,
                          content_type="application/octet-stream",
                          latest=True):
        """An asset of release `tag` of full_name: data (bytes), or size
        bytes of the fake's pattern (pattern()) served without holding
        them.  latest: this release is then the latest one.  Returns the
        asset's URL on the fake (where a download redirects to)."""
        if data is None and size is None:
            data = b""
        if isinstance(data, str):
            data = data.encode()
        with self.lock:
            self._asset_seq += 1
            aid = self._asset_seq
            key = full_name.lower()
            self._assets[aid] = {
                "id": aid, "repo": key, "tag": tag, "name": name,
                "data": data, "size": len(data) if data is not None
                else int(size), "content_type": content_type,
                "downloads": 0}
            self._releases.setdefault(key, {}).setdefault(tag, {})[name] = aid
            if latest or key not in self._latest:
                self._latest[key] = tag
        return self.asset_url(aid)

    def asset_url(self, aid):
        a = self._assets[aid]
        return "%s%s/assets/%d/%s" % (self.url, self.prefix, aid,
                                      urllib.parse.quote(a["name"]))

    def release_assets(self):
        """Every asset: [{"id", "repo", "tag", "name", "size", "url",
        "downloads", "latest"}]."""
        with self.lock:
            out = []
            for aid, a in sorted(self._assets.items()):
                d = {k: v for k, v in a.items() if k != "data"}
                d["url"] = self.asset_url(aid)
                d["latest"] = self._latest.get(a["repo"]) == a["tag"]
                out.append(d)
            return out

    def _find_asset(self, full_name, tag, name):
        """The asset id, or None; tag None: the latest release."""
        with self.lock:
            key = full_name.lower()
            if tag is None:
                tag = self._latest.get(key)
            return self._releases.get(key, {}).get(tag, {}).get(name)

    # ---------------------------------------------------- Copilot

    def set_copilot(self, refresh_in=None, lifetime=None):
        """refresh_in and expires_at (now + lifetime) of the Copilot
        tokens issued from now on."""
        with self.lock:
            if refresh_in is not None:
                self.copilot_refresh_in = int(refresh_in)
            if lifetime is not None:
                self.copilot_lifetime = int(lifetime)

    def set_copilot_fault(self, next=1, status=500, message=None):
        """The next `next` Copilot token requests answer status with a
        GitHub-shaped body (message: default GitHub's for it)."""
        with self.lock:
            self._copilot_faults.append({"remaining": int(next),
                                         "status": int(status),
                                         "message": message})

    def clear_copilot_faults(self):
        with self.lock:
            self._copilot_faults = []

    def _take_copilot_fault(self):
        with self.lock:
            for f in self._copilot_faults:
                f["remaining"] -= 1
                if f["remaining"] <= 0:
                    self._copilot_faults.remove(f)
                return dict(f)
        return None

    def copilot_tokens(self, login=None):
        """The Copilot tokens issued, oldest first: [{"token", "tid",
        "login", "credential_prefix", "issued_at", "expires_at",
        "refresh_in", "expired", "uses", "seq"}]."""
        now = time.time()
        with self.lock:
            out = []
            for t in self._copilot_tokens:
                if login is not None and t["login"] != login:
                    continue
                d = dict(t)
                d["expired"] = t["revoked"] or now >= t["expires_at"]
                del d["revoked"]
                out.append(d)
            return out

    def expire_copilot_tokens(self, login=None, token=None):
        """Make issued Copilot tokens invalid (of login, or that one);
        returns how many."""
        n = 0
        with self.lock:
            for t in self._copilot_tokens:
                if (login is None or t["login"] == login) and \
                        (token is None or t["token"] == token) and \
                        not t["revoked"]:
                    t["revoked"] = True
                    n += 1
        return n

    def _issue_copilot_token(self, cred, login, seq):
        now = int(time.time())
        with self.lock:
            exp = now + self.copilot_lifetime
            tid = secrets.token_hex(16)
            tok = ("tid=%s;exp=%d;sku=copilot_for_business_seat;st=dotcom;"
                   "chat=1;ol=%s;8kp=1:%s" % (tid, exp, login,
                                              secrets.token_hex(32)))
            t = {"token": tok, "tid": tid, "login": login,
                 "credential_prefix": cred[:8], "issued_at": now,
                 "expires_at": exp, "refresh_in": self.copilot_refresh_in,
                 "revoked": False, "uses": 0, "seq": seq}
            self._copilot_tokens.append(t)
            return dict(t)

    def _copilot_lookup(self, tok):
        """(entry, None) for a valid Copilot token, else (None, why)."""
        now = time.time()
        with self.lock:
            for t in self._copilot_tokens:
                if t["token"] == tok:
                    if t["revoked"] or now >= t["expires_at"]:
                        return None, "token expired"
                    t["uses"] += 1
                    return dict(t), None
        return None, "invalid token"


# ------------------------------------------------------------ the handler


class SitesHandler:
    """The request handler's side of the sites (mixed into _Handler).
    Uses the handler's begin(), write_body(), end_body(), send_bytes(),
    send_json(), send_error_json(), _authenticate(), _repo_access()."""

    # ---------------------------------------------------- routing

    def _resolve_site(self):
        """(fn, args, stream) that answers a request of a site."""
        p = self.route_path
        site = self.site
        if site == "objects":
            return self._asset, (p,), False
        if site == "web":
            mt = re.fullmatch(r"/([^/]+)/([^/]+?)(\.git)?(/info/refs|"
                              r"/git-upload-pack|/git-receive-pack|"
                              r"/HEAD|/objects/.*)", p)
            if mt:
                return self._web_git, (mt.group(1), mt.group(2),
                                       mt.group(4)), True
            mt = re.fullmatch(r"/([^/]+)/([^/]+)/releases/download/"
                              r"([^/]+)/([^/]+)", p)
            if mt:
                return self._release, mt.groups(), False
            mt = re.fullmatch(r"/([^/]+)/([^/]+)/releases/latest/download/"
                              r"([^/]+)", p)
            if mt:
                return self._release, (mt.group(1), mt.group(2), None,
                                       mt.group(3)), False
            return self._site_not_found, (), False
        if site == "codeload":
            mt = re.fullmatch(r"/([^/]+)/([^/]+)/(tar\.gz|zip|legacy\.tar\."
                              r"gz|legacy\.zip)/(.+)", p)
            if mt:
                return self._codeload, mt.groups(), False
            return self._site_not_found, (), False
        if site == "raw":
            mt = re.fullmatch(r"/([^/]+)/([^/]+)/(.+/.+)", p)
            if mt:
                return self._raw, mt.groups(), False
            return self._site_not_found, (), False
        if site == "copilot":
            return self._copilot, (), False
        return self._site_not_found, (), False

    def _site_not_found(self):
        if self.site == "web":
            return self.send_bytes(404, b"Not Found\n", ctype=_TEXT_CT)
        self.send_bytes(404, b"404: Not Found", ctype=_TEXT_CT)

    def _site_access(self, owner, name, need):
        """(repo, None) when the caller may `need` ("read", "write") the
        contents of owner/name, else (repo or None, why): "bad" (a
        credential the fake does not know), "anonymous" (none came),
        "hidden" (a credential that cannot see it), "denied" (sees it,
        lacks the permission)."""
        self._authenticate()
        if self.auth_bad:
            return None, "bad"
        repo, perm = self._repo_access(owner, name)
        if repo is None:
            return None, "hidden" if self.login else "anonymous"
        spec = self.cred_spec or {}
        if spec.get("installation") is not None:
            if self._token_reaches(spec, owner, repo["full_name"].lower()):
                v = spec["app_permissions"].get("contents")
                level = _LEVEL.get(v, 0) if isinstance(v, str) else 0
            else:
                level = 1           # a public repository it does not reach
        else:
            level = _LEVEL.get(perm, 0)
        if level < _LEVEL[need]:
            return repo, "denied" if self.login else "anonymous"
        return repo, None

    # ---------------------------------------------------- web: git

    def _git_unauthorized(self, msg=b"Authentication required\n"):
        self.send_bytes(401, msg, [("WWW-Authenticate",
                                    'Basic realm="GitHub"')],
                        ctype=_TEXT_CT)

    def _web_git(self, owner, name, rest):
        hook = self.fake.git_handler
        if hook is not None:
            return hook(self, owner, name, rest)
        if rest == "/info/refs":
            service = self.qd.get("service")
            if service not in ("git-upload-pack", "git-receive-pack"):
                return self.send_bytes(403, GIT_DUMB_REFUSED.encode(),
                                       ctype=_TEXT_CT)
        elif rest in ("/git-upload-pack", "/git-receive-pack"):
            service = rest[1:]
        else:
            return self._site_not_found()
        self.fake._record_set(self.rec, git_service=service)
        need = "write" if service == "git-receive-pack" else "read"
        repo, why = self._site_access(owner, name, need)
        if why in ("bad",):
            return self._git_unauthorized(GIT_BAD_CREDENTIALS.encode())
        if why == "anonymous":
            return self._git_unauthorized()
        if why == "hidden":
            return self.send_bytes(404, b"Repository not found.\n",
                                   ctype=_TEXT_CT)
        if why == "denied":
            return self.send_bytes(403, ("Permission to %s.git denied to "
                                         "%s.\n" % (repo["full_name"],
                                                    self.login)).encode(),
                                   ctype=_TEXT_CT)
        self.git_http_backend(repo["full_name"], rest)

    def git_http_backend(self, full_name, rest):
        """Answer with `git http-backend` (CGI) on full_name's bare
        repository, rest being "/info/refs", "/git-upload-pack"...: the
        request body streams into its stdin as it arrives, its answer
        streams back (chunked)."""
        fake = self.fake
        path = fake.git_repo_path(full_name)
        env = fake.git_env({
            "GIT_PROJECT_ROOT": fake.git_root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": "/" + os.path.relpath(path, fake.git_root) + rest,
            "QUERY_STRING": self.query_string,
            "REQUEST_METHOD": self.command,
            "REMOTE_ADDR": self.client_address[0],
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": self.request_version or "HTTP/1.1",
            "SERVER_SOFTWARE": "fake-github"})
        if self.login:
            env["REMOTE_USER"] = self.login
        for hdr, var in (("Content-Type", "CONTENT_TYPE"),
                         ("Git-Protocol", "HTTP_GIT_PROTOCOL"),
                         ("Content-Encoding", "HTTP_CONTENT_ENCODING")):
            v = self.headers.get(hdr)
            if v:
                env[var] = v
        if not self.body.chunked and self.body.length:
            env["CONTENT_LENGTH"] = str(self.body.length)
        self._stream_process(["git", "http-backend"], env, cgi=True)

    def _stream_process(self, cmd, env, cgi=False, status=200, headers=(),
                        ctype=None, cwd=None):
        """Run cmd, the request body (if any is left) on its stdin as it
        arrives, and stream its stdout back chunked: a CGI answer
        (Status and headers first) when cgi, else status, headers and
        ctype as given."""
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env, cwd=cwd,
                                bufsize=0)
        errs = bytearray()
        feed_error = []

        def feed():
            broken = False
            try:
                for chunk in self.body.chunks():
                    if broken:
                        continue
                    try:
                        proc.stdin.write(chunk)
                    except OSError:
                        broken = True
            except Exception as e:      # BodyError: framing, a hang-up
                feed_error.append(e)
            finally:
                try:
                    proc.stdin.close()
                except OSError:
                    pass

        def drain_stderr():
            while True:
                d = proc.stderr.read(8192)
                if not d:
                    break
                if len(errs) < 16384:
                    errs.extend(d[:16384 - len(errs)])

        self._body_streaming = True     # begin() must not drain it
        tf = threading.Thread(target=feed, daemon=True)
        te = threading.Thread(target=drain_stderr, daemon=True)
        tf.start()
        te.start()
        try:
            buf = b""
            if cgi:
                while b"\r\n\r\n" not in buf and b"\n\n" not in buf:
                    d = proc.stdout.read(65536)
                    if not d:
                        break
                    buf += d
                    if len(buf) > 65536:
                        break
                m = re.search(rb"\r?\n\r?\n", buf)
                if m is None:
                    proc.wait(30)
                    tf.join(30)
                    te.join(5)
                    self.fake._record_set(
                        self.rec, cgi_exit=proc.returncode,
                        cgi_stderr=errs.decode("utf-8", "replace"))
                    return self.send_bytes(
                        500, b"git http-backend gave no answer\n",
                        ctype=_TEXT_CT)
                head, buf = buf[:m.start()], buf[m.end():]
                status, headers, ctype, length = 200, [], None, None
                for line in head.decode("latin-1").splitlines():
                    k, _, v = line.partition(":")
                    k, v = k.strip(), v.strip()
                    kl = k.lower()
                    if kl == "status":
                        status = int(v.split()[0])
                    elif kl == "content-type":
                        ctype = v
                    elif kl == "content-length":
                        length = int(v)
                    elif k:
                        headers.append((k, v))
            else:
                length = None
            self.begin(status, headers, length=length,
                       chunked=length is None, ctype=ctype)
            if self.command == "HEAD":
                proc.kill()
            else:
                self.write_body(buf)
                while True:
                    d = proc.stdout.read(65536)
                    if not d:
                        break
                    self.write_body(d)
                self.end_body()
        except BaseException:
            self.close_connection = True
            try:
                proc.kill()
            except OSError:
                pass
            raise
        finally:
            try:
                proc.stdout.close()
            except OSError:
                pass
            proc.wait()
            tf.join(60)
            te.join(5)
            self.fake._record_set(
                self.rec, cgi_exit=proc.returncode,
                cgi_stderr=errs.decode("utf-8", "replace") or None)
            if feed_error:
                self.close_connection = True

    # ---------------------------------------------------- web: releases

    def _release(self, owner, name, tag, filename):
        if self.command not in ("GET", "HEAD"):
            return self._site_not_found()
        repo, why = self._site_access(owner, name, "read")
        if why is not None:
            return self._site_not_found()
        aid = self.fake._find_asset(repo["full_name"], tag, filename)
        self.fake._record_set(self.rec, release=[
            repo["full_name"], tag, filename])
        if aid is None:
            return self._site_not_found()
        loc = self.fake.asset_url(aid)
        body = ('<html><body>You are being <a href="%s">redirected</a>.'
                '</body></html>' % loc).encode()
        self.send_bytes(302, body, [("Location", loc)],
                        ctype="text/html; charset=utf-8", chunked=False)

    def _asset(self, p):
        """PREFIX/assets/{id}/{name}: the asset's bytes (no credential
        needed, as on GitHub's objects host: the URL is the secret)."""
        mt = re.fullmatch(r".*/assets/(\d+)/([^/]+)", p)
        fake = self.fake
        with fake.lock:
            a = fake._assets.get(int(mt.group(1))) if mt else None
            if a is not None and urllib.parse.unquote(mt.group(2)) != \
                    a["name"]:
                a = None
            if a is not None and self.command == "GET":
                a["downloads"] += 1
        if a is None or self.command not in ("GET", "HEAD"):
            return self.send_bytes(404, b"Not Found\n", ctype=_TEXT_CT)
        hdrs = [("Content-Disposition", "attachment; filename=%s" %
                 a["name"]), ("Accept-Ranges", "bytes"),
                ("ETag", '"0x%08X"' % (a["id"] * 2654435761 & 0xFFFFFFFF))]
        if a["data"] is not None:
            return self.send_bytes(200, a["data"], hdrs,
                                   ctype=a["content_type"], chunked=False)
        self.begin(200, hdrs, length=a["size"], ctype=a["content_type"])
        if self.command == "GET":
            for piece in fake.pattern_iter(a["size"]):
                self.write_body(piece)

    # ---------------------------------------------------- codeload

    def _codeload(self, owner, name, fmt, ref):
        if self.command not in ("GET", "HEAD"):
            return self._site_not_found()
        repo, why = self._site_access(owner, name, "read")
        if why is not None:
            return self._site_not_found()
        fake = self.fake
        a = fake.codeload_args(repo["full_name"], fmt, ref)
        if a is None:
            return self._site_not_found()
        sha, args, filename = a
        hdrs = [("Content-Disposition", "attachment; filename=%s" %
                 filename), ("ETag", '"%s"' % sha),
                ("Access-Control-Allow-Origin", "https://render.github"
                 "usercontent.com"), ("Vary", "Authorization,Accept-"
                                      "Encoding,Origin")]
        ctype = ARCHIVE_FORMATS[fmt][1]
        if self.command == "HEAD":
            return self.begin(200, hdrs, ctype=ctype)
        path = fake.git_repo_path(repo["full_name"])
        self._stream_process(["git", "--git-dir", path] + args,
                             fake.git_env(), status=200, headers=hdrs,
                             ctype=ctype)

    # ---------------------------------------------------- raw

    def _raw(self, owner, name, rest):
        if self.command not in ("GET", "HEAD"):
            return self.send_bytes(405, b"405: Method Not Allowed",
                                   ctype=_TEXT_CT)
        repo, why = self._site_access(owner, name, "read")
        if why is not None:
            return self._site_not_found()
        fake = self.fake
        segs = rest.split("/")
        data = None
        for i in range(1, len(segs)):
            ref, fpath = "/".join(segs[:i]), "/".join(segs[i:])
            sha = fake.git_resolve(repo["full_name"], ref)
            if sha is None:
                continue
            blob = fake.git(repo["full_name"], "rev-parse", "--verify",
                            "-q", "%s:%s" % (sha, fpath),
                            check=False).strip()
            if not blob:
                continue
            kind = fake.git(repo["full_name"], "cat-file", "-t",
                            blob.decode()).strip()
            if kind != b"blob":
                continue
            data = fake.git(repo["full_name"], "cat-file", "blob",
                            blob.decode())
            break
        if data is None:
            return self._site_not_found()
        self.fake._record_set(self.rec, raw=[repo["full_name"], ref, fpath])
        self.send_bytes(200, data, [
            ("ETag", 'W/"%s"' % blob.decode()),
            ("Cache-Control", "max-age=300"),
            ("X-Content-Type-Options", "nosniff"),
            ("Content-Security-Policy",
             "default-src 'none'; style-src 'unsafe-inline'; sandbox")],
            ctype=_TEXT_CT, chunked=False)

    # ---------------------------------------------------- Copilot

    def _copilot_token(self):
        """GET /copilot_internal/v2/token (the API site)."""
        fake = self.fake
        f = fake._take_copilot_fault()
        if f:
            st = f["status"]
            msg = f["message"] or {401: "Bad credentials", 403: "Forbidden",
                                   404: "Not Found",
                                   500: "Server Error"}.get(
                st, self.responses.get(st, ("Error",))[0])
            fake._record_set(self.rec, fault="copilot:%d" % st)
            return self.send_error_json(st, msg)
        if self.command not in ("GET", "HEAD"):
            if not self.api_prelude():
                return
            return self.send_error_json(404, "Not Found")
        if not self.api_prelude(require_auth=("Requires authentication",
                                              _DOC_REST)):
            return
        if not _is_oauth_credential(self.cred, self.cred_spec):
            return self.send_error_json(404, "Not Found")
        t = fake._issue_copilot_token(self.cred, self.login, self.rec and
                                      self.rec.get("seq"))
        self.send_json(200, {
            "annotations_enabled": False, "chat_enabled": True,
            "chat_jetbrains_enabled": True, "code_quote_enabled": True,
            "codesearch": False, "copilotignore_enabled": False,
            "endpoints": dict(COPILOT_ENDPOINTS),
            "expires_at": t["expires_at"], "individual": False,
            "prompt_8k": True, "public_suggestions": "disabled",
            "refresh_in": t["refresh_in"],
            "sku": "copilot_for_business_seat",
            "snippy_load_test_enabled": False, "telemetry": "disabled",
            "token": t["token"], "tracking_id": t["tid"][:16]},
            etag=False)

    def _copilot(self):
        """Any method and path of api.githubcopilot.com."""
        fake = self.fake
        vals = self.headers.get_all("Authorization") or []
        entry, why = None, "no token"
        if len(vals) == 1:
            scheme, _, tok = vals[0].strip().partition(" ")
            if scheme.lower() == "bearer" and tok.strip():
                entry, why = fake._copilot_lookup(tok.strip())
            else:
                why = "bad authorization scheme"
        elif vals:
            why = "several Authorization headers"
        if entry is None:
            fake._record_set(self.rec, copilot=why)
            return self.send_bytes(401, json.dumps({
                "message": "unauthorized: %s" % why}).encode(),
                ctype=_JSON_CT, chunked=False)
        self.login = entry["login"]
        fake._record_set(self.rec, login=entry["login"], copilot="ok")
        self.body.drain()
        raw = self.body.data
        req = None
        if raw:
            try:
                req = json.loads(raw.decode())
            except (ValueError, UnicodeError):
                req = None
        echo = {"ok": True, "site": "copilot", "method": self.command,
                "path": self.route_path, "query": self.query_string,
                "login": entry["login"], "tid": entry["tid"],
                "token": entry["token"], "body_length": self.body.total,
                "body_sha256": self.body.sha256,
                "enterprise": self.headers.get(
                    "sec-GitHub-allowed-enterprise")}
        if self.route_path == "/models" and self.command == "GET":
            echo["data"] = [{"id": m, "object": "model"}
                            for m in COPILOT_MODELS]
        if isinstance(req, dict) and req.get("stream") is True:
            return self._copilot_stream(echo, req)
        self.send_json(200, echo, etag=False)

    def _copilot_stream(self, echo, req):
        """Server-sent events: the echo, then `n` (3) completion chunks,
        `delay_ms` (query) apart, then [DONE]."""
        n = int(self.qd.get("n", "3"))
        delay = int(self.qd.get("delay_ms", "0")) / 1000.0
        self.begin(200, [("Cache-Control", "no-cache")], chunked=True,
                   ctype="text/event-stream")
        self.write_body(b"data: " + json.dumps(echo).encode() + b"\n\n")
        self.wfile.flush()
        for i in range(n):
            if delay and self.fake._stopping.wait(delay):
                break
            ev = {"id": "chatcmpl-fake", "object": "chat.completion.chunk",
                  "model": req.get("model", "gpt-4o"), "choices": [{
                      "index": 0, "delta": {"content": "word%d " % i}}]}
            self.write_body(b"data: " + json.dumps(ev).encode() + b"\n\n")
            self.wfile.flush()
        self.write_body(b"data: [DONE]\n\n")
        self.end_body()

    # ---------------------------------------------------- control

    def _control_sites(self, name, args, obj):
        """PREFIX/sites, PREFIX/git, PREFIX/assets, PREFIX/copilot."""
        fake = self.fake
        m = self.command
        q = self.qd
        if name == "sites" and m in ("GET", "HEAD"):
            return self.send_json(200, {
                "prefixes": fake.site_prefixes, "git_root": fake.git_root,
                "urls": {s: fake.site_url(s) for s in
                         ["api"] + list(fake.site_prefixes)}}, etag=False)
        if name == "git":
            if m in ("GET", "HEAD"):
                full = q["repo"]
                return self.send_json(200, {
                    "path": fake.git_repo_path(full),
                    "refs": fake.git_refs(full)}, etag=False)
            if m == "POST":
                files = {}
                for k, v in (obj.get("files") or {}).items():
                    files[k] = v
                for k, v in (obj.get("files_b64") or {}).items():
                    files[k] = base64.b64decode(v)
                sha = fake.git_seed(obj["repo"], files, obj.get("branch"),
                                    obj.get("message"))
                return self.send_json(200, {"commit": sha}, etag=False)
        if name == "assets":
            if m in ("GET", "HEAD"):
                return self.send_json(200, fake.release_assets(), etag=False)
            if m == "POST":
                data = obj.get("data")
                if obj.get("data_b64") is not None:
                    data = base64.b64decode(obj["data_b64"])
                url = fake.add_release_asset(
                    obj["repo"], obj["tag"], obj["name"], data,
                    obj.get("size"), obj.get("content_type",
                                             "application/octet-stream"),
                    obj.get("latest", True))
                return self.send_json(200, {"url": url}, etag=False)
        if name == "copilot":
            sub = args[0] if args else ""
            if sub == "" and m in ("GET", "HEAD"):
                return self.send_json(200, {
                    "tokens": fake.copilot_tokens(q.get("login")),
                    "refresh_in": fake.copilot_refresh_in,
                    "lifetime": fake.copilot_lifetime,
                    "faults": copy.deepcopy(fake._copilot_faults)},
                    etag=False)
            if sub == "" and m == "POST":
                fake.set_copilot(obj.get("refresh_in"), obj.get("lifetime"))
                return self.send_json(200, {"ok": True}, etag=False)
            if sub == "faults" and m == "POST":
                fake.set_copilot_fault(obj.get("next", 1),
                                       obj.get("status", 500),
                                       obj.get("message"))
                return self.send_json(200, {"ok": True}, etag=False)
            if sub == "faults" and m == "DELETE":
                fake.clear_copilot_faults()
                return self.send_json(200, {"ok": True}, etag=False)
            if sub == "expire" and m == "POST":
                n = fake.expire_copilot_tokens(obj.get("login"),
                                               obj.get("token"))
                return self.send_json(200, {"expired": n}, etag=False)
        return self.send_error_json(404, "Not Found")


# ------------------------------------------------------------ mirror


def _openssl(args, cwd=None):
    r = subprocess.run(["openssl"] + list(args), capture_output=True,
                       cwd=cwd, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("openssl %s: %s" % (
            " ".join(args[:2]), r.stderr.decode("utf-8", "replace")))
    return r.stdout


class TestCA:
    """A certificate authority for tests, made with the openssl command
    (EC P-256 keys, valid 30 days).  bundle: the CA certificate file
    (what `upstream ca "FILE"` names).  issue() makes a server
    certificate; cleanup() removes the directory (unless given)."""

    __test__ = False            # not a unittest/pytest class

    def __init__(self, directory=None, name="ghp test CA"):
        self._own = directory is None
        self.dir = directory or tempfile.mkdtemp(prefix="fake-ca-")
        os.makedirs(self.dir, exist_ok=True)
        self.key = os.path.join(self.dir, "ca.key")
        self.bundle = os.path.join(self.dir, "ca.pem")
        _openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                  self.key, "-out", self.bundle, "-days", "30", "-subj",
                  "/CN=" + name, "-addext",
                  "basicConstraints=critical,CA:TRUE", "-addext",
                  "keyUsage=critical,keyCertSign,cRLSign"])
        self._n = 0

    def issue(self, hosts=("127.0.0.1", "localhost"), name=None):
        """(certificate file, key file) for hosts (IP addresses and DNS
        names), signed by this CA."""
        self._n += 1
        base = os.path.join(self.dir, name or "server%d" % self._n)
        key, csr, crt, ext = (base + ".key", base + ".csr", base + ".pem",
                              base + ".ext")
        san = ",".join(("IP:%s" if re.fullmatch(r"[0-9.]+|.*:.*", h)
                        else "DNS:%s") % h for h in hosts)
        with open(ext, "w") as f:
            f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n"
                    "keyUsage=critical,digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage=serverAuth\n" % san)
        _openssl(["req", "-new", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                  "-out", csr, "-subj", "/CN=%s" % hosts[0]])
        _openssl(["x509", "-req", "-in", csr, "-CA", self.bundle, "-CAkey",
                  self.key, "-set_serial", str(int(time.time() * 1000) +
                                               self._n),
                  "-out", crt, "-days", "30", "-extfile", ext])
        return crt, key

    def server_context(self, hosts=("127.0.0.1", "localhost")):
        """A server-side SSLContext with a certificate for hosts from
        issue()."""
        crt, key = self.issue(hosts)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        return ctx

    def cleanup(self):
        if self._own:
            shutil.rmtree(self.dir, ignore_errors=True)


def write_netrc(path, machine, login, password):
    """A netrc file (mode 0600) with one entry."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("machine %s\nlogin %s\npassword %s\n" % (machine, login,
                                                          password))
    return path


class QuietHTTPServer(http.server.ThreadingHTTPServer):
    """A threading HTTP server that binds without a DNS lookup (no
    getfqdn()) and says nothing of a connection's errors."""

    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self):
        socketserver.TCPServer.server_bind(self)
        self.server_name = self.server_address[0]
        self.server_port = self.server_address[1]

    def handle_error(self, request, client_address):
        pass


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """HTTP/1.1, no log, `timeout` seconds on the socket, and a
    connection that fails (a reset, TLS) just ends.  Subclasses set
    server_version and the do_METHOD handlers."""

    protocol_version = "HTTP/1.1"
    timeout = 30

    def log_message(self, fmt, *args):
        pass

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (OSError, ssl.SSLError):
            self.close_connection = True


class BackgroundServer:
    """An http.server served in a daemon thread: start() (the
    subclass's) makes the server and hands it to _serve(); stop(); a
    context manager (start() on entry, stop() on exit)."""

    _server = None
    _thread = None

    def _serve(self, server, name, ctx=None):
        """Serve server in a daemon thread called name, over TLS with
        ctx (a server-side SSLContext) when given; self.port becomes
        the port it is bound to.  Returns self."""
        if ctx is not None:
            server.socket = ctx.wrap_socket(
                server.socket, server_side=True,
                do_handshake_on_connect=False)
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1},
            name=name, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class _MirrorHandler(QuietHandler):
    server_version = "fake-mirror"

    def _answer(self):
        m = self.server.mirror
        path, _, query = self.path.partition("?")
        rec = {"seq": None, "time": time.time(), "method": self.command,
               "target": self.path, "path": urllib.parse.unquote(path),
               "query": query, "headers": [[k, v] for k, v in
                                           self.headers.items()],
               "client": list(self.client_address[:2]), "tls": m.tls,
               "user": None, "authorized": None, "status": None}
        auth = self.headers.get("Authorization", "")
        scheme, _, rest = auth.strip().partition(" ")
        if scheme.lower() == "basic":
            try:
                u, _, pw = base64.b64decode(rest.strip()).decode(
                    "utf-8").partition(":")
                rec["user"] = u
                rec["authorized"] = m.auth is not None and \
                    (u, pw) == tuple(m.auth)
            except (ValueError, UnicodeError):
                rec["authorized"] = False
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        with m.lock:
            rec["seq"] = m._seq
            m._seq += 1
            m._records.append(rec)
            entry = m._files.get(rec["path"])
            entry = dict(entry) if entry else None
        if entry and entry.get("delay"):
            time.sleep(entry["delay"])
        hdrs = []
        if self.command not in ("GET", "HEAD"):
            status, body = 405, b"Method Not Allowed\n"
        elif m.auth is not None and not rec["authorized"]:
            status, body = 401, b"Unauthorized\n"
            hdrs.append(("WWW-Authenticate", 'Basic realm="%s"' % m.realm))
        elif entry is None:
            status, body = m.missing_status, b"Not Found\n"
        elif entry["status"] != 200:
            status, body = entry["status"], b"Status %d\n" % entry["status"]
        else:
            status, body = 200, entry["data"]
            hdrs.append(("Content-Type", entry["content_type"]))
        rec["status"] = status
        self.send_response(status)
        for k, v in hdrs:
            self.send_header(k, v)
        if status != 200:
            self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _answer


class MirrorServer(BackgroundServer):
    """A stand-in for a release or archive mirror: GET and HEAD of the
    paths given (add()), 404 (missing_status) for others, 405 for other
    methods, and with auth=(user, password) Basic authentication (401
    with WWW-Authenticate otherwise; checked before the path).  With
    tls=True it serves HTTPS with a certificate for 127.0.0.1 and
    localhost from ca (a TestCA; one is made, and cleaned up, when none
    is given): ca.bundle is the file ghp must trust.  Records every
    request: requests(), clear().

        m = MirrorServer(tls=True, auth=("mirror", "s3cret")).start()
        m.add("/acme/widgets/releases/download/v1/tool.tgz", b"...")
        m.url, m.ca.bundle, m.netrc(path)      # the netrc entry for it
        ...
        m.stop()
    """

    def __init__(self, files=None, tls=False, ca=None, auth=None,
                 host="127.0.0.1", port=0, missing_status=404,
                 realm="mirror"):
        self.host = host
        self.port = port
        self.tls = bool(tls)
        self.auth = tuple(auth) if auth else None
        self.realm = realm
        self.missing_status = missing_status
        self.lock = threading.Lock()
        self._files = {}
        self._records = []
        self._seq = 0
        self._own_ca = False
        self.ca = ca
        if self.tls and self.ca is None:
            self.ca = TestCA()
            self._own_ca = True
        for p, d in (files or {}).items():
            self.add(p, d)

    def add(self, path, data=b"", status=200,
            content_type="application/octet-stream", delay=0):
        """Serve path (decoded, without the query): data with 200, or
        another status; delay: seconds to wait before answering."""
        if isinstance(data, str):
            data = data.encode()
        with self.lock:
            self._files[path] = {"data": data, "status": int(status),
                                 "content_type": content_type,
                                 "delay": delay}

    def set_status(self, path, status):
        """path answers status (e.g. 404, 410, 500) from now on."""
        with self.lock:
            e = self._files.setdefault(path, {
                "data": b"", "content_type": "application/octet-stream",
                "delay": 0})
            e["status"] = int(status)

    def remove(self, path):
        with self.lock:
            self._files.pop(path, None)

    def start(self):
        server = QuietHTTPServer((self.host, self.port), _MirrorHandler)
        server.mirror = self
        ctx = self.ca.server_context() if self.tls else None
        return self._serve(server, "fake-mirror", ctx)

    def stop(self):
        super().stop()
        if self._own_ca and self.ca is not None:
            self.ca.cleanup()

    @property
    def url(self):
        return "%s://%s:%d" % ("https" if self.tls else "http", self.host,
                               self.port)

    def netrc(self, path):
        """Write a netrc file for this mirror's credentials; its path."""
        if not self.auth:
            raise ValueError("this mirror has no credentials")
        return write_netrc(path, self.host, self.auth[0], self.auth[1])

    def requests(self, method=None):
        with self.lock:
            return [copy.deepcopy(r) for r in self._records
                    if method is None or r["method"] == method]

    def clear(self):
        with self.lock:
            self._records = []

