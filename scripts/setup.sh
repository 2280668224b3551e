#!/usr/bin/env bash
# Installs what building and testing cotlens needs beyond Rust: cmake and libclang (llama.cpp is
# compiled from source by the llama-cpp-2 crate and its bindings are generated with bindgen), and
# with --browser, Chromium for the browser tests of the report and the viewer (crates/cotlens/tests/it/browser.rs;
# scripts/test.sh asks for it, the main job does not).
# Idempotent: does nothing when they are already there.
set -euo pipefail

missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v clang >/dev/null 2>&1 || missing+=(clang)
if ! ls /usr/lib/llvm-*/lib/libclang.so >/dev/null 2>&1; then
  missing+=(libclang-dev)
fi
command -v python3 >/dev/null 2>&1 || missing+=(python3 python3-pip)
if [ "${1:-}" = "--browser" ] && [ -z "${COTLENS_SKIP_BROWSER:-}" ] && [ ! -x /usr/bin/chromium ]; then
  missing+=(chromium)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]} (Debian packages)" >&2
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" libclang-dev >/dev/null
fi
command -v cargo >/dev/null 2>&1 || { echo "setup: cargo not found; install Rust (https://rustup.rs)" >&2; exit 1; }
