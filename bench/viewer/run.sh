#!/usr/bin/env bash
# The viewer on a 100,002-record faithfulness run (bench/report/make_run.py, ~1 KB CoTs): time
# to first and later records pages, an item page, a text search, and the index page while
# four record queries run, with curl. Usage: bash bench/viewer/run.sh [ITEMS]
set -euo pipefail
cd "$(dirname "$0")/../.."
items="${1:-14286}"
bin=target/release/cotlens
tmp="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
python3 bench/report/make_run.py "$items" "$tmp/run"
echo "records: $(wc -l < "$tmp/run/records.jsonl"), $(du -h "$tmp/run/records.jsonl" | cut -f1)"
port=$((20000 + RANDOM % 20000))
"$bin" view "$tmp/run" --port "$port" > "$tmp/view.log" 2>&1 &
pid=$!
sleep 1
t() { curl -s -o /dev/null -w "%{time_total}" "http://127.0.0.1:$port$1"; }
echo "first records page (builds the index): $(t '/run/0/records?condition=hinted&offset=40000') s"
for i in 1 2 3; do echo "records page again: $(t "/run/0/records?hint=metadata&offset=$((i * 1000))") s"; done
echo "item page: $(t /run/0/item/q777) s"
echo "text search over every CoT: $(t '/run/0/records?q=therefore%20we%20check') s"
searches=()
for i in 1 2 3 4; do t "/run/0/records?q=value%20compute%20$i" > /dev/null & searches+=($!); done
echo "index page during 4 searches: $(t /) s"
wait "${searches[@]}"
