"""The prometheus and prometheus-remote-write backends end to end against a real Prometheus
(Debian's prometheus 2.42, started here on loopback with a temporary config and TSDB,
docs/prometheus.md): Prometheus scrapes cstatsd's `[prometheus] listen-address` every second and
receives cstatsd's remote writes on /api/v1/write. After known statsd traffic over UDP,
/api/v1/query returns, through both paths, the counter totals (cumulative across flushes) and a
positive rate(), gauges, histogram buckets, sums and counts of `ms` timers (in seconds) and of
`h` values (as sent), labels from DogStatsD tags and from a mapping's captures, and nothing for
an `action: drop` mapping; a scraped series leaves Prometheus after expiry; `promtool check
metrics` finds no error in the exposition; statsd_exporter's documented mapping examples give
statsd_exporter's documented series (golden). Scraped series carry the target label
via="scrape"; remote-written series have no `via` label. Every wait is bounded; no timing is
asserted."""

import gzip
import math
import os
import re
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import harness  # noqa: E402
from prometheus_service import Prometheus, free_port, promtool_check_metrics  # noqa: E402

SCRAPED = 'via="scrape",job="cstatsd"'  # the main test's scraped series
PUSHED = 'via=""'  # remote-written series: no target labels

# The traffic's mapping file: statsd_exporter's format (docs/prometheus.md#mapping).
MAPPING = r"""
defaults:
  observer_type: histogram
mappings:
- match: "e2e.dispatcher.*.*"
  name: "dispatcher_events_total"
  labels:
    processor: "$1"
    outcome: "$2"
- match: "e2e.secret.*"
  action: drop
  name: "dropped"
- match: "e2e.size"
  name: "e2e_size"
  histogram_options:
    buckets: [1, 5, 10]
- match: "e2e.summ"
  name: "e2e_summ"
  observer_type: summary
- match: "e2e\\.regex\\.(\\w+)\\.count"
  match_type: regex
  name: "regex_${1}_total"
  labels:
    kind: "$1"
"""

# statsd_exporter's README examples (its "Glob matching", "Regular expression matching",
# "Special match groups", "StatsD timers and distributions", "drop action" and "Explicit metric
# type mapping" sections), in one file. Its "Special match groups" example matches everything,
# so it goes last, and the catch-all drop would shadow it: the drop example matches `golden.drop`
# only.
GOLDEN_MAPPING = r"""
mappings:
- match: "test.dispatcher.*.*.*"
  name: "dispatcher_events_total"
  labels:
    processor: "$1"
    action: "$2"
    outcome: "$3"
    job: "test_dispatcher"
- match: "*.signup.*.*"
  name: "signup_events_total"
  labels:
    provider: "$2"
    outcome: "$3"
    job: "${1}_server"
- match: "test.*.*.counter"
  name: "${2}_total"
  labels:
    provider: "$1"
- match: "test.timing.*.*.*"
  observer_type: histogram
  histogram_options:
    buckets: [ 0.01, 0.025, 0.05, 0.1 ]
  name: "my_timer"
  labels:
    provider: "$2"
    outcome: "$3"
    job: "${1}_server"
- match: "test.foo.*"
  name: "test_foo"
  match_metric_type: counter
  labels:
    provider: "$1"
- match: "golden.drop"
  action: drop
  name: "dropped"
- match: "(.*)\\.(.*)--(.*)\\.status\\.(.*)\\.count"
  match_type: regex
  name: "request_total"
  labels:
    hostname: "$1"
    exec: "$2"
    protocol: "$3"
    code: "$4"
- match: "my\\..+"
  match_type: regex
  name: "$0"
  labels:
    statsd_metric_name: "$0"
"""

# What Prometheus 2.42 sends when it scrapes: OpenMetrics preferred, text accepted.
PROMETHEUS_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                     "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")

# statsd_exporter's default histogram buckets (docs/prometheus.md#exposition).
DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]


def labelset(**labels):
    return frozenset(labels.items())


def fetch(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()


_SAMPLE = re.compile(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')


def parse_exposition(text):
    """Samples of a text exposition (0.0.4): {(name, frozenset of labels): float}; comments
    skipped. Raises on a line it cannot read."""
    out = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        m = _SAMPLE.fullmatch(line.strip())
        if not m:
            raise AssertionError(f"unreadable exposition line {line!r}")
        labels = {}
        body = m.group(2) or ""
        pos = 0
        while pos < len(body):
            lm = _LABEL.match(body, pos)
            if not lm:
                raise AssertionError(f"unreadable labels in {line!r}")
            value = lm.group(2).replace(r"\"", '"').replace(r"\n", "\n").replace("\\\\", "\\")
            labels[lm.group(1)] = value
            pos = lm.end()
        out[(m.group(1), frozenset(labels.items()))] = float(m.group(3))
    return out


class PrometheusEndToEnd(harness.ServerTestCase):
    """One Prometheus for the module's tests; each test starts its own cstatsd on the port of
    one scrape job."""

    @classmethod
    def setUpClass(cls):
        cls.ports = {job: free_port() for job in ("cstatsd", "expiry", "ttl", "lint", "golden")}
        cls.prom = Prometheus({job: f"127.0.0.1:{port}" for job, port in cls.ports.items()})
        cls.addClassCleanup(cls.prom.cleanup)
        cls.prom.start()

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cstatsd-e2e-prom-")

    def start_cstatsd(self, job, mapping, prometheus_keys="", top_keys="",
                      backends='["prometheus", "prometheus-remote-write"]'):
        mapping_path = os.path.join(self.tmp, f"{job}-mapping.yml")
        with open(mapping_path, "w") as f:
            f.write(mapping)
        conf = os.path.join(self.tmp, f"{job}.toml")
        with open(conf, "w") as f:
            f.write(f"""backends = {backends}
metrics-addr = "127.0.0.1:0"
flush-interval = "1s"
statser-type = "internal"
{top_keys}

[prometheus]
listen-address = "127.0.0.1:{self.ports[job]}"
mapping-config = "{mapping_path}"
{prometheus_keys}

[prometheus-remote-write]
url = "{self.prom.remote_write_url}"
mapping-config = "{mapping_path}"
""")
        server = self.start(["--config-path", conf])
        self.metrics_url = f"http://127.0.0.1:{self.ports[job]}/metrics"
        # The scrape target is up once cstatsd serves its endpoint.
        self.prom.wait(f'up{{job="{job}"}} == 1', lambda r: len(r) == 1, what="target up")
        return server

    def wait_value(self, expr, expected, timeout=20):
        """Waits until the query returns exactly one series whose value is `expected`."""
        self.prom.wait(expr, lambda r: len(r) == 1 and math.isclose(
            float(r[0]["value"][1]), expected, rel_tol=1e-9, abs_tol=1e-12), timeout=timeout)

    def wait_values(self, expr, expected, timeout=20):
        """Waits until the query returns exactly `expected` ({labels: value}, the labels
        without __name__, job, instance and via)."""
        def strip(result):
            return {frozenset((k, v) for k, v in s["metric"].items()
                              if k not in ("__name__", "job", "instance", "via")):
                    float(s["value"][1]) for s in result}
        try:
            self.prom.wait(expr, lambda r: strip(r) == expected, timeout=timeout)
        except AssertionError:
            self.assertEqual(strip(self.prom.query(expr)), expected, expr)

    # ----- traffic, read back through both paths -----

    def test_values_read_back_scraped_and_remote_written(self):
        s = self.start_cstatsd("cstatsd", MAPPING)
        counter_total = 0
        # Three flushes apart, so totals are cumulative across flushes and rate() has steps.
        for round_ in range(3):
            lines = [f"e2e.requests:{round_ + 1}|c|#env:prod,route:home",
                     "e2e.requests:1|c|@0.5|#env:prod,route:home",  # counts 2
                     f"e2e.temperature:{20 + round_}.5|g|#room:lab",
                     f"e2e.latency:{100 * (round_ + 1)}|ms|#route:home",
                     f"e2e.size:{3 + 4 * round_}|h",
                     f"e2e.summ:{100 * (round_ + 1)}|ms",
                     "e2e.dispatcher.FooProcessor.success:1|c",
                     "e2e.regex.jobs.count:2|c",
                     "e2e.secret.token:5|c",
                     "e2e.secret.gauge:5|g"]
            counter_total += round_ + 1 + 2
            s.send("\n".join(lines))
            time.sleep(1.1)

        for via in (SCRAPED, PUSHED):
            with self.subTest(via=via):
                # Counters: cumulative totals after sample-rate correction.
                self.wait_value(f'e2e_requests{{{via},env="prod",route="home"}}', counter_total)
                # Gauges: the last value.
                self.wait_value(f'e2e_temperature{{{via},room="lab"}}', 22.5)
                # ms timers in seconds, as a histogram with the default buckets.
                secs = [0.1, 0.2, 0.3]
                self.wait_value(f'e2e_latency_count{{{via},route="home"}}', 3)
                self.wait_value(f'e2e_latency_sum{{{via},route="home"}}', sum(secs))
                expected = {labelset(route="home", le=_le(b)): float(sum(v <= b for v in secs))
                            for b in DEFAULT_BUCKETS}
                expected[labelset(route="home", le="+Inf")] = 3.0
                self.wait_values(f'e2e_latency_bucket{{{via}}}', expected)
                # h values as they are (3, 7, 11), with the mapping's buckets.
                self.wait_value(f'e2e_size_count{{{via}}}', 3)
                self.wait_value(f'e2e_size_sum{{{via}}}', 21)
                self.wait_values(f'e2e_size_bucket{{{via}}}', {
                    labelset(le="1"): 0.0, labelset(le="5"): 1.0, labelset(le="10"): 2.0,
                    labelset(le="+Inf"): 3.0})
                # Labels from a glob mapping's captures and from a regex mapping's.
                self.wait_values(f'dispatcher_events_total{{{via}}}',
                                 {labelset(processor="FooProcessor", outcome="success"): 3.0})
                self.wait_values(f'regex_jobs_total{{{via}}}', {labelset(kind="jobs"): 6.0})
                # Nothing at all for the dropped mapping, under any name.
                self.assertEqual(self.prom.query(
                    f'{{__name__=~"dropped.*|e2e_secret.*|.*secret.*",{via}}}'), [])

        # The summary's count and sum through the scrape (its quantiles per docs/prometheus.md).
        self.wait_value(f'e2e_summ_count{{{SCRAPED}}}', 3)
        self.wait_value(f'e2e_summ_sum{{{SCRAPED}}}', 0.6)
        quantiles = self.prom.values(f'e2e_summ{{{SCRAPED}}}')
        self.assertTrue(quantiles, "no e2e_summ quantile series")
        for labels, v in quantiles.items():
            self.assertIn("quantile", dict(labels))
            self.assertTrue(math.isnan(v) or 0.1 <= v <= 0.3, (labels, v))

        # rate() over the scraped counter, on a window that holds all the traffic: positive, and
        # times the window no more than the total (extrapolation aside).
        r = self.prom.wait(f'rate(e2e_requests{{{SCRAPED}}}[5m])',
                           lambda res: len(res) == 1 and float(res[0]["value"][1]) > 0)
        self.assertLessEqual(float(r[0]["value"][1]) * 300, counter_total * 1.5)

        # The exposition itself: nothing of the dropped mapping, internal metrics there too.
        _, _, body = fetch(self.metrics_url)
        text = body.decode()
        self.assertNotIn("secret", text)
        self.assertNotRegex(text, r"(?m)^dropped")
        self.assertRegex(text, r"(?m)^cstatsd_prometheus_dropped_series_total 2$")  # 2 series
        self.assertRegex(text, r"(?m)^statsd_\w+")  # internal metrics
        self.assertRegex(text, r"(?m)^process_resident_memory_bytes ")
        self.stop_ok(s)

    # ----- expiry -----

    def test_series_leaves_prometheus_after_expiry(self):
        s = self.start_cstatsd("expiry", "mappings: []\n",
                               prometheus_keys='expiry-interval = "2s"', backends='["prometheus"]')
        s.send("e2e.gone:4|c|#k:v\ne2e.gone_gauge:3|g")
        self.wait_value('e2e_gone{job="expiry",k="v"}', 4)
        self.wait_value('e2e_gone_gauge{job="expiry"}', 3)
        # Not received for `[prometheus] expiry-interval`: the target stops exposing it,
        # Prometheus marks it stale at the next scrape and an instant query returns nothing.
        self.prom.wait('e2e_gone{job="expiry"} or e2e_gone_gauge{job="expiry"}',
                       lambda r: r == [], timeout=20, what="expired series")
        _, _, body = fetch(self.metrics_url)
        self.assertNotRegex(body.decode(), r"(?m)^e2e_gone")
        # The same name received again comes back, counting from its new value.
        s.send("e2e.gone:1|c|#k:v")
        self.wait_value('e2e_gone{job="expiry",k="v"}', 1)
        self.stop_ok(s)

    def test_expiry_defaults_to_the_top_level_key_and_a_mapping_ttl_wins(self):
        # A mapping's `ttl` (2 s) against a section default of an hour: only its series leaves.
        mapping = ('mappings:\n- match: "e2e.short.*"\n  name: "e2e_short"\n  ttl: 2s\n'
                   '  labels:\n    which: "$1"\n')
        s = self.start_cstatsd("ttl", mapping, top_keys='expiry-interval = "1h"',
                               backends='["prometheus"]')
        s.send("e2e.short.a:1|c\ne2e.long:1|c")
        self.wait_value('e2e_short{job="ttl",which="a"}', 1)
        self.wait_value('e2e_long{job="ttl"}', 1)
        self.prom.wait('e2e_short{job="ttl"}', lambda r: r == [], what="series past its ttl")
        self.wait_value('e2e_long{job="ttl"}', 1, timeout=5)
        self.stop_ok(s)
        # No [prometheus] expiry-interval: the top-level expiry-interval (2 s) applies.
        s = self.start_cstatsd("ttl", "mappings: []\n", top_keys='expiry-interval = "2s"',
                               backends='["prometheus"]')
        s.send("e2e.default_expiry:1|c")
        self.wait_value('e2e_default_expiry{job="ttl"}', 1)
        self.prom.wait('e2e_default_expiry{job="ttl"}', lambda r: r == [],
                       what="series past the top-level expiry-interval")
        self.stop_ok(s)

    # ----- the exposition: promtool, gzip, OpenMetrics only when enabled -----

    def test_promtool_finds_no_error_in_the_exposition(self):
        s = self.start_cstatsd("lint", MAPPING, backends='["prometheus"]')
        s.send("e2e.requests:1|c|#env:prod\ne2e.temperature:1.5|g\ne2e.latency:12|ms\n"
               "e2e.size:3|h\ne2e.summ:5|ms\ne2e.users:alice|s\n"
               'e2e.odd-name:1|c|#tag with space:va"l\\ue,9lead:x')
        self.prom.wait('e2e_latency_count{job="lint"}', lambda r: len(r) == 1)
        status, headers, body = fetch(self.metrics_url)
        self.assertEqual(status, 200)
        self.assertIn("text/plain", headers.get("content-type", ""))
        rc, out = promtool_check_metrics(body.decode())
        # 3: lint notes only (statsd_exporter's names have no _total, no help of our own);
        # 1 with "error while linting": the text does not parse.
        self.assertIn(rc, (0, 3), out)
        self.assertNotIn("error while linting", out)
        self.assertNotIn("parsing error", out)
        parse_exposition(body.decode())  # every sample line readable

        _, gz_headers, gz_body = fetch(self.metrics_url, {"Accept-Encoding": "gzip"})
        self.assertEqual(gz_headers.get("content-encoding"), "gzip")
        self.assertIn(b"e2e_requests", gzip.decompress(gz_body))

        # By default the text format whatever the scraper asks, as statsd_exporter: Prometheus
        # asks for OpenMetrics first, which would store `le="1.0"` where statsd_exporter's
        # series have `le="1"`.
        _, om_headers, om_body = fetch(self.metrics_url, {"Accept": PROMETHEUS_ACCEPT})
        self.assertIn("text/plain", om_headers.get("content-type", ""))
        self.assertNotIn(b"# EOF", om_body)
        self.stop_ok(s)

        # `openmetrics = true`: OpenMetrics 1.0 to a scraper that asks for it.
        s = self.start_cstatsd("lint", MAPPING, prometheus_keys="openmetrics = true",
                               backends='["prometheus"]')
        s.send("e2e.requests:1|c|#env:prod\ne2e.latency:12|ms")
        deadline = time.monotonic() + 20
        while True:
            _, om_headers, om_body = fetch(self.metrics_url, {"Accept": PROMETHEUS_ACCEPT})
            if b"e2e_latency_bucket" in om_body or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        self.assertIn("application/openmetrics-text", om_headers.get("content-type", ""))
        self.assertTrue(om_body.rstrip().endswith(b"# EOF"), om_body[-200:])
        self.assertIn(b'e2e_latency_bucket{le="1.0"}', om_body)
        _, text_headers, _ = fetch(self.metrics_url)  # no Accept: text
        self.assertIn("text/plain", text_headers.get("content-type", ""))
        self.stop_ok(s)

    # ----- golden: statsd_exporter's documented examples -----

    def test_statsd_exporter_documented_mapping_examples(self):
        s = self.start_cstatsd("golden", GOLDEN_MAPPING, backends='["prometheus"]')
        s.send("\n".join([
            "test.dispatcher.FooProcessor.send.success:1|c",
            "foo_product.signup.facebook.failure:1|c",
            "test.web-server.foo.bar:1|c",
            "test.provider1.requests.counter:2|c",
            "test.timing.web.aws.ok:20|ms",      # 0.02 s
            "test.timing.web.aws.ok:70|ms",      # 0.07 s
            "test.foo.bar:3|c",                  # match_metric_type: counter
            "test.foo.baz:3|g",                  # a gauge: not that mapping; escaped name
            "golden.drop:9|c",
            "host-1.nginx--http.status.200.count:1|c",
            "my.statsd_counter:5|c",
        ]))
        expected = {
            ("dispatcher_events_total", labelset(processor="FooProcessor", action="send",
                                                 outcome="success", job="test_dispatcher")): 1,
            ("signup_events_total", labelset(provider="facebook", outcome="failure",
                                             job="foo_product_server")): 1,
            ("test_web_server_foo_bar", labelset()): 1,
            ("requests_total", labelset(provider="provider1")): 2,
            ("my_timer_bucket", labelset(provider="aws", outcome="ok", job="web_server",
                                         le="0.01")): 0,
            ("my_timer_bucket", labelset(provider="aws", outcome="ok", job="web_server",
                                         le="0.025")): 1,
            ("my_timer_bucket", labelset(provider="aws", outcome="ok", job="web_server",
                                         le="0.05")): 1,
            ("my_timer_bucket", labelset(provider="aws", outcome="ok", job="web_server",
                                         le="0.1")): 2,
            ("my_timer_bucket", labelset(provider="aws", outcome="ok", job="web_server",
                                         le="+Inf")): 2,
            ("my_timer_sum", labelset(provider="aws", outcome="ok", job="web_server")): 0.09,
            ("my_timer_count", labelset(provider="aws", outcome="ok", job="web_server")): 2,
            ("test_foo", labelset(provider="bar")): 3,
            ("test_foo_baz", labelset()): 3,
            ("request_total", labelset(hostname="host-1", exec="nginx", protocol="http",
                                       code="200")): 1,
            ("my_statsd_counter", labelset(statsd_metric_name="my.statsd_counter")): 5,
        }
        names = {name for name, _ in expected}
        deadline = time.monotonic() + 20
        while True:
            _, _, body = fetch(self.metrics_url)
            samples = parse_exposition(body.decode())
            got = {k: v for k, v in samples.items() if k[0] in names}
            if got.keys() == expected.keys() or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        self.assertEqual(set(got), set(expected), body.decode())
        for key, value in expected.items():
            self.assertTrue(math.isclose(got[key], value, abs_tol=1e-9), (key, got[key], value))
        self.assertNotIn("golden_drop", body.decode())
        self.assertNotRegex(body.decode(), r"(?m)^dropped")
        # Scraped, the mapping's `job` label becomes exported_job (Prometheus's own `job` is
        # the scrape job's), as with statsd_exporter.
        self.wait_value('dispatcher_events_total{job="golden",exported_job="test_dispatcher",'
                        'processor="FooProcessor"}', 1)
        self.stop_ok(s)


def _le(bound):
    """An `le` label value as Prometheus writes it (Go's strconv 'g', shortest)."""
    text = repr(float(bound))
    return text[:-2] if text.endswith(".0") else text


if __name__ == "__main__":
    harness.main()
