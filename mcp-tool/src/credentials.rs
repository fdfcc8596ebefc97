//! An MCP server's credentials: a Secrets Manager secret read with the LLM Lambdas' helper
//! ([`llm_lambdas::secrets::SecretsManagerSource`]) and cached for the same TTL
//! (`API_KEY_TTL_SECONDS`, default 300 s); a local run may set them in an environment variable
//! instead (`MCP_<SERVER>_SECRET`, the server's name in capitals with `-` as `_`), as
//! `ANTHROPIC_API_KEY` overrides the API-key secret.
//!
//! The secret holds a bearer token as plain text, or a JSON object with a `token` (sent as
//! `Authorization: Bearer …`) and/or `headers` (`{"X-Api-Key": "…"}`, sent as they are). A
//! credential is never logged and never put in an error.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use llm_lambdas::secrets::{SecretSource, SecretsError, SecretsManagerSource, ttl_from_env};
use serde_json::Value;
use tokio::sync::Mutex;

/// The most bytes a credentials secret may hold.
const MAX_SECRET_BYTES: usize = 16 * 1024;

/// What is sent to a server with each request.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// Sent as `Authorization: Bearer <token>`.
    pub bearer_token: Option<String>,
    /// Sent as they are.
    pub headers: Vec<(String, String)>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("bearer_token", &self.bearer_token.as_ref().map(|_| "…"))
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Credentials {
    /// The credentials in a secret's text: a bearer token, or `{"token": …, "headers": {…}}`.
    /// The error says what is wrong without repeating the value.
    pub fn parse(text: &str) -> Result<Credentials, String> {
        if text.len() > MAX_SECRET_BYTES {
            return Err(format!(
                "it holds {} bytes, more than {MAX_SECRET_BYTES}",
                text.len()
            ));
        }
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err("it is empty".to_owned());
        }
        if !trimmed.starts_with('{') {
            check_header_value("the token", trimmed)?;
            return Ok(Credentials {
                bearer_token: Some(trimmed.to_owned()),
                headers: Vec::new(),
            });
        }
        let object: serde_json::Map<String, Value> =
            serde_json::from_str(trimmed).map_err(|e| {
                format!(
                    "it is not a JSON object (line {}, column {})",
                    e.line(),
                    e.column()
                )
            })?;
        let mut credentials = Credentials::default();
        for (key, value) in &object {
            match key.as_str() {
                "token" => {
                    let token = value.as_str().map(str::trim).unwrap_or_default();
                    if token.is_empty() {
                        return Err("its `token` is not a non-empty string".to_owned());
                    }
                    check_header_value("its `token`", token)?;
                    credentials.bearer_token = Some(token.to_owned());
                }
                "headers" => {
                    let Some(headers) = value.as_object() else {
                        return Err("its `headers` is not an object of strings".to_owned());
                    };
                    for (name, value) in headers {
                        let Some(value) = value.as_str() else {
                            return Err(format!("its header `{name}` is not a string"));
                        };
                        if name.is_empty()
                            || !name
                                .bytes()
                                .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
                        {
                            return Err(format!(
                                "its header name `{name}` is not a valid HTTP header name"
                            ));
                        }
                        check_header_value(&format!("its header `{name}`"), value)?;
                        credentials.headers.push((name.clone(), value.to_owned()));
                    }
                }
                other => {
                    return Err(format!(
                        "it has a key `{other}`; a credentials secret holds `token` and/or `headers`"
                    ));
                }
            }
        }
        if credentials.bearer_token.is_none() && credentials.headers.is_empty() {
            return Err("it has neither `token` nor `headers`".to_owned());
        }
        Ok(credentials)
    }
}

fn check_header_value(what: &str, value: &str) -> Result<(), String> {
    if value.bytes().any(|b| b.is_ascii_control() || b >= 0x80) {
        return Err(format!(
            "{what} holds a control or non-ASCII character, which an HTTP header cannot carry"
        ));
    }
    Ok(())
}

/// The environment variable that overrides server `server`'s secret in local runs:
/// `docs-search` → `MCP_DOCS_SEARCH_SECRET`.
pub fn env_var(server: &str) -> String {
    format!(
        "MCP_{}_SECRET",
        server.to_ascii_uppercase().replace('-', "_")
    )
}

/// The credentials of the servers a process talks to: environment overrides, then the secrets,
/// each cached for a TTL. An unreadable or malformed secret is never cached.
pub struct CredentialStore {
    source: Arc<dyn SecretSource>,
    ttl: Duration,
    read_env: bool,
    cache: Mutex<HashMap<String, (Credentials, Instant)>>,
}

impl std::fmt::Debug for CredentialStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialStore")
            .field("ttl", &self.ttl)
            .field("read_env", &self.read_env)
            .finish_non_exhaustive()
    }
}

impl CredentialStore {
    /// Secrets Manager with the TTL of `API_KEY_TTL_SECONDS`, overridden by `MCP_<SERVER>_SECRET`
    /// variables.
    pub fn from_env() -> Self {
        Self::new(Arc::new(SecretsManagerSource::from_env()), ttl_from_env()).with_env_overrides()
    }

    /// Secrets read through `source`, cached for `ttl`; no environment overrides.
    pub fn new(source: Arc<dyn SecretSource>, ttl: Duration) -> Self {
        Self {
            source,
            ttl,
            read_env: false,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Lets `MCP_<SERVER>_SECRET` hold a server's credentials instead of its secret.
    pub fn with_env_overrides(mut self) -> Self {
        self.read_env = true;
        self
    }

    /// The credentials of `server`, whose secret is `secret` (none: no credentials, unless the
    /// environment has some).
    pub async fn get(&self, server: &str, secret: Option<&str>) -> Result<Credentials, String> {
        if self.read_env {
            let variable = env_var(server);
            if let Some(text) = std::env::var(&variable)
                .ok()
                .filter(|t| !t.trim().is_empty())
            {
                return Credentials::parse(&text).map_err(|why| format!("{variable}: {why}"));
            }
        }
        let Some(secret) = secret else {
            return Ok(Credentials::default());
        };
        let mut cache = self.cache.lock().await;
        if let Some((credentials, read_at)) = cache.get(secret)
            && read_at.elapsed() < self.ttl
        {
            return Ok(credentials.clone());
        }
        let text = self
            .source
            .secret_string(secret)
            .await
            .map_err(|e| match e {
                SecretsError::Unreadable { message, .. } => format!(
                    "could not read it ({message}); check that it exists in this region and that \
                     the role may call secretsmanager:GetSecretValue on it"
                ),
                SecretsError::Malformed { message, .. } => message,
                other => other.to_string(),
            })?;
        let credentials = Credentials::parse(&text)?;
        cache.insert(secret.to_owned(), (credentials.clone(), Instant::now()));
        Ok(credentials)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_secret_is_a_token_or_token_and_headers() {
        let plain = Credentials::parse("  abc123\n").expect("a token");
        assert_eq!(plain.bearer_token.as_deref(), Some("abc123"));
        let both = Credentials::parse(r#"{"token": "t", "headers": {"X-Api-Key": "k"}}"#)
            .expect("token and headers");
        assert_eq!(both.bearer_token.as_deref(), Some("t"));
        assert_eq!(both.headers, vec![("X-Api-Key".to_owned(), "k".to_owned())]);
    }

    #[test]
    fn a_bad_secret_says_what_is_wrong_without_its_value() {
        for (text, expected) in [
            ("", "empty"),
            ("{\"tokn\": \"hunter2\"}", "key `tokn`"),
            ("{\"token\": 5}", "non-empty string"),
            ("{\"headers\": {\"X Bad\": \"hunter2\"}}", "header name"),
            ("{\"headers\": {\"X-Key\": \"hunter2\\n\"}}", "control"),
            ("{}", "neither"),
            ("{not json hunter2", "not a JSON object"),
        ] {
            let error = Credentials::parse(text).expect_err(text);
            assert!(error.contains(expected), "{text}: {error}");
            assert!(!error.contains("hunter2"), "{error}");
        }
        assert!(
            !format!("{:?}", Credentials::parse("hunter2").expect("token")).contains("hunter2")
        );
    }

    #[test]
    fn the_override_variable_follows_the_server_name() {
        assert_eq!(env_var("docs-search"), "MCP_DOCS_SEARCH_SECRET");
    }

    struct Counting(AtomicUsize);

    #[async_trait::async_trait]
    impl SecretSource for Counting {
        async fn secret_string(&self, secret_id: &str) -> Result<String, SecretsError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            if secret_id == "missing" {
                return Err(SecretsError::Unreadable {
                    secret_id: secret_id.into(),
                    message: "ResourceNotFoundException".into(),
                });
            }
            Ok("token-1".into())
        }
    }

    #[tokio::test]
    async fn secrets_are_cached_for_the_ttl_and_errors_are_not() {
        let source = Arc::new(Counting(AtomicUsize::new(0)));
        let store = CredentialStore::new(source.clone(), Duration::from_secs(300));
        for _ in 0..3 {
            let c = store
                .get("docs", Some("mcp/docs"))
                .await
                .expect("credentials");
            assert_eq!(c.bearer_token.as_deref(), Some("token-1"));
        }
        assert_eq!(source.0.load(Ordering::SeqCst), 1);
        for _ in 0..2 {
            let error = store
                .get("docs", Some("missing"))
                .await
                .expect_err("unreadable");
            assert!(error.contains("ResourceNotFoundException"), "{error}");
        }
        assert_eq!(source.0.load(Ordering::SeqCst), 3);
        let expired = CredentialStore::new(source.clone(), Duration::ZERO);
        expired.get("docs", Some("mcp/docs")).await.expect("first");
        expired.get("docs", Some("mcp/docs")).await.expect("second");
        assert_eq!(source.0.load(Ordering::SeqCst), 5);
        assert_eq!(
            store.get("docs", None).await.expect("no secret"),
            Credentials::default()
        );
    }
}
