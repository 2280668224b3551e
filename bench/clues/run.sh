#!/usr/bin/env bash
# Smoke figure of `cotlens clues` on the embedded model (issue 17): 5 bundled GSM8K problems ×
# the 15 built-in clues × (no-CoT, CoT) + 5 controls = 155 units, lexical judge and monitor.
# Prints /usr/bin/time -v's wall time and peak RSS, and the run's table.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -q
out="$(mktemp -d)/clues"
/usr/bin/time -v target/release/cotlens clues --limit 5 --no-cache --out "$out" >"$out.table" 2>"$out.time"
grep -E 'Elapsed|Maximum resident' "$out.time"
cat "$out.table"
echo "records: $(wc -l <"$out/records.jsonl")"
