#!/usr/bin/env bash
# The project's one test command, from a fresh clone: installs what the tests need (npm packages,
# moto's local AWS server, cfn-lint), starts the local servers, and runs every check.
# `.ci/run` calls exactly this.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

started=$SECONDS
step() {
  echo
  echo "==> [$((SECONDS - started))s] $*"
}

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "docs build without warnings (cargo doc)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

step "generated state machines are current and valid (sfn-agent check)"
cargo run --quiet -p sfn-agent-demo -- check

step "asl-validator (npm) over every generated state machine"
scripts/validate-asl.sh state-machines/*.asl.json construct/test/fixtures/mcp/*.asl.json asl/tests/fixtures/corpus/*.json examples/batch/*.asl.json

step "CDK: the construct and the demo app (assertions, offline synth, cdk-nag, cfn-lint)"
scripts/cdk-test.sh

step "local AWS API server (moto) for the DynamoDB, Secrets Manager and Step Functions tests"
eval "$(scripts/local-aws.sh)"
# Stop the server afterwards only if this run started it.
if [ "$SFN_AGENT_LOCAL_AWS_STARTED" = 1 ]; then
  trap 'scripts/local-aws.sh stop >/dev/null 2>&1 || true' EXIT
fi

step "chromium (Debian's) for the console's browser test"
scripts/install-chromium.sh >/dev/null

step "cargo test (unit, integration, doc tests, end-to-end agent runs)"
cargo test --workspace --quiet

step "the AWS CLI against sfn-agent serve"
scripts/serve-cli-test.sh

step "team projects: examples/custom-agent, sfn-agent new, the README's tutorial"
scripts/projects-test.sh

echo
echo "==> all checks passed in $((SECONDS - started))s"
