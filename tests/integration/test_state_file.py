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


# What graphite receives (mode tags: `;host=...` after the name): value and time.
COUNT = re.compile(r"^stats\.counters\.state\.test\.count\.count(?:;\S*)? (\S+) (\d+)$")
GAUGE = re.compile(r"^stats\.gauges\.state\.test\.gauge(?:;\S*)? (\S+) (\d+)$")


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

    def points(self, carbon, rx):
        """(value, timestamp) of every line carbon received that matches rx."""
        return [(float(m.group(1)), int(m.group(2))) for l in self.lines(carbon)
                for m in [rx.match(l)] if m]

    def wait_gauges(self, carbon, server, n, value=None):
        """Waits until carbon received the gauge n times (with `value`, if given)."""
        ok = lambda: len([v for v, _ in self.points(carbon, GAUGE) if value in (None, v)]) >= n
        deadline = time.monotonic() + harness.DEFAULT_TIMEOUT
        while not ok() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertTrue(ok(), f"carbon did not receive the gauge {n} times: "
                              f"{self.lines(carbon)[:20]}\n" + server.describe())

    def assert_counted_once(self, carbon, near=None):
        """The first process's interval (3 + 4) reached carbon exactly once."""
        counts = self.points(carbon, COUNT)
        self.assertEqual([v for v, _ in counts], [7], self.lines(carbon))
        if near is not None:  # at the first process's flush time, not the restart's
            self.assertLessEqual(abs(counts[0][1] - near), 2, counts)

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
        self.assertRegex("\n".join(s1.lines(stream="stderr")),
                         r"state file written path=\S+ bytes=\d+ gauges=1 "
                         r"undelivered_series=[1-9]\d* undelivered_backends=\[graphite\]")
        self.assertTrue(os.path.exists(self.path))

        carbon = self.carbon()
        s2 = self.start_graphite(carbon.port, "200ms")
        s2.wait_for(r".*state file restored .* gauges=1 gauges_expired=0 flushes_resent=1.*",
                    stream="stderr")
        self.assertFalse(os.path.exists(self.path), "the file is removed once read")
        # The kept flush's gauge, then the restored gauge at two flushes of the new process.
        self.wait_gauges(carbon, s2, 3)
        self.stop_ok(s2)
        self.assert_counted_once(carbon, near=before)
        self.assertEqual({v for v, _ in self.points(carbon, GAUGE)}, {17.5})
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
                    r"series_resent=0 .*", stream="stderr")
        self.wait_gauges(carbon, s2, 3, 17.5)  # from both processes
        self.stop_ok(s2)
        self.assert_counted_once(carbon)

    def test_a_gauge_received_after_the_restart_wins(self):
        carbon = self.carbon()
        self.first_run(carbon.port)
        s2 = self.start_graphite(carbon.port, "200ms")
        s2.send("state.test.gauge:2|g")
        self.wait_gauges(carbon, s2, 1, 2.0)
        self.stop_ok(s2)
        got = [v for v, _ in self.points(carbon, GAUGE)]
        # The restored 17.5 is older than the 2 received after the restart: 2 wins from then on.
        self.assertEqual(got[got.index(2.0):], [2.0] * (len(got) - got.index(2.0)), got)

    def test_a_running_server_takes_a_file_that_appears(self):
        # The hand-over order: the new process runs before the old one stops and writes the file.
        carbon = self.carbon()
        s2 = self.start_graphite(carbon.port, "200ms")
        self.first_run(closed_port())
        s2.wait_for(r".*state file restored .* gauges=1 gauges_expired=0 flushes_resent=1.*",
                    stream="stderr")
        self.wait_gauges(carbon, s2, 2, 17.5)
        self.stop_ok(s2)
        self.assert_counted_once(carbon)
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

    def test_forwarder_mode_ignores_it(self):
        config = os.path.join(self.dir, "forwarder.toml")
        with open(config, "w") as f:
            f.write(f'[http-transport]\napi-endpoint = "http://127.0.0.1:{closed_port()}"\n')
        s = self.start(["--server-mode", "forwarder", "--config-path", config, "--metrics-addr",
                        "127.0.0.1:0", "--statser-type", "null", "--state-file", self.path,
                        "--backend-shutdown-timeout", "200ms"], env=clean_env())
        s.send("state.test.gauge:1|g")
        time.sleep(0.2)
        self.stop_ok(s)
        self.assertIn("state-file is ignored in forwarder mode", "\n".join(s.lines(stream="stderr")))
        self.assertFalse(os.path.exists(self.path))

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
