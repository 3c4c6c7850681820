#!/usr/bin/env bash
# Instructions per call of one function while a Google Benchmark runs, counted by callgrind:
# repeatable on a noisy machine, unlike wall time.
# Usage: bench/callgrind_ir.sh <bench binary> <benchmark filter> <function, e.g.
#        cstatsd::ingest::Worker::ProcessDatagram>
set -euo pipefail
bin=$1
filter=$2
fn=$3
out=$(mktemp -d)
# "<fn>(*)": the function itself, whatever its parameters, but not a lambda defined in it (whose
# name starts the same and ends in "const"): entering a second matching function would toggle
# the collection off again and leave that function's work out.
valgrind --tool=callgrind --callgrind-out-file="$out/cg" --toggle-collect="${fn}(*)" "$bin" \
  --benchmark_filter="$filter" --benchmark_min_time=${MIN_TIME:-1} >"$out/stdout" 2>"$out/stderr"
python3 - "$out/cg" "$fn" <<'PY'
import re, sys
path, fn = sys.argv[1], sys.argv[2]
total = 0
calls = 0
names = {}
cur_cfn = None
pending_calls = None
for line in open(path):
    line = line.rstrip("\n")
    m = re.match(r"^(c?fn)=\((\d+)\)(?: (.*))?$", line)
    if m:
        kind, ident, name = m.groups()
        if name:
            names[ident] = name
        if kind == "cfn":
            cur_cfn = names.get(ident, "")
        continue
    m = re.match(r"^calls=(\d+)", line)
    if m and cur_cfn is not None and cur_cfn.startswith(fn + "(") and cur_cfn.endswith(")"):
        calls += int(m.group(1))
    if line.startswith("summary:") or line.startswith("totals:"):
        total = int(line.split()[1])
print(f"{fn}: {total} instructions in {calls} calls = {total / max(calls, 1):.1f} per call")
PY
rm -rf "$out"
