//! The ReAct template's shape: what one iteration costs, where errors go, what the output holds.

use agent_builder::react::names;
use agent_builder::{Agent, Model, ToolSpec, errors, manifest::WorkflowType};
use asl::{State, StateMachine};
use serde_json::json;

fn spec(name: &str) -> ToolSpec {
    ToolSpec {
        name: name.into(),
        description: format!("The {name} tool."),
        input_schema: json!({"type": "object", "properties": {"q": {"type": "string"}}}),
    }
}

fn agent(tools: &[&str]) -> Agent {
    let mut builder = Agent::builder("test-agent")
        .system_prompt("You test things.")
        .model(Model::anthropic("claude-sonnet-4-5").max_tokens(512))
        .max_iterations(4);
    for t in tools {
        builder = builder.tool(spec(t));
    }
    builder.build().expect("valid agent")
}

fn state<'a>(machine: &'a StateMachine, name: &str) -> &'a State {
    machine
        .states
        .get(name)
        .unwrap_or_else(|| panic!("no state {name}"))
}

/// Walks one iteration in which the model asks for `n` tools that all succeed, from Call LLM back
/// to Call LLM, and counts the states entered (each is one transition in Standard billing).
fn transitions_per_iteration(machine: &StateMachine, n: usize) -> usize {
    let mut count = 0;
    let mut current = names::CALL_LLM.to_owned();
    loop {
        count += 1;
        let next = match state(machine, &current) {
            State::Task(t) => t.next.clone().expect("Call LLM has Next"),
            State::Choice(c) => {
                // The model asked for tools, below the cap: the rule that leads to the Map.
                c.choices
                    .iter()
                    .find(|r| r.next.as_deref() == Some(names::RUN_TOOLS))
                    .and_then(|r| r.next.clone())
                    .expect("a rule leads to Run tools")
            }
            State::Map(m) => {
                let (start, inner) = m.processor_states().expect("Map has a processor");
                // Each item runs from StartAt to its end with every tool succeeding.
                let mut per_item = 0;
                let mut s = start.to_owned();
                loop {
                    per_item += 1;
                    match &inner[&s] {
                        State::Task(t) if t.end == Some(true) => break,
                        State::Task(t) => s = t.next.clone().expect("Next"),
                        other => panic!("unexpected {} in the Map", other.type_name()),
                    }
                }
                count += per_item * n;
                m.next.clone().expect("Map has Next")
            }
            other => panic!("unexpected {} in the loop", other.type_name()),
        };
        if next == names::CALL_LLM {
            return count;
        }
        current = next;
    }
}

#[test]
fn one_iteration_with_n_tool_calls_costs_three_plus_n_transitions() {
    let machine = agent(&["get_weather", "calculate"]).state_machine();
    for n in 0..5 {
        assert_eq!(
            transitions_per_iteration(&machine, n),
            3 + n,
            "with {n} tool calls"
        );
    }
}

#[test]
fn the_machine_is_valid_and_in_jsonata() {
    let machine = agent(&["get_weather"]).state_machine();
    asl::validate(&machine).expect("valid");
    assert_eq!(machine.query_language, Some(asl::QueryLanguage::JSONata));
    let text = machine.to_json_pretty();
    assert!(
        !text.contains("\"Parameters\""),
        "no JSONPath fields: {text}"
    );
    assert!(!text.contains("ResultPath"), "no JSONPath fields: {text}");
}

#[test]
fn the_tool_lambda_is_picked_by_name_without_a_choice_per_tool() {
    let machine = agent(&["get_weather", "calculate", "current_time"]).state_machine();
    let State::Map(map) = state(&machine, names::RUN_TOOLS) else {
        panic!("Run tools is a Map")
    };
    let (_, inner) = map.processor_states().expect("processor");
    assert!(
        inner.values().all(|s| !matches!(s, State::Choice(_))),
        "no Choice inside the Map"
    );
    let State::Task(task) = &inner[names::RUN_TOOL] else {
        panic!("Run tool is a Task")
    };
    let function = task.arguments.as_ref().expect("arguments")["FunctionName"]
        .as_str()
        .expect("string");
    assert!(function.contains("$lookup("), "{function}");
    for placeholder in [
        "ToolGetWeatherFunctionArn",
        "ToolCalculateFunctionArn",
        "ToolCurrentTimeFunctionArn",
    ] {
        assert!(
            function.contains(&format!("${{{placeholder}}}")),
            "{placeholder} in {function}"
        );
    }
}

#[test]
fn history_travels_by_reference() {
    let machine = agent(&["get_weather"]).state_machine();
    let State::Task(call) = state(&machine, names::CALL_LLM) else {
        panic!("Task")
    };
    let payload = &call.arguments.as_ref().expect("arguments")["Payload"];
    let keys: Vec<&str> = payload
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "agent",
            "conversation_id",
            "execution",
            "iteration",
            "question",
            "tool_results"
        ]
    );
    assert!(
        !machine.to_json_pretty().contains("messages"),
        "no message list in the machine"
    );
}

#[test]
fn llm_errors_are_retried_with_full_jitter_and_others_are_not() {
    let machine = agent(&[]).state_machine();
    let State::Task(call) = state(&machine, names::CALL_LLM) else {
        panic!("Task")
    };
    let retry = call.retry.as_ref().expect("retry");
    let retried: Vec<&str> = retry
        .iter()
        .flat_map(|r| r.error_equals.iter().map(String::as_str))
        .collect();
    for name in [
        errors::LLM_RATE_LIMITED,
        errors::LLM_OVERLOADED,
        errors::LLM_TIMEOUT,
        errors::CONVERSATION_CONFLICT,
        "Lambda.TooManyRequestsException",
    ] {
        assert!(retried.contains(&name), "{name} is retried");
    }
    for name in [
        errors::LLM_BAD_REQUEST,
        errors::LLM_AUTH_FAILED,
        errors::LLM_CONTEXT_TOO_LONG,
        "States.ALL",
    ] {
        assert!(!retried.contains(&name), "{name} is not retried");
    }
    assert!(
        retry
            .iter()
            .all(|r| r.jitter_strategy == Some(asl::JitterStrategy::Full))
    );
    assert!(
        call.catch.is_none(),
        "a non-retryable LLM error fails the run with its own name"
    );
}

#[test]
fn a_failing_tool_becomes_an_error_result() {
    let machine = agent(&["get_weather"]).state_machine();
    let State::Map(map) = state(&machine, names::RUN_TOOLS) else {
        panic!("Map")
    };
    let (_, inner) = map.processor_states().expect("processor");
    let State::Task(task) = &inner[names::RUN_TOOL] else {
        panic!("Task")
    };
    let catch = &task.catch.as_ref().expect("catch")[0];
    assert_eq!(catch.error_equals, ["States.ALL"]);
    let output = catch
        .output
        .as_ref()
        .expect("output")
        .as_str()
        .expect("expression");
    assert!(
        output.contains("'is_error': true") && output.contains("$states.errorOutput"),
        "{output}"
    );
    assert!(
        matches!(inner[&catch.next], State::Pass(_)),
        "the error result ends the item"
    );
}

#[test]
fn the_iteration_cap_and_bad_input_fail_with_readable_errors() {
    let machine = agent(&["get_weather"]).state_machine();
    let State::Fail(cap) = state(&machine, names::TOO_MANY_ITERATIONS) else {
        panic!("Fail")
    };
    assert_eq!(cap.error.as_deref(), Some(errors::AGENT_MAX_ITERATIONS));
    assert!(
        cap.cause
            .as_deref()
            .unwrap_or_default()
            .contains("max_iterations")
    );
    let State::Choice(choice) = state(&machine, names::TOOL_USE) else {
        panic!("Choice")
    };
    assert!(
        choice.choices[0]
            .condition
            .as_deref()
            .unwrap_or_default()
            .contains("$iteration >= 4")
    );
    let State::Fail(bad) = state(&machine, names::INVALID_INPUT) else {
        panic!("Fail")
    };
    assert_eq!(bad.error.as_deref(), Some(errors::AGENT_INVALID_INPUT));
    assert!(
        bad.cause
            .as_deref()
            .unwrap_or_default()
            .contains("\"question\"")
    );
}

#[test]
fn the_answer_holds_what_the_user_needs() {
    let machine = agent(&[]).state_machine();
    let State::Succeed(answer) = state(&machine, names::ANSWER) else {
        panic!("Succeed")
    };
    let output = answer
        .output
        .as_ref()
        .expect("output")
        .as_str()
        .expect("expression");
    for key in [
        "'answer'",
        "'result'",
        "'conversation_id'",
        "'iterations'",
        "'usage'",
    ] {
        assert!(output.contains(key), "{key} in {output}");
    }
}

#[test]
fn express_agents_get_the_express_time_limit() {
    let agent = Agent::builder("quick")
        .system_prompt("Be quick.")
        .model(Model::openai("gpt-4o-mini"))
        .workflow_type(WorkflowType::Express)
        .build()
        .expect("valid");
    assert_eq!(agent.state_machine().timeout_seconds, Some(300));
    assert_eq!(agent.manifest_entry().workflow_type, WorkflowType::Express);
    assert_eq!(
        agent.manifest_entry().llm.placeholder,
        "LlmOpenaiFunctionArn"
    );
}

#[test]
fn the_machine_snapshot() {
    insta::assert_snapshot!(agent(&["get_weather"]).state_machine().to_json_pretty());
}

#[test]
fn a_timeout_is_retried_once_so_a_hung_provider_ends_the_run_in_bounded_time() {
    let machine = agent(&[]).state_machine();
    let State::Task(call) = state(&machine, names::CALL_LLM) else {
        panic!("Task")
    };
    let retry = call.retry.as_ref().expect("retry");
    let timeouts: Vec<_> = retry
        .iter()
        .filter(|r| r.error_equals.iter().any(|e| e == errors::LLM_TIMEOUT))
        .collect();
    assert_eq!(timeouts.len(), 1);
    assert_eq!(timeouts[0].error_equals, [errors::LLM_TIMEOUT]);
    assert_eq!(timeouts[0].max_attempts, Some(1));
}
