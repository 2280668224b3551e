#!/usr/bin/env bash
# The HTML report of a 10,000-record run (1,429 items x 7 conditions, ~1 KB CoTs): time to write
# it (`cotlens report`, /usr/bin/time -v), its size, and the time headless Chromium takes to load
# and render it (a screenshot), beside Chromium on an empty page in the same run.
# Usage: bash bench/report/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
W=target/bench/report
mkdir -p "$W"
cargo build --release -q -p cotlens
rm -rf "$W/run" "$W/profile"
python3 bench/report/make_run.py 1429 "$W/run"
/usr/bin/time -f "cotlens report: %e s wall, %M KB peak RSS" ./target/release/cotlens report "$W/run" > /dev/null
echo "report.html: $(stat -c %s "$W/run/report.html") bytes, records.jsonl: $(stat -c %s "$W/run/records.jsonl") bytes"
echo '<html><body>empty</body></html>' > "$W/empty.html"
CHROME="chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update --disable-sync --user-data-dir=$W/profile --window-size=1200,1600"
$CHROME --screenshot="$W/warmup.png" "file://$PWD/$W/empty.html" > /dev/null 2>&1
for page in empty.html run/report.html; do
  s=$(date +%s.%N)
  $CHROME --screenshot="$W/shot.png" "file://$PWD/$W/$page" > /dev/null 2>&1
  e=$(date +%s.%N)
  echo "chromium load + render + screenshot of $page: $(echo "$e - $s" | bc) s"
done
