#!/usr/bin/env bash
# Smoke figure of `cotlens horizon` on the embedded model (issue 18): the four generated families
# at depths 1, 2, 4 with 10 items each (120 items) × the default conditions (no-cot, filler:100,
# repeat:3, cot) = 480 units. Prints /usr/bin/time -v's wall time and peak RSS, and the table.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -q
out="$(mktemp -d)/horizon"
/usr/bin/time -v target/release/cotlens horizon --depths 1,2,4 --limit 10 --no-cache --out "$out" >"$out.table" 2>"$out.time"
grep -E 'Elapsed|Maximum resident' "$out.time"
cat "$out.table"
echo "records: $(wc -l <"$out/records.jsonl")"
echo "run: $out"
