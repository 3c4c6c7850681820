"""cstatsd -> cstatsd with the statsdaemon backend over UDP and TCP (cstatsd's TCP input): the second server's totals equal
what the first received (counters, every timer value, the last gauge, set members, tags)."""

import os
import re
import socket
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import harness  # noqa: E402

SRC = ".s.127.0.0.1"


def tcp_port(server):
    for line in server.stderr:
        m = re.search(r"cstatsd started .* tcp_port=(\d+)", line)
        if m:
            return int(m.group(1))
    raise AssertionError("no tcp_port in the start line")


class StatsdaemonTest(harness.ServerTestCase):
    def hop(self, tcp):
        # The receiving server flushes only at shutdown, so its numbers are totals.
        b = self.start_standard(flush_interval="1h", metrics_tcp_addr="127.0.0.1:0")
        port = tcp_port(b) if tcp else b.port
        conf = os.path.join(tempfile.mkdtemp(prefix="cstatsd-e2e-"), "a.toml")
        with open(conf, "w") as f:
            f.write(f"""backends = "statsdaemon"
metrics-addr = "127.0.0.1:0"
flush-interval = "200ms"
statser-type = "null"
[statsdaemon]
address = "127.0.0.1:{port}"
tcp_transport = {"true" if tcp else "false"}
""")
        a = self.start(["--config-path", conf])
        counts, timer_values = 0, []
        for i in range(5):  # spread over several of A's flushes
            a.send(f"hop.c:{i + 1}|c|#env:prod\nhop.t:{10 * (i + 1)}|ms\nhop.g:{i}|g\n"
                   f"hop.s:user{i % 3}|s")
            counts += i + 1
            timer_values.append(10 * (i + 1))
            time.sleep(0.25)
        # A's shutdown flush sends the rest; B drains its socket when it stops.
        self.stop_ok(a)
        self.stop_ok(b)
        self.assertEqual(b.values(f"stats.counter.hop.c.env.prod{SRC}.count"), [str(counts)])
        self.assertEqual(b.values(f"stats.timers.hop.t{SRC}.count"), [str(len(timer_values))])
        self.assertEqual(b.values(f"stats.timers.hop.t{SRC}.sum"),
                         [f"{sum(timer_values):.6f}"])
        self.assertEqual(b.values(f"stats.timers.hop.t{SRC}.upper"),
                         [f"{max(timer_values):.6f}"])
        self.assertEqual(b.values(f"stats.gauge.hop.g{SRC}"), ["4.000000"])
        self.assertEqual(b.values(f"stats.set.hop.s{SRC}"), ["3"])

    def test_totals_survive_the_hop_over_udp(self):
        self.hop(tcp=False)

    def test_totals_survive_the_hop_over_tcp(self):
        self.hop(tcp=True)

    def test_tcp_ingest_lines_split_across_writes(self):
        s = self.start_standard(flush_interval="1h", metrics_tcp_addr="127.0.0.1:0",
                                statser_type="internal", hostname="testhost")
        with socket.create_connection(("127.0.0.1", tcp_port(s))) as c:
            c.sendall(b"split.c:2|c\nspl")
            c.sendall(b"it.c:3|c\n" + b"x" * 70000 + b"\nsplit.c:4|c")  # over-long line: bad
        self.stop_ok(s)
        self.assertEqual(s.values(f"stats.counter.split.c{SRC}.count"), ["9"])
        bad = s.values("stats.gauge.statsd.parser.bad_lines_seen.host.testhost.s.testhost")
        self.assertEqual(bad[-1:], ["1.000000"])


if __name__ == "__main__":
    harness.main()
