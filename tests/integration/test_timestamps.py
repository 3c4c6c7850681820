"""DogStatsD `|T<unix seconds>` end to end (docs/aggregation.md#timestamped-samples): a
timestamped counter and gauge reach a Graphite peer at their own timestamp, while the stdout
backend, which cannot carry one, receives them folded into the interval's values; a timestamp
outside the window is dropped and logged."""

import re
import time

import harness
from harness import ServerTestCase
from test_logs_and_graphite import FakeCarbon, clean_env


class TimestampTest(ServerTestCase):
    def test_graphite_gets_the_sample_timestamp_and_stdout_the_folded_value(self):
        carbon = FakeCarbon()
        self.addCleanup(carbon.close)
        s = self.start(harness.flags(backends="graphite stdout", metrics_addr="127.0.0.1:0",
                                     flush_interval="200ms", statser_type="null"),
                       env=clean_env(GSD_GRAPHITE_ADDRESS=f"127.0.0.1:{carbon.port}",
                                     GSD_GRAPHITE_MODE="basic"))
        ts = int(time.time()) - 120
        old = ts - 7200
        s.send(f"ts.counter:3|c|T{ts}\nts.gauge:7|g|T{ts}\nts.old:5|c|T{old}")
        s.wait_metric("stats.counter.ts.counter.s.127.0.0.1.count", 3)
        s.wait_metric("stats.gauge.ts.gauge.s.127.0.0.1", "7.000000")
        s.wait_for(r".*timestamped samples dropped.*outside_window=1.*", stream="stderr")
        self.stop_ok(s)
        with carbon.lock:
            lines = carbon.received.decode().splitlines()
        self.assertIn(f"stats.counters.ts.counter.count 3 {ts}", lines, lines[:20])
        self.assertIn(f"stats.gauges.ts.gauge 7.000000 {ts}", lines, lines[:20])
        # Not also at the flush time: the point is written once, at its own time.
        counts = [l for l in lines if l.startswith("stats.counters.ts.counter.count ")]
        self.assertEqual(counts, [f"stats.counters.ts.counter.count 3 {ts}"])
        self.assertFalse(any(l.startswith("stats.counters.ts.old") for l in lines), lines[:20])
        self.assertFalse(any("ts.old" in l for l in s.lines()), s.describe())


if __name__ == "__main__":
    harness.main()
