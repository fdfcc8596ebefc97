//! Agents defined in Rust, compiled to an Amazon States Language ReAct loop.
//!
//! An [`Agent`] is a name, a system prompt, a model, tools, an iteration cap and optionally a
//! schema for a structured answer. [`Agent::state_machine`] emits its ReAct loop in JSONata:
//! Call LLM → Tool use? → Run tools (a Map over the tool calls) → back to Call LLM, until an
//! answer. The conversation travels by reference; see [`protocol`].
//!
//! ```
//! use agent_builder::{Agent, Model, ToolSpec};
//!
//! #[derive(schemars::JsonSchema)]
//! struct Input { city: String }
//!
//! let agent = Agent::builder("weather")
//!     .system_prompt("You answer questions about the weather.")
//!     .model(Model::anthropic("claude-sonnet-4-5").max_tokens(1024))
//!     .tool(ToolSpec::for_input::<Input>("get_weather", "Current weather for a city."))
//!     .max_iterations(5)
//!     .build()
//!     .unwrap();
//! let machine = agent.state_machine();
//! assert!(asl::validate(&machine).is_ok());
//! assert_eq!(agent.manifest_entry().tools[0].placeholder, "ToolGetWeatherFunctionArn");
//! ```
//!
//! This crate also owns the wire protocol between the state machine and the Lambdas
//! ([`protocol`]), the error names the machine matches ([`errors`]) and the manifest CDK reads
//! ([`manifest`]). It has no AWS SDK in it.

pub mod agent;
mod content_block;
pub mod error;
pub mod errors;
pub mod manifest;
pub mod mcp;
pub mod people;
pub mod protocol;
pub mod react;
pub mod schema;
pub mod synth;

pub use agent::{Agent, AgentBuilder, AgentTool, Model, SubAgent, ToolLambda};
pub use error::BuildError;
pub use mcp::McpServer;
pub use people::RequestDestination;
pub use protocol::*;
pub use schema::schema_for;
