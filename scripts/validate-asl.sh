#!/usr/bin/env bash
# Validates Amazon States Language documents with the npm package asl-validator, pinned in
# scripts/asl-validator/package-lock.json. Usage: scripts/validate-asl.sh FILE...
# Installs the pinned version (npm ci, quietly) on first use; exits non-zero if any file has a
# problem, after checking them all.
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: $0 FILE..." >&2
  exit 2
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tool_dir="$here/asl-validator"
validator="$tool_dir/node_modules/.bin/asl-validator"

if [ ! -x "$validator" ] || [ "$tool_dir/package-lock.json" -nt "$tool_dir/node_modules/.package-lock.json" ]; then
  (cd "$tool_dir" && npm ci --silent --no-audit --no-fund >/dev/null)
fi

status=0
for file in "$@"; do
  if [ ! -f "$file" ]; then
    echo "✗ $file: no such file" >&2
    status=1
    continue
  fi
  if output="$("$validator" --json-path "$file" 2>&1)"; then
    echo "✓ $file"
  else
    echo "✗ $file" >&2
    echo "$output" | sed 's/^/    /' >&2
    status=1
  fi
done
exit "$status"
