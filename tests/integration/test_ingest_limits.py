"""HTTP ingestion within its limits (issue 14, item 2; docs/limits.md "HTTP ingestion"): the
amplifying bodies that are small as sent and within max-request-body-size once inflated.

A 65 KB deflated /v2/raw body holding one counter with 33 million empty tags inflates to 66 MB;
decoded with protobuf's generated parser it peaked at 2.9 GB and left 1.05 GB resident (three at
once: 6.6 GB). Now it is refused (413, counted as http.incoming failure:limit) and the server's
resident memory stays below a generous bound, at the peak (VmHWM) and afterwards (VmRSS). Bytes
after the end of a zlib or lz4 stream are refused (400, failure:decompress). The bodies are built
with the protobuf wire format by hand; the RSS bounds are behaviour, not timing."""

import json
import threading
import zlib

import harness
import test_http
from test_http import INGESTION, HttpTestCase

# Generous: the server idles at a few MB; the body itself is 66 MB once inflated.
RSS_BOUND_KB = 300 * 1024


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def field_len(field, data):
    return varint((field << 3) | 2) + varint(len(data)) + data


def one_counter(name, series):
    """RawMessageV2 { Counters: { name: { TagMap: { "k": <series bytes> } } } }."""
    entry = field_len(1, field_len(1, b"k") + field_len(2, series))
    return field_len(1, field_len(1, name) + field_len(2, entry))


def empty_tags_bomb(tags=33_000_000):
    """One counter with `tags` empty tags: 2 bytes each on the wire, ~66 MB, ~65 KB deflated."""
    body = one_counter(b"bomb", b"\x0a\x00" * tags + b"\x18\x01")
    assert len(body) < 64 << 20, len(body)
    return zlib.compress(body, 9)


def proc_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError(f"{key} not in /proc/{pid}/status")


class IngestLimitsTest(HttpTestCase):
    def expvar(self, port):
        status, data, _ = self.request(port, "GET", "/expvar")
        self.assertEqual(status, 200)
        return json.loads(data)["cstatsd"]["http"]["main"]

    def test_empty_tags_bomb_is_refused_and_memory_stays_bounded(self):
        s, port = self.start_http(INGESTION + "enable-expvar = true\n",
                                  statser_type="internal", hostname="testhost")
        bomb = empty_tags_bomb()
        self.assertLess(len(bomb), 100_000)
        status, _, _ = self.post(port, "/v2/raw", bomb, "deflate")
        self.assertEqual(status, 413, s.describe())
        pid = s.proc.pid
        peak, after = proc_kb(pid, "VmHWM"), proc_kb(pid, "VmRSS")
        self.assertLess(peak, RSS_BOUND_KB, f"peak RSS {peak} kB")
        self.assertLess(after, RSS_BOUND_KB, f"RSS after {after} kB")

        # Three at once.
        results = []

        def send():
            results.append(self.post(port, "/v2/raw", bomb, "deflate")[0])

        threads = [threading.Thread(target=send) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(sorted(results), [413, 413, 413])
        peak3, after3 = proc_kb(pid, "VmHWM"), proc_kb(pid, "VmRSS")
        self.assertLess(peak3, RSS_BOUND_KB, f"peak RSS {peak3} kB with three at once")
        self.assertLess(after3, RSS_BOUND_KB, f"RSS after {after3} kB")
        print(f"empty-tags bomb: deflated {len(bomb)} B; RSS peak {peak} kB, after {after} kB; "
              f"three at once: peak {peak3} kB, after {after3} kB")

        # Counted, and the server still ingests.
        v = self.expvar(port)
        self.assertEqual(v["incoming.failure.limit"], 4)
        self.assertEqual(v["incoming.failure.over-budget"], 0)
        self.assertEqual(v["ingest.bytes-in-flight"], 0)
        status, _, _ = self.post(port, "/v2/raw", one_counter(b"after_bomb", b"\x18\x07"))
        self.assertEqual(status, 202)
        self.assertMetric(s, "stats.counter.after_bomb.count", "7")
        self.wait_sum(s, "stats.counter.statsd.http.incoming.failure.limit.host.testhost.result."
                      "failure.server-name.main.s.testhost.count", 4)
        self.stop_ok(s)

    def test_event_with_millions_of_tags_is_refused(self):
        s, port = self.start_http(INGESTION)
        body = zlib.compress(field_len(1, b"title") + b"\x3a\x00" * 30_000_000, 9)
        status, _, _ = self.post(port, "/v2/event", body, "deflate")
        self.assertEqual(status, 413, s.describe())
        self.assertLess(proc_kb(s.proc.pid, "VmHWM"), RSS_BOUND_KB)
        self.stop_ok(s)

    def test_distinct_set_members_are_bounded_per_request(self):
        # 2 sets of 600,000 distinct members each (within max-ingest-set-members): 1.2 million
        # members in one request would hold ~85 MB of aggregation state from a 2 MB body.
        s, port = self.start_http(INGESTION + "enable-expvar = true\n")
        alpha = b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

        def member(i):
            return bytes(alpha[(i // 62 ** k) % 62] for k in range(4))

        def set_of(name, first, n):
            members = b"".join(field_len(3, member(i)) for i in range(first, first + n))
            entry = field_len(1, field_len(1, b"k") + field_len(2, members))
            return field_len(3, field_len(1, name) + field_len(2, entry))

        body = zlib.compress(set_of(b"a", 0, 600_000) + set_of(b"b", 600_000, 600_000), 6)
        status, _, _ = self.post(port, "/v2/raw", body, "deflate")
        self.assertEqual(status, 413, s.describe())
        self.assertEqual(self.expvar(port)["incoming.failure.limit"], 1)
        self.assertLess(proc_kb(s.proc.pid, "VmHWM"), RSS_BOUND_KB)
        body = zlib.compress(set_of(b"a", 0, 1000) + set_of(b"b", 0, 1000), 6)
        self.assertEqual(self.post(port, "/v2/raw", body, "deflate")[0], 202)
        self.assertMetric(s, "stats.set.a", "1000")
        self.stop_ok(s)

    def test_a_request_that_alone_exceeds_max_ingest_memory_is_413(self):
        # The budget counts decompressed bytes as they are written: the bomb stops at 1 MiB
        # instead of inflating to 66 MB, and what it took is given back.
        s, port = self.start_http(INGESTION + "enable-expvar = true\nmax-ingest-memory = 1048576\n")
        status, _, headers = self.post(port, "/v2/raw", empty_tags_bomb(), "deflate")
        self.assertEqual(status, 413, s.describe())
        self.assertNotIn("Retry-After", headers)
        v = self.expvar(port)
        self.assertEqual(v["incoming.failure.too-large"], 1)
        self.assertEqual(v["ingest.bytes-in-flight"], 0)
        self.assertEqual(v["max-ingest-memory"], 1048576)
        self.assertLess(proc_kb(s.proc.pid, "VmHWM"), 100 * 1024)
        self.assertEqual(self.post(port, "/v2/raw", one_counter(b"small", b"\x18\x01"))[0], 202)
        self.stop_ok(s)

    def test_bytes_after_the_compressed_stream_are_refused(self):
        s, port = self.start_http(INGESTION + "enable-expvar = true\n")
        body = one_counter(b"trail", b"\x18\x01")
        for encoding, packed in (("deflate", zlib.compress(body)),
                                 ("lz4", test_http.lz4_frame(body))):
            self.assertEqual(self.post(port, "/v2/raw", packed, encoding)[0], 202)
            for tail in (b"x", b"\n", packed):
                status, _, _ = self.post(port, "/v2/raw", packed + tail, encoding)
                self.assertEqual(status, 400, f"{encoding} + {tail!r}")
        v = self.expvar(port)
        self.assertEqual(v["incoming.failure.decompress"], 6)
        self.assertEqual(v["incoming.success"], 2)
        self.assertMetric(s, "stats.counter.trail.count", "2")
        self.stop_ok(s)

    def test_limits_are_configurable_and_checked(self):
        s, port = self.start_http(INGESTION + "max-ingest-tags = 2\nmax-ingest-series = 1\n")
        two_tags = one_counter(b"c", b"\x0a\x01a\x0a\x01b\x18\x01")
        self.assertEqual(self.post(port, "/v2/raw", two_tags)[0], 202)
        three = one_counter(b"c", b"\x0a\x01a\x0a\x01b\x0a\x01c\x18\x01")
        self.assertEqual(self.post(port, "/v2/raw", three)[0], 413)
        self.assertEqual(self.post(port, "/v2/raw", two_tags + two_tags)[0], 413)
        self.stop_ok(s)
        path = f"{self.dir}/bad.toml"
        with open(path, "w") as f:
            f.write('http-servers = ["main"]\n[http.main]\nmax-ingest-tags = 0\n')
        r = self.run_binary(["--config-path", path])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("http.main.max-ingest-tags", r.stderr)


if __name__ == "__main__":
    harness.main()
