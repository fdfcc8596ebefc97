//! One adapter per provider family, each converting at its own edge.
//!
//! Every adapter has a constructor taking its base URL, its [`ApiKey`] and a timeout, a
//! `from_env` constructor reading the same from the environment (`ANTHROPIC_BASE_URL`,
//! `OPENAI_BASE_URL`, `GEMINI_BASE_URL`, the AWS SDK's own configuration for Bedrock), and pure,
//! public conversion functions (neutral request → provider request, provider response → neutral
//! response) that the bench and the round-trip tests call without a network.
//! [`for_provider_from_env`] builds the right adapter for a [`Provider`].
//!
//! The HTTP adapters are one generic [`http_model::HttpModel`] each, over the provider's
//! [`http_model::HttpApi`] (endpoint, headers, request, reply, error mapping): transport, time
//! budget, `retry-after`, body limits, error classification and redaction are decided once, in
//! [`http_model`], [`transport`] and [`classify`], so the providers cannot drift apart on them.
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
//!     cache_ttl: Default::default(),
//! };
//! // What the Anthropic adapter would send, computed without a network.
//! let body = anthropic::to_request(&request);
//! assert_eq!(body.system.map(|s| s.text()).as_deref(), Some("Be brief."));
//!
//! // A model without a provider, playing a script.
//! let script: Script = serde_json::from_str(r#"{"turns": [{"text": "Hello!"}]}"#)?;
//! let reply = ScriptedModel::new(script, Provider::Anthropic).play(&request)?;
//! assert_eq!((reply.message.text().as_str(), reply.stop_reason), ("Hello!", StopReason::EndTurn));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

// The helpers the adapters share (`classify`, `config`, `history`, `reply`, …): a build with
// only some providers (one cargo feature each) leaves some of them unused. The default build,
// with every provider, is the one linted without this allowance.
#![cfg_attr(
    not(all(
        feature = "anthropic",
        feature = "openai",
        feature = "gemini",
        feature = "bedrock"
    )),
    allow(dead_code)
)]

// One cargo feature per provider (all by default): a Lambda binary built with only its own
// feature links only its adapter.
#[cfg(feature = "anthropic")]
pub mod anthropic;
#[cfg(feature = "bedrock")]
pub mod bedrock;
#[cfg(feature = "gemini")]
pub mod gemini;
#[cfg(feature = "openai")]
pub mod openai;
#[cfg(feature = "openai")]
pub mod openai_responses;
pub mod scripted;

pub mod classify;
pub mod config;
pub mod history;
#[cfg(any(feature = "anthropic", feature = "openai", feature = "gemini"))]
pub mod http_model;
pub mod key;
pub mod reply;
#[cfg(any(feature = "anthropic", feature = "bedrock"))]
mod size;
#[cfg(any(feature = "anthropic", feature = "openai", feature = "gemini"))]
pub mod transport;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use agent_builder::Provider;

pub use config::{
    DEFAULT_TIMEOUT, ProviderConfigError, TIMEOUT_ENV, api_key_from_env, timeout_from_env,
};
pub use history::stable_tool_call_id;
pub use key::{ApiKey, InvalidKey};

use crate::model::ChatModel;

/// Builds the adapter for `provider` from the environment: `ANTHROPIC_API_KEY`,
/// `OPENAI_API_KEY`, `GEMINI_API_KEY` (and the base URL variables), or the AWS configuration for
/// Bedrock. For OpenAI, `OPENAI_API` (or the base URL) chooses the Responses API or Chat
/// Completions ([`openai::OpenAiApi`]). The error names the variable to set.
///
/// It chooses at run time, so a binary calling it links every adapter built in; a Lambda binary
/// names its one [`ProviderAdapter`] instead.
pub async fn for_provider_from_env(
    provider: Provider,
) -> Result<Arc<dyn ChatModel>, ProviderConfigError> {
    ProviderAdapter::for_provider(provider)?.from_env().await
}

/// A built adapter, shared.
fn adapter(model: impl ChatModel + 'static) -> Result<Arc<dyn ChatModel>, ProviderConfigError> {
    Ok(Arc::new(model))
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
    ProviderAdapter::for_provider(provider)?
        .with_key(api_key)
        .await
}

/// What an adapter's constructor returns, boxed so that [`ProviderAdapter`] can hold it.
type Built = Pin<Box<dyn Future<Output = Result<Arc<dyn ChatModel>, ProviderConfigError>> + Send>>;

/// How to build one provider's adapter, chosen when the program is written: a Lambda binary runs
/// `handler::lambda::run(ProviderAdapter::ANTHROPIC)`, and nothing in it reaches the other
/// providers' adapters, so the linker leaves them out (the Bedrock SDK alone is about a third
/// of a binary) even in a build with every provider's feature, as the CDK construct's one
/// `cargo lambda build` and a team's project make.
#[derive(Clone, Copy)]
pub struct ProviderAdapter {
    provider: Provider,
    from_env: fn() -> Built,
    with_key: fn(ApiKey) -> Built,
}

impl std::fmt::Debug for ProviderAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ProviderAdapter")
            .field(&self.provider)
            .finish()
    }
}

impl ProviderAdapter {
    /// Anthropic's Messages API (`ANTHROPIC_BASE_URL`, `ANTHROPIC_PROMPT_CACHE`).
    #[cfg(feature = "anthropic")]
    pub const ANTHROPIC: Self = Self {
        provider: Provider::Anthropic,
        from_env: || Box::pin(async { adapter(anthropic::AnthropicModel::from_env()?) }),
        with_key: |key| {
            Box::pin(async move {
                adapter(
                    anthropic::AnthropicModel::new(
                        anthropic::base_url_from_env(),
                        key,
                        timeout_from_env()?,
                    )?
                    .with_prompt_cache(anthropic::prompt_cache_from_env()?),
                )
            })
        },
    };

    /// OpenAI's Responses API or Chat Completions, and the servers compatible with them
    /// (`OPENAI_BASE_URL`; `OPENAI_API` chooses, [`openai::OpenAiApi`]).
    #[cfg(feature = "openai")]
    pub const OPENAI: Self = Self {
        provider: Provider::OpenAi,
        from_env: || {
            Box::pin(async {
                match openai::OpenAiApi::from_env(&openai::base_url_from_env())? {
                    openai::OpenAiApi::Responses => {
                        adapter(openai_responses::OpenAiResponsesModel::from_env()?)
                    }
                    openai::OpenAiApi::ChatCompletions => adapter(openai::OpenAiModel::from_env()?),
                }
            })
        },
        with_key: |key| {
            Box::pin(async move {
                let base_url = openai::base_url_from_env();
                let timeout = timeout_from_env()?;
                match openai::OpenAiApi::from_env(&base_url)? {
                    openai::OpenAiApi::Responses => adapter(
                        openai_responses::OpenAiResponsesModel::new(base_url, key, timeout)?,
                    ),
                    openai::OpenAiApi::ChatCompletions => adapter(
                        openai::OpenAiModel::new(base_url, key, timeout)?
                            .with_max_tokens_field_from_env()?,
                    ),
                }
            })
        },
    };

    /// Google's Gemini API (`GEMINI_BASE_URL`).
    #[cfg(feature = "gemini")]
    pub const GEMINI: Self = Self {
        provider: Provider::Gemini,
        from_env: || Box::pin(async { adapter(gemini::GeminiModel::from_env()?) }),
        with_key: |key| {
            Box::pin(async move {
                adapter(gemini::GeminiModel::new(
                    gemini::base_url_from_env(),
                    key,
                    timeout_from_env()?,
                )?)
            })
        },
    };

    /// Amazon Bedrock's Converse API, signed with the AWS credentials (the key is ignored).
    #[cfg(feature = "bedrock")]
    pub const BEDROCK: Self = Self {
        provider: Provider::Bedrock,
        from_env: || Box::pin(async { adapter(bedrock::BedrockModel::from_env().await?) }),
        with_key: |_| Box::pin(async { adapter(bedrock::BedrockModel::from_env().await?) }),
    };

    /// The adapter of `provider`, chosen at run time: an error when its cargo feature is off.
    pub fn for_provider(provider: Provider) -> Result<Self, ProviderConfigError> {
        match provider {
            #[cfg(feature = "anthropic")]
            Provider::Anthropic => Ok(Self::ANTHROPIC),
            #[cfg(feature = "openai")]
            Provider::OpenAi => Ok(Self::OPENAI),
            #[cfg(feature = "gemini")]
            Provider::Gemini => Ok(Self::GEMINI),
            #[cfg(feature = "bedrock")]
            Provider::Bedrock => Ok(Self::BEDROCK),
            #[allow(unreachable_patterns)]
            other => Err(ProviderConfigError::NotBuiltIn(other)),
        }
    }

    /// The provider.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// Builds the adapter from the environment (see [`for_provider_from_env`]).
    pub async fn from_env(&self) -> Result<Arc<dyn ChatModel>, ProviderConfigError> {
        (self.from_env)().await
    }

    /// Builds the adapter with `key` (see [`for_provider_with_key`]).
    pub async fn with_key(&self, key: ApiKey) -> Result<Arc<dyn ChatModel>, ProviderConfigError> {
        (self.with_key)(key).await
    }
}
