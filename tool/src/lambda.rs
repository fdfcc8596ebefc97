//! The Lambda adapter: any [`Tool`] as a Lambda handler for the Map item of the ReAct machine.
//!
//! The payload is an [`agent_builder::ToolCall`] and the answer an [`agent_builder::ToolResult`];
//! the work is done by the same [`ToolHandler`] the in-process [`crate::Toolbox`] uses.

use std::sync::Arc;
use std::time::Instant;

use agent_builder::{ToolCall, ToolResult};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

use crate::handler::ToolHandler;
use crate::tool::Tool;

/// The error a Lambda binary's `main` returns (`Result<(), Error>`).
pub use lambda_runtime::Error;

/// The Lambda error type of a payload that is not a tool call: a wiring bug in the state
/// machine, not the model's doing, so it fails the task (the ASL's Catch turns it into an error
/// result).
pub const INVALID_PAYLOAD: &str = "Tool.InvalidPayload";

/// A payload that is not a `{"id","name","input"}` tool call.
#[derive(Debug, thiserror::Error)]
#[error("the payload is not a tool call {{\"id\", \"name\", \"input\"}}: {0}")]
pub struct InvalidPayload(String);

impl From<InvalidPayload> for Diagnostic {
    fn from(error: InvalidPayload) -> Self {
        Diagnostic {
            error_type: INVALID_PAYLOAD.to_string(),
            error_message: error.to_string(),
        }
    }
}

/// The default log filter when neither `AWS_LAMBDA_LOG_LEVEL` nor `RUST_LOG` is set.
pub const DEFAULT_LOG_FILTER: &str = "info";

/// The log filter of a Lambda: `AWS_LAMBDA_LOG_LEVEL` (Lambda's advanced logging controls) when
/// set, else `RUST_LOG` (any `tracing-subscriber` filter: `info`, `debug,hyper=warn`, …), else
/// `info`.
pub fn log_filter_from_env() -> String {
    log_filter(
        std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
        std::env::var("RUST_LOG").ok().as_deref(),
    )
}

/// The filter for these values of `AWS_LAMBDA_LOG_LEVEL` and `RUST_LOG` (Lambda's `FATAL`, which
/// `tracing` has not, is `error`).
pub fn log_filter(lambda_level: Option<&str>, rust_log: Option<&str>) -> String {
    if let Some(level) = lambda_level.map(str::trim).filter(|l| !l.is_empty()) {
        let level = level.to_ascii_lowercase();
        return if level == "fatal" {
            "error".to_string()
        } else {
            level
        };
    }
    rust_log
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .unwrap_or(DEFAULT_LOG_FILTER)
        .to_string()
}

/// Initialises the Lambda's logs: `tracing` events as one JSON object a line on stdout (which
/// CloudWatch Logs parses, so each field is queryable in Logs Insights), filtered by
/// [`log_filter_from_env`]. Called once by every Lambda adapter (the tool Lambdas' [`serve`],
/// the LLM Lambdas, the SQS trigger) before the runtime loop; a second call, or a subscriber
/// already set by the binary, is left alone.
///
/// `lambda_runtime::tracing::init_default_subscriber` was not used: it writes JSON only when the
/// function sets `AWS_LAMBDA_LOG_FORMAT=JSON`, and its filter falls back to `INFO` on a `RUST_LOG`
/// with per-target directives. The EMF metric lines of the LLM Lambdas do not go through here:
/// they stay raw stdout lines, which CloudWatch recognises as metrics.
pub fn init_logging() {
    use lambda_runtime::tracing::subscriber::{self, EnvFilter};
    let filter = EnvFilter::try_new(log_filter_from_env())
        .unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER));
    let _ = subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(true)
        .with_env_filter(filter)
        .with_writer(std::io::stdout)
        .try_init();
}

/// Answers one Lambda payload with `handler`, logging one line for the call (the tool's name,
/// its latency and whether it failed; never its input or output).
pub async fn handle<T: Tool>(
    handler: &ToolHandler<T>,
    payload: Value,
) -> Result<ToolResult, InvalidPayload> {
    let call: ToolCall = serde_json::from_value(payload).map_err(|e| {
        tracing::error!(target: "sfn_agent::tool", error = %e, "the payload is not a tool call");
        InvalidPayload(e.to_string())
    })?;
    let started = Instant::now();
    // The name is needed after the call consumed it only when the line is logged.
    let name = tracing::enabled!(target: "sfn_agent::tool", tracing::Level::INFO)
        .then(|| call.name.clone());
    let result = handler.call(call).await;
    if let Some(name) = name {
        tracing::info!(
            target: "sfn_agent::tool",
            tool = %name,
            latency_ms = started.elapsed().as_millis() as u64,
            is_error = result.is_error,
            tool_use_id = %result.tool_use_id,
            sfn.state = "Run tool",
            "tool call"
        );
    }
    Ok(result)
}

/// Runs `tool` as a Lambda function until the runtime stops it.
pub async fn serve<T: Tool>(tool: T) -> Result<(), Error> {
    init_logging();
    let handler = Arc::new(ToolHandler::new(tool));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let handler = Arc::clone(&handler);
        async move { handle(&handler, event.payload).await }
    }))
    .await
}
