"""Metric types, names and tags end to end: datagrams in, stdout backend lines out (docs/protocol.md, docs/aggregation.md,
docs/backends.md#stdout; docs/compatibility.md#decision-3, docs/compatibility.md#decision-4, docs/compatibility.md#decision-9)."""

import math
import os
import re
import socket
import tempfile
import time

import harness
from harness import ServerTestCase

SRC = ".s.127.0.0.1"  # the sender as source in the name (ignore-host is false by default)
F6 = r"-?\d+\.\d{6}"   # Go's %f


class CounterTest(ServerTestCase):
    def test_sample_rates_and_packed_values(self):
        s = self.start_standard()
        # One datagram: one flush. int(2/0.25) + int(5/0.25) = 8 + 20; int(1/0.3) = 3.
        s.send("c:2|c|@0.25\nc:5|c|@0.25\np:1:2:3|c\nr:1|c|@0.3\nn:-4|c")
        self.assertMetric(s, f"stats.counter.c{SRC}.count", "28")
        self.assertMetric(s, f"stats.counter.p{SRC}.count", "6")
        self.assertMetric(s, f"stats.counter.r{SRC}.count", "3")
        self.assertMetric(s, f"stats.counter.n{SRC}.count", "-4")
        self.stop_ok(s)

    def test_per_second_is_go_percent_f(self):
        s = self.start_standard()
        s.send("c:2|c|@0.25\nc:5|c|@0.25")
        i, _ = s.wait_metric(f"stats.counter.c{SRC}.count", "28")
        # The per_second line of the same flush follows the count line.
        j, m = s.wait_for(re.escape(f"stats.counter.c{SRC}.per_second ") + f"({F6})" + r" \d+",
                          since=i)
        self.assertEqual(j, i + 1)
        per_second = float(m.group(1))
        # count / actual seconds since the previous flush (about 0.2 s; allow a slow machine).
        self.assertGreater(per_second, 28 / 5.0)
        self.assertLess(per_second, 28 / 0.05)
        self.stop_ok(s)


class TimerTest(ServerTestCase):
    def test_statistics_and_percentiles(self):
        s = self.start_standard(percent_threshold="90 -10")
        s.send("\n".join(f"t:{v}|ms" for v in (7, 3, 10, 1, 5, 9, 2, 8, 6, 4)))
        values = list(range(1, 11))
        mean = sum(values) / 10
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / 10)
        expected = {
            "lower": "1.000000", "upper": "10.000000", "count": "10",
            "mean": "5.500000", "median": "5.500000", "std": f"{std:.6f}",
            "sum": "55.000000", "sum_squares": "385.000000",
            # 90: k = round(0.9 * 10) = 9 lowest values.
            "count_90": "9.000000", "mean_90": "5.000000", "sum_90": "45.000000",
            "sum_squares_90": "285.000000", "upper_90": "9.000000",
            # -10: k = round(0.1 * 10) = 1 highest value.
            "count_-10": "1.000000", "mean_-10": "10.000000", "sum_-10": "10.000000",
            "sum_squares_-10": "100.000000", "lower_-10": "10.000000",
        }
        prefix = f"stats.timers.t{SRC}."
        s.wait_metric(prefix + "count", "10")
        end = s.sync()
        got = {}
        for line in s.lines(0)[:end]:
            m = re.fullmatch(re.escape(prefix) + r"(\S+) (\S+) \d+", line)
            if m and m.group(1) not in got:
                got[m.group(1)] = m.group(2)
        count_ps = got.pop("count_ps", None)
        self.assertIsNotNone(count_ps, s.describe())
        self.assertRegex(count_ps, "^" + F6 + "$")
        self.assertEqual(got, expected)
        self.stop_ok(s)

    def test_sample_rate_scales_count(self):
        s = self.start_standard()
        s.send("r:10|ms|@0.1\nr:30|ms|@0.1\nr:50|ms|@0.1")
        self.assertMetric(s, f"stats.timers.r{SRC}.count", "30")
        self.assertMetric(s, f"stats.timers.r{SRC}.mean", "30.000000")
        self.stop_ok(s)

    def test_fractional_threshold_name(self):
        # docs/compatibility.md#decision-2: 99.9 is named upper_99_9, not upper_99.
        s = self.start_standard(percent_threshold="99.9")
        s.send("f:1|ms\nf:2|ms")
        self.assertMetric(s, f"stats.timers.f{SRC}.upper_99_9", "2.000000")
        self.stop_ok(s)

    def test_thresholds_that_crash_gostatsd(self):
        # docs/compatibility.md#decision-1: k is capped at n, and a negative threshold whose k equals n uses all
        # values (gostatsd panics on both).
        s = self.start_standard(percent_threshold="-90 100")
        s.send("p:2|ms\np:1|ms\nq:7|ms")
        prefix = f"stats.timers.p{SRC}."
        self.assertMetric(s, prefix + "lower_-90", "1.000000")
        self.assertMetric(s, prefix + "sum_-90", "3.000000")
        self.assertMetric(s, prefix + "count_-90", "2.000000")
        self.assertMetric(s, prefix + "upper_100", "2.000000")
        self.assertMetric(s, prefix + "sum_100", "3.000000")
        # One value: every percentile is that value.
        self.assertMetric(s, f"stats.timers.q{SRC}.lower_-90", "7.000000")
        self.assertMetric(s, f"stats.timers.q{SRC}.upper_100", "7.000000")
        self.stop_ok(s)

    def test_histogram_buckets(self):
        s = self.start_standard()
        tag = "|#gsd_histogram:10_20"
        s.send(f"h:5|ms{tag}\nh:15|ms{tag}\nh:25|ms{tag}\nh:10|ms{tag}")
        name = f"stats.timers.h.gsd_histogram.10_20{SRC}.histogram."
        i = self.assertMetric(s, name + "le:10", "2")
        self.assertEqual(s.wait_metric(name + "le:20", "3", since=i)[0], i + 1)
        self.assertEqual(s.wait_metric(name + "le:+Inf", "4", since=i)[0], i + 2)
        end = s.sync()
        # A histogram timer prints only its buckets (docs/compatibility.md#decision-9).
        self.assertNoLine(s, re.escape(f"stats.timers.h.gsd_histogram.10_20{SRC}.") +
                          r"(count|mean|upper|lower|sum|std|median)\S* .*", until=end)
        self.stop_ok(s)


class FlushBoundaryTest(ServerTestCase):
    def test_counts_add_up_across_flushes(self):
        # Datagrams spread over several flushes: each is counted once, in some flush.
        s = self.start_standard()
        sent = 0
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            s.send(*(["k:1|c\nk:2|c|@0.5"] * 20))
            sent += 20
            time.sleep(0.01)
        s.sync()
        counts = [int(v) for v in s.values(f"stats.counter.k{SRC}.count")]
        self.assertGreater(len([c for c in counts if c > 0]), 1, "all in one flush")
        self.assertEqual(sum(counts), sent * 5)
        self.stop_ok(s)


class SetAndGaugeTest(ServerTestCase):
    def test_set_cardinality(self):
        s = self.start_standard()
        s.send("u:joe|s\nu:ann|s\nu:joe|s\nu:1|s")
        self.assertMetric(s, f"stats.set.u{SRC}", "3")
        self.stop_ok(s)

    def test_gauge_last_value_in_datagram_wins(self):
        s = self.start_standard()
        # docs/compatibility.md#decision-4: the line received last wins; packed values: the last one.
        s.send("g:1|g\ng:2|g\ng:3|g\ngp:3:3:1|g\ngs:+5|g")
        self.assertMetric(s, f"stats.gauge.g{SRC}", "3.000000")
        self.assertMetric(s, f"stats.gauge.gp{SRC}", "1.000000")
        self.assertMetric(s, f"stats.gauge.gs{SRC}", "5.000000")
        self.stop_ok(s)

    def test_gauge_later_datagram_wins(self):
        s = self.start_standard()
        s.send("g:1|g")
        i = self.assertMetric(s, f"stats.gauge.g{SRC}", "1.000000")
        s.send("g:2.5|g")
        self.assertMetric(s, f"stats.gauge.g{SRC}", "2.500000", since=i)
        self.stop_ok(s)


class IdleAndExpiryTest(ServerTestCase):
    def test_idle_series_emit_zeros_and_gauges_keep_value(self):
        s = self.start_standard(expiry_interval="1m")
        s.send("ic:4|c\nis:a|s\nig:7|g\nit:5|ms")
        i = self.assertMetric(s, f"stats.counter.ic{SRC}.count", "4")
        # Later flushes, with nothing received: zeros, and the gauge's last value.
        j, _ = s.wait_metric(f"stats.counter.ic{SRC}.count", "0", since=i + 1)
        s.wait_metric(f"stats.counter.ic{SRC}.per_second", "0.000000", since=j)
        s.wait_metric(f"stats.set.is{SRC}", "0", since=i + 1)
        s.wait_metric(f"stats.timers.it{SRC}.count", "0", since=i + 1)
        s.wait_metric(f"stats.timers.it{SRC}.upper", "0.000000", since=i + 1)
        # The gauge is printed again, with its last value, in the idle flush.
        s.wait_metric(f"stats.gauge.ig{SRC}", "7.000000", since=j)
        self.assertEqual(set(s.values(f"stats.gauge.ig{SRC}")), {"7.000000"})
        # An idle timer has no percentile lines (docs/aggregation.md#flush).
        end = s.sync()
        self.assertNoLine(s, re.escape(f"stats.timers.it{SRC}.") + r"\S*_90 .*", since=j, until=end)
        self.stop_ok(s)

    def test_negative_expiry_drops_counter_after_first_flush(self):
        # Counters expire right after their first flush; gauges (5m) keep flushing and show
        # that flushes go on.
        s = self.start_standard(expiry_interval_counter="-1ns")
        s.send("e:1|c\nkeep:1|g")
        i = self.assertMetric(s, f"stats.counter.e{SRC}.count", "1")
        first_gauge, _ = s.wait_metric(f"stats.gauge.keep{SRC}", "1.000000")
        since = max(i, first_gauge) + 1
        for _ in range(3):
            since = s.wait_metric(f"stats.gauge.keep{SRC}", "1.000000", since=since)[0] + 1
        self.assertEqual(s.values(f"stats.counter.e{SRC}.count"), ["1"])
        self.stop_ok(s)


class NameAndTagTest(ServerTestCase):
    def test_tags_sorted_in_name(self):
        s = self.start_standard()
        s.send("x:1|c|#b:2,a:1\ny:1|g|#zz,aa:b,m")
        self.assertMetric(s, f"stats.counter.x.a.1.b.2{SRC}.count", "1")
        self.assertMetric(s, f"stats.gauge.y.aa.b.m.zz{SRC}", "1.000000")
        self.stop_ok(s)

    def test_same_tags_in_other_order_are_one_series(self):
        s = self.start_standard()
        s.send("x:1|c|#b:2,a:1\nx:2|c|#a:1,b:2")
        self.assertMetric(s, f"stats.counter.x.a.1.b.2{SRC}.count", "3")
        self.stop_ok(s)

    def test_name_sanitising(self):
        s = self.start_standard()
        # `smp,gge$` would be an InfluxDB tag section (docs/protocol.md#tag-dialects).
        s.send("smp gge:1|g\nsmp/gge2:1|g\nsmp$gge:1|g")
        self.assertMetric(s, f"stats.gauge.smp_gge{SRC}", "1.000000")
        self.assertMetric(s, f"stats.gauge.smp-gge2{SRC}", "1.000000")
        self.assertMetric(s, f"stats.gauge.smpgge{SRC}", "1.000000")
        self.stop_ok(s)

    def test_namespace(self):
        s = self.start_standard(namespace="ns")
        s.send("n:1|c")
        self.assertMetric(s, f"stats.counter.ns.n{SRC}.count", "1")
        self.stop_ok(s)

    def test_default_tags_deduplicated(self):
        s = self.start_standard(default_tags="env:prod")
        s.send("d:1|c|#env:prod\nd2:2|c\nd3:3|c|#a:b")
        self.assertMetric(s, f"stats.counter.d.env.prod{SRC}.count", "1")
        self.assertMetric(s, f"stats.counter.d2.env.prod{SRC}.count", "2")
        self.assertMetric(s, f"stats.counter.d3.a.b.env.prod{SRC}.count", "3")
        end = s.sync()
        self.assertNoLine(s, r".*env\.prod\.env\.prod.*", until=end)
        self.stop_ok(s)

    def test_ignore_host_first_host_tag_becomes_source(self):
        s = self.start_standard(ignore_host=True)
        s.send("x:1|c|#host:web1\ny:1|c|#host:h1,host:h2\nz:1|c\nw:1|c|#a:b,host:web2")
        self.assertMetric(s, "stats.counter.x.s.web1.count", "1")
        self.assertMetric(s, "stats.counter.y.host.h2.s.h1.count", "1")
        self.assertMetric(s, "stats.counter.z.count", "1")
        self.assertMetric(s, "stats.counter.w.a.b.s.web2.count", "1")
        self.stop_ok(s)

    def test_each_sender_is_its_own_series(self):
        s = self.start_standard()
        s.send("m:1|c", source="127.0.0.1")
        s.send("m:2|c", source="127.0.0.2")
        self.assertMetric(s, "stats.counter.m.s.127.0.0.1.count", "1")
        self.assertMetric(s, "stats.counter.m.s.127.0.0.2.count", "2")
        self.stop_ok(s)

    def test_ipv6_sender(self):
        if not socket.has_ipv6:
            self.skipTest("no IPv6")
        try:
            probe = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            probe.bind(("::1", 0))
            probe.close()
        except OSError:
            self.skipTest("no IPv6 loopback")
        s = self.start_standard(metrics_addr="[::1]:0")
        s.send("v6:1|c")
        # The source ::1 with every ':' written as '.'.
        self.assertMetric(s, "stats.counter.v6.s...1.count", "1")
        self.stop_ok(s)

    def test_host_tag_is_an_ordinary_tag_by_default(self):
        s = self.start_standard()
        s.send("x:1|c|#host:web1")
        self.assertMetric(s, f"stats.counter.x.host.web1{SRC}.count", "1")
        self.stop_ok(s)


class EventTest(ServerTestCase):
    def test_event_line(self):
        s = self.start_standard()
        s.send("_e{5,4}:title|text|#t1")
        _, m = s.wait_for(r"event: \{Title:title Text:text DateHappened:(\d+) AggregationKey: "
                          r"SourceTypeName: Tags:\[t1\] Source:127\.0\.0\.1 Priority:normal "
                          r"AlertType:info\}")
        self.assertGreater(int(m.group(1)), 1600000000)  # date 0 becomes now
        self.stop_ok(s)

    def test_event_attributes_default_tags_and_sender_source(self):
        # The source is always the sender, even with h: and ignore-host (docs/protocol.md#events).
        s = self.start_standard(default_tags="env:prod", ignore_host=True)
        s.send("_e{1,1}:a|b|d:123123|h:hoost|p:low|t:warning|k:agg|s:src|#tag1,host:web1")
        s.wait_for(r"event: \{Title:a Text:b DateHappened:123123 AggregationKey:agg "
                   r"SourceTypeName:src Tags:\[tag1 host:web1 env:prod\] Source:127\.0\.0\.1 "
                   r"Priority:low AlertType:warning\}")
        self.stop_ok(s)

    def test_event_and_metric_in_one_datagram(self):
        s = self.start_standard()
        s.send("_e{1,1}:a|b\nf:6|c")
        s.wait_for(r"event: \{Title:a Text:b .*")
        self.assertMetric(s, f"stats.counter.f{SRC}.count", "6")
        self.stop_ok(s)


class UnixSocketTest(ServerTestCase):
    def test_unix_datagrams_have_no_source_and_socket_is_removed(self):
        with tempfile.TemporaryDirectory(prefix="cstatsd-it-") as d:
            path = os.path.join(d, "statsd.sock")
            s = self.start_standard(metrics_addr=path)
            self.assertEqual(s.unix_path, path)
            self.assertTrue(os.path.exists(path))
            s.send("u:1|c\nu:2|c\nug:4|g|#a:b")
            self.assertMetric(s, "stats.counter.u.count", "3")
            self.assertMetric(s, "stats.gauge.ug.a.b", "4.000000")
            s.send("_e{1,1}:a|b")
            s.wait_for(r"event: \{Title:a Text:b .* Source: Priority:normal AlertType:info\}")
            self.stop_ok(s)
            self.assertFalse(os.path.exists(path), "socket file left after SIGTERM")

    def test_stale_socket_file_is_replaced(self):
        with tempfile.TemporaryDirectory(prefix="cstatsd-it-") as d:
            path = os.path.join(d, "statsd.sock")
            stale = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            stale.bind(path)
            stale.close()  # leaves the file behind, as a killed server would
            s = self.start_standard(metrics_addr=path)
            s.send("u:5|c")
            self.assertMetric(s, "stats.counter.u.count", "5")
            self.stop_ok(s)
            self.assertFalse(os.path.exists(path))


if __name__ == "__main__":
    harness.main()
