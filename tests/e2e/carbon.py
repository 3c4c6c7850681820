"""A real carbon-cache (Debian's graphite-carbon) for end-to-end tests: a temporary config and
storage directory, free loopback ports, a bounded wait for readiness, whisper-fetch to read the
data back, and a stop by PID (with the signal the test chooses). Standard library only; the
carbon tools run under /usr/bin/python3 as Debian packages them. When they are missing,
scripts/install-deps.sh installs them (deps.ensure)."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import deps

CARBON_CACHE = "/usr/bin/carbon-cache"
WHISPER_FETCH = "/usr/bin/whisper-fetch"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Carbon:
    def __init__(self):
        deps.ensure({CARBON_CACHE: "graphite-carbon", WHISPER_FETCH: "python3-whisper"})
        self.dir = tempfile.mkdtemp(prefix="cstatsd-carbon-")
        self.port = free_port()
        self.proc = None
        for sub in ("storage", "whisper", "lists", "conf", "log", "pid"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        self.whisper_dir = os.path.join(self.dir, "whisper")
        conf = os.path.join(self.dir, "conf")
        with open(os.path.join(conf, "carbon.conf"), "w") as f:
            f.write(f"""[cache]
STORAGE_DIR = {self.dir}/storage/
LOCAL_DATA_DIR = {self.whisper_dir}/
WHITELISTS_DIR = {self.dir}/lists/
CONF_DIR = {conf}/
LOG_DIR = {self.dir}/log/
PID_DIR = {self.dir}/pid/
DATABASE = whisper
ENABLE_TAGS = False
ENABLE_UDP_LISTENER = False
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = {self.port}
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = {free_port()}
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = {free_port()}
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = inf
MAX_CREATES_PER_MINUTE = inf
WHISPER_AUTOFLUSH = True
LOG_LISTENER_CONNECTIONS = False
""")
        with open(os.path.join(conf, "storage-schemas.conf"), "w") as f:
            f.write("[default]\npattern = .*\nretentions = 1s:1h\n")
        self.conf = os.path.join(conf, "carbon.conf")

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def start(self, timeout=20):
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", CARBON_CACHE,
             f"--config={self.conf}", f"--pidfile={self.dir}/pid/carbon.pid", "--debug",
             "start"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"carbon-cache exited with {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("carbon-cache did not accept connections in time")

    def stop(self, sig=signal.SIGTERM):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, metric):
        return os.path.join(self.whisper_dir, *metric.split(".")) + ".wsp"

    def values(self, metric, since=None):
        """The non-empty points of a metric's whisper file as a list of floats ([] if none)."""
        path = self.path(metric)
        if not os.path.exists(path):
            return []
        now = int(time.time())
        start = since if since is not None else now - 3000
        out = subprocess.run(["/usr/bin/python3", WHISPER_FETCH, f"--from={start}", f"--until={now + 5}",
                              path], capture_output=True, text=True, timeout=30)
        vals = []
        for line in out.stdout.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1] != "None":
                vals.append(float(parts[1]))
        return vals

    def wait_values(self, metric, predicate, timeout=15):
        deadline = time.monotonic() + timeout
        vals = []
        while time.monotonic() < deadline:
            vals = self.values(metric)
            if predicate(vals):
                return vals
            time.sleep(0.3)
        raise AssertionError(f"{metric}: whisper values {vals} never satisfied the check")
