//! The wire protocol between the state machine and the Lambdas.
//!
//! Messages are provider-neutral: content is a list of `text`, `tool_use` and `tool_result`
//! blocks, and each provider adapter converts to and from its own format at its edge. So a
//! conversation stored by one provider can be continued by another. What one provider needs back
//! on its own blocks in later turns (Gemini's thought signatures, the reasoning items of OpenAI's
//! Responses API) rides on the block as its [`ProviderExtra`], which only that provider is sent.
//!
//! History travels by reference. The state machine carries the conversation id, the iteration,
//! the latest assistant turn and the pending tool calls and results, never the message list: the
//! LLM Lambda loads the history from the conversation store, appends to it, and returns only
//! [`LlmResponse`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The person asking, and the tool results sent back on their behalf.
    User,
    /// The model.
    Assistant,
}

/// One block of a message's content. (Read by a hand-written `Deserialize` in one pass, see
/// `content_block.rs`; written by the derive.)
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    /// Plain text.
    Text {
        /// The text.
        text: String,
        /// What the provider that wrote the block needs back on it (absent in most blocks, and
        /// in every conversation stored before it existed).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        extra: Option<ProviderExtra>,
    },
    /// The model asks for a tool to run.
    ToolUse {
        /// The id the result must refer to.
        id: String,
        /// The tool's name.
        name: String,
        /// The tool's input, a JSON object.
        input: Value,
        /// What the provider that wrote the call needs back on it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        extra: Option<ProviderExtra>,
    },
    /// The result of a tool run, sent back to the model.
    ToolResult {
        /// The id of the `tool_use` this answers.
        tool_use_id: String,
        /// The result as text (JSON for structured results).
        content: String,
        /// Whether the tool failed; the text then says why and how to call again.
        #[serde(default)]
        is_error: bool,
    },
}

impl ContentBlock {
    /// A text block with no provider extra.
    pub fn text(text: impl Into<String>) -> Self {
        ContentBlock::Text {
            text: text.into(),
            extra: None,
        }
    }

    /// A tool call with no provider extra.
    pub fn tool_use(id: impl Into<String>, name: impl Into<String>, input: Value) -> Self {
        ContentBlock::ToolUse {
            id: id.into(),
            name: name.into(),
            input,
            extra: None,
        }
    }

    /// The block's provider extra, when it has one.
    pub fn extra(&self) -> Option<&ProviderExtra> {
        match self {
            ContentBlock::Text { extra, .. } | ContentBlock::ToolUse { extra, .. } => {
                extra.as_ref()
            }
            ContentBlock::ToolResult { .. } => None,
        }
    }

    /// The block as `provider` may see it: an extra written by another provider is removed.
    pub fn for_provider(mut self, provider: Provider) -> Self {
        if let ContentBlock::Text { extra, .. } | ContentBlock::ToolUse { extra, .. } = &mut self
            && extra.as_ref().is_some_and(|e| e.provider != provider)
        {
            *extra = None;
        }
        self
    }
}

/// What one provider attached to a block it wrote, to be sent back on the same block when the
/// conversation goes to that provider again, and to no other provider ever.
///
/// It is opaque state the provider asks clients to return verbatim: Gemini's `thoughtSignature`
/// on a part (Gemini 3 refuses a replayed function call without it), and the `reasoning` items of
/// OpenAI's Responses API (with their `encrypted_content`), which a reasoning model reads back
/// between tool calls. When the conversation moves to another provider, the extra is dropped at
/// that provider's edge ([`ContentBlock::for_provider`]); the stored block keeps it. Both are
/// bound to the model that wrote them, so an adapter sends them back only to that model
/// ([`ProviderExtra::is_for`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProviderExtra {
    /// The provider that wrote it, the only one ever sent it.
    pub provider: Provider,
    /// The model id the block was asked of (the request's, not the one the reply reports).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub model: String,
    /// Gemini: the part's `thoughtSignature`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thought_signature: Option<String>,
    /// OpenAI Responses API: the `reasoning` output items that came right before this block,
    /// verbatim and in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasoning: Vec<Value>,
}

impl ProviderExtra {
    /// An empty extra of `provider` and `model`.
    pub fn new(provider: Provider, model: impl Into<String>) -> Self {
        Self {
            provider,
            model: model.into(),
            thought_signature: None,
            reasoning: Vec::new(),
        }
    }

    /// Whether the extra may be sent to `model` of `provider`: it was written by that very model.
    pub fn is_for(&self, provider: Provider, model: &str) -> bool {
        self.provider == provider && self.model == model
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// What it says.
    pub content: Vec<ContentBlock>,
}

impl Message {
    /// A user message with one text block.
    pub fn user_text(text: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: vec![ContentBlock::text(text)],
        }
    }

    /// A user message carrying tool results.
    pub fn tool_results(results: &[ToolResult]) -> Self {
        Self {
            role: Role::User,
            content: results.iter().cloned().map(ContentBlock::from).collect(),
        }
    }

    /// The text blocks of the message, joined with newlines (empty ones, which may only carry a
    /// provider's extra, left out).
    pub fn text(&self) -> String {
        self.content
            .iter()
            .filter_map(|b| match b {
                ContentBlock::Text { text, .. } if !text.is_empty() => Some(text.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The tool calls in the message.
    pub fn tool_calls(&self) -> Vec<ToolCall> {
        self.content
            .iter()
            .filter_map(|b| match b {
                ContentBlock::ToolUse {
                    id, name, input, ..
                } => Some(ToolCall {
                    id: id.clone(),
                    name: name.clone(),
                    input: input.clone(),
                }),
                _ => None,
            })
            .collect()
    }
}

/// A call the model made to a tool. It is also the payload of a tool Lambda: the Map item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ToolCall {
    /// The id the result must refer to.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The tool's input, checked against the tool's JSON Schema before the call is made.
    pub input: Value,
}

/// What a tool Lambda returns, and what goes back to the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ToolResult {
    /// The id of the call this answers.
    pub tool_use_id: String,
    /// The result as text (JSON for structured results); for an error, what went wrong and how
    /// to call again.
    pub content: String,
    /// Whether the tool failed.
    #[serde(default)]
    pub is_error: bool,
}

impl ToolResult {
    /// A successful result.
    pub fn ok(tool_use_id: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            tool_use_id: tool_use_id.into(),
            content: content.into(),
            is_error: false,
        }
    }

    /// An error result whose text tells the model what went wrong.
    pub fn error(tool_use_id: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            tool_use_id: tool_use_id.into(),
            content: content.into(),
            is_error: true,
        }
    }
}

impl From<ToolResult> for ContentBlock {
    fn from(r: ToolResult) -> Self {
        ContentBlock::ToolResult {
            tool_use_id: r.tool_use_id,
            content: r.content,
            is_error: r.is_error,
        }
    }
}

impl From<ToolCall> for ContentBlock {
    fn from(c: ToolCall) -> Self {
        ContentBlock::tool_use(c.id, c.name, c.input)
    }
}

/// What the model sees of a tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ToolSpec {
    /// The name the model calls it by (`get_weather`).
    pub name: String,
    /// What it does and when to use it.
    pub description: String,
    /// The JSON Schema of its input, derived from the tool's Rust input type.
    pub input_schema: Value,
}

/// An LLM provider family. Each has its own LLM Lambda.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// Anthropic's Messages API.
    Anthropic,
    /// OpenAI: its Responses API, or Chat Completions (any OpenAI-compatible server by base URL).
    #[serde(rename = "openai")]
    OpenAi,
    /// Google's Gemini `generateContent` API.
    Gemini,
    /// Amazon Bedrock's Converse API.
    Bedrock,
}

impl Provider {
    /// Every provider, in a stable order.
    pub const ALL: [Provider; 4] = [
        Provider::Anthropic,
        Provider::OpenAi,
        Provider::Gemini,
        Provider::Bedrock,
    ];

    /// The provider's name on the wire and on the command line (`anthropic`, `openai`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Anthropic => "anthropic",
            Provider::OpenAi => "openai",
            Provider::Gemini => "gemini",
            Provider::Bedrock => "bedrock",
        }
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Provider {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Provider::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown provider `{s}`; expected one of: anthropic, openai, gemini, bedrock"
                )
            })
    }
}

/// The model an agent talks to, and its limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ModelSpec {
    /// The provider family.
    pub provider: Provider,
    /// The provider's model id (`claude-sonnet-4-5`, `gpt-4o-mini`, …).
    pub model: String,
    /// The most tokens one reply may hold.
    pub max_tokens: u32,
    /// Sampling temperature; the provider's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
}

/// What the LLM Lambda needs to know of the agent. It is written into the state machine, so the
/// definition in the console shows exactly what the model is given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AgentConfig {
    /// The agent's name (a dimension of its metrics).
    pub name: String,
    /// The system prompt.
    pub system_prompt: String,
    /// The model and its limits.
    pub model: ModelSpec,
    /// The tools the model may call.
    #[serde(default)]
    pub tools: Vec<ToolSpec>,
    /// A JSON Schema the final answer must match, for structured output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Value>,
    /// How long the provider should keep the prompt cache between turns: `1h` for an agent that
    /// waits for people (approvals, questions to the user), so the conversation is still cached
    /// when the answer comes; absent for the default five minutes.
    #[serde(default, skip_serializing_if = "CacheTtl::is_default")]
    pub cache_ttl: CacheTtl,
}

/// The lifetime an agent asks of the provider's prompt cache (where the provider lets the caller
/// choose it: Anthropic's `cache_control.ttl`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum CacheTtl {
    /// Five minutes, renewed on every hit: right for turns that follow each other within seconds.
    #[default]
    #[serde(rename = "5m")]
    FiveMinutes,
    /// One hour: for an agent whose next turn may wait for a person.
    #[serde(rename = "1h")]
    OneHour,
}

impl CacheTtl {
    /// Whether this is the default (five minutes), which the config leaves out.
    pub fn is_default(&self) -> bool {
        *self == CacheTtl::FiveMinutes
    }
}

/// The payload of the LLM Lambda: one turn of the ReAct loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LlmRequest {
    /// The agent.
    pub agent: AgentConfig,
    /// The conversation to load and append to.
    pub conversation_id: String,
    /// The execution asking (its ARN on AWS). With `iteration`, it tells a Lambda retry of a turn
    /// that was already stored from a new turn, even when two executions share a conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<String>,
    /// This turn's number, from 1.
    pub iteration: u32,
    /// The user's question, on the first turn of an execution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    /// The results of the previous turn's tool calls, on the later turns.
    #[serde(default)]
    pub tool_results: Vec<ToolResult>,
}

/// Why the model stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// A final answer.
    EndTurn,
    /// It wants tools run.
    ToolUse,
    /// It ran out of `max_tokens`; the answer may be cut short.
    MaxTokens,
}

/// Tokens and their estimated cost.
///
/// The counts mean the same whatever the provider (each adapter normalises its own fields):
/// `input_tokens` is every token of the prompt, cached or not, and `cache_read_tokens` and
/// `cache_write_tokens` are the parts of it that the provider's prompt cache served (billed at
/// about a tenth of the input price) or stored (billed at a premium by Anthropic and Claude on
/// Bedrock, at the input price elsewhere). So the uncached part is
/// `input_tokens - cache_read_tokens - cache_write_tokens`. Payloads written before the cache
/// fields existed still parse (they read as 0).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Usage {
    /// Tokens read: the whole prompt, cached parts included.
    pub input_tokens: u64,
    /// Tokens written.
    pub output_tokens: u64,
    /// Of `input_tokens`, those read from the provider's prompt cache.
    #[serde(default)]
    pub cache_read_tokens: u64,
    /// Of `input_tokens`, those written to the provider's prompt cache.
    #[serde(default)]
    pub cache_write_tokens: u64,
    /// The estimated cost in US dollars, from the price table (cache reads and writes at their
    /// own prices); 0 for an unknown model.
    #[serde(default)]
    pub estimated_cost_usd: f64,
}

/// Token counts saturate: a sum of counts never wraps (or panics in a debug build), whatever a
/// server reported.
impl std::ops::Add for Usage {
    type Output = Usage;

    fn add(self, other: Usage) -> Usage {
        Usage {
            input_tokens: self.input_tokens.saturating_add(other.input_tokens),
            output_tokens: self.output_tokens.saturating_add(other.output_tokens),
            cache_read_tokens: self
                .cache_read_tokens
                .saturating_add(other.cache_read_tokens),
            cache_write_tokens: self
                .cache_write_tokens
                .saturating_add(other.cache_write_tokens),
            estimated_cost_usd: self.estimated_cost_usd + other.estimated_cost_usd,
        }
    }
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        *self = *self + other;
    }
}

/// What the LLM Lambda returns: only what the next states need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LlmResponse {
    /// The conversation.
    pub conversation_id: String,
    /// This turn's number.
    pub iteration: u32,
    /// Why the model stopped.
    pub stop_reason: StopReason,
    /// The text of the reply: the answer, or the model's thinking before its tool calls.
    #[serde(default)]
    pub text: String,
    /// The valid tool calls to run, one Map item each.
    #[serde(default)]
    pub tool_calls: Vec<ToolCall>,
    /// Error results for calls that failed validation (unknown tool, input against the schema):
    /// they go back to the model with the next turn and are never run.
    #[serde(default)]
    pub rejected: Vec<ToolResult>,
    /// The final answer as JSON valid against the agent's output schema, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structured: Option<Value>,
    /// This call's tokens and cost.
    pub usage: Usage,
}

/// The execution input of an agent's state machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AgentInput {
    /// The question.
    pub question: String,
    /// A conversation to continue; a new one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
}

/// The execution output of an agent's state machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AgentOutput {
    /// The final answer's text.
    pub answer: String,
    /// The structured answer, for an agent with an output schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// Why the model stopped: `end_turn`, or `max_tokens` when the answer was cut short.
    pub stop_reason: StopReason,
    /// The conversation, to continue it later.
    pub conversation_id: String,
    /// LLM turns used.
    pub iterations: u32,
    /// Tokens and estimated cost of the whole run.
    pub usage: Usage,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn blocks_stored_before_extras_existed_still_read_and_write_the_same() {
        let old = json!([
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "t1", "name": "get_weather", "input": {"city": "Paris"}}
        ]);
        let blocks: Vec<ContentBlock> = serde_json::from_value(old.clone()).unwrap_or_default();
        assert_eq!(
            blocks,
            [
                ContentBlock::text("Checking."),
                ContentBlock::tool_use("t1", "get_weather", json!({"city": "Paris"}))
            ]
        );
        assert_eq!(serde_json::to_value(&blocks).ok(), Some(old));
    }

    #[test]
    fn an_extra_round_trips_and_is_removed_for_another_provider() {
        let block = ContentBlock::ToolUse {
            id: "t1".into(),
            name: "get_weather".into(),
            input: json!({}),
            extra: Some(ProviderExtra {
                thought_signature: Some("c2ln".into()),
                ..ProviderExtra::new(Provider::Gemini, "gemini-3-pro-preview")
            }),
        };
        let stored = serde_json::to_value(&block).unwrap_or_default();
        assert_eq!(
            stored["extra"],
            json!({"provider": "gemini", "model": "gemini-3-pro-preview", "thought_signature": "c2ln"})
        );
        let read: Option<ContentBlock> = serde_json::from_value(stored).ok();
        assert_eq!(read.as_ref(), Some(&block));
        assert_eq!(block.clone().for_provider(Provider::Gemini), block);
        assert_eq!(
            block.for_provider(Provider::Anthropic),
            ContentBlock::tool_use("t1", "get_weather", json!({}))
        );
    }

    #[test]
    fn empty_text_blocks_are_not_part_of_the_text() {
        let message = Message {
            role: Role::Assistant,
            content: vec![
                ContentBlock::text("a"),
                ContentBlock::text(""),
                ContentBlock::text("b"),
            ],
        };
        assert_eq!(message.text(), "a\nb");
    }
}
