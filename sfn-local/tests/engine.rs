//! The engine's public behaviour: whole executions through `Engine::execute`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use sfn_local::{
    Engine, Execution, ExecutionOptions, ExecutionStatus, HistoryEvent, Machine, ManualClock,
    Registry, TaskError, handler_fn,
};

fn machine(definition: Value) -> Machine {
    let definition = asl::StateMachine::from_value(definition).expect("test definitions are valid");
    Machine::compile(&definition).expect("test definitions compile")
}

async fn run(definition: Value, registry: Registry, input: Value) -> Execution {
    Engine::new(machine(definition), registry)
        .with_clock(Arc::new(ManualClock::fixed()))
        .execute(input, ExecutionOptions::default())
        .await
}

fn types(execution: &Execution) -> Vec<&'static str> {
    execution.history.iter().map(|e| e.event_type).collect()
}

/// A ReAct-like loop in JSONata, the shape `agent-builder` generates: Call LLM → Choice →
/// Map of tool Tasks (a failing tool caught into an error value) → back to Call LLM.
fn react_machine() -> Value {
    json!({
        "QueryLanguage": "JSONata",
        "StartAt": "Call LLM",
        "States": {
            "Call LLM": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": {
                    "FunctionName": "${CallLlmArn}",
                    "Payload": {
                        "question": "{% $question %}",
                        "iteration": "{% $iteration %}",
                        "tool_results": "{% $states.input.tool_results %}"
                    }
                },
                "Retry": [{"ErrorEquals": ["LLM.RateLimited"], "IntervalSeconds": 2, "BackoffRate": 2, "MaxAttempts": 3}],
                "Assign": {"iteration": "{% $iteration + 1 %}", "last_reply": "{% $states.result.Payload %}"},
                "Output": "{% $states.result.Payload %}",
                "Next": "Tool use?"
            },
            "Tool use?": {
                "Type": "Choice",
                "Choices": [{
                    "Condition": "{% $count($states.input.tool_calls) > 0 %}",
                    "Next": "Run tools"
                }],
                "Default": "Answer"
            },
            "Run tools": {
                "Type": "Map",
                "Items": "{% $states.input.tool_calls %}",
                "MaxConcurrency": 4,
                "ItemProcessor": {
                    "StartAt": "Run tool",
                    "States": {
                        "Run tool": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::lambda:invoke",
                            "Arguments": {
                                "FunctionName": "{% $states.input.name %}",
                                "Payload": "{% $states.input %}"
                            },
                            "Output": {"tool_use_id": "{% $states.input.id %}", "content": "{% $states.result.Payload %}", "is_error": false},
                            "Catch": [{
                                "ErrorEquals": ["States.ALL"],
                                "Output": {
                                    "tool_use_id": "{% $states.input.id %}",
                                    "content": "{% $states.errorOutput.Error %}",
                                    "is_error": true
                                },
                                "Next": "Tool failed"
                            }],
                            "End": true
                        },
                        "Tool failed": {"Type": "Pass", "End": true}
                    }
                },
                "Output": {"tool_results": "{% $states.result %}"},
                "Next": "Call LLM"
            },
            "Answer": {
                "Type": "Succeed",
                "Output": {"answer": "{% $states.input.text %}", "iterations": "{% $iteration %}", "question": "{% $question %}"}
            }
        }
    })
}

#[tokio::test]
async fn react_loop_runs_tools_catches_failures_and_retries_with_a_manual_clock() {
    let llm_calls = Arc::new(AtomicUsize::new(0));
    let seen_payloads = Arc::new(Mutex::new(Vec::new()));
    let mut registry = Registry::new();
    {
        let calls = llm_calls.clone();
        let seen = seen_payloads.clone();
        registry.lambda(
            "${CallLlmArn}",
            handler_fn(move |payload: Arc<Value>| {
                let calls = calls.clone();
                let seen = seen.clone();
                async move {
                    seen.lock().unwrap().push((*payload).clone());
                    match calls.fetch_add(1, Ordering::SeqCst) {
                        0 => Ok(json!({"tool_calls": [
                            {"id": "t1", "name": "weather", "input": {"city": "Paris"}},
                            {"id": "t2", "name": "broken", "input": {}}
                        ]})),
                        1 => Err(TaskError::new("LLM.RateLimited", "slow down")),
                        _ => Ok(json!({"tool_calls": [], "text": "Sunny in Paris"})),
                    }
                }
            }),
        );
    }
    registry.lambda(
        "weather",
        handler_fn(|p: Arc<Value>| async move {
            Ok(json!({"city": p["input"]["city"], "sky": "sunny"}))
        }),
    );
    registry.lambda(
        "broken",
        handler_fn(|_| async move { Err(TaskError::new("ToolCrashed", "segfault")) }),
    );
    // The variables the loop reads start in the machine: assign them in a first Pass.
    let mut definition = react_machine();
    definition["StartAt"] = json!("Start");
    definition["States"]["Start"] = json!({
        "Type": "Pass",
        "Assign": {"question": "{% $states.input.question %}", "iteration": 0},
        "Output": {"tool_results": []},
        "Next": "Call LLM"
    });
    let clock = Arc::new(ManualClock::fixed());
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let engine = Engine::new(machine(definition), registry)
        .with_clock(clock.clone())
        .with_listener(Arc::new(move |e: &HistoryEvent| {
            sink.lock().unwrap().push(e.event_type)
        }));
    let execution = engine
        .execute(
            json!({"question": "Weather in Paris?"}),
            ExecutionOptions::default(),
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
        Some(json!({"answer": "Sunny in Paris", "iterations": 2, "question": "Weather in Paris?"}))
    );
    // The second LLM call was retried once after 2 seconds of virtual time.
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(2)]);
    assert_eq!(llm_calls.load(Ordering::SeqCst), 3);
    // The tool results went back to the LLM in item order, the failure as an error value.
    let payloads = seen_payloads.lock().unwrap().clone();
    assert_eq!(
        payloads[2]["tool_results"],
        json!([
            {"tool_use_id": "t1", "content": {"city": "Paris", "sky": "sunny"}, "is_error": false},
            {"tool_use_id": "t2", "content": "ToolCrashed", "is_error": true}
        ])
    );
    assert_eq!(payloads[0]["iteration"], json!(0));
    assert_eq!(payloads[2]["iteration"], json!(1));
    // The listener saw every event as it was appended, in order.
    assert_eq!(*events.lock().unwrap(), types(&execution));
    let t = types(&execution);
    assert_eq!(t.first().copied(), Some("ExecutionStarted"));
    assert_eq!(t.last().copied(), Some("ExecutionSucceeded"));
    for expected in [
        "MapStateStarted",
        "MapIterationStarted",
        "MapIterationSucceeded",
        "MapStateSucceeded",
        "TaskFailed",
        "ChoiceStateEntered",
    ] {
        assert!(t.contains(&expected), "missing {expected} in {t:?}");
    }
    // Ids are 1..n and each event follows an earlier one.
    for (i, e) in execution.history.iter().enumerate() {
        assert_eq!(e.id, i as u64 + 1);
        assert!(e.previous_event_id < e.id);
    }
}

#[tokio::test]
async fn lambda_invoke_wraps_the_payload_and_history_has_the_service_fields() {
    let mut registry = Registry::new();
    registry.lambda(
        "echo",
        handler_fn(|p| async move { Ok(Arc::unwrap_or_clone(p)) }),
    );
    let execution = run(
        json!({
            "StartAt": "Call",
            "States": {"Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:echo", "Payload.$": "$"},
                "End": true
            }}
        }),
        registry,
        json!({"x": 1}),
    )
    .await;
    let output = execution.output.clone().unwrap();
    assert_eq!(output["Payload"], json!({"x": 1}));
    assert_eq!(output["StatusCode"], json!(200));
    assert_eq!(output["ExecutedVersion"], json!("$LATEST"));
    assert_eq!(output["SdkHttpMetadata"]["HttpStatusCode"], json!(200));
    assert!(output["SdkResponseMetadata"]["RequestId"].is_string());
    assert_eq!(
        types(&execution),
        vec![
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    let scheduled = execution.history[2].to_json();
    assert_eq!(
        scheduled["taskScheduledEventDetails"]["resourceType"],
        json!("lambda")
    );
    assert_eq!(
        scheduled["taskScheduledEventDetails"]["resource"],
        json!("invoke")
    );
    assert_eq!(
        scheduled["taskScheduledEventDetails"]["region"],
        json!("us-east-1")
    );
    let params: Value = serde_json::from_str(
        scheduled["taskScheduledEventDetails"]["parameters"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(params["Payload"], json!({"x": 1}));
    let started = execution.history[0].to_json();
    assert_eq!(
        started["executionStartedEventDetails"]["input"],
        json!("{\"x\":1}")
    );
    assert_eq!(started["previousEventId"], json!(0));
    let entered = execution.history[1].to_json();
    assert_eq!(entered["stateEnteredEventDetails"]["name"], json!("Call"));
    assert_eq!(entered["timestamp"], json!("2024-01-01T00:00:00.000Z"));
    assert_eq!(
        execution.to_json(false),
        json!({"status": "SUCCEEDED", "output": output})
    );
}

#[tokio::test]
async fn a_lambda_error_takes_the_service_shape_and_an_unknown_function_names_itself() {
    let mut registry = Registry::new();
    registry.lambda(
        "fails",
        handler_fn(|_| async move { Err(TaskError::new("ValueError", "bad")) }),
    );
    let definition = |f: &str| {
        json!({
            "StartAt": "Call",
            "States": {"Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                                "Parameters": {"FunctionName": f}, "End": true}}
        })
    };
    let failed = run(definition("fails"), registry, json!({})).await;
    assert_eq!(failed.status, ExecutionStatus::Failed);
    assert_eq!(failed.error.as_deref(), Some("ValueError"));
    let cause: Value = serde_json::from_str(failed.cause.as_deref().unwrap()).unwrap();
    assert_eq!(cause["errorMessage"], json!("bad"));
    assert_eq!(cause["errorType"], json!("ValueError"));
    assert_eq!(
        failed.to_json(false),
        json!({"status": "FAILED", "error": "ValueError", "cause": failed.cause})
    );
    let missing = run(definition("ghost"), Registry::new(), json!({})).await;
    assert_eq!(
        missing.error.as_deref(),
        Some("Lambda.ResourceNotFoundException")
    );
    assert!(missing.cause.unwrap().contains("'ghost'"));
}

#[tokio::test]
async fn jsonpath_map_parallel_context_and_intrinsics() {
    let mut registry = Registry::new();
    registry.lambda(
        "arn:aws:lambda:us-east-1:123456789012:function:double",
        handler_fn(|p: Arc<Value>| async move { Ok(json!(p["value"].as_i64().unwrap_or(0) * 2)) }),
    );
    let execution = run(
        json!({
            "StartAt": "Each",
            "States": {
                "Each": {
                    "Type": "Map",
                    "ItemsPath": "$.numbers",
                    "ItemSelector": {"index.$": "$$.Map.Item.Index", "value.$": "$$.Map.Item.Value", "label.$": "$.label"},
                    "ItemProcessor": {
                        "StartAt": "Double",
                        "States": {"Double": {
                            "Type": "Task",
                            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:double",
                            "End": true
                        }}
                    },
                    "ResultPath": "$.doubled",
                    "Next": "Both"
                },
                "Both": {
                    "Type": "Parallel",
                    "Branches": [
                        {"StartAt": "Sum", "States": {"Sum": {"Type": "Pass", "Parameters": {"n.$": "States.ArrayLength($.doubled)"}, "End": true}}},
                        {"StartAt": "Fmt", "States": {"Fmt": {"Type": "Pass", "Parameters": {"s.$": "States.Format('{} has {}', $.label, States.JsonToString($.doubled))"}, "End": true}}}
                    ],
                    "ResultSelector": {"count.$": "$[0].n", "text.$": "$[1].s"},
                    "ResultPath": "$.summary",
                    "OutputPath": "$.summary",
                    "End": true
                }
            }
        }),
        registry,
        json!({"numbers": [1, 2, 3], "label": "list"}),
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
        Some(json!({"count": 3, "text": "list has [2,4,6]"}))
    );
    let t = types(&execution);
    assert!(t.contains(&"LambdaFunctionScheduled"));
    assert!(t.contains(&"ParallelStateSucceeded"));
    let iteration = execution
        .history
        .iter()
        .find(|e| e.event_type == "MapIterationStarted")
        .unwrap();
    assert_eq!(iteration.detail("name"), Some(&json!("Each")));
}

#[tokio::test]
async fn variables_are_read_inside_map_and_do_not_leak_out() {
    let definition = json!({
        "QueryLanguage": "JSONata",
        "StartAt": "Set",
        "States": {
            "Set": {"Type": "Pass", "Assign": {"prefix": "item-", "total": 1}, "Next": "Each"},
            "Each": {
                "Type": "Map",
                "Items": [1, 2],
                "ItemProcessor": {"StartAt": "Inner", "States": {
                    "Inner": {"Type": "Pass", "Assign": {"inner": "{% $states.input %}"},
                              "Output": "{% $prefix & $string($states.input) %}", "End": true}
                }},
                "Assign": {"total": "{% $total + 1 %}", "results": "{% $states.result %}"},
                "Next": "Done"
            },
            "Done": {"Type": "Pass", "Output": {"count": "{% $total %}", "results": "{% $results %}", "inner": "{% $exists($inner) %}"}, "End": true}
        }
    });
    let execution = run(definition, Registry::new(), json!({})).await;
    assert_eq!(
        execution.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        execution.cause
    );
    assert_eq!(
        execution.output,
        Some(json!({"count": 2, "results": ["item-1", "item-2"], "inner": false}))
    );
    // Assign reads the values from before the state: both fields see the old `$x`.
    let same_state = json!({
        "QueryLanguage": "JSONata",
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Assign": {"x": 1}, "Next": "B"},
            "B": {"Type": "Pass", "Assign": {"x": 2, "y": "{% $x %}"}, "Output": "{% $x %}", "Next": "C"},
            "C": {"Type": "Pass", "Output": {"x": "{% $x %}", "y": "{% $y %}", "out": "{% $states.input %}"}, "End": true}
        }
    });
    let execution = run(same_state, Registry::new(), json!({})).await;
    assert_eq!(execution.output, Some(json!({"x": 2, "y": 1, "out": 1})));
    let exited = execution
        .history
        .iter()
        .find(|e| e.event_type == "PassStateExited" && e.detail("name") == Some(&json!("B")))
        .unwrap();
    assert_eq!(
        exited.detail("assignedVariables"),
        Some(&json!({"x": "2", "y": "1"}))
    );
}

#[tokio::test]
async fn catch_output_and_assign_see_the_error_output() {
    let mut registry = Registry::new();
    registry.lambda(
        "fails",
        handler_fn(|_| async move { Err(TaskError::new("Custom.Error", "it broke")) }),
    );
    let execution = run(
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Try",
            "States": {
                "Try": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Arguments": {"FunctionName": "fails"},
                    "Catch": [
                        {"ErrorEquals": ["Other"], "Next": "Wrong"},
                        {"ErrorEquals": ["States.TaskFailed"], "Assign": {"err": "{% $states.errorOutput.Error %}"},
                         "Output": {"input": "{% $states.input %}", "caught": "{% $states.errorOutput.Error %}"}, "Next": "After"}
                    ],
                    "End": true
                },
                "Wrong": {"Type": "Fail", "Error": "Wrong"},
                "After": {"Type": "Pass", "Output": {"caught": "{% $states.input.caught %}", "var": "{% $err %}", "input": "{% $states.input.input %}"}, "End": true}
            }
        }),
        registry,
        json!({"q": 1}),
    )
    .await;
    assert_eq!(
        execution.output,
        Some(json!({"caught": "Custom.Error", "var": "Custom.Error", "input": {"q": 1}}))
    );
}

#[tokio::test]
async fn jsonpath_catch_puts_the_error_at_result_path_and_retries_are_counted() {
    let calls = Arc::new(AtomicUsize::new(0));
    let mut registry = Registry::new();
    let counter = calls.clone();
    registry.lambda(
        "flaky",
        handler_fn(move |_| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                Err(TaskError::new("Flaky", "again"))
            }
        }),
    );
    let clock = Arc::new(ManualClock::fixed());
    let execution = Engine::new(
        machine(json!({
            "StartAt": "Try",
            "States": {
                "Try": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": "flaky"},
                    "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 3, "MaxAttempts": 2, "BackoffRate": 1.5}],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Done"}],
                    "End": true
                },
                "Done": {"Type": "Succeed"}
            }
        })),
        registry,
    )
    .with_clock(clock.clone())
    .execute(json!({"keep": true}), ExecutionOptions::default())
    .await;
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(
        clock.sleeps(),
        vec![Duration::from_secs(3), Duration::from_secs_f64(4.5)]
    );
    let output = execution.output.unwrap();
    assert_eq!(output["keep"], json!(true));
    assert_eq!(output["error"]["Error"], json!("Flaky"));
}

#[tokio::test(start_paused = true)]
async fn a_task_over_its_timeout_fails_with_states_timeout() {
    let mut registry = Registry::new();
    registry.lambda(
        "slow",
        handler_fn(|_| async move {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(json!("late"))
        }),
    );
    let execution = Engine::new(
        machine(json!({
            "StartAt": "Slow",
            "States": {"Slow": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                                "Parameters": {"FunctionName": "slow"}, "TimeoutSeconds": 5, "End": true}}
        })),
        registry,
    )
    .execute(json!({}), ExecutionOptions::default())
    .await;
    assert_eq!(execution.error.as_deref(), Some("States.Timeout"));
    assert!(types(&execution).contains(&"TaskTimedOut"));
}

#[tokio::test]
async fn the_machine_timeout_counts_virtual_time() {
    let execution = run(
        json!({
            "TimeoutSeconds": 10,
            "StartAt": "Wait",
            "States": {
                "Wait": {"Type": "Wait", "Seconds": 30, "Next": "After"},
                "After": {"Type": "Pass", "End": true}
            }
        }),
        Registry::new(),
        json!({}),
    )
    .await;
    assert_eq!(execution.status, ExecutionStatus::TimedOut);
    assert_eq!(execution.error.as_deref(), Some("States.Timeout"));
    assert_eq!(types(&execution).last().copied(), Some("ExecutionTimedOut"));
}

#[tokio::test]
async fn wait_forms_take_no_real_time() {
    let clock = Arc::new(ManualClock::fixed());
    let execution = Engine::new(
        machine(json!({
            "StartAt": "Seconds",
            "States": {
                "Seconds": {"Type": "Wait", "Seconds": 5, "Next": "SecondsPath"},
                "SecondsPath": {"Type": "Wait", "SecondsPath": "$.delay", "Next": "Timestamp"},
                "Timestamp": {"Type": "Wait", "Timestamp": "2024-01-01T00:01:00Z", "Next": "TimestampPath"},
                "TimestampPath": {"Type": "Wait", "TimestampPath": "$.until", "End": true}
            }
        })),
        Registry::new(),
    )
    .with_clock(clock.clone())
    .execute(json!({"delay": 7, "until": "2024-01-01T00:02:00Z"}), ExecutionOptions::default())
    .await;
    assert_eq!(execution.status, ExecutionStatus::Succeeded);
    assert_eq!(
        clock.sleeps(),
        vec![
            Duration::from_secs(5),
            Duration::from_secs(7),
            Duration::from_secs(48),
            Duration::from_secs(60)
        ]
    );
}

#[tokio::test]
async fn wait_for_task_token_completes_from_outside() {
    let tokens = sfn_local::TaskTokens::new();
    let mut registry = Registry::new();
    let handle = tokens.clone();
    registry.lambda(
        "ask-human",
        handler_fn(move |p: Arc<Value>| {
            let handle = handle.clone();
            async move {
                let token = p["token"].as_str().unwrap_or_default().to_owned();
                // Someone answers later, from outside the task.
                tokio::spawn(async move {
                    tokio::task::yield_now().await;
                    handle
                        .send_task_success(&token, json!({"approved": true}))
                        .unwrap();
                });
                Ok(json!({}))
            }
        }),
    );
    let engine = Engine::new(
        machine(json!({
            "StartAt": "Ask",
            "States": {"Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": "ask-human", "Payload": {"token.$": "$$.Task.Token"}},
                "End": true
            }}
        })),
        registry,
    )
    .with_task_tokens(tokens.clone())
    .with_clock(Arc::new(ManualClock::fixed()));
    let execution = engine.execute(json!({}), ExecutionOptions::default()).await;
    assert_eq!(execution.output, Some(json!({"approved": true})));
    assert!(tokens.pending().is_empty());
    assert_eq!(
        types(&execution),
        vec![
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
}

/// The first event of a type, as GetExecutionHistory gives it.
fn event(execution: &sfn_local::Execution, event_type: &str) -> Value {
    let found = execution
        .history
        .iter()
        .find(|e| e.event_type == event_type);
    found.map(|e| e.to_json()).unwrap_or(Value::Null)
}

/// A `.waitForTaskToken` task with `HeartbeatSeconds: 5` whose worker sends a heartbeat every
/// `every` seconds, `beats` times, then succeeds (when `answers`).
async fn heartbeat_run(every: u64, beats: usize, answers: bool) -> sfn_local::Execution {
    let tokens = sfn_local::TaskTokens::new();
    let mut registry = Registry::new();
    let handle = tokens.clone();
    registry.lambda(
        "worker",
        handler_fn(move |p: Arc<Value>| {
            let handle = handle.clone();
            async move {
                let token = p["token"].as_str().unwrap_or_default().to_owned();
                tokio::spawn(async move {
                    for _ in 0..beats {
                        tokio::time::sleep(Duration::from_secs(every)).await;
                        if handle.send_task_heartbeat(&token).is_err() {
                            return;
                        }
                    }
                    if answers {
                        let _ = handle.send_task_success(&token, json!({"done": true}));
                    }
                });
                Ok(json!({}))
            }
        }),
    );
    Engine::new(
        machine(json!({
            "StartAt": "Work",
            "States": {"Work": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "HeartbeatSecondsPath": "$.heartbeat",
                "TimeoutSeconds": 600,
                "Parameters": {"FunctionName": "worker", "Payload": {"token.$": "$$.Task.Token"}},
                "End": true
            }}
        })),
        registry,
    )
    .with_task_tokens(tokens)
    .execute(json!({"heartbeat": 5}), ExecutionOptions::default())
    .await
}

#[tokio::test(start_paused = true)]
async fn heartbeats_keep_a_token_task_alive_and_their_absence_times_it_out() {
    // Heartbeats every 3 s for 60 s, then the answer: well past HeartbeatSeconds, and
    // succeeds.
    let execution = heartbeat_run(3, 20, true).await;
    assert_eq!(
        execution.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        execution.cause
    );
    assert_eq!(execution.output, Some(json!({"done": true})));
    let scheduled = event(&execution, "TaskScheduled");
    assert_eq!(
        scheduled["taskScheduledEventDetails"]["heartbeatInSeconds"],
        5
    );
    assert_eq!(
        scheduled["taskScheduledEventDetails"]["timeoutInSeconds"],
        600
    );
    // Three heartbeats, then silence: timed out as the service records it (localstack's
    // test_heartbeats snapshots): TaskTimedOut with States.Timeout and no cause.
    let execution = heartbeat_run(3, 3, false).await;
    assert_eq!(execution.status, ExecutionStatus::Failed);
    assert_eq!(execution.error.as_deref(), Some("States.Timeout"));
    let timed_out = event(&execution, "TaskTimedOut");
    assert_eq!(
        timed_out["taskTimedOutEventDetails"]["error"],
        "States.Timeout"
    );
    assert!(timed_out["taskTimedOutEventDetails"].get("cause").is_none());
    // Heartbeats slower than HeartbeatSeconds: the first gap already times it out.
    let execution = heartbeat_run(6, 10, true).await;
    assert_eq!(execution.error.as_deref(), Some("States.Timeout"));
}

#[tokio::test(start_paused = true)]
async fn map_runs_items_concurrently_up_to_max_concurrency() {
    // Developer Guide, "Using Map state in Inline mode": an inline Map "supports up to 40
    // concurrent iterations", whatever MaxConcurrency asks for beyond that.
    let items: Vec<u64> = (1..=50).collect();
    for (max, expected) in [(2, 2), (0, 40), (45, 40), (60, 40)] {
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let mut registry = Registry::new();
        let (r, p) = (running.clone(), peak.clone());
        registry.lambda(
            "work",
            handler_fn(move |v| {
                let (r, p) = (r.clone(), p.clone());
                async move {
                    let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                    p.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    r.fetch_sub(1, Ordering::SeqCst);
                    Ok(Arc::unwrap_or_clone(v))
                }
            }),
        );
        let execution = Engine::new(
            machine(json!({
                "QueryLanguage": "JSONata",
                "StartAt": "Each",
                "States": {"Each": {
                    "Type": "Map",
                    "MaxConcurrency": max,
                    "ItemProcessor": {"StartAt": "Work", "States": {"Work": {
                        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                        "Arguments": {"FunctionName": "work", "Payload": "{% $states.input %}"},
                        "Output": "{% $states.result.Payload %}", "End": true}}},
                    "End": true
                }}
            })),
            registry,
        )
        .execute(json!(items), ExecutionOptions::default())
        .await;
        assert_eq!(execution.output, Some(json!(items)));
        assert_eq!(
            peak.load(Ordering::SeqCst),
            expected,
            "MaxConcurrency {max}"
        );
    }
}

#[tokio::test]
async fn tolerated_failures_and_the_threshold() {
    let definition = |tolerated: u64| {
        json!({
            "QueryLanguage": "JSONata",
            "StartAt": "Each",
            "States": {"Each": {
                "Type": "Map",
                "ToleratedFailureCount": tolerated,
                "ItemProcessor": {"StartAt": "Check", "States": {
                    "Check": {"Type": "Choice", "Choices": [{"Condition": "{% $states.input > 2 %}", "Next": "Bad"}], "Default": "Good"},
                    "Bad": {"Type": "Fail", "Error": "TooBig", "Cause": "{% 'item ' & $string($states.input) %}"},
                    "Good": {"Type": "Succeed"}
                }},
                "End": true
            }}
        })
    };
    let ok = run(definition(2), Registry::new(), json!([1, 2, 3, 4])).await;
    assert_eq!(
        ok.output,
        Some(
            json!([1, 2, {"Error": "TooBig", "Cause": "item 3"}, {"Error": "TooBig", "Cause": "item 4"}])
        )
    );
    let over = run(definition(1), Registry::new(), json!([1, 2, 3, 4])).await;
    assert_eq!(
        over.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
    // Without a tolerance, the item's own error fails the Map.
    let mut plain = definition(0);
    plain["States"]["Each"]
        .as_object_mut()
        .unwrap()
        .remove("ToleratedFailureCount");
    let failed = run(plain, Registry::new(), json!([5])).await;
    assert_eq!(failed.error.as_deref(), Some("TooBig"));
    assert_eq!(failed.cause.as_deref(), Some("item 5"));
}

#[tokio::test]
async fn service_errors_for_bad_data() {
    let no_match = run(
        json!({"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "NumericEquals": 1, "Next": "D"}]}, "D": {"Type": "Succeed"}}}),
        Registry::new(),
        json!({"x": 2}),
    )
    .await;
    // The service reports States.Runtime, not the spec's States.NoChoiceMatched, with this cause.
    assert_eq!(no_match.error.as_deref(), Some("States.Runtime"));
    assert_eq!(
        no_match.cause.as_deref(),
        Some(
            "An error occurred while executing the state 'C' (entered at the event id #2). Failed to transition out of the state. The state does not point to a next state."
        )
    );
    let bad_path = run(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"a.$": "$.missing"}, "End": true}}}),
        Registry::new(),
        json!({}),
    )
    .await;
    assert_eq!(bad_path.error.as_deref(), Some("States.Runtime"));
    let too_big = run(
        json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {"P": {"Type": "Pass", "Output": "{% $join($map([1..300000], function($v){'x'}), '') %}", "End": true}}}),
        Registry::new(),
        json!({}),
    )
    .await;
    assert_eq!(
        too_big.error.as_deref(),
        Some("States.DataLimitExceeded"),
        "{:?}",
        too_big.cause
    );
    let query = run(
        json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {"P": {"Type": "Pass", "Output": "{% 1 + 'a' %}", "End": true}}}),
        Registry::new(),
        json!({}),
    )
    .await;
    assert_eq!(query.error.as_deref(), Some("States.QueryEvaluationError"));
    let intrinsic = run(
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"a.$": "States.ArrayGetItem(States.Array(1), 3)"}, "End": true}}}),
        Registry::new(),
        json!({}),
    )
    .await;
    assert_eq!(intrinsic.error.as_deref(), Some("States.IntrinsicFailure"));
}

/// A Map whose items and iteration outputs are each small but whose result array is over
/// 256 KB fails with `States.DataLimitExceeded`, naming the array's exact size (its compact JSON
/// text's length), whether an element's text was kept by the history (a Pass output) or not (a
/// tolerated failure's error output). One item fewer fits.
#[tokio::test]
async fn a_map_result_over_256_kb_fails_with_its_exact_size() {
    let long = "x".repeat(1000);
    let machine = json!({
        "StartAt": "Each",
        "States": {"Each": {
            "Type": "Map",
            "ToleratedFailureCount": 1,
            "ItemProcessor": {
                "StartAt": "Check",
                "States": {
                    "Check": {"Type": "Choice", "Choices": [{"Variable": "$.fail", "IsPresent": true, "Next": "Boom"}], "Default": "Copy"},
                    "Boom": {"Type": "Fail", "Error": "Boom", "Cause": "bad"},
                    "Copy": {"Type": "Pass", "Result": {"s": long}, "End": true}
                }
            },
            "End": true
        }}
    });
    let items = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| match i {
                3 => json!({"fail": true}),
                _ => json!({}),
            })
            .collect()
    };
    let results = |n: usize| -> Value {
        Value::Array(
            (0..n)
                .map(|i| match i {
                    3 => json!({"Error": "Boom", "Cause": "bad"}),
                    _ => json!({"s": long}),
                })
                .collect(),
        )
    };
    let over = run(machine.clone(), Registry::new(), Value::Array(items(262))).await;
    let size = serde_json::to_string(&results(262)).unwrap().len();
    assert!(size > 256 * 1024);
    assert_eq!(over.error.as_deref(), Some("States.DataLimitExceeded"));
    assert!(
        over.cause
            .as_deref()
            .is_some_and(|c| c.contains(&format!("has a size of {size} bytes"))),
        "{:?}",
        over.cause
    );
    let fits = run(machine, Registry::new(), Value::Array(items(260))).await;
    assert!(serde_json::to_string(&results(260)).unwrap().len() <= 256 * 1024);
    assert_eq!(fits.status, ExecutionStatus::Succeeded, "{:?}", fits.cause);
    assert_eq!(fits.output, Some(results(260)));
}

#[tokio::test]
async fn context_object_fields() {
    let execution = Engine::new(
        machine(json!({
            "StartAt": "Ctx",
            "States": {"Ctx": {"Type": "Pass", "Parameters": {
                "name.$": "$$.Execution.Name", "input.$": "$$.Execution.Input", "state.$": "$$.State.Name",
                "entered.$": "$$.State.EnteredTime", "retries.$": "$$.State.RetryCount", "machine.$": "$$.StateMachine.Name",
                "id.$": "$$.Execution.Id"
            }, "End": true}}
        })),
        Registry::new(),
    )
    .with_clock(Arc::new(ManualClock::fixed()))
    .execute(
        json!({"a": 1}),
        ExecutionOptions { name: Some("run-1".into()), state_machine_name: Some("Demo".into()), ..Default::default() },
    )
    .await;
    assert_eq!(
        execution.output,
        Some(json!({
            "name": "run-1", "input": {"a": 1}, "state": "Ctx", "entered": "2024-01-01T00:00:00.000Z",
            "retries": 0, "machine": "Demo",
            "id": "arn:aws:states:us-east-1:123456789012:execution:Demo:run-1"
        }))
    );
}

#[tokio::test]
async fn execution_and_machine_ids_take_the_region_and_account() {
    let execution = Engine::new(
        machine(json!({
            "StartAt": "Ctx",
            "States": {"Ctx": {"Type": "Pass", "Parameters": {
                "id.$": "$$.Execution.Id", "machine.$": "$$.StateMachine.Id"
            }, "End": true}}
        })),
        Registry::new(),
    )
    .execute(
        json!({}),
        ExecutionOptions {
            name: Some("run-2".into()),
            state_machine_name: Some("Demo".into()),
            region: Some("eu-west-3".into()),
            account: Some("111122223333".into()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        execution.output,
        Some(json!({
            "id": "arn:aws:states:eu-west-3:111122223333:execution:Demo:run-2",
            "machine": "arn:aws:states:eu-west-3:111122223333:stateMachine:Demo"
        }))
    );
}

#[tokio::test]
async fn jsonpath_assign_reads_the_result_and_states_input() {
    let mut registry = Registry::new();
    registry.lambda(
        "lookup",
        handler_fn(|_| async move { Ok(json!({"price": 9})) }),
    );
    let execution = run(
        json!({
            "StartAt": "Get",
            "States": {
                "Get": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": "lookup"},
                    "ResultSelector": {"price.$": "$.Payload.price"},
                    "Assign": {"price.$": "$.price", "sku.$": "$states.input.sku"},
                    "ResultPath": null,
                    "Next": "Use"
                },
                "Use": {"Type": "Pass", "Parameters": {"price.$": "$price", "sku.$": "$sku", "total.$": "States.MathAdd($price, 1)"}, "End": true}
            }
        }),
        registry,
        json!({"sku": "A-1"}),
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
        Some(json!({"price": 9, "sku": "A-1", "total": 10}))
    );
}

fn prevs(execution: &Execution) -> Vec<u64> {
    execution
        .history
        .iter()
        .map(|e| e.previous_event_id)
        .collect()
}

// The history shapes below are those the service records (event families, previousEventId
// chains and cause prefixes as read off real Step Functions executions in us-east-1, as
// documented by the floci emulator's branch-history tests).
#[tokio::test]
async fn branch_failures_record_the_services_events_and_chains() {
    let parallel_fail = run(
        json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": [
            {"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "MyError", "Cause": "my cause"}}}
        ], "End": true}}}),
        Registry::new(),
        json!({"x": "a"}),
    )
    .await;
    assert_eq!(
        types(&parallel_fail),
        vec![
            "ExecutionStarted",
            "ParallelStateEntered",
            "ParallelStateStarted",
            "FailStateEntered",
            "ParallelStateFailed",
            "ExecutionFailed"
        ]
    );
    assert_eq!(prevs(&parallel_fail), vec![0, 0, 2, 3, 4, 5]);
    assert_eq!(parallel_fail.error.as_deref(), Some("MyError"));
    assert_eq!(parallel_fail.cause.as_deref(), Some("my cause"));

    let map_undefined = run(
        json!({"QueryLanguage": "JSONata", "StartAt": "M", "States": {"M": {
            "Type": "Map", "Items": "{% $states.input.items %}", "MaxConcurrency": 1,
            "ItemProcessor": {"StartAt": "Undef", "States": {"Undef": {"Type": "Pass", "Output": {"v": "{% $states.input.missing %}"}, "End": true}}},
            "End": true}}}),
        Registry::new(),
        json!({"items": [1, 2]}),
    )
    .await;
    assert_eq!(
        types(&map_undefined),
        vec![
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapIterationStarted",
            "PassStateEntered",
            "EvaluationFailed",
            "MapIterationFailed",
            "MapStateFailed",
            "ExecutionFailed"
        ]
    );
    assert_eq!(prevs(&map_undefined), vec![0, 0, 2, 3, 4, 5, 6, 6, 8]);
    assert_eq!(
        map_undefined.cause.as_deref(),
        Some(
            "An error occurred while executing the state 'Undef' (entered at the event id #5). The JSONata expression '$states.input.missing' specified for the field 'Output/v' returned nothing (undefined)."
        )
    );
    let evaluation = map_undefined.history[5].to_json();
    assert_eq!(
        evaluation["evaluationFailedEventDetails"]["location"],
        json!("Output/v")
    );
    assert_eq!(
        evaluation["evaluationFailedEventDetails"]["state"],
        json!("Undef")
    );

    let map_runtime = run(
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1,
            "ItemProcessor": {"StartAt": "Fast", "States": {"Fast": {"Type": "Pass", "Parameters": {"m.$": "$.nope"}, "End": true}}},
            "End": true}}}),
        Registry::new(),
        json!({"items": [1, 2]}),
    )
    .await;
    assert_eq!(
        types(&map_runtime),
        vec![
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapIterationStarted",
            "PassStateEntered",
            "ExecutionFailed"
        ]
    );
    assert_eq!(prevs(&map_runtime), vec![0, 0, 2, 3, 4, 5]);
    assert_eq!(
        map_runtime.cause.as_deref(),
        Some(
            "An error occurred while executing the state 'Fast' (entered at the event id #5). The JSONPath '$.nope' specified for the field 'm.$' could not be found in the input '1'"
        )
    );

    let map_ok = run(
        json!({"StartAt": "M", "States": {
            "M": {"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}}, "Next": "After"},
            "After": {"Type": "Pass", "End": true}}}),
        Registry::new(),
        json!({"items": []}),
    )
    .await;
    assert_eq!(
        types(&map_ok),
        vec![
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapStateSucceeded",
            "MapStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(prevs(&map_ok), vec![0, 0, 2, 3, 3, 5, 6, 7]);
}

#[tokio::test]
async fn a_task_failure_ending_a_branch_is_recorded_as_aborted() {
    let mut registry = Registry::new();
    registry.lambda(
        "fails",
        handler_fn(|_| async move { Err(TaskError::new("MyError", "boom")) }),
    );
    let execution = run(
        json!({"StartAt": "P", "States": {
            "P": {"Type": "Parallel", "Branches": [{"StartAt": "Send", "States": {"Send": {
                "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "fails"}, "End": true}}}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handled"}], "End": true},
            "Handled": {"Type": "Pass", "End": true}}}),
        registry,
        json!({}),
    )
    .await;
    assert_eq!(
        types(&execution),
        vec![
            "ExecutionStarted",
            "ParallelStateEntered",
            "ParallelStateStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskFailed",
            "TaskStateAborted",
            "ParallelStateFailed",
            "ParallelStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(
        prevs(&execution),
        vec![0, 0, 2, 3, 4, 5, 6, 7, 7, 9, 10, 11, 12]
    );
    assert_eq!(execution.output.unwrap()["Error"], json!("MyError"));
}

/// Iterations on several threads record into one history: ids follow each other, and each
/// iteration's events chain back to its own `MapIterationStarted`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn map_iterations_on_several_threads_keep_one_ordered_history() {
    let mut registry = Registry::new();
    registry.lambda(
        "double",
        handler_fn(|v: Arc<Value>| async move {
            tokio::task::yield_now().await;
            Ok(json!(v.as_u64().unwrap_or_default() * 2))
        }),
    );
    let items: Vec<u64> = (0..300).collect();
    let execution = Engine::new(
        machine(json!({
            "StartAt": "Each",
            "States": {"Each": {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "Keep", "States": {
                    "Keep": {"Type": "Pass", "Next": "Double"},
                    "Double": {"Type": "Task", "Resource": "double", "End": true}
                }},
                "End": true
            }}
        })),
        registry,
    )
    .execute(json!(items), ExecutionOptions::default())
    .await;
    assert_eq!(execution.status, ExecutionStatus::Succeeded);
    let doubled: Vec<u64> = items.iter().map(|i| i * 2).collect();
    assert_eq!(execution.output, Some(json!(doubled)));
    let history = &execution.history;
    for (i, event) in history.iter().enumerate() {
        assert_eq!(event.id, i as u64 + 1);
        assert!(event.previous_event_id < event.id, "{:?}", event.to_json());
        if i > 0 {
            assert!(event.timestamp >= history[i - 1].timestamp);
        }
    }
    let by_id = |id: u64| &history[id as usize - 1];
    let succeeded: Vec<&HistoryEvent> = history
        .iter()
        .filter(|e| e.event_type == "MapIterationSucceeded")
        .collect();
    assert_eq!(succeeded.len(), items.len());
    for event in succeeded {
        let index = event.detail("index").cloned();
        let mut at = by_id(event.previous_event_id);
        while at.event_type != "MapIterationStarted" {
            at = by_id(at.previous_event_id);
        }
        assert_eq!(at.detail("index").cloned(), index);
    }
}

/// The texts of a Map's output in its exit event and in `ExecutionSucceeded` are exactly the
/// output's JSON, including elements from tolerated failures and strings that need escaping.
#[tokio::test]
async fn map_output_texts_are_the_json_of_the_output() {
    let mut registry = Registry::new();
    registry.lambda(
        "echo",
        handler_fn(|v: Arc<Value>| async move {
            if v["fail"] == json!(true) {
                return Err(TaskError::new("Boom", "it \"failed\"\n"));
            }
            Ok(json!({"seen": *v, "note": "quote \" and \\ and\ttab", "n": -1.5}))
        }),
    );
    let execution = run(
        json!({
            "StartAt": "Each",
            "States": {"Each": {
                "Type": "Map",
                "ToleratedFailureCount": 5,
                "ItemProcessor": {"StartAt": "Echo", "States": {
                    "Echo": {"Type": "Task", "Resource": "echo", "ResultPath": "$.echo", "End": true}
                }},
                "End": true
            }}
        }),
        registry,
        json!([{"a": 1}, {"fail": true}, {"b": "é😀\u{1}"}, {}]),
    )
    .await;
    assert_eq!(
        execution.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        execution.cause
    );
    let output = execution.output.clone().unwrap();
    assert_eq!(output[1]["Error"], json!("Boom"));
    let expected = json!(serde_json::to_string(&output).unwrap());
    let shown: Vec<&Value> = execution
        .history
        .iter()
        .filter(|e| matches!(e.event_type, "MapStateExited" | "ExecutionSucceeded"))
        .map(|e| e.detail("output").unwrap())
        .collect();
    assert_eq!(shown, vec![&expected, &expected]);
}

/// A clock one millisecond further on at every reading, so a test sees which events read it.
struct TickingClock {
    readings: AtomicUsize,
}

#[async_trait::async_trait]
impl sfn_local::Clock for TickingClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        let n = self.readings.fetch_add(1, Ordering::SeqCst) as i64;
        chrono::DateTime::from_timestamp_millis(1_704_067_200_000 + n).unwrap_or_default()
    }
    async fn sleep(&self, _: Duration) {}
}

/// Events that follow one another with nothing waited for between them share one clock
/// reading: a Pass state's entry and exit, a task's entry and its first scheduling, a task's
/// result and its exit, an iteration's last exit and its success. Anything after a wait (a
/// Lambda's answer, a retry's back-off, a Wait state) reads the clock again.
#[tokio::test]
async fn events_with_no_wait_between_them_share_a_clock_reading() {
    let mut registry = Registry::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    registry.lambda(
        "flaky",
        handler_fn(move |p| {
            let first = counted.fetch_add(1, Ordering::SeqCst) == 0;
            async move {
                match first {
                    true => Err(TaskError::new("Busy", "try again")),
                    false => Ok(Arc::unwrap_or_clone(p)),
                }
            }
        }),
    );
    let definition = json!({
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Pass", "Parameters": {"n.$": "$.n", "items.$": "$.items"}, "Next": "Call"},
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:flaky",
                "Retry": [{"ErrorEquals": ["Busy"], "IntervalSeconds": 1}],
                "Next": "Each"
            },
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "StartAt": "Item",
                    "States": {"Item": {"Type": "Pass", "End": true}}
                },
                "ResultPath": "$.each",
                "Next": "Pause"
            },
            "Pause": {"Type": "Wait", "Seconds": 0, "End": true}
        }
    });
    let execution = Engine::new(machine(definition), registry)
        .with_clock(Arc::new(TickingClock {
            readings: AtomicUsize::new(0),
        }))
        .execute(json!({"n": 1, "items": [1]}), ExecutionOptions::default())
        .await;
    assert_eq!(
        execution.status,
        ExecutionStatus::Succeeded,
        "{execution:?}"
    );
    let at = |event_type: &str, nth: usize| -> chrono::DateTime<chrono::Utc> {
        execution
            .history
            .iter()
            .filter(|e| e.event_type == event_type)
            .nth(nth)
            .unwrap_or_else(|| panic!("no {event_type} #{nth} in {:?}", types(&execution)))
            .timestamp
    };
    // No wait between them: one reading.
    assert_eq!(at("PassStateEntered", 0), at("PassStateExited", 0));
    assert_eq!(at("PassStateExited", 0), at("TaskStateEntered", 0));
    assert_eq!(at("TaskStateEntered", 0), at("LambdaFunctionScheduled", 0));
    assert_eq!(
        at("LambdaFunctionScheduled", 0),
        at("LambdaFunctionStarted", 0)
    );
    assert_eq!(at("LambdaFunctionSucceeded", 0), at("TaskStateExited", 0));
    assert_eq!(at("PassStateExited", 1), at("MapIterationSucceeded", 0));
    // After a wait: a new reading.
    assert!(at("LambdaFunctionFailed", 0) > at("LambdaFunctionStarted", 0));
    assert!(at("LambdaFunctionScheduled", 1) > at("LambdaFunctionFailed", 0));
    assert!(at("LambdaFunctionSucceeded", 0) > at("LambdaFunctionStarted", 1));
    assert!(at("WaitStateExited", 0) > at("WaitStateEntered", 0));
}

/// A JSONata Wait `Timestamp` that is not an ISO-8601 extended offset date-time fails with
/// `States.QueryEvaluationError` and an `EvaluationFailed` event whose location is
/// `Timestamp`, as recorded on the service (localstack's `test_base_scenarios` snapshot,
/// `test_wait_timestamp_jsonata[NO_Z]`).
#[tokio::test]
async fn a_jsonata_wait_timestamp_that_does_not_parse_records_evaluation_failed() {
    let execution = run(
        json!({"QueryLanguage": "JSONata", "StartAt": "WaitState", "States": {"WaitState": {
            "Type": "Wait", "Timestamp": "{% $states.input.TimestampValue %}", "End": true}}}),
        Registry::new(),
        json!({"TimestampValue": "2016-12-05T21:29:29"}),
    )
    .await;
    let cause = "An error occurred while executing the state 'WaitState' (entered at the event id #2). The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: 2016-12-05T21:29:29";
    let event = execution.history[2].to_json();
    assert_eq!(
        event,
        json!({"id": 3, "previousEventId": 2, "timestamp": event["timestamp"], "type": "EvaluationFailed",
            "evaluationFailedEventDetails": {"error": "States.QueryEvaluationError", "cause": cause,
                "location": "Timestamp", "state": "WaitState"}})
    );
    assert_eq!(execution.cause.as_deref(), Some(cause));
}

/// A Map's history chained as the service chains it (localstack's `test_base_scenarios`
/// snapshot, `test_map_state_legacy_config_inline`): each iteration's `MapIterationStarted`
/// follows the previous iteration's last state event, `MapStateSucceeded` and
/// `MapStateExited` both follow the last `MapIterationSucceeded`.
#[tokio::test]
async fn map_iterations_chain_to_the_previous_iteration_as_recorded() {
    let execution = run(
        json!({"StartAt": "MapState", "States": {
            "MapState": {"Type": "Map", "MaxConcurrency": 1, "Iterator": {
                "StartAt": "IteratorInner", "States": {"IteratorInner": {"Type": "Pass", "End": true}},
                "ProcessorConfig": {"Mode": "INLINE"}}, "Next": "Finish"},
            "Finish": {"Type": "Succeed"}}}),
        Registry::new(),
        json!(["Hello", "World"]),
    )
    .await;
    let chain: Vec<(&str, u64)> = execution
        .history
        .iter()
        .map(|e| (e.event_type, e.previous_event_id))
        .collect();
    assert_eq!(
        chain,
        vec![
            ("ExecutionStarted", 0),
            ("MapStateEntered", 0),
            ("MapStateStarted", 2),
            ("MapIterationStarted", 3),
            ("PassStateEntered", 4),
            ("PassStateExited", 5),
            ("MapIterationSucceeded", 6),
            ("MapIterationStarted", 6),
            ("PassStateEntered", 8),
            ("PassStateExited", 9),
            ("MapIterationSucceeded", 10),
            ("MapStateSucceeded", 11),
            ("MapStateExited", 11),
            ("SucceedStateEntered", 13),
            ("SucceedStateExited", 14),
            ("ExecutionSucceeded", 15),
        ]
    );
}

/// A retried Map or Parallel writes its `…StateStarted` again for each attempt, chained to the
/// failed attempt's last event, and its `…StateFailed` once, after the last attempt (localstack's
/// `test_base_scenarios` snapshots `test_map_state_retry` and `test_parallel_state_retry`).
#[tokio::test]
async fn a_retried_map_or_parallel_writes_the_service_events() {
    let map = run(
        json!({"StartAt": "StartState", "States": {
            "StartState": {"Type": "Pass", "Result": [1], "ResultPath": "$.arr", "Next": "MapState"},
            "MapState": {"Type": "Map", "ResultPath": null, "InputPath": "$.arr", "MaxConcurrency": 1,
                "ItemProcessor": {"StartAt": "HandleItemFail", "States": {"HandleItemFail": {
                    "Type": "Fail", "Error": "HandleItemFailError", "Cause": "HandleItemFailCause"}}},
                "Retry": [{"ErrorEquals": ["HandleItemFailError"], "MaxAttempts": 2}], "Next": "Final"},
            "Final": {"Type": "Pass", "End": true}}}),
        Registry::new(),
        json!({}),
    )
    .await;
    assert_eq!(
        prevs(&map),
        vec![0, 0, 2, 3, 4, 5, 6, 7, 7, 9, 10, 11, 11, 13, 14, 15, 15, 17]
    );
    assert_eq!(types(&map)[16], "MapStateFailed");
    let parallel = run(
        json!({"StartAt": "ParallelState", "States": {
            "ParallelState": {"Type": "Parallel", "Branches": [{"StartAt": "Branch1", "States": {
                "Branch1": {"Type": "Fail", "Error": "FailureType", "Cause": "Cause description"}}}],
                "Retry": [{"ErrorEquals": ["FailureType"], "MaxAttempts": 2}], "Next": "Final"},
            "Final": {"Type": "Pass", "End": true}}}),
        Registry::new(),
        json!({}),
    )
    .await;
    assert_eq!(prevs(&parallel), vec![0, 0, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert_eq!(types(&parallel)[8], "ParallelStateFailed");
}

/// A Task's `Credentials` appear in its scheduled event as `taskCredentials: {"roleArn": …}`,
/// evaluated like the parameters, in both query languages, for `lambda:invoke` and for a plain
/// Lambda ARN (localstack's `test_credentials_base` snapshots, recorded on the service).
#[tokio::test]
async fn task_credentials_appear_in_the_scheduled_event() {
    let role = "arn:aws:iam::111111111111:role/Trusted";
    let registry = || {
        let mut registry = Registry::new();
        registry.lambda(
            "my-function",
            handler_fn(|p| async move { Ok(Arc::unwrap_or_clone(p)) }),
        );
        registry
    };
    let input = json!({"FunctionName": "my-function", "Payload": "PayloadFromTrustedAccount",
        "CredentialsRoleArn": role});
    let cases = [
        (
            json!({"StartAt": "InvokeLambda", "States": {"InvokeLambda": {"Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName.$": "$.FunctionName", "Payload.$": "$.Payload"},
                "Credentials": {"RoleArn.$": "$.CredentialsRoleArn"}, "End": true}}}),
            "taskScheduledEventDetails",
        ),
        (
            json!({"QueryLanguage": "JSONata", "StartAt": "InvokeLambda", "States": {"InvokeLambda": {
                "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": {"FunctionName": "{% $states.input.FunctionName %}",
                    "Payload": "{% $states.input.Payload %}"},
                "Credentials": {"RoleArn": "{% $states.input.CredentialsRoleArn %}"}, "End": true}}}),
            "taskScheduledEventDetails",
        ),
        (
            json!({"StartAt": "T", "States": {"T": {"Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:my-function",
                "Credentials": {"RoleArn": role}, "End": true}}}),
            "lambdaFunctionScheduledEventDetails",
        ),
    ];
    for (definition, details) in cases {
        let execution = run(definition, registry(), input.clone()).await;
        assert_eq!(execution.error, None, "{:?}", execution.cause);
        let scheduled = execution.history[2].to_json();
        assert_eq!(
            scheduled[details]["taskCredentials"],
            json!({"roleArn": role}),
            "{scheduled}"
        );
    }
    let missing = run(
        json!({"StartAt": "T", "States": {"T": {"Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:my-function",
            "Credentials": {"RoleArn.$": "$.nope"}, "End": true}}}),
        registry(),
        json!({}),
    )
    .await;
    assert_eq!(missing.error.as_deref(), Some("States.Runtime"));
}
