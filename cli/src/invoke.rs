//! `sfn-agent invoke <agent> "<question>"`: ask a deployed agent.
//!
//! Standard machines: StartExecution, then (with `--wait`) DescribeExecution and
//! GetExecutionHistory every second, with a progress line for each model turn and each tool call.
//! Express machines: StartSyncExecution, which answers when the run ends. Either way the answer
//! goes to stdout and everything else (progress, the console link) to stderr.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use agent_builder::react::names;
use agent_builder::{AgentInput, AgentOutput};
use anyhow::Context;
use aws_sdk_sfn::types::{ExecutionStatus, StateMachineType, SyncExecutionStatus};
use serde_json::Value;

use crate::aws::{self, AwsArgs, STATE_MACHINE_ARN_ENV};
use crate::out::outln;

/// Ask a deployed agent a question.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The agent's name, as in `state-machines/manifest.json`.
    pub agent: String,
    /// The question.
    pub question: String,
    /// Continue this conversation (the id an earlier answer printed).
    #[arg(long)]
    pub conversation: Option<String>,
    /// Wait for the answer, with progress. Express agents always answer synchronously.
    #[arg(long)]
    pub wait: bool,
    /// The agent's state machine; default: $SFN_AGENT_STATE_MACHINE_ARN, then `--outputs`.
    #[arg(long)]
    pub state_machine_arn: Option<String>,
    /// The stack outputs that `cdk deploy --outputs-file` wrote.
    #[arg(long, default_value = "cdk/outputs.json")]
    pub outputs: PathBuf,
    /// The execution's name; a Standard machine starts one execution per name and input.
    #[arg(long)]
    pub name: Option<String>,
    /// How often to poll while waiting, in milliseconds.
    #[arg(long, default_value_t = 1000, hide = true)]
    pub poll_ms: u64,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// How an execution ended.
enum Outcome {
    Succeeded(String),
    Failed {
        status: String,
        error: String,
        cause: String,
    },
}

/// Starts the execution, and waits for it when asked or when the machine is Express.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let arn = match (
        &args.state_machine_arn,
        std::env::var(STATE_MACHINE_ARN_ENV),
    ) {
        (Some(arn), _) => arn.clone(),
        (None, Ok(arn)) if !arn.is_empty() => arn,
        _ => aws::arn_from_outputs(&args.outputs, &args.agent)?,
    };
    let input = serde_json::to_string(&AgentInput {
        question: args.question.clone(),
        conversation_id: args.conversation.clone(),
    })?;
    let sfn = args.aws.client_for(&arn).await?;
    let machine = sfn
        .client
        .describe_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .with_context(|| format!("DescribeStateMachine {arn}"))?;

    if *machine.r#type() == StateMachineType::Express {
        eprintln!("asking {} (Express, synchronous) ...", args.agent);
        let out = sfn
            .client
            .start_sync_execution()
            .state_machine_arn(&arn)
            .input(&input)
            .set_name(args.name.clone())
            .send()
            .await
            .with_context(|| format!("StartSyncExecution on {arn}"))?;
        let outcome = match out.status() {
            SyncExecutionStatus::Succeeded => {
                Outcome::Succeeded(out.output().unwrap_or_default().to_owned())
            }
            other => Outcome::Failed {
                status: other.as_str().to_owned(),
                error: out.error().unwrap_or_default().to_owned(),
                cause: out.cause().unwrap_or_default().to_owned(),
            },
        };
        let code = report(outcome);
        eprintln!("{}", aws::console_link(&sfn.region, out.execution_arn()));
        return Ok(code);
    }

    let started = sfn
        .client
        .start_execution()
        .state_machine_arn(&arn)
        .input(&input)
        .set_name(args.name.clone())
        .send()
        .await
        .with_context(|| format!("StartExecution on {arn}"))?;
    let execution = started.execution_arn().to_owned();
    let link = aws::console_link(&sfn.region, &execution);
    eprintln!("started {execution}");
    eprintln!("{link}");
    if !args.wait {
        outln!("{execution}");
        eprintln!("follow it with: sfn-agent history {execution}");
        return Ok(ExitCode::SUCCESS);
    }

    let mut progress = Progress::default();
    let mut seen = 0;
    let outcome = loop {
        let described = sfn
            .client
            .describe_execution()
            .execution_arn(&execution)
            .send()
            .await
            .with_context(|| format!("DescribeExecution {execution}"))?;
        let events = aws::execution_history(&sfn.client, &execution).await?;
        for event in events.iter().skip(seen) {
            if let Some(line) = progress.see(event) {
                eprintln!("{line}");
            }
        }
        seen = events.len();
        match described.status() {
            ExecutionStatus::Running | ExecutionStatus::PendingRedrive => {}
            ExecutionStatus::Succeeded => {
                break Outcome::Succeeded(described.output().unwrap_or_default().to_owned());
            }
            other => {
                break Outcome::Failed {
                    status: other.as_str().to_owned(),
                    error: described.error().unwrap_or_default().to_owned(),
                    cause: described.cause().unwrap_or_default().to_owned(),
                };
            }
        }
        // The history's last event can be ahead of DescribeExecution's status.
        if let Some(outcome) = events.last().and_then(terminal) {
            break outcome;
        }
        tokio::time::sleep(Duration::from_millis(args.poll_ms)).await;
    };
    let code = report(outcome);
    eprintln!("{link}");
    Ok(code)
}

/// The outcome an `Execution…` event records, if the event ends the execution.
fn terminal(event: &Value) -> Option<Outcome> {
    let kind = event.get("type")?.as_str()?;
    let details = |key: &str| event.get(key).cloned().unwrap_or(Value::Null);
    let text = |d: &Value, k: &str| {
        d.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (status, d) = match kind {
        "ExecutionSucceeded" => {
            let d = details("executionSucceededEventDetails");
            return Some(Outcome::Succeeded(text(&d, "output")));
        }
        "ExecutionFailed" => ("FAILED", details("executionFailedEventDetails")),
        "ExecutionAborted" => ("ABORTED", details("executionAbortedEventDetails")),
        "ExecutionTimedOut" => ("TIMED_OUT", details("executionTimedOutEventDetails")),
        _ => return None,
    };
    Some(Outcome::Failed {
        status: status.to_owned(),
        error: text(&d, "error"),
        cause: text(&d, "cause"),
    })
}

/// Prints the answer (stdout) and what it cost (stderr); a failure's error and cause (stderr).
fn report(outcome: Outcome) -> ExitCode {
    match outcome {
        Outcome::Succeeded(output) => {
            match serde_json::from_str::<AgentOutput>(&output) {
                Ok(answer) => {
                    outln!("{}", answer.answer);
                    if let Some(result) = &answer.result {
                        outln!("{result:#}");
                    }
                    eprintln!(
                        "conversation {} · {} turn{} · {} tokens in ({} cache read, {} cache write), {} out · ~${:.4}",
                        answer.conversation_id,
                        answer.iterations,
                        if answer.iterations == 1 { "" } else { "s" },
                        answer.usage.input_tokens,
                        answer.usage.cache_read_tokens,
                        answer.usage.cache_write_tokens,
                        answer.usage.output_tokens,
                        answer.usage.estimated_cost_usd
                    );
                    eprintln!(
                        "continue it with: --conversation {}",
                        answer.conversation_id
                    );
                }
                // Not an agent's output (another machine, or a server's stand-in): show it as is.
                Err(_) => outln!("{output}"),
            }
            ExitCode::SUCCESS
        }
        Outcome::Failed {
            status,
            error,
            cause,
        } => {
            eprintln!("execution {status}: {error}: {cause}");
            ExitCode::FAILURE
        }
    }
}

/// Turns history events into progress lines: each model turn, each tool call, each failure.
#[derive(Debug, Default)]
struct Progress {
    /// The state last entered outside the tool Map.
    state: String,
    turns: u32,
}

impl Progress {
    fn see(&mut self, event: &Value) -> Option<String> {
        let kind = event.get("type")?.as_str()?;
        let details = crate::trace::details(event);
        let field = |k: &str| details.and_then(|d| d.get(k)).and_then(Value::as_str);
        match kind {
            k if k.ends_with("StateEntered") => {
                let name = field("name")?;
                if name == names::RUN_TOOL || name == names::TOOL_FAILED {
                    return None;
                }
                self.state = name.to_owned();
                if name == names::CALL_LLM {
                    self.turns += 1;
                    return Some(format!("turn {}: asking the model ...", self.turns));
                }
                None
            }
            "TaskScheduled" => {
                let parameters: Value = serde_json::from_str(field("parameters")?).ok()?;
                let call = parameters.get("Payload")?;
                let tool = call.get("name")?.as_str()?;
                let input = call.get("input").map(Value::to_string).unwrap_or_default();
                Some(format!("  tool {tool} {}", clip(&input)))
            }
            "TaskSucceeded" if self.state == names::CALL_LLM => {
                let output: Value = serde_json::from_str(field("output")?).ok()?;
                let reply = output.get("Payload").unwrap_or(&output);
                let calls: Vec<&str> = reply
                    .get("tool_calls")
                    .and_then(Value::as_array)
                    .map(|c| c.iter().filter_map(|t| t.get("name")?.as_str()).collect())
                    .unwrap_or_default();
                Some(if calls.is_empty() {
                    format!("turn {}: the model answered", self.turns)
                } else {
                    format!("turn {}: the model calls {}", self.turns, calls.join(", "))
                })
            }
            "TaskFailed" | "TaskTimedOut" => Some(format!(
                "  {kind} in \"{}\": {}: {}",
                self.state,
                field("error").unwrap_or_default(),
                clip(field("cause").unwrap_or_default())
            )),
            _ => None,
        }
    }
}

fn clip(text: &str) -> String {
    const MAX: usize = 100;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(MAX - 1).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn progress_shows_turns_and_tool_calls() {
        let mut p = Progress::default();
        let lines: Vec<String> = [
            json!({"type": "ExecutionStarted", "id": 1, "executionStartedEventDetails": {"input": "{}"}}),
            json!({"type": "TaskStateEntered", "id": 2, "stateEnteredEventDetails": {"name": "Call LLM"}}),
            json!({"type": "TaskSucceeded", "id": 3, "taskSucceededEventDetails": {
                "resourceType": "lambda", "resource": "invoke",
                "output": "{\"Payload\":{\"stop_reason\":\"tool_use\",\"tool_calls\":[{\"id\":\"t1\",\"name\":\"get_weather\",\"input\":{}}]},\"StatusCode\":200}"}}),
            json!({"type": "MapStateEntered", "id": 4, "stateEnteredEventDetails": {"name": "Run tools"}}),
            json!({"type": "TaskStateEntered", "id": 5, "stateEnteredEventDetails": {"name": "Run tool"}}),
            json!({"type": "TaskScheduled", "id": 6, "taskScheduledEventDetails": {
                "resourceType": "lambda", "resource": "invoke",
                "parameters": "{\"FunctionName\":\"f\",\"Payload\":{\"id\":\"t1\",\"name\":\"get_weather\",\"input\":{\"city\":\"Paris\"}}}"}}),
            json!({"type": "TaskFailed", "id": 7, "taskFailedEventDetails": {"error": "Lambda.ServiceException", "cause": "busy"}}),
            json!({"type": "TaskStateEntered", "id": 8, "stateEnteredEventDetails": {"name": "Call LLM"}}),
            json!({"type": "TaskSucceeded", "id": 9, "taskSucceededEventDetails": {
                "output": "{\"Payload\":{\"stop_reason\":\"end_turn\",\"text\":\"Sunny\"}}"}}),
        ]
        .iter()
        .filter_map(|e| p.see(e))
        .collect();
        assert_eq!(
            lines,
            [
                "turn 1: asking the model ...",
                "turn 1: the model calls get_weather",
                "  tool get_weather {\"city\":\"Paris\"}",
                "  TaskFailed in \"Run tools\": Lambda.ServiceException: busy",
                "turn 2: asking the model ...",
                "turn 2: the model answered",
            ]
        );
    }

    #[test]
    fn terminal_events_end_the_wait() {
        let done = terminal(
            &json!({"type": "ExecutionSucceeded", "executionSucceededEventDetails": {"output": "{}"}}),
        );
        assert!(matches!(done, Some(Outcome::Succeeded(o)) if o == "{}"));
        let failed = terminal(
            &json!({"type": "ExecutionFailed", "executionFailedEventDetails": {"error": "Agent.MaxIterations", "cause": "c"}}),
        );
        assert!(
            matches!(failed, Some(Outcome::Failed { status, error, .. }) if status == "FAILED" && error == "Agent.MaxIterations")
        );
        assert!(terminal(&json!({"type": "TaskStateEntered"})).is_none());
    }
}
