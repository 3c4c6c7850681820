"""--capture and cstatsd-loader --replay end to end (docs/capture.md): server A records the
datagrams two client sockets send, with their sources, payloads and order, into a pcapng file of
mode 0600 (read here by a reader of its own, not cstatsd's); the loader replays the file into
server B, which then counts exactly the values A counted. With a tiny capture-max-size the file
rotates and only capture-files files are kept, and a replay of the rotated files in any order
sends them oldest first. Bad values and paths are refused naming the key."""

import json
import os
import re
import shutil
import socket
import stat
import struct
import subprocess
import tempfile
import time

import harness
from harness import ServerTestCase


def read_pcapng(path):
    """The packets of a pcapng file as dicts: time_ns, src, sport, dst, dport, payload (UDP over
    IPv4 on LINKTYPE_RAW), or src="unix:<comment>" (LINKTYPE_USER0). Checks the framing."""
    with open(path, "rb") as f:
        data = f.read()
    out, links, at = [], [], 0
    while at < len(data):
        btype, blen = struct.unpack_from("<II", data, at)
        assert blen % 4 == 0 and at + blen <= len(data), (path, at, blen)
        assert struct.unpack_from("<I", data, at + blen - 4)[0] == blen
        body = data[at + 8:at + blen - 4]
        if btype == 0x0A0D0D0A:
            assert struct.unpack_from("<I", body, 0)[0] == 0x1A2B3C4D
            links = []
        elif btype == 1:
            link = struct.unpack_from("<H", body, 0)[0]
            tsresol = None
            o = 8
            while o + 4 <= len(body):
                code, olen = struct.unpack_from("<HH", body, o)
                if code == 0:
                    break
                if code == 9:
                    tsresol = body[o + 4]
                o += 4 + olen + (-olen % 4)
            assert tsresol == 9, tsresol  # nanoseconds
            links.append(link)
        elif btype == 6:
            iface, hi, lo, caplen, origlen = struct.unpack_from("<IIIII", body, 0)
            assert caplen == origlen
            pkt = body[20:20 + caplen]
            rec = {"time_ns": hi << 32 | lo}
            if links[iface] == 101:
                assert pkt[0] == 0x45 and pkt[9] == 17, pkt[:20]
                total = struct.unpack_from(">H", pkt, 2)[0]
                assert total == len(pkt)
                rec["src"] = socket.inet_ntoa(pkt[12:16])
                rec["dst"] = socket.inet_ntoa(pkt[16:20])
                rec["sport"], rec["dport"], ulen = struct.unpack_from(">HHH", pkt, 20)
                assert ulen == len(pkt) - 20
                rec["payload"] = pkt[28:]
            else:
                assert links[iface] == 147
                rec["src"] = "unix"
                rec["payload"] = pkt
            out.append(rec)
        at += blen
    return out


def counted(lines, kind, name, stat_name=None):
    """The values of stdout lines stats.<kind>.<name>[.<tags>][.<stat_name>] summed over
    flushes."""
    suffix = r"\." + re.escape(stat_name) if stat_name else ""
    pat = re.compile(r"stats\." + kind + r"\." + re.escape(name) + r"(?:\.\S+)?" + suffix +
                     r" (\S+) \d+")
    return sum(float(m.group(1)) for m in map(pat.fullmatch, lines) if m)


def last_gauge(lines, name):
    pat = re.compile(r"stats\.gauge\." + re.escape(name) + r"(?:\.\S+)? (\S+) \d+")
    vals = [float(m.group(1)) for m in map(pat.fullmatch, lines) if m]
    return vals[-1] if vals else None


class CaptureReplayTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="cstatsd_capture_")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def replay(self, server, *files, speed="0"):
        out = subprocess.run(
            [harness.loader_bin(), "-a", f"127.0.0.1:{server.port}", "--json", "--replay",
             *files, "--speed", speed], capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr + out.stdout)
        summary = json.loads(out.stdout.strip().splitlines()[-1])
        self.assertEqual(summary["errors"], 0, summary)
        return summary

    def test_capture_then_replay_counts_the_same(self):
        path = os.path.join(self.dir, "a.pcapng")
        a = self.start_standard(capture=path)
        first = [b"cap.a:1|c\ncap.b:2|c", b"cap.t:5|ms", b"cap.g:7|g", b"cap.bad-line"]
        second = [b"cap.a:3|c", b"cap.s:x|s", b"cap.s:y|s\ncap.t:15|ms"]
        before = time.time_ns()
        for d in first[:2]:
            a.send(d)
        a.send(second[0], source="127.0.0.2")
        a.send(*first[2:])
        a.send(*second[1:], source="127.0.0.2")
        a.sync()  # every datagram above has been received and aggregated
        after = time.time_ns()
        ports = {src: a._udp[src].getsockname()[1] for src in (None, "127.0.0.2")}
        self.stop_ok(a)
        out_a = a.lines()

        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        packets = read_pcapng(path)
        by_source = {}
        for p in packets:
            self.assertEqual(p["dport"], a.port)
            self.assertEqual(p["dst"], "127.0.0.1")
            self.assertTrue(before <= p["time_ns"] <= after, (before, p["time_ns"], after))
            by_source.setdefault((p["src"], p["sport"]), []).append(p)
        one = by_source.pop(("127.0.0.1", ports[None]))
        two = by_source.pop(("127.0.0.2", ports["127.0.0.2"]))
        self.assertEqual(by_source, {})  # no other sender
        # Each sender's datagrams, in the order sent (the last of the first is the sync gauge).
        self.assertEqual([p["payload"] for p in one[:-1]], first)
        self.assertRegex(one[-1]["payload"].decode(), r"zzsync:\d+\|g")
        self.assertEqual([p["payload"] for p in two], second)
        for seq in (one, two):
            times = [p["time_ns"] for p in seq]
            self.assertEqual(times, sorted(times))

        b = self.start_standard()
        summary = self.replay(b, path)
        self.assertEqual(summary["datagrams"], len(packets))
        self.assertEqual(summary["bytes"], sum(len(p["payload"]) for p in packets))
        self.assertEqual(summary["files"], 1)
        b.sync()
        self.stop_ok(b)
        out_b = b.lines()
        expect = [("counter", "cap.a", "count", 4), ("counter", "cap.b", "count", 2),
                  ("timers", "cap.t", "count", 2), ("timers", "cap.t", "sum", 20),
                  ("set", "cap.s", None, 2)]
        for kind, name, stat_name, value in expect:
            self.assertEqual(counted(out_a, kind, name, stat_name), value, (kind, name))
            self.assertEqual(counted(out_b, kind, name, stat_name), value, (kind, name))
        self.assertEqual(last_gauge(out_a, "cap.g"), 7)
        self.assertEqual(last_gauge(out_b, "cap.g"), 7)

    def test_rotation_keeps_capture_files_and_replays_oldest_first(self):
        path = os.path.join(self.dir, "r.pcapng")
        # Header 76 bytes + one 200-byte datagram's block (12 + 20 + 28 + 200): one per file.
        a = self.start_standard(capture=path, capture_max_size=400, capture_files=3)
        for i in range(10):
            a.send(f"rot:{i}|g\n".encode() + b"#" * (200 - len(f"rot:{i}|g\n")))
        a.sync()
        self.stop_ok(a)
        names = sorted(os.listdir(self.dir))
        self.assertEqual(names, ["r.pcapng", "r.pcapng.1", "r.pcapng.2"])
        payloads = []
        for suffix in (".2", ".1", ""):
            f = path + suffix
            self.assertLessEqual(os.path.getsize(f), 400, f)
            self.assertEqual(stat.S_IMODE(os.stat(f).st_mode), 0o600)
            payloads += [p["payload"] for p in read_pcapng(f)]
        # The newest three datagrams survive: the last two rot lines and the sync gauge.
        self.assertEqual([p.split(b"\n")[0] for p in payloads],
                         [b"rot:8|g", b"rot:9|g", payloads[-1].split(b"\n")[0]])
        self.assertRegex(payloads[-1].decode(), r"zzsync:\d+\|g")

        # Named newest first, replayed oldest first: the gauge ends at the last value sent.
        b = self.start_standard()
        summary = self.replay(b, path, path + ".1", path + ".2")
        self.assertEqual((summary["files"], summary["datagrams"]), (3, 3))
        b.sync()
        self.stop_ok(b)
        self.assertEqual(last_gauge(b.lines(), "rot"), 9)

    def test_unix_datagrams_are_captured_and_replayed(self):
        path = os.path.join(self.dir, "u.pcapng")
        a = self.start_standard(metrics_addr=os.path.join(self.dir, "metrics.sock"), capture=path)
        sent = [b"unix.a:2|c", b"unix.a:5|c\nunix.g:3|g"]
        a.send(*sent)
        a.sync()
        self.stop_ok(a)
        packets = read_pcapng(path)  # LINKTYPE_USER0: the bytes as they came
        self.assertEqual([p["src"] for p in packets], ["unix"] * 3)
        # Every worker reads the one unix socket: the file need not keep the order of sending.
        payloads = [p["payload"] for p in packets]
        self.assertEqual(sorted(p for p in payloads if p.startswith(b"unix.")), sorted(sent))
        self.assertEqual(len([p for p in payloads if p.startswith(b"zzsync:")]), 1)

        b = self.start_standard()
        self.assertEqual(self.replay(b, path)["datagrams"], 3)
        b.sync()
        self.stop_ok(b)
        self.assertEqual(counted(b.lines(), "counter", "unix.a", "count"), 7)
        self.assertEqual(last_gauge(b.lines(), "unix.g"), 3)

    def test_bad_values_are_refused_naming_the_key(self):
        for flag, value, key in (("--capture-max-size", "0", "capture-max-size"),
                                 ("--capture-max-size", "-5", "capture-max-size"),
                                 ("--capture-files", "0", "capture-files")):
            out = subprocess.run([harness.cstatsd_bin(), "--check-config", flag, value],
                                 capture_output=True, text=True, timeout=30)
            self.assertNotEqual(out.returncode, 0, (flag, value))
            self.assertIn(key, out.stderr + out.stdout, (flag, value))
        missing = os.path.join(self.dir, "no", "such", "dir", "c.pcapng")
        for check in (["--check-config"], []):  # checked, and at start
            out = subprocess.run([harness.cstatsd_bin(), *check, "--backends", "stdout",
                                  "--metrics-addr", "127.0.0.1:0", "--capture", missing],
                                 capture_output=True, text=True, timeout=30)
            self.assertNotEqual(out.returncode, 0, check)
            self.assertIn("capture", out.stderr, check)
            self.assertIn(os.path.dirname(missing), out.stderr, check)

    def test_replay_refuses_a_file_that_is_not_a_capture(self):
        bad = os.path.join(self.dir, "lines.txt")
        with open(bad, "w") as f:
            f.write("metric:1|c\n")
        out = subprocess.run([harness.loader_bin(), "-a", "127.0.0.1:9", "--replay", bad],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 2)
        self.assertIn(bad, out.stderr)


if __name__ == "__main__":
    harness.main()
