//! Whole agent runs: the committed agents' state machines on the local engine, with the real LLM
//! handler (a scripted model behind it) and the real tool handlers in-process.

use std::sync::Arc;

use agent_builder::{AgentOutput, Provider, errors};
use e2e_tests::{FlakyModel, question, run_agent, run_with, scripted, turn};
use llm_lambdas::{ConversationStore, LlmError, MemoryStore};
use serde_json::json;
use sfn_local::{ExecutionStatus, TaskError, handler_fn};

fn agent(name: &str) -> agent_builder::Agent {
    state_machines::agent(name).expect("agent exists")
}

fn output(run: &e2e_tests::Run) -> AgentOutput {
    serde_json::from_value(run.output().clone()).expect("the output has the documented shape")
}

/// The states entered, by name, in order.
fn states_entered(run: &e2e_tests::Run) -> Vec<String> {
    run.execution
        .history
        .iter()
        .filter(|e| e.event_type.ends_with("StateEntered"))
        .filter_map(|e| e.detail("name").and_then(|n| n.as_str()).map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_plain_answer_takes_one_iteration() {
    let model = scripted(
        vec![turn("Hello! Ask me anything.", &[])],
        Provider::Anthropic,
    );
    let run = run_agent(
        &agent("assistant"),
        model,
        Arc::new(MemoryStore::new()),
        question("Hi"),
    )
    .await;
    let out = output(&run);
    assert_eq!(out.answer, "Hello! Ask me anything.");
    assert_eq!(out.iterations, 1);
    assert_eq!((out.usage.input_tokens, out.usage.output_tokens), (100, 20));
    assert_eq!(
        states_entered(&run),
        ["Check input", "Call LLM", "Tool use?", "Answer"]
    );
}

#[tokio::test]
async fn one_tool_call_feeds_its_result_back_to_the_model() {
    let model = scripted(
        vec![
            turn(
                "Calculating.",
                &[("calculate", json!({"expression": "17% of 2340"}))],
            ),
            turn("17% of 2,340 is 397.8.", &[]),
        ],
        Provider::OpenAi,
    );
    let store = Arc::new(MemoryStore::new());
    let run = run_agent(
        &agent("calculator"),
        model,
        Arc::clone(&store),
        question("What is 17% of 2,340?"),
    )
    .await;
    let out = output(&run);
    assert_eq!(out.answer, "17% of 2,340 is 397.8.");
    assert_eq!(out.iterations, 2);
    assert_eq!(
        (out.usage.input_tokens, out.usage.output_tokens),
        (200, 40),
        "usage is summed"
    );
    let (name, result) = &run.tool_results[0];
    assert_eq!(name, "calculate");
    assert!(
        !result.is_error && result.content.contains("397.8"),
        "{}",
        result.content
    );
    // The tool result reached the stored conversation, for the model's second turn.
    let turns = store.load(&out.conversation_id).await.expect("stored");
    assert_eq!(turns.len(), 2);
    let second_user = serde_json::to_string(&turns[1].messages[0]).expect("json");
    assert!(
        second_user.contains("tool_result") && second_user.contains("397.8"),
        "{second_user}"
    );
}

#[tokio::test]
async fn each_iteration_costs_three_plus_n_transitions() {
    for n in 0..4usize {
        // With n = 0, the model's only call is rejected (unknown tool): the Map runs no item.
        let calls: Vec<(&str, serde_json::Value)> = if n == 0 {
            vec![("no_such_tool", json!({}))]
        } else {
            (0..n)
                .map(|i| ("calculate", json!({"expression": format!("{i} + 1")})))
                .collect()
        };
        let model = scripted(
            vec![turn("Working.", &calls), turn("Done.", &[])],
            Provider::OpenAi,
        );
        let run = run_agent(
            &agent("calculator"),
            model,
            Arc::new(MemoryStore::new()),
            question("Sum things"),
        )
        .await;
        let out = output(&run);
        let entered = states_entered(&run);
        // Check input + [Call LLM, Tool use?, Run tools, n × Run tool] + Call LLM, Tool use? + Answer.
        let first_iteration = entered.len() - 1 - 2 - 1;
        assert_eq!(first_iteration, 3 + n, "{n} tool calls: {entered:?}");
        assert_eq!(run.execution.state_transitions(), entered.len());
        assert_eq!(out.iterations, 2);
    }
}

#[tokio::test]
async fn several_tools_run_in_parallel_in_one_turn() {
    let model = scripted(
        vec![
            turn(
                "Both at once.",
                &[
                    ("calculate", json!({"expression": "2^10"})),
                    ("current_time", json!({"time_zone": "Asia/Tokyo"})),
                    ("calculate", json!({"expression": "sqrt(2)"})),
                ],
            ),
            turn("2^10 is 1024; I also checked Tokyo's time.", &[]),
        ],
        Provider::Anthropic,
    );
    let run = run_agent(
        &agent("assistant"),
        model,
        Arc::new(MemoryStore::new()),
        question("Two things"),
    )
    .await;
    output(&run);
    let names: Vec<&str> = run.tool_results.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.len(), 3);
    assert!(names.contains(&"current_time"));
    assert!(
        run.tool_results.iter().all(|(_, r)| !r.is_error),
        "{:?}",
        run.tool_results
    );
    let iterations = run
        .execution
        .history
        .iter()
        .filter(|e| e.event_type == "MapIterationStarted")
        .count();
    assert_eq!(iterations, 3, "one Map iteration per tool call");
}

#[tokio::test]
async fn a_crashing_tool_lambda_becomes_an_error_result_and_the_run_goes_on() {
    let model = scripted(
        vec![
            turn(
                "Calculating.",
                &[("calculate", json!({"expression": "1 + 1"}))],
            ),
            turn("The calculator is down; 1 + 1 is 2 anyway.", &[]),
        ],
        Provider::OpenAi,
    );
    let store = Arc::new(MemoryStore::new());
    let toolbox = e2e_tests::offline_toolbox();
    let run = run_with(
        &agent("calculator"),
        model,
        Arc::clone(&store),
        toolbox,
        question("1+1?"),
        |registry| {
            registry.lambda(
                "${ToolCalculateFunctionArn}",
                handler_fn(|_payload| async {
                    Err(TaskError::new(
                        "Runtime.ExitError",
                        "RequestId: 1 Error: Runtime exited with error: signal: killed",
                    ))
                }),
            );
        },
    )
    .await;
    let out = output(&run);
    assert_eq!(out.answer, "The calculator is down; 1 + 1 is 2 anyway.");
    let entered = states_entered(&run);
    assert!(entered.contains(&"Tool failed".to_owned()), "{entered:?}");
    let turns = store.load(&out.conversation_id).await.expect("stored");
    let result = serde_json::to_string(&turns[1].messages[0]).expect("json");
    assert!(
        result.contains("\"is_error\":true") && result.contains("Runtime.ExitError"),
        "{result}"
    );
}

#[tokio::test]
async fn a_tool_error_result_goes_back_to_the_model() {
    let model = scripted(
        vec![
            turn(
                "Dividing.",
                &[("calculate", json!({"expression": "1 / 0"}))],
            ),
            turn("Division by zero is undefined.", &[]),
        ],
        Provider::OpenAi,
    );
    let run = run_agent(
        &agent("calculator"),
        model,
        Arc::new(MemoryStore::new()),
        question("1/0?"),
    )
    .await;
    output(&run);
    let (_, result) = &run.tool_results[0];
    assert!(result.is_error, "{}", result.content);
}

#[tokio::test]
async fn an_unknown_tool_or_bad_input_is_rejected_without_a_lambda_call() {
    let model = scripted(
        vec![
            turn(
                "Trying things.",
                &[
                    ("launch_rockets", json!({"count": 3})),
                    ("calculate", json!({"expr": "1 + 1"})),
                    ("calculate", json!({"expression": "1 + 1"})),
                ],
            ),
            turn("Only the calculator worked: 2.", &[]),
        ],
        Provider::OpenAi,
    );
    let store = Arc::new(MemoryStore::new());
    let run = run_agent(
        &agent("calculator"),
        model,
        Arc::clone(&store),
        question("Go"),
    )
    .await;
    let out = output(&run);
    assert_eq!(
        run.turns[0].tool_calls.len(),
        1,
        "only the valid call is run"
    );
    assert_eq!(run.turns[0].rejected.len(), 2);
    assert_eq!(run.tool_results.len(), 1, "one tool Lambda call");
    // All three results reach the model's next turn.
    let turns = store.load(&out.conversation_id).await.expect("stored");
    let next = serde_json::to_string(&turns[1].messages[0]).expect("json");
    assert_eq!(next.matches("tool_result").count(), 3, "{next}");
    assert!(next.contains("launch_rockets"), "{next}");
}

#[tokio::test]
async fn the_iteration_cap_ends_the_run_with_a_clear_error() {
    let agent = agent("calculator");
    let max = agent.max_iterations() as usize;
    let turns = (0..max + 2)
        .map(|i| {
            turn(
                "More.",
                &[("calculate", json!({"expression": format!("{i} * 2")}))],
            )
        })
        .collect();
    let run = run_agent(
        &agent,
        scripted(turns, Provider::OpenAi),
        Arc::new(MemoryStore::new()),
        question("Loop"),
    )
    .await;
    assert_eq!(run.execution.status, ExecutionStatus::Failed);
    assert_eq!(
        run.execution.error.as_deref(),
        Some(errors::AGENT_MAX_ITERATIONS)
    );
    let cause = run.execution.cause.as_deref().unwrap_or_default();
    assert!(
        cause.contains(&format!("used all {max} iterations")) && cause.contains("max_iterations"),
        "{cause}"
    );
    assert_eq!(
        run.turns.len(),
        max,
        "exactly the cap's number of model calls"
    );
}

#[tokio::test]
async fn input_without_a_question_is_refused() {
    for input in [
        json!({}),
        json!({"question": "   "}),
        json!({"question": 42}),
        json!({"question": "hi", "conversation_id": ""}),
        json!({"question": "hi", "conversation_id": "x".repeat(257)}),
    ] {
        let model = scripted(vec![turn("never", &[])], Provider::OpenAi);
        let run = run_agent(
            &agent("calculator"),
            model,
            Arc::new(MemoryStore::new()),
            input.clone(),
        )
        .await;
        assert_eq!(
            run.execution.error.as_deref(),
            Some(errors::AGENT_INVALID_INPUT),
            "{input}"
        );
        assert!(run.turns.is_empty(), "no model call for {input}");
    }
}

#[tokio::test]
async fn a_conversation_continues_in_a_second_execution() {
    let store = Arc::new(MemoryStore::new());
    let model = scripted(
        vec![
            turn(
                "Calculating.",
                &[("calculate", json!({"expression": "6 * 7"}))],
            ),
            turn("It is 42.", &[]),
            turn("Twice that is 84.", &[]),
        ],
        Provider::OpenAi,
    );
    let first = run_agent(
        &agent("calculator"),
        Arc::clone(&model),
        Arc::clone(&store),
        question("6 times 7?"),
    )
    .await;
    let id = output(&first).conversation_id;
    let second = run_agent(
        &agent("calculator"),
        model,
        Arc::clone(&store),
        json!({"question": "And twice that?", "conversation_id": id}),
    )
    .await;
    let out = output(&second);
    assert_eq!(out.answer, "Twice that is 84.");
    assert_eq!(out.conversation_id, id);
    assert_eq!(out.iterations, 1, "iterations count per execution");
    let turns = store.load(&id).await.expect("stored");
    assert_eq!(
        turns.len(),
        3,
        "the second execution appended to the first's conversation"
    );
}

#[tokio::test]
async fn retryable_llm_errors_are_retried_and_others_fail_the_run() {
    let flaky = Arc::new(FlakyModel::new(
        vec![
            LlmError::RateLimited {
                provider: "anthropic".into(),
                message: "slow down".into(),
                retry_after_seconds: Some(1),
            },
            LlmError::Overloaded {
                provider: "anthropic".into(),
                status: 529,
                message: "overloaded".into(),
            },
        ],
        "Fine now.",
    ));
    let run = run_agent(
        &agent("weather"),
        flaky.clone(),
        Arc::new(MemoryStore::new()),
        question("Hi"),
    )
    .await;
    assert_eq!(output(&run).answer, "Fine now.");
    assert_eq!(*flaky.calls.lock().expect("lock"), 3);

    let denied = Arc::new(FlakyModel::new(
        vec![LlmError::AuthFailed {
            provider: "anthropic".into(),
            message: "invalid x-api-key".into(),
        }],
        "never",
    ));
    let run = run_agent(
        &agent("weather"),
        denied.clone(),
        Arc::new(MemoryStore::new()),
        question("Hi"),
    )
    .await;
    assert_eq!(
        run.execution.error.as_deref(),
        Some(errors::LLM_AUTH_FAILED)
    );
    assert!(
        run.execution
            .cause
            .as_deref()
            .unwrap_or_default()
            .contains("invalid x-api-key")
    );
    assert_eq!(*denied.calls.lock().expect("lock"), 1, "not retried");
}

#[tokio::test]
async fn a_structured_answer_comes_back_as_result() {
    let model = scripted(
        vec![turn(
            "",
            &[(
                "final_answer",
                json!({"place": "Lisbon, Portugal", "temperature_c": 19.5, "summary": "Mild.", "take_umbrella": false, "take_jacket": false}),
            )],
        )],
        Provider::Anthropic,
    );
    let run = run_agent(
        &agent("weather-brief"),
        model,
        Arc::new(MemoryStore::new()),
        question("Lisbon?"),
    )
    .await;
    let out = output(&run);
    let result = out.result.expect("structured result");
    assert_eq!(result["place"], "Lisbon, Portugal");
    assert_eq!(result["take_jacket"], false);
}

#[tokio::test]
async fn the_state_payload_does_not_grow_with_the_conversation() {
    // A long conversation: the largest state input or output at iteration 8 is no bigger than at
    // iteration 2, because history travels by reference.
    let agent = agent("assistant");
    let largest_payload = |run: &e2e_tests::Run, upto: usize| -> usize {
        let mut seen_calls = 0;
        let mut largest = 0;
        for event in &run.execution.history {
            if event.event_type == "TaskStateEntered"
                && event.detail("name").and_then(|n| n.as_str()) == Some("Call LLM")
            {
                seen_calls += 1;
                if seen_calls > upto {
                    break;
                }
            }
            let json = event.to_json().to_string();
            largest = largest.max(json.len());
        }
        largest
    };
    let big_input = json!({"expression": format!("{} + 1", "1".repeat(300))});
    let turns = (0..9)
        .map(|_| turn(&"words ".repeat(200), &[("calculate", big_input.clone())]))
        .chain([turn("Done.", &[])])
        .collect();
    let run = run_agent(
        &agent,
        scripted(turns, Provider::Anthropic),
        Arc::new(MemoryStore::new()),
        question("Long"),
    )
    .await;
    output(&run);
    let early = largest_payload(&run, 2);
    let late = largest_payload(&run, 9);
    assert!(
        late <= early + 200,
        "largest event grew from {early} to {late} bytes"
    );
}
