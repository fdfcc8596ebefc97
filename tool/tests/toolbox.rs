//! The toolbox and the one call path, on tools of the tests' own: what a team's tools get.

use agent_builder::{ToolCall, ToolResult};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sfn_agent_tool::{Tool, ToolError, Toolbox, spec};

/// Repeats a word.
struct Echo;

/// The input of `echo`.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct EchoInput {
    /// The word to repeat.
    word: String,
    /// How many times, 1 to 3.
    #[schemars(range(min = 1, max = 3))]
    times: u8,
}

impl Tool for Echo {
    const NAME: &'static str = "echo";
    const DESCRIPTION: &'static str = "Repeats a word.";
    type Input = EchoInput;
    type Output = String;

    fn example() -> EchoInput {
        EchoInput {
            word: "hi".into(),
            times: 2,
        }
    }

    async fn run(&self, input: EchoInput) -> Result<String, ToolError> {
        if input.word == "boom" {
            panic!("a bug in the tool");
        }
        if input.word == "nope" {
            return Err(ToolError::BadInput("`nope` cannot be repeated".into()));
        }
        Ok(vec![input.word; usize::from(input.times)].join(" "))
    }
}

/// Always answers 1.
struct One;

impl Tool for One {
    const NAME: &'static str = "one";
    const DESCRIPTION: &'static str = "Answers one.";
    type Input = serde_json::Map<String, Value>;
    type Output = u8;

    fn example() -> Self::Input {
        serde_json::Map::new()
    }

    async fn run(&self, _: Self::Input) -> Result<u8, ToolError> {
        Ok(1)
    }
}

fn call(toolbox: &Toolbox, name: &str, input: Value) -> ToolResult {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    runtime.block_on(toolbox.call(ToolCall {
        id: "t1".into(),
        name: name.into(),
        input,
    }))
}

#[test]
fn a_valid_call_runs_the_tool() {
    let result = call(
        &Toolbox::new().with(Echo),
        "echo",
        json!({"word": "hi", "times": 3}),
    );
    assert!(!result.is_error, "{}", result.content);
    assert_eq!(result.content, "\"hi hi hi\"");
    assert_eq!(result.tool_use_id, "t1");
}

#[test]
fn invalid_input_names_the_problem_and_shows_an_example() {
    let result = call(
        &Toolbox::new().with(Echo),
        "echo",
        json!({"word": "hi", "times": 9}),
    );
    assert!(result.is_error);
    assert_eq!(
        result.content,
        "Invalid input for `echo`: `times` must be at most 3, not the number 9. \
         Call `echo` again with input like {\"word\":\"hi\",\"times\":2}"
    );
}

#[test]
fn the_tools_own_errors_and_panics_are_error_results() {
    let toolbox = Toolbox::new().with(Echo);
    let refused = call(&toolbox, "echo", json!({"word": "nope", "times": 1}));
    assert!(refused.is_error);
    assert_eq!(refused.content, "`nope` cannot be repeated");
    let panicked = call(&toolbox, "echo", json!({"word": "boom", "times": 1}));
    assert!(panicked.is_error);
    assert!(
        panicked.content.contains("failed unexpectedly"),
        "{}",
        panicked.content
    );
}

#[test]
fn an_unknown_tool_lists_the_tools() {
    let result = call(&Toolbox::new().with(Echo).with(One), "ech", json!({}));
    assert!(result.is_error);
    assert_eq!(
        result.content,
        "There is no tool named `ech`. The tools are: `echo`, `one`."
    );
}

#[test]
fn merged_toolboxes_keep_one_tool_per_name() {
    let toolbox = Toolbox::new()
        .with(Echo)
        .merge(Toolbox::new().with(One).with(Echo));
    assert_eq!(toolbox.names(), ["one", "echo"]);
    assert_eq!(toolbox.specs()[1], spec::<Echo>());
}

#[test]
fn the_spec_is_the_plain_schema_of_the_input() {
    let echo = spec::<Echo>();
    assert_eq!(echo.input_schema["required"], json!(["times", "word"]));
    assert_eq!(echo.input_schema["properties"]["times"]["maximum"], 3.0);
    assert!(echo.input_schema.get("title").is_none());
    assert!(
        echo.input_schema["properties"]["times"]
            .get("format")
            .is_none()
    );
}
