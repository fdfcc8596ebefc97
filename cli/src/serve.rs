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

/// Options of `run --console`: where the endpoint listens and keeps its data, and what to do
/// after the run.
#[derive(Debug, Clone, clap::Args)]
pub struct ConsoleArgs {
    /// Run through a local Step Functions endpoint (as `serve`), so the execution is stored
    /// and seen live in its console; the console's URL of the execution is printed first.
    #[arg(long)]
    pub console: bool,
    /// With --console: the port to listen on (0: any free port).
    #[arg(long = "port", default_value_t = 8083, requires = "console")]
    pub port: u16,
    /// With --console: the address to listen on.
    #[arg(long = "host", default_value = "127.0.0.1", requires = "console")]
    pub host: String,
    /// With --console: where executions and their histories are kept (`serve.db`), as `serve
    /// --data-dir` (so a later `serve` shows the run).
    #[arg(
        long = "data-dir",
        value_name = "DIR",
        default_value = ".sfn-agent/serve",
        requires = "console"
    )]
    pub data_dir: PathBuf,
    /// With --console: open the URL in a browser (`$BROWSER`, else the desktop's opener).
    #[arg(long, requires = "console")]
    pub open: bool,
    /// With --console: stop serving once the run ends, instead of serving until Ctrl-C.
    #[arg(long, requires = "console")]
    pub exit: bool,
}

/// How an execution run through the endpoint ended.
#[derive(Debug, Clone)]
pub struct ConsoleOutcome {
    /// `SUCCEEDED`, `FAILED`, `TIMED_OUT` or `ABORTED`.
    pub status: String,
    /// The output, when it succeeded.
    pub output: Option<serde_json::Value>,
    /// The error, when it did not.
    pub error: Option<String>,
    /// The cause, when it did not.
    pub cause: Option<String>,
    /// How many states were entered.
    pub state_transitions: usize,
}

/// A run in the console: the endpoint, its execution of the run's agent, and the server task.
pub struct ConsoleRun {
    service: Arc<serve::Service>,
    server: tokio::task::JoinHandle<Result<(), serve::ServeError>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    arn: String,
}

/// How often the run's state is read while it goes.
const POLL: std::time::Duration = std::time::Duration::from_millis(100);

impl ConsoleRun {
    /// Starts the endpoint with the project's agents (the run's own `agent` served by `local`,
    /// the others as `serve` serves them, with their scripts in `scripts`), then starts the
    /// run's execution on `input`, having printed its console URL.
    pub async fn start(
        project: &Project,
        agent: &Agent,
        local: LocalAgent,
        input: serde_json::Value,
        scripts: Option<&std::path::Path>,
        args: &ConsoleArgs,
    ) -> anyhow::Result<Self> {
        let tokens = sfn_local::TaskTokens::new();
        let local = Arc::new(local.with_task_tokens(tokens.clone()));
        let mut machines = vec![Machine {
            name: agent.name().to_owned(),
            definition: agent.state_machine(),
            express: agent.workflow_type() == WorkflowType::Express,
            registry: Arc::new(move || local.registry()),
        }];
        let store = Arc::new(LocalStore::new(args.data_dir.join("conversations")));
        let toolbox = project.toolbox()?;
        for other in project.agents().iter().filter(|a| a.name() != agent.name()) {
            let (model, _) = model_for(project, other, scripts).await?;
            let handler = LocalAgent::handler(model, store.clone(), None);
            machines.push(machine(project, other, handler, toolbox.clone()));
        }
        let config = Config {
            data_dir: Some(args.data_dir.clone()),
            task_tokens: tokens,
            ..Config::default()
        };
        let server = Server::new(config, machines)?;
        let service = Arc::clone(server.service());
        let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot listen on {}:{}: {e} (is `serve` running there? --port 0 picks a free port)",
                    args.host,
                    args.port
                )
            })?;
        let address = listener.local_addr()?;
        let name = execution_name();
        let arn = service.config().arns.execution(agent.name(), &name);
        let url = format!("http://{address}/#execution={}", encode_component(&arn));
        eprintln!(
            "▶ console: {url}\n  (Step Functions API on http://{address}, data in {})",
            args.data_dir.display()
        );
        if args.open {
            open_browser(&url);
        }
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(server.serve_until(listener, async {
            let _ = stopped.await;
        }));
        let body = serde_json::json!({
            "stateMachineArn": service.config().arns.state_machine(agent.name()),
            "name": name,
            "input": input.to_string(),
        });
        let started = call(&service, "StartExecution", &body).await?;
        if started["executionArn"].as_str() != Some(arn.as_str()) {
            anyhow::bail!("the endpoint started {started} instead of {arn}");
        }
        Ok(Self {
            service,
            server,
            stop: Some(stop),
            arn,
        })
    }

    /// The execution's ARN.
    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// Waits for the execution to end, and reads how it ended from the endpoint.
    pub async fn wait(&self) -> anyhow::Result<ConsoleOutcome> {
        let request = serde_json::json!({ "executionArn": self.arn });
        let described = loop {
            let described = call(&self.service, "DescribeExecution", &request).await?;
            if described["status"] != "RUNNING" {
                break described;
            }
            tokio::time::sleep(POLL).await;
        };
        let mut state_transitions = 0;
        let mut token: Option<String> = None;
        loop {
            let mut page = serde_json::json!({
                "executionArn": self.arn,
                "maxResults": 1000,
                "includeExecutionData": false,
            });
            if let Some(token) = &token {
                page["nextToken"] = serde_json::json!(token);
            }
            let page = call(&self.service, "GetExecutionHistory", &page).await?;
            state_transitions += page["events"].as_array().map_or(0, |events| {
                events
                    .iter()
                    .filter(|e| {
                        e["type"]
                            .as_str()
                            .is_some_and(|t| t.ends_with("StateEntered"))
                    })
                    .count()
            });
            match page["nextToken"].as_str() {
                Some(next) => token = Some(next.to_owned()),
                None => break,
            }
        }
        let text = |key: &str| described[key].as_str().map(str::to_owned);
        let output = match described["output"].as_str() {
            Some(output) => Some(serde_json::from_str(output)?),
            None => None,
        };
        Ok(ConsoleOutcome {
            status: text("status").unwrap_or_default(),
            output,
            error: text("error"),
            cause: text("cause"),
            state_transitions,
        })
    }

    /// Serves until the process is stopped (Ctrl-C), or, with `exit`, stops the endpoint now.
    pub async fn finish(mut self, exit: bool) -> anyhow::Result<()> {
        if exit {
            if let Some(stop) = self.stop.take() {
                let _ = stop.send(());
            }
        } else {
            eprintln!("  serving the console until Ctrl-C");
        }
        self.server.await??;
        Ok(())
    }
}

/// One action of the in-process endpoint, its error as the service words it.
async fn call(
    service: &Arc<serve::Service>,
    action: &str,
    body: &serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    let target = format!("AWSStepFunctions.{action}");
    service
        .call(&target, body.to_string().as_bytes())
        .await
        .map_err(|e| anyhow::anyhow!("{action}: {e}"))
}

/// A new execution name: `run-` and the time in milliseconds (and the process, should two
/// runs start in the same millisecond on one data dir).
fn execution_name() -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!("run-{millis}-{}", std::process::id())
}

/// `text` as `encodeURIComponent` writes it.
fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Opens `url` with `$BROWSER`, else the desktop's opener; says so when neither starts.
fn open_browser(url: &str) {
    let opener = std::env::var("BROWSER")
        .ok()
        .filter(|b| !b.trim().is_empty());
    let program = opener.unwrap_or_else(|| {
        if cfg!(target_os = "macos") {
            "open".to_owned()
        } else if cfg!(windows) {
            "explorer".to_owned()
        } else {
            "xdg-open".to_owned()
        }
    });
    let started = std::process::Command::new(&program)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if let Err(error) = started {
        eprintln!("note: could not open a browser with `{program}`: {error}; open the URL above");
    }
}

#[cfg(test)]
mod tests {
    use super::encode_component;

    #[test]
    fn arns_are_encoded_as_the_console_encodes_them() {
        assert_eq!(
            encode_component("arn:aws:states:us-east-1:1:execution:a:b c/d"),
            "arn%3Aaws%3Astates%3Aus-east-1%3A1%3Aexecution%3Aa%3Ab%20c%2Fd"
        );
    }
}
