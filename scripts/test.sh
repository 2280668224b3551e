#!/usr/bin/env bash
# The test suite: unit, property, golden and integration tests, loopback-server tests, and a few
# real-model tests on the embedded SmolLM2-135M (fetched with pip into COTLENS_HOME once).
# One cargo profile (release) for build and tests, so llama.cpp compiles once; tests run one at a
# time because the model tests must not oversubscribe the cores.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --browser
export COTLENS_HOME="${COTLENS_HOME:-$PWD/target/cotlens-home}"
cargo build --release --workspace --all-targets
mkdir -p target
set -o pipefail
cargo test --release --workspace -- --test-threads 1 2>&1 | tee target/test.log
# The fuzz targets, 30 s each (docs/fuzzing.md).
if [ "${COTLENS_SKIP_FUZZ:-0}" != 1 ]; then
  bash scripts/fuzz-smoke.sh 30 2>&1 | tee -a target/test.log
fi
# One closing line over all test binaries (cargo prints one "test result" line per binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "%d passed, %d failed\n", p, f }' target/test.log
