//! The errors of this crate.

/// A definition that is not valid JSON or does not match the language's shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid state machine definition: {message}")]
pub struct ParseError {
    /// What is wrong and where: the state path and the field.
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(message: String) -> Self {
        Self { message }
    }
}
