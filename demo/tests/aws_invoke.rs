//! `sfn-agent invoke` and `history` against a local Step Functions API: moto's server, started by
//! `eval "$(scripts/local-aws.sh)"`, which sets `SFN_AGENT_TEST_AWS_ENDPOINT`.
//!
//! moto (5.x, default mode) stores executions without running them: an execution stays RUNNING,
//! and GetExecutionHistory returns a fixed four-event history ending in ExecutionSucceeded with
//! output "An output". So these tests check what the CLI sends (StartExecution's input, read back
//! with DescribeExecution), that `--wait` ends on the history's terminal event, and what it
//! prints. Without the server they are skipped with a message, except under `CI=true`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aws_sdk_sfn::Client;
use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
use serde_json::{Value, json};

const REGION: &str = "us-east-1";

fn endpoint() -> Option<String> {
    match std::env::var("SFN_AGENT_TEST_AWS_ENDPOINT") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!(
                "CI=true and SFN_AGENT_TEST_AWS_ENDPOINT is not set: run `eval \"$(scripts/local-aws.sh)\"` first"
            )
        }
        _ => {
            eprintln!(
                "skipped: no local AWS server; run `eval \"$(scripts/local-aws.sh)\"` to run this test"
            );
            None
        }
    }
}

fn client(endpoint: &str) -> Client {
    let config = aws_sdk_sfn::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .build();
    Client::from_conf(config)
}

fn unique() -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{}-{millis}", std::process::id())
}

/// The weather agent's definition from `state-machines/` (the fixture copy under `cdk/test/`
/// while the generated one is not there), placeholders filled with Lambda ARNs as CDK would.
fn weather_definition() -> Result<String, Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dirs = [
        root.join("state-machines"),
        root.join("cdk/test/fixtures/state-machines"),
    ];
    let dir = dirs
        .iter()
        .find(|d| d.join("manifest.json").exists())
        .ok_or("no state-machines/manifest.json")?;
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json"))?)?;
    let agent = manifest["agents"]
        .as_array()
        .and_then(|agents| agents.iter().find(|a| a["workflow_type"] == "STANDARD"))
        .ok_or("no Standard agent in the manifest")?;
    let mut text =
        std::fs::read_to_string(dir.join(agent["definition"].as_str().ok_or("no definition")?))?;
    let refs =
        std::iter::once(&agent["llm"]).chain(agent["tools"].as_array().into_iter().flatten());
    for r in refs {
        let placeholder = r["placeholder"].as_str().ok_or("no placeholder")?;
        text = text.replace(
            &format!("${{{placeholder}}}"),
            &format!("arn:aws:lambda:{REGION}:123456789012:function:{placeholder}"),
        );
    }
    assert!(!text.contains("${"));
    Ok(text)
}

struct Fixture {
    client: Client,
    endpoint: String,
    arn: String,
    outputs: PathBuf,
}

async fn fixture(endpoint: String) -> Result<Fixture, Box<dyn std::error::Error>> {
    let client = client(&endpoint);
    let id = unique();
    let created = client
        .create_state_machine()
        .name(format!("SfnAgent-weather-{id}"))
        .role_arn("arn:aws:iam::123456789012:role/sfn-agent-test")
        .definition(weather_definition()?)
        .send()
        .await?;
    let arn = created.state_machine_arn().to_owned();
    let dir = std::env::temp_dir().join(format!("sfn-agent-invoke-{id}"));
    std::fs::create_dir_all(&dir)?;
    let outputs = dir.join("outputs.json");
    std::fs::write(
        &outputs,
        json!({"SfnAgent": {"StateMachineArnWeather": arn, "TriggerQueueUrl": "http://q"}})
            .to_string(),
    )?;
    Ok(Fixture {
        client,
        endpoint,
        arn,
        outputs,
    })
}

/// Runs the CLI with only the local server's AWS configuration in its environment.
fn sfn_agent(endpoint: &str, args: &[&str]) -> std::io::Result<Output> {
    let nowhere = std::env::temp_dir().join("sfn-agent-no-aws-config");
    Command::new(env!("CARGO_BIN_EXE_sfn-agent"))
        .args(args)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("SFN_AGENT_STATE_MACHINE_ARN")
        .env("AWS_CONFIG_FILE", &nowhere)
        .env("AWS_SHARED_CREDENTIALS_FILE", &nowhere)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", REGION)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .output()
}

async fn only_execution(f: &Fixture) -> Result<(String, Value), Box<dyn std::error::Error>> {
    let listed = f
        .client
        .list_executions()
        .state_machine_arn(&f.arn)
        .send()
        .await?;
    assert_eq!(listed.executions().len(), 1, "one execution started");
    let arn = listed.executions()[0].execution_arn().to_owned();
    let described = f
        .client
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await?;
    Ok((
        arn,
        serde_json::from_str(described.input().unwrap_or_default())?,
    ))
}

#[tokio::test]
async fn invoke_wait_sends_the_question_and_prints_the_answer_and_the_console_link()
-> Result<(), Box<dyn std::error::Error>> {
    let Some(endpoint) = endpoint() else {
        return Ok(());
    };
    let f = fixture(endpoint).await?;
    let outputs = f.outputs.to_string_lossy().into_owned();
    let out = sfn_agent(
        &f.endpoint,
        &[
            "invoke",
            "weather",
            "Rain in Oslo?",
            "--conversation",
            "c-9",
            "--wait",
            "--outputs",
            &outputs,
            "--poll-ms",
            "50",
        ],
    )?;
    let stdout = String::from_utf8(out.stdout)?;
    let stderr = String::from_utf8(out.stderr)?;
    assert!(out.status.success(), "stderr: {stderr}");

    let (execution, input) = only_execution(&f).await?;
    assert_eq!(
        input,
        json!({"question": "Rain in Oslo?", "conversation_id": "c-9"})
    );
    // moto's history ends in ExecutionSucceeded with this output, which is not an agent's: as is.
    assert_eq!(stdout, "An output\n");
    let link = format!(
        "https://{REGION}.console.aws.amazon.com/states/home?region={REGION}#/v2/executions/details/{execution}"
    );
    assert!(
        stderr.contains(&format!("started {execution}")),
        "stderr: {stderr}"
    );
    assert!(stderr.contains(&link), "stderr: {stderr}");
    Ok(())
}

#[tokio::test]
async fn invoke_without_wait_prints_the_execution_and_history_prints_its_events()
-> Result<(), Box<dyn std::error::Error>> {
    let Some(endpoint) = endpoint() else {
        return Ok(());
    };
    let f = fixture(endpoint).await?;
    let out = sfn_agent(
        &f.endpoint,
        &[
            "invoke",
            "weather",
            "  What time is it in Lima?",
            "--state-machine-arn",
            &f.arn,
        ],
    )?;
    let stderr = String::from_utf8(out.stderr)?;
    assert!(out.status.success(), "stderr: {stderr}");
    let (execution, input) = only_execution(&f).await?;
    assert_eq!(input, json!({"question": "  What time is it in Lima?"}));
    assert_eq!(String::from_utf8(out.stdout)?, format!("{execution}\n"));
    assert!(
        stderr.contains(&format!("sfn-agent history {execution}")),
        "stderr: {stderr}"
    );

    let history = sfn_agent(&f.endpoint, &["history", &execution])?;
    let stdout = String::from_utf8(history.stdout)?;
    assert!(
        history.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&history.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    // moto's fixed history, formatted by trace::format_event.
    assert_eq!(lines.len(), 4, "{stdout}");
    assert!(
        lines[0].starts_with("   1 00:00:00.000 ExecutionStarted           input {}"),
        "{stdout}"
    );
    assert_eq!(
        lines[1],
        "   2 00:00:10.000 PassStateEntered           \"A State\" input {}"
    );
    assert_eq!(
        lines[2],
        "   3 00:00:10.000 PassStateExited            \"A State\" output An output"
    );
    assert_eq!(
        lines[3],
        "   4 00:00:20.000 ExecutionSucceeded         output An output"
    );

    let json_lines = sfn_agent(&f.endpoint, &["history", &execution, "--json"])?;
    let first: Value = serde_json::from_str(
        String::from_utf8(json_lines.stdout)?
            .lines()
            .next()
            .ok_or("no line")?,
    )?;
    assert_eq!(first["type"], "ExecutionStarted");
    assert_eq!(first["timestamp"], "2020-01-01T00:00:00Z");
    Ok(())
}

#[tokio::test]
async fn invoke_names_the_missing_output_when_the_agent_is_not_deployed()
-> Result<(), Box<dyn std::error::Error>> {
    let Some(endpoint) = endpoint() else {
        return Ok(());
    };
    let f = fixture(endpoint).await?;
    let outputs = f.outputs.to_string_lossy().into_owned();
    let out = sfn_agent(
        &f.endpoint,
        &["invoke", "travel", "Where?", "--outputs", &outputs],
    )?;
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr)?;
    assert!(
        stderr.contains("no output StateMachineArnTravel")
            && stderr.contains("these agents: Weather"),
        "stderr: {stderr}"
    );
    Ok(())
}
