//! Hostile definitions and inputs: each one ends in a named error (a failed execution with the
//! service's error name and a cause), never in a panic, an abort (stack overflow, out of
//! memory) or a run of minutes. The limits are in `sfn_local::limits`, with their sources.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sfn_local::limits::{HISTORY_LIMIT_CAUSE, MAX_HISTORY_EVENTS};
use sfn_local::{
    Engine, Execution, ExecutionOptions, ExecutionStatus, HistoryEvent, LoadError, LoadErrorKind,
    Machine, ManualClock, Registry, TaskError, handler_fn,
};

/// The longest any of these executions may take (debug build, a busy 2-core machine).
const TIME_LIMIT: Duration = Duration::from_secs(30);

fn engine(definition: Value, registry: Registry) -> Engine {
    let machine = asl::StateMachine::from_value(definition).expect("test definitions are valid");
    let machine = Machine::compile(&machine).expect("test definitions compile");
    Engine::new(machine, registry).with_clock(Arc::new(ManualClock::fixed()))
}

/// Compiles a definition that must be refused at load, and returns why.
fn refused(definition: Value) -> LoadError {
    let started = Instant::now();
    let machine = asl::StateMachine::from_value(definition).expect("test definitions parse");
    let error = Machine::compile(&machine).expect_err("refused at load");
    assert!(started.elapsed() < TIME_LIMIT);
    error
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
    assert_eq!(
        execution.error.as_deref(),
        Some(error),
        "{:?}",
        execution.cause
    );
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
    let engine =
        engine(definition, Registry::new()).with_listener(Arc::new(move |event: &HistoryEvent| {
            listened.lock().unwrap().push(event.id)
        }));
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
    assert_eq!(
        execution.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        execution.cause
    );
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

/// A JSONata machine whose Pass state outputs `expression`.
fn jsonata_pass(expression: &str) -> Value {
    json!({
        "QueryLanguage": "JSONata",
        "StartAt": "Compute",
        "States": {"Compute": {"Type": "Pass", "Output": format!("{{% {expression} %}}"), "End": true}}
    })
}

/// `term` joined by `operator`, `count` times.
fn chain(term: &str, operator: &str, count: usize) -> String {
    vec![term; count].join(operator)
}

#[tokio::test]
async fn a_jsonata_operator_chain_of_2000_terms_fails_the_state() {
    for expression in [
        chain("1", "+", 2_000),
        chain("'a'", " & ", 2_000),
        chain("$states.input.n", " * ", 2_000),
        chain("true", " and ", 2_000),
        format!("{}1", "-".repeat(1_000)),
        format!("{}1", "- ".repeat(1_000)),
    ] {
        let execution = run(jsonata_pass(&expression), json!({"n": 1})).await;
        assert_failed(
            &execution,
            "States.QueryEvaluationError",
            "operators and brackets in a row",
        );
    }
}

#[tokio::test]
async fn long_jsonata_expressions_below_the_limit_still_evaluate() {
    for (expression, expected) in [
        (chain("1", "+", 300), json!(300)),
        (chain("'a'", " & ", 200), json!("a".repeat(200))),
        (format!("{}1", "-".repeat(300)), json!(1)),
        (chain("$states.input.n", " + ", 40), json!(40)),
    ] {
        let execution = run(jsonata_pass(&expression), json!({"n": 1})).await;
        assert_eq!(
            execution.status,
            ExecutionStatus::Succeeded,
            "{:?}",
            execution.cause
        );
        assert_eq!(execution.output, Some(expected));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jsonata_chains_in_map_iterations_on_worker_threads_end_cleanly() {
    // A Map iteration runs on a tokio worker thread (2 MiB of stack).
    let map = |expression: String| {
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Each",
            "States": {
                "Each": {
                    "Type": "Map",
                    "Items": "{% [1, 2, 3, 4, 5, 6, 7, 8] %}",
                    "ItemProcessor": {
                        "StartAt": "Compute",
                        "States": {"Compute": {"Type": "Pass", "Output": format!("{{% {expression} %}}"), "End": true}}
                    },
                    "End": true
                }
            }
        })
    };
    let execution = run(map(chain("1", "+", 600)), json!({})).await;
    assert_failed(
        &execution,
        "States.QueryEvaluationError",
        "operators and brackets in a row",
    );
    let execution = run(map(chain("1", "+", 390)), json!({})).await;
    assert_eq!(
        execution.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        execution.cause
    );
    assert_eq!(execution.output, Some(json!(vec![390; 8])));
    // A function that recurses as deep as the library allows (its limit is 500 calls).
    let recursion = "($f := function($n) { $n = 0 ? 0 : 1 + $f($n - 1) }; $f(100))";
    let execution = run(map(recursion.into()), json!({})).await;
    assert_eq!(
        execution.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        execution.cause
    );
    assert_eq!(execution.output, Some(json!(vec![100; 8])));
    let endless = "($f := function($n) { $f($n + 1) }; $f(0))";
    let execution = run(map(endless.into()), json!({})).await;
    assert_failed(&execution, "States.QueryEvaluationError", "");
}

#[tokio::test]
async fn format_number_of_an_infinite_number_fails_the_state() {
    let execution = run(
        jsonata_pass("$formatNumber(1e308 * 10, '0.0e0')"),
        json!({}),
    )
    .await;
    assert_failed(&execution, "States.QueryEvaluationError", "");
    let execution = run(
        jsonata_pass("[$formatNumber(1e300, '#,##0.00'), $formatNumber(1e-300, '0.00')]"),
        json!({}),
    )
    .await;
    // jsonata-js 2.0.6 writes `1e+,300.00` for the first (JavaScript's `toFixed` switches to
    // exponent form from 1e21); the engine writes the number's digits in full.
    let output = execution.output.expect("formats");
    assert!(
        output[0].as_str().is_some_and(|s| s.ends_with(",160.00")),
        "{output}"
    );
    assert_eq!(output[1], json!("0.00"));
}

#[tokio::test]
async fn intrinsics_nested_3000_deep_are_refused_at_load() {
    let nested = format!("{}1{}", "States.Array(".repeat(3_000), ")".repeat(3_000));
    let definition = json!({
        "StartAt": "Build",
        "States": {"Build": {"Type": "Pass", "Parameters": {"deep.$": nested}, "End": true}}
    });
    let error = refused(definition);
    assert_eq!(error.kind, LoadErrorKind::Intrinsic);
    assert_eq!(error.at, "States.Build.Parameters.deep.$");
    assert!(error.message.contains("nest more than 64 deep"), "{error}");
    // Nesting within the limit evaluates.
    let nested = format!("{}1{}", "States.Array(".repeat(60), ")".repeat(60));
    let definition = json!({
        "StartAt": "Build",
        "States": {"Build": {"Type": "Pass", "Parameters": {"deep.$": nested}, "OutputPath": "$.deep", "End": true}}
    });
    let execution = run(definition, json!({})).await;
    assert_eq!(
        execution.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        execution.cause
    );
}

#[tokio::test]
async fn a_jsonpath_filter_with_10000_nested_parentheses_is_refused_at_load() {
    let filter = format!(
        "$.items[?({}@.a == 1{})]",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    let chained = format!("$.items[?({})]", chain("@.a == 1", " && ", 5_000));
    let negated = format!("$.items[?({}@.a)]", "!".repeat(10_000));
    for path in [filter, chained, negated] {
        let definition = json!({
            "StartAt": "Pick",
            "States": {"Pick": {"Type": "Pass", "InputPath": path, "End": true}}
        });
        let error = refused(definition);
        assert_eq!(error.kind, LoadErrorKind::JsonPath);
        assert_eq!(error.at, "States.Pick.InputPath");
        assert!(
            error.message.contains("parentheses and operators"),
            "{error}"
        );
    }
}

#[tokio::test]
async fn a_catastrophic_regex_in_a_filter_answers_at_once() {
    let definition = json!({
        "StartAt": "Pick",
        "States": {"Pick": {"Type": "Pass", "InputPath": "$.items[?(@.s =~ /(a+)+$/)]", "End": true}}
    });
    let input = json!({"items": [{"s": format!("{}!", "a".repeat(40))}, {"s": "a".repeat(41)}]});
    let execution = run(definition, input).await;
    assert_eq!(
        execution.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        execution.cause
    );
    assert_eq!(execution.output, Some(json!([{"s": "a".repeat(41)}])));
}

#[tokio::test]
async fn a_loop_that_wraps_its_input_fails_before_it_nests_too_deep() {
    // Each round wraps the payload in one more object: 20,000 rounds would nest it 20,000
    // deep, and the history would keep every size of it.
    let definition = json!({
        "StartAt": "Wrap",
        "States": {
            "Wrap": {"Type": "Pass", "Parameters": {"inner.$": "$", "go": true}, "Next": "Again?"},
            "Again?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.go", "BooleanEquals": true, "Next": "Wrap"}],
                "Default": "Done"
            },
            "Done": {"Type": "Succeed"}
        }
    });
    let execution = run(definition, json!({})).await;
    assert_failed(
        &execution,
        "States.Runtime",
        "nested more than 256 levels deep",
    );
    // In JSONata likewise.
    let definition = json!({
        "QueryLanguage": "JSONata",
        "StartAt": "Wrap",
        "States": {
            "Wrap": {"Type": "Pass", "Output": {"inner": "{% $states.input %}"}, "Next": "Wrap"}
        }
    });
    let execution = run(definition, json!({})).await;
    assert_failed(
        &execution,
        "States.Runtime",
        "nested more than 256 levels deep",
    );
}

/// A range whose next item is past i64's end stops there, not in an overflow.
#[tokio::test]
async fn an_array_range_at_the_end_of_i64_stops_there() {
    let execution = run(
        json!({"StartAt": "R", "States": {"R": {"Type": "Pass", "Parameters": {
            "r.$": "States.ArrayRange(9000000000000000000, 9200000000000000000, 9000000000000000000)"
        }, "End": true}}}),
        json!({}),
    )
    .await;
    assert_eq!(
        execution.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        execution.cause
    );
    assert_eq!(
        execution.output,
        Some(json!({"r": [9_000_000_000_000_000_000_i64]}))
    );
}

/// An in-process Lambda that answers a value nested 1,000 deep, past the engine's 256: a named
/// error, measured before the `lambda:invoke` result walks it.
#[tokio::test]
async fn a_lambda_answer_nested_without_end_is_a_named_error() {
    let mut registry = Registry::new();
    registry.lambda(
        "deep",
        handler_fn(|_| async {
            let mut value = json!(1);
            for _ in 0..1_000 {
                value = json!([value]);
            }
            Ok(value)
        }),
    );
    let execution = run_with(
        engine(
            json!({"StartAt": "Call", "States": {"Call": {
                "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "deep"}, "End": true}}}),
            registry,
        ),
        json!({}),
    )
    .await;
    assert_failed(&execution, "States.Runtime", "nested more than");
}
