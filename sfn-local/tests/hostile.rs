//! Hostile definitions and inputs: each one ends in a named error (a failed execution with the
//! service's error name and a cause), never in a panic, an abort (stack overflow, out of
//! memory) or a run of minutes. The limits are in `sfn_local::limits`, with their sources.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sfn_local::limits::{HISTORY_LIMIT_CAUSE, MAX_HISTORY_EVENTS};
use sfn_local::{
    Engine, Execution, ExecutionOptions, ExecutionStatus, HistoryEvent, ManualClock, Registry,
    TaskError, handler_fn,
};

/// The longest any of these executions may take (debug build, a busy 2-core machine).
const TIME_LIMIT: Duration = Duration::from_secs(30);

fn engine(definition: Value, registry: Registry) -> Engine {
    let machine = asl::StateMachine::from_value(definition).expect("test definitions are valid");
    Engine::new(machine, registry).with_clock(Arc::new(ManualClock::fixed()))
}

/// Runs an execution, and checks it ended within [`TIME_LIMIT`].
async fn run_with(engine: Engine, input: Value) -> Execution {
    let started = Instant::now();
    let execution = engine.execute(input, ExecutionOptions::default()).await;
    assert!(
        started.elapsed() < TIME_LIMIT,
        "the execution took {:?}",
        started.elapsed()
    );
    execution
}

async fn run(definition: Value, input: Value) -> Execution {
    run_with(engine(definition, Registry::new()), input).await
}

fn assert_failed(execution: &Execution, error: &str, cause_has: &str) {
    assert_eq!(
        execution.status,
        ExecutionStatus::Failed,
        "{:?}",
        execution.output
    );
    assert_eq!(execution.error.as_deref(), Some(error), "{:?}", execution.cause);
    let cause = execution.cause.as_deref().unwrap_or_default();
    assert!(cause.contains(cause_has), "{cause}");
}

/// The service's history quota: the execution fails with event 25,000, its `ExecutionFailed`.
fn assert_ended_at_the_history_quota(execution: &Execution) {
    assert_failed(execution, "States.Runtime", HISTORY_LIMIT_CAUSE);
    assert_eq!(execution.history.len() as u64, MAX_HISTORY_EVENTS);
    let last = execution.history.last().expect("a history");
    assert_eq!(
        (last.id, last.event_type),
        (MAX_HISTORY_EVENTS, "ExecutionFailed")
    );
    assert!(last.previous_event_id < MAX_HISTORY_EVENTS);
    for (i, event) in execution.history.iter().enumerate() {
        assert_eq!(event.id, i as u64 + 1);
    }
}

// The history quota. The developer guide ("Avoid reaching the history quota",
// https://docs.aws.amazon.com/step-functions/latest/dg/bp-history-limit.html): "a hard quota of
// 25,000 entries in the execution event history. When an execution reaches 24,999 events, it
// waits for the next event to happen. If the event number 25,000 is ExecutionSucceeded, the
// execution finishes successfully. If the event number 25,000 isn't ExecutionSucceeded, the
// ExecutionFailed event is logged". The error and cause are the service's output as users
// report it (github.com/loads/ardere issue 86): States.Runtime, "The execution reached the
// maximum number of history events (25000)."

#[tokio::test]
async fn an_endless_pass_choice_loop_fails_at_the_history_quota() {
    let definition = json!({
        "StartAt": "Step",
        "States": {
            "Step": {"Type": "Pass", "Next": "Again?"},
            "Again?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.go", "BooleanEquals": true, "Next": "Step"}],
                "Default": "Done"
            },
            "Done": {"Type": "Succeed"}
        }
    });
    // With a listener too: it sees the events the history keeps, in order, and the last one.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let listened = seen.clone();
    let engine = engine(definition, Registry::new()).with_listener(Arc::new(
        move |event: &HistoryEvent| listened.lock().unwrap().push(event.id),
    ));
    let execution = run_with(engine, json!({"go": true})).await;
    assert_ended_at_the_history_quota(&execution);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen, (1..=MAX_HISTORY_EVENTS).collect::<Vec<_>>());
}

/// On tokio's multi-thread runtime the history is kept in shards, and counted in chunks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_loop_on_several_threads_fails_at_the_history_quota() {
    let definition = json!({
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "Step",
                    "States": {
                        "Step": {"Type": "Pass", "Next": "Again?"},
                        "Again?": {
                            "Type": "Choice",
                            "Choices": [{"Variable": "$", "BooleanEquals": true, "Next": "Step"}],
                            "Default": "Done"
                        },
                        "Done": {"Type": "Succeed"}
                    }
                },
                "End": true
            }
        }
    });
    let execution = run(definition, json!([true, true, true, true])).await;
    assert_ended_at_the_history_quota(&execution);
}

/// A loop of `iterations` Pass → Choice rounds, then Succeed: `4 × iterations + 4` events.
fn counting_loop(iterations: u64) -> Value {
    json!({
        "StartAt": "Count",
        "States": {
            "Count": {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)"}, "Next": "More?"},
            "More?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.i", "NumericLessThan": iterations, "Next": "Count"}],
                "Default": "Done"
            },
            "Done": {"Type": "Succeed"}
        }
    })
}

#[tokio::test]
async fn an_execution_whose_event_25000_is_its_success_succeeds() {
    // ExecutionStarted, 6,249 × (Pass entered/exited, Choice entered/exited), Succeed
    // entered/exited, ExecutionSucceeded: 25,000 events.
    let execution = run(counting_loop(6_249), json!({"i": 0})).await;
    assert_eq!(execution.status, ExecutionStatus::Succeeded, "{:?}", execution.cause);
    assert_eq!(execution.history.len() as u64, MAX_HISTORY_EVENTS);
    assert_eq!(execution.history[24_999].event_type, "ExecutionSucceeded");
    // One round more and event 25,000 is not the success.
    let execution = run(counting_loop(6_250), json!({"i": 0})).await;
    assert_ended_at_the_history_quota(&execution);
}

#[tokio::test]
async fn a_task_retried_without_end_fails_at_the_history_quota() {
    let definition = json!({
        "StartAt": "Flaky",
        "States": {
            "Flaky": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "flaky", "Payload.$": "$"},
                "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 99_999_999, "IntervalSeconds": 1, "BackoffRate": 1.0}],
                "End": true
            }
        }
    });
    let mut registry = Registry::new();
    registry.lambda(
        "flaky",
        handler_fn(|_| async move {
            Err::<Value, _>(TaskError {
                error: "Flaky".into(),
                cause: "always".into(),
            })
        }),
    );
    let execution = run_with(engine(definition, registry), json!({})).await;
    assert_ended_at_the_history_quota(&execution);
}

#[tokio::test]
async fn a_map_iterating_without_end_fails_at_the_history_quota() {
    let definition = json!({
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "Step",
                    "States": {
                        "Step": {"Type": "Pass", "Next": "Again?"},
                        "Again?": {
                            "Type": "Choice",
                            "Choices": [{"Variable": "$", "NumericGreaterThan": 0, "Next": "Step"}],
                            "Default": "Done"
                        },
                        "Done": {"Type": "Succeed"}
                    }
                },
                "End": true
            }
        }
    });
    let execution = run(definition, json!([1, 2, 3, 0])).await;
    assert_ended_at_the_history_quota(&execution);
}
