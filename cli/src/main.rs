//! `sfn-agent`: build, check and run LLM agents on AWS Step Functions, locally or on AWS.
//!
//! Each subcommand lives in its own module with an `Args` struct and a `run` function.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The local engine allocates and frees many small JSON values per state; mimalloc does that
/// faster than the system allocator (see the sfn-local benchmark, which uses it too).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod aws;
mod check;
mod exec;
mod graph;
mod history;
mod invoke;
mod out;
mod paths;
mod run;
mod synth;
mod trace;
mod validate;

/// Build, check and run LLM agents on AWS Step Functions.
#[derive(Debug, Parser)]
#[command(name = "sfn-agent", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Regenerate the agents' state machines and the manifest into `state-machines/`.
    Synth(synth::Args),
    /// Validate the committed state machines and fail when they are stale.
    Check(check::Args),
    /// Validate any ASL document and list every problem.
    Validate(validate::Args),
    /// Print an agent's state machine as a Mermaid graph.
    Graph(graph::Args),
    /// Ask one of our agents a question on the local engine, with in-process Lambdas.
    Run(run::Args),
    /// Run any ASL document on the local engine and print its outcome as JSON.
    Exec(exec::Args),
    /// Ask a deployed agent a question (StartExecution, or StartSyncExecution for Express).
    Invoke(invoke::Args),
    /// Print a deployed execution's events, the way `run --trace` prints a local run's.
    History(history::Args),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Synth(args) => synth::run(args),
        Command::Check(args) => check::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Graph(args) => graph::run(args),
        Command::Run(args) => run::run(args).await,
        Command::Exec(args) => exec::run(args).await,
        Command::Invoke(args) => invoke::run(args).await,
        Command::History(args) => history::run(args).await,
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
