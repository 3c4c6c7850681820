"""A real InfluxDB 1.x (Debian's influxdb package; when influxd is missing, deps.ensure runs
scripts/install-deps.sh) for end-to-end tests: a temporary config with meta, data and WAL
directories, a free loopback port, a bounded wait for /ping, database creation and /query to
read values back. Standard library only."""

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

INFLUXD = "/usr/bin/influxd"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Influx:
    def __init__(self):
        deps.ensure({INFLUXD: "influxdb"})
        self.dir = tempfile.mkdtemp(prefix="cstatsd-influx-")
        self.port = free_port()
        self.proc = None
        self.conf = os.path.join(self.dir, "influxdb.conf")
        with open(self.conf, "w") as f:
            f.write(f"""reporting-disabled = true
bind-address = "127.0.0.1:{free_port()}"
[meta]
  dir = "{self.dir}/meta"
[data]
  dir = "{self.dir}/data"
  wal-dir = "{self.dir}/wal"
  query-log-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:{self.port}"
  auth-enabled = false
  log-enabled = false
[monitor]
  store-enabled = false
[subscriber]
  enabled = false
[continuous_queries]
  enabled = false
""")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout=30):
        binary = INFLUXD
        self.log = open(os.path.join(self.dir, "influxd.log"), "w")
        self.proc = subprocess.Popen([binary, "run", "-config", self.conf], stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"influxd exited with {self.proc.returncode}")
            try:
                with urllib.request.urlopen(self.url + "/ping", timeout=1) as r:
                    if r.status == 204:
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("influxd did not answer /ping in time")

    def query(self, q, db=None):
        params = {"q": q}
        if db:
            params["db"] = db
        data = urllib.parse.urlencode(params).encode()
        with urllib.request.urlopen(self.url + "/query", data=data, timeout=10) as r:
            return json.load(r)

    def create_database(self, db):
        self.query(f'CREATE DATABASE "{db}"')

    def select(self, db, q):
        """Rows of the first series of a SELECT, as dicts (column → value)."""
        res = self.query(q, db)["results"][0]
        series = res.get("series") or []
        rows = []
        for s in series:
            for values in s["values"]:
                rows.append(dict(zip(s["columns"], values)))
        return rows

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
        self.log.close()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
