#!/usr/bin/env bash
# Fuzz smoke test: every cargo-fuzz target for SECONDS (default 30) from the committed corpus
# (fuzz/corpus/TARGET, read only: new inputs go to a scratch folder). Needs the nightly
# toolchain; installs cargo-fuzz from crates.io when it is missing. A crash fails the script and
# leaves the input in fuzz/artifacts/TARGET/. Long runs: docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
if ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzz smoke: the nightly toolchain is missing (rustup toolchain install nightly); set COTLENS_SKIP_FUZZ=1 to skip" >&2
  exit 1
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --quiet
cargo +nightly fuzz build 2>&1 | tail -1
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for target in $(cargo +nightly fuzz list); do
  mkdir -p "$scratch/$target"
  if ! cargo +nightly fuzz run "$target" "$scratch/$target" "fuzz/corpus/$target" -- \
      -max_total_time="$seconds" -max_len=16384 -rss_limit_mb=2048 -timeout=10 \
      >"$scratch/$target.log" 2>&1; then
    tail -40 "$scratch/$target.log" >&2
    echo "fuzz smoke: $target FAILED (input in fuzz/artifacts/$target/)" >&2
    exit 1
  fi
  echo "fuzz smoke: $target ok ($(grep -o 'Done [0-9]* runs in [0-9]* second' "$scratch/$target.log" | tail -1)s)"
done
