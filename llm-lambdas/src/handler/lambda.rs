//! The Lambda side of the handler: building it from the environment on the first invocation,
//! and reporting its errors with the names the state machine matches.
//!
//! Nothing happens at init beyond reading environment variables: the AWS configuration, the
//! API key (from Secrets Manager) and the HTTP client are built on the first invocation and kept
//! for the life of the warm Lambda.

use std::sync::Arc;

use agent_builder::{LlmRequest, LlmResponse, Provider};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use tokio::sync::OnceCell;

use super::{Handler, HandlerError};
use crate::error::LlmError;
use crate::metrics::{AuthFailure, MetricsSink};
use crate::model::ChatModel;
use crate::providers::{self, ProviderConfigError};
use crate::secrets::{AdapterFactory, ApiKey, ApiKeys, RefreshingModel, SecretsError, env_var};
use crate::store::{CachedStore, ConversationStore, DynamoStore};

/// The Lambda error for a handler error: the error type is the name the ASL matches
/// (`LLM.RateLimited`, `Conversation.Conflict`, …), the message is the cause.
pub fn diagnostic(error: &HandlerError) -> Diagnostic {
    Diagnostic {
        error_type: error.error_name().to_string(),
        error_message: error.to_string(),
    }
}

/// One provider's LLM Lambda: the configuration read at init, the handler built on first use.
pub struct LlmLambda {
    provider: Provider,
    keys: Arc<ApiKeys>,
    handler: OnceCell<Handler>,
}

impl std::fmt::Debug for LlmLambda {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmLambda")
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

impl LlmLambda {
    /// Reads the configuration from the environment; builds nothing yet.
    pub fn from_env(provider: Provider) -> Self {
        Self {
            provider,
            keys: Arc::new(ApiKeys::from_env()),
            handler: OnceCell::new(),
        }
    }

    /// Handles one invocation, building the handler first if this is the first (again on the
    /// next invocation if building failed: a key missing now may be in the secret then).
    pub async fn handle(&self, request: LlmRequest) -> Result<LlmResponse, Diagnostic> {
        let handler = match self.handler.get_or_try_init(|| self.build()).await {
            Ok(handler) => handler,
            Err(e) => {
                if e.error_name() == agent_builder::errors::LLM_AUTH_FAILED {
                    // No key to call the model with: the same metric as a refused key.
                    MetricsSink::stdout().record_auth_failure(&AuthFailure {
                        agent: &request.agent.name,
                        provider: self.provider,
                        model: &request.agent.model.model,
                        conversation_id: &request.conversation_id,
                        iteration: request.iteration,
                    });
                }
                tracing::warn!(
                    target: super::TURN_LOG_TARGET,
                    execution = request.execution.as_deref().unwrap_or(""),
                    agent = %request.agent.name,
                    iteration = request.iteration,
                    provider = self.provider.as_str(),
                    outcome = e.error_name(),
                    error = %e,
                    "the LLM Lambda could not be set up"
                );
                return Err(diagnostic(&e));
            }
        };
        handler.handle(request).await.map_err(|e| diagnostic(&e))
    }

    async fn build(&self) -> Result<Handler, HandlerError> {
        let model = model_for(self.provider, &self.keys).await?;
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        // Turns loaded once are remembered: the next turn of the same execution reads one item.
        let store: Arc<dyn ConversationStore> =
            Arc::new(CachedStore::from_env(DynamoStore::from_env(&config)?)?);
        let mut handler = Handler::new(model, store);
        if let Some(model) = std::env::var("LLM_MODEL_OVERRIDE")
            .ok()
            .filter(|m| !m.trim().is_empty())
        {
            handler = handler.with_model_override(model.trim());
        }
        Ok(handler)
    }
}

/// Runs the Lambda runtime loop for `provider`'s LLM Lambda, after initialising the JSON logs
/// (`RUST_LOG`, default `info`): once, here, for every LLM Lambda binary.
pub async fn run(provider: Provider) -> Result<(), lambda_runtime::Error> {
    sfn_agent_tool::lambda::init_logging();
    let lambda = Arc::new(LlmLambda::from_env(provider));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<LlmRequest>| {
        let lambda = lambda.clone();
        async move { lambda.handle(event.payload).await }
    }))
    .await
}

/// The real adapters, built with a key read from the secret.
struct ProviderAdapters(Provider);

#[async_trait::async_trait]
impl AdapterFactory for ProviderAdapters {
    async fn build(&self, key: ApiKey) -> Result<Arc<dyn ChatModel>, LlmError> {
        providers::for_provider_with_key(self.0, key)
            .await
            .map_err(|e| match config_error(self.0, e) {
                HandlerError::Llm(e) => e,
                HandlerError::Secrets(e) => e.into(),
                other => LlmError::Invalid {
                    provider: self.0.to_string(),
                    message: other.to_string(),
                },
            })
    }
}

fn config_error(provider: Provider, e: ProviderConfigError) -> HandlerError {
    match e {
        // A key that cannot be used is an auth problem (`LLM.AuthFailed`), naming the variable.
        ProviderConfigError::InvalidKey { variable, problem } => {
            HandlerError::Secrets(SecretsError::InvalidKey {
                provider,
                origin: format!("the variable {variable}"),
                problem,
            })
        }
        other => HandlerError::Llm(LlmError::Invalid {
            provider: provider.to_string(),
            message: format!("the adapter could not be configured: {other}"),
        }),
    }
}

/// The adapter for `provider`, its key from the environment variable when set, else from the
/// API-key secret (a [`RefreshingModel`]: re-read after the TTL, and once on `LLM.AuthFailed`);
/// Bedrock signs with the AWS configuration instead.
pub async fn model_for(
    provider: Provider,
    keys: &Arc<ApiKeys>,
) -> Result<Arc<dyn ChatModel>, HandlerError> {
    let config_error = |e: ProviderConfigError| config_error(provider, e);
    let env_key_set = env_var(provider)
        .and_then(|v| std::env::var(v).ok())
        .is_some_and(|v| !v.trim().is_empty());
    if provider == Provider::Bedrock || env_key_set {
        return providers::for_provider_from_env(provider)
            .await
            .map_err(config_error);
    }
    let key = match keys.get(provider).await {
        Ok(key) => key,
        // A local OpenAI-compatible server (Ollama, vLLM) needs no key; a malformed one is
        // still an error.
        Err(SecretsError::NotConfigured { .. } | SecretsError::MissingKey { .. })
            if provider == Provider::OpenAi
                && providers::openai::base_url_from_env()
                    != providers::openai::DEFAULT_BASE_URL =>
        {
            crate::secrets::ApiKey::new("")
        }
        Err(e) => return Err(e.into()),
    };
    let model = providers::for_provider_with_key(provider, key.clone())
        .await
        .map_err(config_error)?;
    if !keys.from_secret(provider) || key.expose().is_empty() {
        return Ok(model);
    }
    Ok(Arc::new(RefreshingModel::with_model(
        provider,
        keys.clone(),
        Box::new(ProviderAdapters(provider)),
        key,
        model,
    )))
}
