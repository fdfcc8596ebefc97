//! The service's errors: a name the SDKs turn into a typed exception, and a message, sent as
//! AWS JSON 1.0 sends them (HTTP 400, `{"__type": "...#Name", "message": ...}`).

use axum::http::StatusCode;

/// The namespace the service puts before the error name in `__type`.
const NAMESPACE: &str = "com.amazonaws.swf.service.v2.model";

/// An error of one call, in the service's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}: {message}")]
pub struct ApiError {
    /// The error name (`StateMachineDoesNotExist`, `ValidationException`, …).
    pub name: &'static str,
    /// What went wrong.
    pub message: String,
}

macro_rules! errors {
    ($($(#[$doc:meta])* $fn:ident => $name:literal;)*) => {
        impl ApiError {
            $(
                $(#[$doc])*
                pub fn $fn(message: impl Into<String>) -> Self {
                    Self { name: $name, message: message.into() }
                }
            )*
        }
    };
}

errors! {
    /// The body is not JSON, or a member has the wrong type.
    serialization => "SerializationException";
    /// A member is missing or out of its bounds.
    validation => "ValidationException";
    /// `X-Amz-Target` names no operation of the service.
    unknown_operation => "UnknownOperationException";
    /// An ARN is malformed or of the wrong kind.
    invalid_arn => "InvalidArn";
    /// A state machine or execution name breaks the naming rules.
    invalid_name => "InvalidName";
    /// The definition does not parse or is not valid ASL.
    invalid_definition => "InvalidDefinition";
    /// An execution's input is not JSON or is too large.
    invalid_execution_input => "InvalidExecutionInput";
    /// A task's output is not JSON or is too large.
    invalid_output => "InvalidOutput";
    /// A task token, or a pagination token, is malformed.
    invalid_token => "InvalidToken";
    /// No state machine has this ARN.
    state_machine_does_not_exist => "StateMachineDoesNotExist";
    /// A state machine of this name exists with another definition.
    state_machine_already_exists => "StateMachineAlreadyExists";
    /// StartSyncExecution on a STANDARD state machine.
    state_machine_type_not_supported => "StateMachineTypeNotSupported";
    /// No execution has this ARN.
    execution_does_not_exist => "ExecutionDoesNotExist";
    /// An execution of this name exists (with another input, or closed).
    execution_already_exists => "ExecutionAlreadyExists";
    /// Too many executions run at once.
    execution_limit_exceeded => "ExecutionLimitExceeded";
    /// No task waits on this token.
    task_does_not_exist => "TaskDoesNotExist";
    /// The store failed (a disk error).
    internal => "InternalServerError";
}

impl ApiError {
    /// The HTTP status: 400 for the caller's errors, 500 for the store's.
    pub fn status(&self) -> StatusCode {
        if self.name == "InternalServerError" {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::BAD_REQUEST
        }
    }

    /// The body: `{"__type": "com.amazonaws.swf.service.v2.model#Name", "message": …}`.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({
            "__type": format!("{NAMESPACE}#{}", self.name),
            "message": self.message,
        })
    }

    /// The "Member must not be null" error of a missing required member.
    pub fn missing(member: &str) -> Self {
        Self::validation(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        ApiError::internal(format!("the execution store failed: {e}"))
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The store could not be opened or set up.
    #[error("cannot open the execution store at {path}: {source}")]
    Store {
        /// The database file (`:memory:` for none).
        path: String,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// A team's state machine could not be registered.
    #[error("cannot register the state machine `{name}`: {message}")]
    Machine {
        /// The machine's name.
        name: String,
        /// Why.
        message: String,
    },
    /// The listener failed.
    #[error("the server failed: {0}")]
    Io(#[from] std::io::Error),
}
