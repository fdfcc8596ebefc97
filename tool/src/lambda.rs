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
        lambda_runtime::tracing::error!(target: "sfn_agent::tool", error = %e, "the payload is not a tool call");
        InvalidPayload(e.to_string())
    })?;
    let started = Instant::now();
    // The name is needed after the call consumed it only when the line is logged.
    let name = lambda_runtime::tracing::enabled!(target: "sfn_agent::tool", lambda_runtime::tracing::Level::INFO)
        .then(|| call.name.clone());
    let result = handler.call(call).await;
    if let Some(name) = name {
        lambda_runtime::tracing::info!(
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

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    use super::*;
    use crate::ToolError;

    /// Fails on `nope`.
    struct Shout;

    /// The input of `shout`.
    #[derive(Serialize, Deserialize, JsonSchema)]
    struct ShoutInput {
        /// The word.
        word: String,
    }

    impl Tool for Shout {
        const NAME: &'static str = "shout";
        const DESCRIPTION: &'static str = "Shouts a word.";
        type Input = ShoutInput;
        type Output = String;

        fn example() -> ShoutInput {
            ShoutInput { word: "hi".into() }
        }

        async fn run(&self, input: ShoutInput) -> Result<String, ToolError> {
            if input.word == "nope" {
                return Err(ToolError::BadInput("no".into()));
            }
            Ok(input.word.to_uppercase())
        }
    }

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut v) = self.0.lock() {
                v.extend_from_slice(b);
            }
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn one_json_line_per_tool_call_without_its_input() {
        use lambda_runtime::tracing::subscriber;
        let buf = Buf::default();
        let writer = buf.clone();
        let sub = subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = subscriber::util::SubscriberInitExt::set_default(sub);
        let handler = ToolHandler::new(Shout);
        for word in ["secret-word", "nope"] {
            handle(
                &handler,
                json!({"id": "t1", "name": "shout", "input": {"word": word}}),
            )
            .await
            .expect("a tool call");
        }
        let text =
            String::from_utf8(buf.0.lock().map(|b| b.clone()).unwrap_or_default()).expect("utf-8");
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON"))
            .filter(|l: &Value| l["target"] == "sfn_agent::tool")
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0]["tool"], "shout");
        assert_eq!(lines[0]["is_error"], false);
        assert!(lines[0]["latency_ms"].is_u64());
        assert_eq!(lines[1]["is_error"], true);
        assert!(!text.contains("secret-word"), "{text}");
    }

    #[test]
    fn the_log_filter_follows_lambda_then_rust_log_then_info() {
        assert_eq!(log_filter(None, None), "info");
        assert_eq!(log_filter(Some(""), Some(" ")), "info");
        assert_eq!(
            log_filter(None, Some("warn,sfn_agent::turn=debug")),
            "warn,sfn_agent::turn=debug"
        );
        assert_eq!(log_filter(Some("DEBUG"), Some("warn")), "debug");
        assert_eq!(log_filter(Some("FATAL"), None), "error");
    }
}
