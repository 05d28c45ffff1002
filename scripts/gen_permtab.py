#!/usr/bin/env python3
"""gen_permtab.py: build ghp's endpoint permission table (C) from data.

usage: gen_permtab.py PERMISSIONS.tsv NO-PERMISSION.tsv OUTPUT.c

Reads GitHub's endpoint -> permission table and ghp's list of endpoints
that need no permission (see data/README.md), checks them strictly, and
writes a C file defining the tables declared in common/permtab.h: the
permission names, one row per data row, one endpoint per (method, path
template), and a segment trie per method for matching request paths.

Any oddity in the input stops the build with "file:line: message": a
wrong column count, an unknown kind, access, verb or flag, a malformed
path template, a duplicate row, two templates that would match the same
paths, or a path whose subject (repository, organization, account) this
script cannot classify.  Python 3 standard library only.
"""

import collections
import os
import re
import sys

PERM_HEADER = ["permission", "kind", "access", "verb", "path", "additional",
               "fine_grained_pat", "installation_token"]
NOPERM_HEADER = ["verb", "path", "scoped_tokens", "reason"]

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
KINDS = ["repository", "organization", "account", "enterprise"]
ACCESS = {"read": 1, "write": 2, "admin": 3}

# Trailing placeholders that GitHub lets span several segments: file paths,
# refs ("heads/main"), branch and tag names with slashes, "base...head".
MULTI_NAMES = {"path", "ref", "basehead", "dir", "branch", "tag"}

# Placeholder pairs that name a repository.
REPO_PAIRS = [("owner", "repo"), ("template_owner", "template_repo"),
              ("repo_owner", "repo_name")]

# Permissions that are alternatives when they appear on one endpoint:
# GitHub treats every pull request as an issue, and its reference pages
# list these endpoints as needing "at least one of" Issues or Pull
# requests.  Every other set of rows of one endpoint is a conjunction.
ALTERNATIVES = [{"issues", "pull_requests"}]

# A permission that, beside another on one endpoint, GitHub needs only
# for some requests: "workflows" beside "contents" is needed to touch
# files under .github/workflows/.
CONDITIONAL = {("workflows", "contents")}

SUBJECTS = ["PS_REPO", "PS_ORG", "PS_ORG_ALL", "PS_USER_ALL", "PS_SELF_ALL",
            "PS_SELF", "PS_USER_SELF", "PS_NO_REPO", "PS_TEAM_ID",
            "PS_ENTERPRISE"]

PERM_RE = re.compile(r"^[a-z][a-z0-9_]*$")
LITERAL_RE = re.compile(r"^[A-Za-z0-9._-]+$")
PARAM_RE = re.compile(r"^\{([a-z][a-z0-9_-]*)\}$")
REASON_RE = re.compile(r"^[\x20-\x7e]+$")

MAX_SEGS = 32
MAX_PERMS = 128

# Permissions of ghp's own, for traffic that is not GitHub's REST API:
# "copilot" lets a user's token use Copilot through ghp (the owner's
# OAuth token exchanged for a Copilot token).  No endpoint row uses them.
GHP_PERMS = ["copilot"]

# GitHub's permissions that only its GraphQL API needs, so that no REST
# row names them: data/graphql-policy.tsv uses them.
GRAPHQL_PERMS = ["discussions"]


class DataError(Exception):
    pass


def fail(where, msg):
    raise DataError("%s: %s" % (where, msg))


def read_tsv(path, header):
    """Yield (where, fields) for each data line; check the header."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise DataError("%s: %s" % (path, e.strerror))
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as e:
        fail("%s:%d" % (path, raw[:e.start].count(b"\n") + 1),
             "non-ASCII byte")
    if text == "":
        fail("%s:1" % path, "empty file")
    if not text.endswith("\n"):
        fail("%s:%d" % (path, text.count("\n") + 1),
             "last line has no newline")
    lines = text[:-1].split("\n")
    for n, line in enumerate(lines, 1):
        where = "%s:%d" % (path, n)
        if "\r" in line:
            fail(where, "carriage return (CRLF line ending?)")
        fields = line.split("\t")
        if len(fields) != len(header):
            fail(where, "%d columns, expected %d" %
                 (len(fields), len(header)))
        for i, fld in enumerate(fields):
            if fld == "" or fld != fld.strip(" "):
                fail(where, "column %d (%s) is empty or has spaces around"
                     % (i + 1, header[i]))
        if n == 1:
            if fields != header:
                fail(where, "header is not %s" % " ".join(header))
            continue
        yield where, n, fields


def parse_template(where, path):
    """Split a path template into segments: (literal, None) or
    (None, name).  Returns the list (empty for "/")."""
    if not path.startswith("/"):
        fail(where, "path %r does not start with /" % path)
    if path == "/":
        return []
    segs = []
    names = set()
    for s in path[1:].split("/"):
        m = PARAM_RE.match(s)
        if m:
            name = m.group(1)
            if name in names:
                fail(where, "placeholder {%s} twice in %s" % (name, path))
            names.add(name)
            segs.append((None, name))
        elif LITERAL_RE.match(s) and s not in (".", ".."):
            segs.append((s, None))
        else:
            fail(where, "bad path segment %r in %s" % (s, path))
    if len(segs) > MAX_SEGS:
        fail(where, "more than %d segments" % MAX_SEGS)
    return segs


class Row:
    def __init__(self, where, line, f):
        self.where, self.line = where, line
        self.perm, self.kind, self.access, self.verb, self.path = f[:5]
        if not PERM_RE.match(self.perm):
            fail(where, "bad permission name %r" % self.perm)
        if self.kind not in KINDS:
            fail(where, "unknown kind %r" % self.kind)
        if self.access not in ACCESS:
            fail(where, "unknown access %r" % self.access)
        if self.verb not in METHODS:
            fail(where, "unknown verb %r" % self.verb)
        flags = {}
        for col, val, ok in ((5, f[5], ("true", "false")),
                             (6, f[6], ("yes", "no")),
                             (7, f[7], ("yes", "no"))):
            if val not in ok:
                fail(where, "%s must be %s or %s, not %r" %
                     (PERM_HEADER[col], ok[0], ok[1], val))
            flags[col] = val == ok[0]
        self.additional, self.pat, self.inst = flags[5], flags[6], flags[7]
        self.segs = parse_template(where, self.path)
        self.subject = None
        self.group = 0
        self.workflows = False


class Endpoint:
    def __init__(self, where, verb, path, segs):
        self.where = where
        self.verb, self.path, self.segs = verb, path, segs
        self.method = METHODS.index(verb)
        self.rows = []
        self.policy = None      # "allow" / "refuse" from no-permission.tsv
        self.reason = None
        last = segs[-1] if segs else (None, None)
        self.multi = last[1] in MULTI_NAMES
        self.owner = self.repo = self.owner2 = self.repo2 = -1
        self.org = self.user = self.pathseg = -1
        self.classify_segments()

    def classify_segments(self):
        names = [n for _, n in self.segs]
        pairs = []
        for a, b in REPO_PAIRS:
            if a in names or b in names:
                i = names.index(a) if a in names else -1
                j = names.index(b) if b in names else -1
                if i < 0 or j != i + 1:
                    fail(self.where, "{%s} and {%s} must be adjacent in %s"
                         % (a, b, self.path))
                pairs.append((i, j))
        pairs.sort()
        if len(pairs) > 2:
            fail(self.where, "more than two repositories in %s" % self.path)
        if pairs:
            self.owner, self.repo = pairs[0]
        if len(pairs) > 1:
            self.owner2, self.repo2 = pairs[1]
        if "org" in names:
            self.org = names.index("org")
        if (len(self.segs) >= 2 and self.segs[0][0] == "users" and
                self.segs[1][1] == "username"):
            self.user = 1
        if self.multi and self.segs[-1][1] == "path":
            self.pathseg = len(self.segs) - 1

    def shape(self):
        """What the matcher sees: literals, placeholders, multi tail."""
        return (self.method, tuple(lit for lit, _ in self.segs), self.multi)

    def first_seg(self):
        return self.segs[0][0] if self.segs else None


def classify_row(ep, row):
    """Decide what a row's permission is checked against."""
    s0 = ep.first_seg()
    if row.kind == "enterprise":
        if s0 != "enterprises":
            fail(row.where, "enterprise permission outside /enterprises")
        return "PS_ENTERPRISE"
    if row.kind == "repository":
        if ep.owner >= 0:
            return "PS_REPO"
        if ep.org >= 0:
            return "PS_ORG_ALL"
        if ep.user >= 0:
            return "PS_USER_ALL"
        if s0 == "user":
            return "PS_SELF_ALL"
        return "PS_NO_REPO"
    if row.kind == "organization":
        if ep.org >= 0:
            return "PS_ORG"
        if s0 == "teams" and len(ep.segs) > 1 and \
                ep.segs[1][1] == "team_id":
            return "PS_TEAM_ID"
        fail(row.where, "organization permission on %s, which names no "
             "organization" % ep.path)
    # account
    if ep.user >= 0:
        return "PS_USER_SELF"
    if s0 in ("user", "gists") or ep.owner >= 0:
        return "PS_SELF"
    fail(row.where, "account permission on %s: cannot tell whose account"
         % ep.path)


def assign_groups(ep):
    """Rows of one group are alternatives; groups are all needed."""
    perms = {r.perm for r in ep.rows}
    group_of = {}
    ngroups = 0
    for r in ep.rows:
        r.workflows = any(r.perm == a and b in perms for a, b in CONDITIONAL)
        key = r.perm
        for alt in ALTERNATIVES:
            if r.perm in alt:
                key = frozenset(alt)
        if key not in group_of:
            group_of[key] = ngroups
            ngroups += 1
        r.group = group_of[key]
    if ngroups > 255:
        fail(ep.where, "too many permission groups")


def load(perm_path, noperm_path):
    endpoints = {}
    seen_rows = set()
    kind_of = {}
    for where, line, f in read_tsv(perm_path, PERM_HEADER):
        row = Row(where, line, f)
        key = (row.perm, row.verb, row.path)
        if key in seen_rows:
            fail(where, "duplicate row %s %s %s" % key)
        seen_rows.add(key)
        if kind_of.setdefault(row.perm, (row.kind, where))[0] != row.kind:
            fail(where, "permission %s is %s here but %s at %s" %
                 (row.perm, row.kind, kind_of[row.perm][0],
                  kind_of[row.perm][1]))
        ek = (row.verb, row.path)
        if ek not in endpoints:
            endpoints[ek] = Endpoint(where, row.verb, row.path, row.segs)
        endpoints[ek].rows.append(row)
    if not endpoints:
        fail(perm_path, "no rows")
    for where, line, f in read_tsv(noperm_path, NOPERM_HEADER):
        verb, path, policy, reason = f
        if verb not in METHODS:
            fail(where, "unknown verb %r" % verb)
        segs = parse_template(where, path)
        if policy not in ("allow", "refuse"):
            fail(where, "scoped_tokens must be allow or refuse, not %r"
                 % policy)
        if not REASON_RE.match(reason):
            fail(where, "reason must be printable ASCII")
        ek = (verb, path)
        ep = endpoints.get(ek)
        if ep is None:
            ep = endpoints[ek] = Endpoint(where, verb, path, segs)
        elif ep.policy is not None:
            fail(where, "duplicate entry %s %s" % ek)
        elif policy == "allow":
            fail(where, "%s %s is in the permission table (%s); "
                 "no-permission.tsv may only refuse it" %
                 (verb, path, ep.rows[0].where))
        ep.policy, ep.reason = policy, reason
    for ep in endpoints.values():
        for r in ep.rows:
            r.subject = classify_row(ep, r)
        assign_groups(ep)
    for p in GHP_PERMS:
        if p in kind_of:
            fail(perm_path, "GitHub has a permission named %r now" % p)
    return sorted(endpoints.values(), key=lambda e: (e.method, e.path)), \
        sorted(set(kind_of) | set(GHP_PERMS) | set(GRAPHQL_PERMS))


def check_shapes(eps):
    """No two templates may look alike to the matcher."""
    seen = {}
    for ep in eps:
        s = ep.shape()
        if s in seen:
            fail(ep.where, "%s %s matches the same paths as %s (%s)" %
                 (ep.verb, ep.path, seen[s].path, seen[s].where))
        # A multi tail and a single placeholder at the same place.
        t = (s[0], s[1], not s[2])
        if t in seen and ep.segs:
            fail(ep.where, "%s %s and %s differ only in whether the last "
                 "placeholder spans segments" % (ep.verb, ep.path,
                                                  seen[t].path))
        seen[s] = ep


def compatible(a, b, upto):
    """Can positions 0..upto-1 of a and b match the same segments?"""
    for i in range(upto):
        x, y = a.segs[i][0], b.segs[i][0]
        if x is not None and y is not None and x != y:
            return False
    return True


def overlap_winner(a, b):
    """If templates a and b (same method) can match one path, return the
    one the trie prefers, else None.  The trie tries a literal child
    before the placeholder child, and a placeholder that continues into
    more segments before a multi-segment tail ends there."""
    na, nb = len(a.segs), len(b.segs)
    multis = [t for t in (a, b) if t.multi]
    if multis:
        m = min(multis, key=lambda t: len(t.segs))
        other = b if m is a else a
        if len(other.segs) < len(m.segs):
            return None
        if not compatible(a, b, len(m.segs) - 1):
            return None
    elif na != nb or not compatible(a, b, na):
        return None
    for i in range(min(na, nb)):
        x, y = a.segs[i][0], b.segs[i][0]
        if (x is None) != (y is None):
            return a if x is not None else b
    if na != nb:
        return a if na > nb else b
    return None         # same shape: check_shapes() reports it


def literals(ep):
    return sum(1 for lit, _ in ep.segs if lit is not None)


def check_priority(eps):
    """The trie's literal-first order must agree with "more literal
    segments wins" wherever two templates overlap."""
    by_method = {}
    for ep in eps:
        by_method.setdefault(ep.method, []).append(ep)
    for group in by_method.values():
        for i, a in enumerate(group):
            for b in group[i + 1:]:
                w = overlap_winner(a, b)
                if w is None:
                    continue
                other = b if w is a else a
                if literals(w) < literals(other):
                    fail(w.where, "%s %s and %s overlap and the trie would "
                         "prefer the one with fewer literal segments" %
                         (w.verb, w.path, other.path))


class Node:
    def __init__(self, seg):
        self.seg = seg          # literal text or None
        self.children = {}      # literal -> Node
        self.param = None
        self.ep = -1
        self.index = -1


def build_tries(eps):
    roots = [Node(None) for _ in METHODS]
    for i, ep in enumerate(eps):
        node = roots[ep.method]
        for lit, _ in ep.segs:
            if lit is None:
                if node.param is None:
                    node.param = Node(None)
                node = node.param
            else:
                if lit not in node.children:
                    node.children[lit] = Node(lit)
                node = node.children[lit]
        if node.ep >= 0:
            fail(ep.where, "internal: two endpoints on one trie node")
        node.ep = i
    # Breadth-first numbering so that a node's literal children are
    # contiguous and sorted by bytes.
    order = []
    queue = collections.deque()
    for r in roots:
        r.index = len(order)
        order.append(r)
        queue.append(r)
    while queue:
        node = queue.popleft()
        kids = [node.children[k] for k in
                sorted(node.children, key=lambda s: s.encode())]
        node.first_child = len(order)
        for k in kids:
            k.index = len(order)
            order.append(k)
            queue.append(k)
        node.kids = kids
        if node.param is not None:
            node.param.index = len(order)
            order.append(node.param)
            queue.append(node.param)
    if len(order) > 32767 or len(eps) > 32767:
        fail("trie", "too many nodes or endpoints for int16_t")
    return roots, order


def c_string(s):
    out = []
    for ch in s:
        if ch in "\\\"":
            out.append("\\" + ch)
        elif " " <= ch <= "~" and ch != "?":
            out.append(ch)
        else:
            out.append("\\%03o" % ord(ch))
    return '"' + "".join(out) + '"'


def emit(out, eps, perms, roots, nodes, sources):
    perm_index = {p: i for i, p in enumerate(perms)}
    w = out.append
    w("/*")
    w(" * Generated by scripts/gen_permtab.py from")
    for s in sources:
        w(" *   %s" % s)
    w(" * Do not edit: change the data or the generator.")
    w(" */")
    w("#include <stddef.h>")
    w("#include <stdint.h>")
    w("")
    w('#include "permtab.h"')
    w("")
    w("_Static_assert(%d <= PERMTAB_MAXPERMS, \"too many permissions\");"
      % len(perms))
    w("")
    w("const char *const permtab_method_names[PERMTAB_NMETHODS] = {")
    w("\t" + ", ".join(c_string(m) for m in METHODS))
    w("};")
    w("")
    w("const char *const permtab_perms[] = {")
    for p in perms:
        w("\t%s," % c_string(p))
    w("};")
    w("const size_t permtab_nperms = %d;" % len(perms))
    w("")
    kinds = ["PERMTAB_REPOSITORY", "PERMTAB_ORGANIZATION", "PERMTAB_ACCOUNT",
             "PERMTAB_ENTERPRISE"]
    acc = {1: "PERMTAB_READ", 2: "PERMTAB_WRITE", 3: "PERMTAB_ADMIN"}
    w("const struct permtab_row permtab_rows[] = {")
    nrows = 0
    for ep in eps:
        ep.first_row = nrows
        for r in ep.rows:
            fl = []
            if r.pat:
                fl.append("PR_PAT")
            if r.inst:
                fl.append("PR_INST")
            if r.additional:
                fl.append("PR_ADDITIONAL")
            if r.workflows:
                fl.append("PR_WORKFLOWS")
            w("\t{ %d, %s, %s, %s, %d, %s, %d },\t/* %s %s %s:%s */" %
              (perm_index[r.perm], kinds[KINDS.index(r.kind)],
               acc[ACCESS[r.access]], r.subject, r.group,
               "|".join(fl) if fl else "0", r.line, r.verb, r.path,
               r.perm, r.access))
            nrows += 1
    if nrows == 0:
        w("\t{ 0, 0, 0, 0, 0, 0, 0 }")
    w("};")
    w("const size_t permtab_nrows = %d;" % nrows)
    w("")
    w("const struct permtab_endpoint permtab_endpoints[] = {")
    for ep in eps:
        fl = []
        if ep.multi:
            fl.append("PE_MULTI")
        if ep.policy == "allow":
            fl.append("PE_ALLOW")
        if ep.policy == "refuse":
            fl.append("PE_REFUSE")
        w("\t{ %s, %s, %d, %d, PERMTAB_%s, %s, %d, %d, %d, %d, %d, %d, %d, "
          "%d }," % (c_string(ep.path),
                     c_string(ep.reason) if ep.reason else "NULL",
                     ep.first_row, len(ep.rows), ep.verb,
                     "|".join(fl) if fl else "0", len(ep.segs),
                     ep.owner, ep.repo, ep.owner2, ep.repo2, ep.org, ep.user,
                     ep.pathseg))
    w("};")
    w("const size_t permtab_nendpoints = %d;" % len(eps))
    w("")
    w("const struct permtab_node permtab_nodes[] = {")
    for n in nodes:
        seg = c_string(n.seg) if n.seg is not None else "NULL"
        w("\t{ %s, %d, %d, %d, %d, %d }," %
          (seg, len(n.seg) if n.seg is not None else 0, n.first_child,
           len(n.kids), n.param.index if n.param is not None else -1, n.ep))
    w("};")
    w("const size_t permtab_nnodes = %d;" % len(nodes))
    w("")
    w("const int16_t permtab_roots[PERMTAB_NMETHODS] = {")
    w("\t" + ", ".join(str(r.index) for r in roots))
    w("};")
    for ep in eps:
        if len(ep.rows) > 255:
            fail(ep.where, "too many rows for one endpoint")
    if nrows > 65535 or any(r.line > 65535 for e in eps for r in e.rows):
        fail("rows", "too many rows or lines for uint16_t")
    if len(perms) > MAX_PERMS:
        fail("permissions", "more than %d permissions" % MAX_PERMS)


def main(argv):
    if len(argv) != 4:
        sys.stderr.write("usage: gen_permtab.py PERMISSIONS.tsv "
                         "NO-PERMISSION.tsv OUTPUT.c\n")
        return 2
    perm_path, noperm_path, out_path = argv[1:]
    try:
        eps, perms = load(perm_path, noperm_path)
        check_shapes(eps)
        check_priority(eps)
        roots, nodes = build_tries(eps)
        out = []
        emit(out, eps, perms, roots, nodes, [perm_path, noperm_path])
    except DataError as e:
        sys.stderr.write("gen_permtab: %s\n" % e)
        return 1
    tmp = out_path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(out) + "\n")
    os.replace(tmp, out_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
