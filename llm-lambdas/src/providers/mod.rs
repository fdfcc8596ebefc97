//! One adapter per provider family, each converting at its own edge.
//!
//! Every adapter has a constructor taking its base URL, its [`ApiKey`] and a timeout, a
//! `from_env` constructor reading the same from the environment (`ANTHROPIC_BASE_URL`,
//! `OPENAI_BASE_URL`, `GEMINI_BASE_URL`, the AWS SDK's own configuration for Bedrock), and pure,
//! public conversion functions (neutral request → provider request, provider response → neutral
//! response) that the bench and the round-trip tests call without a network.
//! [`for_provider_from_env`] builds the right adapter for a [`Provider`].
//!
//! ```
//! use agent_builder::{Message, Provider, StopReason};
//! use llm_lambdas::ChatRequest;
//! use llm_lambdas::providers::{anthropic, scripted::{Script, ScriptedModel}};
//!
//! let request = ChatRequest {
//!     model: "claude-sonnet-4-5".into(),
//!     system: "Be brief.".into(),
//!     messages: vec![Message::user_text("Hi")],
//!     tools: vec![],
//!     max_tokens: 256,
//!     temperature: None,
//! };
//! // What the Anthropic adapter would send, computed without a network.
//! let body = anthropic::to_request(&request);
//! assert_eq!(body.system.as_deref(), Some("Be brief."));
//!
//! // A model without a provider, playing a script.
//! let script: Script = serde_json::from_str(r#"{"turns": [{"text": "Hello!"}]}"#)?;
//! let reply = ScriptedModel::new(script, Provider::Anthropic).play(&request)?;
//! assert_eq!((reply.message.text().as_str(), reply.stop_reason), ("Hello!", StopReason::EndTurn));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod anthropic;
pub mod bedrock;
pub mod gemini;
pub mod openai;
pub mod scripted;

use std::sync::Arc;
use std::time::Duration;

use agent_builder::{ContentBlock, Message, Provider};
use serde_json::Value;

use crate::error::LlmError;
use crate::model::ChatModel;

/// The environment variable that sets the HTTP timeout of every adapter, in seconds.
pub const TIMEOUT_ENV: &str = "LLM_TIMEOUT_SECONDS";

/// The timeout of a model call when [`TIMEOUT_ENV`] is not set: long answers take a while.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// An API key. It never prints: `Debug` and `Display` show `***`, so a key cannot leak into a
/// log line or an error message by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key itself, for the one place that needs it: the request header.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A key as pasted into a variable or a secret: surrounding whitespace (a trailing newline
    /// from `echo` or a file) is trimmed; whitespace or control characters inside are refused,
    /// as no provider issues such keys and an HTTP header cannot carry them. The error says
    /// what is wrong, never the key.
    pub fn parse(raw: &str) -> Result<ApiKey, InvalidKey> {
        let key = raw.trim();
        if key.is_empty() {
            return Err(InvalidKey::Empty);
        }
        if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(InvalidKey::InnerWhitespace);
        }
        Ok(ApiKey::new(key))
    }
}

/// Why a pasted key cannot be used (see [`ApiKey::parse`]); it never holds the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidKey {
    /// Nothing but whitespace.
    #[error("the key is empty")]
    Empty,
    /// Whitespace or a control character inside the key.
    #[error(
        "the key holds whitespace or a control character inside it (a line break or space pasted with it?); paste the key alone, on one line"
    )]
    InnerWhitespace,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl std::fmt::Display for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Why an adapter could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum ProviderConfigError {
    /// A required environment variable is not set.
    #[error("{variable} is not set: set it to {what}")]
    MissingEnv {
        /// The variable to set.
        variable: &'static str,
        /// What it should hold.
        what: &'static str,
    },
    /// An environment variable holds something unusable.
    #[error("{variable} is invalid: {message}")]
    InvalidEnv {
        /// The variable.
        variable: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The API key in a variable cannot be used; the key itself is never shown.
    #[error("{variable} is not a usable API key: {problem}")]
    InvalidKey {
        /// The variable holding the key.
        variable: &'static str,
        /// What is wrong with it.
        problem: InvalidKey,
    },
    /// The HTTP client could not be built (TLS setup).
    #[error("could not build the HTTP client: {0}")]
    HttpClient(String),
    /// The scripted model's script could not be loaded.
    #[error(transparent)]
    Script(#[from] scripted::ScriptError),
}

/// Reads an environment variable, treating an empty value as unset.
pub(crate) fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The API key from `variable` (trimmed, checked by [`ApiKey::parse`]), or an error naming it.
pub fn api_key_from_env(
    variable: &'static str,
    what: &'static str,
) -> Result<ApiKey, ProviderConfigError> {
    let raw = env_var(variable).ok_or(ProviderConfigError::MissingEnv { variable, what })?;
    ApiKey::parse(&raw).map_err(|e| ProviderConfigError::InvalidKey {
        variable,
        problem: e,
    })
}

/// The timeout from [`TIMEOUT_ENV`], or [`DEFAULT_TIMEOUT`].
pub fn timeout_from_env() -> Result<Duration, ProviderConfigError> {
    match env_var(TIMEOUT_ENV) {
        None => Ok(DEFAULT_TIMEOUT),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|s| *s > 0)
            .map(Duration::from_secs)
            .ok_or_else(|| ProviderConfigError::InvalidEnv {
                variable: TIMEOUT_ENV,
                message: format!("`{v}` is not a whole number of seconds above 0"),
            }),
    }
}

/// Builds the adapter for `provider` from the environment: `ANTHROPIC_API_KEY`,
/// `OPENAI_API_KEY`, `GEMINI_API_KEY` (and the base URL variables), or the AWS configuration for
/// Bedrock. The error names the variable to set.
pub async fn for_provider_from_env(
    provider: Provider,
) -> Result<Arc<dyn ChatModel>, ProviderConfigError> {
    Ok(match provider {
        Provider::Anthropic => Arc::new(anthropic::AnthropicModel::from_env()?),
        Provider::OpenAi => Arc::new(openai::OpenAiModel::from_env()?),
        Provider::Gemini => Arc::new(gemini::GeminiModel::from_env()?),
        Provider::Bedrock => Arc::new(bedrock::BedrockModel::from_env().await?),
    })
}

/// Builds the scripted model playing the script in `path` (`--provider scripted --script FILE`),
/// reporting itself as `provider` (the agent's own).
pub fn scripted_from_file(
    path: &std::path::Path,
    provider: Provider,
) -> Result<Arc<dyn ChatModel>, ProviderConfigError> {
    Ok(Arc::new(scripted::ScriptedModel::from_file(
        path, provider,
    )?))
}

/// Builds the adapter for `provider` with a key obtained elsewhere (the Secrets Manager secret);
/// the base URL and timeout still come from the environment. Bedrock ignores the key: it signs
/// with the AWS credentials of the Lambda.
pub async fn for_provider_with_key(
    provider: Provider,
    api_key: ApiKey,
) -> Result<Arc<dyn ChatModel>, ProviderConfigError> {
    let timeout = timeout_from_env()?;
    Ok(match provider {
        Provider::Anthropic => Arc::new(anthropic::AnthropicModel::new(
            anthropic::base_url_from_env(),
            api_key,
            timeout,
        )?),
        Provider::OpenAi => Arc::new(
            openai::OpenAiModel::new(openai::base_url_from_env(), api_key, timeout)?
                .with_max_tokens_field_from_env()?,
        ),
        Provider::Gemini => Arc::new(gemini::GeminiModel::new(
            gemini::base_url_from_env(),
            api_key,
            timeout,
        )?),
        Provider::Bedrock => Arc::new(bedrock::BedrockModel::from_env().await?),
    })
}

/// An HTTP client with a timeout, shared by the HTTP adapters.
pub(crate) fn http_client(timeout: Duration) -> Result<reqwest::Client, ProviderConfigError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .build()
        .map_err(|e| ProviderConfigError::HttpClient(e.to_string()))
}

/// A reply read off the wire: its status, its `retry-after` and its body.
pub(crate) struct RawReply {
    pub status: u16,
    pub retry_after_seconds: Option<u64>,
    pub body: String,
}

/// The variable that sets a provider's base URL, for the advice of a network error.
pub(crate) fn base_url_variable(provider: Provider) -> &'static str {
    match provider {
        Provider::Anthropic => anthropic::BASE_URL_ENV,
        Provider::OpenAi => openai::BASE_URL_ENV,
        Provider::Gemini => gemini::BASE_URL_ENV,
        Provider::Bedrock => bedrock::ENDPOINT_ENV,
    }
}

/// What went wrong below an error, read down its `source()` chain: the innermost I/O error's
/// kind when there is one (`connection refused`), else the chain's messages joined, each once.
pub(crate) fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut messages: Vec<String> = Vec::new();
    let mut io_kind = None;
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            io_kind = Some(io.kind());
        }
        let text = e.to_string();
        // Wrappers often repeat their source's text: keep each piece once, and skip hyper's
        // generic `client error (Connect)`, which says nothing the rest does not.
        if !text.is_empty()
            && !text.starts_with("client error (")
            && !messages.iter().any(|m| m.contains(&text))
        {
            messages.push(text);
        }
        current = e.source();
    }
    let all = messages.join(": ");
    let lower = all.to_ascii_lowercase();
    let last = messages.last().cloned().unwrap_or_default();
    use std::io::ErrorKind as K;
    match io_kind {
        Some(K::ConnectionRefused) => return "connection refused".to_string(),
        Some(K::ConnectionReset) => return "the connection was reset".to_string(),
        Some(K::ConnectionAborted) => return "the connection was aborted".to_string(),
        Some(K::TimedOut) => return "the connection timed out".to_string(),
        _ => {}
    }
    if lower.contains("dns error") || lower.contains("failed to lookup address") {
        format!("the host name could not be resolved ({last})")
    } else if [
        "certificate",
        "tls",
        "handshake",
        "corrupt message",
        "alert",
        "peer",
    ]
    .iter()
    .any(|w| lower.contains(w))
    {
        format!("the TLS connection failed ({last})")
    } else if messages.len() > 1 {
        // The outermost message only repeats the URL; the rest says what happened.
        messages[1..].join(": ")
    } else {
        all
    }
}

/// The error for a request that got no HTTP reply (or whose reply broke off).
fn transport_error(provider: Provider, timeout: Duration, e: &reqwest::Error) -> LlmError {
    if e.is_timeout() {
        return LlmError::Timeout {
            provider: provider.to_string(),
            seconds: timeout.as_secs(),
        };
    }
    let url = e
        .url()
        .map(|u| {
            // A URL never carries a key here (keys travel in headers), but drop any query anyway.
            let mut u = u.clone();
            u.set_query(None);
            u.to_string()
        })
        .unwrap_or_else(|| "the provider".to_string());
    let cause = root_cause(e);
    let variable = base_url_variable(provider);
    let message = if e.is_builder() {
        format!(
            "the request could not be built ({cause}); check that the API key is one line with no spaces, and {variable}"
        )
    } else if e.is_connect() {
        format!("could not connect to {url}: {cause}; check {variable}")
    } else if e.is_body() || e.is_decode() {
        format!("the reply from {url} broke off: {cause}; the state machine retries")
    } else {
        format!("the request to {url} failed: {cause}; check {variable} and the network")
    };
    LlmError::Network {
        provider: provider.to_string(),
        message,
    }
}

/// Sends a request and reads the whole reply, mapping transport failures to [`LlmError`].
pub(crate) async fn send(
    provider: Provider,
    request: reqwest::RequestBuilder,
    timeout: Duration,
) -> Result<RawReply, LlmError> {
    let transport = |e: reqwest::Error| transport_error(provider, timeout, &e);
    let response = request.send().await.map_err(transport)?;
    let status = response.status().as_u16();
    let retry_after_seconds = retry_after(response.headers());
    let encoding = response
        .headers()
        .get(reqwest::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let bytes = response.bytes().await.map_err(transport)?;
    let body = decoded_body(&encoding, &bytes);
    Ok(RawReply {
        status,
        retry_after_seconds,
        body,
    })
}

/// The body as text, decompressed when it is gzip or deflate (zlib) data.
///
/// The adapters never ask for compression, but a proxy or a recorded reply may still carry
/// `content-encoding: gzip`. The header alone is not trusted: recorders often keep it while
/// storing the decoded body, so the bytes are decompressed only when they start with the
/// format's magic bytes, and are read as they are otherwise.
pub(crate) fn decoded_body(encoding: &str, bytes: &[u8]) -> String {
    use std::io::Read;
    let mut out = Vec::new();
    let decoded = if bytes.starts_with(&[0x1f, 0x8b]) {
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut out)
            .is_ok()
    } else if encoding.contains("deflate") && bytes.first() == Some(&0x78) {
        flate2::read::ZlibDecoder::new(bytes)
            .read_to_end(&mut out)
            .is_ok()
    } else {
        false
    };
    let text = if decoded { &out[..] } else { bytes };
    String::from_utf8_lossy(text)
        .trim_start_matches('\u{feff}')
        .to_string()
}

/// Seconds to wait from `retry-after-ms` or `retry-after` (seconds; an HTTP date counts as
/// unknown), else from OpenAI's `x-ratelimit-reset-requests` / `x-ratelimit-reset-tokens`
/// (`"120ms"`, `"6m0s"`), the longer of the two.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.trim().parse::<f64>().ok()) {
        return Some((ms / 1000.0).ceil().max(0.0) as u64);
    }
    if let Some(s) = get("retry-after").and_then(|v| v.trim().parse::<f64>().ok()) {
        return Some(s.ceil().max(0.0) as u64);
    }
    ["x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"]
        .iter()
        .filter_map(|name| get(name).and_then(go_duration_seconds))
        .reduce(f64::max)
        .map(|s| s.ceil().max(0.0) as u64)
}

/// Parses a Go-style duration (`"1h2m3.5s"`, `"120ms"`, `"6m0s"`) to seconds.
fn go_duration_seconds(text: &str) -> Option<f64> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            "us" | "µs" => 0.000_001,
            "ns" => 0.000_000_001,
            _ => return None,
        };
        total += value * factor;
        rest = &rest[unit_len..];
    }
    Some(total)
}

/// A base URL without its trailing `/` and without a trailing API version segment the adapter
/// adds itself (`/v1` for Anthropic, `/v1beta` for Gemini), so both spellings work.
pub(crate) fn base_url_without(base_url: String, version_segment: &str) -> String {
    let trimmed = base_url.trim_end_matches('/');
    trimmed
        .strip_suffix(version_segment)
        .unwrap_or(trimmed)
        .trim_end_matches('/')
        .to_string()
}

/// What a provider's error body says, for [`classify_http_error`].
pub(crate) struct ErrorDetail {
    /// The provider's message.
    pub message: String,
    /// The conversation no longer fits the context window.
    pub context_too_long: bool,
    /// The key was refused, whatever the status (Gemini says 400 for a bad key).
    pub auth_failed: bool,
    /// The provider said it is overloaded, whatever the status.
    pub overloaded: bool,
}

/// Maps an HTTP error status and its parsed body to the [`LlmError`] the state machine matches.
pub(crate) fn classify_http_error(
    provider: Provider,
    status: u16,
    retry_after_seconds: Option<u64>,
    detail: ErrorDetail,
) -> LlmError {
    let provider = provider.to_string();
    let message = detail.message;
    if detail.auth_failed || status == 401 || status == 402 || status == 403 {
        return LlmError::AuthFailed { provider, message };
    }
    if detail.context_too_long || status == 413 {
        return LlmError::ContextTooLong { provider, message };
    }
    if detail.overloaded || status == 529 || status == 503 {
        return LlmError::Overloaded {
            provider,
            status,
            message,
        };
    }
    match status {
        429 => LlmError::RateLimited {
            provider,
            message,
            retry_after_seconds,
        },
        408 | 504 => LlmError::ServerError {
            provider,
            status,
            message: format!("the provider timed out: {message}"),
        },
        500..=599 => LlmError::ServerError {
            provider,
            status,
            message,
        },
        _ => LlmError::BadRequest {
            provider,
            message: format!("HTTP {status}: {message}"),
        },
    }
}

/// The message of an error body that is not JSON: its first 500 characters.
pub(crate) fn body_excerpt(body: &str) -> String {
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return "(empty body)".to_string();
    }
    trimmed.chars().take(500).collect()
}

/// The error for a success reply whose body does not have the documented shape.
pub(crate) fn shape_error(
    provider: Provider,
    status: u16,
    error: impl std::fmt::Display,
) -> LlmError {
    LlmError::ServerError {
        provider: provider.to_string(),
        status,
        message: format!("the reply does not have the documented shape ({error})"),
    }
}

/// Parses the JSON body of a success reply.
pub(crate) fn parse_body<T: serde::de::DeserializeOwned>(
    provider: Provider,
    reply: &RawReply,
) -> Result<T, LlmError> {
    serde_json::from_str(&reply.body).map_err(|e| shape_error(provider, reply.status, e))
}

/// Whether a provider message says the input no longer fits the context window.
pub(crate) fn mentions_context_too_long(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "prompt is too long",
        "context_length_exceeded",
        "maximum context length",
        "context length",
        "context window",
        "input is too long",
        "too many input tokens",
        "input tokens exceeded",
        "input token count",
        "exceeds the maximum number of tokens",
        "too many tokens",
        // Anthropic: "input length and `max_tokens` exceed context limit: 198000 + 8192 > 200000".
        "context limit",
        // xAI: "This model's maximum prompt length is 131072 but the request contains …".
        "maximum prompt length",
        // Groq: "Please reduce the length of the messages or completion."
        "reduce the length of the messages",
    ]
    .iter()
    .any(|needle| m.contains(needle))
}

/// A tool call id that is the same every time the same reply is converted: the turn's position,
/// the call's position and a hash of its name and input. For providers whose calls carry no id.
pub fn stable_tool_call_id(prefix: &str, position: usize, name: &str, input: &Value) -> String {
    // FNV-1a: tiny, stable across Rust versions and platforms (unlike `DefaultHasher`).
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let input_text = input.to_string();
    for byte in name
        .as_bytes()
        .iter()
        .chain(b"\0")
        .chain(input_text.as_bytes())
    {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{prefix}_{position}_{hash:016x}")
}

/// A tool input for providers that need a JSON object: a non-object input (the raw text of
/// malformed arguments) is wrapped so the model still sees what it sent.
pub(crate) fn input_as_object(input: &Value) -> Value {
    match input {
        Value::Object(_) => input.clone(),
        Value::String(raw) => serde_json::json!({ "invalid_json_arguments": raw }),
        other => serde_json::json!({ "invalid_arguments": other }),
    }
}

/// The name of each tool call in the history, by id, for the `tool_result`s that answer them.
pub(crate) fn tool_names(messages: &[Message]) -> std::collections::HashMap<&str, &str> {
    // One pass over the history: looking each result's call up by scanning made a 100-turn
    // conversation quadratic. A later call with the same id wins, as the latest is the one answered.
    messages
        .iter()
        .flat_map(|m| &m.content)
        .filter_map(|b| match b {
            ContentBlock::ToolUse { id, name, .. } => Some((id.as_str(), name.as_str())),
            _ => None,
        })
        .collect()
}

/// The messages with consecutive messages of one role merged, empty text blocks and empty
/// messages dropped, and every tool call answered: the shape every provider accepts.
///
/// Anthropic, OpenAI, Gemini and Bedrock all refuse a history where an assistant's tool call is
/// not answered in the very next (user) message, or where a result answers no call of the message
/// before it ("tool_use ids were found without tool_result blocks immediately after", "An
/// assistant message with 'tool_calls' must be followed by tool messages", "Expected toolResult
/// blocks at messages.2.content"). A conversation can hold such a gap when an execution failed
/// between the model's call and its result and the conversation was continued later. So a call
/// without a result gets an error result saying it was not run, a result without its call becomes
/// text, and the results come first in their calls' order (Anthropic wants them before any text).
pub(crate) fn normalized_messages(messages: &[Message]) -> Vec<Message> {
    let mut merged: Vec<Message> = Vec::with_capacity(messages.len());
    for message in messages {
        let content: Vec<ContentBlock> = message
            .content
            .iter()
            .filter(|b| !matches!(b, ContentBlock::Text { text } if text.trim().is_empty()))
            .cloned()
            .collect();
        if content.is_empty() {
            continue;
        }
        match merged.last_mut() {
            Some(last) if last.role == message.role => last.content.extend(content),
            _ => merged.push(Message {
                role: message.role,
                content,
            }),
        }
    }
    let mut out: Vec<Message> = Vec::with_capacity(merged.len() + 1);
    let mut pending: Vec<String> = Vec::new();
    for message in merged {
        if message.role == agent_builder::Role::Assistant {
            if !pending.is_empty() {
                // Two assistant turns cannot follow each other after the merge, but stay safe.
                out.push(Message {
                    role: agent_builder::Role::User,
                    content: unanswered_results(&pending),
                });
            }
            pending = message
                .content
                .iter()
                .filter_map(|b| match b {
                    ContentBlock::ToolUse { id, .. } => Some(id.clone()),
                    _ => None,
                })
                .collect();
            out.push(message);
            continue;
        }
        let mut results: Vec<ContentBlock> = Vec::new();
        let mut others: Vec<ContentBlock> = Vec::new();
        for block in message.content {
            match block {
                ContentBlock::ToolResult {
                    ref tool_use_id,
                    ref content,
                    ..
                } => {
                    if let Some(position) = pending.iter().position(|id| id == tool_use_id) {
                        pending.remove(position);
                        results.push(block);
                    } else {
                        others.push(ContentBlock::Text {
                            text: format!(
                                "(Result of the earlier tool call {tool_use_id}:) {content}"
                            ),
                        });
                    }
                }
                other => others.push(other),
            }
        }
        results.extend(unanswered_results(&pending));
        pending.clear();
        if let Some(calls) = out
            .last()
            .filter(|m| m.role == agent_builder::Role::Assistant)
        {
            let order: Vec<&str> = calls
                .content
                .iter()
                .filter_map(|b| match b {
                    ContentBlock::ToolUse { id, .. } => Some(id.as_str()),
                    _ => None,
                })
                .collect();
            results.sort_by_key(|b| match b {
                ContentBlock::ToolResult { tool_use_id, .. } => order
                    .iter()
                    .position(|id| id == tool_use_id)
                    .unwrap_or(usize::MAX),
                _ => usize::MAX,
            });
        }
        results.extend(others);
        out.push(Message {
            role: agent_builder::Role::User,
            content: results,
        });
    }
    out
}

/// A tool call id in the alphabet Anthropic and Bedrock accept (`^[a-zA-Z0-9_-]+$`, at most 64
/// characters): an id written by another provider or server is rewritten the same way in the
/// call and in its result, so they still match. Ids already valid are kept as they are.
pub(crate) fn portable_tool_id(id: &str) -> String {
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if !id.is_empty() && id.len() <= 64 && id.chars().all(valid) {
        return id.to_string();
    }
    let cleaned: String = id
        .chars()
        .map(|c| if valid(c) { c } else { '_' })
        .take(40)
        .collect();
    // The hash keeps two ids that differ only in their rewritten characters apart.
    let hashed = stable_tool_call_id("id", 0, id, &Value::Null);
    format!("{cleaned}_{}", &hashed[hashed.len() - 16..])
}

/// Error results for tool calls that were never answered.
fn unanswered_results(ids: &[String]) -> Vec<ContentBlock> {
    ids.iter()
        .map(|id| ContentBlock::ToolResult {
            tool_use_id: id.clone(),
            content: "This tool call was not run: the turn ended before its result came back."
                .to_string(),
            is_error: true,
        })
        .collect()
}

/// A provider's error body read from a success (HTTP 200) reply: some proxies and
/// OpenAI-compatible gateways (OpenRouter, LiteLLM) answer 200 with `{"error": {…}}`. `None`
/// when the body holds no top-level `error`.
pub(crate) fn error_in_success_body(body: &str) -> Option<Value> {
    let value: Value = serde_json::from_str(body).ok()?;
    let value = match value {
        // Google sometimes wraps its error in a one-element array.
        Value::Array(mut items) if items.len() == 1 => items.pop()?,
        other => other,
    };
    let error = value.get("error")?;
    (!error.is_null()).then(|| value.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn api_key_never_prints() {
        let key = ApiKey::new("sk-secret");
        assert_eq!(format!("{key:?}"), "ApiKey(***)");
        assert_eq!(format!("{key}"), "***");
        assert_eq!(key.expose(), "sk-secret");
    }

    #[test]
    fn stable_ids_are_stable_and_distinct() {
        let a = stable_tool_call_id("call", 0, "calc", &json!({"x": 1}));
        assert_eq!(a, stable_tool_call_id("call", 0, "calc", &json!({"x": 1})));
        assert_ne!(a, stable_tool_call_id("call", 1, "calc", &json!({"x": 1})));
        assert_ne!(a, stable_tool_call_id("call", 0, "calc", &json!({"x": 2})));
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    }

    #[test]
    fn classifies_statuses() {
        let d = |m: &str| ErrorDetail {
            message: m.into(),
            context_too_long: false,
            auth_failed: false,
            overloaded: false,
        };
        let p = Provider::Anthropic;
        assert_eq!(
            classify_http_error(p, 429, Some(3), d("x")).error_name(),
            "LLM.RateLimited"
        );
        assert_eq!(
            classify_http_error(p, 529, None, d("x")).error_name(),
            "LLM.Overloaded"
        );
        assert_eq!(
            classify_http_error(p, 503, None, d("x")).error_name(),
            "LLM.Overloaded"
        );
        assert_eq!(
            classify_http_error(p, 500, None, d("x")).error_name(),
            "LLM.ServerError"
        );
        assert_eq!(
            classify_http_error(p, 400, None, d("x")).error_name(),
            "LLM.BadRequest"
        );
        assert_eq!(
            classify_http_error(p, 403, None, d("x")).error_name(),
            "LLM.AuthFailed"
        );
    }

    #[test]
    fn reads_rate_limit_waits() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            "x-ratelimit-reset-requests",
            reqwest::header::HeaderValue::from_static("120ms"),
        );
        headers.insert(
            "x-ratelimit-reset-tokens",
            reqwest::header::HeaderValue::from_static("6m0s"),
        );
        assert_eq!(retry_after(&headers), Some(360));
        headers.insert(
            "retry-after",
            reqwest::header::HeaderValue::from_static("7"),
        );
        assert_eq!(retry_after(&headers), Some(7));
        assert_eq!(go_duration_seconds("1h2m3.5s"), Some(3723.5));
        assert_eq!(go_duration_seconds("soon"), None);
    }

    #[test]
    fn base_urls_take_either_spelling() {
        assert_eq!(
            base_url_without("http://h:1/v1/".into(), "/v1"),
            "http://h:1"
        );
        assert_eq!(base_url_without("http://h:1".into(), "/v1"), "http://h:1");
        assert_eq!(
            base_url_without("http://h:1/v1beta".into(), "/v1beta"),
            "http://h:1"
        );
    }

    #[test]
    fn normalizes_roles_and_blank_text() {
        let messages = vec![
            Message::user_text("a"),
            Message::user_text("  "),
            Message::user_text("b"),
        ];
        let n = normalized_messages(&messages);
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].text(), "a\nb");
    }

    #[test]
    fn every_tool_call_is_answered_and_results_come_first() {
        let call = |id: &str| ContentBlock::ToolUse {
            id: id.into(),
            name: "t".into(),
            input: json!({}),
        };
        let result = |id: &str| ContentBlock::ToolResult {
            tool_use_id: id.into(),
            content: "ok".into(),
            is_error: false,
        };
        let messages = vec![
            Message::user_text("q"),
            Message {
                role: agent_builder::Role::Assistant,
                content: vec![call("a"), call("b"), call("c")],
            },
            // Text first, results out of order, `c` missing, and a stray result for `z`.
            Message {
                role: agent_builder::Role::User,
                content: vec![
                    ContentBlock::Text {
                        text: "more".into(),
                    },
                    result("b"),
                    result("z"),
                    result("a"),
                ],
            },
        ];
        let n = normalized_messages(&messages);
        assert_eq!(n.len(), 3);
        let summary: Vec<String> = n[2]
            .content
            .iter()
            .map(|b| match b {
                ContentBlock::ToolResult {
                    tool_use_id,
                    is_error,
                    ..
                } => format!("result {tool_use_id} {is_error}"),
                ContentBlock::Text { text } => format!("text {text}"),
                ContentBlock::ToolUse { id, .. } => format!("call {id}"),
            })
            .collect();
        assert_eq!(
            summary,
            [
                "result a false",
                "result b false",
                "result c true",
                "text more",
                "text (Result of the earlier tool call z:) ok",
            ]
        );
    }

    #[test]
    fn tool_ids_become_portable_and_stay_distinct() {
        assert_eq!(portable_tool_id("toolu_01A-b"), "toolu_01A-b");
        let a = portable_tool_id("call:1/a");
        let b = portable_tool_id("call:1.a");
        assert_ne!(a, b);
        assert!(a.starts_with("call_1_a_"));
        for id in [
            a,
            b,
            portable_tool_id(&"x".repeat(100)),
            portable_tool_id(""),
        ] {
            assert!(id.len() <= 64, "{id}");
            assert!(
                id.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
                "{id}"
            );
        }
    }

    #[test]
    fn bodies_decode_whatever_the_encoding_header_says() {
        use std::io::Write;
        let text = "{\"a\": 1}";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let _ = gz.write_all(text.as_bytes());
        let gzipped = gz.finish().unwrap_or_default();
        let mut zl = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        let _ = zl.write_all(text.as_bytes());
        let zlibbed = zl.finish().unwrap_or_default();
        assert_eq!(decoded_body("gzip", &gzipped), text);
        assert_eq!(decoded_body("", &gzipped), text);
        assert_eq!(decoded_body("deflate", &zlibbed), text);
        // A recorder kept the header but stored the decoded body.
        assert_eq!(decoded_body("gzip", text.as_bytes()), text);
        assert_eq!(decoded_body("", "\u{feff}{}".as_bytes()), "{}");
    }

    /// An error wrapping another, as reqwest and hyper wrap the I/O error.
    #[derive(Debug)]
    struct Wrapped(
        &'static str,
        Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    );

    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1
                .as_deref()
                .map(|e| e as &(dyn std::error::Error + 'static))
        }
    }

    #[test]
    fn root_causes_come_from_the_source_chain() {
        let chain = |inner: Box<dyn std::error::Error + Send + Sync>| {
            Wrapped(
                "error sending request for url (http://h/v1/x)",
                Some(Box::new(Wrapped("client error (Connect)", Some(inner)))),
            )
        };
        let refused = chain(Box::new(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        )));
        assert_eq!(root_cause(&refused), "connection refused");
        let dns = chain(Box::new(Wrapped(
            "dns error",
            Some(Box::new(Wrapped(
                "failed to lookup address information",
                None,
            ))),
        )));
        assert_eq!(
            root_cause(&dns),
            "the host name could not be resolved (failed to lookup address information)"
        );
        let tls = chain(Box::new(Wrapped(
            "invalid peer certificate: UnknownIssuer",
            None,
        )));
        assert_eq!(
            root_cause(&tls),
            "the TLS connection failed (invalid peer certificate: UnknownIssuer)"
        );
        let other = chain(Box::new(Wrapped("something odd", None)));
        assert_eq!(root_cause(&other), "something odd");
    }

    #[test]
    fn keys_are_trimmed_and_inner_whitespace_refused() {
        assert_eq!(
            ApiKey::parse(" sk-abc\n").map(|k| k.expose().to_string()),
            Ok("sk-abc".to_string())
        );
        assert_eq!(ApiKey::parse("sk-a\nb"), Err(InvalidKey::InnerWhitespace));
        assert_eq!(
            ApiKey::parse("sk-a\u{7}b"),
            Err(InvalidKey::InnerWhitespace)
        );
        assert_eq!(
            ApiKey::parse("sk-a\u{a0}b"),
            Err(InvalidKey::InnerWhitespace)
        );
        assert_eq!(ApiKey::parse(" \t"), Err(InvalidKey::Empty));
    }

    #[test]
    fn finds_error_bodies_in_success_replies() {
        assert!(error_in_success_body(r#"{"error": {"message": "x"}}"#).is_some());
        assert!(error_in_success_body(r#"[{"error": {"code": 429}}]"#).is_some());
        assert!(error_in_success_body(r#"{"choices": [], "error": null}"#).is_none());
        assert!(error_in_success_body(r#"{"id": "msg_1", "content": []}"#).is_none());
        assert!(error_in_success_body("not json").is_none());
    }

    #[test]
    fn detects_context_messages() {
        assert!(mentions_context_too_long(
            "prompt is too long: 208310 tokens > 200000 maximum"
        ));
        assert!(mentions_context_too_long(
            "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."
        ));
        assert!(!mentions_context_too_long("max_tokens: field required"));
    }
}
