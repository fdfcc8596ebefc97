//! The tool Lambda adapter logs one JSON line per call: the tool, its latency, whether it failed.

use std::io::Write;
use std::sync::{Arc, Mutex};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sfn_agent_tool::ToolHandler;
use sfn_agent_tool::lambda::{self, handle};
use sfn_agent_tool::{Tool, ToolError};

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
        self.0.lock().expect("lock").extend_from_slice(b);
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
    let _guard = tracing::subscriber::set_default(sub);
    let handler = ToolHandler::new(Shout);
    for word in ["secret-word", "nope"] {
        handle(
            &handler,
            json!({"id": "t1", "name": "shout", "input": {"word": word}}),
        )
        .await
        .expect("a tool call");
    }
    let text = String::from_utf8(buf.0.lock().expect("lock").clone()).expect("utf-8");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0]["target"], "sfn_agent::tool");
    assert_eq!(lines[0]["tool"], "shout");
    assert_eq!(lines[0]["is_error"], false);
    assert!(lines[0]["latency_ms"].is_u64());
    assert_eq!(lines[1]["is_error"], true);
    assert!(!text.contains("secret-word"), "{text}");
}

#[test]
fn the_log_filter_follows_lambda_then_rust_log_then_info() {
    assert_eq!(lambda::log_filter(None, None), "info");
    assert_eq!(lambda::log_filter(Some(""), Some(" ")), "info");
    assert_eq!(
        lambda::log_filter(None, Some("warn,sfn_agent::turn=debug")),
        "warn,sfn_agent::turn=debug"
    );
    assert_eq!(lambda::log_filter(Some("DEBUG"), Some("warn")), "debug");
    assert_eq!(lambda::log_filter(Some("FATAL"), None), "error");
}
