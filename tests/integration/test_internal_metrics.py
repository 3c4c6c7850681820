"""Internal metrics (docs/internal-metrics.md): the statser types, their names on the stdout backend (host tag
and source = hostname), the heartbeat, internal-namespace, internal-tags."""

import re
import socket

import harness
from harness import ServerTestCase

SRC = ".s.127.0.0.1"


def internal(name, tags="host.testhost", source="testhost", prefix="statsd"):
    """The stdout name of an internal gauge."""
    return f"stats.gauge.{prefix}.{name}.{tags}.s.{source}"


class InternalStatserTest(ServerTestCase):
    def start_internal(self, **overrides):
        options = dict(statser_type="internal", hostname="testhost")
        options.update(overrides)
        return self.start_standard(**options)

    def test_receiver_and_parser_counts(self):
        s = self.start_internal()
        s.send("a:1|c\nb:2|g", "c:1|ms\nd:x|s", "e:1|c\n_e{1,1}:a|b")
        self.assertMetric(s, internal("receiver.datagrams_received"), "3.000000")
        self.assertMetric(s, internal("parser.metrics_received"), "5.000000")
        self.assertMetric(s, internal("parser.events_received"), "1.000000")
        _, batches = s.wait_metric(internal("receiver.batches_read"))
        self.assertIn(batches, ("1.000000", "2.000000", "3.000000"))
        self.stop_ok(s)

    def test_aggregator_flusher_and_backend_metrics(self):
        s = self.start_internal()
        s.send("a:1|c")
        self.assertMetric(s, f"stats.counter.a{SRC}.count", "1")
        for name in ("aggregator.metricmaps_received", "aggregator.aggregation_time",
                     "aggregator.process_time", "aggregator.reset_time"):
            s.wait_metric(internal(name, tags="aggregator_id.0.host.testhost"))
        s.wait_metric(internal("flusher.total_time"))
        for name in ("backend.created", "backend.sent", "backend.dropped", "backend.series.sent"):
            s.wait_metric(internal(name, tags="backend.stdout.host.testhost"))
        self.stop_ok(s)

    def test_cumulative_gauges_keep_counting(self):
        s = self.start_internal()
        s.send("a:1|c")
        i = self.assertMetric(s, internal("receiver.datagrams_received"), "1.000000")
        s.send("a:1|c", "a:1|c")
        self.assertMetric(s, internal("receiver.datagrams_received"), "3.000000", since=i)
        self.stop_ok(s)

    def test_heartbeat(self):
        out = self.run_binary(["--version"])
        m = re.match(r"Version: (\S+) - Commit: (\S+) - Date:", out.stdout)
        self.assertIsNotNone(m, out.stdout)
        version, commit = m.groups()
        s = self.start_internal(heartbeat_enabled=True)
        # Tags sorted: commit:, host:, version:.
        self.assertMetric(s, f"stats.gauge.statsd.heartbeat.commit.{commit}.host.testhost."
                             f"version.{version}.s.testhost", "1.000000")
        self.stop_ok(s)

    def test_no_heartbeat_by_default(self):
        s = self.start_internal()
        s.wait_metric(internal("flusher.total_time"))
        end = s.sync()
        s.wait_metric(internal("flusher.total_time"), since=end)
        self.assertNoLine(s, r"stats\.gauge\.statsd\.heartbeat\..*")
        self.stop_ok(s)

    def test_internal_namespace(self):
        s = self.start_internal(internal_namespace="x")
        s.send("a:1|c")
        self.assertMetric(s, internal("receiver.datagrams_received", prefix="x"), "1.000000")
        end = s.sync()
        self.assertNoLine(s, r"stats\.gauge\.statsd\..*", until=end)
        self.stop_ok(s)

    def test_empty_internal_namespace(self):
        s = self.start_internal(internal_namespace="")
        s.send("a:1|c")
        self.assertMetric(s, "stats.gauge.receiver.datagrams_received.host.testhost.s.testhost",
                          "1.000000")
        self.stop_ok(s)

    def test_namespace_internal_tags_and_default_tags(self):
        # Internal metrics go through the pipeline: the namespace prefixes them and default
        # tags are added to internal-tags and host:.
        s = self.start_internal(namespace="ns", internal_tags="team:core",
                                default_tags="env:prod")
        s.send("a:1|c")
        self.assertMetric(s, internal("receiver.datagrams_received", prefix="ns.statsd",
                                      tags="env.prod.host.testhost.team.core"), "1.000000")
        self.assertMetric(s, f"stats.counter.ns.a.env.prod{SRC}.count", "1")
        self.stop_ok(s)

    def test_os_hostname_by_default(self):
        host = socket.gethostname()
        s = self.start_standard(statser_type="internal")
        s.send("a:1|c")
        self.assertMetric(s, internal("receiver.datagrams_received", tags=f"host.{host}",
                                      source=host), "1.000000")
        self.stop_ok(s)


class OtherStatserTest(ServerTestCase):
    def test_null_emits_nothing(self):
        s = self.start_standard(statser_type="null", hostname="testhost", heartbeat_enabled=True)
        s.send("a:1|c\nbad")
        self.assertMetric(s, f"stats.counter.a{SRC}.count", "1")
        s.sync()
        end = s.sync()
        self.assertNoLine(s, r".*statsd\..*", until=end)
        self.assertNoLine(s, r".*testhost.*", until=end)
        self.assertNoLine(s, r"event: .*", until=end)
        self.stop_ok(s)

    def test_logging_writes_to_stderr(self):
        s = self.start_standard(statser_type="logging", hostname="testhost")
        s.send("a:1|c")
        self.assertMetric(s, f"stats.counter.a{SRC}.count", "1")
        s.wait_for(r".*name=statsd\.receiver\.datagrams_received.*value=1.*", stream="stderr")
        end = s.sync()
        self.assertNoLine(s, r".*statsd\.receiver.*", until=end)
        self.stop_ok(s)


if __name__ == "__main__":
    harness.main()
