//! Amazon States Language (ASL) as Rust types.
//!
//! Parse any definition, build one in code, validate it the way AWS does before accepting it,
//! and draw it as a Mermaid graph. This crate knows nothing of agents.
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
//! ```

pub mod error;
pub mod model;
mod parse;
pub mod validate;

pub use error::ParseError;
pub use model::*;
pub use validate::{Problem, ValidationErrors, validate};
