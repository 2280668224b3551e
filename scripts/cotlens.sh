#!/usr/bin/env bash
# Build cotlens (release profile, the one tests and benchmarks use too) and run it with the
# given arguments, e.g.: bash scripts/cotlens.sh faithfulness
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release -q -p cotlens
exec ./target/release/cotlens "$@"
