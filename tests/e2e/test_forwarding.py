"""Two tiers of real cstatsd processes (issue 5, "How it is checked"; docs/http.md, docs/forwarder.md#transport, docs/forwarder.md):
a forwarder (UDP in, `server-mode = forwarder`) POSTs to an aggregator (`[http.<name>]` with
`enable-ingestion`, stdout backend), and what the aggregator prints equals what one standalone
cstatsd prints for the same datagrams: with each compression (zlib, lz4, none), with
`ignore-host`, with namespace and default-tags, and with thousands of series per request.
Invalid UTF-8 in tags, set members and events does not lose the flush.

Faults go through a small Python proxy between the tiers that answers scripted 500s/400s/503s
and passes everything else on: the aggregator down for 5 s loses nothing, 500s are retried and
delivered once, a 400 is dropped at once with fast-fail (retried without it), a spent retry
budget drops, a full request queue (max-requests = 1) drops the oldest waiting request, and
every drop is counted (`http.forwarder.dropped`, read from the forwarder's
`statser-type = logging` lines, or forwarded to the aggregator with `statser-type = internal`,
and the drop's log line). Finally the forwarder's `/deepcheck`.

The 2,000-request / 50-client ingestion load is in tests/integration/test_http.py (LoadTest).

Comparisons ignore timestamps and the two rates (`.per_second`, `.count_ps`): cstatsd divides
by the time actually elapsed since the previous flush, which differs between two processes.
"""

import http.client
import http.server
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import harness  # noqa: E402

LISTENING = r".*http server listening server={} address=127\.0\.0\.1:(\d+) .*"
WAIT = 20.0  # seconds for anything that involves flushes, POSTs and retries
LINE = re.compile(r"(\S+) (\S+) (\d+)")
RATES = (".per_second", ".count_ps")
LOCAL = ".s.127.0.0.1"
OTHER = ".s.127.0.0.2"


def free_port():
    """A loopback TCP port that nothing listens on right now (for a server started later)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return json.dumps(v)


def printed(server):
    """The stdout metric lines as {name: [values]} (timestamps dropped, rates left out) and the
    event lines, in order."""
    metrics, events = {}, []
    for line in server.lines():
        if line.startswith("event: "):
            events.append(line)
            continue
        m = LINE.fullmatch(line)
        if m and not m.group(1).endswith(RATES):
            metrics.setdefault(m.group(1), []).append(m.group(2))
    return metrics, events


def total(server, name):
    """The sum of a metric's values over every flush."""
    return sum(float(v) for v in server.values(name))


def logged_total(server, name):
    """The sum of `count name=<name> value=<v>` lines (statser-type = logging) on stderr."""
    rx = re.compile(r".*count name=" + re.escape(name) + r" value=(\S+) .*")
    return sum(float(m.group(1)) for m in map(rx.fullmatch, server.lines(0, "stderr")) if m)


def wait_until(predicate, what, describe, timeout=WAIT):
    """Polls predicate() until true (bounded); fails with `what` and describe()."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s\n{describe()}")
        time.sleep(0.05)


def get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


class FaultProxy:
    """An HTTP server on 127.0.0.1 between the forwarder and the aggregator. For each POST,
    rule(path, body) gives a status to answer at once (a fault), or None to pass the request on
    to the aggregator and answer what it answers (502 if it cannot be reached). Every request is
    recorded as (path, body, status answered)."""

    def __init__(self, target_port, rule):
        self.target_port = target_port
        self.rule = rule
        self.log = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with proxy.lock:
                    status = proxy.rule(self.path, body)
                if status is None:
                    status = proxy.pass_on(self.path, self.headers, body)
                with proxy.lock:
                    proxy.log.append((self.path, body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def pass_on(self, path, headers, body):
        c = http.client.HTTPConnection("127.0.0.1", self.target_port, timeout=10)
        try:
            keep = {k: v for k, v in headers.items()
                    if k.lower() in ("content-type", "content-encoding", "user-agent")}
            c.request("POST", path, body=body, headers=keep)
            r = c.getresponse()
            r.read()
            return r.status
        except OSError:
            return 502
        finally:
            c.close()

    def statuses(self, marker):
        """The statuses answered to the requests whose body contains `marker` (bytes)."""
        with self.lock:
            return [st for _, body, st in self.log if marker in body]

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class ForwardingTestCase(harness.ServerTestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="cstatsd-e2e-fwd-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def config(self, text):
        fd, path = tempfile.mkstemp(suffix=".toml", dir=self.dir)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return path

    def start_aggregator(self, port=0, flush_interval="1h", expvar=False, **flags):
        """The aggregator tier: ingestion on [http.ingest], stdout backend. Returns
        (server, HTTP port)."""
        path = self.config(f'http-servers = ["ingest"]\n[http.ingest]\n'
                           f'address = "127.0.0.1:{port}"\nenable-ingestion = true\n'
                           f"enable-expvar = {toml_value(expvar)}\n")
        options = dict(flush_interval=flush_interval, percent_threshold="90 99",
                       config_path=path)
        options.update(flags)
        s = self.start_standard(**options)
        _, m = s.wait_for(LISTENING.format("ingest"), stream="stderr")
        return s, int(m.group(1))

    def start_forwarder(self, api_port, http_server=False, flags=(), **transport):
        """The forwarder tier, posting to 127.0.0.1:api_port every 200 ms; `transport` keys go
        to [http-transport] (underscores for dashes). With http_server, a health-check server
        [http.health] on a free port (returned as the server's attribute health_port)."""
        keys = dict(api_endpoint=f"http://127.0.0.1:{api_port}", flush_interval="200ms")
        keys.update(transport)
        text = ""
        if http_server:
            text += 'http-servers = ["health"]\n'
        text += "[http-transport]\n" + "".join(
            f"{k.replace('_', '-')} = {toml_value(v)}\n" for k, v in keys.items())
        if http_server:
            text += '[http.health]\naddress = "127.0.0.1:0"\nenable-healthcheck = true\n'
        args = ["--server-mode", "forwarder", "--config-path", self.config(text),
                "--metrics-addr", "127.0.0.1:0", "--statser-type", "null"] + list(flags)
        s = self.start(args)
        if http_server:
            _, m = s.wait_for(LISTENING.format("health"), stream="stderr")
            s.health_port = int(m.group(1))
        return s

    def run_tiers(self, transport, tier_flags=(), rounds_=None):
        # Standalone and aggregator flush only at shutdown: their numbers are totals.
        alone = self.start_standard(flush_interval="1h", percent_threshold="90 99",
                                    **dict(tier_flags))
        agg, port = self.start_aggregator()
        fwd = self.start_forwarder(port, flags=harness.flags(**dict(tier_flags)), **transport)
        for datagrams in rounds_ or rounds():
            for d, source in datagrams:
                alone.send(d, source=source)
                fwd.send(d, source=source)
            time.sleep(0.4)  # the forwarder posts in between
        # Forwarder first (its SIGTERM sends the final flush and waits for the answer), then
        # the aggregator, whose shutdown flush has everything it accepted.
        self.stop_ok(fwd)
        self.stop_ok(agg)
        self.stop_ok(alone)
        want, want_events = printed(alone)
        got, got_events = printed(agg)
        self.assertGreater(len(want), 40 if rounds_ is None else 5, want)
        self.assertEqual(got, want, "aggregator vs standalone\n" + agg.describe())
        self.assertEqual(got_events, want_events)
        return want, want_events, fwd

    def proxy(self, target_port, rule):
        p = FaultProxy(target_port, rule)
        self.addCleanup(p.stop)
        return p


# Sent to both the standalone server and the forwarder, in rounds a few forwarder flushes apart
# (so the forwarder posts several requests), from two client addresses (two sources). Every
# value is exactly representable and every sum is exact, so the order in which the aggregator
# adds them cannot change a digit.
def rounds():
    out = []
    for r in range(4):
        local = [
            f"e2e.c:{r + 1}|c|#env:prod,role:web",
            "e2e.c:3|c|@0.5|#env:prod,role:web",
            "e2e.rate:1|c|@0.3",  # 1/0.3 truncated per line: 3 each, not 10/3 summed
            "e2e.c:1|c|#host:db-1",  # an ordinary tag without ignore-host
            f"e2e.p:{r}:{r + 1}:{r + 2}|ms",  # packed: 3 values, sample count 1 (docs/aggregation.md#receive)
            f"e2e.g:{r * 2.5}|g|#env:prod",
            f"e2e.t:{10 * (r + 1)}|ms|#env:prod",
            f"e2e.t:{2.5 + r}|ms|#env:prod",
            f"e2e.t:{250 - r}|ms|@0.5|#env:prod",
            f"e2e.h:{r}|h",
            f"e2e.s:user{r % 3}|s|#env:prod",
            f"e2e.s:user{r + 10}|s|#env:prod",
        ]
        other = [
            f"e2e.c:{10 * r}|c|#env:prod,role:web",
            f"e2e.g:{100 - r}|g|#env:prod",
            f"e2e.t:{r + 0.25}|ms|#env:prod",
            "e2e.s:shared|s|#env:prod",
        ]
        datagrams = [("\n".join(local[:6]), None), ("\n".join(local[6:]), None),
                     ("\n".join(other), "127.0.0.2")]
        if r == 1:
            datagrams.append(("_e{6,9}:deploy|version 2|d:1700000000|h:ignored|k:deploys|p:low"
                              "|s:ci|t:success|#env:prod", None))
        out.append(datagrams)
    return out


class EquivalenceTest(ForwardingTestCase):
    """forwarder -> aggregator prints what one standalone server prints."""

    def check_values(self, m, events):
        """A few absolute values, so that two equally wrong outputs cannot pass."""
        c = f"stats.counter.e2e.c.env.prod.role.web{LOCAL}.count"
        self.assertEqual(m[c], [str(1 + 2 + 3 + 4 + 4 * 6)])
        self.assertEqual(m[f"stats.counter.e2e.c.env.prod.role.web{OTHER}.count"], ["60"])
        self.assertEqual(m[f"stats.counter.e2e.rate{LOCAL}.count"], ["12"])
        self.assertEqual(m[f"stats.counter.e2e.c.host.db-1{LOCAL}.count"], ["4"])
        self.assertEqual(m[f"stats.gauge.e2e.g.env.prod{LOCAL}"], ["7.500000"])
        self.assertEqual(m[f"stats.gauge.e2e.g.env.prod{OTHER}"], ["97.000000"])
        t = f"stats.timers.e2e.t.env.prod{LOCAL}"
        values = sorted([10, 20, 30, 40, 2.5, 3.5, 4.5, 5.5, 250, 249, 248, 247])
        self.assertEqual(m[t + ".count"], ["16"])  # 8 + 4 values at @0.5
        self.assertEqual(m[t + ".sum"], [f"{sum(values):.6f}"])
        self.assertEqual(m[t + ".lower"], ["2.500000"])
        self.assertEqual(m[t + ".upper"], ["250.000000"])
        self.assertEqual(m[t + ".mean"], [f"{sum(values) / len(values):.6f}"])
        self.assertEqual(m[t + ".median"], [f"{(values[5] + values[6]) / 2:.6f}"])
        self.assertEqual(m[t + ".upper_90"], ["249.000000"])  # k = round(0.9 * 12) = 11
        self.assertEqual(m[t + ".upper_99"], ["250.000000"])
        self.assertEqual(m[t + ".mean_90"], [f"{sum(values[:11]) / 11:.6f}"])
        self.assertEqual(m[f"stats.timers.e2e.t.env.prod{OTHER}.count"], ["4"])
        self.assertEqual(m[f"stats.timers.e2e.h{LOCAL}.upper"], ["3.000000"])
        self.assertEqual(m[f"stats.timers.e2e.p{LOCAL}.count"], ["4"])
        self.assertEqual(m[f"stats.timers.e2e.p{LOCAL}.sum"], ["30.000000"])
        self.assertEqual(m[f"stats.set.e2e.s.env.prod{LOCAL}"], ["7"])
        self.assertEqual(m[f"stats.set.e2e.s.env.prod{OTHER}"], ["1"])
        self.assertEqual(len(events), 1, events)
        self.assertIn("Title:deploy Text:version 2 DateHappened:1700000000 "
                      "AggregationKey:deploys SourceTypeName:ci Tags:[env:prod", events[0])
        self.assertIn("Source:127.0.0.1 Priority:low AlertType:success", events[0])

    def test_zlib(self):
        m, events, _ = self.run_tiers(dict(compression_type="zlib"))
        self.check_values(m, events)

    def test_lz4(self):
        m, events, _ = self.run_tiers(dict(compression_type="lz4"))
        self.check_values(m, events)

    def test_no_compression(self):
        m, events, _ = self.run_tiers(dict(compress=False))
        self.check_values(m, events)

    def test_namespace_and_default_tags_applied_by_the_forwarder(self):
        # The forwarder's parser and tag handler apply namespace and default-tags; the
        # aggregator (neither set) adds nothing (docs/http.md#ingestion).
        m, events, _ = self.run_tiers(dict(compression_type="zlib"),
                                      tier_flags={"namespace": "ns", "default_tags": "dc:eu"})
        self.assertEqual(m[f"stats.counter.ns.e2e.c.dc.eu.env.prod.role.web{LOCAL}.count"],
                         ["34"])
        self.assertEqual(m[f"stats.set.ns.e2e.s.dc.eu.env.prod{LOCAL}"], ["7"])
        self.assertIn("Tags:[env:prod dc:eu]", events[0])

    def test_dynamic_headers(self):
        # Series are split into one request per env:/role: combination (docs/forwarder.md#what-is-sent); the
        # aggregator's totals do not change.
        m, events, _ = self.run_tiers(dict(compression_type="lz4",
                                           dynamic_headers=["env", "role"]))
        self.check_values(m, events)

    def test_ignore_host(self):
        # docs/protocol.md#source: with ignore-host the first host: tag is the source (removed from the
        # tags), later ones stay tags, none gives no source. The forwarder decides the source
        # and sends it as Hostname; the aggregator keeps it (its own ignore-host is off).
        datagrams = [[
            ("ih.c:1|c|#host:web-1,env:prod\nih.c:2|c|#env:prod,host:web-1\nih.c:4|c|#env:prod",
             None),
            ("ih.t:5|ms|#host:web-2,host:extra\nih.g:3|g|#host:web-2\nih.s:a|s|#host:web-1", None),
        ], [
            ("ih.c:8|c|#host:web-1,env:prod\nih.t:7|ms|#host:web-2,host:extra\nih.g:4|g|"
             "#host:web-2\nih.s:b|s|#host:web-1", "127.0.0.2"),
        ]]
        m, _, _ = self.run_tiers(dict(compression_type="zlib"),
                                 tier_flags={"ignore_host": True}, rounds_=datagrams)
        self.assertEqual(m["stats.counter.ih.c.env.prod.s.web-1.count"], ["11"])
        self.assertEqual(m["stats.counter.ih.c.env.prod.count"], ["4"])
        self.assertEqual(m["stats.timers.ih.t.host.extra.s.web-2.count"], ["2"])
        self.assertEqual(m["stats.gauge.ih.g.s.web-2"], ["4.000000"])
        self.assertEqual(m["stats.set.ih.s.s.web-1"], ["2"])
        self.assertFalse([k for k in m if "127.0.0" in k], sorted(m))


class InvalidUtf8Test(ForwardingTestCase):
    def test_invalid_utf8_loses_nothing(self):
        # Statsd lines are bytes; protobuf strings must be UTF-8, and an aggregator rejects a
        # message with an invalid one (400, failure:unmarshal). The forwarder replaces invalid
        # bytes with U+FFFD, so one bad client cannot lose everyone's flush (it did: bug fixed
        # in src/forward/raw_message.cc).
        agg, port = self.start_aggregator()
        fwd = self.start_forwarder(port, compression_type="lz4",
                                   flags=["--statser-type", "logging", "--flush-interval",
                                          "200ms", "--disable-internal-events"])
        for d in (b"good.c:1|c", b"tagged.c:1|c|#k:\xc3", b"tagged.c:2|c|#k:\xc4",
                  b"set.s:\xfe\xff|s|#ok:1", b"_e{2,3}:t\xff|x\xc3y|#env:\xc3", b"good.c:2|c"):
            fwd.send(d)
        time.sleep(0.5)
        self.stop_ok(fwd)
        self.stop_ok(agg)
        r = "\ufffd"
        m, events = printed(agg)
        self.assertEqual(m.get(f"stats.counter.good.c{LOCAL}.count"), ["3"], agg.describe())
        self.assertEqual(m.get(f"stats.counter.tagged.c.k.{r}{LOCAL}.count"), ["3"])
        self.assertEqual(m.get(f"stats.set.set.s.ok.1{LOCAL}"), ["1"])
        self.assertEqual(len(events), 1, events)
        self.assertIn(f"Title:t{r} Text:x{r}y", events[0])
        self.assertIn(f"Tags:[env:{r}]", events[0])
        self.assertEqual(logged_total(fwd, "statsd.http.forwarder.dropped"), 0)
        self.assertFalse([l for l in fwd.lines(0, "stderr") if "libprotobuf" in l or
                          "failed to send" in l], fwd.describe())
        self.assertFalse([l for l in agg.lines(0, "stderr") if "ingestion failed" in l],
                         agg.describe())


class VolumeTest(ForwardingTestCase):
    """Many series in each request (thousands of map entries, several requests)."""

    def many(self):
        out = []
        for r in range(3):
            lines = []
            for i in range(1200):
                lines.append(f"vol.c{i}:{i % 7 + 1}|c|#shard:{i % 4}")
                if i % 2 == 0:
                    lines.append(f"vol.t{i % 300}:{(i * r) % 97 + 0.5}|ms|#r:x")
                if i % 3 == 0:
                    lines.append(f"vol.g{i % 200}:{i + r}|g")
                if i % 5 == 0:
                    lines.append(f"vol.s{i % 50}:m{i + 1000 * r}|s")
            # Datagrams of 25 lines (about 600 bytes).
            out.append([("\n".join(lines[k:k + 25]), None) for k in range(0, len(lines), 25)])
        return out

    def test_lz4_many_series(self):
        m, _, _ = self.run_tiers(dict(compression_type="lz4"), rounds_=self.many())
        self.assertEqual(len([k for k in m if k.startswith("stats.counter.vol.c")]), 1200)
        self.assertEqual(m[f"stats.counter.vol.c6.shard.2{LOCAL}.count"], ["21"])
        self.assertEqual(m[f"stats.timers.vol.t0.r.x{LOCAL}.count"], ["12"])
        self.assertEqual(m[f"stats.set.vol.s0{LOCAL}"], ["64"])  # m0, m50, ... m3150

    def test_zlib_many_series(self):
        m, _, _ = self.run_tiers(dict(compression_type="zlib", compression_level=1),
                                 rounds_=self.many())
        self.assertEqual(len([k for k in m if k.startswith("stats.gauge.vol.g")]), 200)


class FaultTest(ForwardingTestCase):
    def test_aggregator_down_for_5s_loses_nothing(self):
        port = free_port()
        fwd = self.start_forwarder(port, max_request_elapsed_time="30s",
                                   flags=["--statser-type", "internal", "--hostname", "fw",
                                          "--flush-interval", "1s"])
        sent = 0
        t0 = time.monotonic()
        for i in range(1, 11):  # several requests queue up, each retrying on its own
            fwd.send(f"down.c:{i}|c\ndown.t:{i}|ms")
            sent += i
            time.sleep(0.1)
        fwd.wait_for(r".*failed to send metrics, retrying.*", stream="stderr", timeout=WAIT)
        time.sleep(max(0.0, 5 - (time.monotonic() - t0)))
        agg, _ = self.start_aggregator(port=port, flush_interval="200ms")
        name = f"stats.counter.down.c{LOCAL}.count"
        wait_until(lambda: total(agg, name) >= sent, f"{name} totals {sent}", agg.describe,
                   timeout=40)
        retried = "stats.counter.statsd.http.forwarder.retried.host.fw.s.fw.count"
        wait_until(lambda: total(agg, retried) >= 1, "forwarder retries reported",
                   agg.describe)
        self.stop_ok(fwd)
        self.stop_ok(agg)
        self.assertEqual(total(agg, name), sent)  # nothing lost, nothing twice
        self.assertEqual(total(agg, f"stats.timers.down.t{LOCAL}.count"), 10)
        self.assertEqual(total(agg, "stats.counter.statsd.http.forwarder.dropped.host.fw.s.fw"
                                    ".count"), 0)
        # The startup event, posted while the aggregator was down, was retried too.
        started = [l for l in agg.lines() if l.startswith("event: {Title:Gostatsd started")]
        self.assertEqual(len(started), 1, agg.describe())
        self.assertIn("Source:fw", started[0])

    def test_aggregator_restart_loses_nothing(self):
        # A redeployed aggregator: the forwarder's kept-alive connection is to the old process;
        # the next POST finds it closed and must still be delivered, once.
        agg1, port = self.start_aggregator()
        fwd = self.start_forwarder(port, max_request_elapsed_time="30s",
                                   flags=["--statser-type", "logging", "--flush-interval",
                                          "200ms"])
        name = f"stats.counter.restart.c{LOCAL}.count"
        sent = 0
        for i in range(1, 6):
            fwd.send(f"restart.c:{i}|c")
            sent += i
            time.sleep(0.3)
        wait_until(lambda: logged_total(fwd, "statsd.http.forwarder.sent") >= 1,
                   "a first delivery", fwd.describe)
        self.stop_ok(agg1)  # its shutdown flush prints what it got
        agg2, _ = self.start_aggregator(port=port, flush_interval="200ms")
        for i in range(6, 11):
            fwd.send(f"restart.c:{i}|c")
            sent += i
            time.sleep(0.3)
        wait_until(lambda: total(agg1, name) + total(agg2, name) >= sent,
                   f"{name} totals {sent}", lambda: agg1.describe() + agg2.describe())
        self.stop_ok(fwd)
        self.stop_ok(agg2)
        self.assertEqual(total(agg1, name) + total(agg2, name), sent)
        self.assertGreater(total(agg2, name), 0)
        self.assertEqual(logged_total(fwd, "statsd.http.forwarder.dropped"), 0)

    def test_500_retried_and_400_dropped_at_once_with_fast_fail(self):
        agg, agg_port = self.start_aggregator(flush_interval="200ms")
        fails = {"retry": 2}

        def rule(path, body):
            if b"fault.retry" in body and fails["retry"] > 0:
                fails["retry"] -= 1
                return 500
            if b"fault.lost" in body:
                return 400
            return None

        p = self.proxy(agg_port, rule)
        # Bodies uncompressed, so the proxy finds the names in them; internal metrics logged
        # (statser-type logging), so they are counted without travelling in the requests.
        fwd = self.start_forwarder(p.port, compress=False, fast_fail_on_non_retryable_errors=True,
                                   flags=["--statser-type", "logging", "--flush-interval",
                                          "200ms"])
        fwd.send("fault.retry:5|c|#k:v")
        name = f"stats.counter.fault.retry.k.v{LOCAL}.count"
        wait_until(lambda: total(agg, name) == 5, name, agg.describe)
        self.assertEqual(p.statuses(b"fault.retry"), [500, 500, 202])

        fwd.send("fault.lost:1|c")
        fwd.wait_for(r".*forwarder: metrics dropped.*attempts=1 status=400.*", stream="stderr",
                     timeout=WAIT)
        wait_until(lambda: logged_total(fwd, "statsd.http.forwarder.dropped") == 1,
                   "http.forwarder.dropped counted", fwd.describe)
        fwd.send("fault.after:2|c")
        after = f"stats.counter.fault.after{LOCAL}.count"
        wait_until(lambda: total(agg, after) == 2, after, agg.describe)
        time.sleep(1.0)  # longer than the first backoff (at most 750 ms): a retry would show
        # Every successful POST so far is counted in http.forwarder.sent (the lifecycle event
        # "Gostatsd stopped" is posted after the last report, so compare before the stop).
        delivered = sum(1 for _, _, st in p.log if st == 202)
        wait_until(lambda: logged_total(fwd, "statsd.http.forwarder.sent") == delivered,
                   f"http.forwarder.sent = {delivered}", fwd.describe)
        self.stop_ok(fwd)
        self.stop_ok(agg)
        self.assertEqual(p.statuses(b"fault.lost"), [400])  # not retried
        self.assertEqual(agg.values(f"stats.counter.fault.lost{LOCAL}.count"), [])
        self.assertEqual(total(agg, name), 5)  # delivered once
        self.assertEqual(logged_total(fwd, "statsd.http.forwarder.retried"), 2)
        self.assertEqual(logged_total(fwd, "statsd.http.forwarder.dropped"), 1)

    def test_400_retried_without_fast_fail_and_a_spent_budget_is_counted(self):
        agg, agg_port = self.start_aggregator(flush_interval="200ms")
        fails = {"bad": 1}

        def rule(path, body):
            if b"fault.bad" in body and fails["bad"] > 0:
                fails["bad"] -= 1
                return 400
            if b"fault.budget" in body:
                return 503
            return None

        p = self.proxy(agg_port, rule)
        fwd = self.start_forwarder(p.port, compress=False, max_request_elapsed_time="3s",
                                   flags=["--statser-type", "logging", "--flush-interval",
                                          "200ms"])
        fwd.send("fault.bad:3|c")
        name = f"stats.counter.fault.bad{LOCAL}.count"
        wait_until(lambda: total(agg, name) == 3, name, agg.describe)
        self.assertEqual(p.statuses(b"fault.bad"), [400, 202])

        fwd.send("fault.budget:1|c")
        fwd.wait_for(r".*forwarder: metrics dropped.*status=503.*", stream="stderr",
                     timeout=WAIT)
        wait_until(lambda: logged_total(fwd, "statsd.http.forwarder.dropped") == 1,
                   "http.forwarder.dropped counted", fwd.describe)
        self.stop_ok(fwd)
        self.stop_ok(agg)
        tries = p.statuses(b"fault.budget")
        self.assertGreaterEqual(len(tries), 2, tries)
        self.assertEqual(set(tries), {503})
        self.assertEqual(agg.values(f"stats.counter.fault.budget{LOCAL}.count"), [])
        self.assertEqual(total(agg, name), 3)
        # One retry for the 400, the rest for the 503s; the one drop.
        self.assertEqual(logged_total(fwd, "statsd.http.forwarder.retried"), 1 + len(tries) - 1)
        self.assertEqual(logged_total(fwd, "statsd.http.forwarder.dropped"), 1)


class QueueTest(ForwardingTestCase):
    def test_a_full_queue_drops_and_counts_every_request_it_loses(self):
        # One request at a time (max-requests = 1) and one waiting: while the aggregator is
        # down, each flush pushes the oldest waiting request out. Every request is then either
        # delivered once or counted in http.forwarder.dropped.
        port = free_port()
        fwd = self.start_forwarder(port, max_requests=1, compress=False,
                                   max_request_elapsed_time="30s",
                                   flags=["--statser-type", "logging", "--flush-interval",
                                          "200ms", "--disable-internal-events"])
        n = 8
        for i in range(n):
            fwd.send(f"queue.c{i}:1|c")
            time.sleep(0.4)  # one request per flush
        agg, _ = self.start_aggregator(port=port, flush_interval="200ms")

        def delivered():
            return [i for i in range(n) if total(agg, f"stats.counter.queue.c{i}{LOCAL}.count")]

        def accounted():
            return len(delivered()) + logged_total(fwd, "statsd.http.forwarder.dropped")

        wait_until(lambda: accounted() == n, f"{n} requests delivered or dropped",
                   lambda: fwd.describe() + "\n" + agg.describe(), timeout=40)
        got = delivered()
        self.stop_ok(fwd)
        self.stop_ok(agg)
        self.assertEqual(delivered(), got)
        self.assertGreaterEqual(len(got), 2, got)  # the one in flight and the one waiting
        self.assertIn(0, got)  # the first was in flight, never pushed out
        self.assertIn(n - 1, got)  # the newest was waiting
        for i in got:
            self.assertEqual(total(agg, f"stats.counter.queue.c{i}{LOCAL}.count"), 1)
        self.assertEqual(logged_total(fwd, "statsd.http.forwarder.dropped"), n - len(got))


class DeepcheckTest(ForwardingTestCase):
    def test_unhealthy_until_the_first_successful_post(self):
        agg, agg_port = self.start_aggregator(flush_interval="200ms")
        gate = {"open": False}
        p = self.proxy(agg_port, lambda path, body: None if gate["open"] else 500)
        fwd = self.start_forwarder(p.port, http_server=True)
        port = fwd.health_port

        def deep():
            status, body = get(port, "/deepcheck")
            return status, json.loads(body)

        never = (500, {"ok": [], "failed": ["sentRecently: never sent"]})
        self.assertEqual(deep(), never)
        self.assertEqual(get(port, "/healthcheck")[0], 200)  # liveness has no checks
        fwd.send("deep.c:1|c")
        wait_until(lambda: len(p.log) >= 1, "a first (failed) POST", fwd.describe)
        self.assertEqual(deep(), never)  # a failed POST is not a send
        gate["open"] = True
        wait_until(lambda: deep()[0] == 200, "/deepcheck healthy", fwd.describe)
        status, body = deep()
        # As gostatsd: the passing check says when it last sent.
        self.assertEqual(body["failed"], [])
        self.assertEqual(len(body["ok"]), 1, body)
        self.assertRegex(body["ok"][0],
                         r"^sentRecently: lastSend=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        wait_until(lambda: total(agg, f"stats.counter.deep.c{LOCAL}.count") == 1, "deep.c",
                   agg.describe)
        # Healthy once it has sent, even when the aggregator is gone (as gostatsd).
        self.stop_ok(agg)
        gate["open"] = False
        before = len(p.log)
        fwd.send("deep.c:1|c")
        wait_until(lambda: len(p.log) > before, "a failed POST after", fwd.describe)
        self.assertEqual(deep()[0], 200)
        self.stop_ok(fwd)


if __name__ == "__main__":
    harness.main()
