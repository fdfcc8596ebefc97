//! The Lambda side of the handler: building it from the environment at init, and reporting its
//! errors with the names the state machine matches.
//!
//! The AWS configuration, the API key (from Secrets Manager), the HTTP client and the store are
//! built at init, before the first poll for an event ([`LlmLambda::prepare`], which also makes
//! the store's first request: [`DynamoStore::warm_up`]), and kept for the
//! life of the warm Lambda: the first invocation then costs what any other does (it took about
//! 20 ms more when they were built on it). When building fails at init (a secret not readable
//! yet), the first invocation builds again and reports the error.

use std::sync::Arc;

use agent_builder::{LlmRequest, LlmResponse, Provider};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use tokio::sync::OnceCell;

use super::{Handler, HandlerError};
use crate::error::LlmError;
use crate::metrics::{AuthFailure, MetricsSink};
use crate::model::ChatModel;
use crate::providers::{ProviderAdapter, ProviderConfigError};
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
    adapter: ProviderAdapter,
    keys: Arc<ApiKeys>,
    handler: OnceCell<Handler>,
}

impl std::fmt::Debug for LlmLambda {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmLambda")
            .field("provider", &self.adapter.provider())
            .finish_non_exhaustive()
    }
}

impl LlmLambda {
    /// Reads the configuration from the environment; builds nothing yet ([`Self::prepare`]).
    pub fn from_env(adapter: ProviderAdapter) -> Self {
        Self {
            adapter,
            keys: Arc::new(ApiKeys::from_env()),
            handler: OnceCell::new(),
        }
    }

    /// Builds the handler now (at init) unless it is built; a failure is only logged here: the
    /// next invocation builds again and reports it as its error.
    pub async fn prepare(&self) {
        if let Err(e) = self.handler.get_or_try_init(|| self.build(true)).await {
            tracing::warn!(
                target: super::TURN_LOG_TARGET,
                provider = self.adapter.provider().as_str(),
                outcome = e.error_name(),
                error = %e,
                "the LLM Lambda could not be set up at init; the first invocation tries again"
            );
        }
    }

    /// Handles one invocation, building the handler first if it is not built yet (again on the
    /// next invocation if building failed: a key missing now may be in the secret then).
    pub async fn handle(&self, request: LlmRequest) -> Result<LlmResponse, Diagnostic> {
        let handler = match self.handler.get_or_try_init(|| self.build(false)).await {
            Ok(handler) => handler,
            Err(e) => {
                if e.error_name() == agent_builder::errors::LLM_AUTH_FAILED {
                    // No key to call the model with: the same metric as a refused key.
                    MetricsSink::stdout().record_auth_failure(&AuthFailure {
                        agent: &request.agent.name,
                        provider: self.adapter.provider(),
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
                    provider = self.adapter.provider().as_str(),
                    outcome = e.error_name(),
                    error = %e,
                    "the LLM Lambda could not be set up"
                );
                return Err(diagnostic(&e));
            }
        };
        handler.handle(request).await.map_err(|e| diagnostic(&e))
    }

    /// Builds the handler; at init (`warm_up`) also makes the store's first request
    /// ([`DynamoStore::warm_up`]), so that the first invocation does not pay for it.
    async fn build(&self, warm_up: bool) -> Result<Handler, HandlerError> {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let dynamo = DynamoStore::from_env(&config)?;
        // The key's read and the store's first request do not wait on each other.
        let (model, ()) = tokio::join!(model_for(self.adapter, &self.keys), async {
            if warm_up {
                dynamo.warm_up().await;
            }
        });
        let model = model?;
        // Turns loaded once are remembered: the next turn of the same execution reads one item.
        let store: Arc<dyn ConversationStore> = Arc::new(CachedStore::from_env(dynamo)?);
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

/// Runs the Lambda runtime loop of one provider's LLM Lambda, after initialising the JSON logs
/// (`RUST_LOG`, default `info`, once, here, for every LLM Lambda binary) and building the
/// handler ([`LlmLambda::prepare`]). The whole of a binary:
/// `run(ProviderAdapter::ANTHROPIC).await`; it links that provider's adapter only.
pub async fn run(adapter: ProviderAdapter) -> Result<(), lambda_runtime::Error> {
    sfn_agent_tool::lambda::init_logging();
    let lambda = Arc::new(LlmLambda::from_env(adapter));
    lambda.prepare().await;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<LlmRequest>| {
        let lambda = lambda.clone();
        async move { lambda.handle(event.payload).await }
    }))
    .await
}

/// The real adapter, built with a key read from the secret.
struct WithKey(ProviderAdapter);

#[async_trait::async_trait]
impl AdapterFactory for WithKey {
    async fn build(&self, key: ApiKey) -> Result<Arc<dyn ChatModel>, LlmError> {
        let provider = self.0.provider();
        self.0
            .with_key(key)
            .await
            .map_err(|e| match config_error(provider, e) {
                HandlerError::Llm(e) => e,
                HandlerError::Secrets(e) => e.into(),
                other => LlmError::Invalid {
                    provider: provider.to_string(),
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

/// The adapter, its key from the provider's environment variable when set, else from the
/// API-key secret (a [`RefreshingModel`]: re-read after the TTL, and once on `LLM.AuthFailed`);
/// Bedrock signs with the AWS configuration instead.
pub async fn model_for(
    adapter: ProviderAdapter,
    keys: &Arc<ApiKeys>,
) -> Result<Arc<dyn ChatModel>, HandlerError> {
    let provider = adapter.provider();
    let config_error = |e: ProviderConfigError| config_error(provider, e);
    let env_key_set = env_var(provider)
        .and_then(|v| std::env::var(v).ok())
        .is_some_and(|v| !v.trim().is_empty());
    if provider == Provider::Bedrock || env_key_set {
        return adapter.from_env().await.map_err(config_error);
    }
    let key = match keys.get(provider).await {
        Ok(key) => key,
        // A local OpenAI-compatible server (Ollama, vLLM) needs no key; a malformed one is
        // still an error.
        Err(SecretsError::NotConfigured { .. } | SecretsError::MissingKey { .. })
            if provider == Provider::OpenAi && keyless_openai_server() =>
        {
            crate::secrets::ApiKey::new("")
        }
        Err(e) => return Err(e.into()),
    };
    let model = adapter.with_key(key.clone()).await.map_err(config_error)?;
    if !keys.from_secret(provider) || key.expose().is_empty() {
        return Ok(model);
    }
    Ok(Arc::new(RefreshingModel::with_model(
        provider,
        keys.clone(),
        Box::new(WithKey(adapter)),
        key,
        model,
    )))
}

/// Whether `OPENAI_BASE_URL` names a server other than OpenAI's own (a local Ollama or vLLM,
/// which needs no key).
#[cfg(feature = "openai")]
fn keyless_openai_server() -> bool {
    crate::providers::openai::base_url_from_env() != crate::providers::openai::DEFAULT_BASE_URL
}

/// Without the OpenAI adapter there is no OpenAI server to call.
#[cfg(not(feature = "openai"))]
fn keyless_openai_server() -> bool {
    false
}
