"""Etsy statsd options end to end (docs/aggregation.md#gauge-deltas,
docs/aggregation.md#float-counters): with gauge-deltas and float-counters on, signed gauge values
adjust the gauge in arrival order and counters keep their fraction at the stdout backend; off, the
same datagrams give gostatsd's numbers; and a cstatsd forwarder with both on hands a cstatsd
aggregator resolved gauges and counters with their fraction (RawCounterV2.FloatValue)."""

import os
import shutil
import tempfile
import time

import harness
from harness import ServerTestCase

SRC = ".s.127.0.0.1"
LISTENING = r".*http server listening server=(\S+) address=127\.0\.0\.1:(\d+) .*"


class EtsyOptionsTest(ServerTestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="cstatsd-etsy-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def wait_total(self, server, name, want):
        """Waits (bounded) until the values of `name` over every flush add up to `want`."""
        deadline = time.monotonic() + harness.DEFAULT_TIMEOUT
        total = 0.0
        while time.monotonic() < deadline:
            total = sum(map(float, server.values(name)))
            if abs(total - want) < 1e-6:
                return
            time.sleep(0.05)
        self.fail(f"{name}: total {total}, want {want}\n" + server.describe())

    def test_both_on(self):
        s = self.start_standard(gauge_deltas=True, float_counters=True)
        # One datagram each, so each is one flush's worth in arrival order.
        s.send("g:10|g\ng:+5|g\ng:-3|g", "neg:0|g\nneg:-3|g", "fresh:-2|g",
               "packed:5:+1:-2|g", "c:0.5|c\nc:0.5|c\nr:1|c|@0.3")
        self.assertMetric(s, f"stats.gauge.g{SRC}", "12.000000")
        self.assertMetric(s, f"stats.gauge.neg{SRC}", "-3.000000")
        self.assertMetric(s, f"stats.gauge.fresh{SRC}", "-2.000000")
        self.assertMetric(s, f"stats.gauge.packed{SRC}", "4.000000")
        self.assertMetric(s, f"stats.counter.c{SRC}.count", "1.000000")
        self.assertMetric(s, f"stats.counter.r{SRC}.count", "3.333333")
        # Across flushes the gauge keeps 12 and a later delta adjusts it.
        i = s.mark()
        s.send("g:+0.5|g")
        self.assertMetric(s, f"stats.gauge.g{SRC}", "12.500000", since=i)
        self.stop_ok(s)

    def test_both_off_is_gostatsd(self):
        s = self.start_standard()
        s.send("g:10|g\ng:+5|g\ng:-3|g", "c:0.5|c\nc:0.5|c\nr:1|c|@0.3")
        self.assertMetric(s, f"stats.gauge.g{SRC}", "-3.000000")
        self.assertMetric(s, f"stats.counter.c{SRC}.count", "0")
        self.assertMetric(s, f"stats.counter.r{SRC}.count", "3")
        self.stop_ok(s)

    def test_forwarder_to_aggregator(self):
        agg_conf = self.write("agg.toml", 'http-servers = ["main"]\n[http.main]\n'
                              'address = "127.0.0.1:0"\nenable-ingestion = true\n')
        agg = self.start_standard(config_path=agg_conf, float_counters=True)
        _, m = agg.wait_for(LISTENING, stream="stderr")
        port = int(m.group(2))
        fwd_conf = self.write("fwd.toml", "[http-transport]\n"
                              f'api-endpoint = "http://127.0.0.1:{port}"\n'
                              'flush-interval = "200ms"\n')
        fwd = self.start(["--server-mode", "forwarder", "--config-path", fwd_conf,
                          "--metrics-addr", "127.0.0.1:0", "--statser-type", "null",
                          "--gauge-deltas", "--float-counters"])
        now = int(time.time())
        fwd.send("fc:0.25|c\nfc:0.5|c", "fg:7|g\nfg:-2|g", f"fc:2|c|T{now}")
        # The aggregator may split the forwarded counts over its flushes: their sum is exact,
        # the timestamped 2 folded in (docs/aggregation.md#timestamped-samples).
        self.wait_total(agg, f"stats.counter.fc{SRC}.count", 2.75)
        self.assertMetric(agg, f"stats.gauge.fg{SRC}", "5.000000")
        # The forwarder resolved the delta against the value it forwarded last.
        i = agg.mark()
        fwd.send("fg:+1|g")
        self.assertMetric(agg, f"stats.gauge.fg{SRC}", "6.000000", since=i)
        self.stop_ok(fwd)
        self.stop_ok(agg)


if __name__ == "__main__":
    harness.main()
