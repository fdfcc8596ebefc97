//! The `sfn-agent` command line as a library: a team's binary hands its agents and its tools to
//! [`App`] and gets every command for them (`agents`, `synth`, `check`, `validate`, `graph`,
//! `run`, `exec`, `invoke`, `history`, `new`, `serve`).
//!
//! ```no_run
//! use agent_builder::{Agent, Model};
//!
//! fn main() -> std::process::ExitCode {
//!     let greeter = Agent::builder("greeter")
//!         .system_prompt("Greet the user.")
//!         .model(Model::anthropic("claude-haiku-4-5"))
//!         .build()
//!         .expect("a valid agent");
//!     sfn_agent_cli::App::new().agent(greeter).run()
//! }
//! ```
//!
//! [`local`] runs one agent on the local engine with its LLM and tool Lambdas in-process; `run`
//! and the end-to-end tests use it, so what the tests run is what the command runs.
//!
//! Each command lives in its own module with an `Args` struct and a `run` function; `anyhow`
//! carries their errors to the one place that prints them ([`App::run`]).

mod agents;
mod app;
mod approve;
mod aws;
pub mod batch;
mod binaries;
mod check;
mod exec;
mod graph;
mod history;
mod invoke;
pub mod local;
mod new;
mod out;
mod people;
mod project;
mod run;
mod s3;
mod scripted;
mod serve;
mod synth;
mod trace;
mod validate;

pub use app::App;
pub use s3::S3Store;
