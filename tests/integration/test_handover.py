"""Process hand-over (docs/restarts.md): a new cstatsd binds the metrics port (and the HTTP and
TCP ports) of a running one with metrics-reuse-port, the old one is sent SIGTERM and exits, five
times in a row, while cstatsd-loader sends counters at a fixed rate. Every counter line sent is
in some process's output or in a kernel drop count, and the kernel dropped nothing. The unit test
tests/unit/ingest/socket_handover_test.cc is the negative control: without the detach, closing
the old socket loses what the kernel kept hashing to it."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import harness
from harness import ServerTestCase

COUNTER = re.compile(r"stats\.counter\.loadtest\.counter\.\d+\.s\.127\.0\.0\.1\.count (\d+) \d+")
KERNEL_DROPS = re.compile(
    r"stats\.gauge\.statsd\.receiver\.kernel_drops\.host\.testhost\.s\.testhost (\S+) \d+")
STARTED_PORTS = re.compile(r".*cstatsd started .* port=(\d+) .* tcp_port=(\d+) .*")
LISTENING = r".*http server listening server=main address=127\.0\.0\.1:(\d+) .*"
DETACHED = "socket hand-over: another process shares the metrics port"

HAND_OVERS = 5
LINE_RATE = 25000  # lines/s: moderate, so that a busy 2-core machine drops nothing
LINES = 250000     # 10 s at that rate: the hand-overs take a few seconds


class HandOverTest(ServerTestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="cstatsd-handover-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.generation = 0

    def start_generation(self, udp_port, tcp_port, http_port):
        """One cstatsd on the given loopback ports (0: any) with metrics-reuse-port, the stdout
        backend and internal metrics; returns (server, udp, tcp, http ports it got)."""
        self.generation += 1
        path = os.path.join(self.dir, f"cstatsd-{self.generation}.toml")
        with open(path, "w") as f:
            f.write(f'http-servers = ["main"]\n[http.main]\naddress = "127.0.0.1:{http_port}"\n')
        s = self.start_standard(config_path=path, metrics_addr=f"127.0.0.1:{udp_port}",
                                metrics_tcp_addr=f"127.0.0.1:{tcp_port}", metrics_reuse_port=True,
                                statser_type="internal", hostname="testhost", max_workers=2)
        _, m = s.wait_for(STARTED_PORTS.pattern, stream="stderr")
        _, h = s.wait_for(LISTENING, stream="stderr")
        return s, int(m.group(1)), int(m.group(2)), int(h.group(1))

    def test_five_hand_overs_under_load_lose_no_datagram(self):
        server, udp, tcp, http = self.start_generation(0, 0, 0)
        servers = [server]
        loader = subprocess.Popen(
            [harness.loader_bin(), "-a", f"127.0.0.1:{udp}", "--json", "-q", "-c", str(LINES),
             "--counter-cardinality", "100", "--line-rate", str(LINE_RATE), "--buffer-size",
             "300", "--sockets", "16"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: loader.poll() is None and loader.kill())
        for _ in range(HAND_OVERS):
            time.sleep(0.5)  # traffic to the old process alone for a while
            # The new process binds every port while the old one runs, and is ready when it
            # logs that it started (docs/restarts.md); then the old one stops.
            new, new_udp, new_tcp, new_http = self.start_generation(udp, tcp, http)
            self.assertEqual((new_udp, new_tcp, new_http), (udp, tcp, http))
            old = servers[-1]
            self.stop_ok(old)
            old.wait_for_text(DETACHED, stream="stderr", timeout=0)
            servers.append(new)
        out, err = loader.communicate(timeout=60)
        self.assertEqual(loader.returncode, 0, err)
        summary = json.loads(out.strip().splitlines()[-1])
        self.assertEqual(summary["errors"], 0, summary)
        self.assertEqual(summary["counters"], LINES, summary)
        # The last process is alone in the group: a plain stop, nothing detached.
        self.stop_ok(servers[-1])
        self.assertFalse(any(DETACHED in l for l in servers[-1].lines(stream="stderr")))

        received = [sum(int(m.group(1)) for m in map(COUNTER.fullmatch, s.lines()) if m)
                    for s in servers]
        drops = []
        for s in servers:
            values = [float(m.group(1)) for m in map(KERNEL_DROPS.fullmatch, s.lines()) if m]
            self.assertTrue(values, "no receiver.kernel_drops gauge\n" + s.describe())
            drops.append(int(values[-1]))  # cumulative: the final flush's value
        detail = f"received per process {received}, kernel drops {drops}, loader {summary}"
        print(detail, file=sys.stderr)
        # Every process took part (the loader's 16 sockets spread over each group).
        self.assertTrue(all(r > 0 for r in received), detail)
        self.assertEqual(sum(received) + sum(drops), summary["counters"], detail)
        self.assertEqual(sum(drops), 0, detail)


if __name__ == "__main__":
    harness.main()
