//! `sfn-agent run`: one of the project's agents answers a question end to end on the local engine.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::local::{LocalAgent, Progress};
use crate::out::outln;
use crate::project::Project;
use agent_builder::{AgentOutput, Provider};
use anyhow::bail;
use llm_lambdas::store::CachedStore;
use llm_lambdas::{ChatModel, LocalStore};
use serde_json::{Value, json};
use sfn_local::ExecutionStatus;

/// Arguments of `run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The agent (`sfn-agent agents` lists them).
    agent: String,
    /// The question.
    question: String,
    /// Continue this conversation (printed at the end of every run).
    #[arg(long = "conversation", value_name = "ID")]
    conversation: Option<String>,
    /// The provider: anthropic, openai, gemini, bedrock, or scripted (plays --script). Default:
    /// the agent's own.
    #[arg(long)]
    provider: Option<String>,
    /// The model id, overriding the agent's (needed when --provider differs from the agent's).
    #[arg(long)]
    model: Option<String>,
    /// A scripted conversation (JSON) to play instead of a model; implies --provider scripted.
    #[arg(long, value_name = "FILE")]
    script: Option<PathBuf>,
    /// Print every state transition (the execution history as it happens).
    #[arg(long, conflicts_with = "console")]
    trace: bool,
    /// Where conversations are kept.
    #[arg(long, value_name = "DIR", default_value = ".sfn-agent/conversations")]
    conversations_dir: PathBuf,
    /// Print the execution's result as one JSON object on stdout instead of the summary.
    #[arg(long, conflicts_with = "console")]
    json: bool,
    /// Answer every approval request without asking: `all` approves, `none` denies. Without
    /// it, each request is shown and asked on the terminal.
    #[arg(long, value_name = "all|none", value_parser = ["all", "none"])]
    approve: Option<String>,
    /// Answer every question the model asks the user with this text, without asking.
    #[arg(long, value_name = "TEXT")]
    answer: Option<String>,
    #[command(flatten)]
    console: crate::serve::ConsoleArgs,
}

/// Runs the agent and prints progress on stderr, then the answer.
pub async fn run(project: &Project, args: Args) -> anyhow::Result<ExitCode> {
    let agent = project.find_agent(&args.agent)?;
    if args.question.trim().is_empty() {
        bail!(
            "the question is empty: {} run {} \"<question>\"",
            project.name,
            args.agent
        );
    }
    let own = agent.model().provider;
    let scripted = args.script.is_some() || args.provider.as_deref() == Some("scripted");
    let (model, label, model_override) =
        choose_model(project, &args, scripted, own, &agent.model().model).await?;
    // Behind a cache with no budget (one process, its own conversation), each turn reads only the
    // lines added since the last one: a run's time per iteration stays flat however long the
    // conversation grows.
    let store = Arc::new(CachedStore::unbounded(LocalStore::new(
        &args.conversations_dir,
    )));
    if let Some(id) = &args.conversation
        && !store.inner().exists(id)
    {
        eprintln!(
            "note: no conversation `{id}` in {}; starting it new",
            args.conversations_dir.display()
        );
    }
    let handler = LocalAgent::handler(model, store, model_override);
    let toolbox = project.toolbox()?;
    warn_of_missing_tools(agent, &toolbox);

    eprintln!("▶ {} · {label}", agent.name());
    let mut local = LocalAgent::new(agent.clone(), handler, toolbox)
        .with_progress(Arc::new(print_progress))
        .with_agents(project.agents().to_vec())
        .with_responder(crate::people::responder(
            args.approve.as_deref(),
            args.answer.clone(),
        ));
    if args.trace {
        local = local.with_listener(Arc::new(|event| {
            if let Some(line) = crate::trace::format_event(&event.to_json()) {
                eprintln!("    · {line}");
            }
        }));
    }
    let mut input = json!({ "question": args.question });
    if let Some(id) = &args.conversation {
        input["conversation_id"] = json!(id);
    }
    if args.console.console {
        let scripts = args.script.as_deref().and_then(std::path::Path::parent);
        let run =
            crate::serve::ConsoleRun::start(project, agent, local, input, scripts, &args.console)
                .await?;
        let outcome = run.wait().await?;
        let succeeded = outcome.status == ExecutionStatus::Succeeded.as_str();
        match (succeeded, &outcome.output) {
            (true, Some(output)) => print_answer(
                &project.name,
                agent.name(),
                output,
                outcome.state_transitions,
                !scripted,
            ),
            _ => {
                eprintln!();
                eprintln!(
                    "✗ {}: {}",
                    outcome.error.as_deref().unwrap_or(&outcome.status),
                    readable_cause(outcome.cause.as_deref())
                );
            }
        }
        eprintln!("  execution {}", run.arn());
        run.finish(args.console.exit).await?;
        return Ok(if succeeded {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let execution = local.run(input).await;

    if args.json {
        let mut result = execution.to_json(false);
        result["state_transitions"] = json!(execution.state_transitions());
        outln!("{}", serde_json::to_string_pretty(&result)?);
        return Ok(exit_code(execution.status));
    }
    match (&execution.status, &execution.output) {
        (ExecutionStatus::Succeeded, Some(output)) => print_answer(
            &project.name,
            agent.name(),
            output,
            execution.state_transitions(),
            !scripted,
        ),
        _ => {
            eprintln!();
            eprintln!(
                "✗ {}: {}",
                execution
                    .error
                    .as_deref()
                    .unwrap_or(execution.status.as_str()),
                readable_cause(execution.cause.as_deref())
            );
        }
    }
    Ok(exit_code(execution.status))
}

fn exit_code(status: ExecutionStatus) -> ExitCode {
    if status == ExecutionStatus::Succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The model to answer with: the script, or the provider's adapter from the environment.
async fn choose_model(
    project: &Project,
    args: &Args,
    scripted: bool,
    own: Provider,
    own_model: &str,
) -> anyhow::Result<(Arc<dyn ChatModel>, String, Option<String>)> {
    if scripted {
        let Some(script) = &args.script else {
            bail!(
                "--provider scripted needs --script FILE (see {}/)",
                project.scripts_dir.display()
            );
        };
        let model = llm_lambdas::providers::scripted_from_file(script, own)?;
        let model = crate::scripted::with_sub_agent_scripts(project, &args.agent, script, model)?;
        return Ok((model, format!("scripted ({})", script.display()), None));
    }
    let provider: Provider = match &args.provider {
        Some(p) => p
            .parse()
            .map_err(|e: String| anyhow::anyhow!("{e}, or scripted"))?,
        None => own,
    };
    if provider != own && args.model.is_none() {
        bail!(
            "the agent's model `{own_model}` is {own}'s; with --provider {provider} say which model to use with --model"
        );
    }
    let model = match llm_lambdas::providers::for_provider_from_env(provider).await {
        Ok(model) => model,
        Err(error) => bail!(
            "{error}\n\nTo run without a model, play a scripted conversation:\n  {} run {} \"{}\" --script {}",
            project.name,
            args.agent,
            args.question.replace('"', "\\\""),
            project
                .scripts_dir
                .join(format!("{}.json", args.agent))
                .display()
        ),
    };
    let shown = args.model.as_deref().unwrap_or(own_model);
    Ok((model, format!("{provider} {shown}"), args.model.clone()))
}

/// Says which of the agent's tools no in-process tool answers for (their calls will come back
/// as error results), so a missing `App::tool` is seen before the model calls it.
fn warn_of_missing_tools(agent: &agent_builder::Agent, toolbox: &sfn_agent_tool::Toolbox) {
    for tool in agent.tools() {
        // An MCP tool runs on its server, through the MCP handler.
        if !tool.is_mcp() && !toolbox.contains(&tool.spec.name) {
            let why = match &tool.lambda {
                agent_builder::ToolLambda::Existing(function) => {
                    format!("it is the existing Lambda `{function}`")
                }
                _ => "no tool of that name was given to the app".to_owned(),
            };
            eprintln!(
                "note: `{}` does not run locally ({why}); its calls come back as errors. \
                 Give the app a Rust tool of that name (App::tool) to stand in for it.",
                tool.spec.name
            );
        }
    }
}

fn print_progress(progress: &Progress) {
    match progress {
        Progress::Turn(turn) => {
            let text = one_line(&turn.text, 160);
            let calls: Vec<String> = turn
                .tool_calls
                .iter()
                .map(|c| format!("{} {}", c.name, one_line(&c.input.to_string(), 120)))
                .collect();
            if calls.is_empty() && turn.rejected.is_empty() {
                eprintln!(
                    "  [{}] model answered ({:?})",
                    turn.iteration, turn.stop_reason
                );
            } else {
                if !text.is_empty() {
                    eprintln!("  [{}] model: {text}", turn.iteration);
                }
                for call in calls {
                    eprintln!("  [{}] → {call}", turn.iteration);
                }
                for rejected in &turn.rejected {
                    eprintln!(
                        "  [{}] ✗ rejected: {}",
                        turn.iteration,
                        one_line(&rejected.content, 160)
                    );
                }
            }
        }
        Progress::TurnFailed { error, cause } => {
            eprintln!("  ! model call failed: {error}: {}", one_line(cause, 200))
        }
        Progress::ToolCall(_) => {}
        Progress::ToolResult { name, result } => {
            let mark = if result.is_error { "✗" } else { "←" };
            eprintln!("      {name} {mark} {}", one_line(&result.content, 160));
        }
    }
}

/// The cause as a person reads it: a Lambda error's cause is the JSON of
/// `{"errorType", "errorMessage", "trace"}`, of which the message is what matters.
pub(crate) fn readable_cause(cause: Option<&str>) -> String {
    let Some(cause) = cause else {
        return "no cause given".to_owned();
    };
    serde_json::from_str::<Value>(cause)
        .ok()
        .and_then(|v| {
            v.get("errorMessage")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| cause.to_owned())
}

fn print_answer(
    command: &str,
    agent: &str,
    output: &Value,
    transitions: usize,
    can_continue: bool,
) {
    let Ok(output) = serde_json::from_value::<AgentOutput>(output.clone()) else {
        outln!(
            "{}",
            serde_json::to_string_pretty(output).unwrap_or_default()
        );
        return;
    };
    outln!();
    match &output.result {
        // A structured answer: the JSON is the answer; its text form would say it twice.
        Some(result) => {
            let same = serde_json::from_str::<Value>(&output.answer).is_ok_and(|v| &v == result);
            if !same && !output.answer.trim().is_empty() {
                outln!("{}", output.answer.trim());
            }
            outln!(
                "{}",
                serde_json::to_string_pretty(result).unwrap_or_default()
            );
        }
        None => outln!("{}", output.answer.trim()),
    }
    eprintln!();
    eprintln!(
        "iterations {} · tokens {} in ({} cache read, {} cache write) / {} out · est. cost ${:.4} · {transitions} state transitions",
        output.iterations,
        output.usage.input_tokens,
        output.usage.cache_read_tokens,
        output.usage.cache_write_tokens,
        output.usage.output_tokens,
        output.usage.estimated_cost_usd
    );
    if output.stop_reason == agent_builder::StopReason::MaxTokens {
        eprintln!("note: the answer was cut short at the model's max_tokens");
    }
    if can_continue {
        eprintln!(
            "continue: {command} run {agent} \"…\" --conversation {}",
            output.conversation_id
        );
    } else {
        eprintln!(
            "conversation {} (a scripted model continues it only with a script that has more turns)",
            output.conversation_id
        );
    }
}

/// The first `max` characters of `text` on one line.
fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        flat.chars().take(max).collect::<String>() + "…"
    }
}
