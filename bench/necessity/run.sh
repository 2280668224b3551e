#!/usr/bin/env bash
# Early answering on the embedded model: requests/s and tokens/s, with the prefix KV cache
# (default) and without it (--no-prefix-cache: every early-answer request re-evaluates its whole
# prompt), on the same N items (default 30), 2 threads, no response cache.
# Requests = per item 1 CoT + (L + 1) early answers + 1 filler; tokens = CoT tokens generated.
# Usage: bash bench/necessity/run.sh [N]   (MODES=cache to skip the slow recomputing side)
set -euo pipefail
cd "$(dirname "$0")/../.."
N="${1:-30}"
W=target/bench/necessity
mkdir -p "$W"
cargo build --release -q -p cotlens
for mode in ${MODES:-cache no-cache}; do
  flag=""; [ "$mode" = "no-cache" ] && flag="--no-prefix-cache"
  rm -rf "$W/$mode"
  /usr/bin/time -v ./target/release/cotlens necessity --limit "$N" --threads 2 --no-cache $flag --quiet --out "$W/$mode" > /dev/null 2> "$W/$mode.time"
  python3 - "$W/$mode" "$W/$mode.time" "$mode" <<'PY'
import json, re, sys
recs = [json.loads(l) for l in open(sys.argv[1] + "/records.jsonl")]
t = open(sys.argv[2]).read()
wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (.+)", t).group(1).split(":")
secs = float(wall[-1]) + 60 * float(wall[-2]) + (3600 * float(wall[-3]) if len(wall) > 2 else 0)
requests = sum(2 + len(r["early_answers"]) for r in recs if r["status"] == "ok")
early = sum(len(r["early_answers"]) for r in recs if r["status"] == "ok")
tokens = sum(r["cot_tokens"] or 0 for r in recs)
summary = json.load(open(sys.argv[1] + "/summary.json"))
aocs = [d["early_answering"]["aoc"]["value"] for d in summary["datasets"] if d["early_answering"]["aoc"]]
print(f"{sys.argv[3]:>8}: {len(recs)} items, {requests} requests ({early} early answers) in {secs:.1f} s = {requests / secs:.2f} requests/s, {tokens / secs:.1f} CoT tokens/s; AOC by dataset {['%.3f' % a for a in aocs]}")
PY
done
