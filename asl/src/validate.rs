//! The checks AWS applies to a definition before accepting it.

use crate::model::{State, StateMachine, States};

/// One problem in a definition, at a state path such as `Map "For each" > State "Run"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where: the path of the state, or `StateMachine` for the top level.
    pub path: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every problem found in a definition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} problem(s) in the state machine:\n{}", .problems.len(), .problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
pub struct ValidationErrors {
    /// The problems, in document order.
    pub problems: Vec<Problem>,
}

/// Validates a machine and returns every problem at once, not only the first.
pub fn validate(machine: &StateMachine) -> Result<(), ValidationErrors> {
    let mut problems = Vec::new();
    check_scope(
        "StateMachine",
        &machine.start_at,
        &machine.states,
        &mut problems,
    );
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ValidationErrors { problems })
    }
}

fn check_scope(path: &str, start_at: &str, states: &States, problems: &mut Vec<Problem>) {
    if !states.contains_key(start_at) {
        problems.push(Problem {
            path: path.to_owned(),
            message: format!("StartAt \"{start_at}\" is not a state in this scope"),
        });
    }
    for (name, state) in states {
        for target in state.transitions() {
            if !states.contains_key(target) {
                problems.push(Problem {
                    path: format!("State \"{name}\""),
                    message: format!(
                        "transition to \"{target}\", which is not a state in this scope"
                    ),
                });
            }
        }
        if let State::Map(map) = state {
            if let Some((start, inner)) = map.processor_states() {
                check_scope(&format!("Map \"{name}\""), start, inner, problems);
            }
        }
    }
}
