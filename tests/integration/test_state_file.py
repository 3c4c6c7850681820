"""state-file end to end (docs/state-file.md): a stop keeps the gauges and the final flush that a
backend did not receive; the next start flushes the gauges with their old values and sends that
flush once, at its own time, to that backend only; a corrupt file is moved aside without
stopping the start; a directory that cannot hold the file is a configuration error."""

import os
import re
import shutil
import tempfile
import time

import harness
from harness import ServerTestCase
import test_logs_and_graphite as carbon_fake


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GSD_")}
    env.update(extra)
    return env


def closed_port():
    """A loopback TCP port nothing listens on (bound, then closed)."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class StateFileTest(ServerTestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="cstatsd-state-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.path = os.path.join(self.dir, "cstatsd.state")

    def start_graphite(self, port, flush_interval):
        return self.start(harness.flags(backends="graphite", metrics_addr="127.0.0.1:0",
                                        flush_interval=flush_interval, statser_type="null",
                                        state_file=self.path, backend_shutdown_timeout="1s",
                                        expiry_interval="1h"),
                          env=clean_env(GSD_GRAPHITE_ADDRESS=f"127.0.0.1:{port}"))

    def carbon(self):
        c = carbon_fake.FakeCarbon()
        self.addCleanup(c.close)
        return c

    @staticmethod
    def lines(carbon):
        with carbon.lock:
            return carbon.received.decode().splitlines()

    def wait_lines(self, carbon, predicate, what, server):
        deadline = time.monotonic() + harness.DEFAULT_TIMEOUT
        while time.monotonic() < deadline:
            if predicate(self.lines(carbon)):
                return
            time.sleep(0.05)
        self.fail(f"carbon never received {what}: {self.lines(carbon)[:20]}\n" + server.describe())

    def first_run(self, carbon_port):
        """Receives a gauge and 3 + 4 counts, then stops before any timed flush."""
        s = self.start_graphite(carbon_port, "1h")
        s.send("state.test.gauge:17.5|g\nstate.test.count:3|c")
        s.send("state.test.count:4|c")
        time.sleep(0.2)  # a stop reads what the sockets hold anyway (docs/architecture.md)
        before = time.time()
        self.stop_ok(s)
        return s, before

    def test_undelivered_flush_arrives_once_after_restart(self):
        s1, before = self.first_run(closed_port())
        log = "\n".join(s1.lines(stream="stderr"))
        self.assertRegex(log, r"state file written path=\S+ bytes=\d+ gauges=1 "
                              r"undelivered_series=[1-9]\d* undelivered_backends=\[graphite\]")
        self.assertTrue(os.path.exists(self.path))

        carbon = self.carbon()
        s2 = self.start_graphite(carbon.port, "200ms")
        s2.wait_for(r".*state file restored .* gauges=1 gauges_expired=0 flushes_resent=1.*",
                    stream="stderr")
        self.assertFalse(os.path.exists(self.path), "the file is removed once read")
        count = re.compile(r"^stats\.counters\.state\.test\.count\.count(?:;\S*)? (\S+) (\d+)$")
        gauge = re.compile(r"^stats\.gauges\.state\.test\.gauge(?:;\S*)? (\S+) (\d+)$")
        # The restored gauge at two flushes of the new process: its value kept.
        self.wait_lines(carbon, lambda ls: sum(bool(gauge.match(l)) for l in ls) >= 3,
                        "the gauge three times", s2)
        self.stop_ok(s2)
        counts = [m.groups() for l in self.lines(carbon) for m in [count.match(l)] if m]
        # Exactly once, with the count of the first process's interval and its flush time.
        self.assertEqual(len(counts), 1, self.lines(carbon))
        self.assertEqual(float(counts[0][0]), 7)
        self.assertLessEqual(abs(int(counts[0][1]) - before), 2)
        gauges = [m.group(1) for l in self.lines(carbon) for m in [gauge.match(l)] if m]
        self.assertTrue(gauges and all(float(v) == 17.5 for v in gauges), gauges)
        # The second stop delivered its final flush: only the gauge is kept.
        self.assertRegex("\n".join(s2.lines(stream="stderr")),
                         r"state file written .* gauges=1 undelivered_series=0 "
                         r"undelivered_backends=\[\]")

    def test_delivered_flush_is_not_sent_again(self):
        carbon = self.carbon()
        s1, _ = self.first_run(carbon.port)
        self.assertRegex("\n".join(s1.lines(stream="stderr")),
                         r"state file written .* gauges=1 undelivered_series=0 "
                         r"undelivered_backends=\[\]")
        s2 = self.start_graphite(carbon.port, "200ms")
        s2.wait_for(r".*state file restored .* gauges=1 gauges_expired=0 flushes_resent=0 "
                    r"series_resent=0", stream="stderr")
        gauge = re.compile(r"^stats\.gauges\.state\.test\.gauge(?:;\S*)? 17\.5\d* \d+$")
        self.wait_lines(carbon, lambda ls: sum(bool(gauge.match(l)) for l in ls) >= 3,
                        "the gauge from both processes", s2)
        self.stop_ok(s2)
        counts = [l for l in self.lines(carbon) if l.startswith("stats.counters.state.test.count.count")]
        self.assertEqual(len(counts), 1, self.lines(carbon))
        self.assertRegex(counts[0], r" 7 \d+$")

    def test_a_gauge_received_after_the_restart_wins(self):
        carbon = self.carbon()
        self.first_run(carbon.port)
        s2 = self.start_graphite(carbon.port, "200ms")
        s2.send("state.test.gauge:2|g")
        gauge = re.compile(r"^stats\.gauges\.state\.test\.gauge(?:;\S*)? (\S+) \d+$")
        values = lambda: [float(m.group(1)) for l in self.lines(carbon) for m in [gauge.match(l)] if m]
        self.wait_lines(carbon, lambda ls: 2.0 in values(), "the new value", s2)
        self.stop_ok(s2)
        got = values()
        # The restored 17.5 is older than the 2 received after the restart: 2 wins from then on.
        self.assertEqual(got[got.index(2.0):], [2.0] * (len(got) - got.index(2.0)), got)

    def test_a_running_server_takes_a_file_that_appears(self):
        # The hand-over order: the new process runs before the old one stops and writes the file.
        carbon = self.carbon()
        s2 = self.start_graphite(carbon.port, "200ms")
        self.first_run(closed_port())
        s2.wait_for(r".*state file restored .* gauges=1 gauges_expired=0 flushes_resent=1.*",
                    stream="stderr")
        gauge = re.compile(r"^stats\.gauges\.state\.test\.gauge(?:;\S*)? 17\.5\d* \d+$")
        self.wait_lines(carbon, lambda ls: sum(bool(gauge.match(l)) for l in ls) >= 2,
                        "the gauge", s2)
        self.stop_ok(s2)
        counts = [l for l in self.lines(carbon) if l.startswith("stats.counters.state.test.count.count")]
        self.assertEqual(len(counts), 1, self.lines(carbon))
        self.assertRegex(counts[0], r" 7 \d+$")
        restored = [l for l in s2.lines(stream="stderr") if "state file restored" in l]
        self.assertEqual(len(restored), 1, restored)

    def test_corrupt_file_is_moved_aside(self):
        with open(self.path, "wb") as f:
            # version 1, a body length of 2^64-1, a checksum, and 4 bytes of body
            f.write(b"CSDSTATE" + b"\x01\x00\x00\x00" + b"\x00" * 4 + b"\xff" * 16 + b"junk")
        s = self.start(harness.standard_flags(state_file=self.path, statser_type="logging"))
        s.wait_for(r".*state file refused; going on without it .*reason=\"length mismatch.*"
                   r"moved_to=\S+\.bad", stream="stderr")
        self.assertFalse(os.path.exists(self.path))
        self.assertTrue(os.path.exists(self.path + ".bad"))
        s.wait_for(r".*name=statsd\.state\.rejected value=1\b.*", stream="stderr")
        s.send("state.test.after:1|c")
        s.wait_for(r"stats\.counter\.state\.test\.after\.\S*count 1 \d+")
        self.stop_ok(s)

    def test_unwritable_directory_is_a_configuration_error(self):
        missing = os.path.join(self.dir, "no", "such", "dir", "state")
        r = self.run_binary(["--check-config", "--state-file", missing], env=clean_env())
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("state-file", r.stdout + r.stderr)
        self.assertIn("No such file or directory", r.stdout + r.stderr)
        r = self.run_binary(["--check-config"], env=clean_env(GSD_STATE_FILE=self.path))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


if __name__ == "__main__":
    harness.main()
