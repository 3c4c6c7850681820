"""packaging/grafana/cstatsd.json (docs/packaging.md#dashboard) reads what a server running the
package's default configuration exposes: cstatsd with packaging/cstatsd.toml (its addresses moved
to free loopback ports) scraped by a real Prometheus (Debian's), and every query of every panel,
as Grafana would send it, returns series. backend.retried is sent only once a backend retried
(a sparse metric, docs/internal-metrics.md), so its query is only checked to be valid."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

SOURCE_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "e2e"))
import prometheus_service  # noqa: E402

CSTATSD = os.environ["CSTATSD_BIN"]
DASHBOARD = os.path.join(SOURCE_DIR, "packaging", "grafana", "cstatsd.json")
CONFIG = os.path.join(SOURCE_DIR, "packaging", "cstatsd.toml")
# Sparse internal metrics this test does not provoke: queried, not required to have series.
NOT_PROVOKED = ("statsd_backend_retried",)


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DashboardTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="cstatsd-dashboard-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.udp = free_udp_port()
        scrape = prometheus_service.free_port()
        with open(CONFIG) as f:
            conf = f.read()
        conf, n1 = re.subn(r'^metrics-addr = ".*"$', f'metrics-addr = "127.0.0.1:{self.udp}"',
                           conf, flags=re.M)
        conf, n2 = re.subn(r'^listen-address = ".*"$', f'listen-address = "127.0.0.1:{scrape}"',
                           conf, flags=re.M)
        self.assertEqual((n1, n2), (1, 1), "packaging/cstatsd.toml changed shape")
        # Small datagram buffers, so that a long datagram is truncated (a sparse metric).
        conf = "receive-buffer-size = 512\nflush-interval = \"1s\"\n" + re.sub(
            r'^flush-interval = .*$', "", conf, flags=re.M)
        path = os.path.join(self.dir, "cstatsd.toml")
        with open(path, "w") as f:
            f.write(conf)
        self.log = open(os.path.join(self.dir, "cstatsd.log"), "w")
        self.server = subprocess.Popen([CSTATSD, "--config-path", path], stdout=self.log,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.addCleanup(self.stop_server)
        self.prometheus = prometheus_service.Prometheus({"cstatsd": f"127.0.0.1:{scrape}"})
        self.addCleanup(self.prometheus.cleanup)
        self.prometheus.start()

    def stop_server(self):
        if self.server.poll() is None:
            self.server.terminate()
            self.server.wait(timeout=15)
        self.log.close()

    def send_traffic(self, seconds):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                s.sendto(b"page.views:1|c\napi.latency:12|ms\nqueue.depth:3|g",
                         ("127.0.0.1", self.udp))
                s.sendto(b"not a metric line", ("127.0.0.1", self.udp))
                s.sendto(b"long.name:1|c|#" + b"k:v," * 300, ("127.0.0.1", self.udp))
                time.sleep(0.1)

    def test_every_panel_query_returns_series(self):
        with open(DASHBOARD) as f:
            dashboard = json.load(f)
        queries = [(p["title"], t["expr"]) for p in dashboard["panels"]
                   for t in p.get("targets", [])]
        self.assertGreater(len(queries), 15)
        # Series appear after a flush and a scrape; rates need a few scrapes.
        self.send_traffic(6)
        self.prometheus.wait("statsd_receiver_datagrams_truncated", lambda r: len(r) > 0,
                             timeout=30, what="the sparse metrics")
        time.sleep(3)  # a few more scrapes, so every rate over 10 s has two samples
        missing = []
        for title, expr in queries:
            promql = expr.replace("$__rate_interval", "10s").replace("$host", ".*")
            result = self.prometheus.query(promql)  # fails on a query Prometheus refuses
            if not result and not any(name in expr for name in NOT_PROVOKED):
                missing.append(f"{title}: {expr}")
        self.assertEqual(missing, [], "queries without series")
        self.assertIsNone(self.server.poll(), "cstatsd exited")


if __name__ == "__main__":
    unittest.main()
