//! The generic MCP tool Lambda's work: one tool call, carried with its server
//! ([`McpToolCall`]), made on the server with rmcp; the answer is always a tool result.

use std::time::{Duration, Instant};

use agent_builder::ToolResult;
use agent_builder::mcp::McpToolCall;
use serde_json::Value;

use crate::client::{Connection, result_text};
use crate::credentials::CredentialStore;

/// The environment variable of the time one MCP call may take, in whole seconds.
pub const TIMEOUT_ENV: &str = "MCP_TIMEOUT_SECONDS";
/// The time one MCP call may take (handshake and call) when not set: well under the tool
/// Lambda's 60 s timeout, so the model is told, not the Lambda killed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(25);

/// The timeout from `MCP_TIMEOUT_SECONDS` (1 to 900), else [`DEFAULT_TIMEOUT`].
pub fn timeout_from_env() -> Duration {
    std::env::var(TIMEOUT_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| (1..=900).contains(s))
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs)
}

/// A payload that is not an MCP tool call: a wiring bug in the state machine, not the model's
/// doing (the ASL's Catch turns the failed task into an error result).
#[derive(Debug, thiserror::Error)]
#[error(
    "the payload is not an MCP tool call {{\"id\", \"name\", \"input\", \"mcp\": {{\"server\", \"url\", \"tool\"}}}}: {0}"
)]
pub struct InvalidPayload(pub String);

/// Calls MCP tools: the credentials of their servers, and the time each call may take.
#[derive(Debug)]
pub struct McpHandler {
    credentials: CredentialStore,
    timeout: Duration,
}

impl McpHandler {
    /// A handler reading credentials from `credentials`, each call bounded by `timeout`.
    pub fn new(credentials: CredentialStore, timeout: Duration) -> Self {
        Self {
            credentials,
            timeout,
        }
    }

    /// A handler as a Lambda (or a local run) configures it: Secrets Manager with the
    /// `MCP_<SERVER>_SECRET` overrides, and [`timeout_from_env`].
    pub fn from_env() -> Self {
        Self::new(CredentialStore::from_env(), timeout_from_env())
    }

    /// Answers one payload. Only a payload that is not an MCP tool call is an error; everything
    /// the server does (down, slow, a protocol error, a tool error) is an error result.
    pub async fn handle(&self, payload: &Value) -> Result<ToolResult, InvalidPayload> {
        let call = <McpToolCall as serde::Deserialize>::deserialize(payload)
            .map_err(|e| InvalidPayload(e.to_string()))?;
        Ok(self.call(call).await)
    }

    /// Makes the call on its server and turns whatever happens into the model's tool result.
    pub async fn call(&self, call: McpToolCall) -> ToolResult {
        let started = Instant::now();
        let target = &call.mcp;
        let result = self.call_server(&call).await;
        tracing::info!(
            target: "sfn_agent::mcp",
            server = %target.server,
            tool = %target.tool,
            latency_ms = started.elapsed().as_millis() as u64,
            is_error = result.is_error,
            tool_use_id = %result.tool_use_id,
            sfn.state = "Run tool",
            "MCP tool call"
        );
        result
    }

    async fn call_server(&self, call: &McpToolCall) -> ToolResult {
        let target = &call.mcp;
        let id = call.id.clone();
        let Value::Object(arguments) = call.input.clone() else {
            return ToolResult::error(
                id,
                format!(
                    "The input of {} must be a JSON object; call it again with an object.",
                    call.name
                ),
            );
        };
        let credentials = match self
            .credentials
            .get(&target.server, target.secret.as_deref())
            .await
        {
            Ok(credentials) => credentials,
            Err(why) => {
                tracing::error!(target: "sfn_agent::mcp", server = %target.server, error = %why, "MCP credentials");
                return ToolResult::error(
                    id,
                    format!(
                        "The tool {} could not be called: the credentials of MCP server `{}` cannot \
                         be used. Answer without it.",
                        call.name, target.server
                    ),
                );
            }
        };
        let connection = Connection {
            server: &target.server,
            url: &target.url,
            credentials: &credentials,
            timeout: self.timeout,
        };
        match connection.call_tool(&target.tool, arguments).await {
            Err(error) => ToolResult::error(
                id,
                format!(
                    "The tool {} failed: {error}. Try again later or answer without it.",
                    call.name
                ),
            ),
            Ok(result) => {
                let text = result_text(&result);
                if result.is_error == Some(true) {
                    let why = if text.trim().is_empty() {
                        "it gave no reason".to_owned()
                    } else {
                        text
                    };
                    ToolResult::error(
                        id,
                        format!("The tool {} reported an error: {why}", call.name),
                    )
                } else {
                    ToolResult::ok(id, text)
                }
            }
        }
    }
}
