//! `sfn-agent batch`: one agent answers every question of a JSON Lines file, as the service
//! would run it: a distributed Map whose `ItemReader` reads the file (JSONL, one
//! `{"question": …}` a line) and whose `ItemProcessor` is the agent's own ReAct loop, each
//! question a child execution. Locally the file is read from disk (`sfn_local::DirStore`: the
//! file's folder is the bucket), the Lambdas run in-process, and a scripted model can answer
//! each question from its own script.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use agent_builder::{Agent, AgentOutput, Provider};
use anyhow::{Context, bail};
use llm_lambdas::providers::scripted::{Script, ScriptedModel};
use llm_lambdas::store::CachedStore;
use llm_lambdas::{ChatModel, ChatRequest, ChatResponse, LlmError, LocalStore};
use serde_json::{Value, json};
use sfn_local::limits::MAX_KEPT_CHILD_EXECUTIONS;
use sfn_local::{DirStore, Execution, ExecutionStatus};

use crate::local::LocalAgent;
use crate::out::outln;
use crate::project::Project;
use crate::run::readable_cause;

/// Arguments of `batch`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The agent (`sfn-agent agents` lists them).
    agent: String,
    /// The questions: a JSON Lines file, one `{"question": "…"}` a line.
    questions: PathBuf,
    /// A scripted model for each question (JSON: `{"questions": {"<question>": {"turns":
    /// […]}}}`), instead of the agent's model.
    #[arg(long, value_name = "FILE")]
    script: Option<PathBuf>,
    /// How many questions run at once (the Map's `MaxConcurrency`; at least 1: the Map would
    /// read 0 as no limit).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    max_concurrency: u32,
    /// Where conversations are kept.
    #[arg(long, value_name = "DIR", default_value = ".sfn-agent/conversations")]
    conversations_dir: PathBuf,
    /// Print the answers as one JSON array instead of text.
    #[arg(long)]
    json: bool,
}

/// The agent's state machine as the `ItemProcessor` of a distributed Map that reads its items
/// from `bucket`/`key` (JSON Lines) with at most `max_concurrency` child executions at once,
/// tolerating any number of failed questions.
/// The machine's other top-level fields (`TimeoutSeconds`) do not carry over: each question
/// is a child execution with the agent's states.
pub fn batch_state_machine(
    agent: &Agent,
    bucket: &str,
    key: &str,
    max_concurrency: u32,
) -> anyhow::Result<asl::StateMachine> {
    let loop_machine = serde_json::to_value(agent.state_machine())?;
    let definition = json!({
        "Comment": format!("{}: answers each question of a JSON Lines file", agent.name()),
        "QueryLanguage": "JSONata",
        "StartAt": "Questions",
        "States": {
            "Questions": {
                "Type": "Map",
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "JSONL"},
                    "Arguments": {"Bucket": bucket, "Key": key}
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": loop_machine["StartAt"],
                    "States": loop_machine["States"]
                },
                "MaxConcurrency": max_concurrency,
                // A question that fails (its model call, its input) fails its child only: the
                // others are still answered, and the failure is reported with its question.
                "ToleratedFailurePercentage": 100,
                "Label": "Questions",
                "End": true
            }
        }
    });
    Ok(asl::StateMachine::from_value(definition)?)
}

/// Runs the batch and prints each question's answer, in the file's order.
pub(crate) async fn run(project: &Project, args: Args) -> anyhow::Result<ExitCode> {
    let agent = project.find_agent(&args.agent)?;
    let path = std::fs::canonicalize(&args.questions)
        .with_context(|| format!("cannot read {}", args.questions.display()))?;
    let (Some(folder), Some(key)) = (path.parent(), path.file_name()) else {
        bail!("{}: not a file", path.display());
    };
    let (Some(root), Some(bucket)) = (folder.parent(), folder.file_name()) else {
        bail!(
            "{}: the file needs a folder of its own (its bucket)",
            path.display()
        );
    };
    // The engine keeps the record of the first MAX_KEPT_CHILD_EXECUTIONS children only, and
    // the answers are read from those records: refuse a longer file before running any of it.
    let questions = count_lines(&path)?;
    if questions == 0 {
        // Before a model is built (which may want an API key) or anything is run.
        if args.json {
            outln!("[]");
        }
        say_no_questions(&args.questions);
        return Ok(ExitCode::SUCCESS);
    }
    if questions > MAX_KEPT_CHILD_EXECUTIONS {
        bail!(
            "{} holds {questions} questions; `batch` answers at most {MAX_KEPT_CHILD_EXECUTIONS} a run locally \
             (split the file, or run the machine with `exec`, which prints the Map's output)",
            path.display()
        );
    }
    let model: Arc<dyn ChatModel> = match &args.script {
        Some(script) => Arc::new(ScriptedQuestions::from_file(
            script,
            agent.model().provider,
        )?),
        None => llm_lambdas::providers::for_provider_from_env(agent.model().provider).await?,
    };
    let store = Arc::new(CachedStore::new(LocalStore::new(&args.conversations_dir)));
    let handler = LocalAgent::handler(model, store, None);
    let local = LocalAgent::new(agent.clone(), handler, project.toolbox()?)
        .with_agents(project.agents().to_vec());
    let machine = batch_state_machine(
        agent,
        &bucket.to_string_lossy(),
        &key.to_string_lossy(),
        args.max_concurrency,
    )?;
    let execution = local
        .run_definition(&machine, Arc::new(DirStore::new(root)), json!({}))
        .await;
    let answers = answers(&execution);
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&answers)?);
    } else {
        for answer in answers.as_array().into_iter().flatten() {
            outln!("Q: {}", answer["question"].as_str().unwrap_or_default());
            match answer["answer"].as_str() {
                Some(text) => outln!("A: {}\n", text.trim()),
                None => outln!(
                    "✗ {}: {}\n",
                    answer["error"].as_str().unwrap_or("failed"),
                    readable_cause(answer["cause"].as_str())
                ),
            }
        }
    }
    if execution.status != ExecutionStatus::Succeeded {
        eprintln!(
            "✗ {}: {}",
            execution
                .error
                .as_deref()
                .unwrap_or(execution.status.as_str()),
            readable_cause(execution.cause.as_deref())
        );
        return Ok(ExitCode::FAILURE);
    }
    let answers = answers.as_array().map(Vec::as_slice).unwrap_or_default();
    if answers.is_empty() {
        // Lines blank but for whitespace outside ASCII, which the count took for questions.
        say_no_questions(&args.questions);
    }
    let failed = answers.iter().filter(|a| a.get("answer").is_none()).count();
    if failed > 0 {
        eprintln!("✗ {failed} of {} questions failed", answers.len());
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Says the file holds no questions (which is no failure).
fn say_no_questions(path: &Path) {
    eprintln!(
        "{} holds no questions: one {{\"question\": \"…\"}} a line",
        path.display()
    );
}

/// Each child execution's question and answer (or error), in the file's order.
pub fn answers(execution: &Execution) -> Value {
    let children = execution.map_runs.iter().flat_map(|run| &run.executions);
    Value::Array(
        children
            .map(|child| {
                let question = child.input["question"].clone();
                let output = child
                    .execution
                    .output
                    .as_ref()
                    .and_then(|o| serde_json::from_value::<AgentOutput>(o.clone()).ok());
                match output {
                    Some(output) => json!({
                        "question": question,
                        "answer": output.answer,
                        "iterations": output.iterations,
                        "execution": child.execution_arn,
                    }),
                    None => json!({
                        "question": question,
                        "error": child.execution.error,
                        "cause": child.execution.cause,
                    }),
                }
            })
            .collect(),
    )
}

/// The non-blank lines of a file, read a fixed buffer at a time (a line of any length costs no
/// more memory).
fn count_lines(path: &Path) -> anyhow::Result<usize> {
    use std::io::Read;
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    // A file the engine will not read is not read here either.
    let size = file
        .metadata()
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    if size > sfn_local::objects::MAX_OBJECT_BYTES {
        bail!(
            "{} has {size} bytes; the local engine reads at most {} (split the file)",
            path.display(),
            sfn_local::objects::MAX_OBJECT_BYTES
        );
    }
    let mut buffer = [0u8; 64 * 1024];
    let (mut count, mut blank) = (0usize, true);
    loop {
        let read = file
            .read(&mut buffer)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if read == 0 {
            break;
        }
        for &byte in &buffer[..read] {
            match byte {
                b'\n' => {
                    count += usize::from(!blank);
                    blank = true;
                }
                b if !b.is_ascii_whitespace() => blank = false,
                _ => {}
            }
        }
    }
    Ok(count + usize::from(!blank))
}

/// A scripted model per question: each conversation plays the script of the question its
/// first message asks, so every question of a batch gets its own answer.
struct ScriptedQuestions {
    provider: Provider,
    by_question: HashMap<String, ScriptedModel>,
}

/// The file of [`ScriptedQuestions`].
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct QuestionScripts {
    questions: HashMap<String, Script>,
}

impl ScriptedQuestions {
    fn from_file(path: &Path, provider: Provider) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let file: QuestionScripts = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a question script ({{\"questions\": {{\"<question>\": {{\"turns\": […]}}}}}})",
                path.display()
            )
        })?;
        Ok(Self {
            provider,
            by_question: file
                .questions
                .into_iter()
                .map(|(q, script)| (q.trim().to_owned(), ScriptedModel::new(script, provider)))
                .collect(),
        })
    }
}

#[async_trait::async_trait]
impl ChatModel for ScriptedQuestions {
    fn provider(&self) -> Provider {
        self.provider
    }

    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let question = request
            .messages
            .first()
            .map(|m| m.text())
            .unwrap_or_default();
        match self.by_question.get(question.trim()) {
            Some(model) => model.complete(request).await,
            None => Err(LlmError::Invalid {
                provider: "scripted".into(),
                message: format!("the question script has no script for the question {question:?}"),
            }),
        }
    }

    fn prices_apply(&self) -> bool {
        false
    }
}
