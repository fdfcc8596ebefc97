#!/usr/bin/env bash
# Team projects outside the workspace, as a team builds and runs them:
#   1. examples/custom-agent: builds against the framework by path, answers with its scripted
#      model, lists and graphs its agent, its written machines are current, and its CDK app
#      synthesizes offline with cdk-nag and cfn-lint, with its own tool's Lambda in the template;
#   2. `sfn-agent new`: writes the same project (the example is kept equal to it, paths aside);
#   3. the README's tutorial, line by line (scripts/tutorial-test.sh).
# The projects share one target directory (target/projects), so their dependencies build once.
# Usage: scripts/projects-test.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="$root/target/projects"
example="$root/examples/custom-agent"
agent=custom-agent
question="How many words are in 'Step Functions waits for free', per 100 characters?"

started=$SECONDS
say() { echo "== [$((SECONDS - started))s] $*" >&2; }
fail() { echo "projects-test: $*" >&2; exit 1; }

say "examples/custom-agent: build"
cargo build --quiet --manifest-path "$example/Cargo.toml" --bins
bin="$CARGO_TARGET_DIR/debug/$agent"

say "examples/custom-agent: run $agent with its scripted model"
answer="$(cd "$example" && "$bin" run "$agent" "$question" --script "scripts/$agent.json" \
  --conversations-dir "$CARGO_TARGET_DIR/conversations")"
echo "$answer"
grep -q "5 words in 29 characters" <<<"$answer" || fail "the example's agent did not answer as scripted: $answer"

say "examples/custom-agent: agents, graph, check"
[ "$(cd "$example" && "$bin" agents)" = "$agent" ] || fail "agents does not list exactly $agent"
(cd "$example" && "$bin" graph "$agent") | grep -q "Call LLM" || fail "graph has no Call LLM state"
(cd "$example" && "$bin" check)

say "examples/custom-agent: CDK synth (offline, cdk-nag, cfn-lint) with the tool's Lambda"
scripts/cdk-synth-app.sh "$example/cdk" --expect-function-binary tool-word-count \
  --expect-function-binary tool-calculate --expect-function-binary llm-anthropic

say "sfn-agent new writes the example (the framework's path aside)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cargo run --quiet -p sfn-agent-demo --target-dir "$root/target" -- new "$tmp/$agent" --framework "$root" >/dev/null
sed -i "s#$root/sfn-agent#../../sfn-agent#" "$tmp/$agent/Cargo.toml"
sed -i "s#file:$root/construct#file:../../../construct#" "$tmp/$agent/cdk/package.json"
if ! diff -r -q -x Cargo.lock -x target -x node_modules -x cdk.out -x package-lock.json \
  -x state-machines -x .sfn-agent "$tmp/$agent" "$example"; then
  diff -r -x Cargo.lock -x target -x node_modules -x cdk.out -x package-lock.json \
    -x state-machines -x .sfn-agent "$tmp/$agent" "$example" | head -40 >&2 || true
  fail "examples/custom-agent differs from what \`sfn-agent new\` writes: regenerate it or change the templates in cli/templates/project"
fi

say "the README's tutorial"
scripts/tutorial-test.sh

say "projects: all checks passed"
