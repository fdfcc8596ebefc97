//! What configures an HTTP adapter: environment variables, the timeout, base URLs, and the
//! error of a configuration that cannot be used.

use std::time::Duration;

use agent_builder::Provider;

use super::key::{ApiKey, InvalidKey};
use super::scripted;

/// The environment variable that sets the HTTP timeout of every adapter, in seconds.
pub const TIMEOUT_ENV: &str = "LLM_TIMEOUT_SECONDS";

/// The timeout of a model call when [`TIMEOUT_ENV`] is not set: long answers take a while.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Why an adapter could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum ProviderConfigError {
    /// A required environment variable is not set.
    #[error("{variable} is not set: set it to {what}")]
    MissingEnv {
        /// The variable to set.
        variable: &'static str,
        /// What it should hold.
        what: &'static str,
    },
    /// An environment variable holds something unusable.
    #[error("{variable} is invalid: {message}")]
    InvalidEnv {
        /// The variable.
        variable: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The API key in a variable cannot be used; the key itself is never shown.
    #[error("{variable} is not a usable API key: {problem}")]
    InvalidKey {
        /// The variable holding the key.
        variable: &'static str,
        /// What is wrong with it.
        problem: InvalidKey,
    },
    /// The HTTP client could not be built (TLS setup).
    #[error("could not build the HTTP client: {0}")]
    HttpClient(String),
    /// The scripted model's script could not be loaded.
    #[error(transparent)]
    Script(#[from] scripted::ScriptError),
    /// This build has no adapter for the provider: its cargo feature was off.
    #[error(
        "this build of sfn-agent-llm has no {0} adapter; build it with the `{feature}` feature (each LLM Lambda binary has only its own provider's)", feature = .0.as_str()
    )]
    NotBuiltIn(Provider),
}

/// Reads an environment variable, treating an empty value as unset.
pub(crate) fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The API key from `variable` (trimmed, checked by [`ApiKey::parse`]), or an error naming it.
pub fn api_key_from_env(
    variable: &'static str,
    what: &'static str,
) -> Result<ApiKey, ProviderConfigError> {
    let raw = env_var(variable).ok_or(ProviderConfigError::MissingEnv { variable, what })?;
    ApiKey::parse(&raw).map_err(|e| ProviderConfigError::InvalidKey {
        variable,
        problem: e,
    })
}

/// The timeout from [`TIMEOUT_ENV`], or [`DEFAULT_TIMEOUT`].
pub fn timeout_from_env() -> Result<Duration, ProviderConfigError> {
    match env_var(TIMEOUT_ENV) {
        None => Ok(DEFAULT_TIMEOUT),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|s| *s > 0)
            .map(Duration::from_secs)
            .ok_or_else(|| ProviderConfigError::InvalidEnv {
                variable: TIMEOUT_ENV,
                message: format!("`{v}` is not a whole number of seconds above 0"),
            }),
    }
}

/// A base URL without its trailing `/` and without a trailing API version segment the adapter
/// adds itself (`/v1` for Anthropic, `/v1beta` for Gemini), so both spellings work.
pub(crate) fn base_url_without(base_url: String, version_segment: &str) -> String {
    let trimmed = base_url.trim_end_matches('/');
    trimmed
        .strip_suffix(version_segment)
        .unwrap_or(trimmed)
        .trim_end_matches('/')
        .to_string()
}

/// The variable that sets a provider's base URL, for the advice of a network error. Spelled
/// out here (the adapters' `BASE_URL_ENV`s, checked by a test) so that it does not depend on
/// which adapters are built in.
pub(crate) fn base_url_variable(provider: Provider) -> &'static str {
    match provider {
        Provider::Anthropic => "ANTHROPIC_BASE_URL",
        Provider::OpenAi => "OPENAI_BASE_URL",
        Provider::Gemini => "GEMINI_BASE_URL",
        Provider::Bedrock => "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(all(
        feature = "anthropic",
        feature = "openai",
        feature = "gemini",
        feature = "bedrock"
    ))]
    #[test]
    fn base_url_variables_are_the_adapters_own() {
        use super::super::{anthropic, bedrock, gemini, openai};
        assert_eq!(
            base_url_variable(Provider::Anthropic),
            anthropic::BASE_URL_ENV
        );
        assert_eq!(base_url_variable(Provider::OpenAi), openai::BASE_URL_ENV);
        assert_eq!(base_url_variable(Provider::Gemini), gemini::BASE_URL_ENV);
        assert_eq!(base_url_variable(Provider::Bedrock), bedrock::ENDPOINT_ENV);
    }

    #[test]
    fn base_urls_take_either_spelling() {
        assert_eq!(
            base_url_without("http://h:1/v1/".into(), "/v1"),
            "http://h:1"
        );
        assert_eq!(base_url_without("http://h:1".into(), "/v1"), "http://h:1");
        assert_eq!(
            base_url_without("http://h:1/v1beta".into(), "/v1beta"),
            "http://h:1"
        );
    }
}
