"""Issue 14 item 9 end to end: client bytes in log lines are escaped (a `\\r` or a terminal
escape in a datagram cannot forge or garble a record), and a Graphite peer that resets the
connection before reading a whole flush makes the flush count as failed (it was counted sent)."""

import os
import re
import socket
import struct
import threading
import time

import harness
from harness import ServerTestCase


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GSD_")}
    env.update(extra)
    return env


class BadLineLogTest(ServerTestCase):
    def test_control_bytes_in_a_bad_line_are_escaped(self):
        s = self.start(harness.standard_flags(), env=clean_env(GSD_BAD_LINES_PER_MINUTE="600"))
        s.send(b"bad\rforged record\x1b[31m\xff\x7f:1|x")
        i, _ = s.wait_for(r".*error parsing line.*", stream="stderr")
        line = s.lines(stream="stderr")[i]
        self.assertIn('line="bad\\rforged record\\x1b[31m\\xff\\x7f:1|x"', line, s.describe())
        for l in s.lines(stream="stderr"):
            self.assertNotIn("\r", l)
            self.assertNotIn("\x1b", l)
        self.stop_ok(s)


class FakeCarbon:
    """A TCP listener on loopback. With `read_limit`, each connection is reset (SO_LINGER 0)
    after reading that many bytes; otherwise each is read to the end and closed, as Carbon does."""

    def __init__(self, read_limit=None):
        self.read_limit = read_limit
        self.received = b""
        self.connections = 0
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.connections += 1
            conn.settimeout(5)
            try:
                if self.read_limit is not None:
                    got = b""
                    while len(got) < self.read_limit:
                        chunk = conn.recv(self.read_limit - len(got))
                        if not chunk:
                            break
                        got += chunk
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                else:
                    while True:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        with self.lock:
                            self.received += chunk
            except OSError:
                pass
            finally:
                conn.close()

    def close(self):
        self.stopping = True
        self.thread.join(5)
        self.sock.close()


class GraphitePeerTest(ServerTestCase):
    def start_with_carbon(self, carbon):
        self.addCleanup(carbon.close)
        return self.start(harness.flags(backends="graphite", metrics_addr="127.0.0.1:0",
                                        flush_interval="200ms", statser_type="logging"),
                          env=clean_env(GSD_GRAPHITE_ADDRESS=f"127.0.0.1:{carbon.port}"))

    def feed_until(self, s, done, timeout=20):
        """Sends 30 counters per round until done() or the bounded wait ends."""
        deadline = time.monotonic() + timeout
        k = 0
        while time.monotonic() < deadline:
            s.send("\n".join(f"graphite.peer.test.counter{j}:{k}|c" for j in range(30)))
            if done():
                return True
            k += 1
            time.sleep(0.1)
        return done()

    def test_peer_reset_is_a_failed_flush(self):
        carbon = FakeCarbon(read_limit=100)
        s = self.start_with_carbon(carbon)
        dropped = lambda: (harness.backend_counter(s, "graphite", "dropped") or 0) >= 2
        self.assertTrue(self.feed_until(s, dropped), s.describe())
        self.assertEqual(harness.backend_counter(s, "graphite", "sent"), 0, s.describe())
        self.assertTrue(any("reset the connection before reading the whole flush" in l
                            for l in s.lines(stream="stderr")), s.describe())
        # Each flush was tried twice: once, then once more on a fresh connection.
        self.assertGreaterEqual(harness.backend_counter(s, "graphite", "retried") or 0, 2)
        self.stop_ok(s)

    def test_healthy_peer_gets_every_flush(self):
        carbon = FakeCarbon()
        s = self.start_with_carbon(carbon)
        sent = lambda: (harness.backend_counter(s, "graphite", "sent") or 0) >= 3
        self.assertTrue(self.feed_until(s, sent), s.describe())
        self.assertEqual(harness.backend_counter(s, "graphite", "dropped"), 0, s.describe())
        self.stop_ok(s)
        with carbon.lock:
            lines = carbon.received.decode().splitlines()
        self.assertTrue(lines)
        for line in lines:
            self.assertRegex(line, r"^\S+ \S+ \d+$")
        self.assertTrue(any(l.startswith("stats.counters.graphite.peer.test.counter0.count")
                            for l in lines), lines[:5])


if __name__ == "__main__":
    harness.main()
