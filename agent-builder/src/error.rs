//! The errors of this crate.

/// An agent that cannot be built, with every reason at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("agent `{agent}` is not valid:\n{}", .problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
pub struct BuildError {
    /// The agent's name as given.
    pub agent: String,
    /// What is wrong, each with how to fix it.
    pub problems: Vec<String>,
}
