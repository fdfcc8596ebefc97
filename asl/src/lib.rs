//! Amazon States Language (ASL) as Rust types.
//!
//! Parse any definition, build one in code, validate it the way AWS does before accepting it,
//! and draw it as a Mermaid graph. This crate knows nothing of agents.
//!
//! - [`StateMachine::from_json`] parses with AWS's exact field names; an unknown field or a
//!   wrong type is a [`ParseError`] naming the state path and the field
//!   (`State "Get weather" (Task): field `TimeoutSeconds`: invalid type: …`).
//! - [`validate()`] runs the checks AWS applies before accepting a definition and returns every
//!   [`Problem`] at once, each at its state path (`Map "Run tools" > State "Run tool"`).
//! - [`mermaid::render`] draws the machine as a `flowchart TD`, nested Map and Parallel
//!   included.
//!
//! ```
//! use asl::StateMachine;
//!
//! let machine = StateMachine::from_json(r#"{
//!   "StartAt": "Hello",
//!   "States": { "Hello": { "Type": "Pass", "Result": "world", "End": true } }
//! }"#).unwrap();
//! assert_eq!(machine.start_at, "Hello");
//! assert!(asl::validate(&machine).is_ok());
//! assert!(asl::mermaid::render(&machine).starts_with("flowchart TD"));
//!
//! let broken = StateMachine::from_json(r#"{
//!   "StartAt": "Hello",
//!   "States": {
//!     "Hello": { "Type": "Pass", "Next": "Nowhere" },
//!     "Done": { "Type": "Succeed" }
//!   }
//! }"#).unwrap();
//! let errors = asl::validate(&broken).unwrap_err();
//! let problems: Vec<String> = errors.problems.iter().map(|p| p.to_string()).collect();
//! assert_eq!(problems, [
//!     r#"State "Hello": `Next` goes to "Nowhere", which is not a state in this scope"#,
//!     r#"State "Done": the state is not reachable from `StartAt` "Hello""#,
//! ]);
//! ```

pub mod error;
pub mod mermaid;
pub mod model;
mod parse;
pub mod validate;

pub use error::ParseError;
pub use model::*;
pub use parse::STATE_TYPES;
pub use validate::{Problem, ValidationErrors, validate};
