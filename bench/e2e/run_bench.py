#!/usr/bin/env python3
"""End-to-end benchmark: the cstatsd server (null backend, or the one a scenario names) against
cstatsd-loader on loopback.

For each scenario the loader offers a fixed rate for a fixed time; the server's own counters
(parser.metrics_received, receiver.kernel_drops, logged by the `logging` statser) give what was
aggregated, /proc gives the server's CPU seconds and peak RSS. With --write the results go into
docs/performance.md between the markers, with the command, the machine and the date.

  bench/e2e/run_bench.py --build-dir build [--runs 3] [--write] [--smoke] [--only NAME]
"""
import argparse
import datetime
import json
import os
import platform
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

SCENARIOS = [
    {
        "name": "counters",
        "what": "counters, ~25 lines/datagram, 10,000 series",
        "loader": ["-c", "1", "--counter-cardinality", "10000", "--buffer-size", "675",
                   "--line-rate", "8000000"],
        "target": "≥ 8,000,000 lines/s with < 0.1 % loss; ≥ 10,000,000 lines per server CPU-s",
    },
    {
        "name": "counters-bursty",
        "what": "the counters load sent in bursts, as clients that flush together send: 64 "
                "datagrams back to back on each of the 8 sockets in turn, then a pause",
        "loader": ["-c", "1", "--counter-cardinality", "10000", "--buffer-size", "675",
                   "--burst", "64", "--line-rate", "8000000"],
        "target": "≥ 8,000,000 lines/s with < 0.1 % loss",
    },
    {
        "name": "one-line",
        "what": "one line per datagram, 1,000 series",
        # UDP segmentation offload: the loader's kernel send path runs once per 64 datagrams
        # instead of once per datagram; the server still receives 800,000 separate datagrams.
        "loader": ["-c", "1", "--counter-cardinality", "1000", "--buffer-size", "1",
                   "--gso", "64", "--rate", "800000"],
        "target": "≥ 800,000 datagrams/s with < 0.1 % loss",
    },
    {
        "name": "timers",
        "what": "timers, ~25 values/datagram, 10,000 series, p90 and p99",
        "loader": ["-t", "1", "--timer-cardinality", "10000", "--timer-value-limit", "1000",
                   "--buffer-size", "800", "--line-rate", "4000000"],
        "server": ["--percent-threshold", "90 99"],
        # An interval's values, 4 M/s × 1 s × 8 bytes = 32 MB, are held twice at most: those
        # being received and those being flushed (docs/performance.md#memory-per-series).
        "target": "≥ 4,000,000 values/s with < 0.1 % loss; peak RSS beyond the counters "
                  "scenario's ≤ 2 × the 32 MB of values an interval holds",
    },
    {
        "name": "tags",
        "what": "counters with 3 DogStatsD tags, ~25 lines/datagram, 9,990 series",
        "loader": ["-c", "1", "--counter-cardinality", "370", "--counter-tag-cardinality", "3",
                   "--counter-tag-cardinality", "3", "--counter-tag-cardinality", "3",
                   "--buffer-size", "1250", "--line-rate", "6000000"],
        "target": "at most 25 % below the counters figure: 6,000,000 lines/s with < 0.1 % loss",
    },
    {
        "name": "counters-prometheus",
        "what": "the counters scenario with the prometheus backend instead of null, scraped "
                "every second during the load",
        "loader": ["-c", "1", "--counter-cardinality", "10000", "--buffer-size", "675",
                   "--line-rate", "8000000"],
        "backends": "prometheus",
        "config": '[prometheus]\nlisten-address = "127.0.0.1:{port}"\n',
        "scrape": "/metrics",
        "target": "lines per server CPU-s within 10 % of the counters scenario (null backend)",
    },
    {
        "name": "million-series",
        "what": "1,000,000 live counter series (memory and flush time)",
        "loader": ["-c", "1", "--counter-cardinality", "1000000", "--sequential",
                   "--pool", "25000", "--buffer-size", "1400", "--line-rate", "3000000"],
        "series": 1000000,
        "target": "≤ 100 bytes of RSS per series; flush ≤ 1 s",
    },
    {
        "name": "million-series-prometheus",
        "what": "the million-series load with the prometheus backend, scraped (gzip) every second",
        "loader": ["-c", "1", "--counter-cardinality", "1000000", "--sequential",
                   "--pool", "25000", "--buffer-size", "1400", "--line-rate", "3000000"],
        "series": 1000000,
        "backends": "prometheus",
        "config": '[prometheus]\nlisten-address = "127.0.0.1:{port}"\n',
        "scrape": "/metrics",
        "target": "≤ 100 MB of RSS beyond the million-series scenario's (null backend) for the "
                  "exposition and its scrapes; a scrape and a flush's rendering ≤ 1 s of CPU",
    },
]


def measured_on():
    """"Measured <date> on <host>: <n> CPUs (<model>), Linux <release>" for a results block."""
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except Exception:
        pass
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    return (f"Measured {stamp} on {platform.node()}: {os.cpu_count()} CPUs ({cpu}), "
            f"Linux {platform.release()}")


def read_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def read_status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Scraper:
    """GETs a URL every second on a thread of its own, gzip-encoded, as a Prometheus server
    does."""

    def __init__(self, url):
        self.url, self.scrapes, self.bytes, self.errors = url, 0, 0, 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping.wait(1.0):
            try:
                req = urllib.request.Request(self.url, headers={"Accept-Encoding": "gzip"})
                with urllib.request.urlopen(req, timeout=5) as r:
                    self.bytes += len(r.read())
                    self.scrapes += 1
            except Exception:
                self.errors += 1

    def stop(self):
        self.stopping.set()
        self.thread.join(10)


class Server:
    def __init__(self, binary, extra, backends="null", config=None):
        self.args = [binary, "--backends", backends, "--metrics-addr", "127.0.0.1:0",
                     "--flush-interval", "1s", "--statser-type", "logging", "--hostname",
                     "bench", "--expiry-interval", "10m"] + extra
        self.config_file = None
        if config is not None:
            self.config_file = tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False)
            self.config_file.write(config)
            self.config_file.close()
            self.args += ["--config-path", self.config_file.name]
        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.port = None
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        if not self.ready.wait(10):
            self.proc.kill()
            raise RuntimeError("server did not start: " + "".join(self.lines[-20:]))

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line)
            m = re.search(r"cstatsd started .* port=(\d+)", line)
            if m:
                self.port = int(m.group(1))
                self.ready.set()

    def last_value(self, name):
        pat = re.compile(r"name=statsd\." + re.escape(name) + r" value=([0-9.e+]+)")
        for line in reversed(self.lines):
            m = pat.search(line)
            if m:
                return float(m.group(1))
        return None

    def max_value(self, name):
        pat = re.compile(r"name=statsd\." + re.escape(name) + r" value=([0-9.e+]+)")
        vals = [float(m.group(1)) for line in self.lines for m in [pat.search(line)] if m]
        return max(vals) if vals else None

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)
        self.reader.join(5)
        if self.config_file is not None:
            os.unlink(self.config_file.name)


def run_scenario(build, sc, duration, extra_loader, extra_server=(), server_bin=None):
    config, scrape_url = sc.get("config"), None
    if config is not None:
        port = free_port()
        config = config.format(port=port)
        if sc.get("scrape"):
            scrape_url = f"http://127.0.0.1:{port}{sc['scrape']}"
    srv = Server(server_bin or os.path.join(build, "bin", "cstatsd"),
                 sc.get("server", []) + list(extra_server),
                 sc.get("backends", "null"), config)
    scraper = None
    try:
        time.sleep(0.3)
        if scrape_url:
            scraper = Scraper(scrape_url)
        rss0 = read_status(srv.proc.pid, "VmRSS")
        cpu0 = read_cpu_seconds(srv.proc.pid)
        loader = [os.path.join(build, "bin", "cstatsd-loader"), "-a", f"127.0.0.1:{srv.port}",
                  "--duration", str(duration), "--json", "-q", "--sockets", "8"] + \
            sc["loader"] + extra_loader
        out = subprocess.run(loader, capture_output=True, text=True, timeout=duration + 60)
        if out.returncode != 0:
            raise RuntimeError("loader failed: " + out.stderr)
        sent = json.loads(out.stdout.strip().splitlines()[-1])
        time.sleep(0.5)  # the server finishes what is queued
        cpu = read_cpu_seconds(srv.proc.pid) - cpu0
        if scraper:
            scraper.stop()
        # The RSS that holds the series: the median of samples over two flush intervals after
        # the load, so that one sample taken while a flush builds its snapshot (a passing
        # 24 MB with a million series) does not decide the figure; the peak is reported apart.
        samples = []
        for _ in range(20):
            time.sleep(0.1)
            samples.append(read_status(srv.proc.pid, "VmRSS"))
        rss = statistics.median(samples)
        hwm = read_status(srv.proc.pid, "VmHWM")
    finally:
        srv.stop()
    received = srv.last_value("parser.metrics_received") or 0
    drops = srv.last_value("receiver.kernel_drops") or 0
    offered = sent["lines"]
    res = {
        "name": sc["name"],
        "offered_lines": offered,
        "seconds": sent["seconds"],
        "offered_lps": offered / sent["seconds"],
        "offered_dps": sent["datagrams"] / sent["seconds"],
        "received_lines": received,
        "aggregated_lps": received / sent["seconds"],
        "loss_pct": 100.0 * (offered - received) / offered if offered else 0.0,
        "kernel_drops": drops,
        "cpu_s": cpu,
        "lines_per_cpu_s": received / cpu if cpu > 0 else 0.0,
        "peak_rss_mb": hwm / 1e6,
        "flush_ms_max": srv.max_value("flusher.total_time") or 0.0,
        "command": " ".join(shlex.quote(a) for a in sc["loader"]),
    }
    if sc.get("series"):
        res["bytes_per_series"] = (rss - rss0) / sc["series"]
    if scraper:
        res["scrapes"] = scraper.scrapes
        res["scrape_errors"] = scraper.errors
        res["scrape_bytes"] = scraper.bytes // max(1, scraper.scrapes)
        if scraper.scrapes == 0:
            raise RuntimeError(f"{sc['name']}: no scrape of {scrape_url} succeeded")
    return res


def with_values(argv, values):
    """argv with the values of some flags replaced."""
    out = list(argv)
    for i, a in enumerate(out[:-1]):
        if a in values:
            out[i + 1] = values[a]
    return out


def median_run(results):
    key = lambda r: r["aggregated_lps"]
    ordered = sorted(results, key=key)
    return ordered[len(ordered) // 2]


def fmt_row(r):
    extra = ""
    if "bytes_per_series" in r:
        extra = f"{r['bytes_per_series']:.0f} B/series"
    if "scrapes" in r:
        extra = f"{r['scrapes']} scrapes of {r['scrape_bytes'] / 1e3:,.0f} kB"
    return (f"| {r['name']} | {r['offered_lps']:,.0f} | {r['offered_dps']:,.0f} | "
            f"{r['aggregated_lps']:,.0f} | {r['loss_pct']:.3f} % | {r['kernel_drops']:,.0f} | "
            f"{r['cpu_s']:.2f} | {r['lines_per_cpu_s']:,.0f} | {r['peak_rss_mb']:.0f} MB | "
            f"{r['flush_ms_max']:.0f} ms | {extra} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--smoke", action="store_true", help="1 s per scenario, one run, no thresholds")
    ap.add_argument("--only", action="append", default=[])
    ap.add_argument("--write", action="store_true", help="update docs/performance.md")
    ap.add_argument("--server-arg", action="append", default=[],
                    help="extra server flag for every scenario (repeat)")
    ap.add_argument("--server-bin", help="the cstatsd binary to measure (default: the build "
                    "directory's), e.g. an older copy to compare against")
    args = ap.parse_args()
    duration = 1.0 if args.smoke else args.duration
    runs = 1 if args.smoke else args.runs
    rows = []
    for sc in SCENARIOS:
        if args.only and sc["name"] not in args.only:
            continue
        extra = []
        if args.smoke and sc.get("series"):
            sc = dict(sc, series=20000, loader=with_values(
                sc["loader"], {"--counter-cardinality": "20000", "--pool": "500"}))
        results = [run_scenario(args.build_dir, sc, duration, extra, args.server_arg,
                                args.server_bin)
                   for _ in range(runs)]
        r = median_run(results)
        rows.append((sc, r))
        print(json.dumps(r), flush=True)
    header = ("| scenario | offered lines/s | offered datagrams/s | aggregated lines/s | loss | "
              "kernel drops | server CPU s | lines per CPU-s | peak RSS | max flush | memory |\n"
              "|---|---|---|---|---|---|---|---|---|---|---|")
    table = "\n".join([header] + [fmt_row(r) for _, r in rows])
    print(table)
    if args.smoke:
        bad = [r for _, r in rows if r["received_lines"] <= 0]
        if bad:
            print("smoke: a scenario aggregated nothing", file=sys.stderr)
            sys.exit(1)
        print(f"{len(rows)} passed, 0 failed")
        return
    if args.write:
        block = [f"{measured_on()}; server and loader on the same machine; "
                 f"median of {runs} runs of {duration:g} s each.", "",
                 "Command: `make bench` (`bench/e2e/run_bench.py --write`).", "", table, "",
                 "Loader arguments per scenario (plus `--duration`, `--sockets 8`):", ""]
        for sc, r in rows:
            block.append(f"* **{sc['name']}** ({sc['what']}; target {sc['target']}): "
                         f"`cstatsd-loader {r['command']}`" +
                         (f"; server `{' '.join(shlex.quote(a) for a in sc['server'])}`"
                          if sc.get("server") else ""))
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        path = os.path.join(root, "docs", "performance.md")
        text = open(path).read() if os.path.exists(path) else ""
        begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
        new = begin + "\n" + "\n".join(block) + "\n" + end
        if begin in text and end in text:
            text = text[:text.index(begin)] + new + text[text.index(end) + len(end):]
        else:
            text += "\n" + new + "\n"
        with open(path, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
