"""Configuration end to end (docs/configuration.md#where-values-come-from, docs/configuration.md#top-level-options): config files (TOML, YAML, JSON), GSD_*
environment variables, precedence flag > environment > file > default, startup errors that name
the option, --help and --version."""

import json
import os
import shutil
import tempfile
import unittest

import harness
from harness import ServerTestCase

SRC = ".s.127.0.0.1"
EXAMPLES = os.path.join(harness.SOURCE_DIR, "examples", "configs")


def clean_env(**extra):
    """The environment without any GSD_* variable, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GSD_")}
    env.update(extra)
    return env


class ConfigTestCase(ServerTestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="cstatsd-it-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path


class ConfigFileTest(ConfigTestCase):
    TOML = """
backends = ["stdout"]
metrics-addr = "127.0.0.1:0"
flush-interval = "200ms"
namespace = "cfg"
default-tags = ["env:file"]
percent-threshold = [50]
statser-type = "null"

[disabled-sub-metrics]
sum-squares = true
"""

    def check_settings(self, s, namespace="cfg", tag="env.file"):
        s.send("c:1|c\nt:1|ms\nt:2|ms\nt:3|ms\nt:4|ms")
        self.assertMetric(s, f"stats.counter.{namespace}.c.{tag}{SRC}.count", "1")
        self.assertMetric(s, f"stats.timers.{namespace}.t.{tag}{SRC}.upper_50", "2.000000")
        end = s.sync()
        self.assertNoLine(s, r"stats\.timers\.\S+\.(upper_90|sum_squares) .*", until=end)
        self.assertNoLine(s, r".*statsd\..*", until=end)

    def test_toml_file(self):
        path = self.write("cstatsd.toml", self.TOML)
        s = self.start(["--config-path", path], env=clean_env())
        self.check_settings(s)
        self.stop_ok(s)

    def test_yaml_file(self):
        path = self.write("cstatsd.yaml", """
backends: [stdout]
metrics-addr: "127.0.0.1:0"
flush-interval: 200ms
namespace: cfg
default-tags: [env:file]
percent-threshold: [50]
statser-type: "null"
disabled-sub-metrics:
  sum-squares: true
""")
        s = self.start(["--config-path", path], env=clean_env())
        self.check_settings(s)
        self.stop_ok(s)

    def test_json_file(self):
        path = self.write("cstatsd.json", json.dumps({
            "backends": ["stdout"], "metrics-addr": "127.0.0.1:0", "flush-interval": "200ms",
            "namespace": "cfg", "default-tags": ["env:file"], "percent-threshold": [50],
            "statser-type": "null", "disabled-sub-metrics": {"sum-squares": True}}))
        s = self.start(["--config-path", path], env=clean_env())
        self.check_settings(s)
        self.stop_ok(s)

    def test_lists_as_space_separated_strings(self):
        path = self.write("cstatsd.toml", self.TOML.replace('["env:file"]', '"env:file b:c"')
                          .replace("[50]", '"50 90"'))
        s = self.start(["--config-path", path], env=clean_env())
        s.send("c:1|c\nt:1|ms\nt:2|ms")
        self.assertMetric(s, f"stats.counter.cfg.c.b.c.env.file{SRC}.count", "1")
        self.assertMetric(s, f"stats.timers.cfg.t.b.c.env.file{SRC}.upper_90", "2.000000")
        self.stop_ok(s)

    def test_environment_variables(self):
        env = clean_env(GSD_BACKENDS="stdout", GSD_METRICS_ADDR="127.0.0.1:0",
                        GSD_FLUSH_INTERVAL="200ms", GSD_NAMESPACE="cfg",
                        GSD_DEFAULT_TAGS="env:file", GSD_PERCENT_THRESHOLD="50",
                        GSD_STATSER_TYPE="null", GSD_DISABLED_SUB_METRICS_SUM_SQUARES="true")
        s = self.start([], env=env)
        # [disabled-sub-metrics] is not in any file here: the variable may or may not reach it
        # (gostatsd's quirk, docs/configuration.md#where-values-come-from), so only the top-level settings are checked.
        s.send("c:1|c\nt:1|ms\nt:2|ms\nt:3|ms\nt:4|ms")
        self.assertMetric(s, f"stats.counter.cfg.c.env.file{SRC}.count", "1")
        self.assertMetric(s, f"stats.timers.cfg.t.env.file{SRC}.upper_50", "2.000000")
        end = s.sync()
        self.assertNoLine(s, r"stats\.timers\.\S+\.upper_90 .*", until=end)
        self.stop_ok(s)

    def test_precedence_flag_over_env_over_file(self):
        path = self.write("cstatsd.toml", self.TOML)
        env = clean_env(GSD_NAMESPACE="fromenv", GSD_DEFAULT_TAGS="env:env")
        s = self.start(["--config-path", path, "--namespace", "fromflag"], env=env)
        # namespace: flag wins; default-tags: environment beats the file; the rest from the file.
        self.check_settings(s, namespace="fromflag", tag="env.env")
        self.stop_ok(s)

    def test_config_path_from_environment(self):
        path = self.write("cstatsd.toml", self.TOML)
        s = self.start([], env=clean_env(GSD_CONFIG_PATH=path))
        self.check_settings(s)
        self.stop_ok(s)

    def test_example_configs_load(self):
        # examples/configs: stdout backend, env:example tag, percentiles 90 and 99, heartbeat,
        # sum-squares disabled. Only the address and the interval are overridden.
        for name in ("cstatsd.toml", "cstatsd.yaml", "cstatsd.json"):
            with self.subTest(config=name):
                s = self.start(["--config-path", os.path.join(EXAMPLES, name),
                                "--metrics-addr", "127.0.0.1:0", "--flush-interval", "200ms",
                                "--hostname", "testhost"], env=clean_env())
                s.send("t:1|ms\nt:2|ms")
                tags = f"env.example{SRC}"
                self.assertMetric(s, f"stats.timers.t.{tags}.upper_90", "2.000000")
                self.assertMetric(s, f"stats.timers.t.{tags}.upper_99", "2.000000")
                s.wait_for(r"stats\.gauge\.statsd\.heartbeat\.commit\.\S+\.env\.example\."
                           r"host\.testhost\.version\.\S+\.s\.testhost 1\.000000 \d+")
                end = s.sync()
                self.assertNoLine(s, r"stats\.timers\.\S+\.sum_squares(_\d+)? .*", until=end)
                self.stop_ok(s)


class ConfigErrorTest(ConfigTestCase):
    def assertStartupError(self, args, *words, env=None):
        """The binary exits non-zero at once, and stderr names every word."""
        out = self.run_binary(args, env=env or clean_env())
        self.assertNotEqual(out.returncode, 0, f"stdout: {out.stdout}\nstderr: {out.stderr}")
        for word in words:
            self.assertIn(word, out.stderr)
        return out

    def test_invalid_flush_interval(self):
        self.assertStartupError(["--backends", "stdout", "--flush-interval", "5x"],
                                "flush-interval")

    def test_unknown_backend(self):
        self.assertStartupError(["--backends", "nope", "--metrics-addr", "127.0.0.1:0"],
                                "backends", "nope")

    def test_invalid_value_in_environment(self):
        self.assertStartupError([], "flush-interval",
                                env=clean_env(GSD_BACKENDS="stdout", GSD_FLUSH_INTERVAL="soon"))

    def test_invalid_value_in_file_names_key_and_file(self):
        path = self.write("bad.toml", 'backends = ["stdout"]\nflush-interval = "abc"\n')
        self.assertStartupError(["--config-path", path], "flush-interval", "bad.toml")

    def test_unparsable_file(self):
        path = self.write("broken.toml", 'backends = ["stdout"\nflush-interval = \n')
        self.assertStartupError(["--config-path", path], "broken.toml")

    def test_missing_file(self):
        path = os.path.join(self.dir, "nowhere.toml")
        self.assertStartupError(["--config-path", path], "nowhere.toml")

    def test_bad_percent_thresholds(self):
        for value in ("0", "101", "-100", "abc"):
            with self.subTest(threshold=value):
                self.assertStartupError(["--backends", "stdout", "--metrics-addr", "127.0.0.1:0",
                                         "--percent-threshold", value], "percent-threshold")

    def test_unknown_flag(self):
        self.assertStartupError(["--no-such-flag", "1"], "no-such-flag")

    def test_bad_server_mode(self):
        self.assertStartupError(["--backends", "stdout", "--server-mode", "both"], "server-mode")

    def test_bad_metrics_addr(self):
        self.assertStartupError(["--backends", "stdout", "--metrics-addr", "nonsense"],
                                "metrics-addr")

    def test_every_problem_is_listed(self):
        self.assertStartupError(["--flush-interval", "5x", "--percent-threshold", "0",
                                 "--statser-type", "loud"],
                                "flush-interval", "percent-threshold", "statser-type")


class HelpAndVersionTest(ServerTestCase):
    def test_help(self):
        out = self.run_binary(["--help"], env=clean_env())
        self.assertEqual(out.returncode, 0, out.stderr)
        for option in ("--backends", "--metrics-addr", "--flush-interval", "--percent-threshold",
                       "--default-tags", "--statser-type", "--config-path", "--version",
                       "--help", "bad-lines-per-minute"):
            self.assertIn(option, out.stdout)

    def test_help_ignores_broken_settings(self):
        out = self.run_binary(["--help"], env=clean_env(GSD_FLUSH_INTERVAL="5x"))
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("--metrics-addr", out.stdout)

    def test_version(self):
        out = self.run_binary(["--version"], env=clean_env())
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, r"^Version: \S+ - Commit: \S+ - Date: \S+")

    # gostatsd prints "Version: ... - Date: ...\n"; the shell prompt must not follow on the line.
    def test_version_ends_with_newline(self):
        out = self.run_binary(["--version"], env=clean_env())
        self.assertTrue(out.stdout.endswith("\n"), repr(out.stdout))


if __name__ == "__main__":
    harness.main()
