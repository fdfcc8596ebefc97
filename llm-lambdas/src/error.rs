//! The errors of the LLM Lambdas, each with the error name the state machine matches.

use agent_builder::errors;

/// A failure of a model call or of the handler around it.
///
/// Each variant maps to one error name of [`agent_builder::errors`], which the Lambda reports as
/// its error type; the message is the cause a user reads in the console, so it says what
/// happened and what to do. It never holds an API key: each adapter passes its errors through
/// [`LlmError::redact`] with its own key before they leave it.
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
    /// A 4xx the provider answered (400, 404, …): the request was refused as malformed. The
    /// message starts with the real status (`HTTP 404: …`) or the provider's error type.
    #[error(
        "{provider} refused the request ({message}). Check the model id and the agent's tool schemas"
    )]
    BadRequest {
        /// The provider.
        provider: String,
        /// The provider's own message.
        message: String,
    },
    /// A call that cannot succeed as it is, found without an HTTP error: the scripted model ran
    /// out of turns, the adapter is misconfigured, the request could not be built, the model
    /// stopped without an answer. `LLM.BadRequest` (a retry would fail the same way); the message
    /// says what happened and what to do, with no HTTP advice.
    #[error("{provider}: {message}")]
    Invalid {
        /// The provider (or `scripted`).
        provider: String,
        /// What happened and what to do.
        message: String,
    },
    /// No HTTP reply at all: the connection was refused, the host name did not resolve, TLS
    /// failed, or the connection broke. `LLM.ServerError`, so the state machine retries it; the
    /// message names the URL, the real cause and the variable to check, and no status.
    #[error("{provider}: {message}")]
    Network {
        /// The provider.
        provider: String,
        /// What failed, its cause, and the variable to check.
        message: String,
    },
    /// A 5xx whose body says the server itself is set up wrong (a gateway missing its upstream's
    /// settings, a model too big for the machine, 501 Not Implemented): every retry would get the
    /// same answer, so it is `LLM.BadRequest`, which the state machine does not retry.
    #[error(
        "{provider}'s server answered HTTP {status} saying it is not set up to serve this request ({message}); a retry would fail the same way: fix the server's configuration or the base URL"
    )]
    Misconfigured {
        /// The provider.
        provider: String,
        /// The HTTP status.
        status: u16,
        /// The server's own message.
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
            LlmError::Invalid { .. } => errors::LLM_BAD_REQUEST,
            LlmError::Network { .. } => errors::LLM_SERVER_ERROR,
            LlmError::Misconfigured { .. } => errors::LLM_BAD_REQUEST,
        }
    }

    /// The same error with every trace of `secret` removed from its text: the exact value, and
    /// any prefix or suffix of it at least [`MIN_REDACTED_PART`] characters long (providers
    /// echo a refused key back, whole or masked like `sk-abc…***…xyz`, and a proxy may echo the
    /// `Authorization: Bearer …` header). Each adapter maps every error of its `complete`
    /// through this with its own key, so no error built from a provider's reply (or from the
    /// HTTP client's error, which can hold a URL) leaves the adapter holding the key.
    pub fn redact(self, secret: &str) -> LlmError {
        let r = |text: String| redact_text(&text, secret);
        match self {
            LlmError::RateLimited {
                provider,
                message,
                retry_after_seconds,
            } => LlmError::RateLimited {
                provider,
                message: r(message),
                retry_after_seconds,
            },
            LlmError::Overloaded {
                provider,
                status,
                message,
            } => LlmError::Overloaded {
                provider,
                status,
                message: r(message),
            },
            LlmError::Timeout { provider, seconds } => LlmError::Timeout { provider, seconds },
            LlmError::ServerError {
                provider,
                status,
                message,
            } => LlmError::ServerError {
                provider,
                status,
                message: r(message),
            },
            LlmError::BadRequest { provider, message } => LlmError::BadRequest {
                provider,
                message: r(message),
            },
            LlmError::AuthFailed { provider, message } => LlmError::AuthFailed {
                provider,
                message: r(message),
            },
            LlmError::ContextTooLong { provider, message } => LlmError::ContextTooLong {
                provider,
                message: r(message),
            },
            LlmError::Invalid { provider, message } => LlmError::Invalid {
                provider,
                message: r(message),
            },
            LlmError::Network { provider, message } => LlmError::Network {
                provider,
                message: r(message),
            },
            LlmError::Misconfigured {
                provider,
                status,
                message,
            } => LlmError::Misconfigured {
                provider,
                status,
                message: r(message),
            },
        }
    }
}

/// The shortest prefix or suffix of a key that [`LlmError::redact`] removes on its own: shorter
/// parts (OpenAI shows the last 4 characters of a refused key) say too little to matter, and
/// would redact ordinary words.
pub const MIN_REDACTED_PART: usize = 8;

/// What a redacted key reads as.
const REDACTED: &str = "***";

/// `text` with `secret`, and every prefix or suffix of it of at least [`MIN_REDACTED_PART`]
/// characters, replaced by `***`, in any letter case; and the key's base64 encodings (standard
/// and URL-safe, at each of the three byte alignments it can take inside a longer encoded text:
/// an `Authorization: Basic …` header, a token echoed encoded) likewise. An empty secret (a
/// local server without a key) changes nothing.
///
/// Letter case: a proxy or a logging layer may echo the key lowercased (HTTP header values
/// normalised, `x-api-key: sk-ant-abc…` as a log line), and base64 hides it from a plain search.
pub fn redact_text(text: &str, secret: &str) -> String {
    let secret = secret.trim();
    if secret.is_empty() {
        return text.to_string();
    }
    let mut out = replace_ignore_ascii_case(text, secret);
    for encoded in base64_cores(secret.as_bytes()) {
        if out.contains(&encoded) {
            out = out.replace(&encoded, REDACTED);
        }
    }
    // Char boundaries of the secret, so a part never splits a character.
    let bounds: Vec<usize> = secret
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(secret.len()))
        .collect();
    let chars = bounds.len() - 1;
    if chars <= MIN_REDACTED_PART {
        return out;
    }
    // Longest parts first, so a long match is never left half-redacted by a shorter one.
    for n in (MIN_REDACTED_PART..chars).rev() {
        let prefix = &secret[..bounds[n]];
        let suffix = &secret[bounds[chars - n]..];
        for part in [prefix, suffix] {
            out = replace_ignore_ascii_case(&out, part);
        }
    }
    out
}

/// `text` with every occurrence of `needle`, in any ASCII letter case, replaced by `***`.
/// ASCII lowercasing keeps every byte offset, so positions found in the lowercased text are
/// positions in the original.
fn replace_ignore_ascii_case(text: &str, needle: &str) -> String {
    let lower_text = text.to_ascii_lowercase();
    let lower_needle = needle.to_ascii_lowercase();
    if !lower_text.contains(&lower_needle) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    while let Some(found) = lower_text[from..].find(&lower_needle) {
        let start = from + found;
        out.push_str(&text[from..start]);
        out.push_str(REDACTED);
        from = start + lower_needle.len();
    }
    out.push_str(&text[from..]);
    out
}

/// The parts of the key's base64 encodings that appear whatever surrounds the key: for each
/// alignment (the key starting 0, 1 or 2 bytes into a 3-byte group), the encoding of the key's
/// whole 3-byte groups from the first group boundary on, in the standard and URL-safe alphabets.
/// Parts shorter than [`MIN_REDACTED_PART`] are left out, as for plain parts.
fn base64_cores(key: &[u8]) -> Vec<String> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut cores = Vec::new();
    for skip in 0..3 {
        let Some(rest) = key.get(skip..) else { break };
        let whole = rest.len() / 3 * 3;
        let mut encoded = String::with_capacity(whole / 3 * 4);
        for group in rest[..whole].chunks_exact(3) {
            let n = (u32::from(group[0]) << 16) | (u32::from(group[1]) << 8) | u32::from(group[2]);
            for shift in [18, 12, 6, 0] {
                encoded.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            }
        }
        if encoded.len() >= MIN_REDACTED_PART {
            let url_safe = encoded.replace('+', "-").replace('/', "_");
            if url_safe != encoded {
                cores.push(url_safe);
            }
            cores.push(encoded);
        }
    }
    cores
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_the_key_its_bearer_form_and_long_parts() {
        let key = "sk-SECRETKEY123456";
        let text = format!(
            "Incorrect API key provided: {key}. Authorization: Bearer {key}. Masked: sk-SECRETK***3456 and ***ETKEY123456. Short: sk-S"
        );
        let out = redact_text(&text, key);
        assert!(!out.contains("SECRETK"), "{out}");
        assert!(!out.contains("ETKEY123456"), "{out}");
        assert!(out.contains("Bearer ***"), "{out}");
        assert!(out.contains("Short: sk-S"), "{out}");
        assert_eq!(redact_text("nothing here", key), "nothing here");
        assert_eq!(redact_text("abc", ""), "abc");
        // A short key is still removed when it appears whole.
        assert_eq!(redact_text("key k3y! used", "k3y!"), "key *** used");
    }

    #[test]
    fn redacts_the_key_lowercased_uppercased_and_base64_encoded() {
        let key = "sk-ant-api03-AbCdEfGhIjKlMnOp";
        // Standard base64 of the key alone, of `user:key` (Basic auth), and URL-safe.
        let b64 = |s: &str| {
            let cores = base64_cores(s.as_bytes());
            assert!(!cores.is_empty());
            cores
        };
        let plain_b64 = "c2stYW50LWFwaTAzLUFiQ2RFZkdoSWpLbE1uT3A=";
        let basic_b64 = "dXNlcjpzay1hbnQtYXBpMDMtQWJDZEVmR2hJaktsTW5PcA==";
        let _ = b64(key);
        for text in [
            format!("echo: {}", key.to_ascii_lowercase()),
            format!("echo: {}", key.to_ascii_uppercase()),
            format!("Authorization: Basic {plain_b64}"),
            format!("Authorization: Basic {basic_b64}"),
            format!("token={}", plain_b64.replace('+', "-").replace('/', "_")),
        ] {
            let out = redact_text(&text, key);
            assert!(!out.to_ascii_lowercase().contains("abcdefghijkl"), "{out}");
            assert!(!out.contains("QWJDZEVmR2hJaktsTW5P"), "{out}");
            assert!(!out.contains("FiQ2RFZkdoSWpLbE1uT3"), "{out}");
            assert!(out.contains("***"), "{out}");
        }
        // Ordinary text is left alone.
        assert_eq!(redact_text("nothing Here", key), "nothing Here");
    }

    #[test]
    fn every_variant_is_redacted() {
        let key = "AIzaSyTESTKEY0123456789";
        let errors = [
            LlmError::AuthFailed {
                provider: "Gemini".into(),
                message: format!("bad key {key}"),
            },
            LlmError::BadRequest {
                provider: "Gemini".into(),
                message: format!("HTTP 400: {key}"),
            },
            LlmError::Network {
                provider: "Gemini".into(),
                message: format!("http://h/?key={key}"),
            },
            LlmError::ServerError {
                provider: "Gemini".into(),
                status: 500,
                message: key.into(),
            },
            LlmError::RateLimited {
                provider: "Gemini".into(),
                message: key.into(),
                retry_after_seconds: Some(1),
            },
        ];
        for error in errors {
            let name = error.error_name();
            let redacted = error.redact(key);
            assert_eq!(redacted.error_name(), name);
            assert!(!redacted.to_string().contains("TESTKEY"), "{redacted}");
        }
    }
}
