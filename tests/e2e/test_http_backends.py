"""The HTTP backends end to end against a recording HTTP server on loopback (fake_http.py):
datadog, newrelic, cloudwatch and otlp requests are checked for method, path, query, headers and
compression, their bodies decoded (JSON, form, protobuf via protoc) and the values compared with
what was sent; injected 429 (Retry-After), 500s and timeouts show retries and, past the budget, a
counted drop (backend.* internal metrics, statser-type logging). The CloudWatch signature is
recomputed here independently (hmac/hashlib), and credentials also come from a fake instance
metadata service (IMDSv2)."""

import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import harness  # noqa: E402
from fake_http import FakeHttp  # noqa: E402

LINES = "h.c:3|c|#env:prod\nh.t:10|ms\nh.t:20|ms\nh.g:5|g\nh.s:a|s\nh.s:b|s"


def protoc_decode(message, data):
    out = subprocess.run(["protoc", f"--decode={message}", "-I", os.path.join(ROOT, "proto"),
                          os.path.join(ROOT, "proto", "otlp.proto")],
                         input=data, capture_output=True, check=True, timeout=30)
    return out.stdout.decode()


def protoc_encode(message, text):
    out = subprocess.run(["protoc", f"--encode={message}", "-I", os.path.join(ROOT, "proto"),
                          os.path.join(ROOT, "proto", "otlp.proto")],
                         input=text.encode(), capture_output=True, check=True, timeout=30)
    return out.stdout


class HttpBackendsTest(harness.ServerTestCase):
    def setUp(self):
        self.fake = FakeHttp()
        self.addCleanup(self.fake.close)
        self.tmp = tempfile.mkdtemp(prefix="cstatsd-http-backends-")

    def start_with(self, backend, section, extra="", env=None):
        conf = os.path.join(self.tmp, "cstatsd.toml")
        with open(conf, "w") as f:
            f.write(f"""backends = "{backend}"
metrics-addr = "127.0.0.1:0"
flush-interval = "300ms"
statser-type = "logging"
percent-threshold = "90"
{extra}
{section}
""")
        full_env = dict(os.environ)
        full_env.update({"HOME": self.tmp, "AWS_EC2_METADATA_DISABLED": "true"})
        full_env.update(env or {})
        return self.start(["--config-path", conf], env=full_env)

    def wait_counter(self, server, backend, name, at_least=1, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = harness.backend_counter(server, backend, name)
            if v is not None and v >= at_least:
                return v
            time.sleep(0.1)
        self.fail(f"backend.{name} for {backend} never reached {at_least}\n" + server.describe())

    # --- datadog -----------------------------------------------------------------------------

    def datadog_series(self, name):
        """Every datadog series named `name` received so far."""
        out = []
        for r in self.fake.received("/api/v1/series", 200):
            out += [s for s in json.loads(r.body)["series"] if s["metric"] == name]
        return out

    def test_datadog_series_and_events(self):
        s = self.start_with("datadog", f"""[datadog]
api_key = "k&y"
api_endpoint = "{self.fake.url}/"
""")
        s.send(LINES)
        s.send("_e{5,4}:title|text|#env:prod")
        self.fake.wait_for(lambda reqs: any(
            r.path == "/api/v1/series" and b'"h.c.count"' in r.body for r, _ in reqs))
        req = next(r for r in self.fake.received("/api/v1/series") if b'"h.c.count"' in r.body)
        self.assertEqual(req.method, "POST")
        self.assertEqual(req.query, {"api_key": ["k&y"]})
        self.assertEqual(req.headers["content-type"], "application/json")
        self.assertEqual(req.headers["dd-dogstatsd-version"], "5.6.3")
        self.assertEqual(req.headers["content-encoding"], "deflate")
        self.assertEqual(req.headers["user-agent"], "gostatsd")
        series = {x["metric"]: x for x in json.loads(req.body)["series"]}
        self.assertEqual(series["h.c.count"]["points"][0][1], 3)
        self.assertEqual(series["h.c.count"]["type"], "gauge")
        self.assertEqual(series["h.c.count"]["tags"], ["env:prod"])
        self.assertEqual(series["h.c.count"]["host"], "127.0.0.1")
        self.assertEqual(series["h.c.count"]["interval"], 0.3)
        self.assertEqual(series["h.c"]["type"], "rate")
        self.assertEqual(series["h.t.count"]["points"][0][1], 2)
        self.assertEqual(series["h.t.upper"]["points"][0][1], 20)
        self.assertEqual(series["h.t.count_ps"]["type"], "rate")
        self.assertIn("h.t.upper_90", series)
        self.assertEqual(series["h.g"]["points"][0][1], 5)
        self.assertEqual(series["h.s"]["points"][0][1], 2)
        # (The first event is the server's own "Gostatsd started".)
        self.fake.wait_for(lambda reqs: any(r.path == "/api/v1/events" and b'"title":"title"' in r.body
                                            for r, _ in reqs))
        ev = next(r for r in self.fake.received("/api/v1/events") if b'"title":"title"' in r.body)
        self.assertNotIn("content-encoding", ev.headers)  # events are never compressed
        body = json.loads(ev.body)
        self.assertEqual((body["title"], body["text"], body["tags"]), ("title", "text",
                                                                       ["env:prod"]))
        self.stop_ok(s)

    def test_datadog_retries_429_and_500_then_delivers(self):
        self.fake.script = [(429, {"Retry-After": "1"}, b""), (500, {}, b"oops")]
        s = self.start_with("datadog", f"""[datadog]
api_key = "k"
api_endpoint = "{self.fake.url}"
max_request_elapsed_time = "20s"
""")
        s.send("r.c:7|c")
        self.fake.wait_for(lambda reqs: any(
            st == 200 and b'"r.c.count"' in r.body for r, st in reqs))
        statuses = [st for _, st in self.fake.requests]
        self.assertEqual(statuses[:2], [429, 500])
        self.wait_counter(s, "datadog", "retried", 2)
        delivered = [x for x in self.datadog_series("r.c.count") if x["points"][0][1] == 7]
        self.assertEqual(len(delivered), 1)
        self.stop_ok(s)

    def test_datadog_drops_past_the_budget_and_counts_it(self):
        self.fake.default = (500, {}, b"down")
        s = self.start_with("datadog", f"""[datadog]
api_key = "k"
api_endpoint = "{self.fake.url}"
max_request_elapsed_time = "1s"
""")
        s.send("d.c:1|c")
        dropped = self.wait_counter(s, "datadog", "dropped", 1)
        created = harness.backend_counter(s, "datadog", "created")
        self.assertGreaterEqual(created, dropped)
        self.assertGreater(len(self.fake.requests), 1)  # retried before giving up
        self.stop_ok(s)

    def test_datadog_timeouts_are_retried(self):
        # The first answer comes after the client timeout; the retry is answered at once.
        self.fake.script = [(200, {}, b"", 2.0)]
        s = self.start_with("datadog", f"""[datadog]
api_key = "k"
api_endpoint = "{self.fake.url}"
[transport.default]
client-timeout = "500ms"
""")
        s.send("to.c:4|c")
        self.wait_counter(s, "datadog", "retried", 1)
        self.fake.wait_for(lambda reqs: sum(1 for r, _ in reqs if b'"to.c.count"' in r.body) >= 2)
        self.stop_ok(s)

    # --- newrelic ----------------------------------------------------------------------------

    def test_newrelic_insights_gzip_with_insert_key(self):
        s = self.start_with("newrelic", f"""[newrelic]
address = "{self.fake.url}/v1/accounts/1/events"
flush-type = "insights"
api-key = "secret"
event-type = "Stats"
""")
        s.send(LINES)
        self.fake.wait_for(lambda reqs: any(b'"h.c"' in r.body for r, _ in reqs))
        req = next(r for r in self.fake.received() if b'"h.c"' in r.body)
        self.assertEqual(req.path, "/v1/accounts/1/events")
        self.assertEqual(req.headers["x-insert-key"], "secret")
        self.assertEqual(req.headers["content-encoding"], "gzip")
        items = {x["name"]: x for x in json.loads(req.body)}
        self.assertEqual(items["h.c"]["value"], 3)
        self.assertEqual(items["h.c"]["eventType"], "Stats")
        self.assertEqual(items["h.c"]["env"], "prod")
        self.assertEqual(items["h.t"]["count"], 2)
        self.assertEqual(items["h.t"]["max"], 20)
        self.assertEqual(items["h.s"]["value"], 2)
        self.stop_ok(s)

    def test_newrelic_honours_retry_after(self):
        self.fake.script = [(429, {"Retry-After": "2"}, b"")]
        s = self.start_with("newrelic", f"""[newrelic]
address = "{self.fake.url}/v1/data"
""")
        s.send("nr.c:1|c")
        reqs = self.fake.wait_for(lambda reqs: len(reqs) >= 2)
        # The retry waited for Retry-After (2 s), not the 0.25–0.75 s of the first backoff.
        self.assertGreaterEqual(reqs[1][0].at - reqs[0][0].at, 1.9)
        self.wait_counter(s, "newrelic", "retried", 1)
        self.stop_ok(s)

    # --- cloudwatch --------------------------------------------------------------------------

    def check_sigv4(self, req, key_id, secret, region, token=None):
        """Recomputes the request's Signature Version 4 from scratch and compares it."""
        auth = req.headers["authorization"]
        self.assertTrue(auth.startswith(f"AWS4-HMAC-SHA256 Credential={key_id}/"), auth)
        signed = auth.split("SignedHeaders=")[1].split(",")[0]
        headers = {"host": req.headers["host"], "content-type": req.headers["content-type"],
                   "x-amz-date": req.headers["x-amz-date"]}
        if token:
            headers["x-amz-security-token"] = token
        self.assertEqual(signed, ";".join(sorted(headers)))
        creq = "\n".join(["POST", "/", ""] + [f"{k}:{headers[k]}" for k in sorted(headers)] +
                         ["", signed, hashlib.sha256(req.raw).hexdigest()])
        date = headers["x-amz-date"]
        scope = f"{date[:8]}/{region}/monitoring/aws4_request"
        sts = "\n".join(["AWS4-HMAC-SHA256", date, scope,
                         hashlib.sha256(creq.encode()).hexdigest()])
        k = ("AWS4" + secret).encode()
        for part in (date[:8], region, "monitoring", "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        want = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
        self.assertEqual(auth.split("Signature=")[1], want)

    def test_cloudwatch_signed_put_metric_data(self):
        s = self.start_with("cloudwatch", f"""[cloudwatch]
namespace = "Test App"
region = "eu-west-1"
endpoint = "{self.fake.url}/"
""", env={"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "SECRET"})
        s.send(LINES)
        self.fake.wait_for(lambda reqs: any(b"stats.counter.h.c.count" in r.body
                                            for r, _ in reqs))
        req = next(r for r in self.fake.received() if b"stats.counter.h.c.count" in r.body)
        form = urllib.parse.parse_qs(req.body.decode())
        self.assertEqual(form["Action"], ["PutMetricData"])
        self.assertEqual(form["Namespace"], ["Test App"])
        datums = {}
        for k, v in form.items():
            if k.startswith("MetricData.member.") and k.endswith(".MetricName"):
                n = k.split(".")[2]
                datums[v[0]] = {kk.split(".", 3)[3]: vv[0] for kk, vv in form.items()
                                if kk.startswith(f"MetricData.member.{n}.")}
        c = datums["stats.counter.h.c.count"]
        self.assertEqual((c["Value"], c["Unit"]), ("3", "Count"))
        self.assertEqual((c["Dimensions.member.1.Name"], c["Dimensions.member.1.Value"]),
                         ("env", "prod"))
        self.assertEqual(datums["stats.timers.h.t.upper"]["Unit"], "Milliseconds")
        self.assertEqual(datums["stats.gauge.h.g"]["Value"], "5")
        self.assertEqual(datums["stats.set.h.s"]["Value"], "2")
        self.check_sigv4(req, "AKID", "SECRET", "eu-west-1")
        self.stop_ok(s)

    def test_cloudwatch_credentials_and_region_from_instance_metadata(self):
        imds = FakeHttp()
        self.addCleanup(imds.close)
        creds = json.dumps({"AccessKeyId": "ASIA1", "SecretAccessKey": "S1", "Token": "TOK",
                            "Expiration": "2099-01-01T00:00:00Z"}).encode()
        imds.script = [(200, {}, b"t1"), (200, {}, b"ap-south-1"), (200, {}, b"t2"),
                       (200, {}, b"my-role\n"), (200, {}, b"t3"), (200, {}, creds)]
        s = self.start_with("cloudwatch", f"""[cloudwatch]
endpoint = "{self.fake.url}/"
""", env={"AWS_EC2_METADATA_DISABLED": "", "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url})
        s.send("imds.c:2|c")
        self.fake.wait_for(lambda reqs: any(b"imds.c" in r.body for r, _ in reqs))
        req = next(r for r in self.fake.received() if b"imds.c" in r.body)
        self.assertEqual(req.headers["x-amz-security-token"], "TOK")
        self.check_sigv4(req, "ASIA1", "S1", "ap-south-1", token="TOK")
        paths = [(r.method, r.path) for r, _ in imds.requests]
        self.assertEqual(paths[0], ("PUT", "/latest/api/token"))
        self.assertIn(("GET", "/latest/meta-data/placement/region"), paths)
        self.assertIn(("GET", "/latest/meta-data/iam/security-credentials/my-role"), paths)
        token_use = [r.headers.get("x-aws-ec2-metadata-token") for r, _ in imds.requests
                     if r.method == "GET"]
        self.assertEqual(token_use, ["t1", "t2", "t3"])
        self.stop_ok(s)

    # --- otlp --------------------------------------------------------------------------------

    def test_otlp_metrics_and_logs(self):
        s = self.start_with("otlp", f"""[otlp]
metrics_endpoint = "{self.fake.url}/v1/metrics"
logs_endpoint = "{self.fake.url}/v1/logs"
resource_keys = ["env"]
""")
        s.send(LINES)
        s.send("_e{5,4}:title|text")
        self.fake.wait_for(lambda reqs: any(r.path == "/v1/metrics" and b"h.c.count" in r.body
                                            for r, _ in reqs))
        req = next(r for r in self.fake.received("/v1/metrics") if b"h.c.count" in r.body)
        self.assertEqual(req.headers["content-type"], "application/x-protobuf")
        self.assertEqual(req.headers["content-encoding"], "gzip")
        text = protoc_decode("otlp.ExportMetricsServiceRequest", req.body)
        self.assertIn('name: "h.c.count"', text)
        self.assertIn("as_int: 3", text)
        self.assertIn('string_value: "prod"', text)  # the env resource attribute
        self.assertIn('name: "gostatsd/aggregation"', text)
        self.assertIn("aggregation_temporality: AGGREGATION_TEMPORALITY_DELTA", text)
        self.fake.wait_for(lambda reqs: sum(1 for r, _ in reqs if r.path == "/v1/logs") >= 2)
        logs = [protoc_decode("otlp.ExportLogsServiceRequest", r.body)
                for r in self.fake.received("/v1/logs")]
        self.assertTrue(any('string_value: "title"' in x for x in logs), logs)
        self.stop_ok(s)

    def test_otlp_partial_success_is_a_counted_drop_without_retry(self):
        partial = protoc_encode("otlp.ExportMetricsServiceResponse",
                                'partial_success { rejected_data_points: 1 error_message: "no" }')
        self.fake.default = (200, {"Content-Type": "application/x-protobuf"}, partial)
        s = self.start_with("otlp", f"""[otlp]
metrics_endpoint = "{self.fake.url}/v1/metrics"
logs_endpoint = "{self.fake.url}/v1/logs"
""")
        s.send("p.c:1|c")
        self.wait_counter(s, "otlp", "dropped", 1)
        self.assertIsNone(harness.backend_counter(s, "otlp", "retried") or None)
        self.stop_ok(s)


if __name__ == "__main__":
    harness.main()
