//! Token and latency metrics as CloudWatch Embedded Metric Format (EMF) log lines.
//!
//! One JSON line per model call, written to stdout in a Lambda, where CloudWatch Logs turns it
//! into metrics in the `SfnAgent` namespace with the agent and the provider as dimensions, and
//! the model as a searchable property. No extra state, no API call.
//!
//! The lines meet the construct's metrics contract (`construct/README.md`, "Metrics contract"):
//! `InputTokens`, `OutputTokens`, `CacheReadTokens`, `CacheWriteTokens`, `ToolCalls` (Count),
//! `LatencyMs` (Milliseconds) and `EstimatedCostUsd` (None) on every model call, and `LLM.AuthFailed` = 1 (Count) in a line of
//! its own for a call that failed with `LLM.AuthFailed`; all with the one dimension set
//! `[["Agent","Provider"]]`. These lines are written raw to stdout, never through `tracing`,
//! so CloudWatch recognises them.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use agent_builder::Provider;
use serde_json::json;

/// The CloudWatch namespace of the metrics.
pub const NAMESPACE: &str = "SfnAgent";

/// What one model call cost in tokens and time.
#[derive(Debug, Clone, PartialEq)]
pub struct CallMetrics<'a> {
    /// The agent's name (dimension).
    pub agent: &'a str,
    /// The provider (dimension).
    pub provider: Provider,
    /// The model id (property).
    pub model: &'a str,
    /// The conversation (property, to find the call in the logs).
    pub conversation_id: &'a str,
    /// The iteration (property).
    pub iteration: u32,
    /// Tokens read: the whole prompt, cached parts included.
    pub input_tokens: u64,
    /// Tokens written.
    pub output_tokens: u64,
    /// Of `input_tokens`, those read from the provider's prompt cache.
    pub cache_read_tokens: u64,
    /// Of `input_tokens`, those written to the provider's prompt cache.
    pub cache_write_tokens: u64,
    /// Time the model took, in milliseconds.
    pub latency_ms: u64,
    /// The estimated cost in US dollars.
    pub estimated_cost_usd: f64,
    /// The tool calls the model asked for in this reply (0 for a final answer).
    pub tool_calls: u32,
}

impl CallMetrics<'_> {
    /// The EMF document for this call, stamped with `timestamp_ms`.
    pub fn to_emf(&self, timestamp_ms: u64) -> serde_json::Value {
        json!({
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [["Agent", "Provider"]],
                    "Metrics": [
                        {"Name": "InputTokens", "Unit": "Count"},
                        {"Name": "OutputTokens", "Unit": "Count"},
                        {"Name": "CacheReadTokens", "Unit": "Count"},
                        {"Name": "CacheWriteTokens", "Unit": "Count"},
                        {"Name": "LatencyMs", "Unit": "Milliseconds"},
                        {"Name": "EstimatedCostUsd", "Unit": "None"},
                        {"Name": "ToolCalls", "Unit": "Count"}
                    ]
                }]
            },
            "Agent": self.agent,
            "Provider": self.provider.as_str(),
            "Model": self.model,
            "ConversationId": self.conversation_id,
            "Iteration": self.iteration,
            "InputTokens": self.input_tokens,
            "OutputTokens": self.output_tokens,
            "CacheReadTokens": self.cache_read_tokens,
            "CacheWriteTokens": self.cache_write_tokens,
            "LatencyMs": self.latency_ms,
            "EstimatedCostUsd": self.estimated_cost_usd,
            "ToolCalls": self.tool_calls,
        })
    }
}

/// A model call that failed with `LLM.AuthFailed` (the key was refused, missing or unusable).
#[derive(Debug, Clone, PartialEq)]
pub struct AuthFailure<'a> {
    /// The agent's name (dimension).
    pub agent: &'a str,
    /// The provider (dimension).
    pub provider: Provider,
    /// The model id (property).
    pub model: &'a str,
    /// The conversation (property).
    pub conversation_id: &'a str,
    /// The iteration (property).
    pub iteration: u32,
}

impl AuthFailure<'_> {
    /// The EMF document of the failure (`LLM.AuthFailed` = 1), stamped with `timestamp_ms`.
    pub fn to_emf(&self, timestamp_ms: u64) -> serde_json::Value {
        json!({
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [["Agent", "Provider"]],
                    "Metrics": [
                        {"Name": "LLM.AuthFailed", "Unit": "Count"}
                    ]
                }]
            },
            "Agent": self.agent,
            "Provider": self.provider.as_str(),
            "Model": self.model,
            "ConversationId": self.conversation_id,
            "Iteration": self.iteration,
            "LLM.AuthFailed": 1,
        })
    }
}

/// The metric of a call that failed with `LLM.AuthFailed` (the error's own name).
pub const AUTH_FAILED_METRIC: &str = agent_builder::errors::LLM_AUTH_FAILED;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// Where EMF lines go: stdout in a Lambda, a buffer in tests.
#[derive(Clone)]
pub struct MetricsSink {
    out: Arc<Mutex<Box<dyn Write + Send>>>,
}

impl std::fmt::Debug for MetricsSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsSink")
    }
}

impl Default for MetricsSink {
    fn default() -> Self {
        Self::stdout()
    }
}

impl MetricsSink {
    /// Lines to stdout, which a Lambda sends to CloudWatch Logs.
    pub fn stdout() -> Self {
        Self::to_writer(std::io::stdout())
    }

    /// Lines to any writer (a shared buffer in tests, `std::io::sink()` to drop them).
    pub fn to_writer(writer: impl Write + Send + 'static) -> Self {
        Self {
            out: Arc::new(Mutex::new(Box::new(writer))),
        }
    }

    /// Writes one EMF line. A failed write is ignored: metrics never fail a turn.
    pub fn record(&self, metrics: &CallMetrics<'_>) {
        self.write_line(&metrics.to_emf(now_ms()));
    }

    /// Writes the `LLM.AuthFailed` line of a failed call.
    pub fn record_auth_failure(&self, failure: &AuthFailure<'_>) {
        self.write_line(&failure.to_emf(now_ms()));
    }

    fn write_line(&self, doc: &serde_json::Value) {
        let line = doc.to_string();
        if let Ok(mut out) = self.out.lock() {
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    }
}

/// A writer into a shared buffer, to read back what was written (tests, the CLI).
#[derive(Debug, Clone, Default)]
pub struct SharedBuffer(pub Arc<Mutex<Vec<u8>>>);

impl SharedBuffer {
    /// What was written so far, as text.
    pub fn contents(&self) -> String {
        self.0
            .lock()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.lock() {
            Ok(mut b) => {
                b.extend_from_slice(buf);
                Ok(buf.len())
            }
            Err(_) => Err(std::io::Error::other("metrics buffer poisoned")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_emf_line_with_dimensions_and_metrics() {
        let buf = SharedBuffer::default();
        let sink = MetricsSink::to_writer(buf.clone());
        sink.record(&CallMetrics {
            agent: "weather",
            provider: Provider::Anthropic,
            model: "claude-sonnet-4-5",
            conversation_id: "c1",
            iteration: 2,
            input_tokens: 120,
            output_tokens: 30,
            cache_read_tokens: 80,
            cache_write_tokens: 20,
            latency_ms: 812,
            estimated_cost_usd: 0.0008,
            tool_calls: 2,
        });
        let text = buf.contents();
        assert_eq!(text.lines().count(), 1);
        let v: serde_json::Value = serde_json::from_str(text.trim()).expect("JSON line");
        let cw = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(cw["Namespace"], "SfnAgent");
        assert_eq!(cw["Dimensions"], json!([["Agent", "Provider"]]));
        let names: Vec<_> = cw["Metrics"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| m["Name"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(
            names,
            [
                "InputTokens",
                "OutputTokens",
                "CacheReadTokens",
                "CacheWriteTokens",
                "LatencyMs",
                "EstimatedCostUsd",
                "ToolCalls"
            ]
        );
        assert!(v["_aws"]["Timestamp"].as_u64().is_some());
        assert_eq!(v["Agent"], "weather");
        assert_eq!(v["Provider"], "anthropic");
        assert_eq!(v["Model"], "claude-sonnet-4-5");
        assert_eq!(v["InputTokens"], 120);
        assert_eq!(v["OutputTokens"], 30);
        assert_eq!(v["CacheReadTokens"], 80);
        assert_eq!(v["CacheWriteTokens"], 20);
        assert_eq!(v["LatencyMs"], 812);
        assert_eq!(v["ToolCalls"], 2);
    }

    #[test]
    fn the_call_line_is_pinned() {
        let m = CallMetrics {
            agent: "weather",
            provider: Provider::OpenAi,
            model: "gpt-4o",
            conversation_id: "c1",
            iteration: 3,
            input_tokens: 100,
            output_tokens: 20,
            cache_read_tokens: 60,
            cache_write_tokens: 0,
            latency_ms: 450,
            estimated_cost_usd: 0.5,
            tool_calls: 0,
        };
        assert_eq!(
            m.to_emf(1_700_000_000_000).to_string(),
            concat!(
                r#"{"_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[{"Namespace":"SfnAgent","#,
                r#""Dimensions":[["Agent","Provider"]],"Metrics":[{"Name":"InputTokens","Unit":"Count"},"#,
                r#"{"Name":"OutputTokens","Unit":"Count"},{"Name":"CacheReadTokens","Unit":"Count"},"#,
                r#"{"Name":"CacheWriteTokens","Unit":"Count"},{"Name":"LatencyMs","Unit":"Milliseconds"},"#,
                r#"{"Name":"EstimatedCostUsd","Unit":"None"},{"Name":"ToolCalls","Unit":"Count"}]}]},"#,
                r#""Agent":"weather","Provider":"openai","Model":"gpt-4o","ConversationId":"c1","#,
                r#""Iteration":3,"InputTokens":100,"OutputTokens":20,"CacheReadTokens":60,"#,
                r#""CacheWriteTokens":0,"LatencyMs":450,"#,
                r#""EstimatedCostUsd":0.5,"ToolCalls":0}"#
            )
        );
    }

    #[test]
    fn the_auth_failure_line_is_pinned() {
        let buf = SharedBuffer::default();
        let sink = MetricsSink::to_writer(buf.clone());
        let failure = AuthFailure {
            agent: "weather",
            provider: Provider::Anthropic,
            model: "claude-sonnet-4-5",
            conversation_id: "c1",
            iteration: 1,
        };
        assert_eq!(
            failure.to_emf(1_700_000_000_000).to_string(),
            concat!(
                r#"{"_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[{"Namespace":"SfnAgent","#,
                r#""Dimensions":[["Agent","Provider"]],"Metrics":[{"Name":"LLM.AuthFailed","Unit":"Count"}]}]},"#,
                r#""Agent":"weather","Provider":"anthropic","Model":"claude-sonnet-4-5","#,
                r#""ConversationId":"c1","Iteration":1,"LLM.AuthFailed":1}"#
            )
        );
        sink.record_auth_failure(&failure);
        assert_eq!(buf.contents().lines().count(), 1);
    }
}
