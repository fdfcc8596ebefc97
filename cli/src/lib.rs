//! The library side of the `sfn-agent` command: running an agent on the local engine with its
//! Lambdas in-process ([`local`]), shared by `sfn-agent run` and the end-to-end tests.

pub mod local;
