"""The influxdb backend end to end against a real InfluxDB 1.x (Debian's influxdb, started here
on loopback with temporary directories): counters, gauges, sets, timers and events written with
API v1 (db=, docs/compatibility.md#decision-7) are read back through /query and equal what was sent; the v2 write
request (bucket, org, Authorization: Token) is checked against a recording server, as InfluxDB
1.6 has no /api/v2/write; a stopped influxd means retries and then a counted drop."""

import gzip
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import harness  # noqa: E402
from fake_http import FakeHttp  # noqa: E402
from influx import Influx  # noqa: E402


class InfluxdbTest(harness.ServerTestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cstatsd-influx-")

    def start_with(self, section, flush="300ms"):
        conf = os.path.join(self.tmp, "cstatsd.toml")
        with open(conf, "w") as f:
            f.write(f"""backends = "influxdb"
metrics-addr = "127.0.0.1:0"
flush-interval = "{flush}"
statser-type = "logging"
percent-threshold = "90"
{section}
""")
        return self.start(["--config-path", conf])

    def wait_rows(self, influx, q, predicate, timeout=20):
        deadline = time.monotonic() + timeout
        rows = []
        while time.monotonic() < deadline:
            rows = influx.select("statsd", q)
            if predicate(rows):
                return rows
            time.sleep(0.2)
        self.fail(f"{q}: {rows}")

    def start_with_influxd(self, flush="300ms"):
        """A real influxd with the database `statsd`, and cstatsd writing to it with API v1."""
        influx = Influx()
        self.addCleanup(influx.cleanup)
        influx.start()
        influx.create_database("statsd")
        s = self.start_with(f"""[influxdb]
api-endpoint = "{influx.url}"
api-version = 1
database = "statsd"
""", flush=flush)
        return influx, s

    def test_values_read_back_from_influxd(self):
        # One flush a second: InfluxDB keeps one point per series and second (precision=s), so
        # faster flushes would overwrite each other, with gostatsd as with cstatsd.
        influx, s = self.start_with_influxd(flush="1s")
        sent = 0
        for i in range(5):
            s.send(f"ix.c:{i + 1}|c|#env:prod,canary\nix.t:{10 * (i + 1)}|ms\nix.g:{i}|g\n"
                   f"ix.s:u{i % 2}|s")
            sent += i + 1
            time.sleep(1.0)
        s.send("_e{6,4}:deploy|done|#env:prod")
        rows = self.wait_rows(influx, 'SELECT sum("count") FROM "ix.c"',
                              lambda r: r and r[0]["sum"] == sent)
        self.assertEqual(rows[0]["sum"], sent)
        tags = influx.select("statsd", 'SELECT * FROM "ix.c" LIMIT 1')[0]
        self.assertEqual((tags["env"], tags["unnamed"]), ("prod", "canary"))
        timers = self.wait_rows(influx, 'SELECT sum("count"), max("upper") FROM "ix.t"',
                                lambda r: r and r[0]["sum"] == 5)
        self.assertEqual(timers[0]["max"], 50)
        self.wait_rows(influx, 'SELECT last("value") FROM "ix.g"',
                       lambda r: r and r[0]["last"] == 4)
        self.wait_rows(influx, 'SELECT max("count") FROM "ix.s"', lambda r: r and r[0]["max"] >= 1)
        events = self.wait_rows(influx, 'SELECT * FROM "events" WHERE "title" = \'deploy\'',
                                lambda r: len(r) == 1)
        self.assertEqual((events[0]["text"], events[0]["env"], events[0]["alerttype"]),
                         ("done", "prod", "info"))
        self.stop_ok(s)
        self.assertIsNone(harness.backend_counter(s, "influxdb", "dropped") or None)

    def test_timestamped_samples_are_stored_at_their_time(self):
        # DogStatsD |T (docs/backends.md#timestamps): the point lands at the sample's second.
        influx, s = self.start_with_influxd()
        ts = int(time.time()) - 300
        s.send(f"ix.tc:3|c|T{ts}\nix.tc:4|c|T{ts}\nix.tg:7|g|T{ts}")
        want = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
        rows = self.wait_rows(influx, 'SELECT "count" FROM "ix.tc"', lambda r: len(r) == 1)
        self.assertEqual((rows[0]["time"], rows[0]["count"]), (want, 7))
        rows = self.wait_rows(influx, 'SELECT "value" FROM "ix.tg"', lambda r: len(r) == 1)
        self.assertEqual((rows[0]["time"], rows[0]["value"]), (want, 7))
        self.stop_ok(s)

    def test_influxd_down_retries_then_counts_the_drop(self):
        influx = Influx()
        self.addCleanup(influx.cleanup)  # never started: nothing listens on its port
        s = self.start_with(f"""[influxdb]
api-endpoint = "{influx.url}"
api-version = 1
database = "statsd"
max-request-elapsed-time = "1s"
""")
        s.send("down.c:1|c")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if (harness.backend_counter(s, "influxdb", "dropped") or 0) >= 1:
                break
            time.sleep(0.1)
        self.assertGreaterEqual(harness.backend_counter(s, "influxdb", "dropped") or 0, 1)
        self.assertGreaterEqual(harness.backend_counter(s, "influxdb", "retried") or 0, 1)
        self.stop_ok(s)

    def test_api_v2_request(self):
        fake = FakeHttp()
        self.addCleanup(fake.close)
        s = self.start_with(f"""[influxdb]
api-endpoint = "{fake.url}/base/"
bucket = "b 1"
org = "o"
credentials = "tok"
""")
        s.send("v2.c:2|c")
        fake.wait_for(lambda reqs: any(b"v2.c" in r.body for r, _ in reqs))
        req = next(r for r in fake.received() if b"v2.c" in r.body)
        self.assertEqual(req.path, "/base/api/v2/write")
        self.assertEqual(req.query, {"bucket": ["b 1"], "org": ["o"], "precision": ["s"]})
        self.assertEqual(req.headers["authorization"], "Token tok")
        self.assertEqual(req.headers["content-encoding"], "gzip")
        self.assertEqual(req.headers["user-agent"], "gostatsd (influxdb)")
        self.assertRegex(req.body.decode(), r"(?m)^v2\.c count=2,rate=[0-9.e+-]+ \d+$")
        self.assertEqual(gzip.decompress(req.raw), req.body)
        self.stop_ok(s)


if __name__ == "__main__":
    harness.main()
