"""
test_proxy_observe.py: what ghp writes down about the traffic it serves,
checked against ghp(8) ("Audit and access records", "Metrics") and
ghp.conf(5) (LOGS, METRICS):

- the audit log: one JSON object per decision on an API request (allowed,
  refused for scope, for an unknown endpoint, for no token or a bad one,
  a raw token of another kind passed through), written by the master
  from the workers' messages before anything is forwarded, so that it is
  there while GitHub still holds the request, and survives the worker's
  death at that moment;
- the access log: one JSON object per request with Caddy's field names
  and types, its size the bytes of the body the client got;
- the Prometheus metrics: strict exposition format, requests by route,
  decision and status, the per-stage histogram, upstream latency,
  GitHub's rate limit per credential, all added up over the workers;
- no client token, stored credential or Authorization value in either
  log, the daemon's own log or the metrics.

Run with tests/integration/run_all.py (or python3 -m unittest from this
directory).
"""

import calendar
import json
import math
import os
import re
import signal
import time
import unittest

from harness import basic_auth, build_request, http_raw
from proxy_case import (CRED_ALICE, CRED_BOB, ProxyCase, make_token,
                        read_json_lines, start_proxy, worker_pid_of)

FOREIGN = "ghu_someothertoken0001"      # a GitHub token that is not ghp's
SESSION = "observe-session-7"

AUDIT_MEMBERS = {"time", "request_id", "decision", "reason", "token_type",
                 "token", "token_id", "owner", "session", "method", "path",
                 "repository", "endpoint", "permission", "status",
                 "duration"}
REQUEST_ID_RE = re.compile(r"^[0-9a-f]{16}$")
RFC3339_MS_UTC_RE = re.compile(
    r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{3})Z$")
STAGES = ("parse", "token", "scope", "credential", "upstream", "total")


def rfc3339_epoch(s):
    m = RFC3339_MS_UTC_RE.match(s)
    if not m:
        raise ValueError("not RFC 3339 UTC with milliseconds: %r" % s)
    y, mo, d, h, mi, sec, ms = (int(x) for x in m.groups())
    return calendar.timegm((y, mo, d, h, mi, sec)) + ms / 1000.0


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and \
        math.isfinite(v)


# ------------------------------------------------ Prometheus text format

_METRIC_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL_NAME = r"[a-zA-Z_][a-zA-Z0-9_]*"
_FLOAT_RE = re.compile(r"^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|"
                       r"[+-]?Inf|NaN)$")
_TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


class ExpositionError(ValueError):
    pass


def _prom_float(s, where):
    if not _FLOAT_RE.match(s):
        raise ExpositionError("%s: not a Prometheus float: %r" % (where, s))
    return float(s)


def _parse_labels(s, i, where):
    """s[i] == '{'; returns (labels, index after '}')."""
    labels = {}
    i += 1
    while True:
        if i < len(s) and s[i] == "}":
            return labels, i + 1
        m = re.compile(_LABEL_NAME).match(s, i)
        if not m:
            raise ExpositionError("%s: bad label name at %r" % (where, s[i:]))
        name = m.group(0)
        if name.startswith("__"):
            raise ExpositionError("%s: reserved label name %r" %
                                  (where, name))
        if name in labels:
            raise ExpositionError("%s: label %r twice" % (where, name))
        i = m.end()
        if s[i:i + 2] != '="':
            raise ExpositionError("%s: expected =\" after %r" % (where, name))
        i += 2
        val = []
        while True:
            if i >= len(s):
                raise ExpositionError("%s: unterminated label value" % where)
            c = s[i]
            if c == "\\":
                nxt = s[i + 1:i + 2]
                if nxt == "\\":
                    val.append("\\")
                elif nxt == '"':
                    val.append('"')
                elif nxt == "n":
                    val.append("\n")
                else:
                    raise ExpositionError("%s: bad escape \\%s in a label "
                                          "value" % (where, nxt))
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                raise ExpositionError("%s: newline in a label value" % where)
            else:
                val.append(c)
                i += 1
        labels[name] = "".join(val)
        if i < len(s) and s[i] == ",":
            i += 1
        elif i < len(s) and s[i] == "}":
            pass
        else:
            raise ExpositionError("%s: expected , or } at %r" %
                                  (where, s[i:]))


def parse_prometheus(text):
    """Parse Prometheus' text exposition format (0.0.4) strictly.

    Every family must have one HELP and one TYPE line before its
    samples, and all its lines in one group; sample names must belong to
    the family as its type says; no series twice; counters not negative;
    histograms with cumulative buckets in ascending le order that end in
    le="+Inf" equal to _count, and a _sum and a _count per label set.
    Returns {family: {"type", "help", "samples": [(name, labels,
    value)]}}; raises ExpositionError."""
    if not text.endswith("\n"):
        raise ExpositionError("the text does not end with a newline")
    fams = {}
    current = None
    closed = set()          # families whose group has ended
    seen_series = set()
    name_re = re.compile(_METRIC_NAME)

    def family(name, where):
        if name in closed:
            raise ExpositionError("%s: %s appears again after other "
                                  "families (not one group)" % (where, name))
        f = fams.setdefault(name, {"type": None, "help": None,
                                   "samples": []})
        return f

    def switch_to(name):
        nonlocal current
        if current is not None and current != name:
            closed.add(current)
        current = name

    for n, line in enumerate(text.split("\n")[:-1], 1):
        where = "line %d" % n
        if line == "" or line.strip() == "":
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not name_re.fullmatch(name):
                    raise ExpositionError("%s: bad metric name %r" %
                                          (where, name))
                f = family(name, where)
                switch_to(name)
                if f["samples"]:
                    raise ExpositionError("%s: %s after samples of %s" %
                                          (where, parts[1], name))
                rest = parts[3] if len(parts) > 3 else ""
                if parts[1] == "HELP":
                    if f["help"] is not None:
                        raise ExpositionError("%s: second HELP for %s" %
                                              (where, name))
                    f["help"] = rest
                else:
                    if f["type"] is not None:
                        raise ExpositionError("%s: second TYPE for %s" %
                                              (where, name))
                    if rest not in _TYPES:
                        raise ExpositionError("%s: unknown type %r" %
                                              (where, rest))
                    f["type"] = rest
            continue        # any other comment
        m = name_re.match(line)
        if not m:
            raise ExpositionError("%s: bad sample line %r" % (where, line))
        sname = m.group(0)
        i = m.end()
        labels = {}
        if i < len(line) and line[i] == "{":
            labels, i = _parse_labels(line, i, where)
        rest = line[i:]
        if not rest[:1] in (" ", "\t"):
            raise ExpositionError("%s: no blank before the value: %r" %
                                  (where, line))
        fields = rest.split()
        if len(fields) not in (1, 2):
            raise ExpositionError("%s: expected value [timestamp]: %r" %
                                  (where, line))
        value = _prom_float(fields[0], where)
        if len(fields) == 2 and not re.fullmatch(r"-?\d+", fields[1]):
            raise ExpositionError("%s: bad timestamp %r" % (where, fields[1]))
        # Which family: the current one, if the name belongs to it.
        fam = current
        if fam is None:
            raise ExpositionError("%s: sample %s before any TYPE" %
                                  (where, sname))
        ftype = fams[fam]["type"]
        if ftype is None:
            raise ExpositionError("%s: family %s has no TYPE line" %
                                  (where, fam))
        if fams[fam]["help"] is None:
            raise ExpositionError("%s: family %s has no HELP line" %
                                  (where, fam))
        allowed = {fam}
        if ftype == "histogram":
            allowed = {fam + "_bucket", fam + "_sum", fam + "_count"}
        elif ftype == "summary":
            allowed = {fam, fam + "_sum", fam + "_count"}
        if sname not in allowed:
            raise ExpositionError("%s: sample %s is not one of family %s "
                                  "(%s) (TYPE missing or groups mixed)" %
                                  (where, sname, fam, ftype))
        key = (sname, tuple(sorted(labels.items())))
        if key in seen_series:
            raise ExpositionError("%s: series %s%s twice" %
                                  (where, sname, labels))
        seen_series.add(key)
        if ftype == "counter" and (math.isnan(value) or value < 0):
            raise ExpositionError("%s: counter %s is %r" % (where, sname,
                                                           value))
        fams[fam]["samples"].append((sname, labels, value))

    for name, f in fams.items():
        if f["type"] is None or f["help"] is None:
            raise ExpositionError("family %s lacks a HELP or TYPE line" %
                                  name)
        if f["type"] == "histogram":
            _check_histogram(name, f["samples"])
    return fams


def _check_histogram(name, samples):
    groups = {}
    for sname, labels, value in samples:
        if sname == name + "_bucket":
            if "le" not in labels:
                raise ExpositionError("%s: a bucket without le" % name)
            rest = tuple(sorted((k, v) for k, v in labels.items()
                                if k != "le"))
            g = groups.setdefault(rest, {"buckets": [], "sum": None,
                                         "count": None})
            g["buckets"].append((_prom_float(labels["le"], name + " le"),
                                 labels["le"], value))
        else:
            if "le" in labels:
                raise ExpositionError("%s: le on %s" % (name, sname))
            rest = tuple(sorted(labels.items()))
            g = groups.setdefault(rest, {"buckets": [], "sum": None,
                                         "count": None})
            g["sum" if sname.endswith("_sum") else "count"] = value
    for rest, g in groups.items():
        what = "%s%s" % (name, dict(rest))
        b = g["buckets"]
        if not b:
            raise ExpositionError("%s: no buckets" % what)
        if g["sum"] is None or g["count"] is None:
            raise ExpositionError("%s: no _sum or no _count" % what)
        les = [x[0] for x in b]
        if les != sorted(les) or len(set(les)) != len(les):
            raise ExpositionError("%s: le not strictly ascending: %s" %
                                  (what, [x[1] for x in b]))
        if b[-1][1] != "+Inf":
            raise ExpositionError("%s: last bucket is le=%r, not \"+Inf\"" %
                                  (what, b[-1][1]))
        vals = [x[2] for x in b]
        for v in vals:
            if v < 0 or v != int(v):
                raise ExpositionError("%s: bucket count %r" % (what, v))
        if any(a > c for a, c in zip(vals, vals[1:])):
            raise ExpositionError("%s: buckets not cumulative: %s" %
                                  (what, vals))
        if vals[-1] != g["count"]:
            raise ExpositionError("%s: +Inf bucket %r != _count %r" %
                                  (what, vals[-1], g["count"]))
        if g["sum"] < 0 or math.isnan(g["sum"]):
            raise ExpositionError("%s: _sum %r" % (what, g["sum"]))


def series(fams, family, sname=None, **labels):
    """The samples of family (named sname, default the family) whose
    labels include labels: [(labels, value)]."""
    sname = sname or family
    f = fams.get(family)
    if f is None:
        return []
    return [(l, v) for n, l, v in f["samples"] if n == sname and
            all(l.get(k) == w for k, w in labels.items())]


def value_of(fams, family, sname=None, **labels):
    got = series(fams, family, sname, **labels)
    if len(got) != 1:
        raise AssertionError("%d series of %s %s: %s" % (
            len(got), sname or family, labels, got))
    return got[0][1]


# ------------------------------------------------------------- the base


class ObserveCase(ProxyCase):
    """Requests that can be traced to their records: each goes on a
    connection of its own (or a keep-alive one), and the access record
    names the client's port, which leads to the request id and so to
    the audit record."""

    def call(self, g, method, path, token=None, auth=None,
             host="api.github.com", headers=(), body=None, conn=None):
        """One request; returns (response, client port, t0, t1)."""
        items = [("Host", host)] if host else []
        items += [("User-Agent", "ghp-integration"),
                  ("Accept", "application/vnd.github+json")]
        if auth is None and token is not None:
            auth = "token " + token
        if auth is not None:
            items.append(("Authorization", auth))
        items += list(headers)
        own = conn is None
        if own:
            items.append(("Connection", "close"))
            conn = g.conn()
        try:
            port = conn.sock.getsockname()[1]
            t0 = time.time()
            conn.request(method, path, items, body)
            r = conn.read_response(method)
            t1 = time.time()
        finally:
            if own:
                conn.close()
        return r, port, t0, t1

    def access_for(self, g, port, n=1, timeout=10.0):
        """The access records of the client port, once there are n."""
        def got():
            recs = [x for x in read_json_lines(g.access_path)
                    if isinstance(x.get("request"), dict) and
                    x["request"].get("remote_port") == port]
            return recs if len(recs) >= n else None
        recs = g.wait_for(got, timeout, "%d access record(s) for client "
                          "port %d" % (n, port))
        self.assertEqual(len(recs), n, recs)
        return recs

    def audit_for(self, g, request_id, timeout=10.0):
        """The one audit record of request_id (waits for it)."""
        def got():
            return [x for x in read_json_lines(g.audit_path)
                    if x.get("request_id") == request_id] or None
        recs = g.wait_for(got, timeout, "the audit record of %s" %
                          request_id)
        self.assertEqual(len(recs), 1, "audit records of one request: %s"
                         % recs)
        return recs[0]

    def traced(self, g, method, path, **kw):
        """call(), then (response, access record, audit record or None
        when there is none once the access record is written)."""
        r, port, t0, t1 = self.call(g, method, path, **kw)
        acc = self.access_for(g, port)[0]
        rid = acc.get("request_id")
        aud = [x for x in read_json_lines(g.audit_path)
               if rid is not None and x.get("request_id") == rid]
        self.assertLessEqual(len(aud), 1, aud)
        return r, acc, (aud[0] if aud else None), (t0, t1)

    def assertAuditShape(self, rec, t0=None, t1=None):
        """The members and types that every audit record has."""
        self.assertTrue(AUDIT_MEMBERS <= set(rec),
                        "audit record lacks %s: %s" %
                        (sorted(AUDIT_MEMBERS - set(rec)), rec))
        self.assertRegex(rec["request_id"], REQUEST_ID_RE)
        when = rfc3339_epoch(rec["time"])
        if t0 is not None:
            # Taken between sending and the answer: causality, not speed.
            self.assertGreaterEqual(when, math.floor(t0 * 1000) / 1000 -
                                    0.001, rec)
            self.assertLessEqual(when, t1 + 0.001, rec)
        self.assertIn(rec["decision"], ("allow", "deny", "pass",
                                        "anonymous"))
        self.assertTrue(is_number(rec["duration"]), rec)
        self.assertGreaterEqual(rec["duration"], 0)
        for k in ("token_type", "token", "owner", "session", "method",
                  "path", "repository", "endpoint", "permission"):
            self.assertIsInstance(rec[k], (str, type(None)), k)
        self.assertIsInstance(rec["token_id"], (int, type(None)))
        self.assertNotIsInstance(rec["token_id"], bool)
        self.assertIsInstance(rec["status"], (int, type(None)))
        if rec["token_type"] is not None:
            self.assertIn(rec["token_type"], ("user", "agent"))

    def assertReason(self, rec, *contains):
        """reason: text saying what allowed or refused the request."""
        self.assertIsInstance(rec["reason"], str,
                              "audit reason is not text: %s" % rec)
        self.assertTrue(rec["reason"].strip(), rec)
        for c in contains:
            self.assertIn(c, rec["reason"], rec)

    def assertDisplayPrefix(self, rec, token):
        """token: a short prefix of the client token and an ellipsis,
        never the whole token."""
        shown = rec["token"]
        self.assertIsInstance(shown, str, rec)
        self.assertTrue(shown.endswith("\u2026"), shown)
        self.assertTrue(token.startswith(shown[:-1]), (shown, token))
        self.assertLessEqual(len(shown) - 1, 12, shown)
        self.assertNotIn(token, json.dumps(rec))

    def assertAccessShape(self, acc):
        """Caddy's field names with Caddy's types."""
        self.assertEqual(acc.get("level"), "info", acc)
        self.assertEqual(acc.get("logger"), "http.log.access", acc)
        self.assertTrue(is_number(acc.get("ts")), acc)
        self.assertIsInstance(acc.get("msg"), str, acc)
        self.assertIsInstance(acc.get("request"), dict, acc)
        req = acc["request"]
        self.assertIsInstance(req.get("remote_ip"), str, acc)
        self.assertIsInstance(req.get("remote_port"), int, acc)
        self.assertIsInstance(acc.get("status"), int, acc)
        self.assertIsInstance(acc.get("size"), int, acc)
        self.assertGreaterEqual(acc["size"], 0)
        self.assertIsInstance(acc.get("bytes_read"), int, acc)
        self.assertGreaterEqual(acc["bytes_read"], 0)
        if "duration" in acc:
            self.assertTrue(is_number(acc["duration"]), acc)
            self.assertGreaterEqual(acc["duration"], 0)
        # Caddy logs request headers with Authorization and cookies
        # "REDACTED"; ghp may leave them out, but never shows them.
        for name, vals in (req.get("headers") or {}).items():
            if name.lower() in ("authorization", "proxy-authorization",
                                "cookie"):
                self.assertTrue(all(v == "REDACTED" for v in vals),
                                (name, vals))

    def assertFullAccess(self, acc, r, port, method, uri, host,
                         proto="HTTP/1.1", body_sent=b"", owner=None):
        """A handled request's access record, field by field."""
        self.assertAccessShape(acc)
        self.assertEqual(acc["msg"], "handled request")
        req = acc["request"]
        self.assertEqual(req.get("remote_ip"), "127.0.0.1")
        self.assertEqual(req.get("remote_port"), port)
        self.assertEqual(req.get("proto"), proto)
        self.assertEqual(req.get("method"), method)
        self.assertEqual(req.get("host"), host)
        self.assertEqual(req.get("uri"), uri)
        self.assertRegex(acc.get("request_id", ""), REQUEST_ID_RE)
        self.assertTrue(is_number(acc.get("duration")), acc)
        self.assertEqual(acc["status"], r.status)
        self.assertEqual(acc["size"], r.body_length,
                         "size is not the bytes of the body sent")
        self.assertEqual(acc["bytes_read"], len(body_sent))
        if owner is None:
            self.assertNotIn("user_id", acc)
        else:
            self.assertEqual(acc.get("user_id"), owner)


# ------------------------------------------------------------ audit log


class AuditTest(ObserveCase):
    """One audit record per decision on an API request, its members as
    ghp(8) lists them."""

    @classmethod
    def setUpClass(cls):
        cls.g = start_proxy(cls, workers=2)
        cls.tok, cls.tid = cls.g.new_token(
            "alice", "acme/widgets", "contents:read,issues:write",
            "--session", SESSION)
        cls.g.fake.add_credential(FOREIGN, "bob")

    def setUp(self):
        self.g.fake.clear()

    def test_allowed_request(self):
        r, acc, aud, (t0, t1) = self.traced(
            self.g, "GET", "/api/v3/repos/acme/widgets/issues?state=all",
            token=self.tok, host="ghp.test")
        self.assertEqual(r.status, 200, r)
        self.assertIsNotNone(aud, "no audit record for an allowed request")
        self.assertAuditShape(aud, t0, t1)
        self.assertEqual(aud["request_id"], acc["request_id"])
        self.assertEqual(aud["decision"], "allow")
        self.assertReason(aud)
        self.assertEqual(aud["token_type"], "user")
        self.assertDisplayPrefix(aud, self.tok)
        self.assertEqual(aud["token_id"], self.tid)
        self.assertEqual(aud["owner"], "alice")
        self.assertEqual(aud["session"], SESSION)
        self.assertEqual(aud["method"], "GET")
        self.assertEqual(aud["path"], "/repos/acme/widgets/issues")
        self.assertEqual(aud["repository"], "acme/widgets")
        self.assertEqual(aud["endpoint"], "/repos/{owner}/{repo}/issues")
        self.assertEqual(aud["permission"], "issues:read")
        self.assertIsNone(aud["status"], "a forwarded request's audit "
                          "status is null (GitHub's is in the access log)")
        self.assertEqual(acc["status"], 200)
        self.assertEqual(len(self.forwarded(self.g)), 1)

    def test_allowed_write(self):
        body = b'{"title": "audited"}'
        r, acc, aud, (t0, t1) = self.traced(
            self.g, "POST", "/repos/acme/widgets/issues", token=self.tok,
            headers=[("Content-Type", "application/json")], body=body)
        self.assertEqual(r.status, 201, r)
        self.assertAuditShape(aud, t0, t1)
        self.assertEqual((aud["decision"], aud["method"], aud["path"],
                          aud["permission"], aud["repository"]),
                         ("allow", "POST", "/repos/acme/widgets/issues",
                          "issues:write", "acme/widgets"))
        self.assertReason(aud)
        self.assertIsNone(aud["status"])

    def check_refusal(self, method, path, status, token=None, auth=None,
                      body=None, host="api.github.com"):
        r, acc, aud, (t0, t1) = self.traced(
            self.g, method, path, token=token, auth=auth, body=body,
            host=host)
        self.assertEqual(r.status, status, r)
        self.assertNotForwarded(self.g, "%s %s" % (method, path))
        self.assertIsNotNone(aud, "no audit record for a refused API "
                             "request (%s %s)" % (method, path))
        self.assertAuditShape(aud, t0, t1)
        self.assertEqual(aud["decision"], "deny")
        self.assertEqual(aud["status"], status)
        self.assertEqual(acc["status"], status)
        self.assertEqual(aud["method"], method)
        self.assertReason(aud)
        return aud

    def test_refused_repository_outside_the_scope(self):
        aud = self.check_refusal("GET", "/repos/acme/gadgets", 403,
                                 token=self.tok)
        self.assertEqual(aud["path"], "/repos/acme/gadgets")
        self.assertEqual(aud["repository"], "acme/gadgets")
        self.assertIn("acme/gadgets", aud["reason"])
        self.assertEqual((aud["token_type"], aud["token_id"], aud["owner"],
                          aud["session"]),
                         ("user", self.tid, "alice", SESSION))
        self.assertDisplayPrefix(aud, self.tok)

    def test_refused_permission_missing(self):
        aud = self.check_refusal("PUT", "/repos/acme/widgets/contents/x.md",
                                 403, token=self.tok, body=b"{}")
        self.assertEqual(aud["permission"], "contents:write")
        self.assertEqual(aud["repository"], "acme/widgets")
        self.assertEqual(aud["endpoint"],
                         "/repos/{owner}/{repo}/contents/{path}")
        self.assertIn("contents:write", aud["reason"])
        self.assertEqual(aud["token_id"], self.tid)

    def test_refused_unknown_endpoint(self):
        aud = self.check_refusal("GET", "/repos/acme/widgets/frobnicate",
                                 403, token=self.tok)
        self.assertEqual(aud["path"], "/repos/acme/widgets/frobnicate")
        self.assertIsNone(aud["endpoint"])
        self.assertEqual(aud["token_id"], self.tid)
        self.assertEqual(aud["owner"], "alice")

    def test_refused_without_a_token(self):
        aud = self.check_refusal("GET", "/repos/acme/widgets", 401)
        for k in ("token", "token_type", "token_id", "owner", "session"):
            self.assertIsNone(aud[k], k)

    def test_refused_bad_tokens(self):
        unknown = make_token("ghx_")
        flip = "A" if self.tok[10] != "A" else "B"
        garbled = self.tok[:10] + flip + self.tok[11:]
        revoked, rid = self.g.new_token("alice", "acme/widgets",
                                        "contents:read")
        self.assertEqual(self.g.ctl("token", "revoke", str(rid))[0], 0)
        for what, tok in (("unknown", unknown), ("garbled", garbled),
                          ("revoked", revoked)):
            with self.subTest(token=what):
                self.g.fake.clear()
                aud = self.check_refusal("GET", "/repos/acme/widgets", 401,
                                         token=tok)
                self.assertNotIn(tok, json.dumps(aud))
                if aud["token"] is not None:
                    self.assertDisplayPrefix(aud, tok)
                if what != "revoked":
                    self.assertIsNone(aud["owner"])
                    self.assertIsNone(aud["token_id"])

    def test_refused_blocked_raw_token(self):
        aud = self.check_refusal("GET", "/repos/acme/widgets", 403,
                                 auth="token " + CRED_ALICE)
        self.assertNotIn(CRED_ALICE, json.dumps(aud))
        self.assertIsNone(aud["token_id"])
        self.assertIsNone(aud["owner"])

    def test_foreign_raw_token_passed_through(self):
        """Not ghp's token and not blocked: forwarded unchanged, audited
        with the decision pass and a reason."""
        r, acc, aud, (t0, t1) = self.traced(
            self.g, "GET", "/repos/acme/gadgets", auth="Bearer " + FOREIGN)
        self.assertEqual(r.status, 200, r)
        recs = self.forwarded(self.g)
        self.assertEqual(len(recs), 1)
        self.assertAuthorizationWas(recs[0], "Bearer " + FOREIGN)
        self.assertIsNotNone(aud, "no audit record for a passed request")
        self.assertAuditShape(aud, t0, t1)
        self.assertEqual(aud["decision"], "pass")
        self.assertIsNone(aud["status"])
        self.assertEqual((aud["method"], aud["path"]),
                         ("GET", "/repos/acme/gadgets"))
        self.assertIsNone(aud["token_id"])
        self.assertIsNone(aud["owner"])
        self.assertNotIn(FOREIGN, json.dumps(aud))
        if aud["repository"] is not None:
            self.assertEqual(aud["repository"], "acme/gadgets")
        self.assertNotIn("user_id", acc)
        self.assertReason(aud)

    def test_one_record_per_decision_and_none_outside_the_api(self):
        """Four API requests on one keep-alive connection, allowed and
        refused: four audit records, one each; a request outside the API
        (no decision) has an access record and no audit record."""
        with self.g.conn() as c:
            port = c.sock.getsockname()[1]
            got = [self.call(self.g, m, p, token=t, conn=c)[0].status
                   for m, p, t in (
                       ("GET", "/repos/acme/widgets/issues/1", self.tok),
                       ("GET", "/repos/acme/gadgets", self.tok),
                       ("GET", "/repos/acme/widgets/issues/2", self.tok),
                       ("GET", "/repos/acme/widgets", None))]
            self.assertEqual(got, [200, 403, 200, 401])
            r, _, _, _ = self.call(self.g, "GET", "/not-the-api",
                                   host="ghp.test", conn=c)
            self.assertEqual(r.status, 404)
        accs = self.access_for(self.g, port, 5)
        ids = [a["request_id"] for a in accs]
        self.assertEqual(len(set(ids)), 5, ids)
        auds = [self.audit_for(self.g, i) for i in ids[:4]]
        self.assertEqual([(a["decision"], a["path"]) for a in auds], [
            ("allow", "/repos/acme/widgets/issues/1"),
            ("deny", "/repos/acme/gadgets"),
            ("allow", "/repos/acme/widgets/issues/2"),
            ("deny", "/repos/acme/widgets")])
        self.assertEqual([x for x in read_json_lines(self.g.audit_path)
                          if x.get("request_id") == ids[4]], [],
                         "a request outside the API has an audit record")

    def test_only_the_master_holds_the_log_files(self):
        """The master writes both logs from the workers' messages: it
        holds them open, and no worker or the keyholder does."""
        def open_files(pid):
            d = "/proc/%d/fd" % pid
            out = set()
            for fd in os.listdir(d):
                try:
                    out.add(os.readlink(os.path.join(d, fd)))
                except OSError:
                    pass
            return out
        logs = {os.path.realpath(self.g.audit_path),
                os.path.realpath(self.g.access_path)}
        st = self.g.status()
        self.assertEqual(logs & open_files(self.g.pid), logs)
        others = [p["pid"] for p in st["processes"]
                  if p.get("role") in ("worker", "keyholder")]
        self.assertTrue(others)
        for pid in others:
            self.assertEqual(logs & open_files(pid), set(),
                             "pid %d holds a log file" % pid)

    def test_audit_and_access_records_agree(self):
        """Every audit record's request id has exactly one access record;
        a refusal's status is the same in both."""
        self.traced(self.g, "GET", "/repos/acme/widgets", token=self.tok)
        self.traced(self.g, "GET", "/repos/acme/gadgets", token=self.tok)
        audits = read_json_lines(self.g.audit_path)
        access = {}
        for a in read_json_lines(self.g.access_path):
            if "request_id" in a:
                access.setdefault(a["request_id"], []).append(a)
        ids = [a["request_id"] for a in audits]
        self.assertEqual(len(ids), len(set(ids)), "request ids repeat in "
                         "the audit log")
        for a in audits:
            got = access.get(a["request_id"], [])
            if not got:
                continue        # still in flight (another test's hang)
            self.assertEqual(len(got), 1, got)
            if a["status"] is not None:
                self.assertEqual(got[0]["status"], a["status"], (a, got))
            self.assertLessEqual(a["duration"], got[0]["duration"] + 0.0015,
                                 "decided after the request ended: %s %s"
                                 % (a, got[0]))


class AuditBeforeForwardTest(ObserveCase):
    """The audit record is sent by the worker before the request goes
    to GitHub: it is in the file while GitHub still holds the request,
    and the worker dying at that moment loses nothing."""

    def setUp(self):
        self.g = start_proxy(self, workers=2)
        self.tok, self.tid = self.g.new_token("alice", "acme/widgets",
                                              "issues:write")

    def hold_request(self, path, mode="hang"):
        """Send a request that the fake holds (it has read it and
        answers nothing); returns the open client connection."""
        self.g.fake.set_fault(1, mode, match=path, delay_ms=600000)
        c = self.g.conn()
        self.addCleanup(c.close)
        c.request("GET", path, [("Host", "api.github.com"),
                                ("Authorization", "token " + self.tok)])
        self.g.wait_for(lambda: self.g.fake.requests(path_prefix=path),
                        10, "the fake to hold %s" % path)
        return c

    def audit_with_path(self, path):
        return [x for x in read_json_lines(self.g.audit_path)
                if x.get("path") == path]

    def check_held(self, mode):
        path = "/repos/acme/widgets/issues/4"
        c = self.hold_request(path, mode)
        recs = self.g.wait_for(lambda: self.audit_with_path(path), 10,
                               "the audit record while GitHub holds the "
                               "request")
        # Still held: the fake has not answered.
        held = self.g.fake.requests(path_prefix=path)
        self.assertEqual(len(held), 1)
        self.assertFalse(held[0].get("complete"), "the fake answered")
        self.assertEqual(len(recs), 1, recs)
        rec = recs[0]
        self.assertAuditShape(rec)
        self.assertEqual((rec["decision"], rec["token_id"], rec["status"]),
                         ("allow", self.tid, None))
        # The access record comes once the answer is complete: not yet.
        self.assertEqual([x for x in read_json_lines(self.g.access_path)
                          if x.get("request_id") == rec["request_id"]], [])
        return c

    def test_audit_record_is_there_while_github_holds_the_request(self):
        self.check_held("hang")

    def test_audit_record_is_there_during_a_slow_answer(self):
        self.check_held("delay")

    def test_worker_killed_after_forwarding_loses_no_audit_record(self):
        """SIGKILL every worker as soon as GitHub has the request: the
        master still writes the record the worker had sent it."""
        path = "/repos/acme/widgets/issues/5"
        pids = self.g.worker_pids()
        self.hold_request(path)
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        recs = self.g.wait_for(lambda: self.audit_with_path(path), 10,
                               "the audit record of the killed worker's "
                               "request")
        self.assertEqual(len(recs), 1, recs)
        self.assertEqual(recs[0]["decision"], "allow")
        self.assertIn(worker_pid_of(recs[0]["request_id"]), pids)
        # And ghp is whole again afterwards.
        self.g.wait_ready()
        self.g.fake.clear_faults()
        r = self.g.api("GET", "/repos/acme/widgets/issues/1", self.tok)
        self.assertEqual(r.status, 200, r)


# ----------------------------------------------------------- access log


class AccessLogTest(ObserveCase):
    """One access record per request, Caddy's field names and types, its
    size the bytes of the body the client got."""

    @classmethod
    def setUpClass(cls):
        cls.g = start_proxy(cls, workers=2)
        cls.tok, cls.tid = cls.g.new_token(
            "alice", "acme/widgets", "contents:read,issues:write")
        cls.g.fake.add_credential(FOREIGN, "bob")

    def test_forwarded_request_fields(self):
        uri = "/api/v3/repos/acme/widgets/issues?state=all&per_page=2"
        r, port, t0, t1 = self.call(self.g, "GET", uri, token=self.tok,
                                    host="ghp.test")
        self.assertEqual(r.status, 200, r)
        acc = self.access_for(self.g, port)[0]
        seen = time.time()
        self.assertFullAccess(acc, r, port, "GET", uri, "ghp.test",
                              owner="alice")
        self.assertGreater(acc["size"], 0)
        self.assertGreaterEqual(acc["ts"], t0 - 0.001)
        self.assertLessEqual(acc["ts"], seen + 0.001)

    def test_size_is_the_body_sent(self):
        big = "/repos/acme/widgets/contents/__fake/bytes/20000"
        etag = self.g.api("GET", "/repos/acme/widgets", self.tok) \
            .headers["etag"]
        body = b'{"title": "sized"}'
        cases = [
            ("content-length", "GET", "/repos/acme/widgets", {}, None, 200),
            ("chunked", "GET", big + "?chunked=1", {}, None, 200),
            ("sized", "GET", big, {}, None, 200),
            ("HEAD", "HEAD", "/repos/acme/widgets", {}, None, 200),
            ("304", "GET", "/repos/acme/widgets",
             {"If-None-Match": etag}, None, 304),
            ("POST 201", "POST", "/repos/acme/widgets/issues",
             {"Content-Type": "application/json"}, body, 201),
            ("ghp's 403", "GET", "/repos/acme/gadgets", {}, None, 403),
            ("upstream 404", "GET", "/repos/acme/widgets/issues/999", {},
             None, 404),
        ]
        for what, method, path, hdrs, b, status in cases:
            with self.subTest(case=what):
                r, port, _, _ = self.call(self.g, method, path,
                                          token=self.tok,
                                          headers=list(hdrs.items()),
                                          body=b)
                self.assertEqual(r.status, status, r)
                if what in ("chunked", "sized"):
                    self.assertEqual(r.body_length, 20000)
                acc = self.access_for(self.g, port)[0]
                self.assertFullAccess(acc, r, port, method, path,
                                      "api.github.com", owner="alice",
                                      body_sent=b or b"")

    def test_ghps_own_answers(self):
        for what, kw, status in (
                ("no token", {}, 401),
                ("unknown token", {"token": make_token()}, 401),
                ("blocked", {"auth": "token " + CRED_ALICE}, 403),
                ("not the API", {"host": "ghp.test"}, 404)):
            with self.subTest(case=what):
                path = "/repos/acme/widgets" if what != "not the API" \
                    else "/elsewhere?x=1"
                r, port, _, _ = self.call(self.g, "GET", path, **kw)
                self.assertEqual(r.status, status, r)
                acc = self.access_for(self.g, port)[0]
                self.assertFullAccess(acc, r, port, "GET", path,
                                      kw.get("host", "api.github.com"))

    def test_passed_request_has_no_user(self):
        r, port, _, _ = self.call(self.g, "GET", "/repos/acme/gadgets",
                                  auth="token " + FOREIGN)
        self.assertEqual(r.status, 200, r)
        acc = self.access_for(self.g, port)[0]
        self.assertFullAccess(acc, r, port, "GET", "/repos/acme/gadgets",
                              "api.github.com")

    def test_http10_request(self):
        with self.g.conn() as c:
            port = c.sock.getsockname()[1]
            c.send(build_request("GET", "/repos/acme/widgets", [
                ("Host", "api.github.com"),
                ("Authorization", "token " + self.tok)],
                version="HTTP/1.0"))
            r = c.read_response()
        self.assertEqual(r.status, 200, r)
        acc = self.access_for(self.g, port)[0]
        self.assertFullAccess(acc, r, port, "GET", "/repos/acme/widgets",
                              "api.github.com", proto="HTTP/1.0",
                              owner="alice")

    def test_keep_alive_requests_each_have_a_record(self):
        with self.g.conn() as c:
            port = c.sock.getsockname()[1]
            rs = [self.call(self.g, "GET", "/repos/acme/widgets/issues/%d"
                            % i, token=self.tok, conn=c)[0]
                  for i in (1, 2, 3)]
        accs = self.access_for(self.g, port, 3)
        self.assertEqual([a["request"]["uri"] for a in accs],
                         ["/repos/acme/widgets/issues/%d" % i
                          for i in (1, 2, 3)])
        for r, a in zip(rs, accs):
            self.assertEqual(a["size"], r.body_length)
        self.assertEqual(len({a["request_id"] for a in accs}), 3)

    def test_refused_request_head(self):
        """A head refused before it could be parsed: the shorter
        record."""
        from harness import HttpConn
        with HttpConn("127.0.0.1", self.g.port) as c:
            port = c.sock.getsockname()[1]
            c.send(b"NOT A REQUEST\r\n\r\n")
            r = c.read_response()
        self.assertEqual(r.status, 400, r)
        acc = self.access_for(self.g, port)[0]
        self.assertAccessShape(acc)
        self.assertEqual(acc["msg"], "refused request head")
        self.assertEqual(set(acc["request"]), {"remote_ip", "remote_port"})
        self.assertEqual(acc["status"], 400)
        self.assertEqual(acc["size"], r.body_length)


# ------------------------------------------------------------- secrets


class NoSecretsTest(ObserveCase):
    """No client token, stored credential or Authorization value in the
    audit log, the access log, the daemon's log (at -vv) or the
    metrics, whatever form the token came in."""

    def test_no_secret_anywhere(self):
        g = start_proxy(self, workers=2, metrics=True, verbose=2)
        g.add_credential("bob", CRED_BOB)
        tok, tid = g.new_token("alice", "acme/widgets",
                               "contents:read,issues:write",
                               "--session", SESSION)
        btok, _ = g.new_token("bob", "acme/gadgets", "contents:read")
        g.fake.add_credential(FOREIGN, "bob")
        unknown = make_token("ghx_")
        agent = make_token("gha_")
        cookie = "session=cookie-secret-0123456789"
        proxy_auth = basic_auth("proxyuser", "proxy-secret-0123456789")
        auths = ["token " + tok, "Bearer " + tok,
                 basic_auth("x-access-token", tok), basic_auth(tok, ""),
                 basic_auth(tok, "x-oauth-basic"), "token " + btok,
                 "token " + unknown, "token " + agent,
                 "token " + CRED_ALICE, "Bearer " + CRED_BOB,
                 basic_auth("x", CRED_ALICE), "token " + FOREIGN,
                 basic_auth("x-access-token", FOREIGN)]
        n = 0
        ports = []
        for auth in auths:
            for method, path, body in (
                    ("GET", "/repos/acme/widgets", None),
                    ("GET", "/repos/acme/gadgets/issues/1", None),
                    ("POST", "/repos/acme/widgets/issues",
                     b'{"title": "t"}'),
                    ("GET", "/repos/acme/widgets/frobnicate", None)):
                r, port, _, _ = self.call(
                    g, method, path, auth=auth, body=body, headers=[
                        ("Cookie", cookie),
                        ("Proxy-Authorization", proxy_auth)])
                self.assertLess(r.status, 500, r)
                ports.append(port)
                n += 1
        for port in ports:
            self.access_for(g, port)
        text = g.metrics().body.decode("utf-8", "replace")
        self.assertIn("ghp_requests_total", text)
        needles = {"client token": tok, "client token past its prefix":
                   tok[8:], "bob's client token": btok,
                   "bob's token past its prefix": btok[8:],
                   "an unknown token": unknown, "an agent-looking token":
                   agent, "alice's stored credential": CRED_ALICE,
                   "bob's stored credential": CRED_BOB,
                   "a foreign raw token": FOREIGN,
                   "a cookie": "cookie-secret-0123456789",
                   "a Proxy-Authorization": proxy_auth.split()[1],
                   "the proxy password": "proxy-secret-0123456789"}
        for auth in auths:
            needles["Authorization " + auth[:14]] = auth
            if auth.startswith("Basic "):
                needles["Basic value " + auth[6:16]] = auth[6:]
        places = {"metrics": text.encode()}
        for place, path in (("audit log", g.audit_path),
                            ("access log", g.access_path),
                            ("ghp log", g.log_path)):
            with open(path, "rb") as f:
                places[place] = f.read()
        self.assertGreaterEqual(len(read_json_lines(g.audit_path)), n)
        for place, data in places.items():
            for what, needle in needles.items():
                self.assertNotIn(needle.encode(), data,
                                 "%s holds %s" % (place, what))


# ------------------------------------------------------------- metrics


class MetricsTest(ObserveCase):
    """The metrics listener: strict Prometheus text, the series ghp(8)
    lists, counts added up over the workers."""

    def start(self, workers=2):
        g = start_proxy(self, workers=workers, metrics=True)
        tok, tid = g.new_token("alice", "acme/widgets",
                               "contents:read,issues:write")
        g.fake.add_credential(FOREIGN, "bob")
        return g, tok

    def scrape(self, g):
        r = g.metrics()
        self.assertEqual(r.status, 200, r)
        ct = r.headers.get("content-type", "")
        self.assertTrue(ct.startswith("text/plain"), ct)
        self.assertIn("version=0.0.4", ct)
        if "content-length" in r.headers:
            self.assertEqual(int(r.headers["content-length"]), len(r.body))
        text = r.body.decode("utf-8")
        try:
            return parse_prometheus(text)
        except ExpositionError as e:
            self.fail("not Prometheus text format: %s\n%s" % (e, text))

    def scrape_until(self, g, pred, what):
        """Scrape until pred(families) is true; returns the families."""
        def ok():
            f = self.scrape(g)
            return f if pred(f) else None
        return g.wait_for(ok, 10, what)

    def test_parser_rejects_what_it_should(self):
        """The strict parser itself: each of these is refused."""
        good = ("# HELP h A histogram.\n# TYPE h histogram\n"
                'h_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\n'
                "h_sum 3\nh_count 2\n")
        parse_prometheus(good)
        bad = [
            good.replace("h_count 2", "h_count 3"),
            good.replace('h_bucket{le="1"} 1', 'h_bucket{le="1"} 3'),
            good.replace('le="+Inf"', 'le="5"'),
            good.replace("# TYPE h histogram\n", ""),
            good.replace("# HELP h A histogram.\n", ""),
            good[:-1],
            "# HELP c C.\n# TYPE c counter\nc -1\n",
            "# HELP c C.\n# TYPE c counter\nc{a=\"x\"} 1\nc{a=\"x\"} 2\n",
            "# HELP c C.\n# TYPE c counter\nc{a=x} 1\n",
            "# HELP c C.\n# TYPE c counter\nc 1_0\n",
            "# HELP c C.\n# TYPE c counter\nc 1\n"
            "# HELP d D.\n# TYPE d gauge\nd 1\nc 2\n",
            "# HELP c C.\n# TYPE c countr\nc 1\n",
        ]
        for text in bad:
            with self.subTest(text=text):
                self.assertRaises(ExpositionError, parse_prometheus, text)

    def test_documented_series_and_format(self):
        g, tok = self.start()
        self.assertEqual(g.api("GET", "/repos/acme/widgets", tok).status,
                         200)
        fams = self.scrape_until(
            g, lambda f: series(f, "ghp_requests_total"),
            "a request counted")
        types = {n: f["type"] for n, f in fams.items()}
        for name, t in (("ghp_generation", "gauge"),
                        ("ghp_workers", "gauge"),
                        ("ghp_requests_total", "counter"),
                        ("ghp_proxy_decision_duration_seconds",
                         "histogram"),
                        ("ghp_token_cache_total", "counter"),
                        ("ghp_github_ratelimit_remaining", "gauge")):
            self.assertEqual(types.get(name), t, "%s: %s" % (name, types))
        self.assertEqual(value_of(fams, "ghp_generation"), 1)
        self.assertEqual(value_of(fams, "ghp_workers"), 2)
        for labels, _ in series(fams, "ghp_requests_total"):
            self.assertEqual(set(labels), {"route", "decision", "status"})
        stages = {l["stage"] for l, _ in series(
            fams, "ghp_proxy_decision_duration_seconds",
            "ghp_proxy_decision_duration_seconds_count")}
        self.assertTrue(set(STAGES) <= stages, stages)
        les = [l["le"] for l, _ in series(
            fams, "ghp_proxy_decision_duration_seconds",
            "ghp_proxy_decision_duration_seconds_bucket", stage="total")]
        finite = [float(x) for x in les if x != "+Inf"]
        self.assertEqual((min(finite), max(finite)), (0.0005, 10.0),
                         "buckets from 0.5 ms to 10 s: %s" % les)
        results = {l.get("result") for l, _ in
                   series(fams, "ghp_token_cache_total")}
        self.assertEqual(results, {"hit", "miss"})

    def test_only_get_metrics_is_served(self):
        g, _ = self.start(workers=1)
        self.assertEqual(g.metrics().status, 200)
        self.assertEqual(g.metrics("/other").status, 404)
        self.assertEqual(g.metrics("/").status, 404)
        self.assertEqual(g.metrics(method="POST").status, 404)

    def test_counts_are_the_sum_over_every_worker(self):
        """Two workers, a mix of requests on many connections until both
        workers have served some: every count equals what was sent."""
        g, tok = self.start(workers=2)
        expect = {}         # (route, decision, status) -> n
        stage = {"token": 0, "scope": 0, "forwarded": 0, "api": 0,
                 "all": 0}

        def sent(route, decision, status, r, *stages):
            self.assertEqual(r.status, status, r)
            k = (route, decision, str(status))
            expect[k] = expect.get(k, 0) + 1
            stage["all"] += 1
            if route == "api":
                stage["api"] += 1
            for s in stages:
                stage[s] += 1

        want = set(g.worker_pids())
        served = set()
        for rnd in range(60):
            a = lambda *x, **k: self.call(g, *x, **k)[0]
            sent("api", "allow", 200,
                 a("GET", "/repos/acme/widgets", token=tok),
                 "token", "scope", "forwarded")
            sent("api", "deny", 403,
                 a("GET", "/repos/acme/gadgets", token=tok),
                 "token", "scope")
            sent("api", "deny", 401, a("GET", "/repos/acme/widgets"))
            sent("api", "deny", 401,
                 a("GET", "/repos/acme/widgets", token=make_token()),
                 "token")
            sent("api", "pass", 200,
                 a("GET", "/repos/acme/gadgets", auth="token " + FOREIGN),
                 "forwarded")
            sent("other", "none", 404,
                 a("GET", "/not-the-api", host="ghp.test"))
            with g.conn() as c:
                for i in (1, 2):
                    sent("api", "allow", 200,
                         a("GET", "/repos/acme/widgets/issues/%d" % i,
                           token=tok, conn=c),
                         "token", "scope", "forwarded")
            raw = http_raw("127.0.0.1", g.port, b"NOT A REQUEST\r\n\r\n")
            self.assertTrue(raw.startswith(b"HTTP/1.1 400 "), raw[:40])
            k = ("other", "none", "400")
            expect[k] = expect.get(k, 0) + 1
            stage["all"] += 1
            served = {worker_pid_of(x["request_id"]) for x in
                      read_json_lines(g.access_path) if "request_id" in x}
            if rnd >= 1 and want <= served:
                break
        self.assertTrue(want <= served, "only workers %s of %s served" %
                        (served, want))
        total = stage["all"]

        def counted(f):
            return sum(v for _, v in series(f, "ghp_requests_total")) >= \
                total
        fams = self.scrape_until(g, counted, "%d requests counted" % total)
        got = {(l["route"], l["decision"], l["status"]): v
               for l, v in series(fams, "ghp_requests_total")}
        self.assertEqual(got, {k: float(v) for k, v in expect.items()})

        h = "ghp_proxy_decision_duration_seconds"

        def count(st):
            return value_of(fams, h, h + "_count", stage=st)
        self.assertEqual(count("upstream"), stage["forwarded"])
        self.assertEqual(count("credential"), stage["forwarded"])
        self.assertEqual(count("token"), stage["token"])
        self.assertEqual(count("scope"), stage["scope"])
        self.assertGreaterEqual(count("parse"), stage["api"])
        self.assertLessEqual(count("parse"), total)
        lookups = sum(v for _, v in series(fams, "ghp_token_cache_total"))
        self.assertEqual(lookups, stage["token"],
                         "token cache hits + misses != token look-ups")
        # And ghpctl status agrees with the workers' share.
        def served_by_workers():
            n = sum(w.get("requests", 0) for w in
                    g.procs(g.status(), "worker"))
            return n if n >= total else None
        self.assertEqual(g.wait_for(served_by_workers, 10,
                                    "ghpctl status to count %d" % total),
                         total)
        # Last, as it is the one most open to reading: "total (the
        # whole request)" is observed once per request answered, as
        # ghp_requests_total counts them (refused heads included).
        self.assertEqual(count("total"), total,
                         "stage total counts every request answered "
                         "(ghp_requests_total: %d)" % total)

    def test_upstream_latency(self):
        """A GitHub that takes at least 300 ms shows in the upstream and
        total stages above the 0.25 s bucket (a lower bound the delay
        guarantees, whatever the machine's load)."""
        g, tok = self.start(workers=2)
        g.fake.set_fault(1, "delay", match="/issues/3", delay_ms=300)
        r = g.api("GET", "/repos/acme/widgets/issues/3", tok)
        self.assertEqual(r.status, 200, r)
        h = "ghp_proxy_decision_duration_seconds"
        fams = self.scrape_until(
            g, lambda f: value_of(f, h, h + "_count", stage="total") >= 1,
            "the request counted")
        for st in ("upstream", "total"):
            with self.subTest(stage=st):
                n = value_of(fams, h, h + "_count", stage=st)
                self.assertEqual(n, 1)
                self.assertGreaterEqual(
                    value_of(fams, h, h + "_sum", stage=st), 0.3)
                self.assertEqual(
                    value_of(fams, h, h + "_bucket", stage=st, le="0.25"),
                    0, "a 300 ms answer counted at or below 0.25 s")

    def test_ratelimit_remaining_per_credential(self):
        g, tok = self.start(workers=2)
        g.add_credential("bob", CRED_BOB)
        btok, _ = g.new_token("bob", "acme/gadgets", "contents:read")
        g.fake.set_rate_limit(CRED_ALICE, remaining=4321)
        g.fake.set_rate_limit(CRED_BOB, remaining=777)
        g.fake.set_rate_limit(FOREIGN, remaining=55)
        want = {}
        for owner, kw, path in (
                ("alice", {"token": tok}, "/repos/acme/widgets"),
                ("bob", {"token": btok}, "/repos/acme/gadgets"),
                ("(not ghp's)", {"auth": "token " + FOREIGN},
                 "/repos/acme/gadgets")):
            r = g.api("GET", path, **kw)
            self.assertEqual(r.status, 200, r)
            want[owner] = float(r.headers["x-ratelimit-remaining"])
        # One less for ghp's credentials: ghp's own GET /user, once per
        # credential, to learn the login behind it.
        self.assertEqual(want, {"alice": 4319, "bob": 775,
                                "(not ghp's)": 54})
        name = "ghp_github_ratelimit_remaining"

        def seen(f):
            got = {l.get("credential"): v for l, v in series(f, name)}
            return all(k in got for k in want)
        fams = self.scrape_until(g, seen, "every credential's rate limit")
        got = {}
        for labels, v in series(fams, name):
            self.assertEqual(set(labels), {"credential"}, labels)
            got[labels["credential"]] = v
        self.assertEqual(got, want)
        for label in got:
            for secret in (CRED_ALICE, CRED_BOB, FOREIGN, tok, btok):
                self.assertNotIn(secret[:8], label)


if __name__ == "__main__":
    unittest.main()
