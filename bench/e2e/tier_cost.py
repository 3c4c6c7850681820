#!/usr/bin/env python3
"""The cost of a two-tier deployment (docs/scaling.md): one forwarder (UDP in, [http-transport],
flush 1 s) posting to one aggregator, or sharding over several (`--aggregators N`:
api-endpoints) (/v2/raw ingestion, null backend, flush 1 s), under
cstatsd-loader's counters on loopback. Reports the forwarder's CPU per line and the aggregator's
series per CPU-second (the series in the forwarder's posts / the aggregator's CPU seconds).

  bench/e2e/tier_cost.py --build-dir build [--series 10000 100000] [--line-rate 2000000]
                         [--duration 10] [--runs 3] [--aggregators 1]
"""
import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary, args, logfile):
    p = subprocess.Popen([binary] + args, stdout=subprocess.DEVNULL, stderr=logfile)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with open(logfile.name, errors="replace") as f:
            if "cstatsd started" in f.read():
                return p
        time.sleep(0.05)
    p.kill()
    raise SystemExit(f"{binary} did not start: see {logfile.name}")


def logged_sum(path, name):
    rx = re.compile(r".*name=" + re.escape(name) + r" value=(\S+) .*")
    with open(path, errors="replace") as f:
        return sum(float(m.group(1)) for m in map(rx.fullmatch, f.read().splitlines()) if m)


def run_once(build, series, line_rate, duration, tmp, aggregators=1, compression=None):
    cstatsd = os.path.join(build, "bin", "cstatsd")
    loader = os.path.join(build, "bin", "cstatsd-loader")
    http_ports, udp_port = [free_port() for _ in range(aggregators)], free_port()
    aggs, logs = [], []
    for i, http_port in enumerate(http_ports):
        agg_conf = os.path.join(tmp, f"agg{i}.toml")
        with open(agg_conf, "w") as f:
            f.write(f'http-servers = ["ingest"]\n[http.ingest]\n'
                    f'address = "127.0.0.1:{http_port}"\nenable-ingestion = true\n')
        logs.append(open(os.path.join(tmp, f"agg{i}.log"), "w"))
        aggs.append(start(cstatsd, ["--backends", "null", "--metrics-addr", "127.0.0.1:0",
                                    "--flush-interval", "1s", "--statser-type", "logging",
                                    "--config-path", agg_conf], logs[-1]))
    fwd_conf = os.path.join(tmp, "fwd.toml")
    endpoints = ", ".join(f'"http://127.0.0.1:{p}"' for p in http_ports)
    with open(fwd_conf, "w") as f:
        # One aggregator: the single api-endpoint; several: the sharded forwarder.
        if aggregators == 1:
            f.write(f'[http-transport]\napi-endpoint = "http://127.0.0.1:{http_ports[0]}"\n')
        else:
            f.write(f"[http-transport]\napi-endpoints = [{endpoints}]\n")
        f.write('flush-interval = "1s"\n')
        if compression is not None:  # zlib (the default), lz4 or none
            f.write(f'compression-type = "{compression}"\n')
    fwd_log = open(os.path.join(tmp, "fwd.log"), "w")
    fwd = start(cstatsd, ["--server-mode", "forwarder", "--metrics-addr",
                          f"127.0.0.1:{udp_port}", "--statser-type", "null",
                          "--config-path", fwd_conf], fwd_log)
    try:
        time.sleep(1)
        a0, f0 = sum(cpu_seconds(a.pid) for a in aggs), cpu_seconds(fwd.pid)
        out = subprocess.run([loader, "-a", f"127.0.0.1:{udp_port}", "-c", "1",
                              "--counter-cardinality", str(series), "--sequential",
                              "--pool", str(max(2048, series // 20)), "--buffer-size", "675",
                              "--line-rate", str(line_rate), "--duration", str(duration),
                              "--json", "-q", "--sockets", "8"],
                             capture_output=True, text=True, check=True)
        time.sleep(2.5)  # the last posts and the aggregators' ingestion
        a1, f1 = sum(cpu_seconds(a.pid) for a in aggs), cpu_seconds(fwd.pid)
    finally:
        fwd.terminate()
        fwd.wait(30)
        time.sleep(1.5)
        for agg in aggs:
            agg.terminate()
            agg.wait(30)
        for log in logs:
            log.close()
        fwd_log.close()
    sent = json.loads(out.stdout.strip().splitlines()[-1])
    lines = sent.get("lines") or sent.get("lines_sent") or 0
    received = sum(logged_sum(os.path.join(tmp, f"agg{i}.log"), "statsd.http.incoming.metrics")
                   or 0 for i in range(aggregators)) or None
    return {"series": series, "aggregators": aggregators, "compression": compression or "zlib",
            "lines": lines, "fwd_cpu": f1 - f0, "agg_cpu": a1 - a0, "agg_series": received,
            "loader": sent}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--series", type=int, nargs="+", default=[10000, 100000])
    ap.add_argument("--line-rate", type=int, default=2000000)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--aggregators", type=int, default=1,
                    help="aggregators the forwarder shards over (api-endpoints when above 1)")
    a = ap.parse_args()
    for series in a.series:
        results = []
        for _ in range(a.runs):
            with tempfile.TemporaryDirectory(prefix="cstatsd-tier-") as tmp:
                results.append(run_once(a.build_dir, series, a.line_rate, a.duration, tmp,
                                        a.aggregators))
        fwd_ns = statistics.median(r["fwd_cpu"] / r["lines"] * 1e9 for r in results)
        agg_rate = statistics.median((r["agg_series"] or 0) / r["agg_cpu"] for r in results)
        print(json.dumps({"series": series, "aggregators": a.aggregators,
                          "line_rate": a.line_rate, "runs": a.runs,
                          "forwarder_ns_cpu_per_line": round(fwd_ns, 1),
                          "aggregator_series_per_cpu_s": round(agg_rate),
                          "raw": results}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
