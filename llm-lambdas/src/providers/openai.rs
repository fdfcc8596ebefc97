//! OpenAI's Chat Completions API (`POST {base}/chat/completions`), and any OpenAI-compatible
//! server by base URL: DeepSeek, xAI, Groq, Ollama, vLLM, LMDeploy, BentoML.
//!
//! Shapes follow <https://platform.openai.com/docs/api-reference/chat/create>: `tools` of type
//! `function`, `choices[].message.tool_calls[].function.arguments` as a JSON **string**, tool
//! results as `role: "tool"` messages with `tool_call_id`, and errors as
//! `{"error": {"message", "type", "param", "code"}}`.
//!
//! Arguments that are not valid JSON stay a JSON string in the neutral `input` (the handler
//! turns them into an error result for the model), and go back verbatim as `arguments` when the
//! history is replayed. Some compatible servers send `arguments` as an object: taken as is.

use std::time::Duration;

use agent_builder::{ContentBlock, Message, Provider, Role, StopReason};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::classify::{
    ErrorDetail, body_excerpt, classify_http_error, mentions_context_too_long, not_the_reply_of,
    parse_body, shape_error,
};
use super::config::{ProviderConfigError, api_key_from_env, env_var, timeout_from_env};
use super::history::{normalized_messages, stable_tool_call_id};
use super::http_model::{HttpApi, HttpModel, request_error};
use super::key::ApiKey;
use super::reply::{lenient_count, plausible_tokens, unique_tool_ids};
use super::transport::RawReply;
use crate::error::LlmError;
use crate::model::{CacheTokens, ChatRequest, ChatResponse};

/// The real API (with its `/v1`).
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// The variable that overrides the base URL: an OpenAI-compatible server
/// (`http://localhost:11434/v1` for Ollama, `https://api.deepseek.com/v1`, …).
pub const BASE_URL_ENV: &str = "OPENAI_BASE_URL";
/// The variable that holds the API key for local runs.
pub const API_KEY_ENV: &str = "OPENAI_API_KEY";
/// The variable naming the request field for the reply limit: `max_completion_tokens` (OpenAI's
/// current name, the default for api.openai.com) or `max_tokens` (what most compatible servers
/// read, the default for any other base URL).
pub const MAX_TOKENS_FIELD_ENV: &str = "OPENAI_MAX_TOKENS_FIELD";

/// The variable choosing the API the OpenAI adapter speaks: `responses` (the default for
/// api.openai.com) or `chat` (Chat Completions, the default for any other base URL).
pub const API_ENV: &str = "OPENAI_API";

/// The base URL from [`BASE_URL_ENV`], or [`DEFAULT_BASE_URL`].
pub fn base_url_from_env() -> String {
    env_var(BASE_URL_ENV).unwrap_or_else(|| DEFAULT_BASE_URL.to_string())
}

/// Which of OpenAI's APIs the OpenAI adapter speaks.
///
/// Decision: the API is a property of the server behind the base URL, not of the agent (the same
/// agent runs on api.openai.com and on a local Ollama), so it is chosen with the base URL, in
/// the OpenAI Lambda's (or the local run's) environment. OpenAI's own API gets the Responses API,
/// the one OpenAI recommends, whose reasoning items the adapter keeps between turns; any other
/// base URL gets Chat Completions, the API every compatible server implements (only some
/// implement `/responses`). [`API_ENV`] overrides either default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenAiApi {
    /// `POST {base}/responses` ([`super::openai_responses`]).
    Responses,
    /// `POST {base}/chat/completions` (this module).
    ChatCompletions,
}

impl OpenAiApi {
    /// The default for a base URL: Responses for OpenAI's own API, Chat Completions otherwise.
    pub fn for_base_url(base_url: &str) -> Self {
        if base_url.contains("api.openai.com") {
            OpenAiApi::Responses
        } else {
            OpenAiApi::ChatCompletions
        }
    }

    /// [`API_ENV`] when it is set (`responses` or `chat`; anything else is an error naming the
    /// variable), else the default for `base_url`.
    pub fn from_env(base_url: &str) -> Result<Self, ProviderConfigError> {
        match env_var(API_ENV).as_deref().map(str::trim) {
            None => Ok(Self::for_base_url(base_url)),
            Some("responses") => Ok(OpenAiApi::Responses),
            Some("chat") => Ok(OpenAiApi::ChatCompletions),
            Some(other) => Err(ProviderConfigError::InvalidEnv {
                variable: API_ENV,
                message: format!("`{other}`: expected `responses` or `chat`"),
            }),
        }
    }
}

/// The key from [`API_KEY_ENV`]; a missing one is fine for a base URL other than OpenAI's (a
/// local server needs none: an empty key sends no `Authorization`), a malformed one never is.
pub(crate) fn api_key_for(base_url: &str) -> Result<ApiKey, ProviderConfigError> {
    match api_key_from_env(API_KEY_ENV, "an OpenAI (or compatible server's) API key") {
        Ok(key) => Ok(key),
        Err(ProviderConfigError::MissingEnv { .. }) if base_url != DEFAULT_BASE_URL => {
            Ok(ApiKey::new(""))
        }
        Err(e) => Err(e),
    }
}

/// The request with the bearer key, or without `Authorization` for an empty key.
pub(crate) fn bearer(http: reqwest::RequestBuilder, key: &ApiKey) -> reqwest::RequestBuilder {
    if key.expose().is_empty() {
        http
    } else {
        http.bearer_auth(key.expose())
    }
}

/// Which field carries the reply limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxTokensField {
    /// `max_completion_tokens`: OpenAI's current field (required by its reasoning models).
    MaxCompletionTokens,
    /// `max_tokens`: the older field, which compatible servers read.
    MaxTokens,
}

impl MaxTokensField {
    /// The default for a base URL: OpenAI's own API takes `max_completion_tokens`.
    pub fn for_base_url(base_url: &str) -> Self {
        if base_url.contains("api.openai.com") {
            MaxTokensField::MaxCompletionTokens
        } else {
            MaxTokensField::MaxTokens
        }
    }
}

/// A model behind the Chat Completions API: the [`HttpModel`] speaking [`ChatCompletions`].
pub type OpenAiModel = HttpModel<ChatCompletions>;

/// OpenAI's Chat Completions API (and every compatible server's), as an [`HttpApi`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChatCompletions {
    /// Which field carries the reply limit.
    pub max_tokens_field: MaxTokensField,
}

impl OpenAiModel {
    /// An adapter for `base_url` (including `/v1`), with its own HTTP client. An empty key sends
    /// no `Authorization` header (local servers such as Ollama need none).
    pub fn new(
        base_url: impl Into<String>,
        api_key: ApiKey,
        timeout: Duration,
    ) -> Result<Self, ProviderConfigError> {
        let base_url = base_url.into().trim_end_matches('/').to_string();
        HttpModel::with_api(
            ChatCompletions {
                max_tokens_field: MaxTokensField::for_base_url(&base_url),
            },
            base_url,
            api_key,
            timeout,
        )
    }

    /// The same adapter sending the reply limit in `field`.
    pub fn with_max_tokens_field(mut self, field: MaxTokensField) -> Self {
        self.api_mut().max_tokens_field = field;
        self
    }

    /// An adapter configured from `OPENAI_API_KEY`, `OPENAI_BASE_URL`,
    /// `OPENAI_MAX_TOKENS_FIELD` and `LLM_TIMEOUT_SECONDS`. A local server with a base URL
    /// needs no key.
    pub fn from_env() -> Result<Self, ProviderConfigError> {
        let base_url = base_url_from_env();
        let key = api_key_for(&base_url)?;
        Self::new(base_url, key, timeout_from_env()?)?.with_max_tokens_field_from_env()
    }

    /// Applies [`MAX_TOKENS_FIELD_ENV`] when it is set; a value other than the two field names
    /// is an error naming the variable.
    pub fn with_max_tokens_field_from_env(mut self) -> Result<Self, ProviderConfigError> {
        if let Some(field) = env_var(MAX_TOKENS_FIELD_ENV) {
            self.api_mut().max_tokens_field = match field.trim() {
                "max_completion_tokens" => MaxTokensField::MaxCompletionTokens,
                "max_tokens" => MaxTokensField::MaxTokens,
                other => {
                    return Err(ProviderConfigError::InvalidEnv {
                        variable: MAX_TOKENS_FIELD_ENV,
                        message: format!(
                            "`{other}`: expected `max_completion_tokens` or `max_tokens`"
                        ),
                    });
                }
            };
        }
        Ok(self)
    }
}

impl HttpApi for ChatCompletions {
    const PROVIDER: Provider = Provider::OpenAi;

    fn endpoint(&self, base_url: &str, _request: &ChatRequest) -> String {
        format!("{base_url}/chat/completions")
    }

    fn headers(&self, http: reqwest::RequestBuilder, key: &ApiKey) -> reqwest::RequestBuilder {
        bearer(http, key)
    }

    fn body(&self, request: &ChatRequest) -> Result<Vec<u8>, LlmError> {
        serde_json::to_vec(&to_request(request, self.max_tokens_field))
            .map_err(|e| request_error(Provider::OpenAi, e))
    }

    fn response(&self, reply: &RawReply, _request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let response: CompletionResponse = parse_body(Provider::OpenAi, reply)?;
        if response.choices.is_empty() {
            return Err(not_the_reply_of(
                Provider::OpenAi,
                reply.status,
                &reply.body,
            ));
        }
        from_response(response)
    }

    fn error(&self, reply: &RawReply, in_success: Option<&Value>) -> LlmError {
        reply_error(reply, in_success)
    }
}

/// The request body of `POST /chat/completions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompletionRequest {
    /// The model id.
    pub model: String,
    /// The conversation, system prompt first.
    pub messages: Vec<OpenAiMessage>,
    /// The tools.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<OpenAiTool>,
    /// The reply limit, OpenAI's current field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u32>,
    /// The reply limit, the older field compatible servers read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
}

/// One message of the request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenAiMessage {
    /// `system`, `user`, `assistant` or `tool`.
    pub role: String,
    /// The text; `null` for an assistant message with only tool calls.
    pub content: Option<String>,
    /// The assistant's tool calls.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<OpenAiToolCall>,
    /// The call a `tool` message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

/// A tool call, in a request's history or a response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenAiToolCall {
    /// The call id (`call_…`).
    #[serde(default)]
    pub id: String,
    /// Always `function`.
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    /// The function and its arguments.
    pub function: OpenAiFunctionCall,
}

fn function_type() -> String {
    "function".to_string()
}

/// The function of a tool call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenAiFunctionCall {
    /// The tool's name.
    pub name: String,
    /// The arguments: a JSON string from OpenAI; an object from some compatible servers.
    #[serde(default)]
    pub arguments: Value,
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenAiTool {
    /// Always `function`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The function.
    pub function: OpenAiFunction,
}

/// A function declaration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenAiFunction {
    /// Its name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// The JSON Schema of its arguments.
    pub parameters: Value,
}

/// The response of `POST /chat/completions`: only the fields we use.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CompletionResponse {
    /// The model that answered.
    #[serde(default)]
    pub model: String,
    /// The choices; we ask for one.
    #[serde(default)]
    pub choices: Vec<Choice>,
    /// Token counts.
    #[serde(default)]
    pub usage: Option<OpenAiUsage>,
}

/// One choice.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Choice {
    /// The assistant's message.
    #[serde(default)]
    pub message: ResponseMessage,
    /// `stop`, `length`, `tool_calls`, `content_filter`, …
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// The assistant's message in a choice. Other fields (`annotations`, `audio`,
/// `reasoning_content` of DeepSeek, `reasoning` of Ollama/vLLM/OpenRouter, …) are not part of
/// the answer and are ignored.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct ResponseMessage {
    /// The text, or `null` (an array of text parts from some compatible servers is joined).
    #[serde(default, deserialize_with = "text_or_parts")]
    pub content: Option<String>,
    /// A refusal, when the model refused.
    #[serde(default)]
    pub refusal: Option<String>,
    /// The tool calls. A call of another kind than `function` (GPT-5's `custom` tools, with
    /// `custom {name, input}`) becomes a call whose arguments are its raw input; an entry that is
    /// neither is skipped rather than failing the whole reply.
    #[serde(default, deserialize_with = "lenient_tool_calls")]
    pub tool_calls: Option<Vec<OpenAiToolCall>>,
    /// The deprecated single function call (`finish_reason: "function_call"`), still sent by
    /// some compatible servers.
    #[serde(default)]
    pub function_call: Option<OpenAiFunctionCall>,
}

fn lenient_tool_calls<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<OpenAiToolCall>>, D::Error> {
    let Value::Array(items) = Value::deserialize(d)? else {
        return Ok(None);
    };
    Ok(Some(
        items
            .into_iter()
            .filter_map(|item| {
                if let Some(custom) = item
                    .get("custom")
                    .filter(|_| item.get("function").is_none())
                {
                    return Some(OpenAiToolCall {
                        id: item
                            .get("id")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                        kind: function_type(),
                        function: OpenAiFunctionCall {
                            name: custom.get("name")?.as_str()?.to_string(),
                            arguments: custom.get("input").cloned().unwrap_or(Value::Null),
                        },
                    });
                }
                serde_json::from_value::<OpenAiToolCall>(item).ok()
            })
            .collect(),
    ))
}

fn text_or_parts<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        Value::Array(parts) => Some(
            parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(""),
        ),
        _ => None,
    })
}

/// Token counts. `prompt_tokens` includes the cached tokens of `prompt_tokens_details`, and
/// `completion_tokens` the reasoning tokens of `completion_tokens_details`; a compatible server
/// that sends `null` counts is read as 0.
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize)]
pub struct OpenAiUsage {
    /// Input tokens.
    #[serde(default, deserialize_with = "lenient_count")]
    pub prompt_tokens: u64,
    /// Output tokens (reasoning included).
    #[serde(default, deserialize_with = "lenient_count")]
    pub completion_tokens: u64,
    /// Details of the input tokens: how many the prompt cache served.
    #[serde(default, deserialize_with = "lenient_details")]
    pub prompt_tokens_details: PromptTokensDetails,
    /// DeepSeek's name for the cached input tokens (it sends no `prompt_tokens_details`).
    #[serde(default, deserialize_with = "lenient_count")]
    pub prompt_cache_hit_tokens: u64,
}

/// `usage.prompt_tokens_details`
/// (<https://platform.openai.com/docs/api-reference/chat/object#chat/object-usage>).
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize)]
pub struct PromptTokensDetails {
    /// Input tokens read from OpenAI's automatic prompt cache (part of `prompt_tokens`).
    #[serde(default, deserialize_with = "lenient_count")]
    pub cached_tokens: u64,
}

/// `prompt_tokens_details` read leniently: `null` or another shape (some compatible servers
/// send `null`) reads as no details.
fn lenient_details<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<PromptTokensDetails, D::Error> {
    let value = Value::deserialize(d)?;
    Ok(serde_json::from_value(value).unwrap_or_default())
}

/// Converts a neutral request to the Chat Completions body.
pub fn to_request(request: &ChatRequest, max_tokens_field: MaxTokensField) -> CompletionRequest {
    let mut messages = Vec::with_capacity(request.messages.len() + 1);
    if !request.system.trim().is_empty() {
        messages.push(text_message("system", request.system.clone()));
    }
    for message in normalized_messages(&request.messages, Provider::OpenAi).iter() {
        match message.role {
            Role::User => push_user(&mut messages, message),
            Role::Assistant => push_assistant(&mut messages, message),
        }
    }
    let (max_completion_tokens, max_tokens) = match max_tokens_field {
        MaxTokensField::MaxCompletionTokens => (Some(request.max_tokens), None),
        MaxTokensField::MaxTokens => (None, Some(request.max_tokens)),
    };
    CompletionRequest {
        model: request.model.clone(),
        messages,
        tools: request
            .tools
            .iter()
            .map(|t| OpenAiTool {
                kind: "function".to_string(),
                function: OpenAiFunction {
                    name: t.name.clone(),
                    description: t.description.clone(),
                    parameters: t.input_schema.clone(),
                },
            })
            .collect(),
        max_completion_tokens,
        max_tokens,
        temperature: request
            .temperature
            .filter(|_| takes_temperature(&request.model)),
    }
}

/// Whether the model accepts `temperature`: OpenAI's reasoning models (`o1`, `o3`, `o4-mini`,
/// `gpt-5`, `gpt-5-mini`, `gpt-5-nano`) answer 400 "Unsupported parameter: 'temperature'" (or
/// "Only the default (1) value is supported"), so it is left out for them rather than failing
/// every call. A provider prefix (`openai/gpt-5` on a gateway) is ignored.
pub fn takes_temperature(model: &str) -> bool {
    let name = model
        .rsplit('/')
        .next()
        .unwrap_or(model)
        .to_ascii_lowercase();
    let o_series = ["o1", "o3", "o4"].iter().any(|prefix| {
        name.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
    });
    let gpt5_reasoning = name
        .strip_prefix("gpt-5")
        .is_some_and(|rest| (rest.is_empty() || rest.starts_with('-')) && !rest.contains("chat"));
    !(o_series || gpt5_reasoning)
}

fn text_message(role: &str, text: String) -> OpenAiMessage {
    OpenAiMessage {
        role: role.to_string(),
        content: Some(text),
        tool_calls: Vec::new(),
        tool_call_id: None,
    }
}

/// Tool results become `tool` messages (first, as OpenAI wants them right after the calls);
/// text becomes one `user` message. An error result is marked in its text, since the API has no
/// error flag.
fn push_user(messages: &mut Vec<OpenAiMessage>, message: &Message) {
    let mut texts = Vec::new();
    for block in &message.content {
        match block {
            ContentBlock::ToolResult {
                tool_use_id,
                content,
                is_error,
            } => messages.push(OpenAiMessage {
                role: "tool".to_string(),
                content: Some(if *is_error {
                    format!("{ERROR_MARK}{content}")
                } else {
                    content.clone()
                }),
                tool_calls: Vec::new(),
                tool_call_id: Some(tool_use_id.clone()),
            }),
            ContentBlock::Text { text, .. } if !text.trim().is_empty() => texts.push(text.as_str()),
            ContentBlock::Text { .. } | ContentBlock::ToolUse { .. } => {}
        }
    }
    if !texts.is_empty() {
        messages.push(text_message("user", texts.join("\n")));
    }
}

/// What an error tool result starts with, since Chat Completions has no `is_error`.
pub const ERROR_MARK: &str = "Error: ";

fn push_assistant(messages: &mut Vec<OpenAiMessage>, message: &Message) {
    let text = message.text();
    let tool_calls: Vec<OpenAiToolCall> = message
        .content
        .iter()
        .filter_map(|b| match b {
            ContentBlock::ToolUse {
                id, name, input, ..
            } => Some(OpenAiToolCall {
                id: id.clone(),
                kind: "function".to_string(),
                function: OpenAiFunctionCall {
                    name: name.clone(),
                    arguments: Value::String(match input {
                        // Malformed arguments go back exactly as the model wrote them.
                        Value::String(raw) => raw.clone(),
                        other => other.to_string(),
                    }),
                },
            }),
            _ => None,
        })
        .collect();
    if text.trim().is_empty() && tool_calls.is_empty() {
        return;
    }
    messages.push(OpenAiMessage {
        role: "assistant".to_string(),
        content: Some(text).filter(|t| !t.trim().is_empty()),
        tool_calls,
        tool_call_id: None,
    });
}

/// Converts a Chat Completions response to the neutral response.
pub fn from_response(response: CompletionResponse) -> Result<ChatResponse, LlmError> {
    let choice = response
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| shape_error(Provider::OpenAi, 200, "no choices"))?;
    let mut content = Vec::new();
    let text = choice
        .message
        .content
        .map(|t| without_think_block(&t).to_string())
        .filter(|t| !t.trim().is_empty())
        .or(choice.message.refusal.filter(|t| !t.trim().is_empty()));
    if let Some(text) = text {
        content.push(ContentBlock::text(text));
    }
    let mut calls = choice.message.tool_calls.unwrap_or_default();
    if calls.is_empty()
        && let Some(function) = choice.message.function_call
    {
        calls.push(OpenAiToolCall {
            id: String::new(),
            kind: function_type(),
            function,
        });
    }
    for (position, call) in calls.into_iter().enumerate() {
        let input = parse_arguments(call.function.arguments);
        let id = if call.id.is_empty() {
            stable_tool_call_id("call", position, &call.function.name, &input)
        } else {
            call.id
        };
        content.push(ContentBlock::ToolUse {
            id,
            name: call.function.name,
            input,
            extra: None,
        });
    }
    let has_tool_use = content
        .iter()
        .any(|b| matches!(b, ContentBlock::ToolUse { .. }));
    let stop_reason = match choice.finish_reason.as_deref() {
        Some("length") | Some("max_tokens") | Some("model_length") => StopReason::MaxTokens,
        // Some compatible servers (Ollama, older vLLM) say `stop` with tool calls: the calls
        // decide.
        _ if has_tool_use => StopReason::ToolUse,
        _ => StopReason::EndTurn,
    };
    if choice.finish_reason.as_deref() == Some("content_filter")
        && !content
            .iter()
            .any(|b| matches!(b, ContentBlock::Text { text, .. } if !text.trim().is_empty()))
    {
        content.push(ContentBlock::Text {
            text: CONTENT_FILTER_TEXT.to_string(),
            extra: None,
        });
    }
    unique_tool_ids(&mut content);
    let usage = response.usage.unwrap_or_default();
    let p = Provider::OpenAi;
    // `prompt_tokens` counts the cached tokens in; so does DeepSeek's.
    let input_tokens = plausible_tokens(p, "prompt_tokens", usage.prompt_tokens);
    let cached = usage
        .prompt_tokens_details
        .cached_tokens
        .max(usage.prompt_cache_hit_tokens);
    Ok(ChatResponse {
        message: Message {
            role: Role::Assistant,
            content,
        },
        stop_reason,
        input_tokens,
        output_tokens: plausible_tokens(p, "completion_tokens", usage.completion_tokens),
        cache: CacheTokens {
            read: plausible_tokens(p, "cached_tokens", cached),
            ..CacheTokens::default()
        }
        .within(input_tokens),
        model: response.model,
    })
}

/// The answer without a leading `<think>…</think>` block: reasoning models served without a
/// reasoning parser (DeepSeek-R1, Qwen3 and QwQ on Ollama, vLLM or LM Studio) write their thinking
/// there, in `content`, before the answer. An unclosed block is left as it is.
fn without_think_block(text: &str) -> &str {
    let trimmed = text.trim_start();
    let Some(rest) = trimmed.strip_prefix("<think>") else {
        return text;
    };
    match rest.find("</think>") {
        Some(end) => rest[end + "</think>".len()..].trim_start(),
        None => text,
    }
}

/// The text given as the answer when the provider's content filter removed it all
/// (`finish_reason: "content_filter"` and no content), so the user reads why it is empty.
pub const CONTENT_FILTER_TEXT: &str =
    "The provider's content filter withheld the answer (finish_reason: content_filter).";

/// The arguments as JSON: a string is parsed (a JSON string holding a JSON object, which some
/// models write, is that object), an object is taken as is, `"null"` and a missing `arguments`
/// mean no arguments (Groq writes `"null"` for a call of a tool without parameters).
///
/// Anything else stays the raw string, for the handler's error result — the empty string
/// included: `""` is what a call cut off at the token limit (`finish_reason: "length"`) carries,
/// and reading it as `{}` would run a tool with input the model never wrote.
pub fn parse_arguments(arguments: Value) -> Value {
    match arguments {
        Value::String(raw) if raw.trim().is_empty() => Value::String(raw),
        Value::String(raw) => match serde_json::from_str::<Value>(&raw) {
            Ok(Value::Null) => Value::Object(Default::default()),
            Ok(Value::String(inner)) => match serde_json::from_str::<Value>(&inner) {
                Ok(object @ Value::Object(_)) => object,
                _ => Value::String(raw),
            },
            Ok(value) => value,
            Err(_) => Value::String(raw),
        },
        Value::Null => Value::Object(Default::default()),
        other => other,
    }
}

/// Parses a Chat Completions response body (JSON text) to the neutral response.
pub fn from_response_json(body: &str) -> Result<ChatResponse, LlmError> {
    serde_json::from_str::<CompletionResponse>(body)
        .map_err(|e| shape_error(Provider::OpenAi, 200, e))
        .and_then(from_response)
}

/// What an error body says, in any of the shapes OpenAI and compatible servers use:
/// `{"error": {"message", "type", "param", "code"}}` (OpenAI, Groq, DeepSeek, xAI; Groq adds
/// `failed_generation`), `{"object": "error", "message", "type", "code": 400}` (vLLM),
/// `{"error": "…"}` (Ollama), `{"detail": "…"}` (FastAPI servers).
pub(crate) struct ErrorFields {
    message: String,
    kind: String,
    code: String,
    numeric_code: Option<u16>,
    failed_generation: Option<String>,
}

impl ErrorFields {
    pub(crate) fn parse(body: &str) -> Self {
        let value: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        let object = match value.get("error") {
            Some(error @ Value::Object(_)) => error.clone(),
            Some(Value::String(message)) => json!({ "message": message }),
            _ => value.clone(),
        };
        let text = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_string);
        let message = text("message")
            .or_else(|| text("detail"))
            .or_else(|| {
                value
                    .get("detail")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .filter(|m| !m.trim().is_empty())
            .unwrap_or_else(|| body_excerpt(body));
        let (code, numeric_code) = match object.get("code") {
            Some(Value::String(code)) => (code.clone(), code.parse::<u16>().ok()),
            Some(Value::Number(n)) => (
                String::new(),
                n.as_u64().and_then(|n| u16::try_from(n).ok()),
            ),
            _ => (String::new(), None),
        };
        Self {
            message,
            kind: text("type").unwrap_or_default(),
            code,
            numeric_code,
            failed_generation: text("failed_generation"),
        }
    }

    /// The status an error body implies when it came with HTTP 200 (a gateway's error, or a
    /// Responses API reply with `status: "failed"`, whose `error.code` is one of
    /// `server_error`, `rate_limit_exceeded`, `invalid_prompt` and the `image_*` codes).
    pub(crate) fn status_hint(&self) -> u16 {
        if let Some(code) = self.numeric_code.filter(|c| (400..600).contains(c)) {
            return code;
        }
        match (self.code.as_str(), self.kind.as_str()) {
            ("rate_limit_exceeded" | "insufficient_quota", _) | (_, "insufficient_quota") => 429,
            ("invalid_api_key", _) | (_, "authentication_error") => 401,
            (_, "invalid_request_error") => 400,
            ("context_length_exceeded" | "invalid_prompt", _) => 400,
            (code, _) if code.contains("image") => 400,
            _ => 500,
        }
    }

    fn is(&self, name: &str) -> bool {
        self.code == name || self.kind == name
    }
}

/// The error of an OpenAI reply (Chat Completions or Responses): by its status, or, for an error
/// in a 200 (OpenRouter, LiteLLM and some proxies answer `{"error": {…}}`; the Responses API a
/// `failed` response), by the status its error fields point to.
pub(super) fn reply_error(reply: &RawReply, in_success: Option<&Value>) -> LlmError {
    let status = match in_success {
        Some(_) => ErrorFields::parse(&reply.body).status_hint(),
        None => reply.status,
    };
    error_from_status(status, reply.retry_after_seconds, &reply.body)
}

/// Maps an error status and body to an [`LlmError`]
/// (<https://platform.openai.com/docs/guides/error-codes>):
///
/// - `context_length_exceeded`, or a 400/413/422 whose message says the input is too long →
///   `LLM.ContextTooLong`;
/// - `insufficient_quota` (a 429 that no retry cures: the account behind the key has no credit
///   or hit its spending limit) and `invalid_api_key` → `LLM.AuthFailed`, whose fix is another
///   key or a billing change;
/// - Groq's `tool_use_failed` (400: the model wrote a tool call the server could not parse, shown
///   in `failed_generation`) → `LLM.ServerError`, retried like Gemini's
///   `MALFORMED_FUNCTION_CALL`, since another sample usually succeeds;
/// - otherwise by status: 429 `LLM.RateLimited`, 503 or an "overloaded" message
///   `LLM.Overloaded`, 5xx `LLM.ServerError`, 401/403 `LLM.AuthFailed`, other 4xx
///   `LLM.BadRequest`.
pub fn error_from_status(status: u16, retry_after_seconds: Option<u64>, body: &str) -> LlmError {
    let fields = ErrorFields::parse(body);
    let mut shown = if fields.code.is_empty() {
        fields.message.clone()
    } else {
        format!("{}: {}", fields.code, fields.message)
    };
    if fields.is("insufficient_quota") {
        shown.push_str(
            " (a billing problem of the account behind the key, not a rate limit: add credit or raise the spending limit, or use another key)",
        );
    }
    if fields.is("tool_use_failed") {
        let generation = fields
            .failed_generation
            .as_deref()
            .map(|g| format!(" The model wrote: {}", body_excerpt(g)))
            .unwrap_or_default();
        return LlmError::ServerError {
            provider: Provider::OpenAi.to_string(),
            status,
            message: format!(
                "the model wrote a tool call the server could not parse (tool_use_failed); a retry usually succeeds: {shown}.{generation}"
            ),
        };
    }
    let lower = fields.message.to_ascii_lowercase();
    classify_http_error(
        Provider::OpenAi,
        status,
        retry_after_seconds,
        ErrorDetail {
            message: shown,
            // llama.cpp: 400 `exceed_context_size_error`.
            context_too_long: fields.is("context_length_exceeded")
                || fields.is("exceed_context_size_error")
                || (matches!(status, 400 | 413 | 422)
                    && mentions_context_too_long(&fields.message)),
            auth_failed: fields.is("invalid_api_key")
                || fields.is("insufficient_quota")
                || fields.kind == "authentication_error",
            overloaded: fields.code.contains("overloaded")
                || (status >= 500 && lower.contains("overloaded")),
        },
    )
}
