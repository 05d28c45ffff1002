"""
test_proxy_metrics.py: the Prometheus metrics ghp serves, checked
against ghp(8) ("Metrics") and ghp.conf(5) (METRICS): strict exposition
format, requests by route, decision and status, the per-stage histogram,
upstream latency, GitHub's rate limit per credential, all added up over
the workers.

The audit and access logs are test_proxy_audit.py's; what both share
(the exposition parser among it) is in observe_case.py.

Run with tests/integration/run_all.py (or python3 -m unittest from this
directory).
"""

import unittest

from harness import http_raw
from observe_case import (FOREIGN, STAGES, ExpositionError, ObserveCase,
                          parse_prometheus, series, value_of)
from proxy_case import (CRED_ALICE, CRED_BOB, make_token, read_json_lines,
                        start_proxy, worker_pid_of)

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
