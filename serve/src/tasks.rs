//! The task token actions: SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat complete (or
//! keep alive) a `.waitForTaskToken` task of any running execution.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::protocol::{decode, json_text, required};
use crate::service::Service;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenRequest {
    task_token: Option<String>,
    output: Option<String>,
    error: Option<String>,
    cause: Option<String>,
}

/// The token of a request: 1 to 2048 characters of the kind the service hands out
/// (`InvalidToken` otherwise).
fn token(request: &TokenRequest) -> Result<&str, ApiError> {
    let token = required(&request.task_token, "taskToken")?;
    let fits = |c: char| c.is_ascii_alphanumeric() || "+/=_-.".contains(c);
    if token.is_empty() || token.len() > 2048 || !token.chars().all(fits) {
        return Err(ApiError::invalid_token(format!("Invalid Token: '{token}'")));
    }
    Ok(token)
}

fn no_task(token: &str) -> ApiError {
    ApiError::task_does_not_exist(format!(
        "Task Does Not Exist: no task waits on the token '{token}'"
    ))
}

/// SendTaskSuccess: the task's result is `output` (JSON text).
pub(crate) fn success(service: &Service, body: &[u8]) -> Result<Value, ApiError> {
    let request: TokenRequest = decode(body)?;
    let token = token(&request)?;
    let output = json_text(required(&request.output, "output")?, "the output")
        .map_err(ApiError::invalid_output)?;
    service
        .tokens
        .send_task_success(token, output)
        .map_err(|_| no_task(token))?;
    Ok(json!({}))
}

/// SendTaskFailure: the task fails with `error` and `cause` (Retry and Catch see them).
pub(crate) fn failure(service: &Service, body: &[u8]) -> Result<Value, ApiError> {
    let request: TokenRequest = decode(body)?;
    let token = token(&request)?;
    for (value, member, max) in [
        (&request.error, "error", 256),
        (&request.cause, "cause", 32768),
    ] {
        if value.as_ref().is_some_and(|v| v.chars().count() > max) {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must have length less than or equal to {max}"
            )));
        }
    }
    service
        .tokens
        .send_task_failure(
            token,
            request.error.as_deref().unwrap_or(""),
            request.cause.as_deref().unwrap_or(""),
        )
        .map_err(|_| no_task(token))?;
    Ok(json!({}))
}

/// SendTaskHeartbeat: the task's `HeartbeatSeconds` starts again, while it waits on the token.
pub(crate) fn heartbeat(service: &Service, body: &[u8]) -> Result<Value, ApiError> {
    let request: TokenRequest = decode(body)?;
    let token = token(&request)?;
    service
        .tokens
        .send_task_heartbeat(token)
        .map_err(|_| no_task(token))?;
    Ok(json!({}))
}
