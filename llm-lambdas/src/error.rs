//! The errors of the LLM Lambdas, each with the error name the state machine matches.

use agent_builder::errors;

/// A failure of a model call or of the handler around it.
///
/// Each variant maps to one error name of [`agent_builder::errors`], which the Lambda reports as
/// its error type; the message is the cause a user reads in the console, so it says what
/// happened and what to do. It never holds an API key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlmError {
    /// 429 from the provider.
    #[error("{provider} rate-limited the request (HTTP 429){}: {message}", retry_after_text(.retry_after_seconds))]
    RateLimited {
        /// The provider.
        provider: String,
        /// The provider's own message.
        message: String,
        /// Seconds the provider asked us to wait, from `retry-after`.
        retry_after_seconds: Option<u64>,
    },
    /// 529 or 503: the provider is overloaded.
    #[error(
        "{provider} is overloaded (HTTP {status}); the state machine retries with back-off: {message}"
    )]
    Overloaded {
        /// The provider.
        provider: String,
        /// The HTTP status.
        status: u16,
        /// The provider's own message.
        message: String,
    },
    /// The provider did not answer in time.
    #[error("{provider} did not answer within {seconds} s; the state machine retries")]
    Timeout {
        /// The provider.
        provider: String,
        /// The time limit that passed.
        seconds: u64,
    },
    /// Another 5xx.
    #[error("{provider} failed with HTTP {status}: {message}")]
    ServerError {
        /// The provider.
        provider: String,
        /// The HTTP status.
        status: u16,
        /// The provider's own message.
        message: String,
    },
    /// 400: the request was refused as malformed.
    #[error(
        "{provider} refused the request (HTTP 400): {message}. Check the model id and the agent's tool schemas"
    )]
    BadRequest {
        /// The provider.
        provider: String,
        /// The provider's own message.
        message: String,
    },
    /// 401/403, or no key at all.
    #[error(
        "{provider} refused the API key: {message}. Put a valid key in the secret (or the environment variable for local runs)"
    )]
    AuthFailed {
        /// The provider.
        provider: String,
        /// What was refused, without the key.
        message: String,
    },
    /// The conversation no longer fits the model's context window.
    #[error(
        "the conversation is too long for {provider}'s model: {message}. Start a new conversation or use a model with a larger context"
    )]
    ContextTooLong {
        /// The provider.
        provider: String,
        /// The provider's own message.
        message: String,
    },
}

fn retry_after_text(seconds: &Option<u64>) -> String {
    match seconds {
        Some(s) => format!(", retry after {s} s"),
        None => String::new(),
    }
}

impl LlmError {
    /// The error name the state machine matches (`LLM.RateLimited`, …).
    pub fn error_name(&self) -> &'static str {
        match self {
            LlmError::RateLimited { .. } => errors::LLM_RATE_LIMITED,
            LlmError::Overloaded { .. } => errors::LLM_OVERLOADED,
            LlmError::Timeout { .. } => errors::LLM_TIMEOUT,
            LlmError::ServerError { .. } => errors::LLM_SERVER_ERROR,
            LlmError::BadRequest { .. } => errors::LLM_BAD_REQUEST,
            LlmError::AuthFailed { .. } => errors::LLM_AUTH_FAILED,
            LlmError::ContextTooLong { .. } => errors::LLM_CONTEXT_TOO_LONG,
        }
    }
}
