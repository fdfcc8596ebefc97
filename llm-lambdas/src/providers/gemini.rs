//! Google's Gemini API, `POST {base}/v1beta/models/{model}:generateContent`.
//!
//! Shapes follow <https://ai.google.dev/api/generate-content> and
//! <https://ai.google.dev/gemini-api/docs/function-calling>: `contents[]` of `user`/`model`
//! turns made of `parts[]` (`text`, `functionCall {name, args, id?}`,
//! `functionResponse {name, response}`), the system prompt as `systemInstruction`, tools as
//! `tools[].functionDeclarations[]`, and errors as Google's
//! `{"error": {"code", "message", "status", "details"}}`.
//!
//! Gemini's function calls carry an `id` only in newer responses; when it is absent, the adapter
//! makes a stable one ([`super::stable_tool_call_id`]). Function responses are matched by name
//! (the tool's name is looked up from the call in the history), and sent in the calls' order.
//!
//! Function declarations take an OpenAPI subset of JSON Schema; [`gemini_schema`] keeps only what
//! it accepts (no `$schema`, `additionalProperties`, `$ref`, type arrays, unknown formats).
//!
//! Thought signatures (<https://ai.google.dev/gemini-api/docs/thought-signatures>): Gemini 2.5
//! and 3 put an opaque `thoughtSignature` on parts they write (the first `functionCall` of a
//! step, and text parts), and want each back on the same part when the history is replayed;
//! Gemini 3 refuses a replayed function call of the current turn without it. The adapter keeps
//! each signature on its neutral block as a Gemini [`ProviderExtra`] and sends it back on that
//! part; no other provider is ever sent it. A replayed call with no signature of its own (a call
//! another provider wrote, or one stored before signatures were kept) gets the documented
//! placeholder for histories the model did not write itself ([`DUMMY_THOUGHT_SIGNATURE`]) when
//! it is the first call of its turn and the model checks signatures.

use std::time::Duration;

use agent_builder::{ContentBlock, Message, Provider, ProviderExtra, Role, StopReason};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::classify::{
    ErrorDetail, body_excerpt, classify_http_error, mentions_context_too_long, not_the_reply_of,
    parse_body, shape_error,
};
use super::config::{
    ProviderConfigError, api_key_from_env, base_url_without, env_var, timeout_from_env,
};
use super::history::{input_as_object, normalized_messages, stable_tool_call_id, tool_names};
use super::http_model::{HttpApi, HttpModel, request_error};
use super::key::ApiKey;
use super::reply::{lenient_count, plausible_tokens, token_sum, unique_tool_ids};
use super::transport::RawReply;
use crate::error::LlmError;
use crate::model::{CacheTokens, ChatRequest, ChatResponse};

/// The real API.
pub const DEFAULT_BASE_URL: &str = "https://generativelanguage.googleapis.com";
/// The variable that overrides the base URL (a proxy, a local test server).
pub const BASE_URL_ENV: &str = "GEMINI_BASE_URL";
/// The variable that holds the API key for local runs.
pub const API_KEY_ENV: &str = "GEMINI_API_KEY";
/// The signature Gemini documents for function calls it did not produce itself in this history.
pub const DUMMY_THOUGHT_SIGNATURE: &str = "skip_thought_signature_validator";
/// The most bytes of thought signatures kept from one reply (they are a few hundred bytes to a
/// few KB each). Signatures past it are not stored, so a hostile reply cannot grow the stored
/// turn past the store's item limit; a call that loses its signature is replayed with
/// [`DUMMY_THOUGHT_SIGNATURE`].
pub const MAX_THOUGHT_SIGNATURE_BYTES: usize = 64 * 1024;

/// The base URL from [`BASE_URL_ENV`], or [`DEFAULT_BASE_URL`].
pub fn base_url_from_env() -> String {
    env_var(BASE_URL_ENV).unwrap_or_else(|| DEFAULT_BASE_URL.to_string())
}

/// A Gemini model behind `generateContent`: the [`HttpModel`] speaking [`GenerateContent`].
pub type GeminiModel = HttpModel<GenerateContent>;

/// Gemini's `generateContent`, as an [`HttpApi`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GenerateContent;

impl GeminiModel {
    /// An adapter for `base_url` (`https://generativelanguage.googleapis.com`; a trailing
    /// `/v1beta` is accepted), with its own HTTP client.
    pub fn new(
        base_url: impl Into<String>,
        api_key: ApiKey,
        timeout: Duration,
    ) -> Result<Self, ProviderConfigError> {
        HttpModel::with_api(
            GenerateContent,
            base_url_without(base_url.into(), "/v1beta"),
            api_key,
            timeout,
        )
    }

    /// An adapter configured from `GEMINI_API_KEY`, `GEMINI_BASE_URL` and
    /// `LLM_TIMEOUT_SECONDS`.
    pub fn from_env() -> Result<Self, ProviderConfigError> {
        let key = api_key_from_env(API_KEY_ENV, "a Gemini API key from Google AI Studio")?;
        Self::new(base_url_from_env(), key, timeout_from_env()?)
    }
}

impl HttpApi for GenerateContent {
    const PROVIDER: Provider = Provider::Gemini;

    fn endpoint(&self, base_url: &str, request: &ChatRequest) -> String {
        let model = request.model.trim_start_matches("models/");
        format!("{base_url}/v1beta/models/{model}:generateContent")
    }

    fn headers(&self, http: reqwest::RequestBuilder, key: &ApiKey) -> reqwest::RequestBuilder {
        // The key goes in a header, never in the URL; errors are redacted of it by the model.
        http.header("x-goog-api-key", key.expose())
    }

    fn body(&self, request: &ChatRequest) -> Result<Vec<u8>, LlmError> {
        serde_json::to_vec(&to_request(request)).map_err(|e| request_error(Provider::Gemini, e))
    }

    fn response(&self, reply: &RawReply, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let response: GenerateContentResponse = parse_body(Provider::Gemini, reply)?;
        if !is_gemini_reply(&response) {
            return Err(not_the_reply_of(
                Provider::Gemini,
                reply.status,
                &reply.body,
            ));
        }
        from_response(response, &request.model)
    }

    fn error(&self, reply: &RawReply, in_success: Option<&Value>) -> LlmError {
        let status = match in_success {
            // A proxy that answers 200 with Google's error body: its `code` is the status.
            Some(error) => error
                .pointer("/error/code")
                .and_then(Value::as_u64)
                .and_then(|c| u16::try_from(c).ok())
                .filter(|c| (400..600).contains(c))
                .unwrap_or(500),
            None => reply.status,
        };
        error_from_status(status, reply.retry_after_seconds, &reply.body)
    }
}

/// Whether a parsed body is a `generateContent` reply at all: it has candidates, or says why it
/// has none (`promptFeedback`). `{}` and other APIs' bodies have neither.
fn is_gemini_reply(response: &GenerateContentResponse) -> bool {
    !response.candidates.is_empty() || response.prompt_feedback.is_some()
}

/// The request body of `generateContent`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateContentRequest {
    /// The conversation.
    pub contents: Vec<Content>,
    /// The system prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_instruction: Option<Content>,
    /// The tools.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<GeminiTool>,
    /// Limits and sampling.
    pub generation_config: GenerationConfig,
}

/// A turn: `user` or `model`, and its parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Content {
    /// `user` or `model`; absent on `systemInstruction`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The parts.
    #[serde(default)]
    pub parts: Vec<Part>,
}

/// One part of a turn; exactly one of its data fields is set.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Part {
    /// Text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// A function call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_call: Option<FunctionCall>,
    /// A function's result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_response: Option<FunctionResponse>,
    /// Whether this part is the model's thought summary (not part of the answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thought: Option<bool>,
    /// The opaque signature of the model's reasoning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thought_signature: Option<String>,
}

/// A function call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCall {
    /// The call id, in newer responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The function.
    pub name: String,
    /// Its arguments, a JSON object.
    #[serde(default)]
    pub args: Value,
}

/// A function's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionResponse {
    /// The function that ran.
    pub name: String,
    /// `{"output": …}` or `{"error": …}`, as the function-calling guide advises.
    pub response: Value,
}

/// A tool: its function declarations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GeminiTool {
    /// The functions.
    pub function_declarations: Vec<FunctionDeclaration>,
}

/// A function the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionDeclaration {
    /// Its name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// Its parameters, in Gemini's schema subset.
    pub parameters: Value,
}

/// Limits and sampling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerationConfig {
    /// The most tokens to write.
    pub max_output_tokens: u32,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
}

/// The response of `generateContent`: only the fields we use.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateContentResponse {
    /// The candidates; we ask for one.
    #[serde(default)]
    pub candidates: Vec<Candidate>,
    /// Why the prompt was blocked, when there is no candidate.
    #[serde(default)]
    pub prompt_feedback: Option<PromptFeedback>,
    /// Token counts.
    #[serde(default)]
    pub usage_metadata: Option<UsageMetadata>,
    /// The model version that answered.
    #[serde(default)]
    pub model_version: Option<String>,
}

/// One candidate.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    /// Its content (absent when blocked).
    #[serde(default)]
    pub content: Option<Content>,
    /// `STOP`, `MAX_TOKENS`, `SAFETY`, `MALFORMED_FUNCTION_CALL`, …
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// A readable reason, for some finish reasons.
    #[serde(default)]
    pub finish_message: Option<String>,
}

/// The prompt's feedback.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptFeedback {
    /// Why it was blocked.
    #[serde(default)]
    pub block_reason: Option<String>,
}

/// Token counts.
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageMetadata {
    /// Input tokens (cached included).
    #[serde(default, deserialize_with = "lenient_count")]
    pub prompt_token_count: u64,
    /// Answer tokens.
    #[serde(default, deserialize_with = "lenient_count")]
    pub candidates_token_count: u64,
    /// Thinking tokens, billed as output.
    #[serde(default, deserialize_with = "lenient_count")]
    pub thoughts_token_count: u64,
    /// Tool-use prompt tokens.
    #[serde(default, deserialize_with = "lenient_count")]
    pub tool_use_prompt_token_count: u64,
    /// Of the prompt, the tokens served by the cache (implicit or explicit caching; included
    /// in `promptTokenCount`).
    #[serde(default, deserialize_with = "lenient_count")]
    pub cached_content_token_count: u64,
}

/// Converts a neutral request to the `generateContent` body.
pub fn to_request(request: &ChatRequest) -> GenerateContentRequest {
    let needs_signature = wants_thought_signatures(&request.model);
    let names = tool_names(&request.messages);
    let contents = normalized_messages(&request.messages, Provider::Gemini)
        .iter()
        .map(|m| {
            let mut signed = false;
            let parts = m
                .content
                .iter()
                .map(|b| match b {
                    ContentBlock::Text { text, extra } => Part {
                        text: Some(text.clone()),
                        thought_signature: own_signature(extra.as_ref(), &request.model),
                        ..Part::default()
                    },
                    ContentBlock::ToolUse {
                        name, input, extra, ..
                    } => {
                        // The model's own signature goes back on its call. A turn whose first
                        // call has none gets the placeholder there; Gemini signs only the first
                        // of parallel calls, so the others go without.
                        let thought_signature = own_signature(extra.as_ref(), &request.model)
                            .or_else(|| {
                                (needs_signature && !signed)
                                    .then(|| DUMMY_THOUGHT_SIGNATURE.to_string())
                            });
                        signed = true;
                        Part {
                            function_call: Some(FunctionCall {
                                id: None,
                                name: name.clone(),
                                args: input_as_object(input),
                            }),
                            thought_signature,
                            ..Part::default()
                        }
                    }
                    ContentBlock::ToolResult {
                        tool_use_id,
                        content,
                        is_error,
                    } => Part {
                        function_response: Some(FunctionResponse {
                            name: names
                                .get(tool_use_id.as_str())
                                .map_or_else(|| tool_use_id.clone(), |n| (*n).to_owned()),
                            response: result_value(content, *is_error),
                        }),
                        ..Part::default()
                    },
                })
                .collect();
            Content {
                role: Some(
                    match m.role {
                        Role::User => "user",
                        Role::Assistant => "model",
                    }
                    .to_string(),
                ),
                parts,
            }
        })
        .collect();
    let declarations: Vec<FunctionDeclaration> = request
        .tools
        .iter()
        .map(|t| FunctionDeclaration {
            name: t.name.clone(),
            description: t.description.clone(),
            parameters: gemini_schema(&t.input_schema),
        })
        .collect();
    GenerateContentRequest {
        contents,
        system_instruction: Some(&request.system)
            .filter(|s| !s.trim().is_empty())
            .map(|s| Content {
                role: None,
                parts: vec![Part {
                    text: Some(s.clone()),
                    ..Part::default()
                }],
            }),
        tools: if declarations.is_empty() {
            Vec::new()
        } else {
            vec![GeminiTool {
                function_declarations: declarations,
            }]
        },
        generation_config: GenerationConfig {
            max_output_tokens: request.max_tokens,
            temperature: request.temperature,
        },
    }
}

/// The thought signature `model` wrote on a block. A signature of another Gemini model is not
/// sent (it is bound to the model that wrote it); the block is then replayed like one another
/// provider wrote.
fn own_signature(extra: Option<&ProviderExtra>, model: &str) -> Option<String> {
    extra
        .filter(|e| e.is_for(Provider::Gemini, model))
        .and_then(|e| e.thought_signature.clone())
}

/// A part's signature as the block's extra, if it is one to keep.
/// `kept` counts the signature bytes of the reply kept so far.
fn signature_extra(
    signature: Option<String>,
    model: &str,
    kept: &mut usize,
) -> Option<ProviderExtra> {
    let signature = signature.filter(|s| !s.is_empty())?;
    if kept.saturating_add(signature.len()) > MAX_THOUGHT_SIGNATURE_BYTES {
        eprintln!(
            "gemini: thoughtSignatures of more than {MAX_THOUGHT_SIGNATURE_BYTES} bytes in one reply; one of {} bytes not kept",
            signature.len()
        );
        return None;
    }
    *kept += signature.len();
    Some(ProviderExtra {
        thought_signature: Some(signature),
        ..ProviderExtra::new(Provider::Gemini, model)
    })
}

/// Gemini 1.x and 2.x do not check signatures; newer models (3 and later) do.
fn wants_thought_signatures(model: &str) -> bool {
    let name = model.trim_start_matches("models/");
    !(name.starts_with("gemini-1") || name.starts_with("gemini-2"))
}

/// A tool result as a `functionResponse.response` object, `{"output": text}` or `{"error": text}`.
fn result_value(content: &str, is_error: bool) -> Value {
    // The result's text as is, like every other adapter sends it: `response` must be an object,
    // and `{"output": "<text>"}` is one. Parsing each result back into JSON on every call made a
    // 100-turn conversation cost over a millisecond, only to serialize it again.
    if is_error {
        json!({ "error": content })
    } else {
        json!({ "output": content })
    }
}

/// The keywords of Gemini's `Schema` object (an OpenAPI 3.0 subset) that we pass through: the
/// ones every API version has accepted (`title`, `default`, `example` were rejected by some).
const SCHEMA_KEYWORDS: &[&str] = &[
    "type",
    "format",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "properties",
    "required",
    "minLength",
    "maxLength",
    "pattern",
    "anyOf",
    "propertyOrdering",
    "items",
    "minimum",
    "maximum",
];

/// Converts a JSON Schema (as schemars writes it) to Gemini's schema subset: `$ref`s are inlined
/// from `definitions`/`$defs`, `type: [T, "null"]` becomes `type: T, nullable: true`, `const`
/// becomes a one-value `enum`, `oneOf` becomes `anyOf`, formats Gemini rejects are dropped, and
/// every other keyword (`$schema`, `additionalProperties`, …) is left out.
pub fn gemini_schema(schema: &Value) -> Value {
    let definitions = schema
        .get("definitions")
        .or_else(|| schema.get("$defs"))
        .cloned()
        .unwrap_or(Value::Null);
    convert_schema(schema, &definitions, 0)
}

fn convert_schema(schema: &Value, definitions: &Value, depth: usize) -> Value {
    let Value::Object(object) = schema else {
        return json!({});
    };
    if depth > 16 {
        // A recursive type: stop with an unconstrained object rather than loop.
        return json!({ "type": "object" });
    }
    if let Some(Value::String(reference)) = object.get("$ref") {
        let name = reference.rsplit('/').next().unwrap_or_default();
        let target = definitions.get(name).cloned().unwrap_or(json!({}));
        let mut inlined = convert_schema(&target, definitions, depth + 1);
        if let (Some(desc), Value::Object(o)) = (object.get("description"), &mut inlined) {
            o.insert("description".into(), desc.clone());
        }
        return inlined;
    }
    // schemars writes `allOf: [{$ref}]` for a documented field of a struct type.
    if let Some(Value::Array(all)) = object.get("allOf")
        && all.len() == 1
    {
        let mut inlined = convert_schema(&all[0], definitions, depth + 1);
        if let (Some(desc), Value::Object(o)) = (object.get("description"), &mut inlined) {
            o.insert("description".into(), desc.clone());
        }
        return inlined;
    }
    let mut out = Map::new();
    for (key, value) in object {
        match key.as_str() {
            "type" => match value {
                Value::Array(types) => {
                    let non_null: Vec<&Value> = types
                        .iter()
                        .filter(|t| t.as_str() != Some("null"))
                        .collect();
                    if non_null.len() < types.len() {
                        out.insert("nullable".into(), Value::Bool(true));
                    }
                    if let Some(first) = non_null.first() {
                        out.insert("type".into(), (*first).clone());
                    }
                }
                other => {
                    out.insert("type".into(), other.clone());
                }
            },
            "properties" => {
                let props: Map<String, Value> = value
                    .as_object()
                    .map(|p| {
                        p.iter()
                            .map(|(k, v)| (k.clone(), convert_schema(v, definitions, depth + 1)))
                            .collect()
                    })
                    .unwrap_or_default();
                out.insert("properties".into(), Value::Object(props));
            }
            "items" => {
                let items = match value {
                    Value::Array(list) => list.first().cloned().unwrap_or(json!({})),
                    other => other.clone(),
                };
                out.insert(
                    "items".into(),
                    convert_schema(&items, definitions, depth + 1),
                );
            }
            "anyOf" | "oneOf" => {
                let variants: Vec<Value> = value
                    .as_array()
                    .map(|list| {
                        list.iter()
                            .filter(|v| v.get("type").and_then(Value::as_str) != Some("null"))
                            .map(|v| convert_schema(v, definitions, depth + 1))
                            .collect()
                    })
                    .unwrap_or_default();
                let had_null = value.as_array().is_some_and(|list| {
                    list.iter()
                        .any(|v| v.get("type").and_then(Value::as_str) == Some("null"))
                });
                if had_null {
                    out.insert("nullable".into(), Value::Bool(true));
                }
                if variants.len() == 1 {
                    if let Some(Value::Object(only)) = variants.into_iter().next() {
                        for (k, v) in only {
                            out.entry(k).or_insert(v);
                        }
                    }
                } else if !variants.is_empty() {
                    out.insert("anyOf".into(), Value::Array(variants));
                }
            }
            "const" => {
                out.insert("enum".into(), json!([value]));
            }
            "format" => {
                if let Some(format) = value.as_str()
                    && matches!(
                        format,
                        "enum" | "date-time" | "int32" | "int64" | "float" | "double"
                    )
                {
                    out.insert("format".into(), value.clone());
                }
            }
            "enum" => {
                // Gemini's enums are of strings.
                let values: Vec<Value> = value
                    .as_array()
                    .map(|list| {
                        list.iter()
                            .filter(|v| !v.is_null())
                            .map(|v| match v {
                                Value::String(_) => v.clone(),
                                other => Value::String(other.to_string()),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                out.insert("enum".into(), Value::Array(values));
                out.entry("type").or_insert(json!("string"));
            }
            k if SCHEMA_KEYWORDS.contains(&k) => {
                out.insert(key.clone(), value.clone());
            }
            _ => {}
        }
    }
    if out.get("enum").is_some() && out.get("type").and_then(Value::as_str) != Some("string") {
        out.insert("type".into(), json!("string"));
    }
    Value::Object(out)
}

/// Converts a `generateContent` response to the neutral response. `requested_model` names the
/// model when the response carries no `modelVersion`.
pub fn from_response(
    response: GenerateContentResponse,
    requested_model: &str,
) -> Result<ChatResponse, LlmError> {
    let Some(candidate) = response.candidates.into_iter().next() else {
        let reason = response
            .prompt_feedback
            .and_then(|f| f.block_reason)
            .unwrap_or_else(|| "no candidate".to_string());
        return Err(LlmError::Invalid {
            provider: Provider::Gemini.to_string(),
            message: format!(
                "Gemini returned no answer (blockReason {reason}); rephrase the question"
            ),
        });
    };
    let finish = candidate.finish_reason.as_deref().unwrap_or("STOP");
    let parts = candidate.content.map(|c| c.parts).unwrap_or_default();
    if finish == "MALFORMED_FUNCTION_CALL" && parts.iter().all(|p| p.function_call.is_none()) {
        // The model wrote a call that Gemini could not parse: a retry usually succeeds.
        return Err(LlmError::ServerError {
            provider: Provider::Gemini.to_string(),
            status: 200,
            message: format!(
                "the model wrote a malformed function call (finishReason MALFORMED_FUNCTION_CALL{})",
                candidate
                    .finish_message
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            ),
        });
    }
    if parts.is_empty() && !matches!(finish, "STOP" | "MAX_TOKENS") {
        // SAFETY, RECITATION, PROHIBITED_CONTENT, …: no answer at all.
        return Err(LlmError::Invalid {
            provider: Provider::Gemini.to_string(),
            message: format!(
                "Gemini stopped with finishReason {finish} and no answer{}; rephrase the question or the system prompt",
                candidate
                    .finish_message
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default()
            ),
        });
    }
    let mut content = Vec::new();
    let mut calls = 0usize;
    let mut signature_bytes = 0usize;
    for part in parts {
        if part.thought == Some(true) {
            continue;
        }
        let extra = signature_extra(
            part.thought_signature,
            requested_model,
            &mut signature_bytes,
        );
        if let Some(call) = part.function_call {
            let input = if call.args.is_null() {
                json!({})
            } else {
                call.args
            };
            let id = call
                .id
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| stable_tool_call_id("gemini", calls, &call.name, &input));
            calls += 1;
            content.push(ContentBlock::ToolUse {
                id,
                name: call.name,
                input,
                extra,
            });
        } else if let Some(text) = part.text.filter(|t| !t.is_empty() || extra.is_some()) {
            push_text(&mut content, text, extra);
        }
    }
    // Cut off at the limit, calls or not: a call written when the budget ran out is not run.
    let stop_reason = if finish == "MAX_TOKENS" {
        StopReason::MaxTokens
    } else if calls > 0 {
        StopReason::ToolUse
    } else {
        StopReason::EndTurn
    };
    unique_tool_ids(&mut content);
    let usage = response.usage_metadata.unwrap_or_default();
    let p = Provider::Gemini;
    let input_tokens = token_sum(
        p,
        &[
            ("promptTokenCount", usage.prompt_token_count),
            ("toolUsePromptTokenCount", usage.tool_use_prompt_token_count),
        ],
    );
    Ok(ChatResponse {
        message: Message {
            role: Role::Assistant,
            content,
        },
        stop_reason,
        input_tokens,
        cache: CacheTokens {
            read: plausible_tokens(
                p,
                "cachedContentTokenCount",
                usage.cached_content_token_count,
            ),
            ..CacheTokens::default()
        }
        .within(input_tokens),
        output_tokens: token_sum(
            p,
            &[
                ("candidatesTokenCount", usage.candidates_token_count),
                ("thoughtsTokenCount", usage.thoughts_token_count),
            ],
        ),
        model: response
            .model_version
            .unwrap_or_else(|| requested_model.to_string()),
    })
}

/// Adds a text part to the reply: text parts that follow each other are one text (the answer is
/// not split where the model's parts were), carrying the part's signature. Only when both the
/// text so far and this part carry one does the part become a block of its own, so that neither
/// signature is lost. An empty part that only carries a signature (Gemini may end a reply with
/// one) is kept as such.
fn push_text(content: &mut Vec<ContentBlock>, text: String, extra: Option<ProviderExtra>) {
    if let Some(ContentBlock::Text {
        text: previous,
        extra: previous_extra,
    }) = content.last_mut()
        && (previous_extra.is_none() || extra.is_none())
    {
        previous.push_str(&text);
        if extra.is_some() {
            *previous_extra = extra;
        }
        return;
    }
    content.push(ContentBlock::Text { text, extra });
}

/// Parses a `generateContent` response body (JSON text) to the neutral response.
pub fn from_response_json(body: &str, requested_model: &str) -> Result<ChatResponse, LlmError> {
    let response = serde_json::from_str::<GenerateContentResponse>(body)
        .map_err(|e| shape_error(Provider::Gemini, 200, e))?;
    if !is_gemini_reply(&response) {
        return Err(not_the_reply_of(Provider::Gemini, 200, body));
    }
    from_response(response, requested_model)
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorObject,
}

#[derive(Deserialize)]
struct ErrorObject {
    #[serde(default)]
    message: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    details: Vec<Value>,
}

/// Maps an error status and Google's error body to an [`LlmError`]. A bad key is a 400 with
/// reason `API_KEY_INVALID`; a 429's wait is in its `RetryInfo.retryDelay` (`"26s"`).
pub fn error_from_status(status: u16, retry_after_seconds: Option<u64>, body: &str) -> LlmError {
    // Google's body, or the same wrapped in a one-element array (some Google front ends).
    // (An array must be unwrapped first: serde would read it as the struct's fields in order.)
    let parsed = match serde_json::from_str::<Value>(body) {
        Ok(Value::Array(list)) => list
            .into_iter()
            .next()
            .and_then(|first| serde_json::from_value::<ErrorBody>(first).ok()),
        Ok(value @ Value::Object(_)) => serde_json::from_value::<ErrorBody>(value).ok(),
        _ => None,
    };
    let (message, google_status, details) = match parsed {
        Some(b) => (b.error.message, b.error.status, b.error.details),
        None => (body_excerpt(body), String::new(), Vec::new()),
    };
    let reason_is = |wanted: &str| {
        details
            .iter()
            .any(|d| d.get("reason").and_then(Value::as_str) == Some(wanted))
    };
    let retry_delay = details.iter().find_map(|d| {
        d.get("retryDelay")
            .and_then(Value::as_str)
            .and_then(|s| s.trim_end_matches('s').parse::<f64>().ok())
            .map(|s| s.ceil().max(0.0) as u64)
    });
    let shown = if google_status.is_empty() {
        message.clone()
    } else {
        format!("{google_status}: {message}")
    };
    classify_http_error(
        Provider::Gemini,
        status,
        retry_after_seconds.or(retry_delay),
        ErrorDetail {
            message: shown,
            context_too_long: status == 400 && mentions_context_too_long(&message),
            auth_failed: reason_is("API_KEY_INVALID")
                || google_status == "UNAUTHENTICATED"
                || google_status == "PERMISSION_DENIED",
            overloaded: google_status == "UNAVAILABLE",
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_keeps_only_what_gemini_accepts() {
        let schema = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "title": "Input",
            "type": "object",
            "additionalProperties": false,
            "required": ["city"],
            "properties": {
                "city": {"type": "string", "description": "City"},
                "days": {"type": ["integer", "null"], "format": "uint32", "minimum": 0.0},
                "unit": {"$ref": "#/definitions/Unit"}
            },
            "definitions": {"Unit": {"type": "string", "enum": ["c", "f"]}}
        });
        let g = gemini_schema(&schema);
        assert_eq!(
            g,
            json!({
                "type": "object",
                "required": ["city"],
                "properties": {
                    "city": {"type": "string", "description": "City"},
                    "days": {"type": "integer", "nullable": true, "minimum": 0.0},
                    "unit": {"type": "string", "enum": ["c", "f"]}
                }
            })
        );
    }

    #[test]
    fn signatures_only_for_newer_models() {
        assert!(!wants_thought_signatures("gemini-2.5-flash"));
        assert!(wants_thought_signatures("gemini-3-pro-preview"));
        assert!(!wants_thought_signatures("models/gemini-2.0-flash"));
    }

    #[test]
    fn signatures_past_the_cap_are_not_kept() {
        let big = "s".repeat(MAX_THOUGHT_SIGNATURE_BYTES / 2 + 1);
        let call = |city: &str| json!({"functionCall": {"name": "get_weather", "args": {"city": city}}, "thoughtSignature": big});
        let body = json!({"candidates": [{"content": {"role": "model",
            "parts": [call("Paris"), call("Tokyo")]}, "finishReason": "STOP"}]});
        let reply = from_response_json(&body.to_string(), "gemini-3-pro-preview");
        let Ok(reply) = reply else {
            panic!("{reply:?}")
        };
        let kept: Vec<bool> = reply
            .message
            .content
            .iter()
            .map(|b| b.extra().is_some())
            .collect();
        assert_eq!(kept, [true, false]);
    }
}
