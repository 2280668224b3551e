#!/usr/bin/env bash
# Rule-based detector throughput: `cotlens monitor` (JSONL parsing, views, all rules, records
# written) over ~200 MB of synthetic traces, one view, on one core (taskset), timed with
# /usr/bin/time -v; MB/s = input bytes / wall seconds.
# Usage: bash bench/monitor/run.sh [SIZE_MB]
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZE="${1:-200}"
W=target/bench/monitor
mkdir -p "$W"
cargo build --release -q -p cotlens
[ -f "$W/traces.jsonl" ] || python3 bench/monitor/make_traces.py "$SIZE" "$W/traces.jsonl"
BYTES=$(stat -c %s "$W/traces.jsonl")
for view in cot+action action; do
  rm -rf "$W/run"
  /usr/bin/time -v taskset -c 0 ./target/release/cotlens monitor --traces "jsonl:$W/traces.jsonl" --view "$view" --out "$W/run" > /dev/null 2> "$W/time.txt"
  python3 - "$W/time.txt" "$BYTES" "$view" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (.+)", t).group(1).split(":")
secs = float(wall[-1]) + 60 * float(wall[-2])
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
mb = int(sys.argv[2]) / 1e6
print(f"view {sys.argv[3]}: {mb:.0f} MB in {secs:.2f} s on one core = {mb / secs:.0f} MB/s, peak RSS {rss:.0f} MB")
PY
done
