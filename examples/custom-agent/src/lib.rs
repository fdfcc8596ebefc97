//! The custom-agent agent and its tools. `src/main.rs` hands them to the sfn-agent command line;
//! each `src/bin/*.rs` is one of the Lambda functions the CDK app deploys.

pub mod agents;
pub mod tools;
