//! `sfn-agent exec`: run any ASL document on the local engine (`sfn-local`) and print how it
//! ended as one JSON object.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::out::outln;
use anyhow::{Context, bail};
use serde_json::Value;
use sfn_local::{DirStore, Engine, Execution, ExecutionOptions, Machine, ManualClock, Registry};

use crate::s3::S3Store;

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
    /// Serve a distributed Map's `ItemReader` and `ResultWriter` objects from local files:
    /// bucket `b`, key `k` is the file `DIR/b/k`.
    #[arg(long, value_name = "DIR", conflicts_with = "s3_endpoint")]
    s3_dir: Option<PathBuf>,
    /// Serve them from an S3 API at this URL (a local server such as moto, or
    /// `https://s3.us-east-1.amazonaws.com`), with the credentials and region of the usual AWS
    /// environment variables.
    #[arg(long, value_name = "URL")]
    s3_endpoint: Option<String>,
}

/// Runs the machine; exit code 0 whenever it ran, whatever its status.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let execution = execute(&args).await?;
    outln!(
        "{}",
        serde_json::to_string_pretty(&execution.to_json(args.history))?
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs the machine as `exec` does, and gives how it ended.
async fn execute(args: &Args) -> anyhow::Result<Execution> {
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
    if let Some(dir) = &args.s3_dir {
        if !dir.is_dir() {
            bail!("--s3-dir {}: not a directory", dir.display());
        }
        engine = engine.with_object_store(Arc::new(DirStore::new(dir)));
    }
    if let Some(endpoint) = &args.s3_endpoint {
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            bail!("--s3-endpoint {endpoint}: expected an http(s) URL");
        }
        engine = engine.with_object_store(Arc::new(S3Store::for_endpoint(endpoint).await));
    }
    let options = ExecutionOptions {
        name: args.name.clone(),
        state_machine_name: args
            .definition
            .file_stem()
            .map(|s| s.to_string_lossy().replace('.', "-")),
        ..ExecutionOptions::default()
    };
    Ok(engine.execute(input, options).await)
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
            s3_dir: None,
            s3_endpoint: None,
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

    /// A distributed Map that reads questions from a JSON Lines object and writes its results
    /// under `results/`.
    const QUESTIONS_MAP: &str = r#"{
        "StartAt": "Ask",
        "States": {"Ask": {
            "Type": "Map",
            "ItemReader": {
                "Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "JSONL"},
                "Parameters": {"Bucket.$": "$.bucket", "Key": "questions.jsonl"}
            },
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Answer",
                "States": {"Answer": {"Type": "Pass", "Parameters": {"answered.$": "$.q"}, "End": true}}
            },
            "ResultWriter": {
                "Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket.$": "$.bucket", "Prefix": "results"}
            },
            "End": true
        }}
    }"#;

    #[tokio::test]
    async fn a_distributed_map_reads_and_writes_local_files_with_s3_dir() {
        let dir = std::env::temp_dir().join(format!("sfn-agent-exec-s3-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("qs")).unwrap();
        std::fs::write(
            dir.join("qs/questions.jsonl"),
            "{\"q\":\"a\"}\n{\"q\":\"b\"}\n",
        )
        .unwrap();
        let mut a = args(
            write("dmap.asl.json", QUESTIONS_MAP),
            Some(r#"{"bucket":"qs"}"#),
            &[],
        );
        a.s3_dir = Some(dir.clone());
        let execution = execute(&a).await.unwrap();
        assert_eq!(
            execution.status,
            sfn_local::ExecutionStatus::Succeeded,
            "{execution:?}"
        );
        let output = execution.output.unwrap();
        let manifest_key = output["ResultWriterDetails"]["Key"].as_str().unwrap();
        assert!(manifest_key.starts_with("results/"), "{output}");
        let manifest: Value =
            serde_json::from_slice(&std::fs::read(dir.join("qs").join(manifest_key)).unwrap())
                .unwrap();
        let succeeded_key = manifest["ResultFiles"]["SUCCEEDED"][0]["Key"]
            .as_str()
            .unwrap();
        let succeeded: Value =
            serde_json::from_slice(&std::fs::read(dir.join("qs").join(succeeded_key)).unwrap())
                .unwrap();
        let outputs: Vec<&str> = succeeded
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["Output"].as_str().unwrap())
            .collect();
        assert_eq!(outputs, [r#"{"answered":"a"}"#, r#"{"answered":"b"}"#]);
        assert_eq!(execution.map_runs[0].execution_count, 2);
        // Without a store, the reader's failure says how to give one.
        a.s3_dir = None;
        let execution = execute(&a).await.unwrap();
        assert_eq!(execution.error.as_deref(), Some("States.ItemReaderFailed"));
        assert!(execution.cause.unwrap().contains("--s3-dir"));
        std::fs::remove_dir_all(&dir).ok();
    }

    /// The local AWS API server (moto) of `scripts/local-aws.sh`, as the other moto tests find
    /// it: skipped without `SFN_AGENT_TEST_AWS_ENDPOINT`, except under CI.
    fn aws_endpoint(test: &str) -> Option<String> {
        match std::env::var("SFN_AGENT_TEST_AWS_ENDPOINT") {
            Ok(e) if !e.trim().is_empty() => Some(e.trim().to_string()),
            _ => {
                let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
                assert!(
                    !ci,
                    "{test}: SFN_AGENT_TEST_AWS_ENDPOINT is not set under CI; run `eval \"$(scripts/local-aws.sh)\"` first"
                );
                eprintln!(
                    "SKIPPED {test}: SFN_AGENT_TEST_AWS_ENDPOINT is not set; run `eval \"$(scripts/local-aws.sh)\"` to start the local AWS server"
                );
                None
            }
        }
    }

    #[tokio::test]
    async fn a_distributed_map_reads_and_writes_an_s3_api_with_s3_endpoint() {
        let Some(endpoint) =
            aws_endpoint("a_distributed_map_reads_and_writes_an_s3_api_with_s3_endpoint")
        else {
            return;
        };
        // The test's own client, with the dummy credentials the other moto tests use; the
        // exec option below takes them from the environment `scripts/local-aws.sh` sets.
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "testing",
                "testing",
                None,
                None,
                "local-test",
            ))
            .load()
            .await;
        let client = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .build(),
        );
        let bucket = format!(
            "sfn-agent-dmap-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or_default()
        );
        client
            .create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("create bucket");
        client
            .put_object()
            .bucket(&bucket)
            .key("questions.jsonl")
            .body("{\"q\":\"a\"}\n{\"q\":\"b\"}\n".as_bytes().to_vec().into())
            .send()
            .await
            .expect("put questions");
        let store = Arc::new(S3Store::new(client.clone()));
        // A listing and a size limit through the S3 API.
        let listed = sfn_local::ObjectStore::list_objects_v2(&*store, &bucket, "q", None)
            .await
            .expect("list");
        assert_eq!(listed.objects.len(), 1);
        assert_eq!(listed.objects[0].key, "questions.jsonl");
        assert_eq!(listed.objects[0].size, 20);
        let too_large =
            sfn_local::ObjectStore::get_object(&*store, &bucket, "questions.jsonl", 5).await;
        assert!(
            matches!(
                too_large,
                Err(sfn_local::ObjectError::TooLarge { size: 20, .. })
            ),
            "{too_large:?}"
        );
        let machine = Machine::from_json(QUESTIONS_MAP).unwrap();
        let engine = Engine::new(machine, Registry::new()).with_object_store(store);
        let execution = engine
            .execute(
                serde_json::json!({"bucket": bucket}),
                ExecutionOptions::default(),
            )
            .await;
        assert_eq!(
            execution.status,
            sfn_local::ExecutionStatus::Succeeded,
            "{execution:?}"
        );
        let output = execution.output.unwrap();
        let manifest_key = output["ResultWriterDetails"]["Key"].as_str().unwrap();
        let manifest = client
            .get_object()
            .bucket(&bucket)
            .key(manifest_key)
            .send()
            .await
            .expect("the manifest was written")
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
        let manifest: Value = serde_json::from_slice(&manifest).unwrap();
        assert_eq!(manifest["DestinationBucket"], serde_json::json!(bucket));
        assert_eq!(
            manifest["ResultFiles"]["SUCCEEDED"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        // The exec option builds the same store from the endpoint and the AWS environment.
        let mut a = args(
            write("dmap-s3.asl.json", QUESTIONS_MAP),
            Some(&serde_json::json!({"bucket": bucket}).to_string()),
            &[],
        );
        a.s3_endpoint = Some(endpoint);
        let execution = execute(&a).await.unwrap();
        assert_eq!(
            execution.map_runs[0].execution_count, 2,
            "{:?}",
            execution.cause
        );
    }
}
