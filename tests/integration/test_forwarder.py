"""Forwarder mode (docs/forwarder.md#http-transport, docs/forwarder.md#what-is-sent): the real cstatsd with --server-mode forwarder POSTs what it
receives to a fake aggregator (a Python http.server in a thread that records every request).
The protobuf bodies are decoded with `protoc --decode` against proto/gostatsd.proto; lz4 bodies
are decompressed with the `lz4` CLI, zlib with Python's zlib."""

import http.server
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
import zlib

import harness
from harness import ServerTestCase

PROTO_DIR = os.path.join(harness.SOURCE_DIR, "proto")
WAIT = 15.0  # seconds for anything that involves a flush and a POST


class FakeAggregator:
    """An HTTP server on 127.0.0.1 that records requests and answers metric POSTs (/v2/raw) with
    scripted statuses (then 202; events always get 202, so the server's own lifecycle event
    cannot take a status meant for metrics). stop() and start() again keep the port, to play an
    aggregator that goes down."""

    def __init__(self, port=0):
        self.requests = []  # accepted (2xx) requests: (path, headers dict, raw body)
        self.rejected = []  # the ones answered with a scripted error status
        self.statuses = []
        self.cond = threading.Condition()
        self.port = port
        self.httpd = None
        self.start()

    def start(self):
        agg = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with agg.cond:
                    scripted = agg.statuses and self.path == "/v2/raw"
                    status = agg.statuses.pop(0) if scripted else 202
                    kept = agg.requests if status < 300 else agg.rejected
                    kept.append((self.path, dict(self.headers.items()), body))
                    agg.cond.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def snapshot(self):
        with self.cond:
            return list(self.requests)

    def wait_until(self, predicate, timeout=WAIT, what="a request"):
        """Waits until predicate(list of requests) is true; returns the requests."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate(self.requests):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {what} within {timeout} s; got "
                                         f"{[(p, h.get('Content-Encoding')) for p, h, _ in self.requests]}")
                self.cond.wait(min(remaining, 0.1))
            return list(self.requests)


def decompress(headers, body):
    enc = headers.get("Content-Encoding", "identity")
    if enc == "deflate":
        return zlib.decompress(body)
    if enc == "lz4":
        return subprocess.run(["lz4", "-d", "-c"], input=body, capture_output=True,
                              check=True).stdout
    assert enc == "identity", enc
    return body


def parse_text_proto(text):
    """protoc's text format → nested dicts: field name → list of values (str/float or dict)."""
    root = {}
    stack = [root]
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line == "}":
            stack.pop()
        elif line.endswith("{"):
            child = {}
            stack[-1].setdefault(line[:-1].strip(), []).append(child)
            stack.append(child)
        else:
            name, _, value = line.partition(": ")
            if value.startswith('"'):
                value = bytes(value[1:-1], "utf-8").decode("unicode_escape")
            else:
                value = float(value) if value not in ("Low", "Normal", "Info", "Warning",
                                                     "Error", "Success") else value
            stack[-1].setdefault(name, []).append(value)
    return root


def decode(message, data):
    out = subprocess.run(["protoc", f"--decode=pb.{message}", "-I", PROTO_DIR,
                          os.path.join(PROTO_DIR, "gostatsd.proto")],
                         input=data, capture_output=True, check=True).stdout
    return parse_text_proto(out.decode("utf-8"))


def series(requests, kind):
    """Every series of type `kind` (Counters, Gauges, Timers, Sets) in the /v2/raw requests, as
    {(name, tagsKey): [each RawXxxV2 dict, in request order]}."""
    out = {}
    for path, headers, body in requests:
        if path != "/v2/raw":
            continue
        msg = decode("RawMessageV2", decompress(headers, body))
        for entry in msg.get(kind, []):
            name = entry["key"][0]
            for tag_entry in entry["value"][0].get("TagMap", []):
                out.setdefault((name, tag_entry["key"][0]), []).append(tag_entry["value"][0])
    return out


def counter_total(requests, name, tags_key):
    return sum(v.get("Value", [0])[0] for v in series(requests, "Counters").get((name, tags_key), []))


class ForwarderTest(ServerTestCase):
    def start_forwarder(self, agg, transport="", flags=(), **http_transport):
        keys = dict(api_endpoint=agg.url, flush_interval="200ms")
        keys.update(http_transport)
        lines = ["[http-transport]"]
        for k, v in keys.items():
            k = k.replace("_", "-")
            if isinstance(v, bool):
                lines.append(f"{k} = {'true' if v else 'false'}")
            elif isinstance(v, int):
                lines.append(f"{k} = {v}")
            elif isinstance(v, dict):
                lines.append(f"{k} = {{ " + ", ".join(f'"{a}" = "{b}"' for a, b in v.items()) + " }")
            else:
                lines.append(f'{k} = "{v}"')
        fd, path = tempfile.mkstemp(suffix=".toml")
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines) + "\n" + transport)
        self.addCleanup(os.unlink, path)
        args = ["--server-mode", "forwarder", "--config-path", path, "--metrics-addr",
                "127.0.0.1:0", "--statser-type", "null"] + list(flags)
        return self.start(args)

    def agg(self, **kw):
        a = FakeAggregator(**kw)
        self.addCleanup(a.stop)
        return a

    def check_sample(self, requests):
        c = series(requests, "Counters")
        fc = c[("fc", "env:dev,s:127.0.0.1")]
        self.assertEqual(sum(v["Value"][0] for v in fc), 6)  # 3 @0.5
        self.assertEqual(fc[0]["Tags"], ["env:dev"])
        self.assertEqual(fc[0]["Hostname"], ["127.0.0.1"])
        g = series(requests, "Gauges")[("fg", ",s:127.0.0.1")]
        self.assertEqual(g[-1]["Value"], [2.5])
        t = series(requests, "Timers")[("ft", ",s:127.0.0.1")]
        self.assertEqual(sorted(x for v in t for x in v["Values"]), [10.0, 20.0])
        self.assertEqual(sum(v["SampleCount"][0] for v in t), 2)
        s = series(requests, "Sets")[("fs", ",s:127.0.0.1")]
        self.assertEqual(sorted(x for v in s for x in v["Values"]), ["a", "b"])

    SAMPLE = "fc:3|c|@0.5|#env:dev\nfg:2.5|g\nft:10|ms\nft:20|ms\nfs:a|s\nfs:b|s"

    def has_sample(self, reqs):
        return ("fs", ",s:127.0.0.1") in series(reqs, "Sets")

    def test_zlib_headers_and_values(self):
        agg = self.agg()
        s = self.start_forwarder(agg, custom_headers={"x-team": "metrics"})
        s.send(self.SAMPLE)
        reqs = agg.wait_until(self.has_sample, what="the sample")
        self.check_sample(reqs)
        path, headers, _ = [r for r in reqs if r[0] == "/v2/raw"][0]
        self.assertEqual(headers["Content-Type"], "application/x-protobuf")
        self.assertEqual(headers["User-Agent"], "gostatsd (http forwarder)")
        self.assertEqual(headers["Content-Encoding"], "deflate")
        self.assertEqual(headers["X-Team"], "metrics")
        self.stop_ok(s)

    def test_lz4(self):
        agg = self.agg()
        s = self.start_forwarder(agg, compression_type="lz4")
        s.send(self.SAMPLE)
        reqs = agg.wait_until(self.has_sample, what="the sample")
        self.check_sample(reqs)
        self.assertTrue(all(h["Content-Encoding"] == "lz4" for p, h, _ in reqs))
        self.stop_ok(s)

    def test_no_compression(self):
        agg = self.agg()
        s = self.start_forwarder(agg, compress=False)
        s.send(self.SAMPLE)
        reqs = agg.wait_until(self.has_sample, what="the sample")
        self.check_sample(reqs)
        self.assertTrue(all(h["Content-Encoding"] == "identity" for p, h, _ in reqs))
        self.stop_ok(s)

    def test_events_go_to_v2_event(self):
        agg = self.agg()
        s = self.start_forwarder(agg)
        s.send("_e{6,5}:deploy|hello|#env:dev|p:low")
        reqs = agg.wait_until(lambda rs: any(p == "/v2/event" for p, _, _ in rs), what="an event")
        path, headers, body = [r for r in reqs if r[0] == "/v2/event"][0]
        ev = decode("EventV2", decompress(headers, body))
        self.assertEqual(ev["Title"], ["deploy"])
        self.assertEqual(ev["Text"], ["hello"])
        self.assertEqual(ev["Tags"], ["env:dev"])
        self.assertEqual(ev["Hostname"], ["127.0.0.1"])
        self.assertEqual(ev["SourceIP"], ["127.0.0.1"])
        self.assertEqual(ev["Priority"], ["Low"])
        self.stop_ok(s)

    def test_aggregator_down_then_up_loses_nothing(self):
        agg = self.agg()
        agg.stop()  # down: connections are refused
        s = self.start_forwarder(agg, max_request_elapsed_time="30s")
        s.send("late:5|c")
        s.wait_for(r".*failed to send metrics, retrying.*", stream="stderr", timeout=WAIT)
        time.sleep(3)  # stays down for a few seconds
        agg.start()
        reqs = agg.wait_until(lambda rs: counter_total(rs, "late", ",s:127.0.0.1") >= 5,
                              timeout=30, what="the counter after the outage")
        self.assertEqual(counter_total(reqs, "late", ",s:127.0.0.1"), 5)
        self.stop_ok(s)

    def test_500_is_retried_and_400_fast_fail_is_dropped_and_counted(self):
        agg = self.agg()
        # Internal metrics on, so that http.forwarder.* reach the aggregator too (docs/internal-metrics.md).
        agg.statuses = [500]
        s = self.start_forwarder(agg, flags=["--statser-type", "internal", "--hostname", "fw"],
                                 fast_fail_on_non_retryable_errors=True)
        s.send("r:1|c")
        key = "host:fw,s:fw"
        reqs = agg.wait_until(
            lambda rs: counter_total(rs, "statsd.http.forwarder.retried", key) >= 1
            and counter_total(rs, "r", ",s:127.0.0.1") >= 1, what="a retried POST")
        self.assertEqual(counter_total(reqs, "r", ",s:127.0.0.1"), 1)
        # Now a 400: with fast-fail it is dropped at once, and counted.
        with agg.cond:
            agg.statuses = [400]
        s.send("lost:1|c")
        reqs = agg.wait_until(
            lambda rs: counter_total(rs, "statsd.http.forwarder.dropped", key) >= 1,
            what="http.forwarder.dropped")
        self.assertEqual(counter_total(reqs, "statsd.http.forwarder.dropped", key), 1)
        self.assertGreaterEqual(counter_total(reqs, "statsd.http.forwarder.sent", key), 1)
        s.wait_for(r".*forwarder: metrics dropped.*attempts=1 status=400.*", stream="stderr")
        self.stop_ok(s)

    def test_sigterm_sends_the_final_flush(self):
        agg = self.agg()
        s = self.start_forwarder(agg, flush_interval="1h", flags=["--log-raw-metric"])
        s.send("bye:7|c")
        s.wait_for(r".*metric name=bye .*", stream="stderr")
        self.stop_ok(s)
        reqs = agg.snapshot()
        self.assertEqual(counter_total(reqs, "bye", ",s:127.0.0.1"), 7)

    def test_missing_api_endpoint_is_a_startup_error(self):
        fd, path = tempfile.mkstemp(suffix=".toml")
        with os.fdopen(fd, "w") as f:
            f.write("[http-transport]\ncompression-type = \"gzip\"\n")
        self.addCleanup(os.unlink, path)
        r = self.run_binary(["--server-mode", "forwarder", "--config-path", path,
                             "--metrics-addr", "127.0.0.1:0"])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("http-transport.api-endpoint", r.stderr)
        self.assertIn("http-transport.compression-type", r.stderr)


if __name__ == "__main__":
    harness.main()
