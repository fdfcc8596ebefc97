//! [`App`]: a team's agents and tools, and every `sfn-agent` command for them.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use agent_builder::Agent;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use sfn_agent_tool::{Tool, Toolbox};

use crate::project::{Project, ToolboxFactory};
use crate::{
    agents, approve, batch, check, exec, graph, history, invoke, new, run, serve, synth, validate,
};

/// The command line of a project's agents.
///
/// A team's `main.rs` is a few lines: it lists its agents and its tools and calls [`App::run`],
/// which parses the arguments and runs the command:
///
/// ```no_run
/// use sfn_agent_cli::App;
/// # fn my_agents() -> Vec<agent_builder::Agent> { Vec::new() }
///
/// fn main() -> std::process::ExitCode {
///     App::new().agents(my_agents()).run()
/// }
/// ```
///
/// The commands: `agents`, `synth`, `check`, `validate`, `graph`, `run`, `exec`, `invoke`,
/// `history`, `new` and `serve` (`--help` on each says more).
#[must_use = "call .run() to run the command line"]
pub struct App {
    name: String,
    agents: Vec<Agent>,
    toolbox: Toolbox,
    toolbox_factories: Vec<ToolboxFactory>,
    state_machines_dir: PathBuf,
    scripts_dir: PathBuf,
}

impl Default for App {
    fn default() -> Self {
        Self::new()
    }
}

impl App {
    /// An app with no agents yet; the machines go to `state-machines/` and the scripted
    /// conversations are looked for in `scripts/`, both under the directory it runs from.
    pub fn new() -> Self {
        Self {
            name: "sfn-agent".to_owned(),
            agents: Vec::new(),
            toolbox: Toolbox::new(),
            toolbox_factories: Vec::new(),
            state_machines_dir: PathBuf::from("state-machines"),
            scripts_dir: PathBuf::from("scripts"),
        }
    }

    /// The command's name in help and hints (default `sfn-agent`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Adds an agent.
    pub fn agent(mut self, agent: Agent) -> Self {
        self.agents.push(agent);
        self
    }

    /// Adds agents.
    pub fn agents(mut self, agents: impl IntoIterator<Item = Agent>) -> Self {
        self.agents.extend(agents);
        self
    }

    /// Adds a tool, run in-process by `run` when an agent calls it.
    pub fn tool<T: Tool>(mut self, tool: T) -> Self {
        self.toolbox.register(tool);
        self
    }

    /// Adds every tool of `toolbox`.
    pub fn toolbox(mut self, toolbox: Toolbox) -> Self {
        self.toolbox = self.toolbox.merge(toolbox);
        self
    }

    /// Adds the tools `make` returns, made only when a command runs an agent (tools that read
    /// their configuration from the environment, such as the stock tools, fail only then).
    pub fn toolbox_with<F, E>(mut self, make: F) -> Self
    where
        F: Fn() -> Result<Toolbox, E> + Send + Sync + 'static,
        E: std::fmt::Display,
    {
        self.toolbox_factories
            .push(Arc::new(move || make().map_err(|e| e.to_string())));
        self
    }

    /// Where `synth` writes and `check` reads the state machines (default `state-machines`).
    pub fn state_machines_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.state_machines_dir = dir.into();
        self
    }

    /// Where the scripted conversations are, for hints (default `scripts`).
    pub fn scripts_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.scripts_dir = dir.into();
        self
    }

    /// Parses the process's arguments and runs the command.
    pub fn run(self) -> ExitCode {
        self.run_with_args(std::env::args_os())
    }

    /// Parses `args` (the first is the program's name) and runs the command.
    pub fn run_with_args(self, args: impl IntoIterator<Item = OsString>) -> ExitCode {
        let command = Cli::command()
            .name(self.name.clone())
            .bin_name(self.name.clone());
        let parsed = command
            .try_get_matches_from(args)
            .and_then(|matches| Cli::from_arg_matches(&matches));
        let cli = match parsed {
            Ok(cli) => cli,
            Err(error) => {
                // Help and version go to stdout with success; usage errors to stderr.
                let _ = error.print();
                return if error.use_stderr() {
                    ExitCode::from(2)
                } else {
                    ExitCode::SUCCESS
                };
            }
        };
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(error) => {
                eprintln!("error: cannot start the async runtime: {error}");
                return ExitCode::FAILURE;
            }
        };
        match runtime.block_on(self.dispatch(cli.command)) {
            Ok(code) => code,
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::FAILURE
            }
        }
    }

    async fn dispatch(self, command: Command) -> anyhow::Result<ExitCode> {
        let mut project = Project::new(
            self.name,
            self.agents,
            self.toolbox,
            self.toolbox_factories,
            self.state_machines_dir,
            self.scripts_dir,
        )?;
        if matches!(
            command,
            Command::Agents(_)
                | Command::Synth(_)
                | Command::Check(_)
                | Command::Graph(_)
                | Command::Run(_)
                | Command::Batch(_)
        ) {
            project.read_mcp_servers().await?;
        }
        match command {
            Command::Agents(args) => agents::run(&project, args),
            Command::Synth(args) => synth::run(&project, args),
            Command::Check(args) => check::run(&project, args),
            Command::Validate(args) => validate::run(args),
            Command::Graph(args) => graph::run(&project, args),
            Command::Run(args) => run::run(&project, args).await,
            Command::Batch(args) => batch::run(&project, args).await,
            Command::Exec(args) => exec::run(args).await,
            Command::Invoke(args) => invoke::run(args).await,
            Command::History(args) => history::run(args).await,
            Command::New(args) => new::run(&project, args),
            Command::Approve(args) => approve::approve(args).await,
            Command::Deny(args) => approve::deny(args).await,
            Command::Answer(args) => approve::answer(args).await,
            Command::Approvals(args) => approve::approvals(args).await,
            Command::Serve(args) => serve::run(&project, args).await,
        }
    }
}

/// Build, check and run LLM agents on AWS Step Functions.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the agents, one name per line (`--long` adds model, tools and workflow type).
    Agents(agents::Args),
    /// Write the agents' state machines and the manifest CDK reads into `state-machines/`.
    Synth(synth::Args),
    /// Validate the written state machines and fail when they are stale.
    Check(check::Args),
    /// Validate any ASL document and list every problem.
    Validate(validate::Args),
    /// Print an agent's state machine, or any ASL file, as a Mermaid graph.
    Graph(graph::Args),
    /// Ask an agent a question on the local engine, with its Lambdas in-process.
    Run(run::Args),
    /// Have an agent answer every question of a JSON Lines file locally, as a distributed Map
    /// whose child executions each run the agent's loop.
    Batch(batch::Args),
    /// Run any ASL document on the local engine and print its outcome as JSON.
    Exec(exec::Args),
    /// Ask a deployed agent a question (StartExecution, or StartSyncExecution for Express).
    Invoke(invoke::Args),
    /// Print a deployed execution's events, the way `run --trace` prints a local run's.
    History(history::Args),
    /// Write a new project: an agent with a tool of its own, a stock tool, a scripted
    /// conversation and a CDK app.
    New(new::Args),
    /// Approve a deployed agent's tool call that waits for approval (SendTaskSuccess).
    Approve(approve::ApproveArgs),
    /// Deny a deployed agent's tool call that waits for approval (SendTaskFailure).
    Deny(approve::DenyArgs),
    /// Answer a deployed agent's question to the user (SendTaskSuccess).
    Answer(approve::AnswerArgs),
    /// List the approval requests and questions waiting in an SQS destination.
    Approvals(approve::ApprovalsArgs),
    /// Serve the Step Functions API locally, with the agents' machines and a console at `/`.
    Serve(serve::Args),
}
