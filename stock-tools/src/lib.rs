//! The stock tools of sfn-agent agents: `get_weather`, `calculate`, `convert_currency` and
//! `current_time`, each a [`sfn_agent_tool::Tool`] served as a Lambda function and in-process.
//!
//! [`specs`] holds what an agent definition needs (names, descriptions, input types, specs) and
//! is always built. The tools themselves, their Lambda binaries and [`toolbox`] come with the
//! default `run` feature; a crate that only defines agents depends on this one with
//! `default-features = false` and builds no HTTP client, time-zone data or calculator.
//!
//! ```
//! let weather = stock_tools::specs::get_weather::spec();
//! assert_eq!(weather.name, "get_weather");
//! assert_eq!(weather.input_schema["required"], serde_json::json!(["places"]));
//! ```

pub mod catalog;
pub mod specs;

#[cfg(feature = "run")]
pub mod config;
#[cfg(feature = "run")]
pub mod tools;
#[cfg(feature = "run")]
mod upstream;

#[cfg(feature = "run")]
pub use config::{ConfigError, ToolsConfig};

/// The four stock tools with the services and timeout of `config`.
#[cfg(feature = "run")]
pub fn toolbox(config: &ToolsConfig) -> Result<sfn_agent_tool::Toolbox, ConfigError> {
    let client = config.http_client()?;
    Ok(toolbox_with_client(config, client))
}

/// The four stock tools with the services and timeout in the environment.
#[cfg(feature = "run")]
pub fn toolbox_from_env() -> Result<sfn_agent_tool::Toolbox, ConfigError> {
    toolbox(&ToolsConfig::from_env()?)
}

/// The four stock tools sharing `client` (for tests, or a client with your own settings).
#[cfg(feature = "run")]
pub fn toolbox_with_client(
    config: &ToolsConfig,
    client: reqwest::Client,
) -> sfn_agent_tool::Toolbox {
    use tools::{Calculate, ConvertCurrency, CurrentTime, GetWeather};
    sfn_agent_tool::Toolbox::new()
        .with(GetWeather::new(config, client.clone()))
        .with(Calculate)
        .with(ConvertCurrency::new(config, client))
        .with(CurrentTime::new())
}
