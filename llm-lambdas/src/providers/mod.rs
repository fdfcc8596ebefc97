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

pub mod anthropic;
pub mod bedrock;
pub mod gemini;
pub mod openai;
pub mod openai_responses;
pub mod scripted;

pub mod classify;
pub mod config;
pub mod history;
pub mod http_model;
pub mod key;
pub mod reply;
pub mod transport;

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
pub async fn for_provider_from_env(
    provider: Provider,
) -> Result<Arc<dyn ChatModel>, ProviderConfigError> {
    Ok(match provider {
        Provider::Anthropic => Arc::new(anthropic::AnthropicModel::from_env()?),
        Provider::OpenAi => match openai::OpenAiApi::from_env(&openai::base_url_from_env())? {
            openai::OpenAiApi::Responses => {
                Arc::new(openai_responses::OpenAiResponsesModel::from_env()?)
            }
            openai::OpenAiApi::ChatCompletions => Arc::new(openai::OpenAiModel::from_env()?),
        },
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
        Provider::Anthropic => Arc::new(
            anthropic::AnthropicModel::new(anthropic::base_url_from_env(), api_key, timeout)?
                .with_prompt_cache(anthropic::prompt_cache_from_env()?),
        ),
        Provider::OpenAi => {
            let base_url = openai::base_url_from_env();
            match openai::OpenAiApi::from_env(&base_url)? {
                openai::OpenAiApi::Responses => Arc::new(
                    openai_responses::OpenAiResponsesModel::new(base_url, api_key, timeout)?,
                ),
                openai::OpenAiApi::ChatCompletions => Arc::new(
                    openai::OpenAiModel::new(base_url, api_key, timeout)?
                        .with_max_tokens_field_from_env()?,
                ),
            }
        }
        Provider::Gemini => Arc::new(gemini::GeminiModel::new(
            gemini::base_url_from_env(),
            api_key,
            timeout,
        )?),
        Provider::Bedrock => Arc::new(bedrock::BedrockModel::from_env().await?),
    })
}
