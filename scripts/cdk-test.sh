#!/usr/bin/env bash
# The CDK checks, offline and with no AWS credentials:
#   construct/ (the sfn-agent-cdk package): `npm ci` when needed, the type check (tsc), the
#     committed dist/ is what src/ compiles to, and the jest tests (CDK assertions, cdk-nag);
#   cdk/ (this repo's app): `npm ci` when needed (also when construct/ changed), tsc, its jest
#     test, then scripts/cdk-synth-app.sh: `cdk synth` of the real state-machines/ with bundling
#     skipped (cdk-nag fails it on any unacknowledged finding), cfn-lint, a Lambda per binary;
#   examples/custom-agent/cdk (a team's app using the construct by file: dependency): the same
#     synth checks, from the hand-written fixture construct/test/fixtures/custom-agent.
# Usage: scripts/cdk-test.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/cdk-lib.sh"
offline_aws

cd "$root/construct"
step "construct: npm ci"
npm_deps .
step "construct: tsc"
npx --no-install tsc --noEmit
step "construct: dist/ is current"
built="$(mktemp -d)"
trap 'rm -rf "$built"' EXIT
npx --no-install tsc -p tsconfig.build.json --outDir "$built"
if ! diff -r "$built" dist >/dev/null; then
  echo "construct/dist/ is not what construct/src/ compiles to: run \`npm run build\` in construct/ and commit dist/" >&2
  exit 1
fi
step "construct: jest"
npx --no-install jest --silent

cd "$root/cdk"
step "cdk: npm ci"
npm_deps .
step "cdk: tsc"
npx --no-install tsc --noEmit
step "cdk: jest"
npx --no-install jest --silent
# Every Lambda the real manifest names, and the SQS trigger.
binaries="$(node -e '
  const m = require(process.argv[1]);
  const all = m.agents.flatMap((a) => [a.llm.binary, ...a.tools.map((t) => t.binary).filter(Boolean)]);
  console.log([...new Set([...all, "sqs-trigger"])].sort().join("\n"));' "$root/state-machines/manifest.json")"
expect=()
for b in $binaries; do expect+=(--expect-function-binary "$b"); done
"$root/scripts/cdk-synth-app.sh" "$root/cdk" "${expect[@]}"

# The example's cdk.json runs its Rust synth first (`synth --dir ../state-machines`); here the app
# alone runs, on a copy of the fixture, so this needs no Rust build.
machines="$built/custom-agent-state-machines"
cp -r "$root/construct/test/fixtures/custom-agent" "$machines"
"$root/scripts/cdk-synth-app.sh" "$root/examples/custom-agent/cdk" \
  --app 'npx ts-node --prefer-ts-exts bin/app.ts' --context "stateMachinesDir=$machines" \
  --expect-function-binary llm-anthropic --expect-function-binary tool-word-count \
  --expect-function-binary tool-calculate --expect-function-binary sqs-trigger
echo "cdk: all checks passed in $((SECONDS - started))s" >&2
