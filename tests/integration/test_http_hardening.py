"""The HTTP server against hostile clients (issue 14, item 1; docs/limits.md "HTTP server"):
oversize headers are refused and memory stays bounded; a slowloris of a few hundred connections
from 127.0.0.1 neither stops /healthcheck nor ingestion from another address (127.0.0.2); the
per-address cap; bad or ambiguous Content-Length / Transfer-Encoding get 400 (413, 501) and the
connection closes, so the body is never read as a next request; the header and request
deadlines close a trickling connection whatever it sends. Every wait is bounded; every refusal
is checked in /expvar."""

import http.client
import json
import os
import socket
import threading
import time
import zlib

import harness
from test_http import HttpTestCase, INGESTION, counter_message, deflated_zeros, protoc_encode

OTHER = "127.0.0.2"  # a second client address on loopback


def connect(port, source="127.0.0.1", timeout=10):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def read_until_closed(sock, limit=1 << 20, timeout=10):
    """Everything the server sends until it closes the connection; None if it did not close
    within `timeout` seconds."""
    sock.settimeout(0.2)
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(data) < limit:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return data
        if not chunk:
            return data
        data += chunk
    return None


def statuses(data):
    """The status codes of the HTTP answers in `data`, in order."""
    out = []
    for line in data.split(b"\r\n"):
        if line.startswith(b"HTTP/1."):
            out.append(int(line.split()[1]))
    return out


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class HardeningTestCase(HttpTestCase):
    def expvar(self, port):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.sock = connect(port, OTHER)  # from another address than the attacks
        try:
            c.request("GET", "/expvar")
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            return json.loads(r.read())["cstatsd"]["http"]["main"]
        finally:
            c.close()


class HeaderSizeTest(HardeningTestCase):
    def test_oversize_headers_are_refused_and_memory_stays_bounded(self):
        s, port = self.start_http("enable-expvar = true\n")
        before = rss_bytes(s.proc.pid)
        sock = connect(port)
        self.addCleanup(sock.close)
        sock.sendall(b"GET /healthcheck HTTP/1.1\r\nHost: x\r\n")
        line = b"X-Filler: " + b"a" * 1000 + b"\r\n"
        sent = 0
        closed = False
        # Up to 64 MiB of headers: the server must answer and close long before.
        try:
            while sent < (64 << 20):
                sock.sendall(line * 64)
                sent += len(line) * 64
        except (BrokenPipeError, ConnectionResetError):
            closed = True
        except socket.timeout:
            pass  # the server stopped reading: its answer and the close follow
        data = read_until_closed(sock)
        self.assertTrue(closed or data is not None, "the server kept reading headers")
        self.assertLess(sent, 64 << 20)
        if data:
            self.assertEqual(statuses(data), [431])
        # 100 connections with headers just below the cap: the server holds them all and stays
        # small (each one's buffer is bounded by max-header-bytes).
        socks = []
        for _ in range(100):
            c = connect(port, OTHER)
            self.addCleanup(c.close)
            c.sendall(b"GET /healthcheck HTTP/1.1\r\nHost: x\r\n" + line * 60)
            socks.append(c)
        time.sleep(0.5)
        grown = rss_bytes(s.proc.pid) - before
        self.assertLess(grown, 64 << 20, "RSS grew by %d bytes" % grown)
        for c in socks:
            c.close()
        self.assertGreaterEqual(self.expvar(port)["refused.bad-head"], 1)
        self.stop_ok(s)


class SlowlorisTest(HardeningTestCase):
    ATTACKERS = 300

    def test_health_and_ingestion_from_another_address_survive_a_slowloris(self):
        # max-connections below the attack: a thread per connection would be exhausted by it.
        s, port = self.start_http(INGESTION + "enable-expvar = true\nmax-connections = 256\n"
                                  "max-connections-per-ip = 200\n", flush_interval="1h")
        stop = threading.Event()
        self.addCleanup(stop.set)
        attackers = []
        for _ in range(self.ATTACKERS):
            try:
                a = connect(port)
                a.sendall(b"POST /v2/raw HTTP/1.1\r\nHost: x\r\n")
                attackers.append(a)
            except OSError:
                pass  # refused by the per-address cap
        for a in attackers:
            self.addCleanup(a.close)

        def trickle():
            while not stop.wait(1.0):
                for a in attackers:
                    try:
                        a.send(b"X")
                    except OSError:
                        pass

        threading.Thread(target=trickle, daemon=True).start()
        time.sleep(1.5)
        # /healthcheck and an ingestion from 127.0.0.2 are answered while the attack goes on.
        body = zlib.compress(protoc_encode("RawMessageV2", counter_message("survived", 3)))
        for _ in range(3):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.sock = connect(port, OTHER, timeout=5)
            c.request("GET", "/healthcheck")
            r = c.getresponse()
            self.assertEqual((r.status, r.read()), (200, b'{"ok":[],"failed":[]}'))
            c.request("POST", "/v2/raw", body=body, headers={"Content-Encoding": "deflate"})
            r = c.getresponse()
            r.read()
            self.assertEqual(r.status, 202)
            c.close()
            time.sleep(0.3)
        v = self.expvar(port)
        self.assertGreaterEqual(v["refused.max-connections-per-ip"], self.ATTACKERS - 200)
        self.assertEqual(v["incoming.success"], 3)
        stop.set()
        self.stop_ok(s)
        self.assertEqual(s.values("stats.counter.survived.count"), ["9"])


class FullServerTest(HardeningTestCase):
    def test_at_max_connections_a_slow_head_makes_room_for_a_new_client(self):
        # Attackers from many addresses can fill max-connections without any per-address cap
        # stopping them: the connection that has waited longest for its headers is closed to
        # make room, so /healthcheck is still answered.
        s, port = self.start_http("enable-expvar = true\nmax-connections = 50\n")
        attackers = []
        for i in range(50):
            a = connect(port, "127.0.1.%d" % (i + 1))
            self.addCleanup(a.close)
            a.sendall(b"GET /healthcheck HTTP/1.1\r\nHost: x\r\n")
            attackers.append(a)
        time.sleep(0.5)
        for _ in range(3):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.sock = connect(port, OTHER, timeout=5)
            c.request("GET", "/healthcheck")
            self.assertEqual(c.getresponse().status, 200)
            c.close()
        # The first attackers were the ones closed.
        self.assertEqual(read_until_closed(attackers[0], timeout=2), b"")
        # (Each answered client leaves a free place, so not every one needed an eviction.)
        self.assertGreaterEqual(self.expvar(port)["refused.max-connections"], 1)
        self.stop_ok(s)


class SaturatedIngestionTest(HardeningTestCase):
    def test_health_is_answered_while_every_ingestion_thread_is_busy(self):
        # One ingestion thread, kept busy by clients posting 32 MiB deflate bombs (each inflated
        # to the end before it is refused); the event loop answers /healthcheck meanwhile.
        s, port = self.start_http(INGESTION + "enable-expvar = true\ningestion-threads = 1\n")
        bomb = deflated_zeros(32 << 20)
        stop = threading.Event()
        self.addCleanup(stop.set)
        posted = []

        def flood():
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            while not stop.is_set():
                c.request("POST", "/v2/raw", body=bomb, headers={"Content-Encoding": "deflate"})
                r = c.getresponse()
                r.read()
                posted.append(r.status)
            c.close()

        threads = [threading.Thread(target=flood, daemon=True) for _ in range(6)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        for _ in range(10):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.sock = connect(port, OTHER, timeout=5)
            c.request("GET", "/healthcheck")
            self.assertEqual(c.getresponse().status, 200)
            c.close()
            time.sleep(0.1)
        stop.set()
        for t in threads:
            t.join(60)
        self.assertTrue(posted)
        # Zeros are not a RawMessageV2 (400); 503 if the ingestion memory budget was spent.
        self.assertLessEqual(set(posted), {400, 503}, posted)
        self.stop_ok(s)


class PerAddressCapTest(HardeningTestCase):
    def test_connections_beyond_the_per_address_cap_are_closed_and_counted(self):
        s, port = self.start_http("enable-expvar = true\nmax-connections-per-ip = 5\n",
                                  statser_type="internal", hostname="testhost")
        held = [connect(port) for _ in range(5)]
        for c in held:
            self.addCleanup(c.close)
        time.sleep(0.3)  # accepted and counted by the server
        extra = [connect(port) for _ in range(3)]
        for c in extra:
            self.addCleanup(c.close)
            self.assertEqual(read_until_closed(c, timeout=1.5), b"", "not closed at once")
        # The held ones still work; another address is not refused.
        held[0].sendall(b"GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertIn(b"200 OK", held[0].recv(4096))
        v = self.expvar(port)
        self.assertEqual(v["refused.max-connections-per-ip"], 3)
        self.assertEqual(v["max-connections-per-ip"], 5)
        # The internal metric, per flush interval.
        self.wait_sum(s, "stats.counter.statsd.http.refused.host.testhost."
                      "reason.max-connections-per-ip.server-name.main.s.testhost.count", 3)
        self.stop_ok(s)


class FramingTest(HardeningTestCase):
    CASES = [
        # (headers after the request line, body, the one answer wanted)
        (b"Content-Length: abc\r\n", b"GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (b"Content-Length: -1\r\n", b"GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (b"Content-Length: 1 2\r\n", b"", 400),
        (b"Content-Length: 5, 5\r\n", b"aaaaa", 400),
        (b"Content-Length: +5\r\n", b"aaaaa", 400),
        (b"Content-Length: 5\r\nContent-Length: 40\r\n",
         b"aaaaaGET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
         b"0\r\n\r\nGET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (b"Transfer-Encoding: chunked\r\n", b"zz\r\nabc\r\n0\r\n\r\n", 400),
        (b"Transfer-Encoding: chunked\r\n", b"-5\r\nabc\r\n0\r\n\r\n", 400),
        (b"Transfer-Encoding: gzip\r\n", b"abc", 501),
        (b"Content-Length: 99999999999999999999\r\n", b"", 413),  # beyond 64 bits
        # Far above max-request-body-size: answered at once, not read.
        (b"Content-Length: 1000000000\r\n", b"", 413),
    ]

    def test_bad_framing_is_400_and_the_connection_closes(self):
        s, port = self.start_http(INGESTION + "enable-expvar = true\n"
                                  "max-request-body-size = 1048576\n")
        for headers, body, want in self.CASES:
            for path in (b"/v2/raw", b"/healthcheck"):
                sock = connect(port)
                self.addCleanup(sock.close)
                started = time.monotonic()
                sock.sendall(b"POST " + path + b" HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n"
                             + body)
                data = read_until_closed(sock, timeout=4)
                case = (path, headers, body)
                self.assertIsNotNone(data, ("connection not closed", case))
                # The answer, and nothing else: the body was never parsed as a second request.
                # (libmicrohttpd 0.9.75 repeats the head of its own 400/413 inside the body of
                # the answer, hence a set.)
                self.assertEqual(set(statuses(data)), {want}, (data, case))
                self.assertNotIn(b'{"ok"', data, case)
                self.assertLess(time.monotonic() - started, 2.0, case)  # no stall
        # A body shorter than announced, then the client gives up: counted as a read failure.
        sock = connect(port)
        sock.sendall(b"POST /v2/raw HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
        time.sleep(0.2)
        sock.close()
        time.sleep(0.3)
        v = self.expvar(port)
        # Refused by our checks (bad-framing, or too-large on the ingestion route) or by
        # libmicrohttpd's parser (bad-head).
        self.assertEqual(v["refused.bad-framing"] + v["refused.bad-head"] +
                         v["incoming.failure.too-large"], 2 * len(self.CASES), v)
        self.assertEqual(v["incoming.failure.read"], 1, v)
        self.assertEqual(v["incoming.success"], 0, v)
        # Somewhat above the limit: read and dropped, answered 413, and the connection stays
        # usable (a client that writes its whole body before reading gets its answer).
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("POST", "/v2/raw", body=bytes(2 << 20))
        r = c.getresponse()
        self.assertEqual((r.status, r.read()), (413, b""))
        c.request("GET", "/healthcheck")
        self.assertEqual(c.getresponse().status, 200)
        c.close()
        # The server still serves well-formed requests.
        good = protoc_encode("RawMessageV2", counter_message("ok", 1))
        self.assertEqual(self.post(port, "/v2/raw", good)[0], 202)
        self.stop_ok(s)


class DeadlineTest(HardeningTestCase):
    def trickle_until_closed(self, sock, first, byte, every, timeout):
        """Sends `first`, then `byte` every `every` s until the server closes the connection;
        returns the seconds it took, or None after `timeout` s."""
        start = time.monotonic()
        sock.sendall(first)
        sock.settimeout(every)
        while time.monotonic() - start < timeout:
            try:
                if sock.recv(4096) == b"":
                    return time.monotonic() - start
            except socket.timeout:
                pass
            except ConnectionResetError:
                return time.monotonic() - start
            try:
                sock.sendall(byte)
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - start
        return None

    def test_deadlines_close_a_trickling_connection(self):
        s, port = self.start_http(INGESTION + "enable-expvar = true\nheader-timeout = \"2s\"\n"
                                  "request-timeout = \"4s\"\n")
        results = {}

        def head():  # headers, one byte every 0.5 s (less than the 5 s idle timeout)
            with connect(port) as c:
                results["head"] = self.trickle_until_closed(
                    c, b"POST /v2/raw HTTP/1.1\r\nHost: x\r\n", b"X", 0.5, 15)

        def body():  # headers at once, then the body one byte every 0.5 s
            with connect(port) as c:
                results["body"] = self.trickle_until_closed(
                    c, b"POST /v2/raw HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n", b"x",
                    0.5, 15)

        threads = [threading.Thread(target=head), threading.Thread(target=body)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertIsNotNone(results.get("head"), "the trickled headers were never cut off")
        self.assertIsNotNone(results.get("body"), "the trickled body was never cut off")
        self.assertGreaterEqual(results["head"], 1.5)  # not before its deadline
        self.assertGreaterEqual(results["body"], 3.5)
        v = self.expvar(port)
        self.assertEqual(v["refused.header-timeout"], 1, v)
        self.assertEqual(v["refused.request-timeout"], 1, v)
        self.assertEqual(v["incoming.failure.read"], 1, v)
        self.stop_ok(s)


if __name__ == "__main__":
    harness.main()
