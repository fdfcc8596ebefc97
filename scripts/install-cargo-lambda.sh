#!/usr/bin/env bash
# Installs cargo-lambda (from PyPI, which brings zig for cross-linking) into .local/, and the
# aarch64 standard library, so `cargo lambda build --release --arm64` works on a fresh machine.
# Prints the directory to put on PATH.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.local/cargo-lambda"
if [ ! -x "$venv/bin/cargo-lambda" ]; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check cargo-lambda==1.9.2 >&2
fi
rustup target add aarch64-unknown-linux-gnu >&2
echo "$venv/bin"
