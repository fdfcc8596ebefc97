//! LLM Lambdas: provider adapters behind one trait, the conversation store, API keys from
//! Secrets Manager, and one Lambda binary per provider.

pub mod error;
pub mod model;
pub mod providers;

pub use error::LlmError;
pub use model::{ChatModel, ChatRequest, ChatResponse};
