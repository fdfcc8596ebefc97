//! The `Tool` trait: a name, a description, a typed input whose JSON Schema is derived from the
//! Rust type, and a typed output.

use std::future::Future;

use agent_builder::ToolSpec;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A tool the model can call.
///
/// The input type is the contract with the model: its JSON Schema (from `schemars`) is what the
/// model sees, and it is what the input is checked against before [`Tool::run`] is called, so
/// `run` only ever sees well-typed input. Mark the input `#[serde(deny_unknown_fields)]` so a
/// misspelled field is reported to the model rather than ignored.
pub trait Tool: Send + Sync + 'static {
    /// The name the model calls it by (`get_weather`).
    const NAME: &'static str;
    /// What the tool does and when to use it, for the model.
    const DESCRIPTION: &'static str;
    /// The typed input. Its doc comments become the schema's descriptions.
    type Input: DeserializeOwned + Serialize + JsonSchema + Send + 'static;
    /// The typed output, sent to the model as JSON text.
    type Output: Serialize + Send;

    /// A valid input, shown to the model in error texts ("call again with input like …").
    fn example() -> Self::Input;

    /// Runs the tool. Errors become `is_error` results; the text says what went wrong.
    fn run(
        &self,
        input: Self::Input,
    ) -> impl Future<Output = Result<Self::Output, ToolError>> + Send;
}

/// Why a tool run failed. Each becomes an `is_error` tool result whose text tells the model what
/// went wrong and what to do next.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ToolError {
    /// The input is well-formed but cannot be used as given (an unknown place, a division by
    /// zero): the text says what to change.
    #[error("{0}")]
    BadInput(String),
    /// A service the tool relies on failed or did not answer; the input was fine.
    #[error("{service} is unavailable: {problem}")]
    Upstream {
        /// The service, as the model should name it to the user (`the Open-Meteo weather service`).
        service: String,
        /// What happened (`it did not answer within 5 s`).
        problem: String,
    },
    /// The tool failed on its own.
    #[error("{0}")]
    Failed(String),
}

/// The tool's spec for `agent-builder`: name, description and input schema.
///
/// Cheap and synchronous (no runtime, no I/O), so agent definitions can call it directly.
pub fn spec<T: Tool>() -> ToolSpec {
    ToolSpec::for_input::<T::Input>(T::NAME, T::DESCRIPTION)
}
