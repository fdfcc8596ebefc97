#!/usr/bin/env bash
# The AWS CLI (PyPI `awscli`, pinned below, installed into .local/awscli) against
# `sfn-agent serve`: it lists the registered agents, runs the `assistant` agent (its scripted
# conversation) to its answer, reads its history in pages, answers a task token with
# SendTaskSuccess, and gets the service's error for an unknown execution.
#
#   scripts/serve-cli-test.sh        # builds the sfn-agent binary, starts serve on a free port
#
# The server runs only for the test; its log is shown when a step fails.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
awscli_version="1.46.3"
venv="$root/.local/awscli"

if [ ! -x "$venv/bin/aws" ] || ! "$venv/bin/aws" --version 2>&1 | grep -q "aws-cli/$awscli_version "; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check "awscli==$awscli_version" >&2
fi
py="$venv/bin/python3"

cargo build --quiet -p sfn-agent-demo
data="$(mktemp -d)"
log="$data/serve.log"
target/debug/sfn-agent serve --port 0 --data-dir "$data/store" --scripts examples/scripts 2>"$log" &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  echo "--- serve log ---" >&2
  cat "$log" >&2
  exit 1
}

endpoint=""
for _ in $(seq 1 100); do
  endpoint="$(sed -n 's/.*Step Functions API on \(http:[^ ]*\).*/\1/p' "$log" | head -n 1)"
  [ -n "$endpoint" ] && break
  kill -0 "$server" 2>/dev/null || fail "serve exited"
  sleep 0.1
done
[ -n "$endpoint" ] || fail "serve printed no address"
echo "serve on $endpoint"

export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 AWS_PAGER=""
export AWS_CONFIG_FILE="$data/none" AWS_SHARED_CREDENTIALS_FILE="$data/none" AWS_EC2_METADATA_DISABLED=true
sfn() { "$venv/bin/aws" stepfunctions --endpoint-url "$endpoint" "$@"; }

# Waits for an execution to end and prints its status.
wait_status() {
  local status=RUNNING
  for _ in $(seq 1 200); do
    status="$(sfn describe-execution --execution-arn "$1" --query status --output text)"
    [ "$status" != RUNNING ] && break
    sleep 0.1
  done
  echo "$status"
}

sfn list-state-machines --query 'stateMachines[].name' --output text | grep -qw assistant \
  || fail "the assistant agent is not registered"

machine="arn:aws:states:us-east-1:123456789012:stateMachine:assistant"
execution="$(sfn start-execution --state-machine-arn "$machine" --name cli-run \
  --input '{"question": "What is 17% of 2,340, and what is its square root?"}' \
  --query executionArn --output text)"
[ "$(wait_status "$execution")" = SUCCEEDED ] || fail "the assistant run did not succeed"
sfn describe-execution --execution-arn "$execution" --query output --output text | grep -q '397.8' \
  || fail "the answer is not in the output"
echo "assistant answered: $(sfn describe-execution --execution-arn "$execution" --query output --output text)"

# The history, fetched 4 events a page (the CLI follows nextToken).
events="$(sfn get-execution-history --execution-arn "$execution" --page-size 4 --output json)"
"$py" - "$events" <<'PY' || fail "the history is not complete"
import json, sys
events = json.loads(sys.argv[1])["events"]
ids = [e["id"] for e in events]
assert ids == list(range(1, len(ids) + 1)), ids
assert events[0]["type"] == "ExecutionStarted" and events[-1]["type"] == "ExecutionSucceeded"
names = [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]
assert names.count("Call LLM") == 2, names
print(f"history: {len(events)} events, states {names}")
PY
last="$(sfn get-execution-history --execution-arn "$execution" --reverse-order --max-items 1 --query 'events[0].type' --output text | head -n 1)"
[ "$last" = ExecutionSucceeded ] || fail "reverse order starts with $last"

# A task token, answered with SendTaskSuccess.
definition='{"StartAt": "Ask", "States": {"Ask": {"Type": "Task",
  "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
  "Parameters": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/approvals",
                 "MessageBody": {"token.$": "$$.Task.Token"}}, "End": true}}}'
waits="$(sfn create-state-machine --name cli-approval --definition "$definition" \
  --role-arn arn:aws:iam::123456789012:role/test --query stateMachineArn --output text)"
waiting="$(sfn start-execution --state-machine-arn "$waits" --query executionArn --output text)"
token=""
for _ in $(seq 1 100); do
  parameters="$(sfn get-execution-history --execution-arn "$waiting" \
    --query "events[?type=='TaskScheduled'].taskScheduledEventDetails.parameters | [0]" --output text)"
  if [ "$parameters" != None ] && [ -n "$parameters" ]; then
    token="$("$py" -c 'import json,sys; print(json.loads(sys.argv[1])["MessageBody"]["token"])' "$parameters")"
    break
  fi
  sleep 0.1
done
[ -n "$token" ] || fail "the execution never waited on a token"
sfn send-task-success --task-token "$token" --task-output '{"approved": true}'
[ "$(wait_status "$waiting")" = SUCCEEDED ] || fail "the approved execution did not succeed"
[ "$(sfn describe-execution --execution-arn "$waiting" --query output --output text)" = '{"approved":true}' ] \
  || fail "the task output is not the execution's output"

# The service's errors.
if out="$(sfn describe-execution --execution-arn arn:aws:states:us-east-1:123456789012:execution:assistant:nope 2>&1)"; then
  fail "an unknown execution was described"
fi
echo "$out" | grep -q ExecutionDoesNotExist || fail "unknown execution: $out"
if out="$(sfn send-task-success --task-token "$token" --task-output '{}' 2>&1)"; then
  fail "a spent token was accepted"
fi
echo "$out" | grep -q TaskDoesNotExist || fail "spent token: $out"

echo "AWS CLI against sfn-agent serve: all checks passed"
