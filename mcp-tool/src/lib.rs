//! MCP tools for sfn-agent, on the official Rust MCP SDK (`rmcp`, streamable HTTP).
//!
//! An agent names a Model Context Protocol server with [`agent_builder::McpServer`]. At synth
//! time a [`Resolver`] reads the server's tool list (name, description, input schema) and
//! freezes it into the agent, so the machine and the manifest hold it and stay reviewable; a
//! server that is down fails synth with an error naming it and its URL. At run time one generic
//! tool Lambda (binary `mcp-tool`, [`lambda::serve`]) calls the tool with the [`McpHandler`];
//! the call's payload carries the server (URL, tool, secret). Whatever goes wrong there (the
//! server down or slow, a protocol error, a tool error with `isError: true`) becomes an error
//! result the model reads, never a failed execution.
//!
//! Every exchange is bounded: the handshake and request by a timeout (`MCP_TIMEOUT_SECONDS`),
//! a response body by [`client::MAX_RESPONSE_BYTES`], a tool list by [`client::MAX_TOOLS`] and
//! [`client::MAX_LIST_BYTES`], a frozen tool's schema and description by
//! [`client::MAX_SCHEMA_BYTES`] and [`client::MAX_DESCRIPTION_BYTES`], and a result's text by
//! [`client::MAX_RESULT_CHARS`].
//!
//! ```no_run
//! use agent_builder::{Agent, McpServer, Model};
//! use sfn_agent_mcp::Resolver;
//!
//! # async fn synth() -> Result<(), Box<dyn std::error::Error>> {
//! let agent = Agent::builder("docs")
//!     .system_prompt("You answer from the documentation.")
//!     .model(Model::anthropic("claude-sonnet-4-5"))
//!     .mcp_server(McpServer::new("docs", "https://docs.example.com/mcp").tools(["search"]))
//!     .build()?;
//! let agent = Resolver::from_env().resolve(agent).await?;
//! assert_eq!(agent.tools()[0].spec.name, "search");
//! # Ok(())
//! # }
//! ```

pub mod client;
pub mod credentials;
pub mod error;
pub mod handler;
#[cfg(feature = "lambda")]
pub mod lambda;
#[cfg(feature = "loopback-server")]
pub mod loopback;
pub mod resolve;

pub use credentials::{CredentialStore, Credentials};
pub use error::McpError;
pub use handler::McpHandler;
pub use resolve::Resolver;
