//! LLM Lambdas: provider adapters behind one trait, the conversation store, API keys from
//! Secrets Manager, and one Lambda binary per provider.
//!
//! The [`Handler`] runs one turn of an agent's ReAct loop: it loads the conversation from a
//! [`ConversationStore`], calls a [`ChatModel`], validates the tool calls and stores the turn.
//! The Lambda binaries (`llm-anthropic`, `llm-openai`, `llm-gemini`, `llm-bedrock`) wrap it with
//! the DynamoDB store; `sfn-agent run` calls it in-process with a local store:
//!
//! ```
//! use std::sync::Arc;
//! use agent_builder::{AgentConfig, LlmRequest, ModelSpec, Provider, StopReason};
//! use llm_lambdas::metrics::MetricsSink;
//! use llm_lambdas::providers::scripted::{Script, ScriptedModel};
//! use llm_lambdas::{Handler, MemoryStore};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let script: Script = serde_json::from_str(r#"{"turns": [{"text": "Hello!"}]}"#)?;
//! let model = Arc::new(ScriptedModel::new(script, Provider::Anthropic));
//! let handler = Handler::new(model, Arc::new(MemoryStore::new()))
//!     .with_metrics(MetricsSink::to_writer(std::io::sink()));
//! let agent = AgentConfig {
//!     name: "greeter".into(),
//!     system_prompt: "Greet the user.".into(),
//!     model: ModelSpec {
//!         provider: Provider::Anthropic,
//!         model: "claude-haiku-4-5".into(),
//!         max_tokens: 256,
//!         temperature: None,
//!     },
//!     tools: Vec::new(),
//!     output_schema: None,
//!     cache_ttl: Default::default(),
//! };
//! let response = handler
//!     .handle(LlmRequest {
//!         execution: None,
//!         agent,
//!         conversation_id: "c-1".into(),
//!         iteration: 1,
//!         question: Some("Hi".into()),
//!         tool_results: Vec::new(),
//!     })
//!     .await?;
//! assert_eq!(response.stop_reason, StopReason::EndTurn);
//! assert_eq!(response.text, "Hello!");
//! # Ok(())
//! # }
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! #     tokio::runtime::Runtime::new()?.block_on(run())
//! # }
//! ```

pub mod error;
pub mod handler;
pub mod metrics;
pub mod model;
pub mod pricing;
pub mod providers;
pub mod secrets;
pub mod store;

pub use error::LlmError;
pub use handler::{Handler, HandlerError};
pub use model::{CacheTokens, ChatModel, ChatRequest, ChatResponse};
pub use providers::ProviderAdapter;
pub use store::{
    ConversationStore, DynamoStore, LocalStore, MemoryStore, StoreError, StoredResponse, Turn,
};
