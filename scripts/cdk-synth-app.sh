#!/usr/bin/env bash
# Synthesizes a CDK app that uses the sfn-agent-cdk construct (examples/custom-agent/cdk, a
# scaffolded project's cdk/, or this repo's cdk/), offline and with no AWS credentials:
#   1. its npm dependencies (`npm ci`, cached by its lockfile and its file: dependencies; an app
#      without a lockfile gets `npm install`);
#   2. `cdk synth` with bundling skipped (`sfnAgent:skipBundling=true`: nothing is built, no Rust
#      toolchain needed); the app's cdk-nag fails it on any unacknowledged finding;
#   3. cfn-lint on the templates;
#   4. each --expect-function-binary NAME has its Lambda (Description `sfn-agent NAME`).
# Usage: scripts/cdk-synth-app.sh DIR [--expect-function-binary NAME]... [--app CMD] [-c KEY=VALUE]...
#   --app CMD   run CMD instead of cdk.json's `app` (e.g. to skip a Rust synth step)
#   -c KEY=VAL  more CDK context (e.g. -c stateMachinesDir=/tmp/machines)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/cdk-lib.sh"

usage() {
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
[ $# -ge 1 ] || usage
case "$1" in -h | --help) usage ;; esac
app_dir="$(cd "$1" 2>/dev/null && pwd)" || { echo "no such folder: $1" >&2; exit 2; }
shift
expected=()
synth_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --expect-function-binary) [ $# -ge 2 ] || usage; expected+=("$2"); shift 2 ;;
    --app) [ $# -ge 2 ] || usage; synth_args+=(--app "$2"); shift 2 ;;
    -c | --context) [ $# -ge 2 ] || usage; synth_args+=(--context "$2"); shift 2 ;;
    *) echo "unknown argument: $1" >&2; usage ;;
  esac
done
[ -f "$app_dir/cdk.json" ] || { echo "$app_dir has no cdk.json: not a CDK app" >&2; exit 2; }
[ -f "$app_dir/package.json" ] || { echo "$app_dir has no package.json" >&2; exit 2; }
offline_aws
name="${app_dir#"$root"/}"

step "$name: npm dependencies"
npm_deps "$app_dir"
cd "$app_dir"
[ -x node_modules/.bin/cdk ] || { echo "$name: no aws-cdk CLI in node_modules: add aws-cdk (~2.1148) to devDependencies" >&2; exit 1; }

step "$name: cdk synth (bundling skipped; cdk-nag fails it on a finding)"
rm -rf cdk.out
npx --no-install cdk synth --quiet --no-notices --no-version-reporting --output cdk.out \
  --context sfnAgent:skipBundling=true ${synth_args[@]+"${synth_args[@]}"} >/dev/null
templates=(cdk.out/*.template.json)
[ -f "${templates[0]}" ] || { echo "$name: the synth wrote no template" >&2; exit 1; }

step "$name: cfn-lint $cfn_lint_version"
cfn_lint "${templates[@]}"

if [ ${#expected[@]} -gt 0 ]; then
  step "$name: a Lambda for each of ${expected[*]}"
  node -e '
    const fs = require("fs");
    const [templates, wanted] = [process.argv[1].split("\n"), process.argv.slice(2)];
    const found = new Set(templates.flatMap((t) =>
      Object.values(JSON.parse(fs.readFileSync(t, "utf8")).Resources ?? {})
        .filter((r) => r.Type === "AWS::Lambda::Function")
        .map((r) => r.Properties?.Description)));
    const missing = wanted.filter((b) => !found.has(`sfn-agent ${b}`));
    if (missing.length > 0) {
      console.error(`no Lambda function for ${missing.join(", ")} (found: ${[...found].sort().join(", ")})`);
      process.exit(1);
    }' "$(printf '%s\n' "${templates[@]}")" "${expected[@]}"
fi
step "$name: synth checks passed"
