//! The one trait every provider adapter implements.
//!
//! An adapter turns a provider-neutral [`ChatRequest`] into its provider's request, and the
//! provider's response back into a [`ChatResponse`], at its edge and nowhere else.

use agent_builder::{Message, Provider, StopReason, ToolSpec};

use crate::error::LlmError;

/// One call to a model: the whole history so far, in provider-neutral messages.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// The provider's model id.
    pub model: String,
    /// The system prompt.
    pub system: String,
    /// The conversation, oldest first; the last message is the user's (a question or tool results).
    pub messages: Vec<Message>,
    /// The tools the model may call.
    pub tools: Vec<ToolSpec>,
    /// The most tokens the reply may hold.
    pub max_tokens: u32,
    /// Sampling temperature; the provider's default when `None`.
    pub temperature: Option<f32>,
}

/// The model's reply, converted back to provider-neutral form.
///
/// A tool call whose arguments were not valid JSON keeps them as a JSON *string* in its `input`,
/// so the handler can turn it into an error result for the model (and the adapter can send the
/// same raw text back to the provider in the history).
#[derive(Debug, Clone, PartialEq)]
pub struct ChatResponse {
    /// The assistant message: text and `tool_use` blocks.
    pub message: Message,
    /// Why the model stopped.
    pub stop_reason: StopReason,
    /// Tokens read.
    pub input_tokens: u64,
    /// Tokens written.
    pub output_tokens: u64,
    /// The model id the provider reports having used.
    pub model: String,
}

/// A chat model behind one provider's API.
#[async_trait::async_trait]
pub trait ChatModel: Send + Sync {
    /// The provider family.
    fn provider(&self) -> Provider;

    /// Sends one request and converts the reply.
    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError>;

    /// Whether the price table applies to this model's token counts: `false` for a model that
    /// makes its counts up (the scripted one), whose usage then costs 0 instead of a fake price.
    fn prices_apply(&self) -> bool {
        true
    }
}
