"""
test_graphql.py: GitHub's GraphQL API with ghx_ tokens (common/gql_scope.h,
worker/graphql.c), each request checked at both ends: what the client got
(the answer, or a refusal in GitHub's error shape naming the field and
what is missing) and what reached the fake GitHub (which operations, in
which order, with which Authorization: always the token owner's stored
credential, never the ghx_ token; nothing at all for a refusal made from
the request alone).

- queries: allowed ones forwarded and answered; repository data without
  its permission, a repository outside the scope, search and the other
  roots that reach across repositories refused; on api.github.com's
  /graphql and on ghp's own host's /api/graphql (GitHub Enterprise
  style);
- mutations and node(id:)/nodes(ids:) queries: their targets proven by
  ghp's GhpNodeRepositories query (sent first, with the owner's
  credential), then the request forwarded as sent; refused when a target
  is in another repository, unknown or of no repository, when the token
  lacks the permission (nothing asked of GitHub then), when the mutation
  is not in the policy, when GitHub cannot answer the targets' query;
- the request's shape: batches, persisted queries, duplicate JSON keys,
  invalid UTF-8, documents that do not parse, no body (400), a body over
  256 KiB (413, the connection closed); chunked bodies and Expect:
  100-continue work;
- the audit log: the decision, the operation's type and name;
- the real gh (2.23, tests/graphql/README.md) through HTTPS_PROXY with a
  ghx_ token: the commands its permissions cover work, search and
  another repository fail with ghp's message.

Run with tests/integration/run_all.py (or python3 -m unittest from this
directory).
"""

import json
import os
import shutil
import tempfile
import unittest

from harness import api_headers, build_request
from fake_graphql import operation_name  # tests/upstream: on harness's path
from observe_case import ObserveCase
from proxy_case import CRED_ALICE, ProxyCase, read_json_lines, start_proxy
from proxy_mode_case import (ProxyModeCase, export_ca, run_gh,
                             start_proxy_mode, tool_missing)

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(os.path.dirname(HERE), "graphql", "corpus")

OWNER_AUTH = "token " + CRED_ALICE
NODE_QUERY = "GhpNodeRepositories"
BODY_MAX = 256 * 1024

# Where a client sends GraphQL: api.github.com's endpoint, and ghp's own
# host the way GitHub Enterprise clients do.
API = ("api.github.com", "/graphql")
ENTERPRISE = ("ghp.test", "/api/graphql")
SITES = (API, ENTERPRISE)

WIDGETS = 'repository(owner: "acme", name: "widgets")'


def needs(*tools):
    missing = tool_missing(*tools)
    return unittest.skipIf(missing is not None,
                           "%s is not installed" % missing)


def corpus(name):
    """A corpus request body, the bytes as the client sent them."""
    with open(os.path.join(CORPUS, name), "rb") as f:
        return f.read()


def corpus_with(name, **variables):
    """A corpus request with some variables changed (input=... replaces
    members of "input"); compact JSON."""
    obj = json.loads(corpus(name))
    for k, v in variables.items():
        if k == "input":
            obj["variables"]["input"].update(v)
        else:
            obj["variables"][k] = v
    return json.dumps(obj, separators=(",", ":")).encode()


def gql(query, variables=None, operation=None):
    """A request body of query (with variables and operationName when
    given)."""
    obj = {"query": query}
    if variables is not None:
        obj["variables"] = variables
    if operation is not None:
        obj["operationName"] = operation
    return json.dumps(obj).encode()


def chunked(body, size):
    """body in chunked transfer coding, chunks of size bytes."""
    out = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + size]),
                                      body[i:i + size])
                   for i in range(0, len(body), size))
    return out + b"0\r\n\r\n"


class GraphQLCase(ProxyCase):
    """Requests to /graphql and the checks of both ends."""

    def post(self, tok, body, site=API, headers=()):
        """POST body to site's GraphQL endpoint with token tok, the fake's
        records cleared first."""
        self.g.fake.clear()
        host, path = site
        return self.g.api("POST", path, tok, host=host, body=body,
                          headers=[("Content-Type", "application/json")] +
                          list(headers))

    def reached(self, n):
        """The GraphQL requests the fake got (once n have completed);
        every record the fake has must be one of them."""
        recs = self.forwarded(self.g, n)
        gql_recs = self.g.fake.graphql_requests()
        self.assertEqual(len(gql_recs), len(recs), "other requests than "
                         "GraphQL reached GitHub: %s" % [
                             (x["method"], x["target"]) for x in recs])
        return gql_recs

    def assertOwnersCredentialOnly(self, recs, tok):
        for x in recs:
            self.assertEqual(x["authorization"], [OWNER_AUTH],
                             "%s reached GitHub with %s" %
                             (x["operation"], x["authorization"]))
            self.assertEqual(x["path"], "/graphql", x)
            self.assertEqual(x["method"], "POST", x)
        self.assertEqual(self.g.fake.find(tok), [],
                         "the ghx_ token reached GitHub")
        self.assertEqual(self.g.fake.find(tok[:12]), [],
                         "part of the ghx_ token reached GitHub")

    def assertAnswered(self, r, tok, ops, body=None, ids=None):
        """r is GitHub's 200 answer; the fake got exactly the operations
        ops (None: anonymous), in order, all with the owner's credential;
        the last one's body was body (the client's, byte for byte); a
        GhpNodeRepositories among them asked for ids.  Returns (answer
        JSON, records)."""
        self.assertEqual(r.status, 200, r)
        answer = json.loads(r.body)
        self.assertIn("data", answer, answer)
        recs = self.reached(len(ops))
        self.assertEqual([x["operation"] for x in recs], list(ops),
                         "what reached GitHub")
        self.assertOwnersCredentialOnly(recs, tok)
        if body is not None:
            self.assertEqual(recs[-1]["body"], body.decode(),
                             "the request was not forwarded as sent")
        for x in recs:
            if x["operation"] == NODE_QUERY:
                self.assertNodeQuery(x, ids)
            else:
                self.assertEqual(x["answer"], "canned"
                                 if x["operation"] else "viewer", x)
        return answer, recs

    def assertNodeQuery(self, rec, ids):
        """rec is ghp's targets' query, asking for ids, answered."""
        self.assertEqual(rec["operation"], NODE_QUERY)
        self.assertEqual(rec["answer"], "nodes", rec)
        self.assertIn("nodes(ids: $ids)", rec["query"])
        if ids is not None:
            self.assertEqual(rec["variables"], {"ids": list(ids)})

    def assertRefused(self, r, status, tok, *contains, ids=None):
        """A refusal in GitHub's shape whose message is ghp's and holds
        each of contains; with ids, the fake got the targets' query for
        them and nothing else, else nothing at all.  Returns the
        message."""
        msg = self.assertGitHubError(r, status, *contains)
        self.assertTrue(msg.startswith("ghp: "), msg)
        if ids is None:
            self.assertNotForwarded(self.g, "a refused GraphQL request")
        else:
            recs = self.reached(1)
            self.assertEqual([x["operation"] for x in recs], [NODE_QUERY],
                             "a refused mutation reached GitHub")
            self.assertNodeQuery(recs[0], ids)
            self.assertOwnersCredentialOnly(recs, tok)
        return msg


# ------------------------------------------------------------ queries


class GraphQLQueryTest(GraphQLCase):
    """Queries with tokens of a few scopes."""

    @classmethod
    def setUpClass(cls):
        cls.g = start_proxy(cls, workers=2)
        new = cls.g.new_token
        cls.prs, _ = new("alice", "acme/widgets", "pull_requests:read")
        cls.iss, _ = new("alice", "acme/widgets", "issues:write")
        cls.gadgets, _ = new("alice", "acme/gadgets",
                             "issues:read,pull_requests:read")

    def setUp(self):
        self.g.fake.clear()

    def test_allowed_queries_are_answered_with_the_owners_credential(self):
        cases = (
            (self.prs, corpus("pr-list-1-PullRequestList.json"),
             "PullRequestList"),
            (self.iss, corpus("issue-list-1-IssueList.json"), "IssueList"),
            (self.iss, corpus("issue-view-1-IssueByNumber.json"),
             "IssueByNumber"),
            (self.iss, corpus("issue-create-1-RepositoryInfo.json"),
             "RepositoryInfo"),
            (self.gadgets, corpus_with("pr-list-1-PullRequestList.json",
                                       repo="gadgets"), "PullRequestList"),
            (self.prs, corpus("api-graphql-1-anonymous.json"), None),
        )
        for site in SITES:
            for tok, body, op in cases:
                with self.subTest(site=site[0], operation=op,
                                  token=tok[:8]):
                    r = self.post(tok, body, site)
                    answer, _ = self.assertAnswered(r, tok, [op], body)
                    data = answer["data"]
                    if op == "PullRequestList":
                        prs = data["repository"]["pullRequests"]["nodes"]
                        self.assertEqual([p["number"] for p in prs], [7, 8])
                        repo = "acme/gadgets" if tok == self.gadgets \
                            else "acme/widgets"
                        self.assertTrue(prs[0]["url"].startswith(
                            "https://github.com/%s/pull/" % repo), prs[0])
                    elif op == "IssueByNumber":
                        self.assertEqual(data["repository"]["issue"]
                                         ["title"], "Seeded issue 1")
                    elif op is None:
                        self.assertEqual(data, {"viewer": {"login":
                                                           "alice"}})

    def test_repository_data_needs_its_permission(self):
        cases = (
            (self.iss, corpus("pr-list-1-PullRequestList.json"),
             "repository.pullRequests: needs pull_requests:read on "
             "acme/widgets"),
            (self.prs, corpus("issue-list-1-IssueList.json"),
             "repository.issues: needs issues:read on acme/widgets"),
            (self.prs, gql("{ %s { issue(number: 1) { title body } } }" %
                           WIDGETS),
             "repository.issue: needs issues:read on acme/widgets"),
            (self.iss, gql("{ %s { object(expression: \"HEAD:README.md\") "
                           "{ ... on Blob { text } } } }" % WIDGETS),
             "needs contents:read"),
        )
        for site in SITES:
            for tok, body, why in cases:
                with self.subTest(site=site[0], why=why):
                    self.assertRefused(self.post(tok, body, site), 403, tok,
                                       why)

    def test_issue_or_pull_request_reads_need_the_permission_of_each(self):
        """issueOrPullRequest gives an issue or a pull request: what the
        query reads of an Issue needs issues:read, as GET
        /repos/{owner}/{repo}/issues/{n} does, whatever the permission
        that reads a pull request."""
        r = self.g.api("GET", "/repos/acme/widgets/issues/1", self.prs)
        self.assertGitHubError(r, 403, "issues:read")
        for body in (
                gql("{ %s { issueOrPullRequest(number: 1) { ... on Issue "
                    "{ title body } } } }" % WIDGETS),
                gql("query Q { %s { issueOrPullRequest(number: 1) { ...F } "
                    "} } fragment F on Issue { body }" % WIDGETS)):
            with self.subTest(body=body[:80]):
                self.assertRefused(self.post(self.prs, body), 403,
                                   self.prs, "issues:read")

    def test_repository_outside_the_scope(self):
        cases = (
            (self.prs, corpus_with("pr-list-1-PullRequestList.json",
                                   repo="gadgets"), "acme/gadgets"),
            (self.gadgets, corpus("pr-list-1-PullRequestList.json"),
             "acme/widgets"),
            (self.prs, gql('{ repository(owner: "acme", name: "gadgets") '
                           '{ pullRequests(first: 1) { totalCount } } }'),
             "acme/gadgets"),
            (self.prs, corpus("octokit-operation-name.json"),
             "acme/gadgets"),
            (self.prs, gql('{ repository(owner: "octo", name: "public") '
                           '{ name } }'), "octo/public"),
        )
        for site in SITES:
            for tok, body, repo in cases:
                with self.subTest(site=site[0], repo=repo, body=body[:60]):
                    self.assertRefused(
                        self.post(tok, body, site), 403, tok,
                        "repository: repository %s is outside this "
                        "token's scope" % repo)

    def test_the_operation_named_is_the_one_checked(self):
        """Of two operations, operationName chooses the one ghp checks
        (and GitHub runs)."""
        obj = json.loads(corpus("octokit-operation-name.json"))
        obj["operationName"] = "widgets"
        body = json.dumps(obj).encode()
        r = self.post(self.prs, body)
        self.assertEqual(r.status, 200, r)
        recs = self.reached(1)
        self.assertEqual([x["operation"] for x in recs], ["widgets"])
        self.assertEqual(recs[0]["body"], body.decode())
        self.assertOwnersCredentialOnly(recs, self.prs)

    def test_queries_across_repositories_are_refused(self):
        cases = (
            (corpus("issue-list-label-1-IssueSearch.json"),
             "search: refused"),
            (corpus("pr-list-label-1-PullRequestSearch.json"),
             "search: refused"),
            (corpus("status-1-AssignedSearch.json"), "search: refused"),
            (corpus("octokit-search.json"), "search: refused"),
            (corpus("api-graphql-paginate-1-anonymous.json"),
             "viewer.repositories: reaches repositories"),
            (corpus("gist-list-1-GistList.json"), "viewer.gists"),
            (corpus("octokit-resource-url.json"), "resource: refused"),
            (gql('{ organization(login: "acme") { repository(name: '
                 '"widgets") { name } } }'), "organization.repository"),
        )
        for site in SITES:
            for body, why in cases:
                with self.subTest(site=site[0], why=why, body=body[:60]):
                    self.assertRefused(self.post(self.iss, body, site), 403,
                                       self.iss, why)

    def test_subscriptions_are_refused_introspection_is_not(self):
        for site in SITES:
            with self.subTest(site=site[0]):
                self.assertRefused(self.post(
                    self.prs, gql("subscription S { viewer { login } }"),
                    site), 403, self.prs, "subscriptions are refused")
                body = gql("{ __schema { queryType { name } } }")
                r = self.post(self.prs, body, site)
                self.assertEqual(r.status, 200, r)
                recs = self.reached(1)
                self.assertEqual([x["body"] for x in recs], [body.decode()])
                self.assertOwnersCredentialOnly(recs, self.prs)


# ------------------------------------------------- mutations and nodes


class GraphQLMutationTest(GraphQLCase):
    """Mutations and node(id:) queries: the targets asked of GitHub
    first."""

    @classmethod
    def setUpClass(cls):
        cls.g = start_proxy(cls, workers=2)
        new = cls.g.new_token
        cls.iss, _ = new("alice", "acme/widgets", "issues:write")
        cls.prs, _ = new("alice", "acme/widgets", "pull_requests:read")
        cls.prw, _ = new("alice", "acme/widgets", "pull_requests:write")
        cls.read, _ = new("alice", "acme/widgets",
                          "issues:read,pull_requests:read")
        cls.both, _ = new("alice", "acme/widgets,acme/gadgets",
                          "issues:write")
        # Octokit's example names its operation after the field.
        cls.g.fake.add_graphql_answer("addComment", {"data": {
            "addComment": {"commentEdge": {"node": {
                "url": "https://github.com/acme/widgets/issues/1"
                       "#issuecomment-1003"}}}}})

    def setUp(self):
        self.g.fake.clear()
        self.addCleanup(self.g.fake.clear_faults)

    def test_mutations_on_targets_in_scope(self):
        cases = (
            (self.iss, "issue-comment-2-CommentCreate.json",
             ["I_kwDOacmewidgets1"], "addComment"),
            (self.iss, "issue-create-2-IssueCreate.json",
             ["R_kgDOacmewidgets"], "createIssue"),
            (self.iss, "issue-close-2-IssueClose.json",
             ["I_kwDOacmewidgets1"], "closeIssue"),
            (self.iss, "octokit-mutation-add-comment.json",
             ["I_kwDOacmewidgets1"], "addComment"),
            (self.prw, "pr-close-2-PullRequestClose.json",
             ["PR_kwDOacmewidgets7"], "closePullRequest"),
            (self.prw, "pr-create-3-PullRequestCreate.json",
             ["R_kgDOacmewidgets"], "createPullRequest"),
            (self.both, "issue-transfer-3-IssueTransfer.json",
             ["I_kwDOacmewidgets1", "R_kgDOacmegadgets"], "transferIssue"),
        )
        for site in SITES:
            for tok, name, ids, field in cases:
                with self.subTest(site=site[0], request=name):
                    body = corpus(name)
                    op = operation_name(body)
                    answer, _ = self.assertAnswered(
                        self.post(tok, body, site), tok, [NODE_QUERY, op],
                        body, ids)
                    self.assertIn(field, answer["data"])
                    self.assertNotIn("nodes", answer["data"],
                                     "the targets' answer reached the "
                                     "client")

    def test_target_in_another_repository(self):
        cases = (
            (self.iss, corpus_with("issue-comment-2-CommentCreate.json",
                                   input={"subjectId":
                                          "I_kwDOacmegadgets1"}),
             ["I_kwDOacmegadgets1"], "I_kwDOacmegadgets1"),
            (self.iss, corpus_with("issue-create-2-IssueCreate.json",
                                   input={"repositoryId":
                                          "R_kgDOacmegadgets"}),
             ["R_kgDOacmegadgets"], "R_kgDOacmegadgets"),
            (self.iss, corpus("issue-transfer-3-IssueTransfer.json"),
             ["I_kwDOacmewidgets1", "R_kgDOacmegadgets"],
             "R_kgDOacmegadgets"),
            (self.prw, corpus_with("pr-close-2-PullRequestClose.json",
                                   input={"pullRequestId":
                                          "PR_kwDOacmegadgets7"}),
             ["PR_kwDOacmegadgets7"], "PR_kwDOacmegadgets7"),
        )
        for site in SITES:
            for tok, body, ids, culprit in cases:
                with self.subTest(site=site[0], target=culprit):
                    self.assertRefused(
                        self.post(tok, body, site), 403, tok,
                        "%s is in repository acme/gadgets, outside this "
                        "token's scope" % culprit, ids=ids)

    def test_unknown_target_or_one_of_no_repository(self):
        for sid in ("I_kwDOnosuchrepo1", "U_kgDOalice", "O_kgDOacme"):
            with self.subTest(subjectId=sid):
                body = corpus_with("issue-comment-2-CommentCreate.json",
                                   input={"subjectId": sid})
                self.assertRefused(self.post(self.iss, body), 403, self.iss,
                                   "cannot tell which repository %s" % sid,
                                   ids=[sid])

    def test_mutation_without_its_permission_asks_github_nothing(self):
        cases = (
            (self.prs, "issue-comment-2-CommentCreate.json",
             "addComment: needs"),
            (self.prs, "issue-create-2-IssueCreate.json",
             "createIssue: needs issues:write"),
            (self.prs, "pr-close-2-PullRequestClose.json",
             "closePullRequest: needs pull_requests:write"),
            (self.iss, "pr-create-3-PullRequestCreate.json",
             "createPullRequest: needs pull_requests:write"),
            (self.read, "issue-close-2-IssueClose.json",
             "closeIssue: needs issues:write"),
            (self.iss, "issue-delete-2-IssueDelete.json",
             "deleteIssue: needs issues:admin"),
        )
        for site in SITES:
            for tok, name, why in cases:
                with self.subTest(site=site[0], request=name):
                    self.assertRefused(self.post(tok, corpus(name), site),
                                       403, tok, why)

    def test_mutations_not_in_the_policy(self):
        cases = (
            (corpus("api-graphql-mutation-1-anonymous.json"), "addStar"),
            (corpus("repo-archive-2-ArchiveRepository.json"),
             "archiveRepository"),
            (corpus("repo-create-1-RepositoryCreate.json"),
             "createRepository"),
            (gql('mutation { updateRepository(input: {repositoryId: '
                 '"R_kgDOacmewidgets", name: "x"}) { clientMutationId } }'),
             "updateRepository"),
        )
        for body, field in cases:
            with self.subTest(mutation=field):
                self.assertRefused(self.post(self.both, body), 403,
                                   self.both, field,
                                   "not in ghp's GraphQL policy")

    def test_node_queries(self):
        body = corpus("issue-view-comments-2-CommentsForIssue.json")
        for site in SITES:
            with self.subTest(site=site[0]):
                answer, _ = self.assertAnswered(
                    self.post(self.read, body, site), self.read,
                    [NODE_QUERY, "CommentsForIssue"], body,
                    ["I_kwDOacmewidgets1"])
                comments = answer["data"]["node"]["comments"]["nodes"]
                self.assertEqual([c["body"] for c in comments],
                                 ["A comment."])
        # A pull request's id, and several ids at once.
        b = corpus_with("issue-view-comments-2-CommentsForIssue.json",
                        id="PR_kwDOacmewidgets7")
        self.assertAnswered(self.post(self.read, b), self.read,
                            [NODE_QUERY, "CommentsForIssue"], b,
                            ["PR_kwDOacmewidgets7"])
        b = gql("query Two($ids: [ID!]!) { nodes(ids: $ids) { ... on Issue "
                "{ title } } }", {"ids": ["I_kwDOacmewidgets1",
                                          "I_kwDOacmewidgets2"]})
        r = self.post(self.read, b)
        self.assertEqual(r.status, 200, r)
        recs = self.reached(2)
        self.assertEqual([x["operation"] for x in recs], [NODE_QUERY, "Two"])
        self.assertNodeQuery(recs[0], ["I_kwDOacmewidgets1",
                                       "I_kwDOacmewidgets2"])
        self.assertOwnersCredentialOnly(recs, self.read)

    def test_node_queries_refused(self):
        for nid, why in (("I_kwDOacmegadgets1", "I_kwDOacmegadgets1 is in "
                          "repository acme/gadgets, outside this token's "
                          "scope"),
                         ("I_kwDOnosuchrepo1", "cannot tell which "
                          "repository I_kwDOnosuchrepo1")):
            with self.subTest(id=nid):
                b = corpus_with(
                    "issue-view-comments-2-CommentsForIssue.json", id=nid)
                self.assertRefused(self.post(self.read, b), 403, self.read,
                                   why, ids=[nid])
        self.assertRefused(self.post(self.read,
                                     corpus("octokit-node-by-id.json")),
                           403, self.read, "acme/gadgets",
                           ids=["I_kwDOacmegadgets1"])
        b = gql('{ nodes(ids: ["I_kwDOacmewidgets1", "I_kwDOacmegadgets1"]) '
                '{ ... on Issue { title } } }')
        self.assertRefused(self.post(self.read, b), 403, self.read,
                           "I_kwDOacmegadgets1", "acme/gadgets",
                           ids=["I_kwDOacmewidgets1", "I_kwDOacmegadgets1"])
        # The document may read an issue there: issues:read is needed,
        # whatever the id turns out to be; nothing is asked.
        self.assertRefused(self.post(self.prs, corpus(
            "issue-view-comments-2-CommentsForIssue.json")), 403, self.prs,
            "node", "needs issues:read")
        # With issues:read a pull request reads as an issue, no more.
        b = gql('query Q($id: ID!) { node(id: $id) { ... on PullRequest '
                '{ title headRefName } } }', {"id": "PR_kwDOacmewidgets7"})
        self.assertRefused(self.post(self.iss, b), 403, self.iss,
                           "headRefName", "needs pull_requests:read")

    def test_github_failing_the_targets_query(self):
        body = corpus("issue-comment-2-CommentCreate.json")
        for mode in ("500", "reset"):
            with self.subTest(fault=mode):
                self.g.fake.clear()
                self.g.fake.set_fault(1, mode, match="/graphql")
                r = self.g.api("POST", "/graphql", self.iss, body=body)
                self.assertGitHubError(r, 502, "could not ask GitHub")
                recs = self.reached(1)
                self.assertEqual([x["operation"] for x in recs],
                                 [NODE_QUERY], "the mutation went on")
                self.assertOwnersCredentialOnly(recs, self.iss)
        self.g.fake.clear_faults()
        self.assertAnswered(self.post(self.iss, body), self.iss,
                            [NODE_QUERY, "CommentCreate"], body)

    def test_one_keep_alive_connection(self):
        """Answers in order on one connection, whatever each needed:
        forwarded at once, refused, a targets' query first.  A refusal
        may end the connection, but says so (Connection: close)."""
        steps = (
            (corpus("issue-view-1-IssueByNumber.json"), 200,
             ["IssueByNumber"]),
            (corpus("issue-comment-2-CommentCreate.json"), 200,
             [NODE_QUERY, "CommentCreate"]),
            (corpus("issue-list-label-1-IssueSearch.json"), 403, []),
            (corpus("api-graphql-1-anonymous.json"), 200, [None]),
            (corpus_with("issue-comment-2-CommentCreate.json",
                         input={"subjectId": "I_kwDOacmegadgets1"}), 403,
             [NODE_QUERY]),
            (b'[{"query": "{ viewer { login } }"}]', 400, []),
            (corpus("issue-close-2-IssueClose.json"), 200,
             [NODE_QUERY, "IssueClose"]),
            (corpus("issue-view-1-IssueByNumber.json"), 200,
             ["IssueByNumber"]),
        )
        want = []
        c = self.g.conn()
        try:
            for body, status, ops in steps:
                c.request("POST", "/graphql", api_headers(
                    "api.github.com", self.iss), body)
                r = c.read_response("POST")
                self.assertEqual(r.status, status, (body[:60], r))
                want += ops
                if status == 200:
                    self.assertNotEqual(r.headers.get("connection"),
                                        "close", r)
                if r.headers.get("connection") == "close":
                    self.assertTrue(c.closed_by_server())
                    c.close()
                    c = self.g.conn()
        finally:
            c.close()
        recs = self.reached(len(want))
        self.assertEqual([x["operation"] for x in recs], want)
        self.assertOwnersCredentialOnly(recs, self.iss)


# ------------------------------------------------------- request shape


class GraphQLRequestShapeTest(GraphQLCase):

    @classmethod
    def setUpClass(cls):
        # The fake keeps bodies up to 512 KiB in its records.
        cls.g = start_proxy(cls, workers=2,
                            fake_kw={"record_body_limit": 2 * BODY_MAX})
        cls.tok, _ = cls.g.new_token("alice", "acme/widgets",
                                     "issues:read,pull_requests:read")

    def setUp(self):
        self.g.fake.clear()

    def test_malformed_requests_are_400(self):
        v = '{"query": "{ viewer { login } }"}'
        cases = (
            ("batch", ("[%s]" % v).encode(), "batched"),
            ("batch of two", ("[%s, %s]" % (v, v)).encode(), "batched"),
            ("empty array", b"[]", "batched"),
            ("persisted id", b'{"id": "6fd8b1", "variables": {}}',
             "persisted queries are refused"),
            ("persisted documentId", b'{"documentId": "6fd8b1"}',
             "persisted queries are refused"),
            ("persisted extension", b'{"extensions": {"persistedQuery": '
             b'{"version": 1, "sha256Hash": "ab12"}}}',
             "persisted queries are refused"),
            ("duplicate query", b'{"query": "{ viewer { login } }", '
             b'"query": "{ viewer { login } }"}', "duplicate"),
            ("duplicate variable", b'{"query": "query Q($name: String!) { '
             b'repository(owner: \\"acme\\", name: $name) { name } }", '
             b'"variables": {"name": "widgets", "name": "gadgets"}}',
             "duplicate"),
            ("invalid UTF-8", b'{"query": "{ viewer { login } } # \xff\xfe"}',
             "Problems parsing JSON"),
            ("overlong UTF-8", b'{"query": "{ viewer { login } } # \xc0\xaf"}',
             "Problems parsing JSON"),
            ("not JSON", b'{"query": ', "Problems parsing JSON"),
            ("a number", b"5", "Problems parsing JSON"),
            ("no query", b"{}", "query"),
            ("query not a string", b'{"query": 5}', "query"),
            ("unparsable document", b'{"query": "{ viewer { login }"}',
             "does not parse"),
            ("empty document", b'{"query": ""}', "does not parse"),
            ("variables not an object",
             b'{"query": "{ viewer { login } }", "variables": [1]}',
             "variables must be a JSON object"),
            ("operationName not a string",
             b'{"query": "query A { viewer { login } }", '
             b'"operationName": 5}', "operationName"),
            ("operationName of no operation",
             b'{"query": "query A { viewer { login } }", '
             b'"operationName": "B"}', "operationName"),
            ("two operations, no name",
             gql("query A { viewer { login } } query B { viewer { login } }"),
             "several operations"),
        )
        for site in SITES:
            for what, body, why in cases:
                with self.subTest(site=site[0], what=what):
                    self.assertRefused(self.post(self.tok, body, site), 400,
                                       self.tok, why)

    def test_an_argument_given_twice_is_refused(self):
        """Not one of the two chosen: GitHub might choose the other."""
        for body in (
                gql('{ repository(owner: "acme", owner: "octo", name: '
                    '"widgets") { name } }'),
                gql('{ repository(owner: "octo", name: "public", owner: '
                    '"acme", name: "widgets") { name } }')):
            with self.subTest(body=body[:70]):
                r = self.post(self.tok, body)
                self.assertIn(r.status, (400, 403), r)
                self.assertRefused(r, r.status, self.tok)

    def test_body_over_256_kib_is_413_and_the_connection_closed(self):
        head = b'{"query": "{ viewer { login } }", "variables": {"x": "'
        big = head + b"a" * (BODY_MAX + 1 - len(head) - 3) + b'"}}'
        self.assertEqual(len(big), BODY_MAX + 1)
        for how in ("length", "expect", "chunked"):
            with self.subTest(framing=how):
                self.g.fake.clear()
                with self.g.conn() as c:
                    if how == "chunked":
                        c.request("POST", "/graphql", api_headers(
                            "api.github.com", self.tok,
                            headers=[("Transfer-Encoding", "chunked")]),
                            chunked(big, 65536))
                    elif how == "expect":
                        c.send(build_request("POST", "/graphql", api_headers(
                            "api.github.com", self.tok, headers=[
                                ("Expect", "100-continue"),
                                ("Content-Length", str(len(big)))])))
                    else:
                        c.request("POST", "/graphql", api_headers(
                            "api.github.com", self.tok), big)
                    r = c.read_response("POST")
                    self.assertEqual(r.interim, [], "100 Continue for a "
                                     "body that is refused by its length")
                    self.assertRefused(r, 413, self.tok, "over 256 KiB")
                    self.assertTrue(c.closed_by_server(),
                                    "the connection stayed open")

    def test_body_of_256_kib_is_forwarded(self):
        head = b'{"query": "{ viewer { login } }", "variables": {"x": "'
        body = head + b"a" * (BODY_MAX - len(head) - 3) + b'"}}'
        self.assertEqual(len(body), BODY_MAX)
        for framing, data in (("length", body),
                              ("chunked", chunked(body, 10000))):
            with self.subTest(framing=framing):
                self.g.fake.clear()
                hdrs = [("Transfer-Encoding", "chunked")] \
                    if framing == "chunked" else []
                r = self.post(self.tok, data, headers=hdrs)
                self.assertAnswered(r, self.tok, [None], body)

    def test_chunked_body(self):
        body = corpus("pr-list-1-PullRequestList.json")
        with self.g.conn() as c:
            c.request("POST", "/graphql", api_headers(
                "api.github.com", self.tok,
                headers=[("Transfer-Encoding", "chunked")]),
                chunked(body, 7))
            r = c.read_response("POST")
            self.assertAnswered(r, self.tok, ["PullRequestList"], body)
        rec = self.forwarded(self.g, 1)[0]
        self.assertEqual(rec["body"], body.decode())

    def test_expect_100_continue(self):
        for name, ops in (("pr-list-1-PullRequestList.json",
                           ["PullRequestList"]),
                          ("issue-view-comments-2-CommentsForIssue.json",
                           [NODE_QUERY, "CommentsForIssue"])):
            with self.subTest(request=name):
                body = corpus(name)
                self.g.fake.clear()
                r = self.post_after_continue(body)
                self.assertAnswered(r, self.tok, ops, body)

    def test_expect_100_continue_refused_request(self):
        r = self.post_after_continue(
            corpus("issue-list-label-1-IssueSearch.json"))
        self.assertRefused(r, 403, self.tok, "search: refused")

    def post_after_continue(self, body):
        """POST /graphql with Expect: 100-continue: the body only after
        ghp's 100, then its answer."""
        with self.g.conn() as c:
            c.send(build_request("POST", "/graphql", api_headers(
                "api.github.com", self.tok, headers=[
                    ("Expect", "100-continue"),
                    ("Content-Length", str(len(body)))])))
            first = c.read_head()
            self.assertEqual(first.status, 100, first)
            c.send(body)
            return c.read_response("POST")


class GraphQLNoBodyTest(GraphQLCase):
    """A POST /graphql with no body: a malformed request, 400; the
    worker that read it lives on."""

    @classmethod
    def setUpClass(cls):
        cls.g = start_proxy(cls, workers=2)
        cls.tok, _ = cls.g.new_token("alice", "acme/widgets",
                                     "issues:read")

    def setUp(self):
        self.g.fake.clear()

    def test_no_body(self):
        workers = sorted(self.g.worker_pids())
        for what, headers, body in (
                ("Content-Length: 0", [("Content-Length", "0")], None),
                ("no framing at all", [], None),
                ("empty chunked", [("Transfer-Encoding", "chunked")],
                 b"0\r\n\r\n")):
            with self.subTest(what=what):
                self.g.fake.clear()
                with self.g.conn() as c:
                    c.send(build_request("POST", "/graphql", api_headers(
                        "api.github.com", self.tok, headers=headers), body))
                    r = c.read_response("POST")
                self.assertRefused(r, 400, self.tok)
        self.assertEqual(sorted(self.g.worker_pids()), workers,
                         "a worker died:\n" + self.g.log_tail(10))


# ---------------------------------------------------------- the audit


class GraphQLAuditTest(ObserveCase, GraphQLCase):
    """The audit record of a GraphQL request: its decision, and
    "graphql": {"type", "operation"}."""

    @classmethod
    def setUpClass(cls):
        cls.g = start_proxy(cls, workers=2)
        new = cls.g.new_token
        cls.prs, cls.prs_id = new("alice", "acme/widgets",
                                  "pull_requests:read")
        cls.iss, cls.iss_id = new("alice", "acme/widgets", "issues:write")

    def setUp(self):
        self.g.fake.clear()

    def audited(self, tok, body, status):
        r, acc, aud, (t0, t1) = self.traced(
            self.g, "POST", "/graphql", token=tok, body=body)
        self.assertEqual(r.status, status, r)
        self.assertIsNotNone(aud, "no audit record")
        self.assertAuditShape(aud, t0, t1)
        self.assertEqual((aud["method"], aud["path"], aud["endpoint"]),
                         ("POST", "/graphql", "/graphql"))
        self.assertEqual(aud["token_type"], "user")
        self.assertEqual(aud["owner"], "alice")
        self.assertDisplayPrefix(aud, tok)
        self.assertEqual(acc["status"], status)
        return r, aud

    def test_allowed_query(self):
        r, aud = self.audited(self.prs, corpus(
            "pr-list-1-PullRequestList.json"), 200)
        self.assertEqual(aud["decision"], "allow")
        self.assertEqual(aud["graphql"], {"type": "query",
                                          "operation": "PullRequestList"})
        self.assertEqual(aud["token_id"], self.prs_id)
        self.assertEqual(aud["repository"], "acme/widgets")
        self.assertEqual(aud["permission"], "pull_requests:read")
        self.assertIsNone(aud["status"])
        self.assertReason(aud, "PullRequestList")
        self.assertEqual(len(self.reached(1)), 1)

    def test_anonymous_query(self):
        r, aud = self.audited(self.prs, corpus(
            "api-graphql-1-anonymous.json"), 200)
        self.assertEqual(aud["decision"], "allow")
        self.assertEqual(aud["graphql"], {"type": "query",
                                          "operation": None})

    def test_refused_query(self):
        r, aud = self.audited(self.iss, corpus(
            "issue-list-label-1-IssueSearch.json"), 403)
        self.assertNotForwarded(self.g)
        self.assertEqual(aud["decision"], "deny")
        self.assertEqual(aud["status"], 403)
        self.assertEqual(aud["graphql"], {"type": "query",
                                          "operation": "IssueSearch"})
        self.assertReason(aud, "search: refused")
        self.assertEqual(aud["token_id"], self.iss_id)
        r, aud = self.audited(self.iss, corpus(
            "pr-list-1-PullRequestList.json"), 403)
        self.assertReason(aud, "repository.pullRequests",
                          "pull_requests:read")
        self.assertEqual(aud["graphql"], {"type": "query",
                                          "operation": "PullRequestList"})

    def test_allowed_mutation_one_record(self):
        before = len(read_json_lines(self.g.audit_path))
        r, aud = self.audited(self.iss, corpus(
            "issue-comment-2-CommentCreate.json"), 200)
        self.assertEqual(aud["decision"], "allow")
        self.assertEqual(aud["graphql"], {"type": "mutation",
                                          "operation": "CommentCreate"})
        self.assertEqual(aud["repository"], "acme/widgets")
        self.assertEqual(aud["permission"], "issues:write")
        self.assertIsNone(aud["status"])
        self.assertReason(aud, "CommentCreate")
        self.assertEqual([x["operation"] for x in self.reached(2)],
                         [NODE_QUERY, "CommentCreate"])
        self.assertEqual(len(read_json_lines(self.g.audit_path)),
                         before + 1, "the targets' query has a record "
                         "of its own")

    def test_refused_mutations(self):
        body = corpus_with("issue-comment-2-CommentCreate.json",
                           input={"subjectId": "I_kwDOacmegadgets1"})
        r, aud = self.audited(self.iss, body, 403)
        self.assertEqual(aud["decision"], "deny")
        self.assertEqual(aud["status"], 403)
        self.assertEqual(aud["graphql"], {"type": "mutation",
                                          "operation": "CommentCreate"})
        self.assertReason(aud, "acme/gadgets")
        self.assertEqual([x["operation"] for x in self.reached(1)],
                         [NODE_QUERY])
        self.g.fake.clear()
        r, aud = self.audited(self.prs, corpus(
            "issue-comment-2-CommentCreate.json"), 403)
        self.assertNotForwarded(self.g)
        self.assertEqual(aud["decision"], "deny")
        self.assertEqual(aud["graphql"], {"type": "mutation",
                                          "operation": "CommentCreate"})
        self.assertReason(aud, "addComment")
        r, aud = self.audited(self.iss, corpus(
            "api-graphql-mutation-1-anonymous.json"), 403)
        self.assertEqual(aud["graphql"], {"type": "mutation",
                                          "operation": None})
        self.assertReason(aud, "addStar")

    def test_refused_subscription_and_malformed_request(self):
        r, aud = self.audited(self.prs, gql(
            "subscription Watch { viewer { login } }"), 403)
        self.assertEqual(aud["decision"], "deny")
        self.assertEqual(aud["graphql"], {"type": "subscription",
                                          "operation": "Watch"})
        r, aud = self.audited(self.prs, b'[{"query": "{ viewer { login } '
                              b'}"}]', 400)
        self.assertEqual(aud["decision"], "deny")
        self.assertEqual(aud["status"], 400)
        self.assertReason(aud, "batched")
        self.assertIsNone(aud.get("graphql"))
        self.assertNotForwarded(self.g)

    def test_no_token_or_credential_in_the_logs(self):
        self.audited(self.iss, corpus("issue-comment-2-CommentCreate.json"),
                     200)
        self.audited(self.iss, corpus("issue-list-label-1-IssueSearch.json"),
                     403)
        for tok in (self.iss, self.prs):
            self.assertTokenNowhere(self.g, tok)
        for path in (self.g.audit_path, self.g.access_path,
                     self.g.log_path):
            with open(path, "rb") as f:
                self.assertNotIn(CRED_ALICE.encode(), f.read(), path)


# ---------------------------------------------------------------- gh


@needs("gh")
class GhGraphQLTest(ProxyModeCase):
    """The real gh through HTTPS_PROXY, GH_TOKEN a placeholder and the
    proxy URL carrying a ghx_ token for acme/widgets."""

    @classmethod
    def setUpClass(cls):
        cls.g = start_proxy_mode(cls, workers=2)
        cls.tok, _ = cls.g.new_token(
            "alice", "acme/widgets",
            "pull_requests:write,issues:write,contents:read")

    def setUp(self):
        super().setUp()
        self.g.fake.clear()
        self.ca = export_ca(self.g, self.tool.dir)

    def gh(self, *args):
        """gh ARGS in a directory that is no git repository, with a
        TMPDIR of its own (gh caches answers there)."""
        tmp = tempfile.mkdtemp(dir=self.tool.dir)
        try:
            return run_gh(self.tool, self.g, self.tok, self.ca, *args,
                          env={"TMPDIR": tmp, "TERM": "dumb"})
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def graphql_ops(self, n):
        self.forwarded(self.g, n)
        recs = self.g.fake.graphql_requests()
        return [x["operation"] for x in recs], recs

    def assertOwnersCredentialOnly(self):
        recs = self.g.fake.requests()
        for x in recs:
            self.assertAuthorizationWas(x, OWNER_AUTH)
        self.assertEqual(self.g.fake.find(self.tok), [])
        self.assertEqual(self.g.fake.find("placeholder"), [])

    def assertSucceeded(self, p, *out):
        self.assertEqual(p.returncode, 0, "gh: %s%s" % (p.stdout, p.stderr))
        for s in out:
            self.assertIn(s, p.stdout)

    def assertFailed(self, p, *err):
        self.assertNotEqual(p.returncode, 0, "gh should have failed: %s" %
                            p.stdout)
        self.assertIn("HTTP 403", p.stderr)
        for s in err:
            self.assertIn(s, p.stderr)
        self.assertNotForwarded(self.g, "gh's refused request")

    def test_pr_list(self):
        p = self.gh("pr", "list", "-R", "acme/widgets")
        self.assertSucceeded(p, "Seeded pull request 2", "feature-2")
        ops, _ = self.graphql_ops(1)
        self.assertEqual(ops, ["PullRequestList"])
        self.assertOwnersCredentialOnly()

    def test_issue_view(self):
        p = self.gh("issue", "view", "1", "-R", "acme/widgets")
        self.assertSucceeded(p, "Seeded issue 1", "Body of seeded issue 1")
        ops, _ = self.graphql_ops(1)
        self.assertEqual(ops, ["IssueByNumber"])
        self.assertOwnersCredentialOnly()

    def test_issue_view_comments(self):
        p = self.gh("issue", "view", "1", "--comments", "-R", "acme/widgets")
        self.assertSucceeded(p, "A comment.")
        ops, recs = self.graphql_ops(3)
        self.assertEqual(ops, ["IssueByNumber", NODE_QUERY,
                               "CommentsForIssue"])
        self.assertEqual(recs[1]["variables"], {"ids": ["I_kwDOacmewidgets1"]})
        self.assertOwnersCredentialOnly()

    def test_repo_view(self):
        p = self.gh("repo", "view", "acme/widgets")
        self.assertSucceeded(p, "acme/widgets")
        ops, _ = self.graphql_ops(2)
        self.assertEqual(ops, ["RepositoryInfo"])
        self.assertIn("/repos/acme/widgets/readme",
                      [x["path"] for x in self.g.fake.requests()])
        self.assertOwnersCredentialOnly()

    def test_pr_create(self):
        p = self.gh("pr", "create", "-R", "acme/widgets", "--title", "t",
                    "--body", "b", "--head", "feature-1", "--base", "main")
        self.assertSucceeded(p, "https://github.com/acme/widgets/pull/9")
        ops, recs = self.graphql_ops(4)
        self.assertEqual(ops, ["RepositoryInfo", "PullRequestForBranch",
                               NODE_QUERY, "PullRequestCreate"])
        self.assertEqual(recs[2]["variables"], {"ids": ["R_kgDOacmewidgets"]})
        self.assertEqual(recs[3]["variables"]["input"]["headRefName"],
                         "feature-1")
        self.assertOwnersCredentialOnly()

    def test_issue_comment(self):
        p = self.gh("issue", "comment", "1", "-R", "acme/widgets", "--body",
                    "hi")
        self.assertSucceeded(p, "issuecomment")
        ops, recs = self.graphql_ops(3)
        self.assertEqual(ops, ["IssueByNumber", NODE_QUERY, "CommentCreate"])
        self.assertOwnersCredentialOnly()

    def test_issue_list_with_a_label_uses_search_and_fails(self):
        p = self.gh("issue", "list", "-R", "acme/widgets", "--label", "bug")
        self.assertFailed(p, "ghp: search: refused")

    def test_pr_list_outside_the_scope_fails(self):
        p = self.gh("pr", "list", "-R", "acme/gadgets")
        self.assertFailed(p, "repository acme/gadgets is outside this "
                          "token's scope")


if __name__ == "__main__":
    unittest.main()
