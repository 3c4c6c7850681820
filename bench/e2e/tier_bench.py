#!/usr/bin/env python3
"""The aggregator tier's own rate (docs/performance.md#tier-rate), part of `make bench`.

Under the same cstatsd-loader counter load on loopback (1 datagram of ~25 lines, `--sequential`
names, so every series is sent every second):

* tier: one forwarder (UDP in, [http-transport] flush 1 s, compression-type zlib, lz4 or none)
  posting /v2/raw to one aggregator (HTTP ingestion, null backend, flush 1 s), as
  bench/e2e/tier_cost.py runs them: the aggregator's series per CPU-second (the series its
  ingestion counted, http.incoming.metrics, over its process's CPU seconds) and the forwarder's
  CPU per line;
* standalone: one server (null backend, flush 1 s) under the same load: its CPU per line.

  bench/e2e/tier_bench.py --build-dir build [--series 10000 100000] [--line-rate 1000000]
                          [--duration 10] [--runs 3] [--write] [--smoke]

--write replaces the table between the tier-bench markers of docs/performance.md; --smoke runs
each case once for 1 s over a few series and fails only if the aggregator received nothing.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_bench  # noqa: E402
import tier_cost  # noqa: E402

COMPRESSIONS = ["zlib", "lz4", "none"]
BEGIN, END = "<!-- tier-bench:begin -->", "<!-- tier-bench:end -->"


def loader_args(series, line_rate, duration):
    # What tier_cost.run_once sends, so both halves see the same load.
    return ["-c", "1", "--counter-cardinality", str(series), "--sequential",
            "--pool", str(max(2048, series // 20)), "--buffer-size", "675",
            "--line-rate", str(line_rate), "--duration", str(duration), "--json", "-q",
            "--sockets", "8"]


def run_standalone(build, series, line_rate, duration, tmp):
    cstatsd = os.path.join(build, "bin", "cstatsd")
    loader = os.path.join(build, "bin", "cstatsd-loader")
    port = tier_cost.free_port()
    log = open(os.path.join(tmp, "standalone.log"), "w")
    srv = tier_cost.start(cstatsd, ["--backends", "null", "--metrics-addr", f"127.0.0.1:{port}",
                                    "--flush-interval", "1s", "--statser-type", "null"], log)
    try:
        time.sleep(1)
        c0 = tier_cost.cpu_seconds(srv.pid)
        out = subprocess.run([loader, "-a", f"127.0.0.1:{port}"] +
                             loader_args(series, line_rate, duration),
                             capture_output=True, text=True, check=True)
        time.sleep(2.5)  # as the tier: the flushes after the load
        c1 = tier_cost.cpu_seconds(srv.pid)
    finally:
        srv.terminate()
        srv.wait(30)
        log.close()
    sent = json.loads(out.stdout.strip().splitlines()[-1])
    return {"lines": sent.get("lines") or sent.get("lines_sent") or 0, "cpu": c1 - c0}


def median(values):
    return statistics.median(values) if values else 0.0


def spread(values):
    return f" ({min(values):,.0f}–{max(values):,.0f})" if len(values) > 1 else ""


def measure(a, series):
    rows = {}
    for comp in COMPRESSIONS:
        results = []
        for _ in range(a.runs):
            with tempfile.TemporaryDirectory(prefix="cstatsd-tier-") as tmp:
                results.append(tier_cost.run_once(a.build_dir, series, a.line_rate, a.duration,
                                                  tmp, 1, comp))
        rates = [(r["agg_series"] or 0) / r["agg_cpu"] for r in results if r["agg_cpu"] > 0]
        fwd = [r["fwd_cpu"] / r["lines"] * 1e9 for r in results if r["lines"]]
        rows[comp] = {"agg_series_per_cpu_s": median(rates), "agg_rates": rates,
                      "agg_series": median([r["agg_series"] or 0 for r in results]),
                      "agg_cpu_s": median([r["agg_cpu"] for r in results]),
                      "fwd_ns_per_line": median(fwd), "fwd_ns": fwd, "raw": results}
        print(json.dumps({"case": f"tier-{comp}", "series": series, **{k: v for k, v in rows[comp].items()
                                                      if k != "raw"}}), flush=True)
    results = []
    for _ in range(a.runs):
        with tempfile.TemporaryDirectory(prefix="cstatsd-standalone-") as tmp:
            results.append(run_standalone(a.build_dir, series, a.line_rate, a.duration, tmp))
    ns = [r["cpu"] / r["lines"] * 1e9 for r in results if r["lines"]]
    rows["standalone"] = {"ns_per_line": median(ns), "ns": ns, "raw": results}
    print(json.dumps({"case": "standalone", "series": series, "ns_per_line": rows["standalone"]["ns_per_line"],
                      "ns": ns}), flush=True)
    return rows


def table(by_series):
    out = ["| series | forwarder compression | aggregator series per CPU-s | aggregator CPU s | "
           "forwarder CPU per line | standalone server CPU per line | forwarder / standalone |",
           "|---|---|---|---|---|---|---|"]
    for series, rows in by_series.items():
        alone = rows["standalone"]["ns_per_line"]
        for comp in COMPRESSIONS:
            r = rows[comp]
            ratio = r["fwd_ns_per_line"] / alone if alone else 0
            out.append(f"| {series:,} | {comp} | "
                       f"{r['agg_series_per_cpu_s']:,.0f}{spread(r['agg_rates'])} | "
                       f"{r['agg_cpu_s']:.2f} | {r['fwd_ns_per_line']:.0f} ns{spread(r['fwd_ns'])}"
                       f" | {alone:.0f} ns{spread(rows['standalone']['ns'])} | {ratio:.2f}× |")
    return "\n".join(out)


def write_doc(a, text):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.path.join(root, "docs", "performance.md")
    doc = open(path).read()
    if BEGIN not in doc or END not in doc:
        print(f"no {BEGIN} ... {END} in {path}: not written", file=sys.stderr)
        return
    block = (f"{run_bench.measured_on()}; loader, forwarder and aggregator on the same machine; "
             f"{a.line_rate:,} lines/s offered for {a.duration:g} s; "
             f"medians of {a.runs} runs (range in brackets).\n\n"
             f"Command: `make bench` (`bench/e2e/tier_bench.py --write`).\n\n{text}\n")
    head, rest = doc.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    with open(path, "w") as f:
        f.write(f"{head}{BEGIN}\n{block}{END}{tail}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--series", type=int, nargs="+", default=[10000, 100000])
    ap.add_argument("--line-rate", type=int, default=1000000)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--write", action="store_true", help="update docs/performance.md")
    ap.add_argument("--smoke", action="store_true",
                    help="1 s per case, one run, 10,000 series, no thresholds")
    a = ap.parse_args()
    if a.smoke:
        a.series, a.line_rate, a.duration, a.runs, a.write = [10000], 200000, 1.0, 1, False
    by_series = {series: measure(a, series) for series in a.series}
    text = table(by_series)
    print(text)
    if a.smoke:
        rows = by_series[a.series[0]]
        empty = [c for c in COMPRESSIONS if not rows[c]["agg_series"]]
        if empty or not rows["standalone"]["ns_per_line"]:
            print(f"smoke: nothing reached the aggregator with {empty} or the standalone server",
                  file=sys.stderr)
            return 1
        print(f"{len(COMPRESSIONS) + 1} passed, 0 failed")
        return 0
    if a.write:
        write_doc(a, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
