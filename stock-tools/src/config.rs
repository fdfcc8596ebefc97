//! Where the tools' services are and how long to wait for them, from the environment.

use std::time::Duration;

/// Open-Meteo's geocoding API, the default for `OPEN_METEO_GEOCODING_URL`.
pub const DEFAULT_GEOCODING_URL: &str = "https://geocoding-api.open-meteo.com";
/// Open-Meteo's forecast API, the default for `OPEN_METEO_FORECAST_URL`.
pub const DEFAULT_FORECAST_URL: &str = "https://api.open-meteo.com";
/// Frankfurter's v1 API (ECB reference rates), the default for `FRANKFURTER_URL`.
pub const DEFAULT_FRANKFURTER_URL: &str = "https://api.frankfurter.dev/v1";
/// How long a tool waits for a service by default.
pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(5);

/// The environment variable of the geocoding base URL (`/v1/search` is appended).
pub const ENV_GEOCODING_URL: &str = "OPEN_METEO_GEOCODING_URL";
/// The environment variable of the forecast base URL (`/v1/forecast` is appended).
pub const ENV_FORECAST_URL: &str = "OPEN_METEO_FORECAST_URL";
/// The environment variable of the Frankfurter base URL (`/latest` and `/currencies` are
/// appended).
pub const ENV_FRANKFURTER_URL: &str = "FRANKFURTER_URL";
/// The environment variable of the HTTP timeout, in milliseconds.
pub const ENV_HTTP_TIMEOUT_MS: &str = "TOOL_HTTP_TIMEOUT_MS";

/// A configuration the tools cannot start with.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// An environment variable holds something unusable.
    #[error("{variable} is {value:?}: {expected}")]
    InvalidVariable {
        /// The variable.
        variable: &'static str,
        /// Its value.
        value: String,
        /// What it should hold.
        expected: &'static str,
    },
    /// The HTTP client could not be built (its TLS setup failed).
    #[error("the HTTP client could not be built: {0}")]
    HttpClient(String),
}

/// Base URLs of the services and the HTTP timeout.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolsConfig {
    /// Open-Meteo geocoding base URL, without `/v1/search`.
    pub geocoding_url: String,
    /// Open-Meteo forecast base URL, without `/v1/forecast`.
    pub forecast_url: String,
    /// Frankfurter base URL, without `/latest`.
    pub frankfurter_url: String,
    /// How long to wait for a service's answer.
    pub http_timeout: Duration,
}

impl Default for ToolsConfig {
    fn default() -> Self {
        Self {
            geocoding_url: DEFAULT_GEOCODING_URL.to_string(),
            forecast_url: DEFAULT_FORECAST_URL.to_string(),
            frankfurter_url: DEFAULT_FRANKFURTER_URL.to_string(),
            http_timeout: DEFAULT_HTTP_TIMEOUT,
        }
    }
}

impl ToolsConfig {
    /// The configuration in the environment, with the real services as defaults.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The configuration from any variable lookup (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let url = |variable: &'static str, default: &str| -> Result<String, ConfigError> {
            match lookup(variable).filter(|v| !v.trim().is_empty()) {
                None => Ok(default.to_string()),
                Some(value) => {
                    let trimmed = value.trim().trim_end_matches('/').to_string();
                    if reqwest::Url::parse(&trimmed).is_ok_and(|u| u.has_host()) {
                        Ok(trimmed)
                    } else {
                        Err(ConfigError::InvalidVariable {
                            variable,
                            value,
                            expected: "an http(s) base URL such as http://127.0.0.1:8080",
                        })
                    }
                }
            }
        };
        let http_timeout = match lookup(ENV_HTTP_TIMEOUT_MS).filter(|v| !v.trim().is_empty()) {
            None => DEFAULT_HTTP_TIMEOUT,
            Some(value) => match value.trim().parse::<u64>() {
                Ok(ms) if (1..=60_000).contains(&ms) => Duration::from_millis(ms),
                _ => {
                    return Err(ConfigError::InvalidVariable {
                        variable: ENV_HTTP_TIMEOUT_MS,
                        value,
                        expected: "a number of milliseconds from 1 to 60000",
                    });
                }
            },
        };
        Ok(Self {
            geocoding_url: url(ENV_GEOCODING_URL, DEFAULT_GEOCODING_URL)?,
            forecast_url: url(ENV_FORECAST_URL, DEFAULT_FORECAST_URL)?,
            frankfurter_url: url(ENV_FRANKFURTER_URL, DEFAULT_FRANKFURTER_URL)?,
            http_timeout,
        })
    }

    /// An HTTP client with this configuration's timeout.
    pub fn http_client(&self) -> Result<reqwest::Client, ConfigError> {
        reqwest::Client::builder()
            .timeout(self.http_timeout)
            .connect_timeout(self.http_timeout)
            .user_agent(concat!("sfn-agent-tools/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConfigError::HttpClient(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_real_services() {
        let config = ToolsConfig::from_lookup(|_| None).expect("defaults");
        assert_eq!(config, ToolsConfig::default());
    }

    #[test]
    fn variables_override_and_lose_trailing_slashes() {
        let config = ToolsConfig::from_lookup(|name| match name {
            ENV_FRANKFURTER_URL => Some("http://127.0.0.1:9000/v1/".into()),
            ENV_HTTP_TIMEOUT_MS => Some("250".into()),
            _ => None,
        })
        .expect("valid");
        assert_eq!(config.frankfurter_url, "http://127.0.0.1:9000/v1");
        assert_eq!(config.http_timeout, Duration::from_millis(250));
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = ToolsConfig::from_lookup(|name| {
            (name == ENV_HTTP_TIMEOUT_MS).then(|| "soon".to_string())
        })
        .expect_err("invalid");
        assert!(err.to_string().starts_with("TOOL_HTTP_TIMEOUT_MS"), "{err}");
        let err = ToolsConfig::from_lookup(|name| {
            (name == ENV_GEOCODING_URL).then(|| "not a url".to_string())
        })
        .expect_err("invalid");
        assert!(
            err.to_string().contains("OPEN_METEO_GEOCODING_URL"),
            "{err}"
        );
    }
}
