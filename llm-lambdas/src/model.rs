//! The one trait every provider adapter implements.
//!
//! An adapter turns a provider-neutral [`ChatRequest`] into its provider's request, and the
//! provider's response back into a [`ChatResponse`], at its edge and nowhere else.

use agent_builder::{CacheTtl, Message, Provider, StopReason, ToolSpec};

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
    /// How long the agent wants its prompt cached between turns (the agent's
    /// [`AgentConfig::cache_ttl`](agent_builder::AgentConfig::cache_ttl)); an adapter whose
    /// provider lets the caller choose (Anthropic) asks for it, the others ignore it.
    pub cache_ttl: CacheTtl,
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
    /// Tokens read: the whole prompt, the cached parts included, whatever the provider's own
    /// field means (Anthropic's and Bedrock's `input_tokens` leave the cache out; OpenAI's
    /// `prompt_tokens` and Gemini's `promptTokenCount` count it in).
    pub input_tokens: u64,
    /// Tokens written.
    pub output_tokens: u64,
    /// The parts of `input_tokens` the provider's prompt cache served or stored.
    pub cache: CacheTokens,
    /// The model id the provider reports having used.
    pub model: String,
}

/// The parts of a reply's input tokens that the provider's prompt cache served or stored. Both
/// are included in [`ChatResponse::input_tokens`]; adapters keep `read + write` within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheTokens {
    /// Input tokens read from the cache (Anthropic `cache_read_input_tokens`, OpenAI
    /// `prompt_tokens_details.cached_tokens`, Gemini `cachedContentTokenCount`, Bedrock
    /// `cacheReadInputTokens`).
    pub read: u64,
    /// Input tokens written to the cache, whatever their lifetime (Anthropic
    /// `cache_creation_input_tokens`, Bedrock `cacheWriteInputTokens`; OpenAI and Gemini do not
    /// report writes, which cost the plain input price there).
    pub write: u64,
    /// Of `write`, the tokens written with the one-hour lifetime (Anthropic
    /// `cache_creation.ephemeral_1h_input_tokens`), priced apart.
    pub write_1h: u64,
}

impl CacheTokens {
    /// The counts made consistent with a prompt of `input_tokens`: reads first, then writes,
    /// then the one-hour writes, each cut to what is left, so a server's inconsistent report
    /// never makes the uncached part negative.
    pub fn within(self, input_tokens: u64) -> CacheTokens {
        let read = self.read.min(input_tokens);
        let write = self.write.min(input_tokens - read);
        CacheTokens {
            read,
            write,
            write_1h: self.write_1h.min(write),
        }
    }

    /// The input tokens neither read from nor written to the cache.
    pub fn uncached(self, input_tokens: u64) -> u64 {
        input_tokens
            .saturating_sub(self.read)
            .saturating_sub(self.write)
    }
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
