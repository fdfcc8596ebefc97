//! `sfn-agent exec`: run any ASL document on the local engine (`sfn-local`) and print how it
//! ended as one JSON object.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::out::outln;
use anyhow::{Context, bail};
use serde_json::Value;
use sfn_local::{Engine, ExecutionOptions, Machine, ManualClock, Registry};

/// Arguments of `exec`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The ASL definition (JSON file) to run.
    definition: PathBuf,
    /// The execution input, as JSON text.
    #[arg(long, conflicts_with = "input_file")]
    input: Option<String>,
    /// A file holding the execution input.
    #[arg(long, value_name = "FILE")]
    input_file: Option<PathBuf>,
    /// Also print the execution history (GetExecutionHistory events).
    #[arg(long)]
    history: bool,
    /// Route a Lambda function to an emulator's Invoke API, e.g. `cargo lambda watch`:
    /// `--lambda-url my-function=http://127.0.0.1:9000`. Repeatable.
    #[arg(long = "lambda-url", value_name = "NAME=URL")]
    lambda_urls: Vec<String>,
    /// Skip the time of Wait states and retry back-offs (a virtual clock).
    #[arg(long)]
    no_wait: bool,
    /// The execution name (a UUID when absent).
    #[arg(long)]
    name: Option<String>,
}

/// Runs the machine; exit code 0 whenever it ran, whatever its status.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.definition)
        .with_context(|| format!("cannot read {}", args.definition.display()))?;
    let machine = asl::StateMachine::from_json(&text)
        .with_context(|| format!("{} is not a valid definition", args.definition.display()))?;
    asl::validate(&machine)
        .with_context(|| format!("{} is not a valid definition", args.definition.display()))?;
    // Refused here, as CreateStateMachine refuses it: a malformed path, intrinsic or JSONata
    // expression, named by its field.
    let machine = Machine::compile(&machine)
        .with_context(|| format!("{} is not a valid definition", args.definition.display()))?;
    let input: Value = match (&args.input, &args.input_file) {
        (Some(text), _) => serde_json::from_str(text).context("--input is not JSON")?,
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", path.display()))?
        }
        (None, None) => Value::Object(Default::default()),
    };
    let mut registry = Registry::new();
    for route in &args.lambda_urls {
        let Some((name, url)) = route.split_once('=') else {
            bail!("--lambda-url takes NAME=URL, found '{route}'");
        };
        let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
        let host = url.split_once("://").map_or("", |(_, rest)| rest);
        if name.is_empty() || !scheme_ok || host.is_empty() || url.contains(char::is_whitespace) {
            bail!(
                "--lambda-url {route}: expected NAME=URL with an http(s) base URL, such as \
                 my-function=http://127.0.0.1:9000 (what `cargo lambda watch` serves)"
            );
        }
        registry.lambda_url(name, url);
    }
    let mut engine = Engine::new(machine, registry);
    if args.no_wait {
        engine = engine.with_clock(Arc::new(ManualClock::starting_now()));
    }
    let options = ExecutionOptions {
        name: args.name.clone(),
        state_machine_name: args
            .definition
            .file_stem()
            .map(|s| s.to_string_lossy().replace('.', "-")),
        ..ExecutionOptions::default()
    };
    let execution = engine.execute(input, options).await;
    outln!(
        "{}",
        serde_json::to_string_pretty(&execution.to_json(args.history))?
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(definition: PathBuf, input: Option<&str>, routes: &[&str]) -> Args {
        Args {
            definition,
            input: input.map(str::to_owned),
            input_file: None,
            history: true,
            lambda_urls: routes.iter().map(|r| r.to_string()).collect(),
            no_wait: true,
            name: Some("test".into()),
        }
    }

    fn write(name: &str, text: &str) -> PathBuf {
        let path =
            std::env::temp_dir().join(format!("sfn-agent-exec-{}-{name}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[tokio::test]
    async fn runs_a_machine_and_refuses_bad_definitions_and_routes() {
        let ok = write(
            "ok.asl.json",
            r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#,
        );
        let code = run(args(ok.clone(), Some(r#"{"a":1}"#), &[]))
            .await
            .unwrap();
        assert_eq!(code, ExitCode::SUCCESS);
        let bad_route = run(args(ok.clone(), None, &["no-equals-sign"])).await;
        assert!(bad_route.unwrap_err().to_string().contains("NAME=URL"));
        let bad_input = run(args(ok, Some("{"), &[])).await;
        assert!(bad_input.unwrap_err().to_string().contains("--input"));
        let invalid = write("bad.asl.json", r#"{"StartAt":"Missing","States":{}}"#);
        let err = run(args(invalid, None, &[])).await.unwrap_err();
        assert!(format!("{err:#}").contains("not a valid definition"));
        // What CreateStateMachine refuses (a malformed path) is refused before it runs,
        // naming the field.
        let bad_path = write(
            "bad-path.asl.json",
            r#"{"StartAt":"P","States":{"P":{"Type":"Pass","InputPath":"$.a[","End":true}}}"#,
        );
        let err = run(args(bad_path, None, &[])).await.unwrap_err();
        assert!(format!("{err:#}").contains("States.P.InputPath"), "{err:#}");
    }
}
