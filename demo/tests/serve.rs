//! `sfn-agent serve`, and the AWS commands pointed at it by `--endpoint-url`: `invoke --wait`
//! runs the `assistant` agent (its scripted model) to its answer, `history` prints its events,
//! `approve` answers a task token. The server is the real binary, on a free loopback port.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use aws_sdk_sfn::Client;
use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sfn::types::ExecutionStatus;
use serde_json::Value;

const ASSISTANT: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:assistant";

/// The server; killed (by its own handle) when dropped.
struct Serve {
    child: Child,
    url: String,
    _data: TempDir,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn serve() -> Serve {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let data = std::env::temp_dir().join(format!("sfn-agent-serve-test-{}", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_sfn-agent"))
        .current_dir(&root)
        .args([
            "serve",
            "--port",
            "0",
            "--scripts",
            "examples/scripts",
            "--data-dir",
        ])
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sfn-agent starts");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("serve prints its address before anything else ends")
            .expect("stderr is text");
        if let Some(rest) = line.split("Step Functions API on ").nth(1) {
            break rest.split_whitespace().next().expect("a URL").to_owned();
        }
    };
    // Keep reading stderr, so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Serve {
        child,
        url,
        _data: TempDir(data),
    }
}

/// The CLI with no AWS configuration but the endpoint flag and test credentials.
fn sfn_agent(url: &str, args: &[&str]) -> Output {
    let nowhere = std::env::temp_dir().join("sfn-agent-no-aws-config");
    Command::new(env!("CARGO_BIN_EXE_sfn-agent"))
        .args(args)
        .args(["--endpoint-url", url])
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_SFN")
        .env_remove("SFN_AGENT_STATE_MACHINE_ARN")
        .env("AWS_CONFIG_FILE", &nowhere)
        .env("AWS_SHARED_CREDENTIALS_FILE", &nowhere)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .expect("sfn-agent runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn client(url: &str) -> Client {
    Client::from_conf(
        aws_sdk_sfn::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .endpoint_url(url)
            .build(),
    )
}

#[tokio::test]
async fn invoke_history_and_approve_against_serve() {
    let server = serve();
    let url = server.url.as_str();

    let out = sfn_agent(
        url,
        &[
            "invoke",
            "assistant",
            "What is 17% of 2,340, and its square root?",
            "--wait",
            "--state-machine-arn",
            ASSISTANT,
            "--name",
            "asked-by-invoke",
        ],
    );
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("397.8"), "{}", text(&out.stdout));

    let execution = "arn:aws:states:us-east-1:123456789012:execution:assistant:asked-by-invoke";
    let out = sfn_agent(url, &["history", execution]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout) + &text(&out.stderr);
    assert!(printed.contains("Call LLM"), "{printed}");
    assert!(
        printed.contains("ExecutionSucceeded") || printed.contains("succeeded"),
        "{printed}"
    );

    // A machine that waits on a task token, answered by `approve`.
    let client = client(url);
    let machine = client
        .create_state_machine()
        .name("needs-approval")
        .role_arn("arn:aws:iam::123456789012:role/test")
        .definition(
            r#"{"StartAt": "Ask", "States": {"Ask": {"Type": "Task",
                "Resource": "arn:aws:states:::events:putEvents.waitForTaskToken",
                "Parameters": {"Entries": [{"Detail": {"token.$": "$$.Task.Token"}, "DetailType": "approval", "Source": "test"}]},
                "End": true}}}"#,
        )
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    let arn = client
        .start_execution()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let mut token = None;
    for _ in 0..200 {
        let events = client
            .get_execution_history()
            .execution_arn(&arn)
            .send()
            .await
            .unwrap()
            .events;
        token = events.iter().find_map(|e| {
            let parameters: Value =
                serde_json::from_str(e.task_scheduled_event_details()?.parameters()).ok()?;
            parameters
                .pointer("/Entries/0/Detail/token")?
                .as_str()
                .map(str::to_owned)
        });
        if token.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let token = token.expect("the execution waits on a token");
    let out = sfn_agent(url, &["approve", &token]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut described = client
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap();
    for _ in 0..200 {
        if described.status != ExecutionStatus::Running {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
        described = client
            .describe_execution()
            .execution_arn(&arn)
            .send()
            .await
            .unwrap();
    }
    assert_eq!(described.status, ExecutionStatus::Succeeded);
    assert_eq!(described.output(), Some(r#"{"approved":true}"#));

    // A token nobody waits on any more is refused, as the service refuses it.
    let out = sfn_agent(url, &["approve", &token]);
    assert!(!out.status.success());
}
