//! OpenAI's Responses API (`POST {base}/responses`), the API OpenAI recommends for new work,
//! chosen for api.openai.com by default ([`super::openai::OpenAiApi`]).
//!
//! Shapes follow <https://platform.openai.com/docs/api-reference/responses/create> and the
//! openai-python types (`types/responses/`): the system prompt is `instructions`, the
//! conversation is `input`, a list of items — `message` (`role` `user` or `assistant`, text
//! content), `function_call {call_id, name, arguments}` (arguments a JSON **string**),
//! `function_call_output {call_id, output}`, and `reasoning` items — and `tools` are function
//! tools `{type: "function", name, description, parameters, strict: false}` (`strict: false`:
//! the agents' schemas are not written for strict mode, and the handler validates every call).
//!
//! **Reasoning kept between turns.** The adapter sends `store: false` (nothing is kept on
//! OpenAI's side; the conversation lives in our store) and, for reasoning models,
//! `include: ["reasoning.encrypted_content"]`, so each `reasoning` output item comes with its
//! encrypted content. The items are kept, verbatim and in order, on the block that followed them
//! in the output (`ProviderExtra::reasoning`) and sent back right before that block's item when
//! the history goes to the same model again: a reasoning model then reads its earlier reasoning
//! between tool calls. Other providers never see them. Non-reasoning models reject the `include`
//! (400 "Encrypted content is not supported with this model"), so it is sent only to reasoning
//! models.
//!
//! The reply's `output` is read in order: `message` items' `output_text` parts (a `refusal`
//! part is the answer when there is no text), `function_call` items, `reasoning` items; other
//! items (built-in tools' calls) are not part of the answer. `status: "incomplete"` (with
//! `incomplete_details.reason` `max_output_tokens`) ends the turn as `max_tokens`, so no call
//! whose arguments the model did not finish ever runs. Errors have Chat Completions' body
//! (`{"error": {message, type, param, code}}`) and map the same way
//! ([`super::openai::error_from_status`]); a 200 with `status: "failed"` carries its `error`.

use std::time::Duration;

use agent_builder::{ContentBlock, Message, Provider, ProviderExtra, Role, StopReason};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::classify::{not_the_reply_of, parse_body, shape_error};
use super::config::{ProviderConfigError, timeout_from_env};
use super::history::{normalized_messages, stable_tool_call_id};
use super::http_model::{HttpApi, HttpModel, request_error};
use super::key::ApiKey;
use super::openai::{
    CONTENT_FILTER_TEXT, ERROR_MARK, api_key_for, base_url_from_env, bearer, parse_arguments,
    reply_error,
};
use super::reply::{lenient_count, plausible_tokens, unique_tool_ids};
use super::transport::RawReply;
use crate::error::LlmError;
use crate::model::{CacheTokens, ChatRequest, ChatResponse};

/// What a reasoning model's `include` asks for: each reasoning item's encrypted content.
pub const INCLUDE_ENCRYPTED_REASONING: &str = "reasoning.encrypted_content";

/// The most bytes of reasoning items (as JSON) kept on one turn. Encrypted reasoning is a few KB
/// a step; more than this is not stored (the turn still is, without them), so a hostile or
/// runaway reply cannot push the stored turn past the store's item limit.
pub const MAX_REASONING_BYTES: usize = 128 * 1024;

/// A model behind the Responses API: the [`HttpModel`] speaking [`Responses`].
pub type OpenAiResponsesModel = HttpModel<Responses>;

/// OpenAI's Responses API, as an [`HttpApi`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Responses;

impl OpenAiResponsesModel {
    /// An adapter for `base_url` (including `/v1`), with its own HTTP client. An empty key sends
    /// no `Authorization` header.
    pub fn new(
        base_url: impl Into<String>,
        api_key: ApiKey,
        timeout: Duration,
    ) -> Result<Self, ProviderConfigError> {
        let base_url = base_url.into().trim_end_matches('/').to_string();
        HttpModel::with_api(Responses, base_url, api_key, timeout)
    }

    /// An adapter configured from `OPENAI_API_KEY`, `OPENAI_BASE_URL` and
    /// `LLM_TIMEOUT_SECONDS`.
    pub fn from_env() -> Result<Self, ProviderConfigError> {
        let base_url = base_url_from_env();
        let key = api_key_for(&base_url)?;
        Self::new(base_url, key, timeout_from_env()?)
    }
}

impl HttpApi for Responses {
    const PROVIDER: Provider = Provider::OpenAi;

    fn endpoint(&self, base_url: &str, _request: &ChatRequest) -> String {
        format!("{base_url}/responses")
    }

    fn headers(&self, http: reqwest::RequestBuilder, key: &ApiKey) -> reqwest::RequestBuilder {
        bearer(http, key)
    }

    fn body(&self, request: &ChatRequest) -> Result<Vec<u8>, LlmError> {
        serde_json::to_vec(&to_request(request)).map_err(|e| request_error(Provider::OpenAi, e))
    }

    fn response(&self, reply: &RawReply, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let mut response: ResponseObject = parse_body(Provider::OpenAi, reply)?;
        let Some(output) = response.output.take() else {
            return Err(not_the_reply_of(
                Provider::OpenAi,
                reply.status,
                &reply.body,
            ));
        };
        from_response(response, output, &request.model)
    }

    fn error(&self, reply: &RawReply, in_success: Option<&Value>) -> LlmError {
        reply_error(reply, in_success)
    }
}

/// The request body of `POST /responses`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponsesRequest {
    /// The model id.
    pub model: String,
    /// The system prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// The conversation, as input items.
    pub input: Vec<Value>,
    /// The tools.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<FunctionTool>,
    /// The reply limit, reasoning tokens included.
    pub max_output_tokens: u32,
    /// Sampling temperature (not for reasoning models, which reject it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// Always `false`: the conversation is kept in our store, not on OpenAI's side.
    pub store: bool,
    /// `["reasoning.encrypted_content"]` for reasoning models, so their reasoning items can be
    /// sent back; nothing for the others, which reject it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
}

/// A function tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionTool {
    /// Always `function`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// The JSON Schema of its arguments.
    pub parameters: Value,
    /// Always `false`: strict mode would require every schema to close all objects and list
    /// every property as required, which the agents' derived schemas do not.
    pub strict: bool,
}

/// The response object: only the fields we use.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ResponseObject {
    /// The model that answered.
    #[serde(default)]
    pub model: String,
    /// `completed`, `incomplete`, `failed`, `in_progress`, `queued`, `cancelled`.
    #[serde(default)]
    pub status: Option<String>,
    /// Why the response is incomplete.
    #[serde(default)]
    pub incomplete_details: Option<IncompleteDetails>,
    /// The output items, in order; a body without `output` is not a Responses reply.
    #[serde(default)]
    pub output: Option<Vec<Value>>,
    /// Token counts.
    #[serde(default)]
    pub usage: Option<ResponsesUsage>,
}

/// Why a response is incomplete.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct IncompleteDetails {
    /// `max_output_tokens` or `content_filter`.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Token counts. `input_tokens` includes the cached tokens of
/// `input_tokens_details.cached_tokens` (the cache reads of the usage), `output_tokens` the
/// reasoning tokens.
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize)]
pub struct ResponsesUsage {
    /// Input tokens, cached ones included.
    #[serde(default, deserialize_with = "lenient_count")]
    pub input_tokens: u64,
    /// Output tokens, reasoning included.
    #[serde(default, deserialize_with = "lenient_count")]
    pub output_tokens: u64,
    /// The breakdown of the input tokens.
    #[serde(default)]
    pub input_tokens_details: Option<InputTokensDetails>,
}

/// The breakdown of the input tokens.
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize)]
pub struct InputTokensDetails {
    /// Input tokens read from OpenAI's prompt cache.
    #[serde(default, deserialize_with = "lenient_count")]
    pub cached_tokens: u64,
}

/// Whether the model reasons (o-series, GPT-5 and its point releases, except the `chat`
/// variants): those take `include: ["reasoning.encrypted_content"]` and reject `temperature`;
/// the others are the reverse. A provider prefix (`openai/o3`) is ignored.
pub fn is_reasoning_model(model: &str) -> bool {
    let name = model
        .rsplit('/')
        .next()
        .unwrap_or(model)
        .to_ascii_lowercase();
    let o_series = ["o1", "o3", "o4"].iter().any(|prefix| {
        name.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
    });
    let gpt5 = name.strip_prefix("gpt-5").is_some_and(|rest| {
        (rest.is_empty() || rest.starts_with('-') || rest.starts_with('.'))
            && !rest.contains("chat")
    });
    o_series || gpt5
}

/// Converts a neutral request to the Responses body.
pub fn to_request(request: &ChatRequest) -> ResponsesRequest {
    let reasoning = is_reasoning_model(&request.model);
    let mut input = Vec::with_capacity(request.messages.len() * 2);
    for message in normalized_messages(&request.messages, Provider::OpenAi).iter() {
        match message.role {
            Role::User => push_user(&mut input, message),
            Role::Assistant => push_assistant(&mut input, message, &request.model),
        }
    }
    ResponsesRequest {
        model: request.model.clone(),
        instructions: Some(request.system.clone()).filter(|s| !s.trim().is_empty()),
        input,
        tools: request
            .tools
            .iter()
            .map(|t| FunctionTool {
                kind: "function".to_string(),
                name: t.name.clone(),
                description: t.description.clone(),
                parameters: t.input_schema.clone(),
                strict: false,
            })
            .collect(),
        max_output_tokens: request.max_tokens,
        temperature: request.temperature.filter(|_| !reasoning),
        store: false,
        include: if reasoning {
            vec![INCLUDE_ENCRYPTED_REASONING.to_string()]
        } else {
            Vec::new()
        },
    }
}

/// Tool results become `function_call_output` items (first, right after their calls); text
/// becomes one user message. An error result is marked in its text, as the API has no flag.
fn push_user(input: &mut Vec<Value>, message: &Message) {
    let mut texts = Vec::new();
    for block in &message.content {
        match block {
            ContentBlock::ToolResult {
                tool_use_id,
                content,
                is_error,
            } => input.push(serde_json::json!({
                "type": "function_call_output",
                "call_id": tool_use_id,
                "output": if *is_error { format!("{ERROR_MARK}{content}") } else { content.clone() },
            })),
            ContentBlock::Text { text, .. } if !text.trim().is_empty() => texts.push(text.as_str()),
            ContentBlock::Text { .. } | ContentBlock::ToolUse { .. } => {}
        }
    }
    if !texts.is_empty() {
        input.push(
            serde_json::json!({"type": "message", "role": "user", "content": texts.join("\n")}),
        );
    }
}

/// The assistant's text and calls, in their order, each preceded by the reasoning items that
/// preceded it in the reply — only when `model` wrote them, and only before an item that is
/// sent (a reasoning item without the item that followed it is refused).
fn push_assistant(input: &mut Vec<Value>, message: &Message, model: &str) {
    for block in &message.content {
        let item = match block {
            ContentBlock::Text { text, .. } if !text.trim().is_empty() => {
                serde_json::json!({"type": "message", "role": "assistant", "content": text})
            }
            ContentBlock::ToolUse {
                id, name, input, ..
            } => serde_json::json!({
                "type": "function_call",
                "call_id": id,
                "name": name,
                // Malformed arguments go back exactly as the model wrote them.
                "arguments": match input {
                    Value::String(raw) => raw.clone(),
                    other => other.to_string(),
                },
            }),
            _ => continue,
        };
        if let Some(extra) = block.extra().filter(|e| e.is_for(Provider::OpenAi, model)) {
            input.extend(extra.reasoning.iter().cloned());
        }
        input.push(item);
    }
}

/// Converts a response object and its `output` (taken out of it) to the neutral response.
/// `requested_model` is the model the reasoning items are kept for.
pub fn from_response(
    response: ResponseObject,
    output: Vec<Value>,
    requested_model: &str,
) -> Result<ChatResponse, LlmError> {
    let status = response.status.as_deref().unwrap_or("completed");
    if matches!(status, "in_progress" | "queued") {
        return Err(shape_error(
            Provider::OpenAi,
            200,
            format!("the response is not finished (status `{status}`)"),
        ));
    }
    let mut content: Vec<ContentBlock> = Vec::new();
    let mut reasoning: Vec<Value> = Vec::new();
    let mut reasoning_bytes = 0usize;
    let mut calls = 0usize;
    let mut unfinished_call = false;
    for item in output {
        match item.get("type").and_then(Value::as_str) {
            Some("reasoning") => {
                reasoning_bytes = reasoning_bytes.saturating_add(item.to_string().len());
                reasoning.push(item);
            }
            Some("message") => {
                let text = message_text(&item);
                let extra = reasoning_extra(&mut reasoning, requested_model);
                if !text.is_empty() {
                    content.push(ContentBlock::Text { text, extra });
                }
            }
            Some("function_call") => {
                let Some(name) = item.get("name").and_then(Value::as_str) else {
                    continue;
                };
                unfinished_call |= item.get("status").and_then(Value::as_str) == Some("incomplete");
                let input = parse_arguments(item.get("arguments").cloned().unwrap_or(Value::Null));
                let id = item
                    .get("call_id")
                    .and_then(Value::as_str)
                    .filter(|id| !id.is_empty())
                    .map_or_else(
                        || stable_tool_call_id("call", calls, name, &input),
                        str::to_string,
                    );
                calls += 1;
                content.push(ContentBlock::ToolUse {
                    id,
                    name: name.to_string(),
                    input,
                    extra: reasoning_extra(&mut reasoning, requested_model),
                });
            }
            // Built-in tools' calls and new item kinds are not part of the answer.
            _ => {}
        }
    }
    if reasoning_bytes > MAX_REASONING_BYTES {
        eprintln!(
            "openai: {reasoning_bytes} bytes of reasoning items in one reply, more than {MAX_REASONING_BYTES}; not kept"
        );
        for block in &mut content {
            if let ContentBlock::Text { extra, .. } | ContentBlock::ToolUse { extra, .. } = block {
                *extra = None;
            }
        }
    }
    let reason = response
        .incomplete_details
        .as_ref()
        .and_then(|d| d.reason.as_deref());
    let filtered = reason == Some("content_filter");
    // Cut off (at the token limit, or mid-call by a filter): no call of the turn runs.
    let stop_reason = if status == "incomplete" && (!filtered || calls > 0) || unfinished_call {
        StopReason::MaxTokens
    } else if calls > 0 {
        StopReason::ToolUse
    } else {
        StopReason::EndTurn
    };
    if filtered
        && !content
            .iter()
            .any(|b| matches!(b, ContentBlock::Text { text, .. } if !text.trim().is_empty()))
    {
        content.push(ContentBlock::text(CONTENT_FILTER_TEXT));
    }
    unique_tool_ids(&mut content);
    let usage = response.usage.unwrap_or_default();
    let p = Provider::OpenAi;
    let input_tokens = plausible_tokens(p, "input_tokens", usage.input_tokens);
    let cached = usage.input_tokens_details.unwrap_or_default().cached_tokens;
    Ok(ChatResponse {
        message: Message {
            role: Role::Assistant,
            content,
        },
        stop_reason,
        input_tokens,
        output_tokens: plausible_tokens(p, "output_tokens", usage.output_tokens),
        cache: CacheTokens {
            read: plausible_tokens(p, "cached_tokens", cached),
            ..CacheTokens::default()
        }
        .within(input_tokens),
        model: if response.model.is_empty() {
            requested_model.to_string()
        } else {
            response.model
        },
    })
}

/// The reasoning items read so far, as the extra of the block that follows them.
fn reasoning_extra(reasoning: &mut Vec<Value>, model: &str) -> Option<ProviderExtra> {
    if reasoning.is_empty() {
        return None;
    }
    Some(ProviderExtra {
        reasoning: std::mem::take(reasoning),
        ..ProviderExtra::new(Provider::OpenAi, model)
    })
}

/// A `message` item's text: its `output_text` parts joined, or its `refusal` when it has no
/// text.
fn message_text(item: &Value) -> String {
    let parts = item
        .get("content")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let part_text = |kind: &str, field: &str| -> String {
        parts
            .iter()
            .filter(|p| p.get("type").and_then(Value::as_str) == Some(kind))
            .filter_map(|p| p.get(field).and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("")
    };
    let text = part_text("output_text", "text");
    if text.trim().is_empty() {
        part_text("refusal", "refusal")
    } else {
        text
    }
}

/// Parses a Responses body (JSON text) to the neutral response.
pub fn from_response_json(body: &str, requested_model: &str) -> Result<ChatResponse, LlmError> {
    let mut response = serde_json::from_str::<ResponseObject>(body)
        .map_err(|e| shape_error(Provider::OpenAi, 200, e))?;
    let Some(output) = response.output.take() else {
        return Err(not_the_reply_of(Provider::OpenAi, 200, body));
    };
    from_response(response, output, requested_model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_itself_gets_the_responses_api_and_other_servers_chat_completions() {
        use super::super::openai::OpenAiApi;
        assert_eq!(
            OpenAiApi::for_base_url("https://api.openai.com/v1"),
            OpenAiApi::Responses
        );
        for base in [
            "http://localhost:11434/v1",
            "https://api.groq.com/openai/v1",
            "https://api.deepseek.com/v1",
        ] {
            assert_eq!(OpenAiApi::for_base_url(base), OpenAiApi::ChatCompletions);
        }
    }

    #[test]
    fn reasoning_models_are_told_apart() {
        for model in [
            "o3",
            "o4-mini",
            "gpt-5",
            "gpt-5-mini",
            "gpt-5.1",
            "openai/o1",
        ] {
            assert!(is_reasoning_model(model), "{model}");
        }
        for model in [
            "gpt-4o",
            "gpt-4.1-mini",
            "gpt-5-chat-latest",
            "o3x",
            "gpt-50",
        ] {
            assert!(!is_reasoning_model(model), "{model}");
        }
    }
}
