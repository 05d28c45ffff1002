#!/usr/bin/env python3
"""
fake_github.py: a stand-in for GitHub's REST API for ghp's tests.

GitHub cannot be reached from the test machines, so ghp's integration
tests point `upstream api "http://127.0.0.1:PORT"` at this server, and
the other upstreams at it too, each under a path prefix (SITES):
`upstream web ".../_web"` (github.com: git smart HTTP through the real
`git http-backend`, release downloads), `codeload ".../_codeload"`,
`raw ".../_raw"`, `copilot ".../_copilot"`.  It answers like GitHub does
(status codes, headers, error bodies, pagination, ETags, rate limits) and
it records every request that reaches it, so that a test can assert what
crossed ghp: that the real credential arrived, that the client token never
did, that a refused request never arrived at all.  MirrorServer and
TestCA (MIRROR) stand in for a release mirror, over HTTP or HTTPS.

Python 3 standard library, the git and openssl commands (Debian 12).
The sites live in fake_sites.py, GraphQL in fake_graphql.py (both
imported from here).  Its own checks: tests/upstream/selftest.py.

USING IT FROM A TEST
====================

In-process:

    from fake_github import FakeGitHub
    srv = FakeGitHub(credentials={"ghp_realcredentialAAAA": "alice"})
    srv.start()                  # binds 127.0.0.1:0, serves in threads
    srv.port, srv.url            # 40123, "http://127.0.0.1:40123"
    ...                          # point ghp at srv.url, make requests
    recs = srv.requests()        # list of dicts, oldest first
    assert not srv.find("ghx_")  # the client token never arrived
    srv.clear()                  # forget the records
    srv.reset()                  # records, faults, limits, issues: as new
    srv.stop()                   # closes every connection too
    # or: with FakeGitHub() as srv: ...

As a subprocess (what a test that also runs the daemon may prefer):

    python3 tests/upstream/fake_github.py --port 0 --ready-file F \\
        [--record FILE.jsonl] [--cred TOKEN=LOGIN ...] [--repo SPEC ...]

It writes the port it listens on to F (atomically: a complete file
appears) once it accepts connections, and runs until SIGTERM or SIGINT
(exit 0), or until its parent process goes away (--no-parent-watch keeps
it).  spawn() does this and returns a FakeGitHubClient with the same
test methods as the in-process object, over HTTP:

    proc, fake = spawn(["--record", path])   # waits for the ready file
    fake.port; fake.requests(); fake.clear(); fake.set_fault(1, "reset")
    fake.close()                             # SIGTERM, wait (by pid)

Methods (both objects): requests(since=, method=, path_prefix=), clear(),
reset(), find(needle), set_fault(next, mode, match=, delay_ms=),
clear_faults(), set_rate_limit(credential, limit=, remaining=, reset=),
set_secondary(next, retry_after, status), add_credential(cred, login,
repos=, rate_limit=, scopes=, permission=), add_repo(full_name, ...),
stats(), rate_state(); GitHub Apps (see GITHUB APPS): add_app(app_id,
public_key_pem, installations, ...), remove_app(), apps(),
set_mint_fault(next, status, installation=, message=, retry_after=),
clear_mint_faults(), mint_faults(), set_token_lifetime(seconds, app_id=),
expire_tokens(installation=, app_id=, token_prefix=),
set_installation_rate_limit(id, limit=, remaining=, reset=); the sites
(SITES): site_url(site), site_prefixes, git_repo_path(o/r),
git_seed(o/r, files, branch=, message=), git_refs(o/r),
add_release_asset(o/r, tag, name, data=, size=, content_type=, latest=),
release_assets(), set_copilot(refresh_in=, lifetime=),
set_copilot_fault(next, status, message=), clear_copilot_faults(),
copilot_tokens(login=), expire_copilot_tokens(login=, token=), and
requests(site=); GraphQL (GRAPHQL): graphql_requests(since=),
add_node(id, typename, repo=), remove_node(id), graphql_nodes(),
add_graphql_answer(operation, response), graphql_answer_names(); in-process
also lookup_node(id), faults(), wait_requests(n),
add_route(), git(o/r, *args), git_has(o/r, rev), git_resolve(o/r, ref),
codeload_bytes(o/r, format, ref), git_root; module level: pattern(),
iter_pattern(), pattern_sha256(), find_in_records(), graphql_records(),
operation_name(), NODE_QUERY (ghp's node query), and for Apps
rsa_keypair(), public_key_of(), sign_rs256(), make_jwt(), verify_rs256()
(all through the openssl command).

DEFAULT WORLD (every piece replaceable by a constructor argument)
=================================================================

  credentials (real GitHub credentials -> login)
      ghp_realcredentialAAAA -> alice   (user id 1001)
      ghp_realcredentialBBBB -> bob     (user id 1002)
  repositories
      acme/widgets  private  readers: alice       writers: alice
      acme/gadgets  private  readers: alice, bob  writers: alice
      octo/public   public   (everyone reads)     writers: bob
  each repository has 5 seeded open issues (#1..#5) and 2 pull
  requests (#6, #7).

AUTHENTICATION
==============

`Authorization: token X`, `Bearer X` and `Basic base64(user:X)` (also
`Basic base64(X:x-oauth-basic)` / `base64(X:)`) are accepted.  A
credential that is not known, an unknown scheme or several Authorization
headers give 401 {"message":"Bad credentials","documentation_url":
"https://docs.github.com/rest"}.  No Authorization header is anonymous:
public repositories work (rate limit 60), private ones are 404 as on
GitHub, writes are 401 "Requires authentication".

Permissions: readers read; writers (default: the readers) also write
(POST/PUT/PATCH/DELETE on repository paths); admins (default: the
writers) may PATCH/DELETE the repository itself.  Opening an issue or a
comment needs only read, as on GitHub.  A visible repository written
without the permission: 403 "Must have push access to repository." (or
"Must have admin rights to Repository.").  A credential given "repos"
(["o/r", "o/*"]) sees only those, and sees them (with its "permission",
default write) even when its login is no reader: an installation token.

ROUTES
======

A path under /api/v3/ is served as the same path without that prefix,
and /api/graphql as /graphql (GitHub Enterprise style).  HEAD is
answered like GET, without the body.

GET /
    API root (URL templates).
GET /user
    {"login", "id", ...}; anonymous: 401 "Requires authentication".
GET /users/{login}
    A known login (credentials, users, repository owners), else 404.
GET /rate_limit
    {"resources": {core, search, graphql}, "rate"}; never counts.
POST /graphql
    By operation name, from canned answers; ghp's GhpNodeRepositories
    from a node table (GRAPHQL).  Anonymous: 401; counts against
    "graphql"; other methods 404.
GET /repos/{o}/{r}
    Repository JSON (id, node_id, name, full_name, private, visibility,
    owner{login,id,type}, default_branch, permissions, urls...) with a
    strong ETag.  Unknown or not visible: 404 {"message":"Not Found",
    "documentation_url":"https://docs.github.com/rest/repos/repos
    #get-a-repository"} (one string, no space).
PATCH /repos/{o}/{r}
    description, homepage, default_branch, private (admin); the ETag
    changes.
DELETE /repos/{o}/{r}
    204; it is gone until reset() (admin).
GET /repos/{o}/{r}/issues
    List, newest first; ?state=open|closed|all, ?per_page= (30, max 100)
    &page=, Link header.
POST /repos/{o}/{r}/issues
    201 + Location, the issue echoing title/body/labels; a body that is
    not a JSON object: 400 "Problems parsing JSON"; no title: 422.
GET|PATCH /repos/{o}/{r}/issues/{n}
    The issue / update title, body, state, labels (write); else 404.
GET|POST /repos/{o}/{r}/issues/{n}/comments
    List (paginated) / 201 {"id", "body", ...}.
GET|PATCH|DELETE /repos/{o}/{r}/issues/comments/{id}
    200 / 200 / 204.
PUT|DELETE /repos/{o}/{r}/issues/{n}/lock
    204 (write).
GET /repos/{o}/{r}/pulls, GET /repos/{o}/{r}/pulls/{n}
    List (paginated, ?state=) / the pull request, else 404.
any other method and path under /repos/{o}/{r}/
    200 {"ok":true,"method":M,"path":P} (P: the path as received,
    without the query) after the same authentication, visibility and
    permission checks, so that scope tests can reach every endpoint
    shape.  One of the shapes above with another method: 404.
GET /app, GET /app/installations[?per_page=&page=],
GET /app/installations/{id}
    The App of the JWT, its installations (paginated, Link), one of
    them (another App's: 404).  JWT (see GITHUB APPS).
POST /app/installations/{id}/access_tokens
    Mints an installation token (see GITHUB APPS); app_token_handler
    (HOOKS) replaces this when set.
DELETE /installation/token
    204: the installation token used is revoked (401 from then on).
GET /installation/repositories
    {"total_count", "repository_selection", "repositories"} that the
    installation token used reaches (paginated).
GET /copilot_internal/v2/token
    The Copilot token exchange (SITES).
/{o}/{r}.git/..., /{o}/{r}/info/refs, /{o}/{r}/git-upload-pack,
/{o}/{r}/git-receive-pack
    404 as on api.github.com, unless git_handler is set (HOOKS).  Git
    is the web site's (SITES).
anything else
    404 {"message":"Not Found","documentation_url":
    "https://docs.github.com/rest"}.

Test helpers, under PREFIX (default /__fake; knob `prefix`).  Called
directly they need no credential and count against no rate limit:

GET PREFIX/bytes/{n}[?chunked=1&delay_ms=D&chunk=C]
    n bytes of the deterministic pattern (byte i is i % 251; see
    pattern(), iter_pattern(), pattern_sha256()), written C bytes at a
    time (default 65536, max 1 MiB), waiting D ms between writes (a slow
    body); Content-Length unless chunked=1.  Constant memory.
POST|PUT PREFIX/upload
    Consumes the body as it arrives (any size, Content-Length or
    chunked, never held in memory) and answers {"bytes": N, "sha256": H}.
GET PREFIX/slow?ms=M
    {"ok":true,"slept_ms":M} after M ms.
any PREFIX/status/{code}[?retry_after=S&location=URL]
    That status (200-599) with a GitHub-shaped body (none for 204/304).
any PREFIX/echo
    This request's own record, as JSON.
GET|HEAD PREFIX/assets/{id}/{name}
    A release asset's bytes (SITES: where release downloads redirect
    to, GitHub's objects host; no credential needed); record site
    "objects".

The same helpers are served THROUGH A REPOSITORY, so that a test can send
them through ghp under a repository and an endpoint shape that a token's
scope allows.  They then need what any repository path needs
(authentication, visibility, push access for methods other than
GET/HEAD) and count against the rate limit:

/repos/{o}/{r}/[any/segments/]__fake/{helper}/...
    e.g. GET /repos/acme/widgets/contents/__fake/bytes/1048576
/repos/{o}/{r}/{any endpoint}?__fake={helper}[/{arg}]
    e.g. POST /repos/acme/widgets/git/blobs?__fake=upload
         GET /repos/acme/widgets/tarball/main?__fake=bytes/1000&chunked=1

Control calls: never recorded, never faulted, never rate limited.  (All
of them, not only requests and reset: a test that sets up a fault should
not find the set-up among what crossed ghp.)

GET PREFIX/requests[?since=SEQ&method=M&path_prefix=P&site=S]
    The records, a JSON list, oldest first.
POST PREFIX/reset[?only=requests]
    Forget the records; without only=requests also the faults, the
    secondary limit, the rate-limit counters, and the repositories,
    issues and credentials go back to how they were at start.
GET|DELETE PREFIX/faults
    The pending faults / drop them.
POST PREFIX/faults {"next": N, "mode": M[, "match": S][, "delay_ms": D]}
    The next N recorded requests (whose path contains S, if given) fail.
    The request, body included, is read first.  Modes:
      close      close without a byte of answer
      reset      close with a TCP RST (SO_LINGER 0)
      hang       answer nothing until the client goes away, the server
                 stops or `hang_seconds` (300) pass
      truncate   status and Content-Length, then half the body, close
      delay      wait delay_ms, then answer normally
      "502", "503", any 4xx/5xx    that status, GitHub-shaped body,
                 connection kept
GET PREFIX/ratelimit
    The rate-limit buckets and settings.
POST PREFIX/ratelimit {"credential": C, "limit": N, "remaining": R,
                       "reset": EPOCH}
    Set a credential's core limit (kept for its later windows) and/or
    what remains of it; "credential": null is the anonymous limit, a
    number (or "installation": N instead) an App installation's.
    {"secondary": {"next": N, "retry_after": S, "status": 429}}: the
    next N rate-limited requests hit a secondary limit.
POST PREFIX/credentials {"credential", "login", "repos", "rate_limit",
                         "scopes", "permission"}
POST PREFIX/repos {"full_name": "o/r", "private", "readers", "writers",
                   "admins", "default_branch", "description"}
GET PREFIX/apps
    apps(): per App {"app_id", "slug", "name", "owner", "client_id",
    "permissions", "token_lifetime", "installations": [{"id",
    "account", "repository_selection", "repositories", "permissions",
    "rate_limit": {"limit", "remaining", "reset", "used"}}], "tokens":
    [{"token_prefix" (8 characters, never the whole token),
    "installation", "minted_at", "expires", "expires_at", "expired",
    "revoked", "permissions", "repositories" (names, null: all),
    "repository_selection", "seq" (of the mint's record)}], "mints"}.
POST PREFIX/apps {add_app() keywords}; DELETE PREFIX/apps/{app_id}
GET|POST|DELETE PREFIX/apps/mint_faults {"next", "status",
                   "installation", "message", "retry_after"}
POST PREFIX/apps/token_lifetime {"seconds": N[, "app_id": ID]}
POST PREFIX/apps/expire {"installation", "app_id", "token_prefix"}
    -> {"expired": N}
GET PREFIX/sites
    {"prefixes", "git_root", "urls": {site: base URL}}.
GET PREFIX/git?repo=o/r -> {"path", "refs"} (the bare repository, made
    on demand); POST PREFIX/git {"repo", "files": {path: text or null},
    "files_b64": {path: base64}, "branch", "message"} -> {"commit"}.
GET PREFIX/assets -> release_assets(); POST PREFIX/assets {"repo",
    "tag", "name", "data" | "data_b64" | "size", "content_type",
    "latest"} -> {"url"}.
GET PREFIX/copilot[?login=] -> {"tokens", "refresh_in", "lifetime",
    "faults"}; POST PREFIX/copilot {"refresh_in", "lifetime"};
    POST|DELETE PREFIX/copilot/faults {"next", "status", "message"};
    POST PREFIX/copilot/expire {"login", "token"} -> {"expired": N}.
GET PREFIX/graphql/requests[?since=SEQ] -> graphql_requests().
GET PREFIX/graphql/nodes -> {id: [typename, repo]}; POST
    PREFIX/graphql/nodes {"id", "typename", "repo"} (repo null: none) or
    {"nodes": {id: [typename, repo] or null (removes)}} -> the table.
GET PREFIX/graphql/answers -> {"added": [names], "files": [names]};
    POST PREFIX/graphql/answers {"operation", "response"} (a response or
    the variants form; null removes) -> the same.
GET PREFIX/stats, POST PREFIX/stats?reset_peak=1
    {"pid", "vmrss_kb", "vmhwm_kb", "threads", "connections",
    "requests"} of the server process; reset_peak first resets VmHWM
    (writes 5 to /proc/self/clear_refs; "peak_reset" says if it could).

GRAPHQL
=======

POST /graphql (and /api/graphql) is no GraphQL executor.  After the
authentication and rate limit (resource "graphql": X-RateLimit-Resource:
graphql; no credential: 401 {"message": "This endpoint requires you to
be authenticated.", "documentation_url": ".../forming-calls-with-graphql
#authenticating-with-graphql"}), the body, a JSON object {"query",
"variables", "operationName"}, is answered, always 200 unless said:

  not JSON, or not an object: 400 {"message": "Problems parsing JSON",
      "documentation_url": "https://docs.github.com/graphql"}
  no "query" string: {"errors": [{"message": "A query attribute must be
      specified and must be a string."}]}
  "variables" neither an object, null, nor a JSON string of one:
      {"errors": [{"message": "Variables are invalid JSON."}]}
  the operation: "operationName" when given (not among the document's
      named operations, if it has any: {"errors": [{"message": "No
      operation named \"X\""}]}), else the first `query|mutation|
      subscription Name` of the document (strings and comments skipped;
      fragments may come first, as gh writes them)
  GhpNodeRepositories: ghp's node resolution query (NODE_QUERY, variables
      {"ids": [...]}), from the node table: {"data": {"nodes": [...]}}
      in the order asked, each node {"__typename": T} plus, when the
      document has a fragment for it (`... on Repository`, `... on
      RepositoryNode` for the types implementing it, `... on Label` ...),
      "nameWithOwner": "o/r" for a Repository, "repository":
      {"nameWithOwner": "o/r"} for the others; nodes of no repository
      (User, Organization, ProjectV2) only {"__typename"}.  An id not in
      the table, or of a repository the caller cannot see (the REST
      visibility rules), is null there, plus in "errors" {"type":
      "NOT_FOUND", "path": ["nodes", i], "locations": [{"line", "column"}
      of `nodes` in the document], "message": "Could not resolve to a
      node with the global id of 'X'."}.  "ids" missing or not a list of
      strings: {"errors": [{"extensions": {"value", "problems"},
      "locations", "message": "Variable $ids of type [ID!]! was provided
      invalid value"}]} (no "data").
  no name (an anonymous document): one that names viewer gets
      {"data": {"viewer": {"login": LOGIN}}} (the caller's login), else
      as an unknown operation
  a name with a canned answer: that answer (below)
  else (unknown): {"data": null, "errors": [{"message": "The fake GitHub
      has no answer for operation 'X' (tests/graphql/answers/X.json)."}]}

Canned answers: add_graphql_answer(name, response), else the file
`graphql_answers`/NAME.json (default tests/graphql/answers; read at each
request).  A file is the GraphQL response itself ({"data": ...,
"errors": ...}), or {"variants": [{"variables": {...}, "response":
{...}}, ...], "response": {...}}: the first variant whose variables are
all equal to the request's answers, else "response".  The answers
describe acme/widgets (tests/graphql/README.md).  When the request's
variables name a repository ("owner" with "repo" or "name"):
  - one the caller cannot see (or unknown): {"data": {"repository":
    null}, "errors": [{"type": "NOT_FOUND", "path": ["repository"],
    "locations", "message": "Could not resolve to a Repository with the
    name 'o/r'."}]}, as GitHub;
  - another visible one than acme/widgets: the answer rebased on it
    (fake_graphql.rebase(): "acme/widgets" in strings becomes "o/r",
    node ids "..._kwDOacmewidgets7" "..._kwDO" + o + r (lower case,
    letters and digits), "name": "widgets" the name, "login": "acme" and
    "O_kgDOacme" the owner's).
Literal arguments (`repository(owner: "acme", ...)`) are not looked at.
Then a "viewer" object with a "login" in "data" gets the caller's login.

Node table (GhpNodeRepositories): id -> (__typename, "o/r" or None).
Default (fake_graphql.DEFAULT_NODES), for each of acme/widgets,
acme/gadgets, octo/public (KEY: acmewidgets, acmegadgets, octopublic):
R_kgDOKEY Repository; I_kwDOKEY1..5, I_kwDOKEY10 Issue; PR_kwDOKEY6..9
PullRequest; LA_kwDOKEY1..3 Label (bug, enhancement, documentation);
MI_kwDOKEY1 Milestone; REF_kwDOKEYmain, REF_kwDOKEYfeature1,
REF_kwDOKEYfeature2 Ref; C_kwDOKEY0001 Commit; RE_kwDOKEY1 Release;
IC_kwDOKEY1001 IssueComment; PRR_kwDOKEY7001 PullRequestReview;
D_kwDOKEY1 Discussion; and U_kgDOalice, U_kgDObob User, O_kgDOacme,
O_kgDOocto Organization, PVT_kwDOacmeproj1 ProjectV2 (no repository).
Beyond the table: "R_kgDO" + KEY of any repository of the world, and
the REST node_id of the repositories, their issues, users and owners.
graphql_nodes={id: [typename, repo]} (knob) adds to the default;
add_node() / remove_node() change it until reset().

Every GraphQL request is recorded like any (body included, see
RECORDS), with "graphql": {"operation", "answer"} once the fake got as
far as choosing an answer: answer "canned", "nodes", "viewer",
"not_found" (the repository refusal above), "unknown" or "invalid".
graphql_requests(since=) (GET PREFIX/graphql/requests) gives them
parsed: [{"seq", "method", "path", "status", "login", "authorization"
(every Authorization value as received), "body" (text, verbatim),
"operation", "query", "variables", "answer"}], oldest first.

HEADERS (as GitHub sends them)
==============================

Every API answer (the other sites: SITES): Server: github.com, Date,
Content-Type (application/json;
charset=utf-8 for JSON), X-GitHub-Request-Id (also in the record),
X-GitHub-Media-Type (from Accept: "github.v3; format=json", "...;
param=raw; ..."), X-GitHub-Api-Version-Selected, Cache-Control, Vary
(twice, as GitHub), Access-Control-*, Strict-Transport-Security,
X-Frame-Options, X-Content-Type-Options, X-XSS-Protection,
Referrer-Policy, Content-Security-Policy.  Classic tokens (ghp_, gho_, or
a credential with "scopes"): X-OAuth-Scopes, and X-Accepted-OAuth-Scopes
on repository routes.  API routes: X-RateLimit-Limit, -Remaining, -Reset
(epoch), -Used, -Resource.  200 GET/HEAD with JSON: a strong ETag;
If-None-Match with it (or W/ it, or *) gives 304 without a body.  Lists:
Link with rel prev/next/last/first.  JSON bodies over `chunk_threshold`
(8192 bytes) go Transfer-Encoding: chunked (to HTTP/1.1 clients), the
others with Content-Length.  Keep-alive as HTTP/1.1 (pipelining works);
Connection: close is honoured; Expect: 100-continue is answered; a
request with both Content-Length and Transfer-Encoding is read chunked
and its connection closed after the answer; bad framing: 400 and close.

RATE LIMITS
===========

Per credential (anonymous: per client address; installation tokens: per
App installation, all its tokens sharing it) and per resource (core,
search, graphql).  Core: `rate_limit` (5000) for a credential unless
`rate_limits[credential]` or its "rate_limit" says otherwise,
`installation_rate_limit` (5000) for an installation (unless its
"rate_limit" or set_rate_limit(ID, limit=) says otherwise),
`anon_rate_limit` (60) anonymous; the window is `rate_window` seconds
(3600).  Every API request counts except: /rate_limit, a 304, a 401
(which shows the anonymous bucket), a secondary-limit answer, and an
answer given because the limit was already reached.  At 0 remaining:
403 {"message":"API rate limit exceeded for user ID N.",
"documentation_url":"https://docs.github.com/rest/overview/
rate-limits-for-the-rest-api"} (one string) with X-RateLimit-Remaining: 0
(installation tokens: "API rate limit exceeded for installation ID
N."; anonymous: GitHub's "for ADDRESS. (But here's the good news...)";
`primary_status`=429 answers 429 with Retry-After).  Secondary limits:
429 (or 403) "You have exceeded a secondary rate limit..." with
Retry-After.

RECORDS
=======

Every request that reaches the server (refused ones included; malformed
ones too, with "malformed": true), except the control calls, is
appended, as soon as its headers are read, to an in-memory list, as a
dict:

  seq, time (epoch), method, target (as on the request line), path
  (without the query), query (raw string), params ([[k, v], ...]),
  version, headers ([[name, value], ...] in order, repeats kept),
  client ([host, port]), conn (a number per TCP connection),
  conn_request (1 for a connection's first request, 2 for the next...),
  chunked, te_and_cl, body_length, body_sha256 (of every body: it is
  hashed as it streams, which costs no memory), body (text, when valid
  UTF-8 and at most `record_body_limit` = 64 KiB), body_b64 (same
  limit), trailers, login (when a known credential came), request_id,
  status, fault, error, malformed, complete, site ("api", "web",
  "codeload", "raw", "copilot", "objects") and site_path (the path
  within the site: the prefix stripped); on App requests app_id (once
  a JWT passed) and installation (a mint that got that far); on the
  sites git_service, cgi_exit and cgi_stderr (git http-backend's or
  git archive's), release ([o/r, tag or null, file]), raw ([o/r, ref,
  path]), copilot ("ok" or why the token was refused); on GraphQL
  requests graphql ({"operation", "answer"}: GRAPHQL).  A mint answered
  by a mint fault has fault "mint:STATUS", a Copilot token request
  answered by a Copilot fault "copilot:STATUS".

The body is read, and the body fields and status filled in, before the
answer is sent (a route that answers without reading the body has it
drained first), so a test that has its answer can rely on the record;
only "complete" turns true a moment later, once the answer is written.
With `record_file` (--record) each record is also appended to that file
as a JSON line when its request completes.

KNOBS (FakeGitHub keyword arguments; the CLI flag where there is one)
=====================================================================

  host="127.0.0.1" (--host; "::1" works), port=0 (--port)
  credentials={cred: login or {"login", "repos", "permission",
      "rate_limit", "scopes"}}  (--cred TOKEN=LOGIN, repeatable; replaces
      the defaults)
  repos={"o/r": {"private", "readers", "writers", "admins",
      "default_branch", "description"}}  (--repo o/r[:public|private]
      [:reader,reader], repeatable; replaces the defaults)
  users={login: id} (other ids are derived from the name)
  rate_limit=5000 (--rate-limit), anon_rate_limit=60 (--anon-rate-limit),
  rate_limits={cred: N} (--cred-limit TOKEN=N), rate_window=3600,
  primary_status=403
  seed_issues=5 (--seed-issues), seed_pulls=2
  chunk_threshold=8192 (--chunk-threshold), record_body_limit=65536
  record_file=None (--record; appended to), prefix="/__fake" (--prefix)
  idle_timeout=120 (seconds a connection may sit idle or stall)
  hang_seconds=300, verbose=False (--verbose: log each request)
  unrecorded_agents=() (User-Agent values whose requests are served, and
  rate limited, but neither recorded nor faulted)
  extra_routes=[], app_token_handler=None, git_handler=None (HOOKS)
  apps=[{add_app() keywords}, ...]  (--app ID:PUBKEY.pem[:INST=LOGIN,
      ...], repeatable; installation ids may be strings in JSON)
  site_prefixes={"web": "/_web", "codeload": "/_codeload", "raw":
      "/_raw", "copilot": "/_copilot"} (SITE_PREFIXES; a site left out,
      or given "", is not served), git_root=None (where the bare
      repositories go; None: a temporary directory, removed by stop()),
  copilot_refresh_in=1500, copilot_lifetime=1800 (SITES)
  graphql_answers=None (--graphql-answers DIR; None: tests/graphql/
      answers), graphql_nodes=None ({id: [typename, "o/r" or null]},
      added to the default node table) (GRAPHQL)
  token_lifetime=3600 (--token-lifetime), installation_rate_limit=5000,
  jwt_max_span=600 (exp - iat at most this; None: only exp - now is
      checked)
  --config FILE: a JSON object of these keywords (flags override it)

GITHUB APPS
===========

add_app(app_id, public_key_pem, installations={987: "acme"},
slug="agents", permissions=None, token_lifetime=None, name=None,
owner=None, client_id=None, public_key_file=None) registers an App.  An
installation reaches every repository of its account (owner), or, given
as {"account": "acme", "repositories": ["widgets"]}, only those
("selected").  permissions: what the App (and so each installation,
unless its own "permissions" say less) holds; default every GitHub App
permission at write, metadata at read (metadata is always held).  Apps
stay registered across reset(); their tokens, rate-limit counters and
mint faults do not.

The JWT (`Authorization: Bearer JWT` on /app...) is checked as GitHub
does, each failure a 401 {"message": M, "documentation_url":
"https://docs.github.com/rest"}: three base64url parts, JSON header and
claims, alg RS256 (typ, if there, JWT), an iss (else M = "A JSON web
token could not be decoded"); iss the App id, as a number or a string,
or its client id (else "Integration not found"); the signature over
"header.claims" verified with the App's public key by `openssl dgst
-sha256 -verify` (else "A JSON web token could not be decoded"); iat an
integer at most 60 s ahead (else "'Issued at' claim ('iat') must be an
Integer representing the time that the assertion was issued"); exp an
integer in the future (else "'Expiration time' claim ('exp') must be a
numeric value representing the future time at which the assertion
expires"); exp at most 600 s from now and exp - iat at most
`jwt_max_span` (else "'Expiration time' claim ('exp') is too far in the
future").  A JWT works on the App routes only; elsewhere it is an
unknown credential.

POST /app/installations/{id}/access_tokens, body (optional) {
"repositories": [names within the account], "repository_ids": [ids],
"permissions": {"issues": "read", ...}}, in this order:
  a mint fault (set_mint_fault): its status, GitHub-shaped
  the JWT: 401 as above
  an installation not of this App: 404 {"message": "Not Found",
      "documentation_url": ".../apps/apps#create-an-installation-
      access-token-for-an-app"}
  a body that is not a JSON object: 400 "Problems parsing JSON"; a
      field of the wrong type: 422 "Invalid request.\\n\\nFor ..."
  a repository the installation does not reach (an owner/name is no
      name): 422 "There is at least one repository that does not exist
      or is not accessible to the parent installation."
  a permission above the installation's (or not read/write/admin, or
      unknown): 422 "The permissions requested are not granted to this
      installation."
  else 201 {"token": "ghs_" + 36 letters and digits, "expires_at":
      "YYYY-MM-DDTHH:MM:SSZ" (now + the App's token_lifetime, else the
      server's), "permissions" (those asked for plus metadata:read, or
      the installation's), "repository_selection": "selected" (some
      named, or a selected installation) or "all", "repositories":
      [repository JSON] (when selected)}.

The token is then a credential of login "SLUG[bot]" that reaches those
repositories (all of the account's, present and future, for "all") with
those permissions.  A request on a repository it reaches needs, for
the permission its path names (REPO_SEGMENT_PERMISSION: issues, pulls
-> pull_requests, contents, git, ... -> contents; /repos/o/r itself:
metadata to read, administration to change; an unlisted segment:
contents), read for GET/HEAD and write for anything else; lacking it:
403 "Resource not accessible by integration" (every answer on a
repository route says what it needed in X-Accepted-GitHub-Permissions,
e.g. "issues=write").  A private repository it does not reach: 404.
Public repositories it does not reach it reads as anyone does, and
writing them is 403.  GET /user: 403.  Once expired
(expire_tokens(), DELETE /installation/token, or its lifetime): 401
"Bad credentials".  Its answers carry the installation's X-RateLimit-*
(see RATE LIMITS).

Mints are recorded like every request, body included (so a test can
check what ghp asked for); apps() (GET PREFIX/apps) lists them per App.
Faults: POST PREFIX/faults with "match": "access_tokens" aims close,
reset, hang, truncate, delay or a status at mints; set_mint_fault(next,
status) makes the next mints answer status (401: the JWT message, 500
"Server Error", else the reason phrase, or `message`; retry_after adds
Retry-After, and for 403/429 GitHub's secondary-limit message).

HOOKS (extension points)
========================

extra_routes / add_route(methods, regex, fn, site="api"): tried before
every built-in route of that site; regex is matched (fullmatch) against
the path within the site (less any /api/v3 on the API, less the prefix
on the others); methods is a list or None for any.  (extra_routes
entries: (methods, regex, fn) or (methods, regex, fn, site).)
fn(ex, *groups) answers through the request handler `ex`: ex.command,
ex.path_only, ex.params,
ex.qd (first value of each query parameter), ex.headers, ex.body,
ex.login, ex.api_prelude() (authentication and rate limits; False when
it has answered), ex.send_json(), ex.send_error_json(), ex.send_bytes(),
ex.begin(), ex.write_body(), ex.end_body().  For these routes the body is
NOT read before fn runs: fn may stream it with ex.body.chunks() (if fn
answers without touching it, it is drained first; a body fn starts but
does not finish closes the connection).  Records and faults apply as
for any route.

app_token_handler(ex, installation_id, jwt): replaces the built-in
POST /app/installations/{id}/access_tokens (jwt: the Bearer value or
None; installation_id a string).  It may answer itself, or call
ex.mint_token(installation_id) for the built-in behaviour (ex.app_jwt()
checks the JWT alone: the App, or None once it has answered 401).

git_handler(ex, owner, repo, rest): when set, answers git smart HTTP
instead of the built-in (SITES), on the web site and on the API site's
/{o}/{r}.git{rest} and /{o}/{r}{/info/refs|/git-upload-pack|
/git-receive-pack} (404 there without it); rest is "/info/refs",
"/git-upload-pack"...  It may fall back on the built-in CGI with
ex.git_http_backend("o/r", rest) (no access checks: those are
ex._site_access(owner, repo, "read" or "write")).

SITES
=====

A request whose path starts with a site's prefix (site_prefixes) is
that site's, the prefix stripped: /_web/acme/widgets.git/info/refs is
github.com's /acme/widgets.git/info/refs.  Other paths are the API's.
The record keeps the path as received ("path") and says "site" and
"site_path".  Answers of the other sites carry Content-Type,
X-GitHub-Request-Id and their own headers, none of the API's (no
rate-limit headers; they count against no rate limit).

Credentials on every site: `token X`, `Bearer X` or `Basic
base64(user:X)` (any user, or X as the user with no password), X being
a credential the fake knows (credentials, add_credential(), minted
installation tokens), with the API's access rules: who sees and who
writes a repository; a credential with "repos" sees only those (with
its "permission"); an installation token needs contents:read to read
and contents:write to push (public repositories it reads anyway).

web (github.com, prefix /_web)
  GET /{o}/{r}[.git]/info/refs?service=git-upload-pack|git-receive-pack,
  POST /{o}/{r}[.git]/git-upload-pack|git-receive-pack
      The real `git http-backend` (a CGI: GIT_PROJECT_ROOT,
      GIT_HTTP_EXPORT_ALL, PATH_INFO, QUERY_STRING, REQUEST_METHOD,
      CONTENT_TYPE, CONTENT_LENGTH (not for chunked bodies),
      HTTP_GIT_PROTOCOL from Git-Protocol, HTTP_CONTENT_ENCODING (gzip
      bodies), REMOTE_USER (the login), REMOTE_ADDR) on a bare
      repository of the world's repository.  The body streams into its
      stdin as it arrives (Content-Length or chunked; a push of any
      size, never held in memory), its answer streams back chunked.
      upload-pack needs read, receive-pack write.  Refusals, as GitHub:
      no credential: 401 with `WWW-Authenticate: Basic realm="GitHub"`
      (also for public repositories' receive-pack, and for unknown
      repositories); an unknown credential: 401 (the same header) "Invalid
      username or token..."; a credential that cannot see it: 404
      "Repository not found."; one that cannot push: 403 "Permission to
      o/r.git denied to LOGIN."; info/refs without a service (dumb
      HTTP): 403 "Please upgrade your git client...".
      Bare repositories (in git_root, o/r.git, lower case) are made on
      first use (or git_repo_path()) with http.receivepack true and one
      commit on the default branch (README.md, src/hello.txt; fixed
      author and date, so the same id in every run); git_seed() adds
      commits (a branch too), git_refs() lists them, git(o/r, *args)
      runs git in it; reset() deletes them (made again on demand).
  GET|HEAD /{o}/{r}/releases/download/{tag}/{file},
  GET|HEAD /{o}/{r}/releases/latest/download/{file}
      With read access, an asset added by add_release_asset(): 302 with
      Location: http://FAKE/__fake/assets/{id}/{file} (the fake's URL,
      not the Host's; latest goes there directly too) and a small HTML
      body.  No access (no credential on a private repository
      included), an unknown tag or file, another method: 404.
  anything else: 404 "Not Found" (text).

codeload (codeload.github.com, prefix /_codeload)
  GET|HEAD /{o}/{r}/{tar.gz|zip|legacy.tar.gz|legacy.zip}/{ref...}
      With read access and a ref (may hold slashes; a commit id) that
      names a commit: 200, `git archive` of it, chunked (deterministic:
      codeload_bytes() gives the same bytes), Content-Type
      application/x-gzip or application/zip, Content-Disposition
      attachment; filename={r}-{ref, / as -}.tar.gz (legacy:
      {o}-{r}-{sha7}.tar.gz; the archive's prefix is the same name), an
      ETag (the commit).  Anything else: 404 "404: Not Found".

raw (raw.githubusercontent.com, prefix /_raw)
  GET|HEAD /{o}/{r}/{ref...}/{path...}
      With read access, the blob at path in ref (the first split of the
      segments that names a commit and a file): 200 text/plain;
      charset=utf-8 with Content-Length.  Else 404 "404: Not Found";
      other methods 405.  The query is recorded as any ("query",
      "params", "target"), so a test can see that no token= arrived;
      it authenticates nothing.

Copilot token exchange (the API)
  GET /copilot_internal/v2/token with an OAuth credential the fake
  knows (gho_ or ghu_; add_credential(..., copilot=True/False) says
  otherwise): 200 {"token": "tid=HEX;exp=EPOCH;sku=...;8kp=1:HEX",
  "expires_at": now + copilot_lifetime, "refresh_in":
  copilot_refresh_in, "endpoints": {"api":
  "https://api.githubcopilot.com", ...}, "sku", "chat_enabled", ...};
  counts against the core rate limit.  Another known credential (a PAT,
  ghp_): 404 {"message": "Not Found", ...}; unknown: 401 "Bad
  credentials"; none: 401 "Requires authentication".  set_copilot_fault
  (next, status, message=) answers the next requests (whatever their
  credential) with status and a GitHub-shaped body (message: default
  "Bad credentials" for 401, "Forbidden", "Not Found", "Server Error",
  else the reason phrase).  copilot_tokens() lists what was issued
  (full tokens, "login", "issued_at", "expires_at", "expired", "uses",
  "seq" of the exchange's record); expire_copilot_tokens() invalidates.

copilot (api.githubcopilot.com, prefix /_copilot)
  Any method and path.  `Authorization: Bearer T`, T an issued Copilot
  token not expired: 200 JSON {"ok": true, "site": "copilot", "method",
  "path", "query", "login", "tid", "token", "body_length",
  "body_sha256", "enterprise" (the sec-GitHub-allowed-enterprise
  header)}, plus "data" (models) for GET /models; a JSON body with
  "stream": true gets server-sent events instead (chunked: the echo,
  ?n= (3) chunks ?delay_ms= apart, "data: [DONE]").  Anything else
  (none, unknown, expired, another scheme): 401 {"message":
  "unauthorized: WHY"}.  Every request is recorded (with "login" when
  the token was good).

MIRROR
======

MirrorServer(files={path: bytes}, tls=False, ca=None, auth=None,
host="127.0.0.1", port=0, missing_status=404): a separate small server
(fake_sites.py) for redirect targets: GET and HEAD of the paths added
(add(path, data, status=200, content_type=, delay=), set_status(path,
code), remove(path)), missing_status for others, 405 for other methods;
auth=(user, password): Basic required (401 with WWW-Authenticate: Basic
realm="mirror" otherwise, before the path is looked at).  tls=True:
HTTPS with a certificate for 127.0.0.1 and localhost signed by ca (a
TestCA; one is made and removed with the mirror when none is given);
ca.bundle is the CA certificate file.  start() (returns it), stop(),
url, port, requests(method=) ([{"seq", "time", "method", "target",
"path", "query", "headers", "client", "tls", "user", "authorized",
"status"}]), clear(), netrc(path) (a 0600 netrc file with its
credentials, machine = its host).  TestCA(directory=None): a CA made
with openssl (EC P-256, 30 days); issue(hosts) -> (cert file, key
file); bundle; cleanup().  write_netrc(path, machine, login, password).
"""

import argparse
import base64
import copy
import hashlib
import http.client
import http.server
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import socketserver
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import zlib

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_sites import (SITE_HOSTS, SITE_PREFIXES,  # noqa: E402,F401
                        BackgroundServer, MirrorServer, SitesHandler,
                        SitesWorld, TestCA, write_netrc)
from fake_graphql import (DOC_GRAPHQL, DOC_GRAPHQL_AUTH,  # noqa: E402,F401
                          NODE_QUERY, GraphQLHandler, GraphQLWorld,
                          graphql_records, operation_name)

__all__ = ["FakeGitHub", "FakeGitHubClient", "spawn", "find_in_records",
           "pattern", "rsa_keypair", "public_key_of", "sign_rs256",
           "make_jwt", "verify_rs256",
           "iter_pattern", "pattern_sha256", "DEFAULT_CREDENTIALS",
           "DEFAULT_REPOS", "SITE_PREFIXES", "SITE_HOSTS", "MirrorServer",
           "TestCA", "write_netrc", "graphql_records", "operation_name",
           "NODE_QUERY"]

# ------------------------------------------------------------ constants

JSON_CT = "application/json; charset=utf-8"
DOC_REST = "https://docs.github.com/rest"
DOC_GET_REPO = "https://docs.github.com/rest/repos/repos#get-a-repository"
DOC_REPOS = "https://docs.github.com/rest/repos/repos"
DOC_UPDATE_REPO = DOC_REPOS + "#update-a-repository"
DOC_DELETE_REPO = DOC_REPOS + "#delete-a-repository"
DOC_RATE = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
DOC_SECONDARY = DOC_RATE + "#about-secondary-rate-limits"
DOC_AUTH_USER = ("https://docs.github.com/rest/users/users"
                 "#get-the-authenticated-user")
DOC_GET_USER = "https://docs.github.com/rest/users/users#get-a-user"
DOC_ISSUES = "https://docs.github.com/rest/issues/issues"
DOC_LIST_ISSUES = DOC_ISSUES + "#list-repository-issues"
DOC_CREATE_ISSUE = DOC_ISSUES + "#create-an-issue"
DOC_GET_ISSUE = DOC_ISSUES + "#get-an-issue"
DOC_UPDATE_ISSUE = DOC_ISSUES + "#update-an-issue"
DOC_COMMENTS = "https://docs.github.com/rest/issues/comments"
DOC_LOCK = DOC_ISSUES + "#lock-an-issue"
DOC_PULLS = "https://docs.github.com/rest/pulls/pulls#list-pull-requests"
DOC_GET_PULL = "https://docs.github.com/rest/pulls/pulls#get-a-pull-request"
DOC_APP_TOKEN = ("https://docs.github.com/rest/apps/apps"
                 "#create-an-installation-access-token-for-an-app")
DOC_APPS = "https://docs.github.com/rest/apps/apps"
DOC_GET_INSTALLATION = DOC_APPS + \
    "#get-an-installation-for-the-authenticated-app"
DOC_INSTALLATIONS = "https://docs.github.com/rest/apps/installations"
DOC_INST_REPOS = DOC_INSTALLATIONS + \
    "#list-repositories-accessible-to-the-app-installation"
DOC_REVOKE = DOC_INSTALLATIONS + "#revoke-an-installation-access-token"

DEFAULT_CREDENTIALS = {
    "ghp_realcredentialAAAA": "alice",
    "ghp_realcredentialBBBB": "bob",
}
DEFAULT_USERS = {"alice": 1001, "bob": 1002}
DEFAULT_REPOS = {
    "acme/widgets": {"private": True, "readers": ["alice"],
                     "writers": ["alice"]},
    "acme/gadgets": {"private": True, "readers": ["alice", "bob"],
                     "writers": ["alice"]},
    "octo/public": {"private": False, "readers": [], "writers": ["bob"]},
}

# Limits per resource: (authenticated, anonymous).
RESOURCE_LIMITS = {"core": (5000, 60), "search": (30, 10),
                   "graphql": (5000, 0)}

API_VERSION = "2022-11-28"
EPOCH_CREATED = 1577836800    # 2020-01-01T00:00:00Z: fixed, so ETags hold
MAX_JSON_BODY = 1 << 20               # bodies the JSON routes will parse
METHODS_READ = ("GET", "HEAD", "OPTIONS")
LEVELS = {None: 0, "read": 1, "write": 2, "admin": 3}

EXPOSE = ("ETag, Link, Location, Retry-After, X-GitHub-OTP, "
          "X-RateLimit-Limit, "
          "X-RateLimit-Remaining, X-RateLimit-Used, X-RateLimit-Resource, "
          "X-RateLimit-Reset, X-OAuth-Scopes, X-Accepted-OAuth-Scopes, "
          "X-Poll-Interval, X-GitHub-Media-Type, X-GitHub-SSO, "
          "X-GitHub-Request-Id, Deprecation, Sunset")

# GitHub Apps.  Messages as GitHub words them (401 unless said).
JWT_UNDECODABLE = "A JSON web token could not be decoded"
JWT_IAT = ("'Issued at' claim ('iat') must be an Integer representing the "
           "time that the assertion was issued")
JWT_EXP = ("'Expiration time' claim ('exp') must be a numeric value "
           "representing the future time at which the assertion expires")
JWT_EXP_FAR = "'Expiration time' claim ('exp') is too far in the future"
JWT_NO_APP = "Integration not found"
MINT_BAD_REPO = ("There is at least one repository that does not exist or "
                 "is not accessible to the parent installation.")
MINT_BAD_PERM = "The permissions requested are not granted to this " \
    "installation."                                     # 422 both
NOT_BY_INTEGRATION = "Resource not accessible by integration"   # 403
JWT_SKEW = 60           # seconds an iat may lie in the future
JWT_MAX_LIFETIME = 600  # GitHub's ten minutes
# Every permission an App may hold (GitHub's app-permissions schema);
# an App added without "permissions" holds each of them at write, but
# metadata, which is read-only.
APP_PERMISSION_NAMES = (
    "actions", "administration", "attestations", "checks", "codespaces",
    "contents", "custom_properties_for_organizations", "dependabot_secrets",
    "deployments", "discussions", "environments", "issues", "merge_queues",
    "metadata", "packages", "pages", "pull_requests",
    "repository_custom_properties", "repository_hooks",
    "repository_projects", "secret_scanning_alerts", "secrets",
    "security_events", "single_file", "statuses", "vulnerability_alerts",
    "workflows", "members", "organization_administration",
    "organization_announcement_banners",
    "organization_copilot_seat_management", "organization_custom_org_roles",
    "organization_custom_properties", "organization_custom_roles",
    "organization_events", "organization_hooks",
    "organization_packages", "organization_personal_access_token_requests",
    "organization_personal_access_tokens", "organization_plan",
    "organization_projects", "organization_secrets",
    "organization_self_hosted_runners", "organization_user_blocking",
    "team_discussions", "email_addresses", "followers", "git_ssh_keys",
    "gpg_keys", "interaction_limits", "profile", "starring")
# Which permission an installation token needs for /repos/{o}/{r}/SEG...
# (reads need read, every other method write); a segment not listed
# here needs contents.  /repos/{o}/{r} itself: metadata to read,
# administration to change or delete.
REPO_SEGMENT_PERMISSION = {
    "issues": "issues", "labels": "issues", "milestones": "issues",
    "assignees": "issues",
    "pulls": "pull_requests",
    "contents": "contents", "git": "contents", "commits": "contents",
    "branches": "contents", "tarball": "contents", "zipball": "contents",
    "compare": "contents", "releases": "contents", "merges": "contents",
    "readme": "contents", "tags": "contents", "dispatches": "contents",
    "actions": "actions", "hooks": "repository_hooks",
    "deployments": "deployments", "environments": "environments",
    "statuses": "statuses", "check-runs": "checks",
    "check-suites": "checks", "pages": "pages",
    "keys": "administration", "invitations": "administration",
    "collaborators": "metadata", "stargazers": "metadata",
    "subscribers": "metadata", "watchers": "metadata",
    "languages": "metadata", "contributors": "metadata",
    "teams": "metadata", "topics": "metadata", "events": "metadata",
    "forks": "metadata",
    "code-scanning": "security_events",
    "secret-scanning": "secret_scanning_alerts",
    "dependabot": "vulnerability_alerts", "projects": "repository_projects",
    "discussions": "discussions",
}

# ------------------------------------------------------------ the pattern

PATTERN_PERIOD = 251
MAX_CHUNK = 1 << 20
_PAT = (bytes(range(PATTERN_PERIOD)) * (MAX_CHUNK // PATTERN_PERIOD + 2))
_PAT_MV = memoryview(_PAT)


def iter_pattern(n, chunk=65536, offset=0):
    """Yield n bytes of the pattern (byte i is i % 251), chunk at a time,
    as memoryviews of one shared buffer (no copy)."""
    chunk = max(1, min(int(chunk), MAX_CHUNK))
    pos = offset
    end = offset + n
    while pos < end:
        k = min(chunk, end - pos)
        s = pos % PATTERN_PERIOD
        yield _PAT_MV[s:s + k]
        pos += k


def pattern(n, offset=0):
    """n bytes of the pattern from offset, as bytes."""
    return b"".join(bytes(c) for c in iter_pattern(n, MAX_CHUNK, offset))


def pattern_sha256(n):
    """sha256 hex digest of the first n bytes of the pattern."""
    h = hashlib.sha256()
    for c in iter_pattern(n, MAX_CHUNK):
        h.update(c)
    return h.hexdigest()


# ------------------------------------------------------------ small helpers


def _iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _cjson(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def _name_id(name, base=1000000):
    return base + zlib.crc32(name.lower().encode()) % 9000000


def _node_id(kind, n):
    return base64.b64encode(("%s%d" % (kind, n)).encode()).decode().rstrip("=")


def _phrase(code):
    try:
        return http.HTTPStatus(code).phrase
    except ValueError:
        return "Status %d" % code


# ------------------------------------------------------------ keys, JWTs
#
# The standard library has no RSA: the openssl command does it.


def _b64url(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(s):
    """base64url, padding optional; ValueError for anything else."""
    if not re.fullmatch(r"[A-Za-z0-9_-]*", s) or len(s) % 4 == 1:
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _openssl(args, data=None, timeout=60):
    r = subprocess.run(["openssl"] + list(args), input=data,
                       capture_output=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("openssl %s: exit %d: %s" % (
            " ".join(args[:2]), r.returncode,
            r.stderr.decode("utf-8", "replace").strip()[:300]))
    return r.stdout


def rsa_keypair(bits=2048):
    """(private PEM, public PEM) of a new RSA key, as str: `openssl
    genpkey -algorithm RSA` and `openssl pkey -pubout`."""
    priv = _openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt",
                     "rsa_keygen_bits:%d" % bits]).decode()
    return priv, public_key_of(priv)


def public_key_of(pem):
    """The public key PEM of a private (or public) key PEM."""
    if isinstance(pem, bytes):
        pem = pem.decode()
    if "PRIVATE KEY" not in pem:
        return _openssl(["pkey", "-pubin", "-pubout"], pem.encode()).decode()
    return _openssl(["pkey", "-pubout"], pem.encode()).decode()


def sign_rs256(private_pem, data):
    """RS256 (RSASSA-PKCS1-v1_5, SHA-256) signature of data with
    `openssl dgst -sha256 -sign` (the key goes through a 0600 file)."""
    if isinstance(data, str):
        data = data.encode()
    if isinstance(private_pem, str):
        private_pem = private_pem.encode()
    d = tempfile.mkdtemp(prefix="fake-github-sign-")
    path = os.path.join(d, "key.pem")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(private_pem)
        return _openssl(["dgst", "-sha256", "-sign", path], data)
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
        os.rmdir(d)


def make_jwt(private_pem, iss, iat=None, exp=None, now=None, header=None,
             payload=None, signature=None):
    """An App JWT as ghp's keyholder makes them: header {"alg":"RS256",
    "typ":"JWT"}, claims iat (now - 60), exp (now + 540), iss; signed
    with private_pem.  header / payload replace the whole part (for bad
    ones); signature (bytes) replaces the signature."""
    now = int(time.time()) if now is None else now
    hdr = {"alg": "RS256", "typ": "JWT"} if header is None else header
    if payload is None:
        payload = {"iat": now - 60 if iat is None else iat,
                   "exp": now + 540 if exp is None else exp, "iss": iss}
    signing = "%s.%s" % (
        _b64url(hdr if isinstance(hdr, (str, bytes)) else _cjson(hdr)),
        _b64url(payload if isinstance(payload, (str, bytes))
                else _cjson(payload)))
    if signature is None:
        signature = sign_rs256(private_pem, signing)
    return signing + "." + _b64url(signature)


def verify_rs256(public_pem_path, data, signature):
    """True when signature is data's RS256 signature by the public key
    in that file: `openssl dgst -sha256 -verify PUB -signature SIG`."""
    fd, sig_path = tempfile.mkstemp(prefix="sig-", dir=os.path.dirname(
        public_pem_path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(signature)
        r = subprocess.run(["openssl", "dgst", "-sha256", "-verify",
                            public_pem_path, "-signature", sig_path],
                           input=data, capture_output=True, timeout=60)
        return r.returncode == 0
    finally:
        os.unlink(sig_path)


def _perm_level(v):
    return LEVELS.get(v, 0) if isinstance(v, str) else 0


class BodyError(Exception):
    """The request body is framed wrongly or ended early."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


class RequestBody:
    """The request body, read as it arrives: Content-Length or chunked
    (decoded here), hashed, and kept only while it is small."""

    def __init__(self, rfile, length=0, chunked=False, keep=MAX_JSON_BODY,
                 on_progress=None):
        self.rfile = rfile
        self.length = length
        self.chunked = chunked
        self.keep = keep
        self.total = 0
        self.trailers = []
        self.error = None
        self.done = not chunked and not length
        self.started = False
        self._sha = hashlib.sha256()
        self._buf = bytearray()
        self._kept = True
        self._on_progress = on_progress

    @classmethod
    def from_headers(cls, headers, rfile, keep=MAX_JSON_BODY):
        """Returns (body, te_and_cl).  Raises BodyError on bad framing."""
        te = headers.get_all("Transfer-Encoding") or []
        cl = headers.get_all("Content-Length") or []
        codings = [c.strip().lower() for v in te for c in v.split(",")
                   if c.strip()]
        if codings:
            if codings[-1] != "chunked":
                raise BodyError("Transfer-Encoding without chunked last", 400)
            return cls(rfile, None, True, keep), bool(cl)
        if cl:
            vals = {v.strip() for v in ",".join(cl).split(",")}
            if len(vals) != 1:
                raise BodyError("conflicting Content-Length values")
            val = vals.pop()
            if not val.isdigit() or len(val) > 18:
                raise BodyError("bad Content-Length")
            return cls(rfile, int(val), False, keep), False
        return cls(rfile, 0, False, keep), False

    def _take(self, data):
        self.total += len(data)
        self._sha.update(data)
        if self._kept:
            if self.total <= self.keep:
                self._buf += data
            else:
                self._kept = False
                self._buf = bytearray()

    def chunks(self, size=65536):
        """Yield the (decoded) body as it arrives.  Once only."""
        if self.done or self.started:
            return
        self.started = True
        finished = False
        try:
            if self.chunked:
                yield from self._chunked(size)
            else:
                left = self.length
                while left > 0:
                    data = self.rfile.read(min(size, left))
                    if not data:
                        raise BodyError("connection closed mid-body", 0)
                    left -= len(data)
                    self._take(data)
                    yield data
            finished = True
        except BodyError as e:
            self.error = str(e)
            raise
        finally:
            if not finished and self.error is None:
                self.error = "body not read to the end"
            self.done = True
            if self._on_progress:
                self._on_progress(self)

    def _chunked(self, size):
        while True:
            line = self.rfile.readline(4097)
            if not line:
                raise BodyError("connection closed mid-body", 0)
            if not line.endswith(b"\n") or len(line) > 4096:
                raise BodyError("chunk size line too long")
            sz = line.split(b";", 1)[0].strip()
            if not sz or not re.fullmatch(rb"[0-9A-Fa-f]{1,15}", sz):
                raise BodyError("bad chunk size")
            n = int(sz, 16)
            if n == 0:
                break
            while n > 0:
                data = self.rfile.read(min(size, n))
                if not data:
                    raise BodyError("connection closed mid-body", 0)
                n -= len(data)
                self._take(data)
                yield data
            if self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise BodyError("chunk not followed by CRLF")
        while True:
            line = self.rfile.readline(65537)
            if not line:
                raise BodyError("connection closed in trailers", 0)
            if line in (b"\r\n", b"\n"):
                break
            if len(self.trailers) > 100 or len(line) > 65536:
                raise BodyError("trailers too large")
            k, _, v = line.decode("latin-1").partition(":")
            self.trailers.append([k.strip(), v.strip()])

    def drain(self):
        for _ in self.chunks():
            pass

    def read_all(self, limit=MAX_JSON_BODY):
        """The whole body as bytes (None when longer than what is kept)."""
        self.drain()
        return self.data

    @property
    def data(self):
        return bytes(self._buf) if self._kept and self.done else None

    @property
    def sha256(self):
        return self._sha.hexdigest()


# ------------------------------------------------------------ the server


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def server_bind(self):
        # HTTPServer.server_bind calls getfqdn(), a DNS lookup: skip it.
        socketserver.TCPServer.server_bind(self)
        self.server_name = self.server_address[0]
        self.server_port = self.server_address[1]

    def handle_error(self, request, client_address):
        if self.fake.verbose:
            super().handle_error(request, client_address)


class _HTTPServer6(_HTTPServer):
    address_family = socket.AF_INET6


class FakeGitHub(SitesWorld, GraphQLWorld, BackgroundServer):
    """A fake api.github.com (and github.com, codeload, raw, Copilot:
    SITES).  See the module documentation."""

    def __init__(self, host="127.0.0.1", port=0, credentials=None,
                 repos=None, users=None, rate_limit=5000, anon_rate_limit=60,
                 rate_limits=None, rate_window=3600, primary_status=403,
                 seed_issues=5, seed_pulls=2, chunk_threshold=8192,
                 record_body_limit=65536, record_file=None, prefix="/__fake",
                 idle_timeout=120, hang_seconds=300, verbose=False,
                 extra_routes=None, app_token_handler=None, git_handler=None,
                 apps=None, token_lifetime=3600, installation_rate_limit=5000,
                 jwt_max_span=JWT_MAX_LIFETIME, unrecorded_agents=(),
                 site_prefixes=None, git_root=None, copilot_refresh_in=1500,
                 copilot_lifetime=1800, graphql_answers=None,
                 graphql_nodes=None):
        self.host = host
        self.unrecorded_agents = set(unrecorded_agents)
        self.port = port
        self.rate_limit = rate_limit
        self.anon_rate_limit = anon_rate_limit
        self.rate_window = rate_window
        self.primary_status = primary_status
        self.seed_issues = seed_issues
        self.seed_pulls = seed_pulls
        self.chunk_threshold = chunk_threshold
        self.record_body_limit = record_body_limit
        self.record_file = record_file
        self.prefix = "/" + prefix.strip("/")
        self.idle_timeout = idle_timeout
        self.hang_seconds = hang_seconds
        self.verbose = verbose
        self.app_token_handler = app_token_handler
        self.git_handler = git_handler
        self.extra_routes = []
        for route in (extra_routes or []):
            self.add_route(*route)

        self._init_credentials = copy.deepcopy(
            DEFAULT_CREDENTIALS if credentials is None else credentials)
        self._init_repos = copy.deepcopy(
            DEFAULT_REPOS if repos is None else repos)
        self._init_rate_limits = dict(rate_limits or {})
        self._init_anon_rate_limit = anon_rate_limit
        self.users = dict(DEFAULT_USERS)
        self.users.update(users or {})

        self.lock = threading.RLock()
        self._stopping = threading.Event()
        self._records = []
        self._seq = 0
        self._conn_seq = 0
        self._conns = {}
        self._faults = []
        self._secondary = None
        self._buckets = {}
        self._server = None
        self._thread = None
        self._record_fh = None
        self.token_lifetime = int(token_lifetime)
        self.installation_rate_limit = int(installation_rate_limit)
        self.jwt_max_span = jwt_max_span
        self._apps = {}
        self._keydir = None
        self._mint_faults = []
        self._inst_limits = {}
        self._init_sites(site_prefixes, git_root, copilot_refresh_in,
                         copilot_lifetime)
        self._init_graphql(graphql_answers, graphql_nodes)
        self._load_world()
        for spec in apps or []:
            self.add_app(**spec)

    # ---------------------------------------------------- world state

    def _load_world(self):
        with self.lock:
            self.credentials = {}
            for cred, spec in self._init_credentials.items():
                self._put_credential(cred, spec)
            self.rate_limits = dict(self._init_rate_limits)
            self.anon_rate_limit = self._init_anon_rate_limit
            self.repos = {}
            for full, spec in self._init_repos.items():
                self.add_repo(full, **spec)
            self._buckets = {}
            self._faults = []
            self._secondary = None
            self._comment_seq = 1000
            # Apps stay registered; what they minted is forgotten.
            self._mint_faults = []
            self._inst_limits = {}
            for app in self._apps.values():
                app["tokens"] = []

    def _put_credential(self, cred, spec):
        if isinstance(spec, str):
            spec = {"login": spec}
        spec = dict(spec)
        if spec.get("repos") is not None:
            spec["repos"] = [r.lower() for r in spec["repos"]]
        self.credentials[cred] = spec

    def add_credential(self, credential, login, repos=None, rate_limit=None,
                       scopes=None, permission=None, copilot=None):
        """Make credential valid for login.  With repos (["o/r", "o/*"]),
        it sees only those, and those with `permission` (default write)
        even when login is not among their readers (an installation
        token).  copilot: whether GET /copilot_internal/v2/token gives
        it a Copilot token (default: gho_ and ghu_ credentials do)."""
        spec = {"login": login}
        if copilot is not None:
            spec["copilot"] = bool(copilot)
        if permission is not None:
            spec["permission"] = permission
        if repos is not None:
            spec["repos"] = repos
        if rate_limit is not None:
            spec["rate_limit"] = rate_limit
        if scopes is not None:
            spec["scopes"] = scopes
        with self.lock:
            self._put_credential(credential, spec)

    def remove_credential(self, credential):
        with self.lock:
            self.credentials.pop(credential, None)

    def user_id(self, login):
        if login in self.users:
            return self.users[login]
        return _name_id(login, 2000000)

    def add_repo(self, full_name, private=True, readers=(), writers=None,
                 admins=None, default_branch="main", description=None,
                 **extra):
        owner, _, name = full_name.partition("/")
        if not owner or not name or "/" in name:
            raise ValueError("repository must be owner/name: %r" % full_name)
        readers = list(readers or [])
        writers = list(readers if writers is None else writers)
        admins = list(writers if admins is None else admins)
        repo = {
            "owner": owner, "name": name, "full_name": full_name,
            "id": _name_id(full_name, 100000000), "private": bool(private),
            "readers": readers, "writers": writers, "admins": admins,
            "default_branch": default_branch,
            "description": description if description is not None
            else "%s, a repository of the fake GitHub" % name,
            "homepage": None, "updated": EPOCH_CREATED + 86400,
            "issues": {}, "pulls": {}, "comments": {}, "next_number": 1,
        }
        repo.update(extra)
        author = (admins or writers or readers or [owner])[0]
        for i in range(self.seed_issues):
            self._new_issue(repo, {
                "title": "Seeded issue %d" % (i + 1),
                "body": "Body of seeded issue %d." % (i + 1)},
                author, EPOCH_CREATED + 3600 * (i + 1))
        for i in range(self.seed_pulls):
            n = repo["next_number"]
            repo["next_number"] += 1
            repo["pulls"][n] = {
                "number": n, "title": "Seeded pull request %d" % (i + 1),
                "body": "", "state": "open", "user": author,
                "head": "feature-%d" % (i + 1),
                "created": EPOCH_CREATED + 7200 * (i + 1),
            }
        with self.lock:
            self.repos[full_name.lower()] = repo
        return repo

    def _new_issue(self, repo, fields, login, when=None):
        n = repo["next_number"]
        repo["next_number"] += 1
        t = when if when is not None else int(time.time())
        issue = {
            "number": n, "title": str(fields.get("title")),
            "body": fields.get("body"), "state": "open",
            "labels": [str(x) if not isinstance(x, dict) else
                       str(x.get("name")) for x in fields.get("labels") or []],
            "assignees": [str(x) for x in fields.get("assignees") or []],
            "user": login, "created": t, "updated": t, "closed": None,
            "locked": False, "comments": 0,
        }
        repo["issues"][n] = issue
        return issue

    # ---------------------------------------------------- GitHub Apps

    @staticmethod
    def _app_perms(permissions):
        if permissions is None:
            perms = {n: "write" for n in APP_PERMISSION_NAMES}
            perms["metadata"] = "read"
            return perms
        perms = {}
        for k, v in dict(permissions).items():
            if v not in ("read", "write", "admin"):
                raise ValueError("permission %s: %r is not read, write or "
                                 "admin" % (k, v))
            perms[str(k)] = v
        if _perm_level(perms.get("metadata")) < 1:
            perms["metadata"] = "read"      # every App has it
        return perms

    def add_app(self, app_id, public_key_pem=None, installations=None,
                slug=None, permissions=None, token_lifetime=None, name=None,
                owner=None, client_id=None, public_key_file=None):
        """Register a GitHub App: its id, the public half of its key (a
        PEM; a private key PEM is reduced to its public key), and its
        installations, {installation_id: "account_login"} (or [(id,
        login), ...]; a value may be a dict {"account", "repositories":
        [names] (a "selected" installation; default: all of the
        account's), "permissions", "rate_limit"}).  permissions: what the
        App holds ({"issues": "write", ...}; default: every permission
        at write, metadata at read).  token_lifetime: seconds, for this
        App's installation tokens (default: the server's).  Adding an
        App id again replaces it.  Apps stay registered across reset()."""
        app_id = int(app_id)
        if public_key_pem is None and public_key_file:
            with open(public_key_file) as f:
                public_key_pem = f.read()
        if not public_key_pem:
            raise ValueError("add_app %d: a public key is needed" % app_id)
        pub = public_key_of(public_key_pem)
        slug = slug or "app-%d" % app_id
        perms = self._app_perms(permissions)
        items = installations.items() if isinstance(installations, dict) \
            else (installations or [])
        insts = {}
        for iid, spec in items:
            iid = int(iid)
            spec = dict(spec) if isinstance(spec, dict) else {"account": spec}
            if not spec.get("account"):
                raise ValueError("installation %d: an account is needed" %
                                 iid)
            repos = spec.get("repositories")
            insts[iid] = {
                "id": iid, "account": str(spec["account"]),
                "repositories": None if repos is None else
                [str(r).rpartition("/")[2] for r in repos],
                "permissions": perms if spec.get("permissions") is None
                else self._app_perms(spec["permissions"]),
                "rate_limit": spec.get("rate_limit"),
                "created": int(time.time())}
        with self.lock:
            for other in self._apps.values():
                both = set(other["installations"]) & set(insts)
                if other["id"] != app_id and both:
                    raise ValueError("installation %d belongs to App %d" %
                                     (min(both), other["id"]))
            old = self._apps.get(app_id)
            app = {"id": app_id, "slug": slug, "name": name or slug,
                   "owner": owner or (next(iter(insts.values()))["account"]
                                      if insts else "octocat"),
                   "client_id": client_id or "Iv1.%016x" % _name_id(
                       slug, 0x1000000000000000),
                   "public_key_pem": pub, "pub_path": None,
                   "permissions": perms,
                   "token_lifetime": None if token_lifetime is None
                   else int(token_lifetime),
                   "installations": insts,
                   "tokens": old["tokens"] if old else [],
                   "created": int(time.time())}
            self._apps[app_id] = app
            self._pub_path(app)

    def remove_app(self, app_id):
        with self.lock:
            app = self._apps.pop(int(app_id), None)
        if app and app["pub_path"]:
            try:
                os.unlink(app["pub_path"])
            except OSError:
                pass

    def _pub_path(self, app):
        """The App's public key as a file (for openssl), written anew if
        it went (stop() removes them)."""
        with self.lock:
            if app["pub_path"] and os.path.exists(app["pub_path"]):
                return app["pub_path"]
            if not self._keydir or not os.path.isdir(self._keydir):
                self._keydir = tempfile.mkdtemp(prefix="fake-github-apps-")
            path = os.path.join(self._keydir, "app-%d.pub.pem" % app["id"])
            tmp = path + ".tmp"
            with open(tmp, "w") as f:
                f.write(app["public_key_pem"])
            os.replace(tmp, path)
            app["pub_path"] = path
            return path

    def _app_by_iss(self, iss):
        with self.lock:
            for app in self._apps.values():
                if iss == app["id"] or iss == str(app["id"]) or \
                        iss == app["client_id"]:
                    return app
        return None

    def _find_installation(self, iid):
        """(app, installation) of an installation id, or (None, None)."""
        with self.lock:
            for app in self._apps.values():
                inst = app["installations"].get(iid)
                if inst is not None:
                    return app, inst
        return None, None

    def _installation_repos(self, inst):
        """The repositories an installation reaches, by full name."""
        acct = inst["account"].lower()
        with self.lock:
            out = [r for r in self.repos.values()
                   if r["owner"].lower() == acct]
        if inst["repositories"] is not None:
            names = {n.lower() for n in inst["repositories"]}
            out = [r for r in out if r["name"].lower() in names]
        return sorted(out, key=lambda r: r["full_name"].lower())

    def _mint(self, app, inst, perms, repos, selection, seq=None):
        """A new installation token: (token, expiry epoch)."""
        rnd = random.SystemRandom()
        alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
            "0123456789"
        tok = "ghs_" + "".join(rnd.choice(alnum) for _ in range(36))
        now = int(time.time())
        with self.lock:
            life = app["token_lifetime"] if app["token_lifetime"] is not \
                None else self.token_lifetime
            exp = now + int(life)
            self._put_credential(tok, {
                "login": app["slug"] + "[bot]", "installation": inst["id"],
                "app_id": app["id"], "app_permissions": dict(perms),
                "expires": exp,
                "repos": [r["full_name"] for r in repos]
                if selection == "selected" else ["%s/*" % inst["account"]]})
            app["tokens"].append({
                "token": tok, "installation": inst["id"], "minted_at": now,
                "expires": exp, "permissions": dict(perms),
                "repositories": [r["name"] for r in repos]
                if selection == "selected" else None,
                "repository_selection": selection, "seq": seq,
                "revoked": False})
        return tok, exp

    def apps(self):
        """Per App: its installations (with their rate-limit state) and
        the tokens it minted (a prefix of each only), oldest first."""
        now = time.time()
        out = []
        with self.lock:
            for app in sorted(self._apps.values(), key=lambda a: a["id"]):
                insts = []
                for iid in sorted(app["installations"]):
                    inst = app["installations"][iid]
                    b = self._bucket("inst:%d" % iid, "core")
                    lim, rem, reset, used, _ = self._charge(b, False)
                    insts.append({
                        "id": iid, "account": inst["account"],
                        "repository_selection": "all" if
                        inst["repositories"] is None else "selected",
                        "repositories": inst["repositories"],
                        "permissions": inst["permissions"],
                        "rate_limit": {"limit": lim, "remaining": rem,
                                       "reset": reset, "used": used}})
                toks = [{"token_prefix": t["token"][:8],
                         "installation": t["installation"],
                         "minted_at": t["minted_at"],
                         "expires": t["expires"],
                         "expires_at": _iso(t["expires"]),
                         "expired": now >= t["expires"],
                         "revoked": t["revoked"],
                         "permissions": t["permissions"],
                         "repositories": t["repositories"],
                         "repository_selection": t["repository_selection"],
                         "seq": t["seq"]} for t in app["tokens"]]
                out.append({
                    "app_id": app["id"], "slug": app["slug"],
                    "name": app["name"], "owner": app["owner"],
                    "client_id": app["client_id"],
                    "permissions": app["permissions"],
                    "token_lifetime": app["token_lifetime"] if
                    app["token_lifetime"] is not None
                    else self.token_lifetime,
                    "installations": insts, "tokens": toks,
                    "mints": len(toks)})
            return copy.deepcopy(out)

    def set_token_lifetime(self, seconds, app_id=None):
        """Lifetime of the installation tokens minted from now on: of one
        App, or (app_id None) the server's default."""
        with self.lock:
            if app_id is None:
                self.token_lifetime = int(seconds)
            else:
                self._apps[int(app_id)]["token_lifetime"] = int(seconds)

    def expire_tokens(self, installation=None, app_id=None,
                      token_prefix=None):
        """Make minted tokens (of an installation, an App, with a prefix;
        all when none is given) expire now: 401 "Bad credentials" from
        then on.  Returns how many."""
        now = int(time.time())
        n = 0
        with self.lock:
            for app in self._apps.values():
                if app_id is not None and app["id"] != int(app_id):
                    continue
                for t in app["tokens"]:
                    if installation is not None and \
                            t["installation"] != int(installation):
                        continue
                    if token_prefix and \
                            not t["token"].startswith(token_prefix):
                        continue
                    if t["expires"] > now:
                        t["expires"] = now
                        n += 1
                    spec = self.credentials.get(t["token"])
                    if spec is not None:
                        spec["expires"] = min(spec["expires"], now)
        return n

    def set_mint_fault(self, next=1, status=500, installation=None,
                       message=None, retry_after=None):
        """The next `next` token mints (POST /app/installations/{id}/
        access_tokens; of that installation only, if given) answer
        `status` with a GitHub-shaped body, before any check.  With
        retry_after: a Retry-After header (and, for 403/429, GitHub's
        secondary-rate-limit message)."""
        status = int(status)
        if not 400 <= status <= 599:
            raise ValueError("mint fault status must be 4xx or 5xx")
        with self.lock:
            self._mint_faults.append({
                "remaining": int(next), "status": status,
                "installation": None if installation is None
                else int(installation), "message": message,
                "retry_after": None if retry_after is None
                else int(retry_after)})

    def clear_mint_faults(self):
        with self.lock:
            self._mint_faults = []

    def mint_faults(self):
        with self.lock:
            return copy.deepcopy(self._mint_faults)

    def _take_mint_fault(self, iid):
        with self.lock:
            for f in self._mint_faults:
                if f["installation"] is not None and f["installation"] != iid:
                    continue
                f["remaining"] -= 1
                if f["remaining"] <= 0:
                    self._mint_faults.remove(f)
                return dict(f)
        return None

    def set_installation_rate_limit(self, installation_id, limit=None,
                                    remaining=None, reset=None):
        """The core rate limit shared by an installation's tokens; the
        same as set_rate_limit(int(installation_id), ...)."""
        self.set_rate_limit(int(installation_id), limit, remaining, reset)

    # ---------------------------------------------------- lifecycle

    def start(self):
        """Bind, and serve in a background thread.  Returns self."""
        cls = _HTTPServer6 if ":" in self.host else _HTTPServer
        self._stopping.clear()
        server = cls((self.host, self.port), _Handler)
        server.fake = self
        if self.record_file:
            self._record_fh = open(self.record_file, "a", buffering=1)
        return self._serve(server, "fake-github")

    def stop(self):
        """Stop accepting, end every connection, wake hanging requests."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        with self.lock:
            conns = list(self._conns.values())
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(5)
        self._server = None
        if self._record_fh:
            with self.lock:
                self._record_fh.close()
                self._record_fh = None
        with self.lock:
            if self._keydir:
                shutil.rmtree(self._keydir, ignore_errors=True)
                self._keydir = None
        self._stop_sites()

    @property
    def url(self):
        h = "[%s]" % self.host if ":" in self.host else self.host
        return "http://%s:%d" % (h, self.port)

    def _register_conn(self, sock):
        with self.lock:
            self._conn_seq += 1
            self._conns[self._conn_seq] = sock
            return self._conn_seq

    def _unregister_conn(self, cid):
        with self.lock:
            self._conns.pop(cid, None)

    # ---------------------------------------------------- records

    def _record_new(self, rec):
        with self.lock:
            rec["seq"] = self._seq
            self._seq += 1
            self._records.append(rec)

    def _record_set(self, rec, **kw):
        if rec is None:
            return
        with self.lock:
            rec.update(kw)

    def _record_complete(self, rec):
        with self.lock:
            rec["complete"] = True
            if self._record_fh:
                try:
                    self._record_fh.write(json.dumps(rec) + "\n")
                except (OSError, ValueError):
                    pass

    def requests(self, since=None, method=None, path_prefix=None,
                 site=None):
        """Copies of the records, oldest first (filters optional;
        path_prefix is matched against the path as received)."""
        with self.lock:
            recs = [r for r in self._records
                    if (since is None or r["seq"] >= since)
                    and (method is None or r["method"] == method)
                    and (path_prefix is None
                         or r["path"].startswith(path_prefix))
                    and (site is None or r.get("site") == site)]
            return copy.deepcopy(recs)

    def clear(self):
        """Forget the records."""
        with self.lock:
            self._records = []

    def reset(self):
        """Records, faults, limits, repositories, credentials, bare
        repositories, release assets, Copilot tokens: as at start."""
        with self.lock:
            self._records = []
            self._load_world()
        self._reset_graphql()
        self._reset_sites()

    def find(self, needle):
        """Records in which needle appears: in the request target (also
        percent-decoded), a header name or value (Basic credentials
        decoded), a trailer, or the kept body.  E.g. a client token."""
        return find_in_records(self.requests(), needle)

    def wait_requests(self, n, timeout=5.0, complete=True):
        """Wait until at least n records (complete ones, by default)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                got = [r for r in self._records
                       if r["complete"] or not complete]
            if len(got) >= n or time.monotonic() >= deadline:
                return len(got) >= n
            time.sleep(0.01)

    # ---------------------------------------------------- faults

    def set_fault(self, next=1, mode="close", match=None, delay_ms=0):
        """The next `next` recorded requests (whose path contains match)
        fail in `mode`: close, reset, hang, truncate, delay, or a status."""
        mode = str(mode)
        if mode not in ("close", "reset", "hang", "truncate", "delay") and \
                not (mode.isdigit() and 400 <= int(mode) <= 599):
            raise ValueError("unknown fault mode %r" % mode)
        with self.lock:
            self._faults.append({"remaining": int(next), "mode": mode,
                                 "match": match, "delay_ms": int(delay_ms)})

    def clear_faults(self):
        with self.lock:
            self._faults = []

    def faults(self):
        with self.lock:
            return copy.deepcopy(self._faults)

    def _take_fault(self, path):
        with self.lock:
            for f in self._faults:
                if f["match"] and f["match"] not in path:
                    continue
                f["remaining"] -= 1
                if f["remaining"] <= 0:
                    self._faults.remove(f)
                return dict(f)
        return None

    # ---------------------------------------------------- rate limits

    def _limit_for(self, ident, resource, spec):
        authed, anon = RESOURCE_LIMITS.get(resource, RESOURCE_LIMITS["core"])
        if ident.startswith("inst:"):
            if resource != "core":
                return authed
            iid = int(ident[5:])
            if iid in self._inst_limits:
                return self._inst_limits[iid]
            _, inst = self._find_installation(iid)
            if inst and inst.get("rate_limit") is not None:
                return int(inst["rate_limit"])
            return self.installation_rate_limit
        if ident.startswith("cred:"):
            if resource != "core":
                return authed
            cred = ident[5:]
            if cred in self.rate_limits:
                return self.rate_limits[cred]
            if spec and spec.get("rate_limit") is not None:
                return spec["rate_limit"]
            return self.rate_limit
        return self.anon_rate_limit if resource == "core" else anon

    def _bucket(self, ident, resource, spec=None):
        now = time.time()
        with self.lock:
            key = (ident, resource)
            b = self._buckets.get(key)
            if b is None:
                b = {"identity": ident, "resource": resource,
                     "limit": self._limit_for(ident, resource, spec),
                     "used": 0, "reset": int(now + self.rate_window)}
                self._buckets[key] = b
            elif now >= b["reset"]:
                b["used"] = 0
                b["reset"] = int(now + self.rate_window)
            return b

    def _charge(self, b, charge):
        with self.lock:
            if charge and b["used"] < b["limit"]:
                b["used"] += 1
            return (b["limit"], max(0, b["limit"] - b["used"]), b["reset"],
                    b["used"], b["resource"])

    def set_rate_limit(self, credential, limit=None, remaining=None,
                       reset=None, resource="core"):
        """Set a credential's limit (None: the anonymous one; an int: an
        App installation's, which all its tokens share) and/or what
        remains of it in the current window."""
        with self.lock:
            if isinstance(credential, int) and \
                    not isinstance(credential, bool):
                if limit is not None and resource == "core":
                    self._inst_limits[credential] = int(limit)
                buckets = [self._bucket("inst:%d" % credential, resource)]
            elif credential is None:
                if limit is not None and resource == "core":
                    self.anon_rate_limit = int(limit)
                keys = [k for k in self._buckets
                        if k[0].startswith("ip:") and k[1] == resource]
                buckets = [self._buckets[k] for k in keys]
            else:
                if limit is not None and resource == "core":
                    self.rate_limits[credential] = int(limit)
                buckets = [self._bucket("cred:" + credential, resource,
                                        self.credentials.get(credential))]
            for b in buckets:
                if limit is not None:
                    b["limit"] = int(limit)
                if remaining is not None:
                    b["used"] = max(0, b["limit"] - int(remaining))
                if reset is not None:
                    b["reset"] = int(reset)

    def set_secondary(self, next=1, retry_after=60, status=429):
        """The next `next` rate-limited requests hit a secondary limit."""
        with self.lock:
            self._secondary = {"remaining": int(next),
                               "retry_after": int(retry_after),
                               "status": int(status)}

    def _take_secondary(self):
        with self.lock:
            s = self._secondary
            if not s:
                return None
            s["remaining"] -= 1
            if s["remaining"] <= 0:
                self._secondary = None
            return dict(s)

    def rate_state(self):
        with self.lock:
            return {"buckets": copy.deepcopy(list(self._buckets.values())),
                    "secondary": copy.deepcopy(self._secondary),
                    "rate_limit": self.rate_limit,
                    "anon_rate_limit": self.anon_rate_limit,
                    "rate_limits": dict(self.rate_limits),
                    "installation_rate_limit": self.installation_rate_limit,
                    "installation_limits": {
                        str(k): v for k, v in self._inst_limits.items()}}

    # ---------------------------------------------------- extension

    def add_route(self, methods, regex, fn, site="api"):
        """fn(ex, *groups) answers method+path (fullmatch), before the
        built-in routes.  methods: a list, or None for every method;
        site: the site whose paths (prefix stripped) regex matches."""
        rx = re.compile(regex) if isinstance(regex, str) else regex
        ms = None if methods is None else tuple(m.upper() for m in methods)
        self.extra_routes.append((ms, rx, fn, site))

    @staticmethod
    def stats():
        return _proc_stats()

    @staticmethod
    def pattern_iter(n, chunk=65536):
        return iter_pattern(n, chunk)


def find_in_records(records, needle):
    """The records in which needle (str or bytes) appears; see find()."""
    if isinstance(needle, bytes):
        needle = needle.decode("latin-1")
    out = []
    for r in records:
        hay = [r["target"], urllib.parse.unquote(r["target"]),
               r.get("body") or "", _decode_basic_all(r["headers"])]
        if r.get("body_b64"):
            hay.append(base64.b64decode(r["body_b64"]).decode("latin-1"))
        hay += [x for kv in r["headers"] for x in kv]
        hay += [x for kv in r.get("trailers") or [] for x in kv]
        if any(needle in h for h in hay):
            out.append(r)
    return out


def _decode_basic_all(headers):
    out = []
    for k, v in headers:
        if k.lower() in ("authorization", "proxy-authorization"):
            scheme, _, rest = v.strip().partition(" ")
            if scheme.lower() == "basic":
                try:
                    out.append(base64.b64decode(rest.strip()).decode(
                        "latin-1"))
                except (ValueError, UnicodeError):
                    pass
    return "\n".join(out)


def _proc_stats():
    st = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                st[k] = v.strip()
    except OSError:
        pass

    def kb(name):
        v = st.get(name, "0 kB").split()
        return int(v[0]) if v and v[0].isdigit() else 0
    return {"pid": os.getpid(), "vmrss_kb": kb("VmRSS"),
            "vmhwm_kb": kb("VmHWM"), "threads": threading.active_count()}


# ------------------------------------------------------------ the handler


class _Route:
    __slots__ = ("kind", "fn", "args", "stream")

    def __init__(self, kind, fn, args=(), stream=False):
        self.kind = kind          # "control", "helper", "api", "hook"
        self.fn = fn
        self.args = args
        self.stream = stream      # fn reads the body itself


class _Handler(SitesHandler, GraphQLHandler,
               http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "github.com"

    # ---------------------------------------------------- connection

    def setup(self):
        self.fake = self.server.fake
        self.timeout = self.fake.idle_timeout
        super().setup()
        self.conn_id = self.fake._register_conn(self.connection)
        self.conn_requests = 0

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.fake._unregister_conn(self.conn_id)

    def version_string(self):
        return "github.com"

    def log_message(self, fmt, *args):
        if self.fake.verbose:
            sys.stderr.write("fake_github: %s - %s\n" % (
                self.address_string(), fmt % args))

    def _reset_request_state(self):
        self.rec = None
        self.status = None
        self.body = RequestBody(self.rfile, 0, False)
        self.login = None
        self.cred = None
        self.cred_spec = None
        self.auth_bad = False
        self.auth_scheme = None
        self._rl = None
        self._accepted_scopes = None
        self._accepted_perms = None
        self._started = False
        self._chunked_out = False
        self._body_streaming = False
        self.site = "api"
        self.site_path = None
        self.request_id = "%04X:%06X:%06X:%06X:%08X" % (
            random.getrandbits(16), random.getrandbits(24),
            random.getrandbits(24), random.getrandbits(24), int(time.time()))

    def handle_one_request(self):
        self._reset_request_state()
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if not self.raw_requestline:
                self.close_connection = True
                return
            self.conn_requests += 1
            if len(self.raw_requestline) > 65536:
                self.requestline = ""
                self.request_version = ""
                self.command = ""
                self._record_malformed()
                self.send_error(414)
                return
            if not self.parse_request():
                self._record_malformed()
                return
            self._dispatch()
            if not self.wfile.closed:
                self.wfile.flush()
        except (TimeoutError, ConnectionError, BrokenPipeError) as e:
            self.close_connection = True
            self.fake._record_set(self.rec, error=self.rec and (
                self.rec.get("error") or "%s: %s" % (type(e).__name__, e)))
        except OSError as e:
            self.close_connection = True
            self.fake._record_set(self.rec, error=self.rec and (
                self.rec.get("error") or "%s: %s" % (type(e).__name__, e)))
        finally:
            if self.rec is not None:
                self.fake._record_complete(self.rec)

    def send_response(self, code, message=None):
        self.status = code
        self.fake._record_set(self.rec, status=code)
        super().send_response(code, message)

    def send_error(self, code, message=None, explain=None):
        """GitHub-shaped errors for what the stdlib parser refuses."""
        self.close_connection = True
        if self.request_version == "HTTP/0.9":
            # An unparsable request line leaves the stdlib's default,
            # HTTP/0.9, which would drop the status line: answer 1.x.
            self.request_version = "HTTP/1.0"
        body = _cjson({"message": message or _phrase(code),
                       "documentation_url": DOC_REST})
        try:
            self.send_response(code)
            self.send_header("Content-Type", JSON_CT)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.send_header("X-GitHub-Request-Id", self.request_id)
            self.end_headers()
            if self.command != "HEAD" and code >= 200 and \
                    code not in (204, 304):
                self.wfile.write(body)
        except OSError:
            pass

    # ---------------------------------------------------- recording

    def _client(self):
        return [self.client_address[0], self.client_address[1]]

    def _record_malformed(self):
        line = self.raw_requestline.decode("latin-1").rstrip("\r\n")
        rec = self._blank_record()
        words = line.split()
        rec.update(method=words[0] if words else "",
                   target=words[1] if len(words) > 1 else "",
                   version=words[2] if len(words) > 2 else "",
                   malformed=True, status=self.status,
                   error="malformed request: %s" % line[:200])
        rec["path"] = rec["target"].partition("?")[0]
        self.fake._record_new(rec)
        self.rec = rec

    def _blank_record(self):
        return {
            "seq": None, "time": time.time(), "method": "", "target": "",
            "path": "", "query": "", "params": [], "version": "",
            "headers": [], "client": self._client(), "conn": self.conn_id,
            "conn_request": self.conn_requests, "chunked": False,
            "te_and_cl": False, "body_length": 0, "body_sha256": None,
            "body": None, "body_b64": None, "trailers": [], "login": None,
            "request_id": self.request_id, "status": None, "fault": None,
            "error": None, "malformed": False, "complete": False,
            "site": self.site, "site_path": self.site_path,
        }

    def _record_start(self, te_and_cl):
        rec = self._blank_record()
        rec.update(method=self.command, target=self.raw_target,
                   path=self.path_only, query=self.query_string,
                   params=[list(p) for p in self.params],
                   version=self.request_version,
                   headers=[[k, v] for k, v in self.headers.items()],
                   chunked=self.body.chunked, te_and_cl=te_and_cl,
                   body_length=None if not self.body.done else 0,
                   body_sha256=self.body.sha256 if self.body.done
                   else None)
        self.fake._record_new(rec)
        self.rec = rec

    def _body_progress(self, body):
        if self.rec is None:
            return
        data = body.data
        keep = data is not None and len(data) <= self.fake.record_body_limit
        text = None
        if keep:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = None
        self.fake._record_set(
            self.rec, body_length=body.total, body_sha256=body.sha256,
            body=text, body_b64=base64.b64encode(data).decode() if keep
            else None, trailers=list(body.trailers),
            error=self.rec.get("error") or body.error)

    # ---------------------------------------------------- dispatch

    def _parse_target(self):
        words = self.requestline.split()
        self.raw_target = words[1] if len(words) > 1 else self.path
        target = self.raw_target
        m = re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/]*", target)
        if m:                       # absolute-form
            target = target[m.end():] or "/"
        self.path_only, _, self.query_string = target.partition("?")
        self.path_only = self.path_only.partition("#")[0]
        self.params = urllib.parse.parse_qsl(self.query_string,
                                             keep_blank_values=True)
        self.qd = {}
        for k, v in self.params:
            self.qd.setdefault(k, v)
        self.site, p = self.fake.site_of(self.path_only)
        self.site_path = p
        if self.site == "api":
            if p == "/api/v3" or p.startswith("/api/v3/"):
                p = p[len("/api/v3"):] or "/"
            elif p == "/api/graphql":
                p = "/graphql"
            if p.startswith(self.fake.prefix + "/assets/"):
                self.site = "objects"   # GitHub's objects host
        self.route_path = p

    def _dispatch(self):
        self._parse_target()
        route = self._resolve()
        control = route.kind == "control"
        try:
            self.body, te_and_cl = RequestBody.from_headers(
                self.headers, self.rfile, MAX_JSON_BODY)
        except BodyError as e:
            self.body = RequestBody(self.rfile, 0, False)
            if not control:
                self._record_start(False)
                self.fake._record_set(self.rec, error=str(e))
            self.close_connection = True
            self.send_error_json(e.status, "Problems parsing request: %s" % e)
            return
        self.body._on_progress = self._body_progress
        if te_and_cl:
            self.close_connection = True        # RFC 9112 6.1
        # Requests from unrecorded_agents are served (and rate limited)
        # like any, but neither recorded nor faulted.
        quiet = self.headers.get("User-Agent") in \
            self.fake.unrecorded_agents
        if not control and not quiet:
            self._record_start(te_and_cl)
        fault = None if control or quiet else \
            self.fake._take_fault(self.path_only)
        if not route.stream or (fault and fault["mode"] != "delay"):
            if not self._drain():
                return
        if fault:
            self.fake._record_set(self.rec, fault=fault["mode"])
            if self._apply_fault(fault):
                return
        try:
            route.fn(*route.args)
        except BodyError as e:
            self.close_connection = True
            if e.status and not self._started:
                self.send_error_json(e.status, "Problems parsing request "
                                     "body: %s" % e)
        if not self.body.done:
            if self.body.started:       # a hook stopped reading it
                self.body.error = "body not read to the end"
                self._body_progress(self.body)
            else:
                self._drain(respond=False)
        if self.body.error:
            self.close_connection = True

    def _drain(self, respond=True):
        try:
            self.body.drain()
            return True
        except BodyError as e:
            self.close_connection = True
            if e.status and respond and not self._started:
                self.send_error_json(e.status, "Problems parsing request "
                                     "body: %s" % e)
            return False

    def _resolve(self):
        """Which route answers: a function of method and path only."""
        p = self.route_path
        m = self.command
        for methods, rx, fn, site in self.fake.extra_routes:
            if site != self.site:
                continue
            mt = rx.fullmatch(p)
            if mt and (methods is None or m in methods):
                return _Route("hook", fn, (self,) + mt.groups(), stream=True)
        if self.site != "api":
            fn, args, stream = self._resolve_site()
            return _Route("site", fn, args, stream=stream)
        pre = self.fake.prefix
        if p.startswith(pre + "/"):
            segs = p[len(pre) + 1:].split("/")
            name, args = segs[0], segs[1:]
            if name in ("requests", "reset", "faults", "ratelimit", "stats",
                        "credentials", "repos", "apps", "sites", "git",
                        "assets", "copilot", "graphql"):
                return _Route("control", self._control, (name, args))
            return _Route("helper", self._helper, (name, args, False),
                          stream=(name == "upload"))
        segs = p.split("/")[1:]
        if p == "/":
            return _Route("api", self._api_root)
        if segs[0] == "repos" and len(segs) >= 3 and segs[1] and segs[2]:
            return _Route("api", self._repo_route,
                          (segs[1], segs[2], segs[3:]),
                          stream=self._is_repo_upload(segs[3:]))
        if p == "/user":
            return _Route("api", self._user)
        if len(segs) == 2 and segs[0] == "users" and segs[1]:
            return _Route("api", self._get_user, (segs[1],))
        if p == "/rate_limit":
            return _Route("api", self._rate_limit)
        if p == "/graphql":
            return _Route("api", self._graphql)
        mt = re.fullmatch(r"/app/installations/(\d+)/access_tokens", p)
        if mt:
            return _Route("api", self._app_access_token, (mt.group(1),),
                          stream=True)
        if p == "/app" or p.startswith("/app/"):
            return _Route("api", self._app_route, (p,))
        if p == "/installation/token":
            return _Route("api", self._installation_token)
        if p == "/installation/repositories":
            return _Route("api", self._installation_repositories)
        if p == "/copilot_internal/v2/token":
            return _Route("api", self._copilot_token)
        mt = (re.fullmatch(r"/([^/]+)/([^/]+?)\.git(/.*)?", p) or
              re.fullmatch(r"/([^/]+)/([^/]+)(/(?:info/refs|git-upload-pack|"
                           r"git-receive-pack))", p))
        if mt:
            return _Route("api", self._git, (mt.group(1), mt.group(2),
                                             mt.group(3) or ""), stream=True)
        return _Route("api", self._unknown)

    def _is_repo_upload(self, rest):
        if "__fake" in rest:
            i = rest.index("__fake")
            return rest[i + 1:i + 2] == ["upload"]
        return self.qd.get("__fake", "").split("/")[0] == "upload"

    # ---------------------------------------------------- answering

    def _media_type(self):
        acc = self.headers.get("Accept", "") or ""
        m = re.search(r"application/vnd\.github(?:\.(v\d+))?"
                      r"(?:\.([\w-]+))?(?:\+(\w+))?", acc)
        if not m:
            return "github.v3; format=json"
        ver = m.group(1) or "v3"
        param = m.group(2)
        fmt = m.group(3) or "json"
        if param:
            return "github.%s; param=%s; format=%s" % (ver, param, fmt)
        return "github.%s; format=%s" % (ver, fmt)

    def _std_headers(self, status, ctype):
        h = self.send_header
        if self.site != "api":
            # The other sites: what their answers carry is theirs.
            if ctype:
                h("Content-Type", ctype)
            h("X-GitHub-Request-Id", self.request_id)
            return
        if ctype:
            h("Content-Type", ctype)
        if status == 200 and self.command in ("GET", "HEAD"):
            h("Cache-Control", "%s, max-age=60, s-maxage=60" %
              ("private" if self.login else "public"))
        elif status == 304:
            h("Cache-Control", "%s, max-age=60, s-maxage=60" %
              ("private" if self.login else "public"))
        else:
            h("Cache-Control", "no-cache")
        h("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP")
        h("Vary", "Accept-Encoding, Accept, X-Requested-With")
        if self.login and (self.cred or "").startswith(("ghp_", "gho_")) or \
                (self.cred_spec and "scopes" in self.cred_spec):
            h("X-OAuth-Scopes", (self.cred_spec or {}).get("scopes", "repo"))
            if self._accepted_scopes is not None:
                h("X-Accepted-OAuth-Scopes", self._accepted_scopes)
        if self._accepted_perms:
            h("X-Accepted-GitHub-Permissions", self._accepted_perms)
        h("X-GitHub-Media-Type", self._media_type())
        ver = self.headers.get("X-GitHub-Api-Version") or API_VERSION
        h("X-GitHub-Api-Version-Selected", ver)
        if self._rl is not None:
            b, charge = self._rl
            limit, remaining, reset, used, res = self.fake._charge(
                b, charge and status != 304)
            h("X-RateLimit-Limit", str(limit))
            h("X-RateLimit-Remaining", str(remaining))
            h("X-RateLimit-Reset", str(reset))
            h("X-RateLimit-Used", str(used))
            h("X-RateLimit-Resource", res)
        h("Access-Control-Expose-Headers", EXPOSE)
        h("Access-Control-Allow-Origin", "*")
        h("Strict-Transport-Security",
          "max-age=31536000; includeSubdomains; preload")
        h("X-Frame-Options", "deny")
        h("X-Content-Type-Options", "nosniff")
        h("X-XSS-Protection", "0")
        h("Referrer-Policy",
          "origin-when-cross-origin, strict-origin-when-cross-origin")
        h("Content-Security-Policy", "default-src 'none'")
        h("X-GitHub-Request-Id", self.request_id)

    def begin(self, status, headers=(), length=None, chunked=False,
              ctype=JSON_CT):
        """Send the status line and headers.  length: Content-Length;
        chunked: Transfer-Encoding: chunked; neither: no body (204, 304,
        HEAD) or, for a body, close-delimited."""
        if not self.body.started and not self.body.done and \
                not self._body_streaming:
            try:
                self.body.drain()
            except BodyError:
                self.close_connection = True
        if chunked and self.request_version != "HTTP/1.1":
            chunked = False
        self._chunked_out = chunked and self.command != "HEAD"
        self.send_response(status)
        self._std_headers(status, ctype)
        for k, v in headers:
            self.send_header(k, v)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif length is not None:
            self.send_header("Content-Length", str(length))
        elif status not in (204, 304) and status >= 200 and \
                self.command != "HEAD":
            self.close_connection = True
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self._started = True

    def write_body(self, data):
        if self.command == "HEAD" or not data:
            return
        if self._chunked_out:
            self.wfile.write(b"%x\r\n%b\r\n" % (len(data), data))
        else:
            self.wfile.write(data)

    def end_body(self):
        if self._chunked_out:
            self.wfile.write(b"0\r\n\r\n")
            self._chunked_out = False

    def send_bytes(self, status, body=b"", headers=(), ctype=JSON_CT,
                   chunked=None):
        """A whole answer; chunked (None): when larger than the threshold."""
        nobody = status in (204, 304) or status < 200
        if nobody:
            body = b""
        if chunked is None:
            chunked = (len(body) > self.fake.chunk_threshold and
                       self.request_version == "HTTP/1.1")
        if nobody:
            self.begin(status, headers, None, False, None)
            return
        self.begin(status, headers, None if chunked else len(body), chunked,
                   ctype)
        if chunked:
            for i in range(0, len(body), 8192):
                self.write_body(body[i:i + 8192])
            self.end_body()
        else:
            self.write_body(body)

    def _if_none_match(self, tag):
        inm = self.headers.get_all("If-None-Match") or []
        want = tag[2:] if tag.startswith("W/") else tag
        for v in inm:
            for t in v.split(","):
                t = t.strip()
                if t == "*":
                    return True
                if t.startswith("W/"):
                    t = t[2:]
                if t == want:
                    return True
        return False

    def send_json(self, status, obj, headers=(), etag=None):
        """JSON answer; 200 GET/HEAD get a strong ETag, and If-None-Match
        with it answers 304 (which does not count)."""
        body = _cjson(obj)
        headers = list(headers)
        if etag is None:
            etag = status == 200 and self.command in ("GET", "HEAD")
        if etag:
            tag = '"%s"' % hashlib.sha256(body).hexdigest()
            headers.append(("ETag", tag))
            if self._if_none_match(tag):
                self.send_bytes(304, b"", [("ETag", tag)])
                return
        self.send_bytes(status, body, headers)

    def send_error_json(self, status, message, doc=DOC_REST, headers=()):
        self.send_bytes(status, _cjson({"message": message,
                                        "documentation_url": doc}),
                        headers)

    def _not_found(self, doc=DOC_REST):
        self.send_error_json(404, "Not Found", doc)

    def _unknown(self):
        if self.api_prelude():
            self._not_found()

    # ---------------------------------------------------- faults

    def _apply_fault(self, f):
        """True when the fault has answered (or not answered) for good."""
        mode = f["mode"]
        if mode == "delay":
            self.fake._stopping.wait(f["delay_ms"] / 1000.0)
            return False
        if mode.isdigit():
            code = int(mode)
            self.send_error_json(code, "Server Error" if code == 500 else
                                 _phrase(code))
            return True
        self.close_connection = True
        if mode == "close":
            return True
        if mode == "reset":
            self._reset_connection()
            return True
        if mode == "hang":
            self._hang()
            return True
        if mode == "truncate":
            body = _cjson({"message": "truncated on purpose by the fake",
                           "padding": "x" * 2000})
            self.begin(200, [], length=len(body))
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
        return True

    def _reset_connection(self):
        s = self.connection
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
        except OSError:
            pass
        # makefile() objects hold references: close them so the fd really
        # closes now (with SO_LINGER 0: an RST).
        for f in (self.rfile, self.wfile):
            try:
                f.close()
            except OSError:
                pass
        try:
            s.close()
        except OSError:
            pass

    def _hang(self):
        s = self.connection
        deadline = time.monotonic() + self.fake.hang_seconds
        while not self.fake._stopping.is_set() and \
                time.monotonic() < deadline:
            try:
                r, _, _ = select.select([s], [], [], 0.1)
                if r:
                    if not s.recv(1, socket.MSG_PEEK):
                        return
                    time.sleep(0.1)
            except (OSError, ValueError):
                return

    # ---------------------------------------------------- auth, limits

    def _authenticate(self):
        vals = self.headers.get_all("Authorization") or []
        if not vals:
            return
        if len(vals) > 1:
            self.auth_bad = True
            return
        scheme, _, rest = vals[0].strip().partition(" ")
        scheme = scheme.lower()
        rest = rest.strip()
        cred = None
        if scheme in ("token", "bearer"):
            cred = rest
        elif scheme == "basic":
            try:
                user, _, pw = base64.b64decode(rest, validate=True).decode(
                    "utf-8").partition(":")
            except (ValueError, UnicodeError):
                user, pw = "", ""
            cred = user if pw in ("", "x-oauth-basic") else pw
        self.auth_scheme = scheme
        spec = self.fake.credentials.get(cred) if cred else None
        if spec is not None and spec.get("expires") is not None and \
                time.time() >= spec["expires"]:
            spec = None                 # an expired installation token
        if spec is None:
            self.auth_bad = True
            return
        self.cred = cred
        self.cred_spec = spec
        self.login = spec["login"]
        self.fake._record_set(self.rec, login=self.login)

    def _installation(self):
        """The installation id of an installation token, else None."""
        return (self.cred_spec or {}).get("installation")

    def _identity(self):
        if self._installation() is not None:
            return "inst:%d" % self._installation()
        if self.cred:
            return "cred:" + self.cred
        return "ip:" + self.client_address[0]

    def api_prelude(self, resource="core", charge=True, require_auth=None):
        """Authenticate and apply the rate limits.  False: answered (401,
        403/429).  require_auth: (message, doc) for anonymous callers."""
        self._authenticate()
        spec = self.cred_spec
        if self.auth_bad:
            self._rl = (self.fake._bucket("ip:" + self.client_address[0],
                                          resource), False)
            self.send_error_json(401, "Bad credentials", DOC_REST)
            return False
        if require_auth and not self.login:
            self._rl = (self.fake._bucket(self._identity(), resource), False)
            self.send_error_json(401, require_auth[0], require_auth[1])
            return False
        b = self.fake._bucket(self._identity(), resource, spec)
        sec = self.fake._take_secondary() if charge else None
        if sec:
            self._rl = (b, False)
            self.send_error_json(
                sec["status"], "You have exceeded a secondary rate limit. "
                "Please wait a few minutes before you try again. If you "
                "reach out to GitHub Support for help, please include the "
                "request ID %s." % self.request_id, DOC_SECONDARY,
                [("Retry-After", str(sec["retry_after"]))])
            return False
        if charge and b["used"] >= b["limit"]:
            self._rl = (b, False)
            if self._installation() is not None:
                msg = "API rate limit exceeded for installation ID %d." % \
                    self._installation()
            elif self.login:
                msg = "API rate limit exceeded for user ID %d." % \
                    self.fake.user_id(self.login)
            else:
                msg = ("API rate limit exceeded for %s. (But here's the good "
                       "news: Authenticated requests get a higher rate limit. "
                       "Check out the documentation for more details.)" %
                       self.client_address[0])
            hdrs = []
            if self.fake.primary_status == 429:
                hdrs.append(("Retry-After",
                             str(max(0, b["reset"] - int(time.time())))))
            self.send_error_json(self.fake.primary_status, msg, DOC_RATE,
                                 hdrs)
            return False
        self._rl = (b, charge)
        return True

    # ---------------------------------------------------- URLs, JSON

    def _base(self):
        host = self.headers.get("Host") or "%s:%d" % (
            self.fake.host, self.fake.port)
        return "http://" + host

    def _user_json(self, login, full=False):
        base = self._base()
        uid = self.fake.user_id(login)
        is_org = login not in self.fake.users and not any(
            s["login"] == login for s in self.fake.credentials.values())
        u = {"login": login, "id": uid,
             "node_id": _node_id("U_", uid),
             "avatar_url": "https://avatars.githubusercontent.com/u/%d?v=4"
             % uid,
             "url": "%s/users/%s" % (base, login),
             "html_url": "https://github.com/%s" % login,
             "repos_url": "%s/users/%s/repos" % (base, login),
             "type": "Organization" if is_org else "User",
             "site_admin": False}
        if full:
            u.update({"name": login.capitalize(), "company": None,
                      "blog": "", "location": None, "email": None,
                      "bio": None, "public_repos": 0, "followers": 0,
                      "following": 0, "created_at": _iso(EPOCH_CREATED),
                      "updated_at": _iso(EPOCH_CREATED)})
        return u

    def _repo_json(self, repo, perm):
        base = self._base()
        full = repo["full_name"]
        api = "%s/repos/%s" % (base, full)
        d = {
            "id": repo["id"], "node_id": _node_id("R_", repo["id"]),
            "name": repo["name"], "full_name": full,
            "private": repo["private"],
            "owner": self._user_json(repo["owner"]),
            "html_url": "https://github.com/%s" % full,
            "description": repo["description"], "fork": False, "url": api,
            "issues_url": api + "/issues{/number}",
            "pulls_url": api + "/pulls{/number}",
            "contents_url": api + "/contents/{+path}",
            "git_url": "git://github.com/%s.git" % full,
            "clone_url": "https://github.com/%s.git" % full,
            "homepage": repo["homepage"],
            "created_at": _iso(EPOCH_CREATED),
            "updated_at": _iso(repo["updated"]),
            "pushed_at": _iso(repo["updated"]),
            "size": 108, "stargazers_count": 0, "watchers_count": 0,
            "language": "C", "has_issues": True, "has_wiki": False,
            "forks_count": 0, "archived": False, "disabled": False,
            "open_issues_count": sum(1 for i in repo["issues"].values()
                                     if i["state"] == "open"),
            "visibility": "private" if repo["private"] else "public",
            "default_branch": repo["default_branch"],
        }
        if self.login:
            lv = LEVELS[perm]
            d["permissions"] = {"admin": lv >= 3, "maintain": lv >= 3,
                                "push": lv >= 2, "triage": lv >= 2,
                                "pull": lv >= 1}
        return d

    def _issue_json(self, repo, issue):
        base = self._base()
        api = "%s/repos/%s/issues/%d" % (base, repo["full_name"],
                                         issue["number"])
        return {
            "id": repo["id"] * 1000 + issue["number"],
            "node_id": _node_id("I_", repo["id"] * 1000 + issue["number"]),
            "url": api,
            "repository_url": "%s/repos/%s" % (base, repo["full_name"]),
            "comments_url": api + "/comments",
            "html_url": "https://github.com/%s/issues/%d" % (
                repo["full_name"], issue["number"]),
            "number": issue["number"], "state": issue["state"],
            "title": issue["title"], "body": issue["body"],
            "user": self._user_json(issue["user"]),
            "labels": [{"name": n} for n in issue["labels"]],
            "assignees": [self._user_json(a) for a in issue["assignees"]],
            "locked": issue["locked"], "comments": issue["comments"],
            "created_at": _iso(issue["created"]),
            "updated_at": _iso(issue["updated"]),
            "closed_at": _iso(issue["closed"]) if issue["closed"] else None,
            "author_association": "OWNER",
        }

    def _pull_json(self, repo, pr):
        base = self._base()
        n = pr["number"]
        return {
            "id": repo["id"] * 1000 + n, "node_id": _node_id("PR_", n),
            "url": "%s/repos/%s/pulls/%d" % (base, repo["full_name"], n),
            "html_url": "https://github.com/%s/pull/%d" % (
                repo["full_name"], n),
            "number": n, "state": pr["state"], "title": pr["title"],
            "body": pr["body"], "user": self._user_json(pr["user"]),
            "draft": False, "merged": False,
            "head": {"ref": pr["head"], "sha": hashlib.sha1(
                pr["head"].encode()).hexdigest()},
            "base": {"ref": repo["default_branch"], "sha": hashlib.sha1(
                repo["default_branch"].encode()).hexdigest()},
            "created_at": _iso(pr["created"]),
            "updated_at": _iso(pr["created"]),
        }

    def _comment_json(self, repo, c):
        base = self._base()
        return {
            "id": c["id"], "node_id": _node_id("IC_", c["id"]),
            "url": "%s/repos/%s/issues/comments/%d" % (
                base, repo["full_name"], c["id"]),
            "issue_url": "%s/repos/%s/issues/%d" % (
                base, repo["full_name"], c["issue"]),
            "body": c["body"], "user": self._user_json(c["user"]),
            "created_at": _iso(c["created"]),
            "updated_at": _iso(c["updated"]),
        }

    def _paginate(self, items):
        """(the page's items, Link header value or None)."""
        try:
            per_page = int(self.qd.get("per_page", "30"))
        except ValueError:
            per_page = 30
        per_page = max(1, min(100, per_page))
        try:
            page = max(1, int(self.qd.get("page", "1")))
        except ValueError:
            page = 1
        last = max(1, (len(items) + per_page - 1) // per_page)
        chosen = items[(page - 1) * per_page: page * per_page]

        def url(pg):
            ps = [(k, v) for k, v in self.params if k != "page"]
            if "per_page" not in self.qd:
                ps.append(("per_page", str(per_page)))
            ps.append(("page", str(pg)))
            return "<%s%s?%s>" % (self._base(), self.path_only,
                                  urllib.parse.urlencode(ps))
        links = []
        if page > 1:
            links.append('%s; rel="prev"' % url(min(page - 1, last)))
        if page < last:
            links.append('%s; rel="next"' % url(page + 1))
            links.append('%s; rel="last"' % url(last))
        if page > 1:
            links.append('%s; rel="first"' % url(1))
        return chosen, (", ".join(links) or None)

    def _send_list(self, items):
        chosen, link = self._paginate(items)
        self.send_json(200, chosen, [("Link", link)] if link else [])

    def _json_body(self, doc):
        """The body as a JSON object, or None after answering 400."""
        raw = self.body.read_all()
        if raw is None:
            self.send_error_json(413, "Payload too large", doc)
            return None
        try:
            obj = json.loads(raw.decode("utf-8") if raw else "{}")
        except (ValueError, UnicodeDecodeError):
            self.send_error_json(400, "Problems parsing JSON", doc)
            return None
        if not isinstance(obj, dict):
            self.send_error_json(400, "Problems parsing JSON", doc)
            return None
        return obj

    # ---------------------------------------------------- API routes

    def _api_root(self):
        if not self.api_prelude():
            return
        b = self._base()
        self.send_json(200, {
            "current_user_url": b + "/user",
            "rate_limit_url": b + "/rate_limit",
            "repository_url": b + "/repos/{owner}/{repo}",
            "issues_url": b + "/issues",
            "user_url": b + "/users/{user}",
        })

    def _user(self):
        if self.command not in METHODS_READ:
            return self.api_prelude() and self._not_found()
        if not self.api_prelude(require_auth=("Requires authentication",
                                              DOC_AUTH_USER)):
            return
        if self._installation() is not None:
            return self.send_error_json(403, NOT_BY_INTEGRATION,
                                        DOC_AUTH_USER)
        self.send_json(200, self._user_json(self.login, full=True))

    def _get_user(self, login):
        if not self.api_prelude():
            return
        known = {s["login"].lower(): s["login"]
                 for s in self.fake.credentials.values()}
        known.update({u.lower(): u for u in self.fake.users})
        with self.fake.lock:
            for r in self.fake.repos.values():
                known.setdefault(r["owner"].lower(), r["owner"])
        if self.command not in METHODS_READ or login.lower() not in known:
            return self._not_found(DOC_GET_USER)
        self.send_json(200, self._user_json(known[login.lower()], full=True))

    def _rate_limit(self):
        if not self.api_prelude(charge=False):
            return
        ident = self._identity()
        res = {}
        for name in ("core", "search", "graphql"):
            b = self.fake._bucket(ident, name, self.cred_spec)
            lim, rem, reset, used, _ = self.fake._charge(b, False)
            res[name] = {"limit": lim, "used": used, "remaining": rem,
                         "reset": reset, "resource": name}
        self.send_json(200, {"resources": res, "rate": res["core"]},
                       etag=False)

    # _graphql(): fake_graphql.GraphQLHandler.

    # ---------------------------------------------------- GitHub Apps

    def _bearer(self):
        vals = self.headers.get_all("Authorization") or []
        if len(vals) != 1:
            return None
        scheme, _, val = vals[0].strip().partition(" ")
        return val.strip() if scheme.lower() == "bearer" else None

    def app_jwt(self):
        """The App whose JWT authenticates this request, checked as
        GitHub does; None after answering 401."""
        app, why = self._check_jwt(self._bearer())
        if app is None:
            self.send_error_json(401, why, DOC_REST)
            return None
        self.fake._record_set(self.rec, app_id=app["id"])
        return app

    def _check_jwt(self, jwt):
        """(app, None) or (None, GitHub's message)."""
        fake = self.fake
        try:
            h64, p64, s64 = (jwt or "").split(".")
            header = json.loads(_b64url_decode(h64).decode("utf-8"))
            claims = json.loads(_b64url_decode(p64).decode("utf-8"))
            sig = _b64url_decode(s64)
        except (ValueError, UnicodeDecodeError):
            return None, JWT_UNDECODABLE
        if not isinstance(header, dict) or not isinstance(claims, dict) or \
                header.get("alg") != "RS256" or not sig or \
                ("typ" in header and (not isinstance(header["typ"], str) or
                                      header["typ"].upper() != "JWT")):
            return None, JWT_UNDECODABLE
        iss = claims.get("iss")
        if iss is None or isinstance(iss, (bool, float, list, dict)):
            return None, JWT_UNDECODABLE
        app = fake._app_by_iss(iss)
        if app is None:
            return None, JWT_NO_APP
        if not verify_rs256(fake._pub_path(app), ("%s.%s" % (h64, p64))
                            .encode(), sig):
            return None, JWT_UNDECODABLE
        iat, exp = claims.get("iat"), claims.get("exp")
        now = time.time()
        if not isinstance(iat, int) or isinstance(iat, bool) or \
                iat > now + JWT_SKEW:
            return None, JWT_IAT
        if not isinstance(exp, int) or isinstance(exp, bool) or exp <= now:
            return None, JWT_EXP
        if exp > now + JWT_MAX_LIFETIME or (
                fake.jwt_max_span is not None and
                exp - iat > fake.jwt_max_span):
            return None, JWT_EXP_FAR
        return app, None

    def _installation_json(self, app, inst):
        base = self._base()
        acct = self._user_json(inst["account"])
        t = _iso(inst["created"])
        return {
            "id": inst["id"], "client_id": app["client_id"],
            "account": acct,
            "repository_selection": "all" if inst["repositories"] is None
            else "selected",
            "access_tokens_url": "%s/app/installations/%d/access_tokens" %
            (base, inst["id"]),
            "repositories_url": base + "/installation/repositories",
            "html_url": "https://github.com/%ssettings/installations/%d" % (
                "organizations/%s/" % acct["login"]
                if acct["type"] == "Organization" else "", inst["id"]),
            "app_id": app["id"], "app_slug": app["slug"],
            "target_id": acct["id"], "target_type": acct["type"],
            "permissions": inst["permissions"], "events": [],
            "created_at": t, "updated_at": t, "single_file_name": None,
            "has_multiple_single_files": False, "single_file_paths": [],
            "suspended_by": None, "suspended_at": None,
        }

    def _app_route(self, p):
        """GET /app, GET /app/installations[/{id}] (JWT)."""
        segs = p.split("/")[2:]
        if self.command not in METHODS_READ:
            return self._not_found(DOC_APPS)
        if segs and segs[0] != "installations" or len(segs) > 2 or \
                (len(segs) == 2 and not segs[1].isdigit()):
            return self._not_found(DOC_APPS)
        app = self.app_jwt()
        if app is None:
            return
        if not segs:
            owner = self._user_json(app["owner"])
            t = _iso(app["created"])
            return self.send_json(200, {
                "id": app["id"], "slug": app["slug"],
                "client_id": app["client_id"],
                "node_id": _node_id("A_", app["id"]), "owner": owner,
                "name": app["name"], "description": "",
                "external_url": "https://example.com",
                "html_url": "https://github.com/apps/%s" % app["slug"],
                "created_at": t, "updated_at": t,
                "permissions": app["permissions"], "events": [],
                "installations_count": len(app["installations"])})
        with self.fake.lock:
            insts = [self._installation_json(app, app["installations"][i])
                     for i in sorted(app["installations"])]
        if len(segs) == 1:
            return self._send_list(insts)
        for j in insts:
            if j["id"] == int(segs[1]):
                return self.send_json(200, j)
        self._not_found(DOC_GET_INSTALLATION)

    def _app_access_token(self, installation_id):
        hook = self.fake.app_token_handler
        if hook is not None:
            return hook(self, installation_id, self._bearer())
        self.mint_token(installation_id)

    def mint_token(self, installation_id):
        """POST /app/installations/{id}/access_tokens as GitHub does it
        (a hook in app_token_handler may call this to fall back)."""
        fake = self.fake
        iid = int(installation_id)
        if self.command != "POST":
            return self._not_found(DOC_APP_TOKEN)
        f = fake._take_mint_fault(iid)
        if f is not None:
            fake._record_set(self.rec, fault="mint:%d" % f["status"])
            hdrs = []
            msg = f["message"]
            if f["retry_after"] is not None:
                hdrs.append(("Retry-After", str(f["retry_after"])))
                if msg is None and f["status"] in (403, 429):
                    msg = ("You have exceeded a secondary rate limit. Please "
                           "wait a few minutes before you try again.")
            if msg is None:
                msg = JWT_UNDECODABLE if f["status"] == 401 else \
                    "Server Error" if f["status"] == 500 else \
                    _phrase(f["status"])
            return self.send_error_json(f["status"], msg, DOC_APP_TOKEN,
                                        hdrs)
        app = self.app_jwt()
        if app is None:
            return
        inst = app["installations"].get(iid)
        if inst is None:
            return self._not_found(DOC_APP_TOKEN)
        obj = self._json_body(DOC_APP_TOKEN)
        if obj is None:
            return
        fake._record_set(self.rec, installation=iid)

        def invalid(field, value, kind):
            self.send_error_json(
                422, "Invalid request.\n\nFor '%s', %s is not %s." % (
                    field, json.dumps(value), kind), DOC_APP_TOKEN)
        names = obj.get("repositories")
        ids = obj.get("repository_ids")
        want = obj.get("permissions")
        if names is not None and not isinstance(names, list):
            return invalid("properties/repositories", names, "an array")
        if ids is not None and not isinstance(ids, list):
            return invalid("properties/repository_ids", ids, "an array")
        if want is not None and not isinstance(want, dict):
            return invalid("properties/permissions", want, "an object")
        for x in names or []:
            if not isinstance(x, str):
                return invalid("items", x, "a string")
        for x in ids or []:
            if not isinstance(x, int) or isinstance(x, bool):
                return invalid("items", x, "an integer")
        reach = fake._installation_repos(inst)
        chosen = []
        if names or ids:
            by_name = {r["name"].lower(): r for r in reach}
            by_id = {r["id"]: r for r in reach}
            for x in names or []:
                r = by_name.get(x.lower())
                if r is None:
                    return self.send_error_json(422, MINT_BAD_REPO,
                                                DOC_APP_TOKEN)
                if r not in chosen:
                    chosen.append(r)
            for x in ids or []:
                r = by_id.get(x)
                if r is None:
                    return self.send_error_json(422, MINT_BAD_REPO,
                                                DOC_APP_TOKEN)
                if r not in chosen:
                    chosen.append(r)
            selection = "selected"
        elif inst["repositories"] is not None:
            chosen, selection = reach, "selected"
        else:
            selection = "all"
        have = inst["permissions"]
        if want:
            for k, v in want.items():
                if v not in ("read", "write", "admin") or \
                        LEVELS[v] > _perm_level(have.get(k)):
                    return self.send_error_json(422, MINT_BAD_PERM,
                                                DOC_APP_TOKEN)
            perms = dict(want)
            perms.setdefault("metadata", "read")
        else:
            perms = dict(have)
        tok, exp = fake._mint(app, inst, perms, chosen, selection,
                              self.rec and self.rec.get("seq"))
        out = {"token": tok, "expires_at": _iso(exp), "permissions": perms,
               "repository_selection": selection}
        if selection == "selected":
            out["repositories"] = [self._repo_json(r, None) for r in chosen]
        self.send_json(201, out)

    def _installation_token(self):
        """DELETE /installation/token: revoke the token used."""
        if not self.api_prelude(charge=False):
            return
        if self.command != "DELETE":
            return self._not_found(DOC_REVOKE)
        if self._installation() is None:
            return self.send_error_json(403, "Resource not accessible by "
                                        "personal access token", DOC_REVOKE)
        fake = self.fake
        with fake.lock:
            now = int(time.time())
            self.cred_spec["expires"] = now
            for app in fake._apps.values():
                for t in app["tokens"]:
                    if t["token"] == self.cred:
                        t["expires"] = min(t["expires"], now)
                        t["revoked"] = True
        self.send_bytes(204)

    def _installation_repositories(self):
        """GET /installation/repositories (an installation token)."""
        if self.command not in METHODS_READ:
            return self.api_prelude() and self._not_found(DOC_INST_REPOS)
        if not self.api_prelude(require_auth=("Requires authentication",
                                              DOC_INST_REPOS)):
            return
        spec = self.cred_spec
        if self._installation() is None:
            return self.send_error_json(
                403, "You must authenticate with an installation access "
                "token in order to list repositories for an installation.",
                DOC_INST_REPOS)
        _, inst = self.fake._find_installation(self._installation())
        repos = [r for r in self.fake._installation_repos(inst)
                 if self._token_reaches(spec, r["owner"],
                                        r["full_name"].lower())] \
            if inst else []
        sel = "all" if any(x.endswith("/*") for x in spec["repos"]) \
            else "selected"
        page, link = self._paginate(repos)
        items = []
        for r in page:
            _, perm = self._repo_access(r["owner"], r["name"])
            items.append(self._repo_json(r, perm or "read"))
        self.send_json(200, {"total_count": len(repos),
                             "repository_selection": sel,
                             "repositories": items},
                       [("Link", link)] if link else [])

    def _git(self, owner, repo, rest):
        hook = self.fake.git_handler
        if hook is not None:
            return hook(self, owner, repo, rest)
        self.send_bytes(404, b"Not Found\n", ctype="text/plain; charset=utf-8")

    # ---------------------------------------------------- /repos

    REPO_ROUTES = [
        # (methods, pattern for what follows /repos/o/r, name, doc, level)
        (("GET", "HEAD"), r"", "repo_get", DOC_GET_REPO, "read"),
        (("PATCH",), r"", "repo_patch", DOC_UPDATE_REPO, "admin"),
        (("DELETE",), r"", "repo_delete", DOC_DELETE_REPO, "admin"),
        (("GET", "HEAD"), r"/issues", "issues_list", DOC_LIST_ISSUES, "read"),
        (("POST",), r"/issues", "issue_create", DOC_CREATE_ISSUE, "read"),
        (("GET", "HEAD"), r"/issues/(\d+)", "issue_get", DOC_GET_ISSUE,
         "read"),
        (("PATCH",), r"/issues/(\d+)", "issue_update", DOC_UPDATE_ISSUE,
         "write"),
        (("GET", "HEAD"), r"/issues/(\d+)/comments", "comments_list",
         DOC_COMMENTS + "#list-issue-comments", "read"),
        (("POST",), r"/issues/(\d+)/comments", "comment_create",
         DOC_COMMENTS + "#create-an-issue-comment", "read"),
        (("GET", "HEAD"), r"/issues/comments/(\d+)", "comment_get",
         DOC_COMMENTS + "#get-an-issue-comment", "read"),
        (("PATCH",), r"/issues/comments/(\d+)", "comment_update",
         DOC_COMMENTS + "#update-an-issue-comment", "write"),
        (("DELETE",), r"/issues/comments/(\d+)", "comment_delete",
         DOC_COMMENTS + "#delete-an-issue-comment", "write"),
        (("PUT",), r"/issues/(\d+)/lock", "issue_lock", DOC_LOCK, "write"),
        (("DELETE",), r"/issues/(\d+)/lock", "issue_unlock",
         DOC_ISSUES + "#unlock-an-issue", "write"),
        (("GET", "HEAD"), r"/pulls", "pulls_list", DOC_PULLS, "read"),
        (("GET", "HEAD"), r"/pulls/(\d+)", "pull_get", DOC_GET_PULL, "read"),
    ]

    def _repo_access(self, owner, name):
        """(repo, level) with level None when the caller cannot see it."""
        full = ("%s/%s" % (owner, name)).lower()
        with self.fake.lock:
            repo = self.fake.repos.get(full)
        if repo is None:
            return None, None
        spec = self.cred_spec or {}
        lg = self.login
        if spec.get("installation") is not None:
            # An installation token: its repositories, with its
            # permissions; other public ones read-only, as anyone.
            if self._token_reaches(spec, owner, full):
                perms = spec["app_permissions"]
                if _perm_level(perms.get("administration")) >= 2:
                    return repo, "admin"
                if _perm_level(perms.get("contents")) >= 2:
                    return repo, "write"
                return repo, "read"
            if not repo["private"]:
                return repo, "read"
            return None, None
        if spec.get("repos") is not None:
            if full not in spec["repos"] and \
                    "%s/*" % owner.lower() not in spec["repos"]:
                return None, None
            if not any(lg in repo[k] for k in ("readers", "writers",
                                               "admins")):
                return repo, spec.get("permission", "write")
        if lg and lg in repo["admins"]:
            return repo, "admin"
        if lg and lg in repo["writers"]:
            return repo, "write"
        if (lg and lg in repo["readers"]) or not repo["private"]:
            return repo, "read"
        return None, None

    @staticmethod
    def _token_reaches(spec, owner, full):
        return full in spec["repos"] or \
            "%s/*" % owner.lower() in spec["repos"]

    def _integration_allows(self, repo, owner, rest):
        """Whether this installation token may make this request."""
        spec = self.cred_spec
        need = "read" if self.command in METHODS_READ else "write"
        seg = rest[0] if rest else ""
        if seg == "__fake":
            seg = ""
        if not seg:
            pname = "metadata" if need == "read" else "administration"
        else:
            pname = REPO_SEGMENT_PERMISSION.get(seg, "contents")
            if pname == "metadata" and need == "write":
                pname = "administration"
        self._accepted_perms = "%s=%s" % (pname, need)
        if need == "read" and not repo["private"]:
            return True
        if not self._token_reaches(spec, owner, repo["full_name"].lower()):
            return False
        have = _perm_level(spec["app_permissions"].get(pname))
        if pname == "metadata":
            have = max(have, 1)
        return have >= LEVELS[need]

    def _repo_route(self, owner, name, rest):
        if not self.api_prelude():
            return
        sub = "/" + "/".join(rest) if rest else ""
        m = self.command
        self._accepted_scopes = "repo"
        helper = None
        if "__fake" in rest:
            i = rest.index("__fake")
            if len(rest) > i + 1:
                helper = (rest[i + 1], rest[i + 2:])
        elif "__fake" in self.qd:
            hs = self.qd["__fake"].split("/")
            helper = (hs[0], hs[1:])
        target = None
        shape_known = False
        if helper is None:
            for methods, rx, fn, doc, level in self.REPO_ROUTES:
                mt = re.fullmatch(rx, sub)
                if mt:
                    shape_known = True
                    if m in methods:
                        target = (fn, mt.groups(), doc, level)
                        break
        if target is None:
            level = "read" if m in METHODS_READ else "write"
            doc = DOC_REST
        else:
            doc, level = target[2], target[3]
        repo, perm = self._repo_access(owner, name)
        if repo is None:
            return self._not_found(doc if target else (
                DOC_GET_REPO if not sub else DOC_REST))
        if not self.login and m not in METHODS_READ:
            return self.send_error_json(401, "Requires authentication", doc)
        if self._installation() is not None:
            if not self._integration_allows(repo, owner, rest):
                return self.send_error_json(403, NOT_BY_INTEGRATION, doc)
        elif LEVELS[perm] < LEVELS[level]:
            if not self.login:
                return self.send_error_json(401, "Requires authentication",
                                            doc)
            return self.send_error_json(
                403, "Must have admin rights to Repository." if
                level == "admin" else "Must have push access to repository.",
                doc)
        if helper is not None:
            return self._helper(helper[0], helper[1], True)
        if target is None:
            if shape_known:
                return self._not_found()
            return self.send_json(200, {"ok": True, "method": m,
                                        "path": self.path_only}, etag=False)
        fn, groups, doc, _ = target
        getattr(self, "_r_" + fn)(repo, perm, doc, *groups)

    def _r_repo_get(self, repo, perm, doc):
        self.send_json(200, self._repo_json(repo, perm))

    def _r_repo_patch(self, repo, perm, doc):
        obj = self._json_body(doc)
        if obj is None:
            return
        with self.fake.lock:
            for k in ("description", "homepage", "default_branch"):
                if k in obj:
                    repo[k] = obj[k]
            if "private" in obj:
                repo["private"] = bool(obj["private"])
            if "visibility" in obj:
                repo["private"] = obj["visibility"] != "public"
            repo["updated"] = max(int(time.time()), repo["updated"] + 1)
        self.send_json(200, self._repo_json(repo, perm), etag=False)

    def _r_repo_delete(self, repo, perm, doc):
        with self.fake.lock:
            self.fake.repos.pop(repo["full_name"].lower(), None)
        self.send_bytes(204)

    def _r_issues_list(self, repo, perm, doc):
        state = self.qd.get("state", "open")
        with self.fake.lock:
            items = [self._issue_json(repo, i) for i in
                     sorted(repo["issues"].values(),
                            key=lambda i: -i["number"])
                     if state == "all" or i["state"] == state]
        self._send_list(items)

    def _r_issue_create(self, repo, perm, doc):
        obj = self._json_body(doc)
        if obj is None:
            return
        title = obj.get("title")
        if title is None or isinstance(title, (dict, list, bool)):
            return self.send_error_json(
                422, "Invalid request.\n\n\"title\" wasn't supplied.", doc)
        with self.fake.lock:
            issue = self.fake._new_issue(repo, obj, self.login or "ghost")
            j = self._issue_json(repo, issue)
        self.send_json(201, j, [("Location", j["url"])])

    def _issue(self, repo, n, doc):
        with self.fake.lock:
            issue = repo["issues"].get(int(n))
        if issue is None:
            self._not_found(doc)
        return issue

    def _r_issue_get(self, repo, perm, doc, n):
        issue = self._issue(repo, n, doc)
        if issue:
            self.send_json(200, self._issue_json(repo, issue))

    def _r_issue_update(self, repo, perm, doc, n):
        obj = self._json_body(doc)
        if obj is None:
            return
        issue = self._issue(repo, n, doc)
        if not issue:
            return
        if obj.get("state") not in (None, "open", "closed"):
            return self.send_error_json(
                422, "Validation Failed", doc)
        with self.fake.lock:
            for k in ("title", "body"):
                if k in obj:
                    issue[k] = obj[k]
            if "labels" in obj:
                issue["labels"] = [str(x) for x in obj["labels"] or []]
            if obj.get("state") and obj["state"] != issue["state"]:
                issue["state"] = obj["state"]
                issue["closed"] = int(time.time()) \
                    if obj["state"] == "closed" else None
            issue["updated"] = int(time.time())
            j = self._issue_json(repo, issue)
        self.send_json(200, j, etag=False)

    def _r_issue_lock(self, repo, perm, doc, n):
        issue = self._issue(repo, n, doc)
        if issue:
            issue["locked"] = True
            self.send_bytes(204)

    def _r_issue_unlock(self, repo, perm, doc, n):
        issue = self._issue(repo, n, doc)
        if issue:
            issue["locked"] = False
            self.send_bytes(204)

    def _r_comments_list(self, repo, perm, doc, n):
        if not self._issue(repo, n, doc):
            return
        with self.fake.lock:
            items = [self._comment_json(repo, c) for c in
                     sorted(repo["comments"].values(), key=lambda c: c["id"])
                     if c["issue"] == int(n)]
        self._send_list(items)

    def _r_comment_create(self, repo, perm, doc, n):
        obj = self._json_body(doc)
        if obj is None:
            return
        issue = self._issue(repo, n, doc)
        if not issue:
            return
        if not isinstance(obj.get("body"), str):
            return self.send_error_json(
                422, "Invalid request.\n\n\"body\" wasn't supplied.", doc)
        now = int(time.time())
        with self.fake.lock:
            self.fake._comment_seq += 1
            c = {"id": self.fake._comment_seq, "issue": int(n),
                 "body": obj["body"], "user": self.login or "ghost",
                 "created": now, "updated": now}
            repo["comments"][c["id"]] = c
            issue["comments"] += 1
            j = self._comment_json(repo, c)
        self.send_json(201, j, [("Location", j["url"])])

    def _comment(self, repo, cid, doc):
        with self.fake.lock:
            c = repo["comments"].get(int(cid))
        if c is None:
            self._not_found(doc)
        return c

    def _r_comment_get(self, repo, perm, doc, cid):
        c = self._comment(repo, cid, doc)
        if c:
            self.send_json(200, self._comment_json(repo, c))

    def _r_comment_update(self, repo, perm, doc, cid):
        obj = self._json_body(doc)
        if obj is None:
            return
        c = self._comment(repo, cid, doc)
        if not c:
            return
        if not isinstance(obj.get("body"), str):
            return self.send_error_json(
                422, "Invalid request.\n\n\"body\" wasn't supplied.", doc)
        with self.fake.lock:
            c["body"] = obj["body"]
            c["updated"] = int(time.time())
        self.send_json(200, self._comment_json(repo, c), etag=False)

    def _r_comment_delete(self, repo, perm, doc, cid):
        c = self._comment(repo, cid, doc)
        if not c:
            return
        with self.fake.lock:
            repo["comments"].pop(c["id"], None)
            issue = repo["issues"].get(c["issue"])
            if issue:
                issue["comments"] = max(0, issue["comments"] - 1)
        self.send_bytes(204)

    def _r_pulls_list(self, repo, perm, doc):
        state = self.qd.get("state", "open")
        with self.fake.lock:
            items = [self._pull_json(repo, p) for p in
                     sorted(repo["pulls"].values(),
                            key=lambda p: -p["number"])
                     if state == "all" or p["state"] == state]
        self._send_list(items)

    def _r_pull_get(self, repo, perm, doc, n):
        with self.fake.lock:
            pr = repo["pulls"].get(int(n))
        if pr is None:
            return self._not_found(doc)
        self.send_json(200, self._pull_json(repo, pr))

    # ---------------------------------------------------- helpers

    def _helper(self, name, args, via_repo):
        q = self.qd
        try:
            if name == "bytes":
                n = int(args[0]) if args and args[0] else int(q.get("n", "0"))
                return self._h_bytes(n, q.get("chunked") in ("1", "true"),
                                     int(q.get("delay_ms", "0")),
                                     int(q.get("chunk", "65536")))
            if name == "upload":
                self.body.drain()
                return self.send_json(
                    200, {"bytes": self.body.total,
                          "sha256": self.body.sha256}, etag=False)
            if name == "slow":
                ms = int(q.get("ms", args[0] if args else "1000"))
                self.fake._stopping.wait(ms / 1000.0)
                return self.send_json(200, {"ok": True, "slept_ms": ms},
                                      etag=False)
            if name == "status":
                code = int(args[0]) if args else int(q.get("code", "200"))
                if not 200 <= code <= 599:
                    raise ValueError("status out of range")
                return self._h_status(code)
            if name == "echo":
                with self.fake.lock:
                    rec = copy.deepcopy(self.rec)
                return self.send_json(200, rec, etag=False)
        except (ValueError, IndexError) as e:
            return self.send_error_json(400, "Bad helper arguments: %s" % e)
        self._not_found()

    def _h_bytes(self, n, chunked, delay_ms, chunk):
        if n < 0:
            raise ValueError("negative size")
        self.begin(200, [], length=None if chunked else n, chunked=chunked,
                   ctype="application/octet-stream")
        if self.command == "HEAD":
            return
        first = True
        for piece in iter_pattern(n, chunk):
            if delay_ms and not first:
                if self.fake._stopping.wait(delay_ms / 1000.0):
                    self.close_connection = True
                    return
            first = False
            self.write_body(piece)
        self.end_body()

    def _h_status(self, code):
        hdrs = []
        if "retry_after" in self.qd:
            hdrs.append(("Retry-After", self.qd["retry_after"]))
        if "location" in self.qd:
            hdrs.append(("Location", self.qd["location"]))
        if code in (204, 304):
            return self.send_bytes(code, b"", hdrs)
        if code < 300:
            return self.send_json(code, {"ok": True, "status": code}, hdrs,
                                  etag=False)
        self.send_error_json(code, "Server Error" if code == 500 else
                             _phrase(code), DOC_REST, hdrs)

    # ---------------------------------------------------- control

    def _control(self, name, args):
        fake = self.fake
        m = self.command
        q = self.qd
        obj = {}
        if m in ("POST", "PUT", "PATCH"):
            raw = self.body.read_all() or b""
            try:
                obj = json.loads(raw.decode() or "{}")
            except ValueError:
                return self.send_error_json(400, "Problems parsing JSON")
            if not isinstance(obj, dict):
                return self.send_error_json(400, "Problems parsing JSON")
        try:
            if name == "requests" and m in METHODS_READ:
                since = int(q["since"]) if "since" in q else None
                return self.send_json(200, fake.requests(
                    since, q.get("method"), q.get("path_prefix"),
                    q.get("site")), etag=False)
            if name == "reset" and m == "POST":
                if q.get("only") == "requests":
                    fake.clear()
                else:
                    fake.reset()
                return self.send_json(200, {"ok": True}, etag=False)
            if name == "faults":
                if m in METHODS_READ:
                    return self.send_json(200, fake.faults(), etag=False)
                if m == "DELETE":
                    fake.clear_faults()
                    return self.send_json(200, {"ok": True}, etag=False)
                if m == "POST":
                    fake.set_fault(obj.get("next", 1), obj.get("mode",
                                                               "close"),
                                   obj.get("match"), obj.get("delay_ms", 0))
                    return self.send_json(200, fake.faults(), etag=False)
            if name == "ratelimit":
                if m in METHODS_READ:
                    return self.send_json(200, fake.rate_state(), etag=False)
                if m == "POST":
                    if "secondary" in obj:
                        s = obj["secondary"] or {}
                        fake.set_secondary(s.get("next", 1),
                                           s.get("retry_after", 60),
                                           s.get("status", 429))
                    if "installation" in obj:
                        fake.set_rate_limit(int(obj["installation"]),
                                            obj.get("limit"),
                                            obj.get("remaining"),
                                            obj.get("reset"),
                                            obj.get("resource", "core"))
                    if "credential" in obj:
                        fake.set_rate_limit(obj["credential"],
                                            obj.get("limit"),
                                            obj.get("remaining"),
                                            obj.get("reset"),
                                            obj.get("resource", "core"))
                    return self.send_json(200, fake.rate_state(), etag=False)
            if name == "credentials" and m == "POST":
                fake.add_credential(obj["credential"], obj["login"],
                                    obj.get("repos"), obj.get("rate_limit"),
                                    obj.get("scopes"), obj.get("permission"),
                                    obj.get("copilot"))
                return self.send_json(200, {"ok": True}, etag=False)
            if name == "repos" and m == "POST":
                spec = dict(obj)
                full = spec.pop("full_name")
                fake.add_repo(full, **spec)
                return self.send_json(200, {"ok": True}, etag=False)
            if name == "apps":
                return self._control_apps(args, obj)
            if name in ("sites", "git", "assets", "copilot"):
                return self._control_sites(name, args, obj)
            if name == "graphql":
                return self._control_graphql(args, obj)
            if name == "stats":
                peak = None
                if m == "POST" and q.get("reset_peak") in ("1", "true"):
                    try:
                        with open("/proc/self/clear_refs", "w") as f:
                            f.write("5")
                        peak = True
                    except OSError:
                        peak = False
                st = _proc_stats()
                with fake.lock:
                    st["connections"] = len(fake._conns)
                    st["requests"] = len(fake._records)
                if peak is not None:
                    st["peak_reset"] = peak
                return self.send_json(200, st, etag=False)
        except (KeyError, TypeError, ValueError, RuntimeError,
                subprocess.CalledProcessError) as e:
            return self.send_error_json(400, "Bad control request: %s" % e)
        self._not_found()

    def _control_apps(self, args, obj):
        fake = self.fake
        m = self.command
        sub = args[0] if args else ""
        ok = {"ok": True}
        if sub == "" and m in METHODS_READ:
            return self.send_json(200, fake.apps(), etag=False)
        if sub == "" and m == "POST":
            fake.add_app(**obj)
            return self.send_json(200, ok, etag=False)
        if sub.isdigit() and m == "DELETE":
            fake.remove_app(int(sub))
            return self.send_json(200, ok, etag=False)
        if sub == "mint_faults":
            if m == "POST":
                fake.set_mint_fault(obj.get("next", 1), obj.get("status", 500),
                                    obj.get("installation"),
                                    obj.get("message"),
                                    obj.get("retry_after"))
            elif m == "DELETE":
                fake.clear_mint_faults()
            elif m not in METHODS_READ:
                return self._not_found()
            return self.send_json(200, fake.mint_faults(), etag=False)
        if sub == "token_lifetime" and m == "POST":
            fake.set_token_lifetime(obj["seconds"], obj.get("app_id"))
            return self.send_json(200, ok, etag=False)
        if sub == "expire" and m == "POST":
            n = fake.expire_tokens(obj.get("installation"), obj.get("app_id"),
                                   obj.get("token_prefix"))
            return self.send_json(200, {"expired": n}, etag=False)
        self._not_found()


# ------------------------------------------------------------ remote use


class FakeGitHubClient:
    """The FakeGitHub test methods, over HTTP, for an instance running in
    another process (see spawn())."""

    def __init__(self, url, prefix="/__fake", proc=None):
        self.url = url.rstrip("/")
        self.prefix = "/" + prefix.strip("/")
        self.proc = proc
        self.port = urllib.parse.urlsplit(self.url).port
        self._sites = None

    def _call(self, method, name, obj=None, query=None):
        u = self.url + self.prefix + "/" + name
        if query:
            u += "?" + urllib.parse.urlencode(query)
        data = None if obj is None else json.dumps(obj).encode()
        req = urllib.request.Request(u, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def requests(self, since=None, method=None, path_prefix=None,
                 site=None):
        q = {k: v for k, v in (("since", since), ("method", method),
                               ("path_prefix", path_prefix), ("site", site))
             if v is not None}
        return self._call("GET", "requests", query=q)

    def clear(self):
        self._call("POST", "reset", query={"only": "requests"})

    def reset(self):
        self._call("POST", "reset")

    def find(self, needle):
        return find_in_records(self.requests(), needle)

    def set_fault(self, next=1, mode="close", match=None, delay_ms=0):
        self._call("POST", "faults", {"next": next, "mode": str(mode),
                                      "match": match, "delay_ms": delay_ms})

    def clear_faults(self):
        self._call("DELETE", "faults")

    def set_rate_limit(self, credential, limit=None, remaining=None,
                       reset=None, resource="core"):
        self._call("POST", "ratelimit", {
            "credential": credential, "limit": limit, "remaining": remaining,
            "reset": reset, "resource": resource})

    def set_secondary(self, next=1, retry_after=60, status=429):
        self._call("POST", "ratelimit", {"secondary": {
            "next": next, "retry_after": retry_after, "status": status}})

    def add_credential(self, credential, login, repos=None, rate_limit=None,
                       scopes=None, permission=None, copilot=None):
        self._call("POST", "credentials", {
            "credential": credential, "login": login, "repos": repos,
            "rate_limit": rate_limit, "scopes": scopes,
            "permission": permission, "copilot": copilot})

    def add_repo(self, full_name, **spec):
        spec["full_name"] = full_name
        self._call("POST", "repos", spec)

    def add_app(self, app_id, public_key_pem=None, installations=None,
                **spec):
        if isinstance(installations, dict):
            installations = {str(k): v for k, v in installations.items()}
        elif installations is not None:
            installations = [list(x) for x in installations]
        spec.update(app_id=app_id, public_key_pem=public_key_pem,
                    installations=installations)
        self._call("POST", "apps", spec)

    def remove_app(self, app_id):
        self._call("DELETE", "apps/%d" % int(app_id))

    def apps(self):
        return self._call("GET", "apps")

    def set_mint_fault(self, next=1, status=500, installation=None,
                       message=None, retry_after=None):
        self._call("POST", "apps/mint_faults", {
            "next": next, "status": status, "installation": installation,
            "message": message, "retry_after": retry_after})

    def clear_mint_faults(self):
        self._call("DELETE", "apps/mint_faults")

    def mint_faults(self):
        return self._call("GET", "apps/mint_faults")

    def set_token_lifetime(self, seconds, app_id=None):
        self._call("POST", "apps/token_lifetime", {"seconds": seconds,
                                                   "app_id": app_id})

    def expire_tokens(self, installation=None, app_id=None,
                      token_prefix=None):
        return self._call("POST", "apps/expire", {
            "installation": installation, "app_id": app_id,
            "token_prefix": token_prefix})["expired"]

    def set_installation_rate_limit(self, installation_id, limit=None,
                                    remaining=None, reset=None):
        self.set_rate_limit(int(installation_id), limit, remaining, reset)

    def rate_state(self):
        return self._call("GET", "ratelimit")

    def stats(self, reset_peak=False):
        if reset_peak:
            return self._call("POST", "stats", {}, {"reset_peak": "1"})
        return self._call("GET", "stats")

    # ---- GraphQL (GRAPHQL)

    def graphql_requests(self, since=None):
        q = {"since": since} if since is not None else None
        return self._call("GET", "graphql/requests", query=q)

    def add_node(self, node_id, typename, repo=None):
        self._call("POST", "graphql/nodes", {"id": node_id,
                                             "typename": typename,
                                             "repo": repo})

    def remove_node(self, node_id):
        self._call("POST", "graphql/nodes", {"nodes": {node_id: None}})

    def graphql_nodes(self):
        return self._call("GET", "graphql/nodes")

    def add_graphql_answer(self, operation, response):
        self._call("POST", "graphql/answers", {"operation": operation,
                                               "response": response})

    def graphql_answer_names(self):
        return self._call("GET", "graphql/answers")

    # ---- the sites (SITES)

    def sites(self):
        """{"prefixes", "git_root", "urls"} of the server."""
        if self._sites is None:
            self._sites = self._call("GET", "sites")
        return self._sites

    @property
    def site_prefixes(self):
        return self.sites()["prefixes"]

    def site_url(self, site):
        return self.url if site == "api" else \
            self.url + self.site_prefixes[site]

    def git_repo_path(self, full_name):
        return self._call("GET", "git", query={"repo": full_name})["path"]

    def git_refs(self, full_name):
        return self._call("GET", "git", query={"repo": full_name})["refs"]

    def git_seed(self, full_name, files, branch=None, message=None):
        b64 = {k: base64.b64encode(v if isinstance(v, bytes) else
                                   v.encode()).decode()
               for k, v in files.items() if v is not None}
        return self._call("POST", "git", {
            "repo": full_name, "files_b64": b64, "branch": branch,
            "message": message,
            "files": {k: None for k, v in files.items() if v is None}}
        )["commit"]

    def add_release_asset(self, full_name, tag, name, data=None, size=None,
                          content_type="application/octet-stream",
                          latest=True):
        if isinstance(data, str):
            data = data.encode()
        return self._call("POST", "assets", {
            "repo": full_name, "tag": tag, "name": name,
            "data_b64": None if data is None else
            base64.b64encode(data).decode(), "size": size,
            "content_type": content_type, "latest": latest})["url"]

    def release_assets(self):
        return self._call("GET", "assets")

    def copilot_tokens(self, login=None):
        q = {"login": login} if login is not None else None
        return self._call("GET", "copilot", query=q)["tokens"]

    def set_copilot(self, refresh_in=None, lifetime=None):
        self._call("POST", "copilot", {"refresh_in": refresh_in,
                                       "lifetime": lifetime})

    def set_copilot_fault(self, next=1, status=500, message=None):
        self._call("POST", "copilot/faults", {
            "next": next, "status": status, "message": message})

    def clear_copilot_faults(self):
        self._call("DELETE", "copilot/faults")

    def expire_copilot_tokens(self, login=None, token=None):
        return self._call("POST", "copilot/expire", {
            "login": login, "token": token})["expired"]

    def close(self, timeout=5):
        """Stop the spawned process (SIGTERM, then SIGKILL), by its pid."""
        p = self.proc
        if p is None or p.poll() is not None:
            return
        p.terminate()
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def spawn(args=(), ready_file=None, timeout=10.0, python=None, **popen_kw):
    """Start fake_github.py as a subprocess on a free port; wait for its
    ready file.  Returns (Popen, FakeGitHubClient)."""
    import tempfile
    tmpdir = None
    if ready_file is None:
        tmpdir = tempfile.mkdtemp(prefix="fake-github-")
        ready_file = os.path.join(tmpdir, "port")
    args = list(args)
    prefix = "/__fake"
    if "--prefix" in args:
        prefix = args[args.index("--prefix") + 1]
    cmd = [python or sys.executable, os.path.abspath(__file__),
           "--port", "0", "--ready-file", ready_file] + args
    proc = subprocess.Popen(cmd, **popen_kw)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                with open(ready_file) as f:
                    port = int(f.read().strip())
                break
            except (OSError, ValueError):
                pass
            if proc.poll() is not None:
                raise RuntimeError("fake_github exited with status %s" %
                                   proc.returncode)
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise RuntimeError("fake_github: no ready file after %ss" %
                                   timeout)
            time.sleep(0.02)
    finally:
        if tmpdir:
            try:
                os.unlink(ready_file)
            except OSError:
                pass
            os.rmdir(tmpdir)
    host = "127.0.0.1"
    if "--host" in args:
        host = args[args.index("--host") + 1]
    h = "[%s]" % host if ":" in host else host
    return proc, FakeGitHubClient("http://%s:%d" % (h, port), prefix, proc)


# ------------------------------------------------------------ main


def _parse_repo_spec(spec):
    """o/r[:public|private][:reader,reader]"""
    parts = spec.split(":")
    out = {"private": True, "readers": []}
    for p in parts[1:]:
        if p in ("public", "private"):
            out["private"] = p == "private"
        elif p:
            out["readers"] = [x for x in p.split(",") if x]
    return parts[0], out


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="A fake api.github.com for ghp's tests (see the "
        "documentation at the top of this file).")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--ready-file", help="write the port here once "
                    "listening")
    ap.add_argument("--record", help="append each request as a JSON line")
    ap.add_argument("--config", help="JSON object of FakeGitHub keywords")
    ap.add_argument("--cred", action="append", default=[],
                    metavar="TOKEN=LOGIN")
    ap.add_argument("--repo", action="append", default=[],
                    metavar="O/R[:public|private][:READERS]")
    ap.add_argument("--cred-limit", action="append", default=[],
                    metavar="TOKEN=N")
    ap.add_argument("--app", action="append", default=[],
                    metavar="ID:PUBKEY.pem[:INST=LOGIN,...]")
    ap.add_argument("--token-lifetime", type=int)
    ap.add_argument("--rate-limit", type=int)
    ap.add_argument("--anon-rate-limit", type=int)
    ap.add_argument("--seed-issues", type=int)
    ap.add_argument("--chunk-threshold", type=int)
    ap.add_argument("--prefix")
    ap.add_argument("--graphql-answers", metavar="DIR",
                    help="canned GraphQL answers (default tests/graphql/"
                    "answers)")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--no-parent-watch", action="store_true",
                    help="keep running when the parent process exits")
    a = ap.parse_args(argv)

    kw = {}
    if a.config:
        with open(a.config) as f:
            kw.update(json.load(f))
    if a.cred:
        kw["credentials"] = dict(c.split("=", 1) for c in a.cred)
    if a.repo:
        kw["repos"] = dict(_parse_repo_spec(r) for r in a.repo)
    if a.cred_limit:
        kw["rate_limits"] = {k: int(v) for k, v in
                             (c.split("=", 1) for c in a.cred_limit)}
    for spec in a.app:
        parts = spec.split(":", 2)
        insts = {}
        if len(parts) > 2:
            for x in parts[2].split(","):
                if x:
                    i, _, login = x.partition("=")
                    insts[int(i)] = login
        kw.setdefault("apps", []).append({
            "app_id": int(parts[0]), "public_key_file": parts[1],
            "installations": insts})
    for name in ("rate_limit", "anon_rate_limit", "seed_issues",
                 "chunk_threshold", "prefix", "token_lifetime",
                 "graphql_answers"):
        v = getattr(a, name)
        if v is not None:
            kw[name] = v
    if a.verbose:
        kw["verbose"] = True
    kw["host"] = a.host
    kw["port"] = a.port
    if a.record:
        kw["record_file"] = a.record

    srv = FakeGitHub(**kw)
    srv.start()
    done = threading.Event()

    def on_signal(signum, frame):
        done.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if a.ready_file:
        tmp = a.ready_file + ".tmp.%d" % os.getpid()
        with open(tmp, "w") as f:
            f.write("%d\n" % srv.port)
        os.replace(tmp, a.ready_file)
    if a.verbose:
        sys.stderr.write("fake_github: listening on %s\n" % srv.url)
    parent = os.getppid()
    while not done.wait(0.5):
        if not a.no_parent_watch and os.getppid() != parent:
            break
    srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
