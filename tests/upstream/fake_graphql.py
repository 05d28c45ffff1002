"""
fake_graphql.py: GitHub's GraphQL endpoint (POST /graphql) for
fake_github.py.

No GraphQL executor: a request is answered by its operation name, from
canned answers (tests/graphql/answers/<OperationName>.json, data written
to look like GitHub's for acme/widgets), and ghp's own node resolution
query (GhpNodeRepositories) from a table of node ids.  What the endpoint
does is documented in fake_github.py's docstring (GRAPHQL); the code is
here as two mixins: GraphQLWorld (the FakeGitHub side: node table,
answers added at run time, the GraphQL view of the records) and
GraphQLHandler (the request handler side).

This module imports nothing of fake_github.py (which may run as
__main__); what it needs of it comes through the objects.  Python 3
standard library only.
"""

import base64
import copy
import json
import os
import re

__all__ = ["GraphQLWorld", "GraphQLHandler", "ANSWERS_DIR", "DEFAULT_NODES",
           "BASE_REPO", "node_key", "rebase",
           "NODE_QUERY", "NODE_QUERY_NAME", "REPOSITORY_NODE_TYPES",
           "operation_name", "operation_names", "graphql_records"]

HERE = os.path.dirname(os.path.abspath(__file__))
ANSWERS_DIR = os.path.normpath(os.path.join(HERE, "..", "graphql",
                                            "answers"))

DOC_GRAPHQL_AUTH = ("https://docs.github.com/graphql/guides/"
                    "forming-calls-with-graphql#authenticating-with-graphql")
DOC_GRAPHQL = "https://docs.github.com/graphql"

NODE_QUERY_NAME = "GhpNodeRepositories"
# ghp's query, as ghp sends it (one line).
NODE_QUERY = (
    "query GhpNodeRepositories($ids: [ID!]!) { nodes(ids: $ids) { "
    "__typename ... on Repository { nameWithOwner } ... on RepositoryNode "
    "{ repository { nameWithOwner } } ... on Label { repository { "
    "nameWithOwner } } ... on Milestone { repository { nameWithOwner } } "
    "... on Ref { repository { nameWithOwner } } ... on Commit { "
    "repository { nameWithOwner } } ... on Release { repository { "
    "nameWithOwner } } } }")

# The types that implement GitHub's RepositoryNode interface.
REPOSITORY_NODE_TYPES = frozenset((
    "CommitComment", "CommitCommentThread", "DependabotUpdate",
    "Discussion", "DiscussionCategory", "Issue", "IssueComment",
    "PinnedDiscussion", "PullRequest", "PullRequestCommitCommentThread",
    "PullRequestReview", "PullRequestReviewComment",
    "RepositoryVulnerabilityAlert"))


def _default_nodes():
    """node id -> (typename, "owner/name" or None): the ids the canned
    answers use (new-style ids, made up but shaped like GitHub's)."""
    t = {"U_kgDOalice": ("User", None), "U_kgDObob": ("User", None),
         "O_kgDOacme": ("Organization", None),
         "O_kgDOocto": ("Organization", None),
         "PVT_kwDOacmeproj1": ("ProjectV2", None)}
    for full, key in (("acme/widgets", "acmewidgets"),
                      ("acme/gadgets", "acmegadgets"),
                      ("octo/public", "octopublic")):
        t["R_kgDO" + key] = ("Repository", full)
        for n in (1, 2, 3, 4, 5, 10):
            t["I_kwDO%s%d" % (key, n)] = ("Issue", full)
        for n in (6, 7, 8, 9):
            t["PR_kwDO%s%d" % (key, n)] = ("PullRequest", full)
        for n, _ in enumerate(("bug", "enhancement", "documentation"), 1):
            t["LA_kwDO%s%d" % (key, n)] = ("Label", full)
        t["MI_kwDO%s1" % key] = ("Milestone", full)
        t["REF_kwDO%smain" % key] = ("Ref", full)
        t["REF_kwDO%sfeature1" % key] = ("Ref", full)
        t["REF_kwDO%sfeature2" % key] = ("Ref", full)
        t["C_kwDO%s0001" % key] = ("Commit", full)
        t["RE_kwDO%s1" % key] = ("Release", full)
        t["IC_kwDO%s1001" % key] = ("IssueComment", full)
        t["PRR_kwDO%s7001" % key] = ("PullRequestReview", full)
        t["D_kwDO%s1" % key] = ("Discussion", full)
    return t


DEFAULT_NODES = _default_nodes()

# The repository the canned answers describe (see rebase()).
BASE_REPO = "acme/widgets"


def node_key(full_name):
    """The part of the made-up node ids that names a repository:
    "acme/widgets" -> "acmewidgets" (R_kgDOacmewidgets, I_kwDOacmewidgets1,
    ...); also an owner: "acme" -> "acme" (O_kgDOacme)."""
    return re.sub(r"[^0-9a-z]", "", full_name.lower())


def rebase(obj, full_name, base=BASE_REPO):
    """A canned answer about base (acme/widgets) made about full_name:
    in every string "acme/widgets" becomes full_name and the node-id key
    "DOacmewidgets" "DO" + node_key(full_name); a "name" of "widgets"
    becomes the name, a "login" of "acme" and the id "O_kgDOacme" the
    owner's."""
    bo, bn = base.split("/")
    o, n = full_name.split("/")
    pairs = ((base, full_name), ("DO" + node_key(base),
                                 "DO" + node_key(full_name)))

    def walk(v, key=None):
        if isinstance(v, dict):
            return {k: walk(x, k) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, str):
            if key == "name" and v == bn:
                return n
            if key == "login" and v == bo:
                return o
            if v == "O_kgDO" + node_key(bo):
                return "O_kgDO" + node_key(o)
            for a, b in pairs:
                v = v.replace(a, b)
        return v
    return walk(obj)

_NAME = r"[_A-Za-z][_0-9A-Za-z]*"
_OP_RX = re.compile(r"\b(query|mutation|subscription)\s+(%s)" % _NAME)


def _strip_comments_and_strings(q):
    """The document with strings and comments blanked (same length), so
    that a keyword inside a string does not count."""
    out = []
    i, n = 0, len(q)
    while i < n:
        c = q[i]
        if c == "#":
            j = q.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif q.startswith('"""', i):
            j = q.find('"""', i + 3)
            j = n if j < 0 else j + 3
            out.append(re.sub(r"[^\n]", " ", q[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and q[j] != '"' and q[j] != "\n":
                j += 2 if q[j] == "\\" else 1
            j = min(n, j + 1)
            out.append(" " * (j - i))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def operation_names(query):
    """The names of the named operations in a document, in order."""
    if not isinstance(query, str):
        return []
    return [m.group(2) for m in
            _OP_RX.finditer(_strip_comments_and_strings(query))]


def operation_name(body):
    """The operation a request body (a dict, or JSON text) runs: its
    "operationName", else the first `query|mutation|subscription Name`
    of its document; None for an anonymous one (or no document)."""
    if isinstance(body, (str, bytes)):
        try:
            body = json.loads(body)
        except ValueError:
            return None
    if not isinstance(body, dict):
        return None
    op = body.get("operationName")
    if isinstance(op, str) and op:
        return op
    names = operation_names(body.get("query"))
    return names[0] if names else None


def _location(query, rx):
    """{"line", "column"} (1-based) of the first match of rx, else 1:1."""
    m = re.search(rx, _strip_comments_and_strings(query or ""))
    if not m:
        return {"line": 1, "column": 1}
    before = query[:m.start()]
    line = before.count("\n") + 1
    return {"line": line, "column": m.start() - (before.rfind("\n") + 1)
            + 1}


def _variables(body):
    v = body.get("variables")
    if isinstance(v, str):
        try:
            v = json.loads(v) if v.strip() else {}
        except ValueError:
            v = None
    return v if isinstance(v, dict) else ({} if v is None else None)


def graphql_records(records):
    """The GraphQL requests among records (fake_github records, oldest
    first), each {"seq", "method", "path", "status", "login",
    "authorization" (every Authorization value, in order), "body" (the
    text as received), "operation" (operation_name()), "query",
    "variables", "answer" (how the fake answered: "canned", "nodes",
    "viewer", "unknown", "invalid"; None when it did not get that far,
    e.g. 401, or a fault)}."""
    out = []
    for r in records:
        if r.get("site", "api") != "api" or r.get("path") not in (
                "/graphql", "/api/graphql"):
            continue
        body = r.get("body")
        obj = None
        if body:
            try:
                obj = json.loads(body)
            except ValueError:
                obj = None
        if not isinstance(obj, dict):
            obj = {}
        out.append({
            "seq": r.get("seq"), "method": r.get("method"),
            "path": r.get("path"), "status": r.get("status"),
            "login": r.get("login"),
            "authorization": [v for k, v in r.get("headers", [])
                              if k.lower() == "authorization"],
            "body": body, "operation": operation_name(obj),
            "query": obj.get("query"), "variables": obj.get("variables"),
            "answer": (r.get("graphql") or {}).get("answer"),
        })
    return out


def _rest_node_id(kind, n):
    # fake_github's REST node_id (_node_id there), for the aliases.
    return base64.b64encode(("%s%d" % (kind, n)).encode()).decode() \
        .rstrip("=")


def _norm_node(spec):
    if isinstance(spec, dict):
        spec = (spec.get("typename") or spec.get("__typename"),
                spec.get("repo"))
    typename, repo = spec
    if not isinstance(typename, str) or not re.fullmatch(_NAME, typename):
        raise ValueError("node typename must be a GraphQL name: %r" %
                         (typename,))
    if repo is not None and (not isinstance(repo, str) or
                             repo.count("/") != 1):
        raise ValueError("node repo must be owner/name or null: %r" %
                         (repo,))
    return (typename, repo)


# ------------------------------------------------------------ the world


class GraphQLWorld:
    """The FakeGitHub side: call _init_graphql() in __init__ and
    _reset_graphql() from reset()."""

    def _init_graphql(self, answers_dir=None, nodes=None):
        self.graphql_answers_dir = answers_dir or ANSWERS_DIR
        self._init_nodes = dict(DEFAULT_NODES)
        for k, v in (nodes or {}).items():
            self._init_nodes[k] = _norm_node(v)
        self._reset_graphql()

    def _reset_graphql(self):
        with self.lock:
            self._nodes = dict(self._init_nodes)
            self._answers = {}

    def add_node(self, node_id, typename, repo=None):
        """Make node_id resolve (GhpNodeRepositories) to typename in repo
        ("owner/name"; None: a node of no repository, e.g. a User)."""
        spec = _norm_node((typename, repo))
        with self.lock:
            self._nodes[node_id] = spec

    def remove_node(self, node_id):
        with self.lock:
            self._nodes.pop(node_id, None)

    def graphql_nodes(self):
        """{node id: [typename, "owner/name" or None]}."""
        with self.lock:
            return {k: list(v) for k, v in self._nodes.items()}

    def lookup_node(self, node_id):
        """(typename, "owner/name" or None), or None: the table, then
        "R_kgDO" + node_key() of each repository of the world, then the
        REST node_ids (fake_github's node_id fields) of the repositories,
        their issues, and the users and owners (User, or Organization for
        an owner that is no user, as GET /users/{login} says)."""
        with self.lock:
            if node_id in self._nodes:
                return self._nodes[node_id]
            repos = list(self.repos.values())
            logins = {s["login"] for s in self.credentials.values()}
        logins |= set(self.users)
        for repo in repos:
            if node_id == "R_kgDO" + node_key(repo["full_name"]):
                return ("Repository", repo["full_name"])
        for repo in repos:
            if node_id == _rest_node_id("R_", repo["id"]):
                return ("Repository", repo["full_name"])
            for n in list(repo["issues"]):
                if node_id == _rest_node_id("I_", repo["id"] * 1000 + n):
                    return ("Issue", repo["full_name"])
        for login in logins | {r["owner"] for r in repos}:
            if node_id == _rest_node_id("U_", self.user_id(login)):
                return ("User" if login in logins else "Organization", None)
        return None

    def add_graphql_answer(self, operation, response):
        """Answer operation with response (a GraphQL response object,
        or the {"variants", "response"} form of an answer file) instead
        of its file; response None removes what was added."""
        if not re.fullmatch(_NAME, operation or ""):
            raise ValueError("not an operation name: %r" % (operation,))
        if response is not None and not isinstance(response, dict):
            raise ValueError("response must be an object")
        with self.lock:
            if response is None:
                self._answers.pop(operation, None)
            else:
                self._answers[operation] = copy.deepcopy(response)

    def graphql_answer_names(self):
        """{"added": [...], "files": [...]}: the operations answered."""
        try:
            files = sorted(n[:-5] for n in os.listdir(
                self.graphql_answers_dir) if n.endswith(".json"))
        except OSError:
            files = []
        with self.lock:
            return {"added": sorted(self._answers), "files": files}

    def graphql_answer(self, operation, variables):
        """The canned response for operation and variables, or None."""
        with self.lock:
            spec = copy.deepcopy(self._answers.get(operation))
        if spec is None:
            if not re.fullmatch(_NAME, operation or ""):
                return None
            path = os.path.join(self.graphql_answers_dir,
                                operation + ".json")
            try:
                with open(path, encoding="utf-8") as f:
                    spec = json.load(f)
            except (OSError, ValueError):
                return None
        if not isinstance(spec, dict):
            return None
        if "variants" in spec:
            for v in spec.get("variants") or []:
                want = v.get("variables") or {}
                if all(variables.get(k) == w for k, w in want.items()):
                    return v.get("response")
            return spec.get("response")
        return spec

    def graphql_requests(self, since=None):
        """graphql_records() of the records."""
        return graphql_records(self.requests(since))


# ------------------------------------------------------------ the handler


class GraphQLHandler:
    """The request handler side: _graphql() answers POST /graphql."""

    def _graphql_mark(self, answer, operation):
        self.fake._record_set(self.rec, graphql={"answer": answer,
                                                 "operation": operation})

    def _graphql(self):
        if self.command != "POST":
            return self.api_prelude() and self._not_found(DOC_GRAPHQL)
        if not self.api_prelude(
                "graphql", require_auth=("This endpoint requires you to be "
                                         "authenticated.", DOC_GRAPHQL_AUTH)):
            return
        obj = self._json_body(DOC_GRAPHQL)
        if obj is None:
            return
        q = obj.get("query")
        if not isinstance(q, str):
            self._graphql_mark("invalid", None)
            return self.send_json(200, {"errors": [
                {"message": "A query attribute must be specified and must "
                            "be a string."}]}, etag=False)
        variables = _variables(obj)
        if variables is None:
            self._graphql_mark("invalid", None)
            return self.send_json(200, {"errors": [
                {"message": "Variables are invalid JSON."}]}, etag=False)
        names = operation_names(q)
        op = obj.get("operationName")
        if isinstance(op, str) and op:
            if names and op not in names:
                self._graphql_mark("invalid", op)
                return self.send_json(200, {"errors": [
                    {"message": 'No operation named "%s"' % op}]},
                    etag=False)
        else:
            op = names[0] if names else None
        if op == NODE_QUERY_NAME:
            self._graphql_mark("nodes", op)
            return self._graphql_nodes(q, variables)
        if op is None:
            if re.search(r"\bviewer\b", _strip_comments_and_strings(q)):
                self._graphql_mark("viewer", None)
                return self.send_json(200, {"data": {"viewer": {
                    "login": self.login}}}, etag=False)
            self._graphql_mark("unknown", None)
            return self.send_json(200, {"data": None, "errors": [{
                "message": "The fake GitHub has no answer for an anonymous "
                           "operation (only { viewer { login } })."}]},
                etag=False)
        resp = self.fake.graphql_answer(op, variables)
        if resp is None:
            self._graphql_mark("unknown", op)
            return self.send_json(200, {"data": None, "errors": [{
                "message": "The fake GitHub has no answer for operation "
                           "'%s' (tests/graphql/answers/%s.json)." %
                           (op, op)}]}, etag=False)
        refused = self._graphql_repository_refused(q, variables)
        if refused:
            self._graphql_mark("not_found", op)
            return self.send_json(200, refused, etag=False)
        named = self._graphql_named_repository(variables)
        if named and named.lower() != BASE_REPO:
            resp = rebase(resp, named)
        data = resp.get("data") if isinstance(resp, dict) else None
        if isinstance(data, dict) and isinstance(data.get("viewer"), dict) \
                and "login" in data["viewer"]:
            data["viewer"]["login"] = self.login
        self._graphql_mark("canned", op)
        self.send_json(200, resp, etag=False)

    @staticmethod
    def _graphql_variables_repo(variables):
        """(owner, name) when the variables name a repository ("owner"
        with "repo" or "name"), else None."""
        owner = variables.get("owner")
        name = variables.get("repo", variables.get("name"))
        if not isinstance(owner, str) or not isinstance(name, str):
            return None
        return owner, name

    def _graphql_named_repository(self, variables):
        """The full name of the (visible) repository the variables
        name, else None."""
        on = self._graphql_variables_repo(variables)
        if on is None:
            return None
        repo, _ = self._repo_access(*on)
        return repo["full_name"] if repo is not None else None

    def _graphql_repository_refused(self, q, variables):
        """GitHub's NOT_FOUND answer when the variables name a
        repository (owner with repo or name) the caller cannot see."""
        on = self._graphql_variables_repo(variables)
        if on is None:
            return None
        owner, name = on
        repo, _ = self._repo_access(owner, name)
        if repo is not None:
            return None
        return {"data": {"repository": None}, "errors": [{
            "type": "NOT_FOUND", "path": ["repository"],
            "locations": [_location(q, r"\brepository\s*\(")],
            "message": "Could not resolve to a Repository with the name "
                       "'%s/%s'." % (owner, name)}]}

    def _graphql_nodes(self, q, variables):
        ids = variables.get("ids")
        if not isinstance(ids, list) or not all(isinstance(i, str)
                                                for i in ids):
            problem = "Expected value to not be null" if ids is None else \
                "Could not coerce value %s to ID" % json.dumps(ids)
            return self.send_json(200, {"errors": [{
                "extensions": {"value": ids, "problems": [
                    {"path": [], "explanation": problem}]},
                "locations": [_location(q, r"\$ids\s*:")],
                "message": "Variable $ids of type [ID!]! was provided "
                           "invalid value"}]}, etag=False)
        frags = set(re.findall(r"\.\.\.\s*on\s+(%s)" % _NAME,
                               _strip_comments_and_strings(q)))
        loc = _location(q, r"\bnodes\s*\(")
        nodes, errors = [], []
        for i, nid in enumerate(ids):
            spec = self.fake.lookup_node(nid)
            node = None
            if spec is not None:
                typename, full = spec
                if full is None:
                    node = {"__typename": typename}
                else:
                    owner, _, name = full.partition("/")
                    repo, _ = self._repo_access(owner, name)
                    if repo is not None:
                        node = {"__typename": typename}
                        if typename == "Repository":
                            if "Repository" in frags:
                                node["nameWithOwner"] = repo["full_name"]
                        elif typename in frags or (
                                "RepositoryNode" in frags and
                                typename in REPOSITORY_NODE_TYPES):
                            node["repository"] = {
                                "nameWithOwner": repo["full_name"]}
            if node is None:
                errors.append({
                    "type": "NOT_FOUND", "path": ["nodes", i],
                    "locations": [loc],
                    "message": "Could not resolve to a node with the "
                               "global id of '%s'." % nid})
            nodes.append(node)
        out = {"data": {"nodes": nodes}}
        if errors:
            out["errors"] = errors
        self.send_json(200, out, etag=False)

    # ---------------------------------------------------- control

    def _control_graphql(self, args, obj):
        fake = self.fake
        m = self.command
        sub = args[0] if args else ""
        if sub == "requests" and m in ("GET", "HEAD"):
            since = int(self.qd["since"]) if "since" in self.qd else None
            return self.send_json(200, fake.graphql_requests(since),
                                  etag=False)
        if sub == "nodes":
            if m == "POST":
                if "nodes" in obj:
                    for k, v in (obj["nodes"] or {}).items():
                        if v is None:
                            fake.remove_node(k)
                        else:
                            fake.add_node(k, *_norm_node(v))
                else:
                    fake.add_node(obj["id"], obj["typename"],
                                  obj.get("repo"))
            elif m not in ("GET", "HEAD"):
                return self._not_found()
            return self.send_json(200, fake.graphql_nodes(), etag=False)
        if sub == "answers":
            if m == "POST":
                fake.add_graphql_answer(obj["operation"],
                                        obj.get("response"))
            elif m not in ("GET", "HEAD"):
                return self._not_found()
            return self.send_json(200, fake.graphql_answer_names(),
                                  etag=False)
        self._not_found()
