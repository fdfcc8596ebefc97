//! The Lambda adapter: any [`Tool`] as a Lambda handler for the Map item of the ReAct machine.
//!
//! The payload is an [`agent_builder::ToolCall`] and the answer an [`agent_builder::ToolResult`];
//! the work is done by the same [`ToolHandler`] the in-process [`crate::Toolbox`] uses.

use std::sync::Arc;

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

/// Answers one Lambda payload with `handler`.
pub async fn handle<T: Tool>(
    handler: &ToolHandler<T>,
    payload: Value,
) -> Result<ToolResult, InvalidPayload> {
    let call: ToolCall =
        serde_json::from_value(payload).map_err(|e| InvalidPayload(e.to_string()))?;
    Ok(handler.call(call).await)
}

/// Runs `tool` as a Lambda function until the runtime stops it.
pub async fn serve<T: Tool>(tool: T) -> Result<(), Error> {
    let handler = Arc::new(ToolHandler::new(tool));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let handler = Arc::clone(&handler);
        async move { handle(&handler, event.payload).await }
    }))
    .await
}
