#!/usr/bin/env bash
# The CDK app's checks, offline and with no AWS credentials:
#   1. `npm ci` in cdk/ when node_modules is older than the lockfile (quiet);
#   2. the type check (tsc) and the jest tests (CDK assertions, cdk-nag);
#   3. `cdk synth` of the real state-machines/ with bundling skipped (cdk-nag fails it on any
#      unacknowledged finding);
#   4. cfn-lint (PyPI, pinned, installed into .local/cfn-lint) on the synthesized template.
# Usage: scripts/cdk-test.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cfn_lint_version="1.58.0"
cd "$root/cdk"

# No credentials and no account lookups: the synth must not need AWS.
unset AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_ENDPOINT_URL
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
export CDK_DISABLE_VERSION_CHECK=1 CDK_DISABLE_CLI_TELEMETRY=true

echo "== npm ci" >&2
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi

echo "== tsc" >&2
npx --no-install tsc --noEmit

echo "== jest" >&2
npx --no-install jest --silent

echo "== cdk synth (bundling skipped)" >&2
rm -rf cdk.out
npx --no-install cdk synth --quiet --no-notices --no-version-reporting \
  --context sfnAgent:skipBundling=true >/dev/null

echo "== cfn-lint $cfn_lint_version" >&2
venv="$root/.local/cfn-lint"
if ! "$venv/bin/cfn-lint" --version 2>/dev/null | grep -q "$cfn_lint_version"; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check "cfn-lint==$cfn_lint_version" >&2
fi
# W3005 ("dependency already enforced by a GetAtt"): CDK adds an explicit DependsOn from each
# Lambda and state machine to its role next to the role's GetAtt. Redundant, harmless, not ours.
"$venv/bin/cfn-lint" --ignore-checks W3005 -- cdk.out/*.template.json
echo "cdk: all checks passed" >&2
