//! API keys: one Secrets Manager secret holding a JSON object with one key per provider
//! (`{"anthropic": "...", "openai": "...", "gemini": "..."}`), read once per warm Lambda and
//! cached; an environment variable (`ANTHROPIC_API_KEY`, `OPENAI_API_KEY`, `GEMINI_API_KEY`)
//! overrides it, for local runs.
//!
//! A key is never logged, never returned in a response and never put in an error: errors name
//! the secret and the JSON key to fix, and [`ApiKey`] never prints its value.

use std::collections::HashMap;
use std::sync::Arc;

use agent_builder::Provider;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata};
use tokio::sync::OnceCell;

use crate::error::LlmError;
pub use crate::providers::{ApiKey, InvalidKey};

/// Why no key could be had.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SecretsError {
    /// No secret is configured and no environment variable holds the key.
    #[error(
        "no API key for {provider}: set {env_var} (local runs) or SECRET_ARN to a Secrets Manager secret with a `{json_key}` key"
    )]
    NotConfigured {
        /// The provider.
        provider: Provider,
        /// The environment variable that would override the secret.
        env_var: &'static str,
        /// The JSON key the secret would hold.
        json_key: &'static str,
    },
    /// The secret could not be read.
    #[error(
        "could not read the API-key secret `{secret_id}`: {message}. Check that it exists in the Lambda's region and that the Lambda's role may call secretsmanager:GetSecretValue on it"
    )]
    Unreadable {
        /// The secret's ARN or name.
        secret_id: String,
        /// What the service said.
        message: String,
    },
    /// The secret is not a JSON object of strings.
    #[error(
        "the API-key secret `{secret_id}` is not a JSON object of strings ({message}); store it as {{\"anthropic\": \"...\", \"openai\": \"...\", \"gemini\": \"...\"}}"
    )]
    Malformed {
        /// The secret's ARN or name.
        secret_id: String,
        /// What is wrong with it, without its content.
        message: String,
    },
    /// The secret has no key for this provider.
    #[error(
        "the API-key secret `{secret_id}` has no `{json_key}` key (or it is empty); add the {provider} API key under `{json_key}`, or set {env_var}"
    )]
    MissingKey {
        /// The secret's ARN or name.
        secret_id: String,
        /// The provider.
        provider: Provider,
        /// The missing JSON key.
        json_key: &'static str,
        /// The environment variable that would override the secret.
        env_var: &'static str,
    },
    /// The key is there but cannot be used (whitespace or a control character inside it).
    #[error("the {provider} API key in {origin} cannot be used: {problem}")]
    InvalidKey {
        /// The provider.
        provider: Provider,
        /// Where the key is: the variable, or the secret and its JSON key.
        origin: String,
        /// What is wrong with it (never the key).
        problem: InvalidKey,
    },
}

impl SecretsError {
    /// The provider whose key could not be had, when the error is about one.
    fn provider(&self) -> Option<Provider> {
        match self {
            SecretsError::NotConfigured { provider, .. }
            | SecretsError::MissingKey { provider, .. }
            | SecretsError::InvalidKey { provider, .. } => Some(*provider),
            _ => None,
        }
    }
}

impl From<SecretsError> for LlmError {
    fn from(e: SecretsError) -> Self {
        LlmError::AuthFailed {
            provider: e
                .provider()
                .map_or_else(|| "the provider".to_string(), |p| p.to_string()),
            message: e.to_string(),
        }
    }
}

/// The environment variable that overrides a provider's key; `None` for Bedrock, which signs
/// requests with the Lambda's role instead.
pub fn env_var(provider: Provider) -> Option<&'static str> {
    match provider {
        Provider::Anthropic => Some(crate::providers::anthropic::API_KEY_ENV),
        Provider::OpenAi => Some(crate::providers::openai::API_KEY_ENV),
        Provider::Gemini => Some(crate::providers::gemini::API_KEY_ENV),
        Provider::Bedrock => None,
    }
}

/// Where the secret's text comes from: Secrets Manager in a Lambda, anything in tests.
#[async_trait::async_trait]
pub trait SecretSource: Send + Sync {
    /// The secret's string value.
    async fn secret_string(&self, secret_id: &str) -> Result<String, SecretsError>;
}

/// Secrets Manager's `GetSecretValue`, with the client built on first use (nothing at init).
#[derive(Debug, Default)]
pub struct SecretsManagerSource {
    client: OnceCell<aws_sdk_secretsmanager::Client>,
}

impl SecretsManagerSource {
    /// A source whose client is built from the AWS environment on first use.
    pub fn from_env() -> Self {
        Self::default()
    }

    /// A source using this client (a local endpoint in tests).
    pub fn with_client(client: aws_sdk_secretsmanager::Client) -> Self {
        Self {
            client: OnceCell::new_with(Some(client)),
        }
    }
}

#[async_trait::async_trait]
impl SecretSource for SecretsManagerSource {
    async fn secret_string(&self, secret_id: &str) -> Result<String, SecretsError> {
        let client = self
            .client
            .get_or_init(|| async {
                let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
                aws_sdk_secretsmanager::Client::new(&config)
            })
            .await;
        let out = client
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| SecretsError::Unreadable {
                secret_id: secret_id.to_string(),
                message: match e.code() {
                    Some(code) => format!("{code}: {}", e.message().unwrap_or_default()),
                    None => DisplayErrorContext(&e).to_string(),
                },
            })?;
        out.secret_string.ok_or_else(|| SecretsError::Malformed {
            secret_id: secret_id.to_string(),
            message: "it holds binary data, not a string".into(),
        })
    }
}

/// The API keys of a warm Lambda: environment overrides, then the secret, read once.
pub struct ApiKeys {
    secret_id: Option<String>,
    source: Arc<dyn SecretSource>,
    overrides: HashMap<Provider, ApiKey>,
    /// Variables set to something that is not a usable key: an error on `get`, not a fallback
    /// to the secret (which would hide the typo).
    invalid_overrides: HashMap<Provider, (&'static str, InvalidKey)>,
    cache: OnceCell<HashMap<String, String>>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeys")
            .field("secret_id", &self.secret_id)
            .field("overridden", &self.overrides.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl ApiKeys {
    /// Keys from the environment: the secret named by `SECRET_ARN` (or `API_KEYS_SECRET_ID`),
    /// overridden per provider by `ANTHROPIC_API_KEY`, `OPENAI_API_KEY`, `GEMINI_API_KEY`. Reads
    /// only environment variables; the secret is fetched on the first [`ApiKeys::get`].
    pub fn from_env() -> Self {
        let secret_id = std::env::var("SECRET_ARN")
            .or_else(|_| std::env::var("API_KEYS_SECRET_ID"))
            .ok()
            .filter(|s| !s.trim().is_empty());
        let mut overrides = HashMap::new();
        let mut invalid_overrides = HashMap::new();
        for p in Provider::ALL {
            let Some(variable) = env_var(p) else { continue };
            let Some(raw) = std::env::var(variable)
                .ok()
                .filter(|k| !k.trim().is_empty())
            else {
                continue;
            };
            match ApiKey::parse(&raw) {
                Ok(key) => {
                    overrides.insert(p, key);
                }
                Err(problem) => {
                    invalid_overrides.insert(p, (variable, problem));
                }
            }
        }
        let mut keys = Self::new(
            secret_id,
            Arc::new(SecretsManagerSource::from_env()),
            overrides,
        );
        keys.invalid_overrides = invalid_overrides;
        keys
    }

    /// Keys from `secret_id` read through `source`, with `overrides` taking precedence.
    pub fn new(
        secret_id: Option<String>,
        source: Arc<dyn SecretSource>,
        overrides: HashMap<Provider, ApiKey>,
    ) -> Self {
        Self {
            secret_id,
            source,
            overrides,
            invalid_overrides: HashMap::new(),
            cache: OnceCell::new(),
        }
    }

    /// The key of `provider`: its environment override, else its entry in the secret (fetched
    /// once, then cached for the life of the process).
    pub async fn get(&self, provider: Provider) -> Result<ApiKey, SecretsError> {
        if let Some(key) = self.overrides.get(&provider) {
            return Ok(key.clone());
        }
        if let Some((variable, problem)) = self.invalid_overrides.get(&provider) {
            return Err(SecretsError::InvalidKey {
                provider,
                origin: format!("the variable {variable}"),
                problem: *problem,
            });
        }
        let json_key = provider.as_str();
        let env_var = env_var(provider).unwrap_or("no variable (Bedrock uses the IAM role)");
        let Some(secret_id) = &self.secret_id else {
            return Err(SecretsError::NotConfigured {
                provider,
                env_var,
                json_key,
            });
        };
        let keys = self
            .cache
            .get_or_try_init(|| async {
                let text = self.source.secret_string(secret_id).await?;
                parse_secret(secret_id, &text)
            })
            .await?;
        let raw = keys
            .get(json_key)
            .filter(|k| !k.trim().is_empty())
            .ok_or_else(|| SecretsError::MissingKey {
                secret_id: secret_id.clone(),
                provider,
                json_key,
                env_var,
            })?;
        ApiKey::parse(raw).map_err(|problem| SecretsError::InvalidKey {
            provider,
            origin: format!("the secret `{secret_id}` under `{json_key}`"),
            problem,
        })
    }
}

fn parse_secret(secret_id: &str, text: &str) -> Result<HashMap<String, String>, SecretsError> {
    let malformed = |message: &str| SecretsError::Malformed {
        secret_id: secret_id.to_string(),
        message: message.to_string(),
    };
    // serde_json's error messages quote no input, but say nothing of it anyway: the text is a key.
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|_| malformed("it is not valid JSON"))?;
    let object = value
        .as_object()
        .ok_or_else(|| malformed("it is JSON but not an object"))?;
    let mut keys = HashMap::new();
    for (name, v) in object {
        match v.as_str() {
            Some(s) => {
                keys.insert(name.clone(), s.to_string());
            }
            None => return Err(malformed(&format!("the value of `{name}` is not a string"))),
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(&'static str);

    #[async_trait::async_trait]
    impl SecretSource for Fixed {
        async fn secret_string(&self, _: &str) -> Result<String, SecretsError> {
            Ok(self.0.to_string())
        }
    }

    #[tokio::test]
    async fn the_override_wins_and_errors_never_hold_the_secret() {
        let keys = ApiKeys::new(
            Some("arn:secret".into()),
            Arc::new(Fixed(r#"{"anthropic": "sk-ant-SECRET", "openai": 5}"#)),
            HashMap::from([(Provider::Gemini, ApiKey::new("env-key"))]),
        );
        let gemini = keys.get(Provider::Gemini).await.expect("override");
        assert_eq!(gemini.expose(), "env-key");
        let err = keys.get(Provider::Anthropic).await.expect_err("malformed");
        let text = err.to_string();
        assert!(text.contains("`openai` is not a string"), "{text}");
        assert!(text.contains("arn:secret"), "{text}");
        assert!(!text.contains("SECRET\""), "{text}");
        assert!(!text.contains("sk-ant"), "{text}");
        assert!(!format!("{:?}", ApiKey::new("sk-ant-SECRET")).contains("sk-ant"));
    }

    #[tokio::test]
    async fn keys_are_trimmed_and_inner_whitespace_is_refused() {
        let keys = ApiKeys::new(
            Some("arn:secret".into()),
            Arc::new(Fixed(
                r#"{"anthropic": "sk-ant-OK\n", "openai": "sk-a b", "gemini": "AIza\u0007x"}"#,
            )),
            HashMap::new(),
        );
        let ok = keys.get(Provider::Anthropic).await.expect("trimmed");
        assert_eq!(ok.expose(), "sk-ant-OK");
        for provider in [Provider::OpenAi, Provider::Gemini] {
            let err = keys.get(provider).await.expect_err("inner whitespace");
            let text = err.to_string();
            assert!(
                text.contains(&format!("under `{}`", provider.as_str()))
                    && text.contains("arn:secret")
                    && text.contains("whitespace"),
                "{text}"
            );
            assert!(!text.contains("sk-a") && !text.contains("AIza"), "{text}");
            assert_eq!(
                LlmError::from(err).error_name(),
                agent_builder::errors::LLM_AUTH_FAILED
            );
        }
    }

    #[tokio::test]
    async fn a_missing_key_names_the_json_key_and_the_variable() {
        let keys = ApiKeys::new(
            Some("arn:secret".into()),
            Arc::new(Fixed(r#"{"anthropic": "sk-ant-1"}"#)),
            HashMap::new(),
        );
        let err = keys.get(Provider::OpenAi).await.expect_err("missing");
        let text = err.to_string();
        assert!(
            text.contains("`openai`") && text.contains("OPENAI_API_KEY"),
            "{text}"
        );
        assert!(!text.contains("sk-ant-1"), "{text}");
        let none = ApiKeys::new(None, Arc::new(Fixed("{}")), HashMap::new());
        let err = none
            .get(Provider::Gemini)
            .await
            .expect_err("not configured");
        assert!(err.to_string().contains("GEMINI_API_KEY"));
        assert_eq!(
            LlmError::from(err).error_name(),
            agent_builder::errors::LLM_AUTH_FAILED
        );
    }
}
