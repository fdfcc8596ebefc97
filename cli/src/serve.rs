//! `sfn-agent serve`: the project's agents behind a local Step Functions endpoint
//! (`sfn-agent-serve`), with their LLM and tool Lambdas in-process, and the console at `/`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use agent_builder::manifest::WorkflowType;
use agent_builder::{Agent, Provider};
use llm_lambdas::{ChatModel, ChatRequest, ChatResponse, LlmError, LocalStore};
use serve::{Arns, Config, Machine, Server};

use crate::local::{LocalAgent, PersonRequest, Reply};
use crate::project::Project;

/// Arguments of `serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The port to listen on (0: any free port, printed at start).
    #[arg(long, default_value_t = 8083)]
    port: u16,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Where executions, histories and conversations are kept (`serve.db`, `conversations/`).
    #[arg(long, value_name = "DIR", default_value = ".sfn-agent/serve")]
    data_dir: PathBuf,
    /// Play the scripted conversation `DIR/<agent>.json` for each agent that has one, instead
    /// of its model.
    #[arg(long, value_name = "DIR")]
    scripts: Option<PathBuf>,
    /// A Lambda emulator's URL (`cargo lambda watch`): the Lambda functions of state machines
    /// created through the API are invoked there.
    #[arg(long, value_name = "URL")]
    lambda_endpoint: Option<String>,
    /// The region in ARNs.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// The account id in ARNs.
    #[arg(long, default_value = "123456789012")]
    account: String,
}

/// Serves until the process is stopped.
pub async fn run(project: &Project, args: Args) -> anyhow::Result<ExitCode> {
    let store = Arc::new(LocalStore::new(args.data_dir.join("conversations")));
    let toolbox = project.toolbox()?;
    let mut machines = Vec::new();
    for agent in project.agents() {
        let (model, label) = model_for(project, agent, args.scripts.as_deref()).await?;
        eprintln!("  {} · {label}", agent.name());
        let handler = LocalAgent::handler(model, store.clone(), None);
        machines.push(machine(project, agent, handler, toolbox.clone()));
    }
    let config = Config {
        arns: Arns {
            region: args.region,
            account: args.account,
        },
        data_dir: Some(args.data_dir.clone()),
        lambda_endpoint: args.lambda_endpoint,
        ..Config::default()
    };
    let server = Server::new(config, machines)?;
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port)).await?;
    let address = listener.local_addr()?;
    eprintln!(
        "▶ Step Functions API on http://{address} (AWS_ENDPOINT_URL_SFN=http://{address}), console at http://{address}/ , data in {}",
        args.data_dir.display()
    );
    server.serve(listener).await?;
    Ok(ExitCode::SUCCESS)
}

/// The agent's state machine, its tasks served by its LLM and tool handlers in-process. Its
/// requests to people wait for SendTaskSuccess / SendTaskFailure (the token is in the request,
/// in the execution's history, and printed here).
fn machine(
    project: &Project,
    agent: &Agent,
    handler: llm_lambdas::Handler,
    toolbox: sfn_agent_tool::Toolbox,
) -> Machine {
    let local = Arc::new(
        LocalAgent::new(agent.clone(), handler, toolbox)
            .with_agents(project.agents().to_vec())
            .with_responder(Arc::new(print_request)),
    );
    Machine {
        name: agent.name().to_owned(),
        definition: agent.state_machine(),
        express: agent.workflow_type() == WorkflowType::Express,
        registry: Arc::new(move || local.registry()),
    }
}

fn print_request(request: &PersonRequest) -> Reply {
    eprintln!(
        "  {} `{}` asks ({}): {}\n    answer with SendTaskSuccess / SendTaskFailure, token {}",
        request.agent, request.tool, request.kind, request.summary, request.token
    );
    Reply::NoAnswer
}

/// The agent's script in `scripts` if there is one, else its provider from the environment,
/// else a model that fails each turn saying why (the server still starts).
async fn model_for(
    project: &Project,
    agent: &Agent,
    scripts: Option<&std::path::Path>,
) -> anyhow::Result<(Arc<dyn ChatModel>, String)> {
    let provider = agent.model().provider;
    if let Some(dir) = scripts {
        let path = dir.join(format!("{}.json", agent.name()));
        if path.is_file() {
            let model = llm_lambdas::providers::scripted_from_file(&path, provider)?;
            let model =
                crate::scripted::with_sub_agent_scripts(project, agent.name(), &path, model)?;
            return Ok((model, format!("scripted ({})", path.display())));
        }
    }
    match llm_lambdas::providers::for_provider_from_env(provider).await {
        Ok(model) => Ok((model, format!("{provider} {}", agent.model().model))),
        Err(error) => Ok((
            Arc::new(Unavailable {
                provider,
                message: error.to_string(),
            }),
            format!("no model: {error}"),
        )),
    }
}

/// A model that cannot be reached: every turn fails with `LLM.AuthFailed` and the reason.
struct Unavailable {
    provider: Provider,
    message: String,
}

#[async_trait::async_trait]
impl ChatModel for Unavailable {
    fn provider(&self) -> Provider {
        self.provider
    }

    async fn complete(&self, _request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        Err(LlmError::AuthFailed {
            provider: self.provider.to_string(),
            message: format!(
                "{}; start `serve` with the key in the environment, or with --scripts DIR",
                self.message
            ),
        })
    }
}
