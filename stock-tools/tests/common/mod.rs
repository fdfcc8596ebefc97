//! Shared by the integration tests: fixtures, a toolbox on a local server, calls.

#![allow(dead_code)]

use std::time::Duration;

use agent_builder::{ToolCall, ToolResult};
use serde_json::Value;
use sfn_agent_tool::Toolbox;
use stock_tools::ToolsConfig;

/// A fixture file's JSON.
pub fn fixture(path: &str) -> Value {
    let full = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// The services all at `uri` (Frankfurter under `/v1`), with a short timeout.
pub fn config(uri: &str) -> ToolsConfig {
    ToolsConfig {
        geocoding_url: uri.to_string(),
        forecast_url: uri.to_string(),
        frankfurter_url: format!("{uri}/v1"),
        http_timeout: Duration::from_millis(500),
    }
}

/// The standard tools on `uri`.
pub fn toolbox(uri: &str) -> Toolbox {
    stock_tools::toolbox(&config(uri)).expect("a toolbox")
}

/// A call to `name` with `input`.
pub fn call(name: &str, input: Value) -> ToolCall {
    ToolCall {
        id: "toolu_01".to_string(),
        name: name.to_string(),
        input,
    }
}

/// The JSON of a successful result; panics with the text of an error result.
pub fn ok_json(result: &ToolResult) -> Value {
    assert!(
        !result.is_error,
        "expected success, got: {}",
        result.content
    );
    assert_eq!(result.tool_use_id, "toolu_01");
    serde_json::from_str(&result.content).expect("JSON content")
}

/// The text of an error result; panics on success.
pub fn error_text(result: &ToolResult) -> &str {
    assert!(
        result.is_error,
        "expected an error, got: {}",
        result.content
    );
    assert_eq!(result.tool_use_id, "toolu_01");
    &result.content
}
