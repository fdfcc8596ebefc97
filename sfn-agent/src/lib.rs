//! sfn-agent: LLM agents defined in Rust, compiled to AWS Step Functions state machines,
//! deployed with CDK, and runnable on a laptop with no AWS account.
//!
//! The one crate a team depends on. An [`Agent`] is a name, a system prompt, a [`Model`], tools
//! and an iteration cap; [`Agent::state_machine`] turns it into an Amazon States Language ReAct
//! loop (Call LLM → Tool use? → a Map over the tool calls → back). A tool is a Rust type that
//! implements [`Tool`] (its JSON Schema comes from its input type), or an existing Lambda in
//! any language ([`AgentTool::existing_lambda`]). The team's binary hands its agents and tools to
//! [`App`] and gets the whole command line for them: `run` answers a question on the local
//! engine, `synth` writes the machines and the manifest the CDK construct deploys, `invoke`
//! asks a deployed agent.
//!
//! ```
//! use sfn_agent::schemars::JsonSchema;
//! use sfn_agent::{Agent, Model, Tool, ToolError, spec};
//! use serde::{Deserialize, Serialize};
//!
//! /// Counts the words of a text.
//! struct WordCount;
//!
//! /// The input of `word_count`.
//! #[derive(Serialize, Deserialize, JsonSchema)]
//! #[serde(deny_unknown_fields)]
//! struct WordCountInput {
//!     /// The text whose words to count.
//!     text: String,
//! }
//!
//! impl Tool for WordCount {
//!     const NAME: &'static str = "word_count";
//!     const DESCRIPTION: &'static str = "Counts the words of a text.";
//!     type Input = WordCountInput;
//!     type Output = usize;
//!
//!     fn example() -> WordCountInput {
//!         WordCountInput { text: "one two three".into() }
//!     }
//!
//!     async fn run(&self, input: WordCountInput) -> Result<usize, ToolError> {
//!         Ok(input.text.split_whitespace().count())
//!     }
//! }
//!
//! let agent = Agent::builder("writer")
//!     .system_prompt("You help with texts. Count words with word_count.")
//!     .model(Model::anthropic("claude-haiku-4-5").max_tokens(1024))
//!     .tool(spec::<WordCount>())
//!     .build()?;
//! assert!(sfn_agent::asl::validate(&agent.state_machine()).is_ok());
//! // In main.rs: `sfn_agent::App::new().agent(agent).tool(WordCount).run()`.
//! # Ok::<(), sfn_agent::BuildError>(())
//! ```
//!
//! Features: `cli` (default: [`App`], [`local`]), `lambda` (default: what Lambda binaries run:
//! [`tool::lambda::serve`], [`llm`], [`mcp`], [`triggers`]), `stock-tools` (the stock tools, ready to run).

pub use agent_builder::manifest::WorkflowType;
pub use agent_builder::{
    Agent, AgentBuilder, AgentTool, BuildError, McpServer, Model, Provider, ToolCall, ToolLambda,
    ToolResult, ToolSpec,
};
pub use sfn_agent_tool::{Tool, ToolError, Toolbox, spec};

/// The agent builder, the ReAct template, the wire protocol, error names and the manifest.
pub use agent_builder as builder;
/// Amazon States Language as Rust types: parsing, validation, Mermaid rendering.
pub use asl;
/// The tool core: the `Tool` trait, the input validator, the toolbox and the Lambda adapter.
pub use sfn_agent_tool as tool;

/// Derives the JSON Schema of a tool's input (`#[derive(JsonSchema)]`).
pub use schemars;
pub use serde_json;

/// The command line as a library.
#[cfg(feature = "cli")]
pub use sfn_agent_cli as cli;
/// The command line for your agents.
#[cfg(feature = "cli")]
pub use sfn_agent_cli::App;
/// One agent on the local engine, with its Lambdas in-process.
#[cfg(feature = "cli")]
pub use sfn_agent_cli::local;
/// The local ASL engine.
#[cfg(feature = "cli")]
pub use sfn_local as engine;

/// The LLM Lambdas: provider adapters, the conversation store, the handler
/// (`llm::handler::lambda::run(llm::ProviderAdapter::ANTHROPIC)` is a whole LLM Lambda binary,
/// linking only that provider's adapter).
#[cfg(any(feature = "cli", feature = "lambda"))]
pub use llm_lambdas as llm;
/// MCP tools: the synth-time resolver and the generic MCP tool Lambda
/// (`mcp::lambda::serve()` is the whole `mcp-tool` binary, with feature `lambda`).
#[cfg(any(feature = "cli", feature = "lambda"))]
pub use sfn_agent_mcp as mcp;
/// The SQS trigger Lambda (`triggers::serve()` is the whole `sqs-trigger` binary).
#[cfg(feature = "lambda")]
pub use triggers;

/// The stock tools: weather, calculator, currency conversion, time.
#[cfg(feature = "stock-tools")]
pub use stock_tools;
