#!/usr/bin/env bash
# Fails when a Lambda zip is over the size budget: 4 MiB (4,194,304 bytes) by default, or
# LAMBDA_ZIP_MAX_BYTES. Cheap: it only reads the zips scripts/build-lambdas.sh left under
# target/lambda/<binary>/bootstrap.zip (building them for arm64 takes many minutes on 2 cores;
# build-lambdas.sh runs this check itself after building).
#
#   scripts/check-lambda-zips.sh                  # every zip that exists; none built is a SKIPPED notice
#   scripts/check-lambda-zips.sh llm-openai       # only these; a missing one fails
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
max="${LAMBDA_ZIP_MAX_BYTES:-4194304}"

main() {
  local zips=()
  if [ "$#" -gt 0 ]; then
    for binary in "$@"; do
      zips+=("$root/target/lambda/$binary/bootstrap.zip")
    done
  else
    shopt -s nullglob
    zips=("$root"/target/lambda/*/bootstrap.zip)
  fi
  if [ "${#zips[@]}" -eq 0 ]; then
    echo "SKIPPED Lambda zip sizes: none built; run scripts/build-lambdas.sh first"
    return 0
  fi
  local failed=0
  for zip in "${zips[@]}"; do
    local binary
    binary="$(basename "$(dirname "$zip")")"
    if [ ! -f "$zip" ]; then
      echo "missing: $zip (run scripts/build-lambdas.sh $binary)" >&2
      failed=1
      continue
    fi
    local size
    size="$(stat -c %s "$zip")"
    if [ "$size" -gt "$max" ]; then
      printf 'TOO BIG %-22s %9d bytes > %d\n' "$binary" "$size" "$max" >&2
      failed=1
    else
      printf 'ok      %-22s %9d bytes <= %d\n' "$binary" "$size" "$max"
    fi
  done
  return "$failed"
}

main "$@"
