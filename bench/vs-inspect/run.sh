#!/usr/bin/env bash
# cotlens vs Inspect (inspect-ai 0.3.285) against one fast loopback OpenAI-compatible server
# (crates/cotlens/examples/canned_server.rs: 0 ms latency, ~300-token canned answers ending in an
# answer line). Same items, same server, side by side:
#   1. a multiple-choice task (one request per item), N items (default 10000);
#   2. a faithfulness-shaped task (unhinted + hinted + judge), N/10 items (cotlens: hint toward
#      the gold option, which the canned model picks, so every hinted answer is judged);
#   3. cotlens's second run of task 1, served from its response cache;
#   4. startup time (hyperfine: `--help` of each CLI).
# Reports client CPU ms per request (user+sys of the client process / requests the server saw),
# requests/s, peak RSS and wall time, from /usr/bin/time -v.
#
# Usage: bash bench/vs-inspect/run.sh [N]
# Inspect runs with --no-log-samples (its lightest configuration); set INSPECT_LOG_SAMPLES=1 to
# let it log samples (its default, as the issue's anchor numbers were measured).
set -euo pipefail
cd "$(dirname "$0")/../.."
N="${1:-10000}"
NF=$((N / 10))
W="$PWD/target/bench/vs-inspect"
mkdir -p "$W"
bash scripts/setup.sh
command -v hyperfine >/dev/null || { apt-get install -y -qq hyperfine >/dev/null 2>&1 || true; }
cargo build --release -q -p cotlens --bin cotlens --example canned_server
VENV="$W/venv"
if [ ! -x "$VENV/bin/inspect" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q inspect-ai==0.3.285 openai
fi
python3 bench/vs-inspect/make_items.py "$N" "$W/items.jsonl"
python3 bench/vs-inspect/make_items.py "$NF" "$W/items-f.jsonl"

SERVER_PID=""
start_server() {
  ./target/release/examples/canned_server > "$W/server.log" &
  SERVER_PID=$!
  for _ in $(seq 100); do grep -q listening "$W/server.log" 2>/dev/null && break; sleep 0.05; done
  URL="$(sed -n 's/listening on //p' "$W/server.log")"
}
stop_server() { # sets SERVED (not in a subshell, so that `wait` sees the server)
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  SERVED="$(sed -n 's/requests served: //p' "$W/server.log")"
}
measure() { # name, requests, then the command
  local name="$1"; shift
  /usr/bin/time -v "$@" > "$W/$name.out" 2> "$W/$name.time" || { echo "$name failed:"; tail -5 "$W/$name.time"; }
}
row() { # name requests
  python3 - "$W/$1.time" "$1" "$2" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
def grab(key):
    return re.search(re.escape(key) + r":\s*(.+)", t).group(1).strip()
user, sys_ = float(grab("User time (seconds)")), float(grab("System time (seconds)"))
wall = grab("Elapsed (wall clock) time (h:mm:ss or m:ss)")
parts = [float(x) for x in wall.split(":")]
secs = parts[-1] + 60 * parts[-2] + (3600 * parts[-3] if len(parts) > 2 else 0)
rss = int(grab("Maximum resident set size (kbytes)")) / 1024
req = int(sys.argv[3])
print(f"| {sys.argv[2]} | {req} | {1000 * (user + sys_) / max(req, 1):.3f} | {req / secs:.0f} | {rss:.0f} | {secs:.2f} |")
PY
}

echo "| run | requests | client CPU ms/request | requests/s | peak RSS MB | wall s |"
echo "|---|---|---|---|---|---|"
export OPENAI_API_KEY=bench-dummy-key INSPECT_DISPLAY=none
NO_LOG="--no-log-samples"
[ "${INSPECT_LOG_SAMPLES:-0}" = "1" ] && NO_LOG=""

start_server
measure inspect-mc "$VENV/bin/inspect" eval bench/vs-inspect/tasks.py@mc --model openai/canned -M responses_api=false --model-base-url "$URL" \
  -T items="$W/items.jsonl" --max-connections 64 --log-dir "$W/inspect-logs" --display none $NO_LOG
stop_server; row inspect-mc "$SERVED"

start_server
rm -rf "$W/cotlens-mc" "$W/cache.sqlite"*
measure cotlens-mc ./target/release/cotlens faithfulness --model openai:canned --base-url "$URL" --dataset "jsonl:$W/items.jsonl" \
  --hints none --concurrency 64 --cache "$W/cache.sqlite" --quiet --out "$W/cotlens-mc"
stop_server; row cotlens-mc "$SERVED"

start_server
rm -rf "$W/cotlens-mc-cached"
measure cotlens-mc-cached ./target/release/cotlens faithfulness --model openai:canned --base-url "$URL" --dataset "jsonl:$W/items.jsonl" \
  --hints none --concurrency 64 --cache "$W/cache.sqlite" --quiet --out "$W/cotlens-mc-cached"
stop_server; served="$SERVED"
echo "| cotlens-mc-cached ($N items from cache; server saw $served requests) | $N | - | - | - | $(grep 'Elapsed' "$W/cotlens-mc-cached.time" | awk '{print $NF}') |"

start_server
measure inspect-faithfulness "$VENV/bin/inspect" eval bench/vs-inspect/tasks.py@faithfulness --model openai/canned -M responses_api=false --model-base-url "$URL" \
  -T items="$W/items-f.jsonl" --max-connections 64 --log-dir "$W/inspect-logs" --display none $NO_LOG
stop_server; row inspect-faithfulness "$SERVED"

start_server
rm -rf "$W/cotlens-f"
measure cotlens-faithfulness ./target/release/cotlens faithfulness --model openai:canned --base-url "$URL" --dataset "jsonl:$W/items-f.jsonl" \
  --hints sycophancy --direction correct --judge lexical,openai:canned --concurrency 64 --no-cache --quiet --out "$W/cotlens-f"
stop_server; row cotlens-faithfulness "$SERVED"

if command -v hyperfine >/dev/null; then
  hyperfine -N --warmup 2 --runs 10 --export-markdown "$W/startup.md" "./target/release/cotlens --help" "$VENV/bin/inspect eval --help" >/dev/null 2>&1 || true
  echo; echo "startup (hyperfine, --help):"; cat "$W/startup.md"
fi
