#!/usr/bin/env bash
# Legibility scanning throughput: `cotlens legibility` (JSONL parsing, all per-trace metrics,
# corpus counts, rising words, per-trace records written) on one core (taskset), beside the same
# measurements in a plain Python script (bench/legibility/baseline.py), on two ~200 MB inputs:
# the agent traces of the monitor benchmark (reasoning + code actions) and real English prose
# (MMLU sentences as reasoning).
# cotlens: hyperfine, 1 warm-up + RUNS timed runs (this machine is a shared VM: single runs vary
# by up to 30%), MB/s from the median, with the fastest and slowest run; peak RSS from one
# `/usr/bin/time -v` run. Python: one `/usr/bin/time -v` run (it takes ~40-55 s).
# Usage: bash bench/legibility/run.sh [SIZE_MB] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
SIZE="${1:-200}"
RUNS="${2:-5}"
W=target/bench/legibility
mkdir -p "$W" target/bench/monitor
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null
cargo build --release -q -p cotlens
[ -f target/bench/monitor/traces.jsonl ] || python3 bench/monitor/make_traces.py "$SIZE" target/bench/monitor/traces.jsonl
[ -f "$W/english.jsonl" ] || python3 bench/legibility/make_traces.py "$SIZE" "$W/english.jsonl"
rss() { python3 -c "import re,sys; print(int(re.search(r'Maximum resident set size \(kbytes\): (\d+)', open(sys.argv[1]).read()).group(1)) // 1024)" "$1"; }
for input in target/bench/monitor/traces.jsonl "$W/english.jsonl"; do
  BYTES=$(stat -c %s "$input")
  echo "$input"
  hyperfine -N --warmup 1 --runs "$RUNS" --prepare "rm -rf $W/run" --export-json "$W/hyperfine.json" \
    "taskset -c 0 ./target/release/cotlens legibility $input --out $W/run" > /dev/null
  rm -rf "$W/run"
  /usr/bin/time -v taskset -c 0 ./target/release/cotlens legibility "$input" --out "$W/run" > /dev/null 2> "$W/time.txt"
  python3 - "$W/hyperfine.json" "$BYTES" "$(rss "$W/time.txt")" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
mb = int(sys.argv[2]) / 1e6
t = sorted(r["times"])
print(f"  cotlens legibility --out     {mb:.0f} MB, median {r['median']:.2f} s on one core = "
      f"{mb / r['median']:6.1f} MB/s (runs {mb / t[-1]:.0f}-{mb / t[0]:.0f} MB/s, n={len(t)}), "
      f"peak RSS {sys.argv[3]} MB")
PY
  /usr/bin/time -v taskset -c 0 python3 bench/legibility/baseline.py "$input" crates/cotlens-core/lexicon/en.tsv > /dev/null 2> "$W/time-py.txt"
  python3 - "$W/time-py.txt" "$BYTES" "$(rss "$W/time-py.txt")" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (.+)", t).group(1).split(":")
secs = float(wall[-1]) + 60 * float(wall[-2])
mb = int(sys.argv[2]) / 1e6
print(f"  python baseline (zlib -1)    {mb:.0f} MB in {secs:.2f} s on one core = {mb / secs:6.1f} MB/s, peak RSS {sys.argv[3]} MB")
PY
done
