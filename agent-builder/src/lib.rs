//! Agents defined in Rust, compiled to an Amazon States Language ReAct loop.
//!
//! This crate also owns the wire protocol between the state machine and the Lambdas
//! ([`protocol`]), the error names the machine matches ([`errors`]) and the manifest CDK reads
//! ([`manifest`]). It has no AWS SDK in it.

pub mod errors;
pub mod manifest;
pub mod protocol;

pub use protocol::*;
