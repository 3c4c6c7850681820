"""cstatsd --check-config (docs/prometheus.md#mapping): loads and checks the configuration as
startup does, and the mapping files of [prometheus] and [prometheus-remote-write], prints what
is wrong (or "configuration OK") and exits 1 (or 0) without binding, connecting or starting
anything."""

import os
import shutil
import socket
import tempfile

import harness
from harness import ServerTestCase

MAPPING = """mappings:
- match: "test.dispatcher.*.*.*"
  name: "dispatcher_events_total"
  labels:
    processor: "$1"
"""

BAD_MAPPING = """mappings:
- match: "a.*"
  name: "ok"
- match: "foo*"
  name: "bad_glob"
"""


def clean_env():
    return {k: v for k, v in os.environ.items() if not k.startswith("GSD_")}


class CheckConfigTest(ServerTestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="cstatsd-check-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def config(self, mapping_text, addr="127.0.0.1:0"):
        mapping = self.write("mapping.yml", mapping_text)
        return self.write("cstatsd.toml", f"""
backends = ["stdout"]
metrics-addr = "{addr}"

[prometheus]
mapping-config = "{mapping}"

[prometheus-remote-write]
mapping-config = "{mapping}"
""")

    def test_ok_without_binding(self):
        # The metrics address is taken: a check that bound it would fail.
        busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        busy.bind(("127.0.0.1", 0))
        self.addCleanup(busy.close)
        port = busy.getsockname()[1]
        path = self.config(MAPPING, addr=f"127.0.0.1:{port}")
        out = self.run_binary(["--check-config", "--config-path", path], env=clean_env())
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.strip(), "configuration OK")

    def test_prometheus_backend_does_not_listen(self):
        # The scrape backend listens when it is created: the check reads its section instead.
        busy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        self.addCleanup(busy.close)
        port = busy.getsockname()[1]
        mapping = self.write("mapping.yml", MAPPING)
        path = self.write("cstatsd.toml", f"""
backends = ["prometheus"]
metrics-addr = "127.0.0.1:0"
[prometheus]
listen-address = "127.0.0.1:{port}"
mapping-config = "{mapping}"
""")
        out = self.run_binary(["--check-config", "--config-path", path], env=clean_env())
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.strip(), "configuration OK")
        bad = self.write("bad.toml", """
backends = ["prometheus"]
[prometheus]
listen-address = "nonsense"
""")
        out = self.run_binary(["--check-config", "--config-path", bad], env=clean_env())
        self.assertEqual(out.returncode, 1, out.stdout)
        self.assertIn("prometheus.listen-address", out.stderr)

    def test_bad_mapping_names_file_and_line(self):
        path = self.config(BAD_MAPPING)
        out = self.run_binary(["--check-config", "--config-path", path], env=clean_env())
        self.assertEqual(out.returncode, 1, out.stdout)
        mapping = os.path.join(self.dir, "mapping.yml")
        self.assertIn(f"{mapping}:4: mappings[1].match: invalid glob \"foo*\"", out.stderr)
        self.assertNotIn("configuration OK", out.stdout)

    def test_missing_mapping_file(self):
        path = self.write("cstatsd.toml", """
backends = ["stdout"]
[prometheus]
mapping-config = "/nonexistent/mapping.yml"
""")
        out = self.run_binary(["--check-config", "--config-path", path], env=clean_env())
        self.assertEqual(out.returncode, 1, out.stdout)
        self.assertIn("/nonexistent/mapping.yml", out.stderr)

    def test_bad_option_exits_1(self):
        out = self.run_binary(["--check-config", "--flush-interval", "soon"], env=clean_env())
        self.assertEqual(out.returncode, 1, out.stdout)
        self.assertIn("flush-interval", out.stderr)

    def test_unknown_backend(self):
        out = self.run_binary(["--check-config", "--backends", "nosuchbackend"], env=clean_env())
        self.assertEqual(out.returncode, 1, out.stdout)
        self.assertIn("nosuchbackend", out.stderr)


if __name__ == "__main__":
    harness.main()
