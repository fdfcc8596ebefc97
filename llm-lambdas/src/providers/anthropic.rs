//! Anthropic's Messages API (`POST /v1/messages`).
//!
//! Shapes follow <https://docs.anthropic.com/en/api/messages>: `tool_use` blocks in the
//! assistant's content, `tool_result` blocks (with `is_error`) in the next user message, the
//! system prompt as the top-level `system`, and errors as
//! `{"type": "error", "error": {"type": "overloaded_error", "message": …}}`
//! (<https://docs.anthropic.com/en/api/errors>).

use std::time::Duration;

use agent_builder::{CacheTtl, ContentBlock, Message, Provider, Role, StopReason};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::classify::{
    ErrorDetail, body_excerpt, classify_http_error, mentions_context_too_long, not_the_reply_of,
    parse_body, shape_error,
};
use super::config::{
    ProviderConfigError, api_key_from_env, base_url_without, env_var, timeout_from_env,
};
use super::history::{input_as_object, normalized_messages, portable_tool_id};
use super::http_model::{HttpApi, HttpModel, request_error};
use super::key::ApiKey;
use super::reply::{
    lenient_count, lenient_optional_count, plausible_tokens, token_sum, unique_tool_ids,
};
use super::size::{estimated_tokens, schema_bytes};
use super::transport::RawReply;
use crate::error::LlmError;
use crate::model::{CacheTokens, ChatRequest, ChatResponse};

/// The real API.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
/// The variable that overrides the base URL (a proxy, a local test server).
pub const BASE_URL_ENV: &str = "ANTHROPIC_BASE_URL";
/// The variable that holds the API key for local runs.
pub const API_KEY_ENV: &str = "ANTHROPIC_API_KEY";
/// The API version this adapter speaks, sent as `anthropic-version`.
pub const API_VERSION: &str = "2023-06-01";
/// The beta that enables the one-hour cache lifetime (`"ttl": "1h"`), sent as `anthropic-beta`
/// with every request that asks for it
/// (<https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching#1-hour-cache-duration>).
pub const EXTENDED_CACHE_TTL_BETA: &str = "extended-cache-ttl-2025-04-11";

/// The base URL from [`BASE_URL_ENV`], or [`DEFAULT_BASE_URL`].
pub fn base_url_from_env() -> String {
    env_var(BASE_URL_ENV).unwrap_or_else(|| DEFAULT_BASE_URL.to_string())
}

/// A Claude model behind the Messages API: the [`HttpModel`] speaking [`Messages`].
pub type AnthropicModel = HttpModel<Messages>;

/// Anthropic's Messages API, as an [`HttpApi`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Messages {
    /// The prompt cache the requests ask for.
    pub cache: PromptCache,
}

impl AnthropicModel {
    /// An adapter for `base_url` (`https://api.anthropic.com`; a trailing `/v1` is accepted),
    /// with its own HTTP client.
    pub fn new(
        base_url: impl Into<String>,
        api_key: ApiKey,
        timeout: Duration,
    ) -> Result<Self, ProviderConfigError> {
        HttpModel::with_api(
            Messages::default(),
            base_url_without(base_url.into(), "/v1"),
            api_key,
            timeout,
        )
    }

    /// An adapter configured from `ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL` and
    /// `LLM_TIMEOUT_SECONDS`.
    pub fn from_env() -> Result<Self, ProviderConfigError> {
        let key = api_key_from_env(API_KEY_ENV, "an Anthropic API key (sk-ant-…)")?;
        Ok(Self::new(base_url_from_env(), key, timeout_from_env()?)?
            .with_prompt_cache(prompt_cache_from_env()?))
    }

    /// The same adapter with another prompt cache (`PromptCache::OneHour` for an agent that
    /// waits for approvals, `Off` to send no breakpoints).
    pub fn with_prompt_cache(mut self, cache: PromptCache) -> Self {
        self.api_mut().cache = cache;
        self
    }
}

impl HttpApi for Messages {
    const PROVIDER: Provider = Provider::Anthropic;

    fn endpoint(&self, base_url: &str, _request: &ChatRequest) -> String {
        format!("{base_url}/v1/messages")
    }

    fn headers(&self, http: reqwest::RequestBuilder, key: &ApiKey) -> reqwest::RequestBuilder {
        http.header("x-api-key", key.expose())
            .header("anthropic-version", API_VERSION)
    }

    fn request_headers(
        &self,
        http: reqwest::RequestBuilder,
        request: &ChatRequest,
    ) -> reqwest::RequestBuilder {
        if self.cache.for_agent(request.cache_ttl) == PromptCache::OneHour {
            http.header("anthropic-beta", EXTENDED_CACHE_TTL_BETA)
        } else {
            http
        }
    }

    fn body(&self, request: &ChatRequest) -> Result<Vec<u8>, LlmError> {
        serde_json::to_vec(&to_request_with(
            request,
            self.cache.for_agent(request.cache_ttl),
        ))
        .map_err(|e| request_error(Provider::Anthropic, e))
    }

    fn response(&self, reply: &RawReply, _request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let response: MessagesResponse = parse_body(Provider::Anthropic, reply)?;
        if response.content.is_none() {
            // `{}`, or another API's reply: no `content` means no message at all.
            return Err(not_the_reply_of(
                Provider::Anthropic,
                reply.status,
                &reply.body,
            ));
        }
        Ok(from_response(response))
    }

    fn error(&self, reply: &RawReply, in_success: Option<&Value>) -> LlmError {
        let status = match in_success {
            // A proxy that answers 200 with the error body: the error's type says what it is.
            Some(error) => status_for_error_type(
                error
                    .pointer("/error/type")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            ),
            None => reply.status,
        };
        error_from_status(status, reply.retry_after_seconds, &reply.body)
    }
}

/// The request body of `POST /v1/messages`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessagesRequest {
    /// The model id.
    pub model: String,
    /// The most tokens to write.
    pub max_tokens: u32,
    /// The system prompt: a string, or one text block carrying a cache breakpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<SystemPrompt>,
    /// The conversation.
    pub messages: Vec<AnthropicMessage>,
    /// The tools.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<AnthropicTool>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
}

/// The top-level `system`: the plain string, or text blocks (the form that can carry a
/// `cache_control` breakpoint).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SystemPrompt {
    /// A plain string.
    Text(String),
    /// Text blocks.
    Blocks(Vec<AnthropicBlock>),
}

impl SystemPrompt {
    /// The prompt's text.
    pub fn text(&self) -> String {
        match self {
            SystemPrompt::Text(text) => text.clone(),
            SystemPrompt::Blocks(blocks) => blocks
                .iter()
                .filter_map(|b| match b {
                    AnthropicBlock::Text { text, .. } => Some(text.as_str()),
                    _ => None,
                })
                .collect(),
        }
    }
}

/// A prompt-cache breakpoint: the prefix up to and including the block that carries it is
/// cached (<https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching>).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheControl {
    /// Always `ephemeral`.
    #[serde(rename = "type")]
    pub kind: CacheKind,
    /// `1h` for the one-hour cache; absent for the default five minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<CacheTtlValue>,
}

/// The one cache kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheKind {
    /// The only kind the API has.
    Ephemeral,
}

/// A cache entry's lifetime on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CacheTtlValue {
    /// Five minutes (the default, written out only when asked for).
    #[serde(rename = "5m")]
    FiveMinutes,
    /// One hour.
    #[serde(rename = "1h")]
    OneHour,
}

/// Whether and how long the adapter asks Anthropic to cache the prompt prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PromptCache {
    /// No breakpoints.
    Off,
    /// Breakpoints with the default five-minute lifetime (cache writes cost 1.25× the input
    /// price, reads 0.1×): right for a ReAct loop, whose turns follow each other within seconds.
    #[default]
    FiveMinutes,
    /// Breakpoints with the one-hour lifetime (writes cost 2×): for agents expected to wait
    /// longer than five minutes between turns (an approval, a question to the user).
    OneHour,
}

impl PromptCache {
    /// The cache for a request of an agent that asks for `ttl`: the one-hour lifetime when the
    /// agent waits for people (its config says `1h`) or the deployment says so; none when the
    /// deployment turned the cache off.
    pub fn for_agent(self, ttl: CacheTtl) -> PromptCache {
        match (self, ttl) {
            (PromptCache::FiveMinutes, CacheTtl::OneHour) => PromptCache::OneHour,
            (cache, _) => cache,
        }
    }

    fn control(self) -> Option<CacheControl> {
        let ttl = match self {
            PromptCache::Off => return None,
            PromptCache::FiveMinutes => None,
            PromptCache::OneHour => Some(CacheTtlValue::OneHour),
        };
        Some(CacheControl {
            kind: CacheKind::Ephemeral,
            ttl,
        })
    }
}

/// The variable choosing the prompt cache: `5m` (the default), `1h` or `off`.
pub const PROMPT_CACHE_ENV: &str = "ANTHROPIC_PROMPT_CACHE";

/// The prompt cache from [`PROMPT_CACHE_ENV`].
pub fn prompt_cache_from_env() -> Result<PromptCache, ProviderConfigError> {
    match env_var(PROMPT_CACHE_ENV).as_deref().map(str::trim) {
        None | Some("5m") => Ok(PromptCache::FiveMinutes),
        Some("1h") => Ok(PromptCache::OneHour),
        Some("off") => Ok(PromptCache::Off),
        Some(other) => Err(ProviderConfigError::InvalidEnv {
            variable: PROMPT_CACHE_ENV,
            message: format!("`{other}`: expected `5m`, `1h` or `off`"),
        }),
    }
}

/// The most cache breakpoints one request may carry (the API refuses a fifth).
pub const MAX_CACHE_BREAKPOINTS: usize = 4;

/// The shortest prefix the model caches, in tokens: a breakpoint before it is ignored by the API
/// (no error, no saving), so none is placed there. From the prompt-caching guide's table: 4,096
/// for Claude Opus 4.5 and Haiku 4.5, 2,048 for the Haiku 3 models, 1,024 for the others.
pub fn min_cacheable_tokens(model: &str) -> usize {
    let m = model.to_ascii_lowercase();
    if m.contains("haiku-4-5") || m.contains("opus-4-5") || m.contains("opus-4-6") {
        4096
    } else if m.contains("haiku") {
        2048
    } else {
        1024
    }
}

/// One message of the request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnthropicMessage {
    /// `user` or `assistant`.
    pub role: String,
    /// Its blocks.
    pub content: Vec<AnthropicBlock>,
}

/// A content block, in a request or a response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AnthropicBlock {
    /// Text.
    Text {
        /// The text.
        text: String,
        /// A cache breakpoint after this block (requests only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_control: Option<CacheControl>,
    },
    /// A tool call.
    ToolUse {
        /// The call id (`toolu_…`).
        id: String,
        /// The tool.
        name: String,
        /// Its input.
        #[serde(default)]
        input: Value,
        /// A cache breakpoint after this block (requests only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_control: Option<CacheControl>,
    },
    /// A tool's result.
    ToolResult {
        /// The call it answers.
        tool_use_id: String,
        /// The result text.
        content: String,
        /// Whether the tool failed.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        is_error: bool,
        /// A cache breakpoint after this block.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_control: Option<CacheControl>,
    },
    /// Blocks this adapter does not use (`thinking`, `server_tool_use`, …).
    #[serde(other)]
    Other,
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnthropicTool {
    /// Its name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// The JSON Schema of its input.
    pub input_schema: Value,
    /// A cache breakpoint after the tools (on the last one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
}

/// The response of `POST /v1/messages`: only the fields we use; others are ignored.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MessagesResponse {
    /// The message id (`msg_…`).
    #[serde(default)]
    pub id: String,
    /// The model that answered.
    #[serde(default)]
    pub model: String,
    /// The content blocks; absent only in a body that is not a Messages reply.
    #[serde(default)]
    pub content: Option<Vec<AnthropicBlock>>,
    /// `end_turn`, `tool_use`, `max_tokens`, `stop_sequence`, `pause_turn`, `refusal`, …
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// Token counts.
    #[serde(default)]
    pub usage: AnthropicUsage,
}

/// Token counts; cache reads and writes are input tokens too.
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize)]
pub struct AnthropicUsage {
    /// Uncached input tokens.
    #[serde(default, deserialize_with = "lenient_count")]
    pub input_tokens: u64,
    /// Output tokens.
    #[serde(default, deserialize_with = "lenient_count")]
    pub output_tokens: u64,
    /// Input tokens written to the cache.
    #[serde(default, deserialize_with = "lenient_optional_count")]
    pub cache_creation_input_tokens: Option<u64>,
    /// Input tokens read from the cache.
    #[serde(default, deserialize_with = "lenient_optional_count")]
    pub cache_read_input_tokens: Option<u64>,
    /// The cache writes by lifetime (`ephemeral_5m_input_tokens`, `ephemeral_1h_input_tokens`),
    /// which sum to `cache_creation_input_tokens`.
    #[serde(default, deserialize_with = "lenient_cache_creation")]
    pub cache_creation: CacheCreation,
}

/// `usage.cache_creation`: the cache writes by lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize)]
pub struct CacheCreation {
    /// Tokens written with the five-minute lifetime.
    #[serde(default, deserialize_with = "lenient_count")]
    pub ephemeral_5m_input_tokens: u64,
    /// Tokens written with the one-hour lifetime (priced at twice the input price).
    #[serde(default, deserialize_with = "lenient_count")]
    pub ephemeral_1h_input_tokens: u64,
}

/// `cache_creation` read leniently: `null` or another shape reads as no breakdown.
fn lenient_cache_creation<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<CacheCreation, D::Error> {
    let value = Value::deserialize(d)?;
    Ok(serde_json::from_value(value).unwrap_or_default())
}

/// Converts a neutral request to the Messages API body, with the default prompt cache
/// ([`PromptCache::FiveMinutes`]).
pub fn to_request(request: &ChatRequest) -> MessagesRequest {
    to_request_with(request, PromptCache::default())
}

/// Converts a neutral request to the Messages API body, with cache breakpoints by `cache`.
///
/// A ReAct loop resends the same tools, system prompt and growing history every turn; cached,
/// that prefix costs a tenth of the input price. The breakpoints, at most three of the four the
/// API allows, each only where the prefix before it reaches [`min_cacheable_tokens`]:
///
/// 1. after the tools and the system prompt (on the system block, else on the last tool): the
///    part every conversation of the agent shares;
/// 2. after the last message (this turn's question or tool results): written now, read by the
///    next turn, so the breakpoint moves forward with the conversation;
/// 3. after the user message before it, where the previous turn wrote its entry: an exact hit,
///    even when the new turn adds more than the 20 blocks the API looks back from a breakpoint.
pub fn to_request_with(request: &ChatRequest, cache: PromptCache) -> MessagesRequest {
    let mut messages: Vec<AnthropicMessage> =
        normalized_messages(&request.messages, Provider::Anthropic)
            .iter()
            .map(|m| AnthropicMessage {
                role: match m.role {
                    Role::User => "user".to_string(),
                    Role::Assistant => "assistant".to_string(),
                },
                content: m.content.iter().map(to_block).collect(),
            })
            .collect();
    let mut tools: Vec<AnthropicTool> = request
        .tools
        .iter()
        .map(|t| AnthropicTool {
            name: t.name.clone(),
            description: t.description.clone(),
            input_schema: t.input_schema.clone(),
            cache_control: None,
        })
        .collect();
    let system_text = Some(request.system.clone()).filter(|s| !s.trim().is_empty());
    let mut system = system_text.clone().map(SystemPrompt::Text);
    if let Some(control) = cache.control() {
        let minimum = min_cacheable_tokens(&request.model);
        let mut bytes: usize = request
            .tools
            .iter()
            .map(|t| t.name.len() + t.description.len() + schema_bytes(&t.input_schema))
            .sum::<usize>()
            + request.system.len();
        let mut placed = 0usize;
        if estimated_tokens(bytes) >= minimum {
            if let Some(text) = system_text {
                system = Some(SystemPrompt::Blocks(vec![AnthropicBlock::Text {
                    text,
                    cache_control: Some(control),
                }]));
                placed += 1;
            } else if let Some(last) = tools.last_mut() {
                last.cache_control = Some(control);
                placed += 1;
            }
        }
        // The prefix size through each message, to find the user messages worth a breakpoint.
        let mut through: Vec<usize> = Vec::with_capacity(messages.len());
        for message in &messages {
            bytes += message.content.iter().map(block_bytes).sum::<usize>();
            through.push(bytes);
        }
        let users: Vec<usize> = (0..messages.len())
            .rev()
            .filter(|i| messages[*i].role == "user")
            .take(2)
            .collect();
        for index in users {
            if placed >= MAX_CACHE_BREAKPOINTS || estimated_tokens(through[index]) < minimum {
                continue;
            }
            if let Some(block) = messages[index].content.last_mut() {
                set_cache_control(block, control);
                placed += 1;
            }
        }
    }
    MessagesRequest {
        model: request.model.clone(),
        max_tokens: request.max_tokens,
        system,
        messages,
        tools,
        temperature: request.temperature,
    }
}

fn block_bytes(block: &AnthropicBlock) -> usize {
    match block {
        AnthropicBlock::Text { text, .. } => text.len(),
        AnthropicBlock::ToolUse { name, input, .. } => name.len() + schema_bytes(input) + 40,
        AnthropicBlock::ToolResult { content, .. } => content.len() + 40,
        AnthropicBlock::Other => 0,
    }
}

fn set_cache_control(block: &mut AnthropicBlock, control: CacheControl) {
    match block {
        AnthropicBlock::Text { cache_control, .. }
        | AnthropicBlock::ToolUse { cache_control, .. }
        | AnthropicBlock::ToolResult { cache_control, .. } => *cache_control = Some(control),
        AnthropicBlock::Other => {}
    }
}

fn to_block(block: &ContentBlock) -> AnthropicBlock {
    match block {
        ContentBlock::Text { text, .. } => AnthropicBlock::Text {
            text: text.clone(),
            cache_control: None,
        },
        ContentBlock::ToolUse {
            id, name, input, ..
        } => AnthropicBlock::ToolUse {
            id: portable_tool_id(id),
            name: name.clone(),
            input: input_as_object(input),
            cache_control: None,
        },
        ContentBlock::ToolResult {
            tool_use_id,
            content,
            is_error,
        } => AnthropicBlock::ToolResult {
            tool_use_id: portable_tool_id(tool_use_id),
            content: content.clone(),
            is_error: *is_error,
            cache_control: None,
        },
    }
}

/// The text given as the answer when the model refused and wrote nothing (`stop_reason`
/// `refusal`), so the user reads why the answer is empty.
pub const REFUSAL_TEXT: &str = "The model declined to answer this request (stop_reason: refusal).";

/// Converts a Messages API response to the neutral response.
///
/// - Text blocks that follow each other are one text: with citations (web search, documents) the
///   API splits a sentence into several blocks, each with its own `citations`, meant to be read
///   back to back.
/// - Blocks that are not text or `tool_use` (`thinking`, `redacted_thinking`, `server_tool_use`,
///   `web_search_tool_result`, `code_execution_tool_result`, `mcp_tool_use`, …) are not part of
///   the answer and are left out; a text on either side of them stays a separate block.
/// - `stop_reason`: `max_tokens` and `model_context_window_exceeded` → `MaxTokens` (even with a
///   cut-short tool call: the handler decides what to do with the calls); `tool_use` (or any
///   other stop with a tool call) → `ToolUse`; `pause_turn` (a server tool's long turn was
///   paused; the text so far is incomplete) → `MaxTokens`; `end_turn`, `stop_sequence`,
///   `refusal` and anything new → `EndTurn`. A refusal with no text gets [`REFUSAL_TEXT`].
pub fn from_response(response: MessagesResponse) -> ChatResponse {
    let mut content: Vec<ContentBlock> = Vec::new();
    let mut after_text = false;
    for block in response.content.unwrap_or_default() {
        match block {
            AnthropicBlock::Text { text, .. } => {
                match content.last_mut() {
                    Some(ContentBlock::Text { text: previous, .. }) if after_text => {
                        previous.push_str(&text)
                    }
                    _ => content.push(ContentBlock::text(text)),
                }
                after_text = true;
            }
            AnthropicBlock::ToolUse {
                id, name, input, ..
            } => {
                // A tool without parameters may come with no `input` at all.
                let input = if input.is_null() {
                    Value::Object(Default::default())
                } else {
                    input
                };
                content.push(ContentBlock::tool_use(id, name, input));
                after_text = false;
            }
            AnthropicBlock::ToolResult { .. } | AnthropicBlock::Other => after_text = false,
        }
    }
    content.retain(|b| !matches!(b, ContentBlock::Text { text, .. } if text.is_empty()));
    let has_tool_use = content
        .iter()
        .any(|b| matches!(b, ContentBlock::ToolUse { .. }));
    let stop_reason = match response.stop_reason.as_deref() {
        Some("max_tokens") | Some("model_context_window_exceeded") => StopReason::MaxTokens,
        _ if has_tool_use => StopReason::ToolUse,
        Some("pause_turn") => StopReason::MaxTokens,
        _ => StopReason::EndTurn,
    };
    if response.stop_reason.as_deref() == Some("refusal")
        && !content
            .iter()
            .any(|b| matches!(b, ContentBlock::Text { text, .. } if !text.trim().is_empty()))
    {
        content.push(ContentBlock::Text {
            text: REFUSAL_TEXT.to_string(),
            extra: None,
        });
    }
    unique_tool_ids(&mut content);
    let usage = response.usage;
    let p = Provider::Anthropic;
    // `input_tokens` leaves the cache reads and writes out: the prompt is the sum of the three.
    let read = plausible_tokens(
        p,
        "cache_read_input_tokens",
        usage.cache_read_input_tokens.unwrap_or(0),
    );
    let write = plausible_tokens(
        p,
        "cache_creation_input_tokens",
        usage.cache_creation_input_tokens.unwrap_or(0),
    );
    let input_tokens = token_sum(
        p,
        &[
            ("input_tokens", usage.input_tokens),
            ("cache_creation_input_tokens", write),
            ("cache_read_input_tokens", read),
        ],
    );
    ChatResponse {
        message: Message {
            role: Role::Assistant,
            content,
        },
        stop_reason,
        input_tokens,
        cache: CacheTokens {
            read,
            write,
            write_1h: plausible_tokens(
                p,
                "ephemeral_1h_input_tokens",
                usage.cache_creation.ephemeral_1h_input_tokens,
            ),
        }
        .within(input_tokens),
        output_tokens: token_sum(p, &[("output_tokens", usage.output_tokens)]),
        model: response.model,
    }
}

/// Parses a Messages API response body (JSON text) to the neutral response.
pub fn from_response_json(body: &str) -> Result<ChatResponse, LlmError> {
    let response = serde_json::from_str::<MessagesResponse>(body)
        .map_err(|e| shape_error(Provider::Anthropic, 200, e))?;
    if response.content.is_none() {
        return Err(not_the_reply_of(Provider::Anthropic, 200, body));
    }
    Ok(from_response(response))
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorObject,
}

#[derive(Deserialize)]
struct ErrorObject {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    message: String,
}

/// The HTTP status the errors page gives each error type, for an error body that came with
/// another status (a proxy's 200).
fn status_for_error_type(kind: &str) -> u16 {
    match kind {
        "authentication_error" => 401,
        "billing_error" => 402,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "api_error" => 500,
        "timeout_error" => 504,
        "overloaded_error" => 529,
        _ => 400,
    }
}

/// Maps an error status and body (`{"type":"error","error":{…},"request_id"}`) to an
/// [`LlmError`], by the types of <https://docs.anthropic.com/en/api/errors>:
/// `invalid_request_error` (400; "prompt is too long" → context), `authentication_error` (401),
/// `billing_error` (402) and a 400 about the credit balance → `LLM.AuthFailed` (a retry cannot
/// help: the account needs credit), `permission_error` (403), `not_found_error` (404, an unknown
/// model), `request_too_large` (413 → context), `rate_limit_error` (429), `api_error` (500),
/// `timeout_error` (504), `overloaded_error` (529, sometimes with another status).
pub fn error_from_status(status: u16, retry_after_seconds: Option<u64>, body: &str) -> LlmError {
    let (kind, message) = match serde_json::from_str::<ErrorBody>(body) {
        Ok(b) => (b.error.kind, b.error.message),
        Err(_) => (String::new(), body_excerpt(body)),
    };
    let shown = if kind.is_empty() {
        message.clone()
    } else {
        format!("{kind}: {message}")
    };
    let shown = if kind == "billing_error"
        || message.to_ascii_lowercase().contains("credit balance")
    {
        format!(
            "{shown} (a billing problem of the account behind the key: add credit or use another key)"
        )
    } else {
        shown
    };
    classify_http_error(
        Provider::Anthropic,
        status,
        retry_after_seconds,
        ErrorDetail {
            message: shown,
            context_too_long: (status == 400 || kind == "invalid_request_error")
                && mentions_context_too_long(&message),
            auth_failed: kind == "authentication_error"
                || kind == "permission_error"
                || kind == "billing_error"
                || message.to_ascii_lowercase().contains("credit balance"),
            overloaded: kind == "overloaded_error",
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn blocks_we_do_not_use_are_skipped() {
        let body = json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
            "content": [
                {"type": "thinking", "thinking": "Let me think.", "signature": "EqQBCgIYAhIM"},
                {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"},
                {"type": "text", "text": "Answer.", "citations": null}
            ],
            "stop_reason": "end_turn", "stop_sequence": null, "container": null,
            "usage": {"input_tokens": 3, "output_tokens": 4, "server_tool_use": {"web_search_requests": 0}}
        });
        let response = from_response_json(&body.to_string());
        assert!(
            matches!(&response, Ok(r) if r.message.content == vec![ContentBlock::text("Answer.")]),
            "{response:?}"
        );
    }
}
