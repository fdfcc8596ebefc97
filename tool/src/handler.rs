//! The one path every tool call takes, in a Lambda or in-process: parse → validate → run →
//! result. Every failure becomes an `is_error` result that tells the model what to do next.

use std::panic::AssertUnwindSafe;
use std::sync::OnceLock;

use agent_builder::{ToolCall, ToolResult, ToolSpec};
use futures_util::FutureExt;
use serde_json::Value;

use crate::tool::{Tool, ToolError, spec};
use crate::validation::{InputValidator, deserialize, echo, invalid_input_text};

/// A tool ready to answer calls: the tool and its compiled input schema (compiled on first use,
/// so a Lambda does no work at init).
pub struct ToolHandler<T: Tool> {
    tool: T,
    validator: OnceLock<InputValidator>,
}

impl<T: Tool> ToolHandler<T> {
    /// Wraps `tool`.
    pub fn new(tool: T) -> Self {
        Self {
            tool,
            validator: OnceLock::new(),
        }
    }

    /// The tool's spec.
    pub fn spec(&self) -> ToolSpec {
        spec::<T>()
    }

    /// Answers one call. Never fails and never panics: every problem is an `is_error` result.
    pub async fn call(&self, call: ToolCall) -> ToolResult {
        let ToolCall { id, name, input } = call;
        if name != T::NAME {
            return ToolResult::error(
                id,
                format!(
                    "This is the `{}` tool, but the call was for `{}`: the state machine sent the \
                     call to the wrong tool.",
                    T::NAME,
                    echo(&name)
                ),
            );
        }
        match self.check(input) {
            Ok(input) => self.run(id, input).await,
            Err(problems) => {
                let example = serde_json::to_value(T::example()).ok();
                ToolResult::error(id, invalid_input_text(T::NAME, &problems, example.as_ref()))
            }
        }
    }

    /// Validates `input` against the schema, then deserializes it into the tool's type.
    fn check(&self, input: Value) -> Result<T::Input, Vec<String>> {
        let validator = self
            .validator
            .get_or_init(|| InputValidator::new(agent_builder::schema::schema_for::<T::Input>()));
        let problems = validator.problems(&input);
        if !problems.is_empty() {
            return Err(problems);
        }
        deserialize::<T::Input>(input).map_err(|problem| vec![problem])
    }

    async fn run(&self, id: String, input: T::Input) -> ToolResult {
        let outcome = AssertUnwindSafe(self.tool.run(input)).catch_unwind().await;
        match outcome {
            Ok(Ok(output)) => match serde_json::to_string(&output) {
                Ok(text) => ToolResult::ok(id, text),
                Err(e) => ToolResult::error(
                    id,
                    format!(
                        "`{}` failed: its result could not be written as JSON ({e}).",
                        T::NAME
                    ),
                ),
            },
            Ok(Err(error)) => ToolResult::error(id, error_text::<T>(&error)),
            Err(_) => ToolResult::error(
                id,
                format!(
                    "`{}` failed unexpectedly (an internal error). Do not retry with the same input; \
                     tell the user the tool failed.",
                    T::NAME
                ),
            ),
        }
    }
}

/// The text of a tool's own error.
fn error_text<T: Tool>(error: &ToolError) -> String {
    match error {
        ToolError::BadInput(text) => text.clone(),
        ToolError::Upstream { service, problem } => format!(
            "{service} is unavailable right now: {problem}. This is not a problem with your \
             input: you may call `{}` once more, and if it fails again, tell the user that \
             {service} is unavailable.",
            T::NAME
        ),
        ToolError::Failed(text) => format!("`{}` failed: {text}", T::NAME),
    }
}
