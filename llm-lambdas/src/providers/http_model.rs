//! The one HTTP model every HTTP provider goes through: the single place for transport, the
//! total time budget, `retry-after` waits, body limits, error bodies in a 200, reply
//! post-processing and key redaction.
//!
//! A provider is an [`HttpApi`]: its endpoint, its headers, its request body, how it reads a
//! success reply and how it reads an error. Everything else — what a failure without a reply
//! says, how big a reply may be, when to wait inside the Lambda instead of failing to the state
//! machine's back-off, that no error leaves holding the key — is decided here once, so the
//! providers cannot drift apart on it.

use std::time::{Duration, Instant};

use agent_builder::Provider;
use serde_json::Value;

use super::classify::error_in_success_body;
use super::config::ProviderConfigError;
use super::key::ApiKey;
use super::reply::unique_tool_ids;
use super::transport::{self, RawReply};
use crate::error::LlmError;
use crate::model::{ChatModel, ChatRequest, ChatResponse};

/// The longest `retry-after` the model waits out inside the Lambda before trying again. A longer
/// wait goes back to the state machine as `LLM.RateLimited`, whose Retrier backs off (a Lambda
/// billed for sleeping, or killed by its own timeout mid-wait, is worse than a Wait).
pub const MAX_INLINE_WAIT: Duration = Duration::from_secs(10);

/// How many times one call waits out a `retry-after` inside the Lambda.
pub const MAX_INLINE_RETRIES: u32 = 2;

/// One provider's HTTP API: what differs between providers, and nothing else.
pub trait HttpApi: Send + Sync + std::fmt::Debug + 'static {
    /// The provider family (for error messages, metrics, the price table).
    const PROVIDER: Provider;

    /// The URL of one call (the base URL has no trailing `/`).
    fn endpoint(&self, base_url: &str, request: &ChatRequest) -> String;

    /// The request with its authentication and version headers.
    fn headers(&self, http: reqwest::RequestBuilder, key: &ApiKey) -> reqwest::RequestBuilder;

    /// Headers that depend on the request (a beta feature the body uses); none by default.
    fn request_headers(
        &self,
        http: reqwest::RequestBuilder,
        _request: &ChatRequest,
    ) -> reqwest::RequestBuilder {
        http
    }

    /// The JSON body of one call.
    fn body(&self, request: &ChatRequest) -> Result<Vec<u8>, LlmError>;

    /// A success reply (2xx, no error body) in neutral form; a body that is not this provider's
    /// reply is an error, never an empty answer.
    fn response(&self, reply: &RawReply, request: &ChatRequest) -> Result<ChatResponse, LlmError>;

    /// An error reply: a non-2xx status, or a 2xx whose body is an error (`in_success` holds the
    /// parsed body then; gateways such as OpenRouter and LiteLLM answer 200 with `{"error": …}`).
    fn error(&self, reply: &RawReply, in_success: Option<&Value>) -> LlmError;
}

/// A chat model behind an HTTP API: the generic half of every HTTP adapter.
#[derive(Debug, Clone)]
pub struct HttpModel<A> {
    api: A,
    base_url: String,
    api_key: ApiKey,
    timeout: Duration,
    client: reqwest::Client,
}

impl<A: HttpApi> HttpModel<A> {
    /// A model for `api` at `base_url` (no trailing `/`), with its own HTTP client. `timeout`
    /// bounds the whole call, `retry-after` waits included.
    pub fn with_api(
        api: A,
        base_url: String,
        api_key: ApiKey,
        timeout: Duration,
    ) -> Result<Self, ProviderConfigError> {
        Ok(Self {
            api,
            base_url,
            api_key,
            timeout,
            client: transport::http_client(timeout)?,
        })
    }

    /// The provider's half.
    pub fn api(&self) -> &A {
        &self.api
    }

    /// The provider's half, to configure it.
    pub fn api_mut(&mut self) -> &mut A {
        &mut self.api
    }

    /// The base URL calls go to.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// One call, its errors not yet redacted.
    async fn call(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let body = self.api.body(request)?;
        let url = self.api.endpoint(&self.base_url, request);
        let started = Instant::now();
        let mut waits = 0u32;
        loop {
            let remaining = self.timeout.saturating_sub(started.elapsed());
            if remaining.is_zero() {
                return Err(LlmError::Timeout {
                    provider: A::PROVIDER.to_string(),
                    seconds: self.timeout.as_secs(),
                });
            }
            let http = self.api.headers(self.client.post(&url), &self.api_key);
            let http = self
                .api
                .request_headers(http, request)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
                .timeout(remaining);
            let reply = transport::send(A::PROVIDER, http, self.timeout).await?;
            let result = if (200..300).contains(&reply.status) {
                match error_in_success_body(&reply.body) {
                    Some(error) => Err(self.api.error(&reply, Some(&error))),
                    None => self.api.response(&reply, request),
                }
            } else {
                Err(self.api.error(&reply, None))
            };
            match result {
                Ok(mut response) => {
                    unique_tool_ids(&mut response.message.content);
                    return Ok(response);
                }
                Err(error) => match inline_wait(&error, started.elapsed(), self.timeout, waits) {
                    Some(wait) => {
                        waits += 1;
                        tokio::time::sleep(wait).await;
                    }
                    None => return Err(error),
                },
            }
        }
    }
}

/// The error for a request body that could not be serialized (it cannot happen with the
/// adapters' own types, but is an error rather than a panic).
pub fn request_error(provider: Provider, error: impl std::fmt::Display) -> LlmError {
    LlmError::Invalid {
        provider: provider.to_string(),
        message: format!("the request could not be serialized: {error}"),
    }
}

/// How long to wait inside the Lambda before trying again, if at all: a rate limit whose
/// `retry-after` is at most [`MAX_INLINE_WAIT`], at most [`MAX_INLINE_RETRIES`] times, and only
/// when the wait leaves at least half of the call's time budget for the next attempt. Otherwise
/// the error goes to the state machine, whose Retrier backs off.
fn inline_wait(
    error: &LlmError,
    elapsed: Duration,
    budget: Duration,
    waits: u32,
) -> Option<Duration> {
    let LlmError::RateLimited {
        retry_after_seconds: Some(seconds),
        ..
    } = error
    else {
        return None;
    };
    let wait = Duration::from_secs(*seconds);
    (waits < MAX_INLINE_RETRIES && wait <= MAX_INLINE_WAIT && elapsed + wait <= budget / 2)
        .then_some(wait)
}

#[async_trait::async_trait]
impl<A: HttpApi> ChatModel for HttpModel<A> {
    fn provider(&self) -> Provider {
        A::PROVIDER
    }

    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        // Every error leaves the model without the key, whatever the provider echoed.
        self.call(request)
            .await
            .map_err(|e| e.redact(self.api_key.expose()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limited(seconds: Option<u64>) -> LlmError {
        LlmError::RateLimited {
            provider: "openai".into(),
            message: "slow down".into(),
            retry_after_seconds: seconds,
        }
    }

    #[test]
    fn waits_inside_only_when_short_and_within_budget() {
        let budget = Duration::from_secs(120);
        let zero = Duration::ZERO;
        assert_eq!(
            inline_wait(&limited(Some(3)), zero, budget, 0),
            Some(Duration::from_secs(3))
        );
        assert_eq!(inline_wait(&limited(Some(3)), zero, budget, 2), None);
        assert_eq!(inline_wait(&limited(Some(60)), zero, budget, 0), None);
        assert_eq!(inline_wait(&limited(None), zero, budget, 0), None);
        assert_eq!(
            inline_wait(&limited(Some(3)), Duration::from_secs(58), budget, 0),
            None
        );
        let other = LlmError::Timeout {
            provider: "openai".into(),
            seconds: 1,
        };
        assert_eq!(inline_wait(&other, zero, budget, 0), None);
    }
}
