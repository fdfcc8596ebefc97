//! API keys: a type that never prints, and the check of a pasted key.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_never_prints() {
        let key = ApiKey::new("sk-secret");
        assert_eq!(format!("{key:?}"), "ApiKey(***)");
        assert_eq!(format!("{key}"), "***");
        assert_eq!(key.expose(), "sk-secret");
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
}
