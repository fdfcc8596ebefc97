//! The generic MCP tool Lambda: `sfn_agent_mcp::lambda::serve().await` in a binary named
//! `mcp-tool`.

use std::sync::Arc;

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

use crate::handler::{InvalidPayload, McpHandler};

/// The error a Lambda binary's `main` returns.
pub use lambda_runtime::Error;

impl From<InvalidPayload> for Diagnostic {
    fn from(error: InvalidPayload) -> Self {
        Diagnostic {
            error_type: sfn_agent_tool::lambda::INVALID_PAYLOAD.to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// Runs the MCP tool Lambda until the runtime stops it: credentials from Secrets Manager (the
/// role may read the secrets the manifest names), cached for `API_KEY_TTL_SECONDS`; each call
/// bounded by `MCP_TIMEOUT_SECONDS`.
pub async fn serve() -> Result<(), Error> {
    sfn_agent_tool::lambda::init_logging();
    let handler = Arc::new(McpHandler::from_env());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let handler = Arc::clone(&handler);
        async move { handler.handle(&event.payload).await }
    }))
    .await
}
