//! Tools for sfn-agent agents: a tool is a few lines of Rust, served as an AWS Lambda function
//! and in-process by the local engine.
//!
//! A tool implements [`Tool`]: a name, a description, a typed input and a typed output. The
//! input's JSON Schema is derived from its Rust type ([`spec`]), so what the model is told and
//! what the tool accepts cannot drift apart. Every call takes one path, in a Lambda
//! ([`lambda::serve`], feature `lambda`) or in-process ([`Toolbox`]): parse the tool call,
//! validate the input against the schema ([`InputValidator`], the same one the LLM Lambda uses),
//! run the tool, and return a tool result. Bad input, the tool's own failure and an upstream
//! outage each become an `is_error` result whose text tells the model what went wrong and how
//! to call again.
//!
//! ```
//! use schemars::JsonSchema;
//! use serde::{Deserialize, Serialize};
//! use sfn_agent_tool::{Tool, ToolError, Toolbox, spec};
//! use agent_builder::ToolCall;
//!
//! /// Adds two numbers.
//! struct Add;
//!
//! /// The input of `add`.
//! #[derive(Serialize, Deserialize, JsonSchema)]
//! #[serde(deny_unknown_fields)]
//! struct AddInput {
//!     /// The first number.
//!     a: f64,
//!     /// The second number.
//!     b: f64,
//! }
//!
//! impl Tool for Add {
//!     const NAME: &'static str = "add";
//!     const DESCRIPTION: &'static str = "Adds two numbers.";
//!     type Input = AddInput;
//!     type Output = f64;
//!
//!     fn example() -> AddInput {
//!         AddInput { a: 1.0, b: 2.0 }
//!     }
//!
//!     async fn run(&self, input: AddInput) -> Result<f64, ToolError> {
//!         Ok(input.a + input.b)
//!     }
//! }
//!
//! // The spec the agent's state machine carries.
//! let add = spec::<Add>();
//! assert_eq!(add.input_schema["required"], serde_json::json!(["a", "b"]));
//!
//! // In-process, as the local engine calls it.
//! let toolbox = Toolbox::new().with(Add);
//! let runtime = tokio::runtime::Builder::new_current_thread().build()?;
//! let call = |input| ToolCall { id: "t1".into(), name: "add".into(), input };
//! let result = runtime.block_on(toolbox.call(call(serde_json::json!({"a": 2, "b": 3}))));
//! assert_eq!((result.content.as_str(), result.is_error), ("5.0", false));
//! let result = runtime.block_on(toolbox.call(call(serde_json::json!({"a": 2}))));
//! assert!(result.is_error);
//! assert!(result.content.starts_with("Invalid input for `add`: `b` is missing"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! As a Lambda, a binary is one line: `sfn_agent_tool::lambda::serve(Add).await`.

mod handler;
#[cfg(feature = "lambda")]
pub mod lambda;
mod tool;
pub mod toolbox;
pub mod validation;

pub use handler::ToolHandler;
pub use tool::{Tool, ToolError, spec};
pub use toolbox::Toolbox;
pub use validation::{InputValidator, invalid_input_text};
