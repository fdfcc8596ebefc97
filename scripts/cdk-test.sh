#!/usr/bin/env bash
# The CDK checks, offline and with no AWS credentials:
#   construct/ (the sfn-agent-cdk package): `npm ci` when needed, the type check (tsc), the
#     committed dist/ is what src/ compiles to, and the jest tests (CDK assertions, cdk-nag);
#   cdk/ (this repo's app): `npm ci` when needed (also when construct/ changed), tsc, its jest
#     test, then scripts/cdk-synth-app.sh: `cdk synth` of the real state-machines/ with bundling
#     skipped (cdk-nag fails it on any unacknowledged finding), cfn-lint, a Lambda per binary;
# The example team project's app (examples/custom-agent/cdk) is synthesized by
# scripts/projects-test.sh, after its Rust build, through its own cdk.json.
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

echo "cdk: all checks passed in $((SECONDS - started))s" >&2
