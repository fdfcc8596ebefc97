//! Error classification: what an HTTP error status and a provider's error body mean for the
//! state machine (the error names of `agent_builder::errors`), shared by every HTTP adapter.

use agent_builder::Provider;
use serde_json::Value;

#[cfg(any(feature = "anthropic", feature = "openai", feature = "gemini"))]
use super::transport::RawReply;
use crate::error::LlmError;

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
    if (500..=599).contains(&status) {
        let lower = message.to_ascii_lowercase();
        if status == 501 || status == 505 || mentions_misconfiguration(&lower) {
            return LlmError::Misconfigured {
                provider,
                status,
                message,
            };
        }
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

/// Whether a (lowercased) 5xx message says the server itself is set up wrong, so that every
/// retry fails the same way: a gateway without the upstream's settings, a model that does not
/// fit the machine, a feature the server was not built with. Retrying such a 500 five times
/// only spends the back-off (about two minutes) before the same answer.
fn mentions_misconfiguration(lower: &str) -> bool {
    [
        "misconfigured",
        "misconfiguration",
        "not configured",
        "no deployments",
        "llm provider not provided",
        "is not supported by this server",
        "not implemented",
        // Ollama: "model requires more system memory (5.5 GiB) than is available (3.1 GiB)".
        "requires more system memory",
        // llama.cpp and Ollama: a model file that cannot be loaded.
        "failed to load model",
        "unable to load model",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
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
///
/// `LLM.ServerError` (a proxy's hiccup may pass), never an empty answer: a body that parses into
/// nothing (`{}`, another provider's reply) must not be stored as the model's turn.
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

/// The error for a success reply that is not `provider`'s reply, saying what it looks like
/// instead (another provider's body means the base URL points at the wrong server).
pub(crate) fn not_the_reply_of(provider: Provider, status: u16, body: &str) -> LlmError {
    let value: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let looks_like = foreign_shape(&value);
    let advice = format!(
        "; check {} points at {provider}'s API",
        super::config::base_url_variable(provider)
    );
    shape_error(
        provider,
        status,
        match looks_like {
            Some(what) => format!("it looks like {what}{advice}"),
            None => format!("no answer in it: {}{advice}", body_excerpt(body)),
        },
    )
}

/// What a JSON body looks like, by the fields that mark each provider's reply.
fn foreign_shape(value: &Value) -> Option<&'static str> {
    let has = |key: &str| value.get(key).is_some();
    let Value::Object(fields) = value else {
        return Some("no JSON object");
    };
    if fields.is_empty() {
        return Some("an empty JSON object `{}`");
    }
    if value.get("type").and_then(Value::as_str) == Some("message") && has("content") {
        Some("an Anthropic Messages reply")
    } else if has("choices") {
        Some("an OpenAI Chat Completions reply")
    } else if value.get("object").and_then(Value::as_str) == Some("response")
        || has("output") && has("status")
    {
        Some("an OpenAI Responses reply")
    } else if has("candidates") || has("usageMetadata") {
        Some("a Gemini generateContent reply")
    } else if value.pointer("/output/message").is_some() {
        Some("a Bedrock Converse reply")
    } else {
        None
    }
}

/// Parses the JSON body of a success reply.
#[cfg(any(feature = "anthropic", feature = "openai", feature = "gemini"))]
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
        // llama.cpp (`exceed_context_size_error`): "request (4476 tokens) exceeds the available
        // context size (4096 tokens), try increasing it".
        "exceed_context_size",
        "exceeds the available context size",
    ]
    .iter()
    .any(|needle| m.contains(needle))
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
