"""HTTP servers and ingestion (docs/http.md, docs/forwarder.md; docs/compatibility.md#decision-11): a cstatsd with an [http.main] section
on a free loopback port, protobuf bodies made by `protoc --encode` from gostatsd's schema,
compressed with Python's zlib or the `lz4` tool, and the stdout backend's lines checked for exact
values. Also the health, expvar, prof and 404/405 routes, bad bodies (each gets its status and
the server keeps working), a 2,000-request load from 50 threads, 40 kept-alive clients posting
every second as forwarders do, ingestion and /expvar in forwarder mode, and the final flush."""

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import zlib

import harness
import test_forwarder as fwd
from harness import ServerTestCase

PROTO_DIR = os.path.join(harness.SOURCE_DIR, "proto")
LISTENING = r".*http server listening server=(\S+) address=127\.0\.0\.1:(\d+) .*"


def protoc_encode(message, text):
    """The binary encoding of a text-format pb.<message>, made by protoc from proto/."""
    r = subprocess.run(["protoc", f"--encode=pb.{message}", "-I", PROTO_DIR,
                        os.path.join(PROTO_DIR, "gostatsd.proto")],
                       input=text.encode(), capture_output=True, timeout=30)
    if r.returncode != 0:
        raise AssertionError(f"protoc failed: {r.stderr.decode(errors='replace')}")
    return r.stdout


def lz4_frame(data):
    """An LZ4 frame made by the lz4 command line tool."""
    r = subprocess.run(["lz4", "-c", "-q"], input=data, capture_output=True, timeout=30)
    if r.returncode != 0:
        raise AssertionError(f"lz4 failed: {r.stderr.decode(errors='replace')}")
    return r.stdout


def deflated_zeros(total):
    """`total` bytes of zeros as one zlib stream (about total/1000 bytes), built from one
    compressed 1 MiB block: after a full flush every identical block compresses the same way.
    The trailer is the Adler-32 of the zeros: A = 1, B = total mod 65521."""
    block = 1 << 20
    c = zlib.compressobj(9)
    first = c.compress(bytes(block)) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(bytes(block)) + c.flush(zlib.Z_FULL_FLUSH)
    end = c.flush(zlib.Z_FINISH)[:-4]
    adler = ((total % 65521) << 16) | 1
    return first + again * (total // block - 1) + end + adler.to_bytes(4, "big")


def counter_message(name, value, tags=(), hostname=""):
    tag_text = " ".join(f'Tags: "{t}"' for t in tags)
    return (f'Counters {{ key: "{name}" value {{ TagMap {{ key: "ignored" value {{ {tag_text} '
            f'Hostname: "{hostname}" Value: {value} }} }} }} }}\n')


class HttpTestCase(ServerTestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="cstatsd-http-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def start_http(self, section="", top="", **flags):
        """cstatsd (standard flags) with [http.main] on 127.0.0.1:0; returns (server, port)."""
        path = os.path.join(self.dir, "cstatsd.toml")
        with open(path, "w") as f:
            f.write(f'http-servers = ["main"]\n{top}\n[http.main]\naddress = "127.0.0.1:0"\n'
                    f"{section}\n")
        s = self.start_standard(config_path=path, **flags)
        _, m = s.wait_for(LISTENING, stream="stderr")
        self.assertEqual(m.group(1), "main")
        return s, int(m.group(2))

    def request(self, port, method, path, body=None, headers=None, conn=None):
        """One request; returns (status, body bytes, headers dict)."""
        c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return r.status, data, dict(r.getheaders())
        finally:
            if conn is None:
                c.close()

    def wait_sum(self, server, name, want):
        """Waits (bounded) until the values of `name` over every flush add up to `want`."""
        deadline = time.monotonic() + harness.DEFAULT_TIMEOUT
        while time.monotonic() < deadline:
            if sum(map(int, server.values(name))) >= want:
                break
            time.sleep(0.05)
        self.assertEqual(sum(map(int, server.values(name))), want, server.describe())

    def post(self, port, path, body, encoding=None, **kw):
        headers = {"Content-Type": "application/x-protobuf"}
        if encoding is not None:
            headers["Content-Encoding"] = encoding
        return self.request(port, "POST", path, body, headers, **kw)


INGESTION = "enable-ingestion = true\n"

RAW_TEXT = """
Counters { key: "reqs_%(k)s" value {
  TagMap { key: "route:home,s:web-1" value { Tags: "route:home" Hostname: "web-1" Value: 5000000000 } }
  TagMap { key: "x" value { Tags: "route:home" Hostname: "web-1" Value: 7 } } } }
Gauges { key: "depth_%(k)s" value {
  TagMap { key: "q" value { Tags: "q:jobs" Hostname: "web-2" Value: 12.5 } } } }
Timers { key: "lat_%(k)s" value {
  TagMap { key: "t" value { Tags: "b" Tags: "a" SampleCount: 40 Values: 10 Values: 30 Values: 20 } } } }
Sets { key: "users_%(k)s" value {
  TagMap { key: "s" value { Hostname: "web-3" Values: "alice" Values: "bob" Values: "alice" } } } }
"""


class IngestionTest(HttpTestCase):
    def test_raw_metrics_with_every_encoding(self):
        s, port = self.start_http(INGESTION, default_tags="env:prod")
        for kind, encoding, compress in (("plain", None, lambda b: b),
                                         ("identity", "identity", lambda b: b),
                                         ("deflate", "deflate", zlib.compress),
                                         ("lz4", "lz4", lz4_frame)):
            body = compress(protoc_encode("RawMessageV2", RAW_TEXT % {"k": kind}))
            status, data, _ = self.post(port, "/v2/raw", body, encoding)
            self.assertEqual((status, data), (202, b""), kind)
        for kind in ("plain", "identity", "deflate", "lz4"):
            # Two inner keys, one series here (the tagsKey is ignored): 5000000000 + 7.
            self.assertMetric(s, f"stats.counter.reqs_{kind}.env.prod.route.home.s.web-1.count",
                              "5000000007")
            self.assertMetric(s, f"stats.gauge.depth_{kind}.env.prod.q.jobs.s.web-2",
                              "12.500000")
            # Timer: the forwarder's SampleCount is the count; the values are the values.
            timer = f"stats.timers.lat_{kind}.a.b.env.prod"
            self.assertMetric(s, f"{timer}.count", "40")
            self.assertMetric(s, f"{timer}.lower", "10.000000")
            self.assertMetric(s, f"{timer}.upper", "30.000000")
            self.assertMetric(s, f"{timer}.mean", "20.000000")
            self.assertMetric(s, f"{timer}.upper_90", "30.000000")
            self.assertMetric(s, f"stats.set.users_{kind}.env.prod.s.web-3", "2")
        self.stop_ok(s)

    def test_event(self):
        s, port = self.start_http(INGESTION, default_tags="env:prod")
        body = protoc_encode("EventV2", """
            Title: "deploy" Text: "version 42" DateHappened: 1700000000 Hostname: "web-1"
            AggregationKey: "deploys" SourceTypeName: "ci" Tags: "team:core"
            SourceIP: "10.0.0.1" Priority: Low Type: Success""")
        self.assertEqual(self.post(port, "/v2/event", body)[0], 202)
        s.wait_for(r"event: \{Title:deploy Text:version 42 DateHappened:1700000000 "
                   r"AggregationKey:deploys SourceTypeName:ci Tags:\[team:core env:prod\] "
                   r"Source:web-1 Priority:low AlertType:success\}")
        self.stop_ok(s)

    def test_incoming_counters(self):
        s, port = self.start_http(INGESTION, statser_type="internal", hostname="testhost")
        body = protoc_encode("RawMessageV2", counter_message("c", 1))
        self.assertEqual(self.post(port, "/v2/raw", body)[0], 202)
        self.assertEqual(self.post(port, "/v2/raw", body, "gzip")[0], 400)
        self.assertEqual(self.post(port, "/v2/raw", b"\xff")[0], 400)
        event = protoc_encode("EventV2", 'Title: "t"')
        self.assertEqual(self.post(port, "/v2/event", event)[0], 202)
        base = "stats.counter.statsd.http.incoming"
        tags = "host.testhost.server-name.main.s.testhost"
        failure = "host.testhost.result.failure.server-name.main.s.testhost.count"
        self.wait_sum(s, f"{base}.host.testhost.result.success.server-name.main.s.testhost.count",
                      2)
        self.wait_sum(s, f"{base}.failure.encoding.{failure}", 1)
        self.wait_sum(s, f"{base}.failure.unmarshal.{failure}", 1)
        self.wait_sum(s, f"{base}.failure.decompress.{failure}", 0)
        self.wait_sum(s, f"{base}.events.{tags}.count", 1)
        self.wait_sum(s, f"{base}.metrics.{tags}.count", 1)
        self.stop_ok(s)

    def test_final_flush_has_what_was_ingested(self):
        s, port = self.start_http(INGESTION, flush_interval="1h")
        body = protoc_encode("RawMessageV2", counter_message("last", 42))
        self.assertEqual(self.post(port, "/v2/raw", body)[0], 202)
        self.stop_ok(s)
        self.assertEqual(s.values("stats.counter.last.count"), ["42"])


class ShutdownTest(HttpTestCase):
    def test_a_stalled_request_does_not_hold_the_shutdown(self):
        # A client that trickles its body keeps a request thread reading; the server gives
        # requests in progress 5 s, then abandons them, flushes and exits 0.
        s, port = self.start_http(INGESTION, flush_interval="1h")
        body = protoc_encode("RawMessageV2", counter_message("kept", 5))
        sock = socket.create_connection(("127.0.0.1", port))
        self.addCleanup(sock.close)
        # A first request on the connection: once it is answered, a request thread serves this
        # connection and reads the next request from it.
        sock.sendall(b"POST /v2/raw HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                     % len(body) + body)
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = sock.recv(4096)
            self.assertTrue(chunk, "connection closed")
            reply += chunk
        self.assertTrue(reply.startswith(b"HTTP/1.1 202"), reply)
        sock.sendall(b"POST /v2/raw HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
        done = threading.Event()
        self.addCleanup(done.set)

        def trickle():
            while not done.wait(1.0):
                try:
                    sock.sendall(b"x")
                except OSError:
                    return

        threading.Thread(target=trickle, daemon=True).start()
        time.sleep(0.3)
        self.stop_ok(s)
        s.wait_for_text("http server did not stop within 5s", stream="stderr", timeout=0)
        self.assertEqual(s.values("stats.counter.kept.count"), ["5"])


class RoutesTest(HttpTestCase):
    def test_health_expvar_prof_and_unknown_routes(self):
        s, port = self.start_http("enable-expvar = true\nenable-prof = true\n")
        status, body, headers = self.request(port, "GET", "/healthcheck")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body), {"ok": [], "failed": []})
        self.assertEqual(headers.get("Content-Type"), "application/json")
        status, body, _ = self.request(port, "GET", "/deepcheck")
        self.assertEqual((status, json.loads(body)), (200, {"ok": [], "failed": []}))

        status, body, _ = self.request(port, "GET", "/expvar")
        self.assertEqual(status, 200)
        v = json.loads(body)
        self.assertIn("--config-path", v["cmdline"])
        self.assertGreater(v["process"]["rss_bytes"], 0)
        self.assertEqual(v["cstatsd"]["settings"]["flush-interval"], "200ms")
        self.assertEqual(v["cstatsd"]["settings"]["http-servers"], ["main"])
        self.assertEqual(v["cstatsd"]["http"]["main"]["port"], port)
        self.assertIn("receiver.datagrams_received", v["cstatsd"]["counters"])
        self.assertEqual(v["cstatsd"]["counters"]["receiver.kernel_drops"], 0)  # issue 3

        status, body, _ = self.request(port, "GET", "/debug/pprof/cmdline")
        self.assertEqual(status, 200)
        args = body.split(b"\0")
        self.assertEqual(os.path.basename(args[0]), b"cstatsd")
        self.assertIn(b"--config-path", args)
        for path in ("/debug/pprof/profile", "/debug/pprof/heap", "/debug/pprof/symbol"):
            status, body, _ = self.request(port, "GET", path)
            self.assertEqual(status, 501, path)
            self.assertIn(b"perf", body)

        # As gostatsd's gorilla/mux router: unknown path 404 "not found", other method 405.
        for method, path in (("GET", "/nope"), ("GET", "/v2/raw/x"), ("POST", "/nope"),
                             ("GET", "/debug/pprof/a/b")):
            self.assertEqual(self.request(port, method, path, body=b"" if method == "POST"
                                          else None)[:2], (404, b"not found"), path)
        self.assertEqual(self.request(port, "POST", "/healthcheck", b"x")[0], 405)
        # A path that is not clean is redirected to its clean form, query kept (as mux).
        status, _, headers = self.request(port, "GET", "//healthcheck/../expvar?a=1")
        self.assertEqual((status, headers.get("Location")), (301, "/expvar?a=1"))
        # Ingestion is off on this server: its routes do not exist.
        self.assertEqual(self.post(port, "/v2/raw", b"")[:2], (404, b"not found"))
        self.stop_ok(s)

    def test_wrong_method_on_ingestion_route(self):
        s, port = self.start_http(INGESTION + "enable-healthcheck = false\n")
        self.assertEqual(self.request(port, "GET", "/v2/raw")[0], 405)
        self.assertEqual(self.request(port, "GET", "/healthcheck")[:2], (404, b"not found"))
        self.stop_ok(s)

    def test_nothing_enabled_stops_startup_naming_the_section(self):
        path = os.path.join(self.dir, "bad.toml")
        with open(path, "w") as f:
            f.write('http-servers = "quiet"\n[http.quiet]\nenable-healthcheck = false\n'
                    'address = "127.0.0.1:99999"\n')
        r = self.run_binary(harness.standard_flags(config_path=path))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("http.quiet: must enable at least one of", r.stderr)
        self.assertIn("http.quiet.address", r.stderr)


class BadRequestTest(HttpTestCase):
    def test_bad_bodies_get_their_status_and_the_server_keeps_working(self):
        s, port = self.start_http(INGESTION + "max-request-body-size = 1048576\n"
                                  "enable-expvar = true\n")
        good = protoc_encode("RawMessageV2", counter_message("ok", 3))
        cases = [
            ("unknown encoding", self.post(port, "/v2/raw", zlib.compress(good), "gzip"), 400),
            ("not deflated", self.post(port, "/v2/raw", good, "deflate"), 400),
            ("truncated deflate", self.post(port, "/v2/raw", zlib.compress(good)[:-6],
                                            "deflate"), 400),
            ("not lz4", self.post(port, "/v2/raw", good, "lz4"), 400),
            ("truncated protobuf", self.post(port, "/v2/raw", good[:-2]), 400),
            ("random bytes", self.post(port, "/v2/event", bytes(range(7, 250))), 400),
            ("too large as sent", self.post(port, "/v2/raw", bytes(2 << 20)), 413),
            ("bomb", self.post(port, "/v2/raw", deflated_zeros(1 << 30), "deflate"), 413),
            ("lz4 bomb", self.post(port, "/v2/raw", lz4_frame(bytes(8 << 20)), "lz4"), 413),
        ]
        for name, (status, body, _), want in cases:
            self.assertEqual(status, want, name)
            self.assertEqual(body, b"", name)
        # A chunked body above the limit is cut at the limit.
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("POST", "/v2/raw", body=iter([bytes(256 << 10)] * 8), encode_chunked=True)
        self.assertEqual(c.getresponse().status, 413)
        c.close()
        # A chunked body within the limit is fine.
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("POST", "/v2/raw", body=iter([good[:5], good[5:]]), encode_chunked=True)
        self.assertEqual(c.getresponse().status, 202)
        c.close()

        self.assertEqual(self.post(port, "/v2/raw", good)[0], 202)
        self.wait_sum(s, "stats.counter.ok.count", 6)
        status, body, _ = self.request(port, "GET", "/expvar")
        v = json.loads(body)
        main = v["cstatsd"]["http"]["main"]
        self.assertEqual(main["incoming.failure.encoding"], 1)
        self.assertEqual(main["incoming.failure.decompress"], 3)
        self.assertEqual(main["incoming.failure.unmarshal"], 2)
        self.assertEqual(main["incoming.failure.too-large"], 4)
        self.assertEqual(main["incoming.success"], 2)
        # Bounded decompression: the 1 GiB bomb never became a gigabyte in memory.
        self.assertLess(v["process"]["max_rss_bytes"], 256 << 20)
        self.stop_ok(s)


class LoadTest(HttpTestCase):
    CLIENTS = 50
    REQUESTS = 2000

    def test_concurrent_clients(self):
        s, port = self.start_http(INGESTION)
        bodies = [protoc_encode("RawMessageV2", counter_message("load", v, tags=["t:1"]))
                  for v in range(1, 8)]
        statuses = []
        sent = [0]
        lock = threading.Lock()

        def client(k):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            mine = []
            total = 0
            try:
                for i in range(k, self.REQUESTS, self.CLIENTS):
                    body = bodies[i % len(bodies)]
                    enc = ("deflate", zlib.compress(body)) if i % 3 == 0 else (None, body)
                    status, _, _ = self.post(port, "/v2/raw", enc[1], enc[0], conn=conn)
                    mine.append(status)
                    total += i % len(bodies) + 1
            finally:
                conn.close()
            with lock:
                statuses.extend(mine)
                sent[0] += total

        t0 = time.monotonic()
        threads = [threading.Thread(target=client, args=(k,)) for k in range(self.CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        elapsed = time.monotonic() - t0
        self.assertEqual(len(statuses), self.REQUESTS)
        self.assertEqual(statuses.count(202), self.REQUESTS,
                         {st: statuses.count(st) for st in set(statuses)})
        print(f"\nload: {self.REQUESTS} requests from {self.CLIENTS} clients in {elapsed:.2f} s "
              f"({self.REQUESTS / elapsed:.0f} requests/s)", flush=True)
        # Every value arrives: the counts of all flushes add up to what was sent.
        self.wait_sum(s, "stats.counter.load.t.1.count", sent[0])
        self.stop_ok(s)


class KeepAliveTest(HttpTestCase):
    """Forwarders keep their connection and post every second (http-transport.flush-interval), so
    an idle gap never lets the server close it: every connected forwarder is served on the
    connection it keeps, however many are connected."""
    CLIENTS = 40
    ROUNDS = 6
    TIMEOUT = 4  # seconds a request may wait for its answer: less than the rounds take

    def test_kept_alive_clients_posting_every_second_are_all_served(self):
        s, port = self.start_http(INGESTION + "enable-expvar = true\n")
        body = zlib.compress(protoc_encode("RawMessageV2", counter_message("kept", 1)))
        results = []  # (client, round, status or the error, local port of the connection)
        lock = threading.Lock()
        start = time.monotonic() + 0.5

        def client(k):
            # One connection for every round, as a forwarder's HTTP client keeps it. A request
            # that is not answered within TIMEOUT (the server has no thread for its connection
            # while the others keep theirs) fails.
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=self.TIMEOUT)
            try:
                for r in range(self.ROUNDS):
                    delay = start + r - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    try:
                        status = self.post(port, "/v2/raw", body, "deflate", conn=conn)[0]
                        local = conn.sock.getsockname()[1] if conn.sock else None
                    except OSError as e:  # a timeout included
                        status, local = f"{type(e).__name__}: {e}", None
                        conn.close()
                    with lock:
                        results.append((k, r, status, local))
            finally:
                conn.close()

        threads = [threading.Thread(target=client, args=(k,)) for k in range(self.CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        total = self.CLIENTS * self.ROUNDS
        self.assertEqual(len(results), total)
        self.assertEqual([x for x in results if x[2] != 202], [], s.describe())
        # Each client used one connection throughout: the server kept them all open.
        for k in range(self.CLIENTS):
            ports = {local for c, _, _, local in results if c == k}
            self.assertEqual(len(ports), 1, (k, ports))
            self.assertNotIn(None, ports)
        status, data, _ = self.request(port, "GET", "/expvar")
        main = json.loads(data)["cstatsd"]["http"]["main"]
        self.assertEqual(main["incoming.success"], total)
        self.assertEqual(main["max-connections"], 1024)
        # At the peak every client's connection was open at once (one event loop serves them;
        # no thread per connection).
        self.assertGreaterEqual(main["connections-peak"], self.CLIENTS)
        self.wait_sum(s, "stats.counter.kept.count", total)
        self.stop_ok(s)

    def test_max_connections_is_validated(self):
        path = os.path.join(self.dir, "bad.toml")
        with open(path, "w") as f:
            f.write('http-servers = "main"\n[http.main]\nmax-connections = 0\n')
        r = self.run_binary(harness.standard_flags(config_path=path))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("http.main.max-connections: must be a number from 1 to 65536, got 0",
                      r.stderr)


def counter_sum(requests, name, *tags):
    """The total of counter `name` over the forwarded series whose tags include every one of
    `tags` (whatever the others, e.g. host: and the source)."""
    return sum(v.get("Value", [0])[0]
               for (n, key), vs in fwd.series(requests, "Counters").items()
               if n == name and all(t in key.split(",") for t in tags)
               for v in vs)


class ForwarderModeTest(HttpTestCase):
    """An HTTP server of a forwarder (server-mode = forwarder): what it ingests is forwarded,
    its http.incoming* metrics go out with the forwarder's own internal metrics, and /expvar
    shows the forwarder."""

    def test_incoming_metrics_and_expvar(self):
        agg = fwd.FakeAggregator()
        self.addCleanup(agg.stop)
        s, port = self.start_http(
            INGESTION + "enable-expvar = true\n"
            f'[http-transport]\napi-endpoint = "{agg.url}"\nflush-interval = "200ms"\n'
            "max-requests = 7\n",
            server_mode="forwarder", statser_type="internal", hostname="fw")
        good = protoc_encode("RawMessageV2", counter_message("relayed", 5, hostname="web-1"))
        self.assertEqual(self.post(port, "/v2/raw", good)[0], 202)
        self.assertEqual(self.post(port, "/v2/raw", good)[0], 202)
        self.assertEqual(self.post(port, "/v2/raw", good, "gzip")[0], 400)
        self.assertEqual(self.post(port, "/v2/raw", b"\xff")[0], 400)
        server = "server-name:main"
        reqs = agg.wait_until(
            lambda rs: counter_sum(rs, "statsd.http.incoming", server, "result:success") >= 2
            and counter_sum(rs, "statsd.http.incoming.metrics", server) >= 2
            and counter_sum(rs, "relayed") >= 10,
            what="http.incoming* from the forwarder")
        self.assertEqual(counter_sum(reqs, "statsd.http.incoming", server, "result:success"), 2)
        self.assertEqual(counter_sum(reqs, "statsd.http.incoming", server, "result:failure",
                                     "failure:encoding"), 1)
        self.assertEqual(counter_sum(reqs, "statsd.http.incoming", server, "result:failure",
                                     "failure:unmarshal"), 1)
        self.assertEqual(counter_sum(reqs, "statsd.http.incoming.metrics", server), 2)
        self.assertEqual(counter_sum(reqs, "relayed", "s:web-1"), 10)

        # /expvar: the forwarder's settings, and its counts since the start. The internal
        # metrics report http.forwarder.sent per flush; wait until several flushes have been
        # reported, so a count reset at each flush would fall behind their sum.
        reqs = agg.wait_until(lambda rs: counter_sum(rs, "statsd.http.forwarder.sent") >= 5,
                              what="five reported sends")
        reported = counter_sum(reqs, "statsd.http.forwarder.sent")
        status, data, _ = self.request(port, "GET", "/expvar")
        self.assertEqual(status, 200)
        f = json.loads(data)["cstatsd"]["forwarder"]
        self.assertEqual(f["settings"]["api-endpoint"], agg.url)
        self.assertEqual(f["settings"]["flush-interval"], "200ms")
        self.assertEqual(f["settings"]["max-requests"], 7)
        self.assertEqual(f["settings"]["compression-type"], "zlib")
        self.assertEqual(f["settings"]["flush"], "timed")
        counters = f["counters"]
        self.assertGreaterEqual(counters["http.forwarder.sent"], reported)
        self.assertGreaterEqual(counters["http.forwarder.created"], counters["http.forwarder.sent"])
        self.assertEqual(counters["http.forwarder.dropped"], 0)
        self.assertIsInstance(f["last-successful-send-unix-ms"], int)
        self.stop_ok(s)


if __name__ == "__main__":
    harness.main()
