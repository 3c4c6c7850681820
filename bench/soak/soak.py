#!/usr/bin/env python3
"""Soak benchmark (not part of `make test`): cstatsd under steady well-behaved load while a
backend flaps and hostile clients attack, for a long time. See docs/limits.md.

What runs at once, all on loopback:
  * cstatsd (standalone) with the stdout backend (read by this script) and a graphite backend
    pointed at a fake Carbon that goes down and up every --flap seconds;
    an [http.main] server with health checks and ingestion;
  * cstatsd-loader sending counters (value 1 each) at --line-rate, in chunks of --chunk
    seconds, so the script knows exactly how many lines were sent;
  * slowloris: --slowloris connections from 127.0.0.3 to the HTTP server, each sending one
    header byte every 2 s (re-opened when the server closes them); the same against the TCP
    statsd input when --tcp is given;
  * a hostile HTTP client from 127.0.0.4: oversized headers, bad Content-Length values,
    decompression bombs, bodies with trailing bytes, garbage — in a loop;
  * probes: GET /healthcheck every second (latency), RSS every 5 s, and every flush's
    timestamp from the stdout backend.

It passes when: RSS stays flat (the highest sample of the last third of the run is at most
--rss-growth times the highest of the first third, after a warm-up), every /healthcheck answers
within 1 s, no flush overruns its interval (the server's flusher.overruns and flusher.total_time;
the gaps between flush outputs as this script reads them are reported too), and every
line the loader sent was counted at the stdout backend or as a kernel drop, with no kernel
drops at all at the default rate.

  bench/soak/soak.py --build-dir build [--duration 1800] [--line-rate 500000]
"""
import argparse
import http.client
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zlib

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes(pid):
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class FlappingCarbon:
    """A Carbon line receiver that is up for `period` seconds, then down (listener closed and
    every connection reset) for `period` seconds, and so on."""

    def __init__(self, port, period, stop):
        self.port, self.period, self.stop = port, period, stop
        self.lines = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            ls = socket.socket()
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            ls.bind(("127.0.0.1", self.port))
            ls.listen(16)
            ls.settimeout(0.2)
            conns = []
            up_until = time.monotonic() + self.period
            while time.monotonic() < up_until and not self.stop.is_set():
                try:
                    c, _ = ls.accept()
                    c.setblocking(False)
                    conns.append(c)
                except socket.timeout:
                    pass
                for c in list(conns):
                    try:
                        data = c.recv(1 << 16)
                        if not data:
                            conns.remove(c)
                            c.close()
                        else:
                            self.lines += data.count(b"\n")
                    except BlockingIOError:
                        pass
                    except OSError:
                        conns.remove(c)
            for c in conns:  # down: reset every connection
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                c.close()
            ls.close()
            self.stop.wait(self.period)


def slowloris(port, count, src, stop, stats):
    """`count` connections that each send one byte of a request header every 2 s."""
    socks = []
    header = b"POST /v2/raw HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 10_000

    def open_one():
        try:
            s = socket.socket()
            s.bind((src, 0))
            s.settimeout(1)
            s.connect(("127.0.0.1", port))
            s.setblocking(False)
            return [s, 0]
        except OSError:
            stats["slowloris_refused"] += 1
            return None

    while not stop.is_set():
        while len(socks) < count and not stop.is_set():
            c = open_one()
            if c is None:
                break
            socks.append(c)
        for entry in list(socks):
            s, pos = entry
            try:
                s.send(header[pos % len(header):pos % len(header) + 1])
                entry[1] += 1
            except OSError:
                stats["slowloris_closed_by_server"] += 1
                socks.remove(entry)
                s.close()
        stop.wait(2)
    for s, _ in socks:
        s.close()


def hostile_http(port, src, stop, stats):
    """Requests that break the rules, one after another."""
    bomb = zlib.compress(b"\0" * (200 << 20), 9)  # 200 MiB of zeros, ~200 KB deflated
    trailing = zlib.compress(b"") + b"garbage after the stream"
    attacks = [
        b"GET /healthcheck HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (4 << 20) + b"\r\n\r\n",
        b"POST /v2/raw HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\nGET / HTTP/1.1\r\n\r\n",
        b"POST /v2/raw HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"POST /v2/raw HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nabcde",
        b"POST /v2/raw HTTP/1.1\r\nHost: x\r\nContent-Encoding: deflate\r\nContent-Length: "
        + str(len(bomb)).encode() + b"\r\n\r\n" + bomb,
        b"POST /v2/raw HTTP/1.1\r\nHost: x\r\nContent-Encoding: deflate\r\nContent-Length: "
        + str(len(trailing)).encode() + b"\r\n\r\n" + trailing,
        b"POST /v2/raw HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzzzz\r\n",
        bytes(random.Random(1).getrandbits(8) for _ in range(4096)),
    ]
    i = 0
    while not stop.is_set():
        req = attacks[i % len(attacks)]
        i += 1
        try:
            s = socket.socket()
            s.bind((src, 0))
            s.settimeout(3)
            s.connect(("127.0.0.1", port))
            s.sendall(req)
            s.recv(4096)
            stats["hostile_requests"] += 1
        except OSError:
            stats["hostile_errors"] += 1
        finally:
            s.close()
        stop.wait(0.05)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--duration", type=int, default=1800, help="seconds")
    ap.add_argument("--line-rate", type=int, default=500000,
                    help="well-behaved counter lines per second (half the machine's capacity)")
    ap.add_argument("--chunk", type=int, default=60, help="seconds per loader run")
    ap.add_argument("--flap", type=float, default=20, help="seconds Carbon is up, then down")
    ap.add_argument("--slowloris", type=int, default=500, help="slow HTTP connections")
    ap.add_argument("--tcp", action="store_true", help="also slowloris the TCP statsd input")
    ap.add_argument("--rss-growth", type=float, default=1.2)
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()

    binary = os.path.join(args.build_dir, "bin", "cstatsd")
    loader = os.path.join(args.build_dir, "bin", "cstatsd-loader")
    stop = threading.Event()
    carbon_port, http_port = free_port(), free_port()
    udp_port = free_port(socket.SOCK_DGRAM)
    tcp_port = free_port()
    carbon = FlappingCarbon(carbon_port, args.flap, stop)
    tmp = tempfile.mkdtemp(prefix="cstatsd-soak-")
    cfg = os.path.join(tmp, "soak.toml")
    with open(cfg, "w") as f:
        f.write(f"""backends = ["stdout", "graphite"]
metrics-addr = "127.0.0.1:{udp_port}"
flush-interval = "1s"
expiry-interval = "10s"
hostname = "soak"
http-servers = ["main"]
[graphite]
address = "127.0.0.1:{carbon_port}"
[http.main]
address = "127.0.0.1:{http_port}"
enable-ingestion = true
enable-expvar = true
""")
        if args.tcp:
            f.write(f'metrics-tcp-addr = "127.0.0.1:{tcp_port}"\n')
    srv = subprocess.Popen([binary, "--config-path", cfg], stdout=subprocess.PIPE,
                           stderr=open(os.path.join(tmp, "stderr.log"), "w"), text=True)
    counted = {"lines": 0, "kernel_drops": 0.0, "flush_ts": [], "flush_ms_max": 0.0,
               "overruns": 0.0}
    prefix = "soak"

    def read_stdout():
        pat_count = re.compile(r"^stats\.counter\." + prefix + r"\S*\.count (\d+) (\d+)$")
        pat_drops = re.compile(r"receiver\.kernel_drops\S* ([0-9.e+]+) (\d+)$")
        pat_flush = re.compile(r"\.flusher\.total_time\S* ([0-9.e+]+) (\d+)$")
        pat_overrun = re.compile(r"\.flusher\.overruns\S* ([0-9.e+]+) (\d+)$")
        last_ts = None
        for line in srv.stdout:
            m = pat_count.match(line)
            if m:
                counted["lines"] += int(m.group(1))
            m = pat_drops.search(line)
            if m:
                counted["kernel_drops"] = max(counted["kernel_drops"], float(m.group(1)))
            m = pat_flush.search(line)
            if m:
                counted["flush_ms_max"] = max(counted["flush_ms_max"], float(m.group(1)))
            m = pat_overrun.search(line)
            if m:
                counted["overruns"] += float(m.group(1))
            ts = line.rsplit(" ", 1)[-1].strip()
            if ts.isdigit() and ts != last_ts:
                last_ts = ts
                counted["flush_ts"].append(time.monotonic())

    threading.Thread(target=read_stdout, daemon=True).start()
    time.sleep(1.5)
    if srv.poll() is not None:
        sys.exit("cstatsd did not start; see " + os.path.join(tmp, "stderr.log"))

    stats = {"slowloris_refused": 0, "slowloris_closed_by_server": 0, "hostile_requests": 0,
             "hostile_errors": 0}
    threading.Thread(target=slowloris, args=(http_port, args.slowloris, "127.0.0.3", stop, stats),
                     daemon=True).start()
    if args.tcp:
        threading.Thread(target=slowloris,
                         args=(tcp_port, args.slowloris, "127.0.0.3", stop, stats),
                         daemon=True).start()
    threading.Thread(target=hostile_http, args=(http_port, "127.0.0.4", stop, stats),
                     daemon=True).start()

    health, rss = [], []

    def probe():
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                c = http.client.HTTPConnection("127.0.0.1", http_port, timeout=5)
                c.request("GET", "/healthcheck")
                ok = c.getresponse().status == 200
                c.close()
            except OSError:
                ok = False
            health.append((time.monotonic() - t0, ok))
            if len(health) % 5 == 0:
                rss.append(rss_bytes(srv.pid))
            stop.wait(max(0.0, 1 - (time.monotonic() - t0)))

    threading.Thread(target=probe, daemon=True).start()

    sent = 0
    end = time.monotonic() + args.duration
    while time.monotonic() < end and srv.poll() is None:
        secs = max(1, min(args.chunk, int(end - time.monotonic())))
        out = subprocess.run([loader, "-a", f"127.0.0.1:{udp_port}", "--duration", str(secs),
                              "--json", "-q", "-c", "1", "--counter-cardinality", "100",
                              "--counter-value-limit", "0", "-p", prefix, "--buffer-size", "1400",
                              "--line-rate", str(args.line_rate)],
                             capture_output=True, text=True, timeout=secs + 60)
        sent += json.loads(out.stdout.strip().splitlines()[-1])["lines"]
        print(f"soak: {int(args.duration - (end - time.monotonic()))} s, sent {sent:,}, "
              f"counted {counted['lines']:,}, rss {rss[-1] / 1e6 if rss else 0:.0f} MB, "
              f"{stats}", flush=True)
    time.sleep(3)  # two more flushes
    stop.set()
    alive = srv.poll() is None
    if alive:
        srv.send_signal(signal.SIGTERM)
        srv.wait(30)
    time.sleep(0.5)

    gaps = [b - a for a, b in zip(counted["flush_ts"], counted["flush_ts"][1:])]
    third = max(1, len(rss) // 3)
    warm = rss[2:third + 2] or rss[:1]
    res = {
        "duration_s": args.duration,
        "alive_at_end": alive,
        "sent_lines": sent,
        "counted_lines": counted["lines"],
        "kernel_drops": counted["kernel_drops"],
        "rss_first_third_max_mb": max(warm) / 1e6 if warm else 0,
        "rss_last_third_max_mb": max(rss[-third:]) / 1e6 if rss else 0,
        "health_max_s": max((t for t, _ in health), default=0),
        "health_failed": sum(1 for _, ok in health if not ok),
        # The server's own account of its flushes: the longest flush and the flushes that ran
        # past the next tick (flusher.overruns).
        "flush_ms_max": counted["flush_ms_max"],
        "flush_overruns": counted["overruns"],
        # When this script saw each flush's output: includes its own reader thread's delays
        # (a Python thread among the slowloris ones), so it is reported, not checked.
        "max_flush_gap_s": max(gaps, default=0),
        "flush_gaps_over_1_5_s": sum(1 for g in gaps if g > 1.5),
        "carbon_lines": carbon.lines,
        **stats,
    }
    checks = {
        "alive": alive,
        "rss flat": res["rss_last_third_max_mb"] <= args.rss_growth * res["rss_first_third_max_mb"],
        "healthcheck within 1 s": res["health_max_s"] < 1 and res["health_failed"] == 0,
        "flushes on time": res["flush_overruns"] == 0 and res["flush_ms_max"] < 1000,
        "every line arrived": res["counted_lines"] == sent and res["kernel_drops"] == 0,
    }
    res["checks"] = checks
    print(json.dumps(res, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=2)
    sys.exit(0 if all(checks.values()) else 1)


if __name__ == "__main__":
    main()
