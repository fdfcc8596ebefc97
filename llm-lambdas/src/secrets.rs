//! API keys: one Secrets Manager secret holding a JSON object with one key per provider
//! (`{"anthropic": "...", "openai": "...", "gemini": "..."}`), read on first use and cached for
//! a TTL (`API_KEY_TTL_SECONDS`, default 300); an environment variable (`ANTHROPIC_API_KEY`,
//! `OPENAI_API_KEY`, `GEMINI_API_KEY`) overrides it, for local runs.
//!
//! An empty or missing key is never cached: the next call reads the secret again, so a key put
//! into the secret after the first call is picked up without a cold start. [`RefreshingModel`]
//! rebuilds the adapter when the key read after the TTL differs, and on `LLM.AuthFailed` reads
//! the secret once more (a rotated key) and retries the call once before failing.
//!
//! A key is never logged, never returned in a response and never put in an error: errors name
//! the secret and the JSON key to fix, and [`ApiKey`] never prints its value.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use agent_builder::Provider;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata};
use tokio::sync::{Mutex, OnceCell};

use crate::error::LlmError;
use crate::model::{ChatModel, ChatRequest, ChatResponse};

/// The environment variable of the keys' TTL in seconds.
pub const API_KEY_TTL_ENV: &str = "API_KEY_TTL_SECONDS";

/// How long a key read from the secret is used before the secret is read again.
pub const DEFAULT_API_KEY_TTL: Duration = Duration::from_secs(300);

/// The TTL from `API_KEY_TTL_SECONDS` (whole seconds; 0 reads the secret on every call), else
/// [`DEFAULT_API_KEY_TTL`].
pub fn ttl_from_env() -> Duration {
    std::env::var(API_KEY_TTL_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(DEFAULT_API_KEY_TTL, Duration::from_secs)
}
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
/// requests with the Lambda's role instead. Spelled out here (the adapters' `API_KEY_ENV`s,
/// checked by a test) so that it does not depend on which adapters are built in.
pub fn env_var(provider: Provider) -> Option<&'static str> {
    match provider {
        Provider::Anthropic => Some("ANTHROPIC_API_KEY"),
        Provider::OpenAi => Some("OPENAI_API_KEY"),
        Provider::Gemini => Some("GEMINI_API_KEY"),
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

/// The secret's keys as last read, and when.
struct CachedSecret {
    keys: HashMap<String, String>,
    read_at: Instant,
}

/// The API keys of a warm Lambda: environment overrides, then the secret, cached for a TTL.
pub struct ApiKeys {
    secret_id: Option<String>,
    source: Arc<dyn SecretSource>,
    overrides: HashMap<Provider, ApiKey>,
    /// Variables set to something that is not a usable key: an error on `get`, not a fallback
    /// to the secret (which would hide the typo).
    invalid_overrides: HashMap<Provider, (&'static str, InvalidKey)>,
    cache: Mutex<Option<CachedSecret>>,
    ttl: Duration,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeys")
            .field("secret_id", &self.secret_id)
            .field("overridden", &self.overrides.keys().collect::<Vec<_>>())
            .field("ttl", &self.ttl)
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
        )
        .with_ttl(ttl_from_env());
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
            cache: Mutex::new(None),
            ttl: DEFAULT_API_KEY_TTL,
        }
    }

    /// Reads the secret again after `ttl` (zero: on every call).
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// How long a key read from the secret is used.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Whether `provider`'s key comes from the secret (and may change), not from a variable.
    pub fn from_secret(&self, provider: Provider) -> bool {
        !self.overrides.contains_key(&provider)
            && !self.invalid_overrides.contains_key(&provider)
            && self.secret_id.is_some()
    }

    /// Forgets the secret as read, so the next [`ApiKeys::get`] reads it again (after the
    /// provider refused the key).
    pub async fn invalidate(&self) {
        *self.cache.lock().await = None;
    }

    /// The key of `provider`: its environment override, else its entry in the secret (read on
    /// first use, then cached for the TTL; a missing or empty key is not cached).
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
        let usable = |keys: &HashMap<String, String>| {
            keys.get(json_key).filter(|k| !k.trim().is_empty()).cloned()
        };
        let mut cache = self.cache.lock().await;
        let cached = cache
            .as_ref()
            .filter(|c| c.read_at.elapsed() < self.ttl)
            .and_then(|c| usable(&c.keys));
        let raw = match cached {
            Some(raw) => raw,
            None => {
                let text = self.source.secret_string(secret_id).await?;
                let keys = parse_secret(secret_id, &text)?;
                let raw = usable(&keys).ok_or_else(|| SecretsError::MissingKey {
                    secret_id: secret_id.clone(),
                    provider,
                    json_key,
                    env_var,
                })?;
                *cache = Some(CachedSecret {
                    keys,
                    read_at: Instant::now(),
                });
                raw
            }
        };
        drop(cache);
        ApiKey::parse(&raw).map_err(|problem| SecretsError::InvalidKey {
            provider,
            origin: format!("the secret `{secret_id}` under `{json_key}`"),
            problem,
        })
    }
}

/// Builds a provider's adapter for a key (the real adapters in a Lambda, a fake in tests).
#[async_trait::async_trait]
pub trait AdapterFactory: Send + Sync {
    /// The adapter calling the provider with `key`.
    async fn build(&self, key: ApiKey) -> Result<Arc<dyn ChatModel>, LlmError>;
}

/// The adapter in use and the key it was built with.
struct Current {
    model: Arc<dyn ChatModel>,
    key: ApiKey,
    checked: Instant,
}

/// An adapter whose key comes from the secret and follows it: after the TTL the key is read
/// again and the adapter rebuilt when it changed; a call the provider refuses with
/// `LLM.AuthFailed` reads the secret once more and, when the key changed (rotated, or put in
/// after the first call), is retried once with it before the error is returned. Between TTLs a
/// call costs a read lock and an `Arc` clone: no allocation, no secret read.
pub struct RefreshingModel {
    provider: Provider,
    keys: Arc<ApiKeys>,
    factory: Box<dyn AdapterFactory>,
    current: RwLock<Current>,
}

impl std::fmt::Debug for RefreshingModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshingModel")
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

impl RefreshingModel {
    /// Reads `provider`'s key from `keys` and builds the first adapter with `factory`.
    pub async fn new(
        provider: Provider,
        keys: Arc<ApiKeys>,
        factory: Box<dyn AdapterFactory>,
    ) -> Result<Self, LlmError> {
        let key = keys.get(provider).await?;
        let model = factory.build(key.clone()).await?;
        Ok(Self::with_model(provider, keys, factory, key, model))
    }

    /// Starts with `model`, already built with `key` (just read from `keys`).
    pub fn with_model(
        provider: Provider,
        keys: Arc<ApiKeys>,
        factory: Box<dyn AdapterFactory>,
        key: ApiKey,
        model: Arc<dyn ChatModel>,
    ) -> Self {
        Self {
            provider,
            keys,
            factory,
            current: RwLock::new(Current {
                model,
                key,
                checked: Instant::now(),
            }),
        }
    }

    fn model(&self) -> (Arc<dyn ChatModel>, bool) {
        match self.current.read() {
            Ok(c) => (c.model.clone(), c.checked.elapsed() >= self.keys.ttl()),
            Err(poisoned) => {
                let c = poisoned.into_inner();
                (c.model.clone(), true)
            }
        }
    }

    /// Reads the key again (from the service when `force`); rebuilds the adapter when it
    /// changed. Returns whether it did.
    async fn refresh(&self, force: bool) -> Result<bool, LlmError> {
        if force {
            self.keys.invalidate().await;
        }
        let read = self.keys.get(self.provider).await;
        let unchanged = |c: &Current, key: &ApiKey| c.key == *key;
        let key = match read {
            Ok(key) => key,
            Err(e) => {
                // Keep the adapter that works until the provider refuses its key; try again
                // after the next TTL.
                if let Ok(mut c) = self.current.write() {
                    c.checked = Instant::now();
                }
                tracing::warn!(
                    target: "sfn_agent::secrets",
                    provider = self.provider.as_str(),
                    error = %e,
                    "the API key could not be read again; the current key stays in use"
                );
                return Err(e.into());
            }
        };
        let same = self
            .current
            .read()
            .map(|c| unchanged(&c, &key))
            .unwrap_or(false);
        if same {
            if let Ok(mut c) = self.current.write() {
                c.checked = Instant::now();
            }
            return Ok(false);
        }
        let model = self.factory.build(key.clone()).await?;
        if let Ok(mut c) = self.current.write() {
            *c = Current {
                model,
                key,
                checked: Instant::now(),
            };
        }
        tracing::info!(
            target: "sfn_agent::secrets",
            provider = self.provider.as_str(),
            "a new API key was read from the secret"
        );
        Ok(true)
    }
}

#[async_trait::async_trait]
impl ChatModel for RefreshingModel {
    fn provider(&self) -> Provider {
        self.provider
    }

    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let (mut model, stale) = self.model();
        if stale && self.refresh(false).await.unwrap_or(false) {
            model = self.model().0;
        }
        match model.complete(request).await {
            Err(e) if e.error_name() == agent_builder::errors::LLM_AUTH_FAILED => {
                // One refresh: a rotated key, or one put in since the adapter was built.
                if self.refresh(true).await.unwrap_or(false) {
                    self.model().0.complete(request).await
                } else {
                    Err(e)
                }
            }
            other => other,
        }
    }

    fn prices_apply(&self) -> bool {
        self.model().0.prices_apply()
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

    #[cfg(all(feature = "anthropic", feature = "openai", feature = "gemini"))]
    #[test]
    fn key_variables_are_the_adapters_own() {
        use crate::providers::{anthropic, gemini, openai};
        assert_eq!(env_var(Provider::Anthropic), Some(anthropic::API_KEY_ENV));
        assert_eq!(env_var(Provider::OpenAi), Some(openai::API_KEY_ENV));
        assert_eq!(env_var(Provider::Gemini), Some(gemini::API_KEY_ENV));
        assert_eq!(env_var(Provider::Bedrock), None);
    }

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

    /// A secret whose text the test changes, counting its reads.
    #[derive(Default)]
    struct Changing {
        text: std::sync::Mutex<String>,
        reads: std::sync::atomic::AtomicUsize,
    }

    impl Changing {
        fn set(&self, text: &str) {
            *self.text.lock().expect("lock") = text.to_string();
        }
        fn reads(&self) -> usize {
            self.reads.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    #[async_trait::async_trait]
    impl SecretSource for Changing {
        async fn secret_string(&self, _: &str) -> Result<String, SecretsError> {
            self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(self.text.lock().expect("lock").clone())
        }
    }

    fn changing(text: &str, ttl: Duration) -> (Arc<Changing>, Arc<ApiKeys>) {
        let source = Arc::new(Changing::default());
        source.set(text);
        let keys =
            ApiKeys::new(Some("arn:secret".into()), source.clone(), HashMap::new()).with_ttl(ttl);
        (source, Arc::new(keys))
    }

    #[tokio::test]
    async fn an_empty_or_missing_key_is_not_cached() {
        let (source, keys) = changing(r#"{"anthropic": ""}"#, DEFAULT_API_KEY_TTL);
        assert!(matches!(
            keys.get(Provider::Anthropic).await,
            Err(SecretsError::MissingKey { .. })
        ));
        source.set("{}");
        assert!(keys.get(Provider::Anthropic).await.is_err());
        source.set(r#"{"anthropic": "sk-ant-late"}"#);
        let key = keys.get(Provider::Anthropic).await.expect("put in later");
        assert_eq!(key.expose(), "sk-ant-late");
        assert_eq!(source.reads(), 3, "every miss reads the secret again");
        // Now cached for the TTL.
        source.set(r#"{"anthropic": "sk-ant-rotated"}"#);
        let key = keys.get(Provider::Anthropic).await.expect("cached");
        assert_eq!(key.expose(), "sk-ant-late");
        assert_eq!(source.reads(), 3);
        // Until the provider refuses it.
        keys.invalidate().await;
        let key = keys.get(Provider::Anthropic).await.expect("re-read");
        assert_eq!(key.expose(), "sk-ant-rotated");
        assert_eq!(source.reads(), 4);
    }

    #[tokio::test]
    async fn the_secret_is_read_again_after_the_ttl() {
        let (source, keys) = changing(r#"{"openai": "sk-1"}"#, Duration::from_millis(30));
        assert_eq!(
            keys.get(Provider::OpenAi).await.expect("1").expose(),
            "sk-1"
        );
        source.set(r#"{"openai": "sk-2"}"#);
        assert_eq!(
            keys.get(Provider::OpenAi).await.expect("1").expose(),
            "sk-1"
        );
        assert_eq!(source.reads(), 1);
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(
            keys.get(Provider::OpenAi).await.expect("2").expose(),
            "sk-2"
        );
        assert_eq!(source.reads(), 2);
    }

    #[test]
    fn the_ttl_comes_from_the_environment_or_defaults_to_five_minutes() {
        // Only the default is checked: tests share the process environment.
        if std::env::var(API_KEY_TTL_ENV).is_err() {
            assert_eq!(ttl_from_env(), Duration::from_secs(300));
        }
    }

    /// A model that accepts only the key `good`.
    struct KeyedFake(ApiKey);

    #[async_trait::async_trait]
    impl ChatModel for KeyedFake {
        fn provider(&self) -> Provider {
            Provider::Anthropic
        }
        async fn complete(&self, _: &ChatRequest) -> Result<ChatResponse, LlmError> {
            if self.0.expose() != "good" {
                return Err(LlmError::AuthFailed {
                    provider: "anthropic".into(),
                    message: "invalid x-api-key".into(),
                });
            }
            Ok(ChatResponse {
                message: agent_builder::Message {
                    role: agent_builder::Role::Assistant,
                    content: vec![agent_builder::ContentBlock::text("hi")],
                },
                stop_reason: agent_builder::StopReason::EndTurn,
                input_tokens: 1,
                output_tokens: 1,
                cache: Default::default(),
                model: "m".into(),
            })
        }
    }

    #[derive(Default)]
    struct Builds(std::sync::atomic::AtomicUsize);

    #[async_trait::async_trait]
    impl AdapterFactory for Arc<Builds> {
        async fn build(&self, key: ApiKey) -> Result<Arc<dyn ChatModel>, LlmError> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(Arc::new(KeyedFake(key)))
        }
    }

    fn chat() -> ChatRequest {
        ChatRequest {
            model: "m".into(),
            system: String::new(),
            messages: vec![agent_builder::Message::user_text("hi")],
            tools: Vec::new(),
            max_tokens: 10,
            temperature: None,
            cache_ttl: Default::default(),
        }
    }

    #[tokio::test]
    async fn a_refused_key_is_read_again_once_and_the_call_retried_with_the_new_one() {
        let (source, keys) = changing(r#"{"anthropic": "old"}"#, DEFAULT_API_KEY_TTL);
        let builds = Arc::new(Builds::default());
        let model = RefreshingModel::new(Provider::Anthropic, keys, Box::new(builds.clone()))
            .await
            .expect("model");
        // Refused, and the secret still holds the same key: one re-read, then the error.
        let err = model.complete(&chat()).await.expect_err("refused");
        assert_eq!(err.error_name(), agent_builder::errors::LLM_AUTH_FAILED);
        assert_eq!(source.reads(), 2);
        assert_eq!(builds.0.load(std::sync::atomic::Ordering::SeqCst), 1);
        // Rotated: the refused call reads the new key and succeeds, without a cold start.
        source.set(r#"{"anthropic": "good"}"#);
        let reply = model
            .complete(&chat())
            .await
            .expect("retried with the new key");
        assert_eq!(reply.message.text(), "hi");
        assert_eq!(source.reads(), 3);
        assert_eq!(builds.0.load(std::sync::atomic::Ordering::SeqCst), 2);
        // Then the key is cached again: no read per call.
        model.complete(&chat()).await.expect("cached");
        assert_eq!(source.reads(), 3);
    }

    #[tokio::test]
    async fn after_the_ttl_a_rotated_key_replaces_the_adapter() {
        let (source, keys) = changing(r#"{"anthropic": "good"}"#, Duration::ZERO);
        let builds = Arc::new(Builds::default());
        let model = RefreshingModel::new(Provider::Anthropic, keys, Box::new(builds.clone()))
            .await
            .expect("model");
        model.complete(&chat()).await.expect("good");
        assert_eq!(builds.0.load(std::sync::atomic::Ordering::SeqCst), 1);
        source.set(r#"{"anthropic": "revoked"}"#);
        let err = model.complete(&chat()).await.expect_err("new key used");
        assert_eq!(err.error_name(), agent_builder::errors::LLM_AUTH_FAILED);
        assert_eq!(builds.0.load(std::sync::atomic::Ordering::SeqCst), 2);
        // A secret that can no longer be read keeps the adapter in use.
        source.set("not json");
        let err = model.complete(&chat()).await.expect_err("still revoked");
        assert_eq!(err.error_name(), agent_builder::errors::LLM_AUTH_FAILED);
        assert_eq!(builds.0.load(std::sync::atomic::Ordering::SeqCst), 2);
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
