"""cstatsd's graphite backend against a real carbon-cache: counters, timers, gauges and sets of
several flushes read back from whisper files flush by flush; Carbon starting late; Carbon killed
(SIGKILL) and restarted; a hung Carbon that accepts connections but never reads. Throughout, a
stdout backend next to graphite shows that ingestion and the other backends go on, and the
server's internal metrics (statser logging) show that every flush Carbon did not get is counted
in backend.dropped."""

import os
import signal
import socket
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import harness  # noqa: E402
from carbon import Carbon  # noqa: E402

SRC = ".s.127.0.0.1"  # the stdout backend's tags-key part for the sender's address


def counters(server, backend):
    """The last logged backend.* internal metrics of one backend."""
    names = ("created", "sent", "dropped", "series.sent")
    return {n: harness.backend_counter(server, backend, n) for n in names}


def nonzero(values):
    return [v for v in values if v != 0]


def changes(values):
    """Consecutive duplicates removed: a gauge's successive values."""
    out = []
    for v in values:
        if not out or out[-1] != v:
            out.append(v)
    return out


def stdout_counts(server, name):
    """Per-flush counts of a counter printed by the stdout backend."""
    return [int(v) for v in server.values(f"stats.counter.{name}{SRC}.count")]


class HungCarbon:
    """A TCP server on 127.0.0.1 that accepts connections and never reads from them; its
    receive buffer is as small as the kernel allows, so a sender's writes soon block."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.conns = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def address(self):
        return f"127.0.0.1:{self.sock.getsockname()[1]}"

    def _accept(self):
        while not self.done.is_set():
            try:
                conn, _ = self.sock.accept()
                self.conns.append(conn)
            except OSError:
                continue

    def close(self):
        self.done.set()
        self.thread.join(5)
        for c in self.conns + [self.sock]:
            c.close()


class GraphiteCarbonTest(harness.ServerTestCase):
    def setUp(self):
        self.carbon = Carbon()
        self.addCleanup(self.carbon.close)
        self.tmp = tempfile.mkdtemp(prefix="cstatsd-e2e-")

    def start_cstatsd(self, address=None, mode="basic", extra=""):
        """graphite and stdout, 1 s flushes, internal metrics logged to stderr."""
        conf = os.path.join(self.tmp, "cstatsd.toml")
        with open(conf, "w") as f:
            f.write(f"""backends = ["graphite", "stdout"]
metrics-addr = "127.0.0.1:0"
flush-interval = "1s"
statser-type = "logging"
hostname = "e2e"
[graphite]
address = "{address or self.carbon.address}"
mode = "{mode}"
dial_timeout = "1s"
{extra}
""")
        return self.start(["--config-path", conf])

    def assert_every_loss_counted(self, s, name, allowed_unknown=0):
        """Every count of `name` that the stdout backend printed but Carbon's whisper file does
        not hold belongs to a flush counted in graphite's backend.dropped (at most
        `allowed_unknown` more: the flush written just before a kill). Returns the counters."""
        g, out = counters(s, "graphite"), counters(s, "stdout")
        self.assertIsNotNone(g["created"], "no backend internal metrics logged")
        # The same flushes went to both backends; stdout took each one, graphite delivered it
        # or counted it as dropped (from its queue or after its retry).
        self.assertEqual(out["dropped"], 0, out)
        self.assertEqual(g["sent"] + g["dropped"], out["sent"], (g, out))
        self.assertLessEqual(g["series.sent"], out["series.sent"], (g, out))
        self.assertGreater(g["series.sent"], 0, g)
        per_flush = sorted(stdout_counts(s, name), reverse=True)
        printed = sum(per_flush)
        got = sum(self.carbon.values(f"stats.counters.{name}.count"))
        self.assertLessEqual(got, printed)
        # The largest flushes bound what dropped flushes can have carried.
        bound = sum(per_flush[:int(g["dropped"]) + allowed_unknown])
        self.assertLessEqual(printed - got, bound,
                             f"{printed - got} counts missing, {g['dropped']} flushes counted "
                             f"as dropped, per-flush counts {per_flush}")
        return g, out

    def test_several_flushes_read_back_from_whisper(self):
        self.carbon.start()
        s = self.start_cstatsd()
        batches = [  # one flush each
            dict(c=5, t=[10, 30], g=42, s=["a", "b", "a"]),
            dict(c=7, t=[1, 2, 3], g=3.5, s=["x"]),
            dict(c=11, t=[100], g=0.25, s=["p", "q", "r", "p"]),
            dict(c=2, t=[4, 4, 16, 8], g=9, s=["a", "b"]),
        ]
        for b in batches:
            lines = [f"e2e.c:{b['c']}|c", f"e2e.g:{b['g']}|g"]
            lines += [f"e2e.t:{v}|ms" for v in b["t"]]
            lines += [f"e2e.s:{m}|s" for m in b["s"]]
            s.send("\n".join(lines))
            s.sync()  # flushed: the next batch goes into a later flush
        c = self.carbon
        want = {
            "stats.counters.e2e.c.count": [b["c"] for b in batches],
            "stats.timers.e2e.t.count": [len(b["t"]) for b in batches],
            "stats.timers.e2e.t.lower": [min(b["t"]) for b in batches],
            "stats.timers.e2e.t.upper": [max(b["t"]) for b in batches],
            "stats.timers.e2e.t.sum": [sum(b["t"]) for b in batches],
            "stats.timers.e2e.t.mean": [sum(b["t"]) / len(b["t"]) for b in batches],
            "stats.timers.e2e.t.upper_90": [30, 3, 100, 16],  # k = round(0.9 n)
            "stats.sets.e2e.s": [len(set(b["s"])) for b in batches],
        }
        for metric, values in want.items():
            c.wait_values(metric, lambda v, values=values: nonzero(v) == values, timeout=20)
        c.wait_values("stats.gauges.e2e.g", lambda v: changes(v) == [b["g"] for b in batches])
        rates = nonzero(c.values("stats.counters.e2e.c.rate"))
        self.assertEqual(len(rates), len(batches), rates)
        for rate, b in zip(rates, batches):  # count / the flush's actual length (about 1 s)
            self.assertTrue(b["c"] / 2 < rate < b["c"] * 2, (rates, batches))
        self.stop_ok(s)
        g, out = counters(s, "graphite"), counters(s, "stdout")
        self.assertEqual(g["dropped"], 0, g)
        self.assertEqual((g["created"], g["sent"], g["series.sent"]),
                         (out["created"], out["sent"], out["series.sent"]), (g, out))

    def test_carbon_starting_late(self):
        s = self.start_cstatsd()
        sent = 0
        start = time.monotonic()
        while time.monotonic() - start < 9:
            if time.monotonic() - start > 5 and self.carbon.proc is None:
                self.carbon.start()
            s.send("late.c:1|c")
            sent += 1
            time.sleep(0.25)
        for _ in range(4):  # after Carbon is up
            s.send("late.after:1|c")
            time.sleep(0.25)
        # Later flushes arrive (the backend waits out its dial backoff, then delivers the queue).
        self.carbon.wait_values("stats.counters.late.after.count", lambda v: sum(v) == 4,
                                timeout=40)
        s.sync()
        time.sleep(1.5)  # one more flush, so the last logged counters include the last sends
        self.stop_ok(s)
        self.assertEqual(sum(stdout_counts(s, "late.c")), sent)  # ingestion never stopped
        g, _ = self.assert_every_loss_counted(s, "late.c")
        self.assertGreater(g["dropped"], 0, "Carbon was down for 5 s: flushes were dropped")

    def test_carbon_killed_and_restarted(self):
        self.carbon.start()
        s = self.start_cstatsd()
        for _ in range(8):
            s.send("restart.c:1|c")
            time.sleep(0.25)
        self.carbon.wait_values("stats.counters.restart.c.count", lambda v: sum(v) > 0)
        self.carbon.stop(signal.SIGKILL)
        mark = s.mark()
        for _ in range(8):  # Carbon is down: the server keeps ingesting, stdout keeps flushing
            s.send("restart.c:1|c\ndown.c:1|c")
            time.sleep(0.25)
        s.sync()
        self.assertEqual(sum(stdout_counts(s, "down.c")), 8)
        self.assertGreaterEqual(len(s.values(f"stats.counter.down.c{SRC}.count", mark)), 2)
        self.carbon.start()
        for _ in range(8):
            s.send("restart.c:1|c\nafter.c:1|c")
            time.sleep(0.25)
        # Reconnected: every flush after the restart arrives (queued while the dial backs off).
        self.carbon.wait_values("stats.counters.after.c.count", lambda v: sum(v) == 8,
                                timeout=40)
        s.sync()
        time.sleep(1.5)
        self.stop_ok(s)
        self.assertEqual(sum(stdout_counts(s, "restart.c")), 24)
        # Carbon's plaintext protocol has no acknowledgement: the flush written just before the
        # kill may sit unread in Carbon's socket and die with it, unknown to any sender. cstatsd
        # notices the closed connection before its next write, so beyond that one flush every
        # missing count belongs to a flush counted as dropped.
        g, _ = self.assert_every_loss_counted(s, "restart.c", allowed_unknown=1)
        self.assertGreater(g["sent"], 0)

    def test_hung_carbon_never_delays_ingestion_or_other_backends(self):
        hung = HungCarbon()
        self.addCleanup(hung.close)
        s = self.start_cstatsd(address=hung.address, extra='write_timeout = "1s"')
        # Flushes larger than a fresh connection's kernel buffers can take in (the sender's
        # buffer grows up to tcp_wmem's maximum, 4 MB by default; a fresh connection took about
        # 1.7 MB here), kept by expiry while idle: every write, and its retry, times out.
        with open("/proc/sys/net/ipv4/tcp_wmem") as f:
            wmem_max = int(f.read().split()[2])
        name = "hung." + "x" * 1000
        series = max(2500, int(wmem_max * 1.3 / 2060) + 1)  # 2 lines of ~1030 bytes each
        for i in range(0, series, 50):
            s.send("\n".join(f"{name}.{j}:1|c" for j in range(i, i + 50)))
            time.sleep(0.01)
        sent = 0
        start = time.monotonic()
        while time.monotonic() - start < 8:
            s.send("live.c:1|c")
            sent += 1
            time.sleep(0.25)
        s.sync()
        self.assertEqual(sum(stdout_counts(s, "live.c")), sent)
        self.assertGreaterEqual(len(stdout_counts(s, "live.c")), 6)  # flushes kept coming
        s.wait_for_text("flush dropped backend=graphite", stream="stderr", timeout=10)
        time.sleep(1.5)
        self.stop_ok(s)
        g, out = counters(s, "graphite"), counters(s, "stdout")
        self.assertEqual(out["dropped"], 0, out)
        # Nothing reached Carbon, and every flush graphite took up was counted as dropped.
        self.assertEqual(g["sent"], 0, g)
        self.assertGreater(g["dropped"], 0, g)
        self.assertEqual(g["series.sent"], 0, g)
        self.assertGreaterEqual(g["dropped"], g["created"] - 1, g)  # one may be in progress
        self.assertTrue(any("write 127.0.0.1" in line and "timed out" in line
                            for line in s.lines(stream="stderr")), s.describe())


if __name__ == "__main__":
    harness.main()
