//! The builder refuses what would not deploy or not work, naming every problem at once.

use agent_builder::{Agent, AgentTool, Model, ToolSpec};
use serde_json::json;

#[test]
fn every_problem_is_reported_at_once() {
    let err = Agent::builder("bad name!")
        .system_prompt("  ")
        .model(Model::gemini("").max_tokens(0).temperature(3.0))
        .max_iterations(0)
        .tool(ToolSpec {
            name: "dup".into(),
            description: "A tool.".into(),
            input_schema: json!({"type": "object"}),
        })
        .tool(ToolSpec {
            name: "dup".into(),
            description: "".into(),
            input_schema: json!({"type": "string"}),
        })
        .build()
        .expect_err("invalid");
    let text = err.to_string();
    for needle in [
        "agent name `bad name!`",
        "system prompt is empty",
        "model id is empty",
        "max_tokens must be at least 1",
        "temperature 3 is outside",
        "max_iterations must be at least 1",
        "tool `dup` is added twice",
        "tool `dup` has no description",
        "\"type\": \"object\"",
    ] {
        assert!(text.contains(needle), "`{needle}` in:\n{text}");
    }
    assert_eq!(err.problems.len(), 9, "{text}");
}

#[test]
fn a_missing_model_says_how_to_add_one() {
    let err = Agent::builder("ok")
        .system_prompt("Hi.")
        .build()
        .expect_err("no model");
    assert!(
        err.to_string().contains(".model(Model::anthropic("),
        "{err}"
    );
}

fn lookup_order() -> ToolSpec {
    ToolSpec::new(
        "lookup_order",
        "Looks an order up by its number.",
        json!({"type": "object", "properties": {"order": {"type": "string"}}, "required": ["order"]}),
    )
}

#[test]
fn an_existing_lambda_is_called_through_its_placeholder_and_named_in_the_manifest() {
    let arn = "arn:aws:lambda:eu-west-1:123456789012:function:orders";
    let agent = Agent::builder("support")
        .system_prompt("You help with orders.")
        .model(Model::anthropic("claude-haiku-4-5"))
        .tool(AgentTool::existing_lambda(lookup_order(), arn))
        .build()
        .expect("valid");
    let entry = agent.manifest_entry();
    assert_eq!(entry.tools.len(), 1);
    assert_eq!(entry.tools[0].placeholder, "ToolLookupOrderFunctionArn");
    assert_eq!(entry.tools[0].function.as_deref(), Some(arn));
    assert_eq!(entry.tools[0].binary, None);
    let text = agent.state_machine().to_json_pretty();
    assert!(text.contains("${ToolLookupOrderFunctionArn}"), "{text}");
    assert!(
        !text.contains(arn),
        "the ARN is filled at deploy time: {text}"
    );
    let manifest = serde_json::to_value(&entry).expect("json");
    assert_eq!(
        manifest["tools"][0],
        json!({"tool": "lookup_order", "placeholder": "ToolLookupOrderFunctionArn", "function": arn})
    );
}

#[test]
fn a_rust_tool_is_the_binary_named_after_it() {
    let agent = Agent::builder("support")
        .system_prompt("You help with orders.")
        .model(Model::anthropic("claude-haiku-4-5"))
        .tool(lookup_order())
        .build()
        .expect("valid");
    let entry = agent.manifest_entry();
    assert_eq!(entry.tools[0].binary.as_deref(), Some("tool-lookup-order"));
    assert_eq!(entry.tools[0].function, None);
}

#[test]
fn an_existing_lambda_must_be_a_function_name_or_arn() {
    let err = Agent::builder("support")
        .system_prompt("You help with orders.")
        .model(Model::anthropic("claude-haiku-4-5"))
        .tool(AgentTool::existing_lambda(lookup_order(), "not a name!"))
        .build()
        .expect_err("invalid");
    assert!(
        err.to_string().contains(
            "tool `lookup_order`'s existing Lambda `not a name!` is not a function name or ARN"
        ),
        "{err}"
    );
}

#[test]
fn synth_files_are_sorted_by_agent_and_end_with_the_manifest() {
    let agent = |name: &str| {
        Agent::builder(name)
            .system_prompt("Hi.")
            .model(Model::openai("gpt-4o-mini"))
            .build()
            .expect("valid")
    };
    let files = agent_builder::synth::generate(&[agent("zeta"), agent("alpha")]);
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["alpha.asl.json", "zeta.asl.json", "manifest.json"]);
    assert!(files.iter().all(|f| f.contents.ends_with('\n')));
}
