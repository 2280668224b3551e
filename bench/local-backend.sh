#!/usr/bin/env bash
# Local backend benchmark, side by side with a reference on llama.cpp's C API alone (what
# llama-batched-bench does; the crate's vendored copy lacks that tool's source), linked against
# the same static llama.cpp libraries, on the same GGUF file and thread count: prefill tokens/s (single stream), decode tokens/s single-stream and aggregate
# with 4 and 8 parallel sequences.
#
# Usage: bash bench/local-backend.sh [THREADS]    (default: 2)
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS="${1:-2}"
bash scripts/setup.sh
cargo build --release -q -p cotlens-local --example bench_local
cargo build --release -q -p cotlens
MODEL="$(./target/release/cotlens models path smollm2-135m --quiet)"

SYS_DIR="$(cargo metadata --format-version 1 | python3 -c 'import json,sys,os; m=json.load(sys.stdin); print(next(os.path.dirname(p["manifest_path"]) for p in m["packages"] if p["name"]=="llama-cpp-sys-2"))')"
OUT_DIR="$(ls -dt target/release/build/llama-cpp-sys-2-*/out | head -1)"
REF="target/bench/batched_ref"
mkdir -p target/bench
# The reference links the static libraries the crate built, so both sides run the same llama.cpp.
g++ -O2 -std=c++17 bench/reference/batched_ref.cpp -o "$REF" \
  -I "$SYS_DIR/llama.cpp/include" -I "$SYS_DIR/llama.cpp/ggml/include" \
  "$OUT_DIR/build/src/libllama.a" "$OUT_DIR/build/ggml/src/libggml.a" "$OUT_DIR/build/ggml/src/libggml-cpu.a" \
  "$OUT_DIR/build/ggml/src/libggml-base.a" -lpthread -ldl -lm

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); threads: $THREADS"
echo "== model: $MODEL"
echo "== reference: llama.cpp C API only (bench/reference/batched_ref.cpp), prompt 256, generate 128, 1/4/8 sequences"
"$REF" "$MODEL" "$THREADS" 256 128 1 4 8
echo "== cotlens local backend (through the Backend trait): prompt 256, generate 128, 1/4/8 sequences"
./target/release/examples/bench_local "$MODEL" "$THREADS" 256 128 1 4 8
