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

# One validator process for every file (it reports each file by name): a process per file took
# five times as long.
status=0
paths=()
for file in "$@"; do
  if [ -f "$file" ]; then
    paths+=(--json-path "$file")
  else
    echo "✗ $file: no such file" >&2
    status=1
  fi
done
if [ "${#paths[@]}" -gt 0 ] && ! "$validator" "${paths[@]}"; then
  status=1
fi
exit "$status"
