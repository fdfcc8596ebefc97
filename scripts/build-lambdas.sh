#!/usr/bin/env bash
# Builds the Lambda binaries for arm64 (provided.al2023) with cargo-lambda, one zip each under
# target/lambda/<binary>/bootstrap.zip, and prints each zip's size.
#
# To add a Lambda, add a "package:binary" line to LAMBDAS. Build a subset by naming binaries:
#   scripts/build-lambdas.sh tool-calculate tool-current-time
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

LAMBDAS=(
  sfn-agent-stock-tools:tool-get-weather
  sfn-agent-stock-tools:tool-calculate
  sfn-agent-stock-tools:tool-convert-currency
  sfn-agent-stock-tools:tool-current-time
  sfn-agent-llm:llm-anthropic
  sfn-agent-llm:llm-openai
  sfn-agent-llm:llm-gemini
  sfn-agent-llm:llm-bedrock
  sfn-agent-triggers:sqs-trigger
  sfn-agent-mcp:mcp-tool
)

# Everything runs from main, so bash has read the whole script before it starts: editing the
# list while a build runs cannot derail it.
main() {
  wanted=("$@")
  args=()
  built=()
  for entry in "${LAMBDAS[@]}"; do
    package="${entry%%:*}"
    binary="${entry#*:}"
    if [ "${#wanted[@]}" -gt 0 ] && [[ ! " ${wanted[*]} " == *" $binary "* ]]; then
      continue
    fi
    args+=(-p "$package" --bin "$binary")
    built+=("$binary")
  done
  if [ "${#built[@]}" -eq 0 ]; then
    echo "no Lambda matches: $*" >&2
    exit 1
  fi

  bin_dir="$("$root/scripts/install-cargo-lambda.sh")"
  export PATH="$bin_dir:$PATH"

  # One build for all, as the construct's deploy does: each LLM binary names its one
  # `ProviderAdapter`, so it links that provider's adapter only, whatever the features.
  cargo lambda build --release --arm64 --output-format zip "${args[@]}"

  for binary in "${built[@]}"; do
    zip="target/lambda/$binary/bootstrap.zip"
    if [ ! -f "$zip" ]; then
      echo "missing: $zip" >&2
      exit 1
    fi
    printf '%-28s %8d KB  %s\n' "$binary" "$(( $(stat -c %s "$zip") / 1024 ))" "$zip"
  done
  # Each zip within the size budget (4 MiB; LAMBDA_ZIP_MAX_BYTES).
  "$root/scripts/check-lambda-zips.sh" "${built[@]}"
}

main "$@"
