"""A real Prometheus (Debian's prometheus 2.42; when it is missing, deps.ensure runs
scripts/install-deps.sh) for end-to-end tests: a temporary config and TSDB directory, a free
loopback port, the remote-write receiver on, a bounded wait for /-/ready, and /api/v1/query to
read values back. Also promtool, to check an exposition. Standard library only."""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import deps

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prometheus:
    """scrape_jobs: {job name: "host:port" of its one target}. Every job is scraped each second
    and adds the target label `via="scrape"`, so a query tells scraped series ({via="scrape"})
    from remote-written ones ({via=""}, which have no such label)."""

    def __init__(self, scrape_jobs, metrics_path="/metrics"):
        deps.ensure({PROMETHEUS: "prometheus", PROMTOOL: "prometheus"})
        self.dir = tempfile.mkdtemp(prefix="cstatsd-prometheus-")
        self.port = free_port()
        self.proc = None
        self.log = None
        self.conf = os.path.join(self.dir, "prometheus.yml")
        jobs = "".join(f"""  - job_name: {job}
    scrape_interval: 1s
    scrape_timeout: 1s
    metrics_path: {metrics_path}
    static_configs:
      - targets: ["{target}"]
        labels:
          via: scrape
""" for job, target in scrape_jobs.items())
        with open(self.conf, "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
{jobs}""")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def remote_write_url(self):
        return self.url + "/api/v1/write"

    def start(self, timeout=30):
        self.log = open(os.path.join(self.dir, "prometheus.log"), "w")
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={self.conf}",
             f"--storage.tsdb.path={os.path.join(self.dir, 'data')}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--web.enable-remote-write-receiver",
             "--storage.remote.flush-deadline=1s"],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.proc.returncode}:\n"
                                   + self.log_tail())
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("prometheus was not ready in time:\n" + self.log_tail())

    def log_tail(self, lines=30):
        try:
            with open(os.path.join(self.dir, "prometheus.log")) as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(no log)"

    def query(self, expr):
        """The result of an instant query: a list of {"metric": {labels}, "value": [t, "v"]}."""
        url = self.url + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.load(r)
        if body.get("status") != "success":
            raise AssertionError(f"query {expr!r}: {body}")
        return body["data"]["result"]

    def values(self, expr):
        """{frozenset of labels without __name__: float value} of an instant query."""
        return {frozenset((k, v) for k, v in s["metric"].items() if k != "__name__"):
                float(s["value"][1]) for s in self.query(expr)}

    def wait(self, expr, predicate, timeout=20, what=None):
        """Polls the instant query until predicate(result list) is true; returns the result.
        Fails after `timeout` seconds with the last result."""
        deadline = time.monotonic() + timeout
        result = None
        while True:
            result = self.query(expr)
            if predicate(result):
                return result
            if time.monotonic() >= deadline:
                raise AssertionError(f"{what or 'query'} {expr!r}: still {result} after "
                                     f"{timeout:g} s")
            time.sleep(0.25)

    def stop(self, sig=signal.SIGTERM):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None
        if self.log:
            self.log.close()
            self.log = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def promtool_check_metrics(text):
    """Runs `promtool check metrics` on an exposition; returns (exit status, output). promtool
    exits 0 when clean, 3 when it only has lint notes (names, help text) and 1 when the text does
    not parse ("error while linting: text format parsing error ...")."""
    deps.ensure({PROMTOOL: "prometheus"})
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr
