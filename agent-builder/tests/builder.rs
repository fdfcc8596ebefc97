//! The builder refuses what would not deploy or not work, naming every problem at once.

use agent_builder::{Agent, Model, ToolSpec};
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
