#!/usr/bin/env bash
# Runs the README's "Your first agent" block as a user would, line by line, with HOME in a
# temporary folder (so `~/my-agent` is written there), then checks that the CDK template holds
# the new project's own tool Lambda. Lines ending in "# needs an AWS account" are shown and not
# run: nothing here can reach AWS.
# Usage: scripts/tutorial-test.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

script="$(sed -n '/<!-- tutorial:start -->/,/<!-- tutorial:end -->/p' README.md | sed '1,2d;$d' | sed '$d')"
[ -n "$script" ] || { echo "tutorial-test: no tutorial block in README.md" >&2; exit 1; }

home="$(mktemp -d)"
trap 'rm -rf "$home"' EXIT
# The user's tools keep their own homes; only ~ moves.
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
export npm_config_cache="${npm_config_cache:-$HOME/.npm}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target/projects}"
# Offline synth: no credentials, no lookups (as scripts/cdk-synth-app.sh does).
unset AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_ENDPOINT_URL
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
export CDK_DISABLE_VERSION_CHECK=1 CDK_DISABLE_CLI_TELEMETRY=true
export HOME="$home"

runnable="$(mktemp)"
{
  echo 'set -euo pipefail'
  # cargo in this repository builds into its own target/; in the new project (and from the
  # project's cdk.json) into the shared target/projects, where the example's build already is.
  printf 'root=%q\n' "$root"
  echo 'cargo() { if [[ "$PWD" == "$root" || "$PWD" == "$root"/* ]]; then CARGO_TARGET_DIR="$root/target" command cargo "$@"; else command cargo "$@"; fi; }'
  while IFS= read -r line; do
    if [[ "$line" == *"# needs an AWS account" ]]; then
      printf 'echo %q >&2\n' "(not run here: ${line%%#*})"
    elif [[ -n "$line" && "$line" != \#* ]]; then
      printf 'echo %q >&2\n' "\$ $line"
      echo "$line"
    fi
  done <<<"$script"
} >"$runnable"
bash "$runnable"
rm -f "$runnable"

template="$(ls "$home"/my-agent/cdk/cdk.out/*.template.json 2>/dev/null | head -1)"
[ -n "$template" ] || { echo "tutorial-test: cdk synth wrote no template" >&2; exit 1; }
grep -q '"sfn-agent tool-word-count"' "$template" || {
  echo "tutorial-test: the template has no Lambda for the project's own tool (tool-word-count)" >&2
  exit 1
}
echo "tutorial: every command but the AWS ones ran; the template holds tool-word-count" >&2
