"""Issue 14 item 8: max-series and max-series-per-metric over UDP. Beyond them new series fold
into one overflow series per metric name (tag cstatsd_overflow:true, no source), so the totals
over a name stay exact; the folds are counted (aggregator.series_overflowed) and logged."""

import re

import harness
from harness import ServerTestCase

SRC = ".s.127.0.0.1"
OVERFLOW = ".cstatsd_overflow.true"


def counter_counts(server, name):
    """{series part of the name: summed count} over every stdout line of counter `name`."""
    rx = re.compile(r"stats\.counter\." + re.escape(name) + r"((?:\.\S+)?)\.count (-?\d+) \d+")
    out = {}
    for line in server.lines():
        m = rx.fullmatch(line)
        if m:
            out[m.group(1)] = out.get(m.group(1), 0) + int(m.group(2))
    return out


class CardinalityTest(ServerTestCase):
    def test_per_metric_limit_folds_into_one_overflow_series_with_exact_totals(self):
        # Series expire after their flush, so each line below is printed once.
        s = self.start_standard(max_series_per_metric=5, expiry_interval="1ms",
                                statser_type="logging")
        lines = [f"req:{i + 1}|c|#k:{i}" for i in range(40)]
        lines += [f"lat:{i}|ms|#k:{i}" for i in range(12)]
        s.send("\n".join(lines))
        s.sync()
        counts = counter_counts(s, "req")
        own = {k: v for k, v in counts.items() if k != OVERFLOW}
        self.assertEqual(len(own), 5, counts)  # the first 5 series, each with its own
        self.assertTrue(all(k.endswith(SRC) for k in own), own)
        self.assertIn(OVERFLOW, counts, counts)  # no source: no ".s.<ip>" after the tag
        self.assertEqual(sum(counts.values()), sum(range(1, 41)))
        # Timers: every value is counted, the folded ones in the overflow series.
        timer_counts = {}
        rx = re.compile(r"stats\.timers\.lat((?:\.\S+)?)\.count (\d+) \d+")
        for line in s.lines():
            m = rx.fullmatch(line)
            if m:
                timer_counts[m.group(1)] = timer_counts.get(m.group(1), 0) + int(m.group(2))
        self.assertEqual(timer_counts.get(OVERFLOW), 7, timer_counts)
        self.assertEqual(sum(timer_counts.values()), 12, timer_counts)
        # Counted (statser-type logging writes the internal metrics to stderr) and logged.
        s.wait_for(r".*name=statsd\.aggregator\.series_overflowed value=(4[2-9]|[5-9]\d|\d{3,})"
                   r" tags=\[aggregator_id:0\].*", stream="stderr")
        s.wait_for(r".*series limit reached.*metric=(req|lat) .*limit=max-series-per-metric.*",
                   stream="stderr")
        self.stop_ok(s)

    def test_global_limit_counts_every_type_and_known_series_keep_updating(self):
        s = self.start_standard(max_series=30, max_series_per_metric=0)
        s.send("\n".join(f"n{i}:1|c" for i in range(28)) + "\nt:1|ms")
        s.sync()  # the sync gauge is the 30th series
        i = s.mark()
        # Full: a known series is updated as ever, new ones fold per name.
        s.send("n0:5|c\nd:5|c|#x:1\nd:7|c|#x:2\ne:9|g|#x:1\ne:4|g|#x:2\nt:3|ms|#x:1")
        self.assertMetric(s, f"stats.counter.n0{SRC}.count", "5", since=i)
        self.assertMetric(s, f"stats.counter.d{OVERFLOW}.count", "12", since=i)
        # A gauge's overflow series holds the value received last among its series.
        self.assertMetric(s, f"stats.gauge.e{OVERFLOW}", "4.000000", since=i)
        self.assertMetric(s, f"stats.timers.t{OVERFLOW}.upper", "3.000000", since=i)
        self.assertNoLine(s, r"stats\.counter\.d\.x\.\d.*", since=i)
        self.stop_ok(s)


if __name__ == "__main__":
    harness.main()
