"""cstatsd -> cstatsd with the statsdaemon backend over UDP: the second server's totals equal
what the first received (counters, every timer value, the last gauge, set members, tags)."""

import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import harness  # noqa: E402

SRC = ".s.127.0.0.1"


class StatsdaemonTest(harness.ServerTestCase):
    def test_totals_survive_the_hop(self):
        # The receiving server flushes only at shutdown, so its numbers are totals.
        b = self.start_standard(flush_interval="1h")
        conf = os.path.join(tempfile.mkdtemp(prefix="cstatsd-e2e-"), "a.toml")
        with open(conf, "w") as f:
            f.write(f"""backends = "statsdaemon"
metrics-addr = "127.0.0.1:0"
flush-interval = "200ms"
statser-type = "null"
[statsdaemon]
address = "127.0.0.1:{b.port}"
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


if __name__ == "__main__":
    harness.main()
