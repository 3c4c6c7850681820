"""Real statsd clients nobody here wrote (issue 17 item 5, docs/protocol.md): npm's hot-shots,
Debian's python3-statsd (Etsy statsd's client) and python3-aiodogstatsd call their own APIs
against cstatsd with the stdout backend, and every call arrives with the right value.

The clients come from where users get them: hot-shots (pinned to HOT_SHOTS) is installed by npm
into a directory of the build tree (CSTATSD_REAL_CLIENTS_DIR, set by CMake; never globally),
the Python modules and node/npm from Debian through scripts/install-deps.sh (deps.py). The
clients run as their own processes (node, and Debian's /usr/bin/python3, which has the Debian
modules). Their random sampling is pinned (random() is 0), so a call with a sample rate is always
sent with its `|@rate`. Each server flushes only at shutdown (flush-interval 1h), after the client
has exited, so every number printed is the total of one flush.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import deps  # noqa: E402
import harness  # noqa: E402
from fake_k8s import FakeK8s, make_pod, write_kubeconfig  # noqa: E402

HOT_SHOTS = "18.0.0"
CLIENTS_DIR = os.environ.get("CSTATSD_REAL_CLIENTS_DIR") or os.path.join(
    harness.SOURCE_DIR, "build", "tests", "e2e", "real_clients")
DEBIAN_PYTHON = "/usr/bin/python3"
DIST = "/usr/lib/python3/dist-packages"
SRC = ".s.127.0.0.1"
TIMER_STATS = ("lower", "upper", "count", "mean", "median", "sum")


def ensure_node():
    deps.ensure({"/usr/bin/node": "nodejs"})
    if shutil.which("npm") is None:  # nodesource's nodejs bundles npm; Debian's comes apart
        deps.ensure({"/usr/bin/npm": "npm"})


def ensure_hot_shots():
    """Installs hot-shots HOT_SHOTS into CLIENTS_DIR with npm, unless it is there already."""
    ensure_node()
    package = os.path.join(CLIENTS_DIR, "node_modules", "hot-shots", "package.json")
    if os.path.exists(package):
        with open(package) as f:
            if json.load(f).get("version") == HOT_SHOTS:
                return
    os.makedirs(CLIENTS_DIR, exist_ok=True)
    r = subprocess.run([shutil.which("npm"), "install", "--no-audit", "--no-fund", "--no-save",
                        "--prefix", CLIENTS_DIR, f"hot-shots@{HOT_SHOTS}"],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0 or not os.path.exists(package):
        raise AssertionError(f"npm install hot-shots@{HOT_SHOTS} into {CLIENTS_DIR} failed "
                             f"(exit {r.returncode}):\n{r.stdout}\n{r.stderr}")


def ensure_python_module(module, package):
    deps.ensure({DEBIAN_PYTHON: "python3", os.path.join(DIST, module, "__init__.py"): package})


def run_client(argv, what):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError(f"{what} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r


def hot_shots(port, calls, **options):
    """Makes `calls` ([method, arg, ...]) on one hot-shots client sending to 127.0.0.1:port."""
    spec = {"options": dict({"host": "127.0.0.1", "port": port}, **options), "calls": calls}
    run_client(["node", os.path.join(HERE, "clients", "hot_shots_client.js"), CLIENTS_DIR,
                json.dumps(spec)], "hot-shots")


def python_client(code, port):
    """Runs `code` with Debian's python3: PORT is the server's port; random() is pinned to 0."""
    prelude = f"import random\nrandom.random = lambda: 0.0\nPORT = {port}\n"
    run_client([DEBIAN_PYTHON, "-c", prelude + code], "python client")


def now():
    return int(time.time())


class RealClientsTest(harness.ServerTestCase):
    def tmp(self):
        d = tempfile.TemporaryDirectory()
        self.addCleanup(d.cleanup)
        return d.name

    def start_server(self, **flags):
        return self.start_standard(flush_interval="1h", **flags)

    def totals(self, server):
        """Stops the server (its one flush) and returns {name: value} of its stdout lines."""
        self.stop_ok(server)
        out = {}
        for line in server.lines():
            m = re.fullmatch(r"(\S+) (\S+) (\d+)", line)
            if m:
                self.assertNotIn(m.group(1), out, f"{m.group(1)} printed twice")
                out[m.group(1)] = float(m.group(2))
        return out

    def assertValues(self, got, expected):
        """expected: {name: value}; each must have been printed with that value."""
        for name, value in expected.items():
            self.assertIn(name, got, f"{name} not printed; printed: {sorted(got)}")
            self.assertAlmostEqual(got[name], value, places=5, msg=name)

    def assertTimer(self, got, name, values, weight=None):
        """The timer sub-metrics of `values` (each counting 1/rate when `weight` is given)."""
        s = sorted(values)
        count = len(s) if weight is None else weight
        expected = {"lower": s[0], "upper": s[-1], "count": count, "sum": sum(s),
                    "mean": sum(s) / len(s)}
        self.assertValues(got, {f"stats.timers.{name}{SRC}.{k}": v for k, v in expected.items()})

    def assertEvent(self, server, title, text, tags, alert="info"):
        pattern = (r"event: \{Title:" + re.escape(title) + r" Text:" + re.escape(text) +
                   r" DateHappened:\d+ .*Tags:\[" + re.escape(" ".join(tags)) + r"\] Source:"
                   r"127\.0\.0\.1 .*AlertType:" + alert + r"\}")
        self.assertTrue(any(re.fullmatch(pattern, l) for l in server.lines()),
                        f"no event line matching {pattern}\n" + server.describe())

    # ----- npm's hot-shots -----

    def test_hot_shots_statsd_calls(self):
        """Counters (increment, decrement, a value, a sample rate), gauges, timing, histogram,
        set and unique, tags (array and object), the client's prefix, suffix and global tags,
        an event with its options."""
        ensure_hot_shots()
        server = self.start_server()
        hot_shots(server.port, [
            ["increment", "inc"],
            ["increment", "inc", 4],
            ["increment", "sampled", 3, 0.25],
            ["decrement", "dec"],
            ["decrement", "dec", 5],
            ["gauge", "g", 7.5],
            ["gauge", "g", 2.25],
            ["gauge", "neg", -4],
            ["timing", "t", 12],
            ["timing", "t", 30],
            ["timing", "t", 3, 0.5],
            ["histogram", "h", 3],
            ["histogram", "h", 9],
            ["set", "users", "u1"],
            ["unique", "users", "u2"],
            ["set", "users", "u1"],
            ["increment", "tagged", 2, ["team:a", "env:prod"]],
            ["increment", "tagged", 1, {"team": "a", "env": "prod"}],
            ["increment", ["multi.a", "multi.b"], 6],
            ["event", "deploy", "done", {"alert_type": "success", "priority": "low"},
             ["env:prod"]],
        ])
        hot_shots(server.port, [["increment", "c", 1, ["k:v"]], ["gauge", "g", 1]],
                  prefix="app.", suffix=".x", globalTags={"region": "eu"})
        got = self.totals(server)
        self.assertValues(got, {
            f"stats.counter.inc{SRC}.count": 5,
            f"stats.counter.sampled{SRC}.count": 12,  # 3 at 0.25
            f"stats.counter.dec{SRC}.count": -6,
            f"stats.gauge.g{SRC}": 2.25,
            f"stats.gauge.neg{SRC}": -4,
            f"stats.set.users{SRC}": 2,
            f"stats.counter.tagged.env.prod.team.a{SRC}.count": 3,
            f"stats.counter.multi.a{SRC}.count": 6,
            f"stats.counter.multi.b{SRC}.count": 6,
            f"stats.counter.app.c.x.k.v.region.eu{SRC}.count": 1,
            f"stats.gauge.app.g.x.region.eu{SRC}": 1,
        })
        self.assertTimer(got, "t", [12, 30, 3], weight=4)  # 3 at 0.5 counts twice
        self.assertTimer(got, "h", [3, 9])
        self.assertEvent(server, "deploy", "done", ["env:prod"], alert="success")

    def test_hot_shots_distribution(self):
        """distribution (DogStatsD `d`): aggregated as a timer (docs/aggregation.md)."""
        ensure_hot_shots()
        server = self.start_server()
        hot_shots(server.port, [
            ["distribution", "dist", 9],
            ["distribution", "dist", 1],
            ["distribution", "dist", 5, 0.5],
            ["distribution", "dist_tagged", 2.5, ["team:a"]],
        ])
        got = self.totals(server)
        self.assertTimer(got, "dist", [9, 1, 5], weight=4)
        self.assertTimer(got, "dist_tagged.team.a", [2.5])

    def test_hot_shots_check(self):
        """check (a DogStatsD service check) with each status, a message, a hostname, a date and
        tags: one stdout line each (docs/backends.md)."""
        ensure_hot_shots()
        server = self.start_server()
        when = now() - 30
        hot_shots(server.port, [
            ["check", "svc.ok", 0],
            ["check", "svc.warn", 1, {"message": "slow"}, ["env:prod"]],
            ["check", "svc.crit", 2, {"hostname": "db-1", "date_happened": {"$date": when},
                                      "message": "down | for good"}, ["env:prod", "team:a"]],
            ["check", "svc.unknown", 3],
        ])
        self.stop_ok(server)
        checks = [l for l in server.lines() if l.startswith("service_check: ")]
        self.assertEqual(len(checks), 4, "\n".join(checks) + "\n" + server.describe())

        def check(name):
            found = [c for c in checks if f"Name:{name} " in c]
            self.assertEqual(len(found), 1, f"{name}: {checks}")
            return found[0]

        self.assertRegex(check("svc.ok"), r"Status:ok .*Tags:\[\] Source:127\.0\.0\.1 ")
        self.assertRegex(check("svc.warn"),
                         r"Status:warning .*Tags:\[env:prod\] .*Message:slow\}$")
        self.assertRegex(check("svc.crit"),
                         rf"Status:critical Timestamp:{when} Tags:\[env:prod team:a\] "
                         r"Source:db-1 .*Message:down \| for good\}$")
        self.assertRegex(check("svc.unknown"), r"Status:unknown ")

    def test_hot_shots_timestamps(self):
        """A gauge and a counter with a timestamp (DogStatsD `|T`) arrive with their values."""
        ensure_hot_shots()
        server = self.start_server()
        when = now() - 30
        hot_shots(server.port, [
            ["gauge", "ts_g", 5, {"timestamp": {"$date": when}}],
            ["increment", "ts_c", 3, {"timestamp": {"$date": when}}],
            ["increment", "ts_c", 4, {"timestamp": {"$date": when}}],
        ], datadog=True, includeDatadogTelemetry=False, originDetection=False)
        got = self.totals(server)
        self.assertValues(got, {f"stats.gauge.ts_g{SRC}": 5, f"stats.counter.ts_c{SRC}.count": 7})

    def test_hot_shots_telegraf(self):
        """telegraf: true puts the tags in the name (`name,k=v:1|c`): they arrive as tags."""
        ensure_hot_shots()
        server = self.start_server()
        hot_shots(server.port, [
            ["increment", "tg", 2, ["team:a", "env:prod"]],
            ["increment", "tg", 1, {"env": "prod", "team": "a"}],
            ["gauge", "tg_g", 3, ["k:v"]],
            ["timing", "tg_t", 5, ["k:v"]],
            ["set", "tg_s", "m1", ["k:v"]],
            ["increment", "tg_plain"],
        ], telegraf=True)
        hot_shots(server.port, [["increment", "tg_global", 1, ["k:v"]]], telegraf=True,
                  globalTags={"region": "eu"})
        got = self.totals(server)
        self.assertValues(got, {
            f"stats.counter.tg.env.prod.team.a{SRC}.count": 3,
            f"stats.gauge.tg_g.k.v{SRC}": 3,
            f"stats.set.tg_s.k.v{SRC}": 1,
            f"stats.counter.tg_plain{SRC}.count": 1,
            f"stats.counter.tg_global.k.v.region.eu{SRC}.count": 1,
        })
        self.assertTimer(got, "tg_t.k.v", [5])

    def test_hot_shots_gauge_delta(self):
        """gaugeDelta (`+N` / `-N`) with gauge-deltas on: 10, +5, -3 give 12; a delta on a gauge
        not seen yet starts from 0."""
        ensure_hot_shots()
        server = self.start_server(gauge_deltas=True)
        hot_shots(server.port, [
            ["gauge", "gd", 10],
            ["gaugeDelta", "gd", 5],
            ["gaugeDelta", "gd", -3],
            ["gaugeDelta", "gd_new", -4],
            ["gaugeDelta", "gd_new", 1.5],
        ])
        got = self.totals(server)
        self.assertValues(got, {f"stats.gauge.gd{SRC}": 12, f"stats.gauge.gd_new{SRC}": -2.5})

    def test_hot_shots_float_counters(self):
        """A fractional increment keeps its fraction with float-counters on (0.25 + 0.25 + 1 at
        rate 0.5 give 2.5)."""
        ensure_hot_shots()
        server = self.start_server(float_counters=True)
        hot_shots(server.port, [
            ["increment", "f", 0.25],
            ["increment", "f", 0.25],
            ["increment", "f", 1, 0.5],
            ["decrement", "fd", 0.75],
        ])
        got = self.totals(server)
        self.assertValues(got, {f"stats.counter.f{SRC}.count": 2.5,
                                f"stats.counter.fd{SRC}.count": -0.75})

    def test_hot_shots_origin_detection(self):
        """hot-shots in DogStatsD mode with a container id (`c:<id>`, the form it sends when it
        reads its id from /proc/self/cgroup) and the k8s cloud provider: the container's pod
        tags the metrics, whatever the sender's IP (docs/cloud-providers.md#origin-detection)."""
        ensure_hot_shots()
        container = "e" * 64
        k8s = FakeK8s(token="t")
        self.addCleanup(k8s.close)
        k8s.add_pod(make_pod("api-1", "10.9.0.7", namespace="shop", labels={"app": "api"},
                             container_ids=[f"containerd://{container}"]))
        kubeconfig = write_kubeconfig(os.path.join(self.tmp(), "kubeconfig"), k8s.url, token="t")
        env = {k: v for k, v in os.environ.items() if not k.startswith("GSD_")}
        env.update(GSD_K8S_KUBECONFIG_PATH=kubeconfig, GSD_K8S_LABEL_TAG_REGEX="^app$")
        server = self.start(harness.standard_flags(flush_interval="1h", cloud_provider="k8s"),
                            env=env)
        hot_shots(server.port, [
            ["increment", "od", 2, ["k:v"]],
            ["gauge", "od_g", 4],
            ["distribution", "od_d", 8],
        ], datadog=True, containerID=container, includeDatadogTelemetry=False)
        hot_shots(server.port, [["increment", "od_other"]], datadog=True,
                  containerID="f" * 64, includeDatadogTelemetry=False)
        pod = ".s.shop/api-1"
        got = self.totals(server)
        self.assertValues(got, {
            f"stats.counter.od.app.api.k.v{pod}.count": 2,
            f"stats.gauge.od_g.app.api{pod}": 4,
            f"stats.timers.od_d.app.api{pod}.count": 1,
            f"stats.counter.od_other{SRC}.count": 1,  # an unknown container: the sender's IP
        })

    # ----- Debian's python3-statsd (Etsy statsd's client) -----

    def test_python_statsd_calls(self):
        """incr, decr, gauge (absolute, and negative: python-statsd sends `0` then the value),
        timing (a number and a timedelta), the timer decorator's value, set, a sample rate, a
        prefix, and a pipeline (one datagram of several lines)."""
        ensure_python_module("statsd", "python3-statsd")
        server = self.start_server()
        python_client("""
import datetime, statsd
c = statsd.StatsClient("127.0.0.1", PORT)
c.incr("inc")
c.incr("inc", 4)
c.incr("sampled", 3, rate=0.5)
c.decr("dec", 2)
c.gauge("g", 7)
c.gauge("g", 3.5)
c.gauge("neg", -3)
c.timing("t", 12)
c.timing("t", datetime.timedelta(milliseconds=30))
c.set("users", "u1")
c.set("users", "u2")
p = statsd.StatsClient("127.0.0.1", PORT, prefix="app")
p.incr("prefixed")
with c.pipeline() as pipe:
    pipe.incr("piped", 2)
    pipe.gauge("piped_g", 9)
    pipe.timing("piped_t", 5)
""", server.port)
        got = self.totals(server)
        self.assertValues(got, {
            f"stats.counter.inc{SRC}.count": 5,
            f"stats.counter.sampled{SRC}.count": 6,
            f"stats.counter.dec{SRC}.count": -2,
            f"stats.gauge.g{SRC}": 3.5,
            f"stats.gauge.neg{SRC}": -3,
            f"stats.set.users{SRC}": 2,
            f"stats.counter.app.prefixed{SRC}.count": 1,
            f"stats.counter.piped{SRC}.count": 2,
            f"stats.gauge.piped_g{SRC}": 9,
        })
        self.assertTimer(got, "t", [12, 30])
        self.assertTimer(got, "piped_t", [5])

    def test_python_statsd_gauge_deltas(self):
        """With gauge-deltas on: gauge(delta=True) adjusts the gauge, within a pipeline datagram
        and across datagrams; an absolute negative gauge (sent as `0` then `-N`) is -N."""
        ensure_python_module("statsd", "python3-statsd")
        server = self.start_server(gauge_deltas=True)
        python_client("""
import statsd
c = statsd.StatsClient("127.0.0.1", PORT)
c.gauge("g", 10)
c.gauge("g", 5, delta=True)
c.gauge("g", -3, delta=True)
c.gauge("neg", 4)
c.gauge("neg", -3)
c.gauge("fresh", -2, delta=True)
with c.pipeline() as pipe:
    pipe.gauge("piped", 1)
    pipe.gauge("piped", 2, delta=True)
    pipe.gauge("piped", 0.5, delta=True)
""", server.port)
        got = self.totals(server)
        self.assertValues(got, {
            f"stats.gauge.g{SRC}": 12,
            f"stats.gauge.neg{SRC}": -3,
            f"stats.gauge.fresh{SRC}": -2,
            f"stats.gauge.piped{SRC}": 3.5,
        })

    # ----- Debian's python3-aiodogstatsd -----

    def test_aiodogstatsd_calls(self):
        """increment, decrement, gauge, timing, histogram with tags (constant and per call), a
        namespace and a sample rate."""
        ensure_python_module("aiodogstatsd", "python3-aiodogstatsd")
        server = self.start_server()
        python_client("""
import asyncio, aiodogstatsd
aiodogstatsd.client.random = lambda: 0.0
async def main():
    async with aiodogstatsd.Client(host="127.0.0.1", port=PORT, namespace="aio",
                                   constant_tags={"svc": "x"}) as c:
        c.increment("inc")
        c.increment("inc", value=4, tags={"k": "v"})
        c.increment("sampled", value=2, sample_rate=0.5)
        c.decrement("dec", value=3)
        c.gauge("g", value=11)
        c.timing("t", value=40)
        c.timing("t", value=20)
        c.histogram("h", value=6)
asyncio.run(main())
""", server.port)
        got = self.totals(server)
        self.assertValues(got, {
            f"stats.counter.aio.inc.svc.x{SRC}.count": 1,
            f"stats.counter.aio.inc.k.v.svc.x{SRC}.count": 4,
            f"stats.counter.aio.sampled.svc.x{SRC}.count": 4,
            f"stats.counter.aio.dec.svc.x{SRC}.count": -3,
            f"stats.gauge.aio.g.svc.x{SRC}": 11,
        })
        self.assertTimer(got, "aio.t.svc.x", [20, 40])
        self.assertTimer(got, "aio.h.svc.x", [6])

    def test_aiodogstatsd_distribution(self):
        """distribution (DogStatsD `d`) with tags: aggregated as a timer."""
        ensure_python_module("aiodogstatsd", "python3-aiodogstatsd")
        server = self.start_server()
        python_client("""
import asyncio, aiodogstatsd
async def main():
    async with aiodogstatsd.Client(host="127.0.0.1", port=PORT) as c:
        c.distribution("d", value=3, tags={"k": "v"})
        c.distribution("d", value=8, tags={"k": "v"})
asyncio.run(main())
""", server.port)
        self.assertTimer(self.totals(server), "d.k.v", [3, 8])


if __name__ == "__main__":
    harness.main()
