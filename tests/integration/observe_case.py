"""
observe_case.py: what test_proxy_audit.py and test_proxy_metrics.py
share: ObserveCase, a ProxyCase whose requests can be traced to their
access and audit records, with the shapes ghp(8) ("Audit and access
records") gives those records; a strict parser of Prometheus' text
exposition format (0.0.4) and look-ups in what it returns; the foreign
token and the session name both files use.

Not a test module itself (run_all.py collects test_*.py only).
"""

import calendar
import json
import math
import re
import time

from harness import api_headers
from proxy_case import ProxyCase, read_json_lines

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
        items = api_headers(host, token, auth, headers)
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
