#!/usr/bin/env bash
# Legibility scanning throughput: `cotlens legibility` (JSONL parsing, all per-trace metrics,
# corpus counts, rising words, per-trace records written) on one core (taskset), beside the same
# measurements in a plain Python script (bench/legibility/baseline.py), on two ~200 MB inputs:
# the agent traces of the monitor benchmark (reasoning + code actions) and real English prose
# (MMLU sentences as reasoning). MB/s = input bytes / wall seconds, from /usr/bin/time -v.
# Usage: bash bench/legibility/run.sh [SIZE_MB]
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZE="${1:-200}"
W=target/bench/legibility
mkdir -p "$W" target/bench/monitor
cargo build --release -q -p cotlens
[ -f target/bench/monitor/traces.jsonl ] || python3 bench/monitor/make_traces.py "$SIZE" target/bench/monitor/traces.jsonl
[ -f "$W/english.jsonl" ] || python3 bench/legibility/make_traces.py "$SIZE" "$W/english.jsonl"
report() {
  python3 - "$1" "$2" "$3" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (.+)", t).group(1).split(":")
secs = float(wall[-1]) + 60 * float(wall[-2])
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
mb = int(sys.argv[2]) / 1e6
print(f"  {sys.argv[3]:<28} {mb:.0f} MB in {secs:6.2f} s on one core = {mb / secs:6.1f} MB/s, peak RSS {rss:.0f} MB")
PY
}
for input in target/bench/monitor/traces.jsonl "$W/english.jsonl"; do
  BYTES=$(stat -c %s "$input")
  echo "$input"
  rm -rf "$W/run"
  /usr/bin/time -v taskset -c 0 ./target/release/cotlens legibility "$input" --out "$W/run" > /dev/null 2> "$W/time.txt"
  report "$W/time.txt" "$BYTES" "cotlens legibility --out"
  /usr/bin/time -v taskset -c 0 python3 bench/legibility/baseline.py "$input" crates/cotlens-core/lexicon/en.tsv > /dev/null 2> "$W/time-py.txt"
  report "$W/time-py.txt" "$BYTES" "python baseline (zlib -1)"
done
