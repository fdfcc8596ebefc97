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

/// A data dir of its own for each server or run of this test binary.
fn data_dir() -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("sfn-agent-serve-test-{}-{n}", std::process::id()))
}

fn serve() -> Serve {
    serve_in(data_dir())
}

/// The server, keeping its data in `data` (removed when it is dropped).
fn serve_in(data: std::path::PathBuf) -> Serve {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
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

    // An Express agent: StartSyncExecution, its `sync-` host prefix taken off for the local host.
    let out = sfn_agent(
        url,
        &[
            "invoke",
            "weather-brief",
            "Weather in Boston?",
            "--state-machine-arn",
            "arn:aws:states:us-east-1:123456789012:stateMachine:weather-brief",
        ],
    );
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("take_jacket"),
        "{}",
        text(&out.stdout)
    );

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

/// Debian's chromium (`scripts/install-chromium.sh`), or `SFN_AGENT_CHROMIUM`; `None` (the test
/// is skipped, with a message) when there is none, except under `CI=true`.
fn chromium() -> Option<String> {
    if let Ok(path) = std::env::var("SFN_AGENT_CHROMIUM")
        && !path.is_empty()
    {
        return Some(path);
    }
    for name in ["chromium", "chromium-browser"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| text(&o.stdout).trim().to_owned());
        if let Some(path) = found.filter(|p| !p.is_empty()) {
            return Some(path);
        }
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true and no chromium: run scripts/install-chromium.sh first"
    );
    eprintln!("skipped: no chromium; scripts/install-chromium.sh installs it");
    None
}

/// The page at `url` after its scripts ran, from headless chromium.
fn rendered(chromium: &str, url: &str, profile: &Path, screenshot: Option<&Path>) -> String {
    let mut command = Command::new(chromium);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
        ])
        .args([
            "--no-first-run",
            "--virtual-time-budget=5000",
            "--window-size=1400,2000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()));
    match screenshot {
        Some(path) => command.arg(format!("--screenshot={}", path.display())),
        None => command.arg("--dump-dom"),
    };
    let out = command.arg(url).output().expect("chromium runs");
    assert!(out.status.success(), "chromium: {}", text(&out.stderr));
    text(&out.stdout)
}

#[tokio::test]
async fn the_console_shows_a_finished_and_a_running_execution() {
    let Some(chromium) = chromium() else { return };
    let server = serve();
    let url = server.url.as_str();
    let client = client(url);
    let finished = client
        .start_execution()
        .state_machine_arn(ASSISTANT)
        .name("console-run")
        .input(r#"{"question": "What is 17% of 2,340, and its square root?"}"#)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let mut status = ExecutionStatus::Running;
    for _ in 0..200 {
        status = client
            .describe_execution()
            .execution_arn(&finished)
            .send()
            .await
            .unwrap()
            .status;
        if status != ExecutionStatus::Running {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(status, ExecutionStatus::Succeeded);
    let profile = server._data.0.join("chromium");

    let dom = rendered(
        &chromium,
        &format!("{url}/#execution={finished}"),
        &profile,
        None,
    );
    assert!(dom.contains(r#"data-loaded="SUCCEEDED""#), "{dom}");
    for (state, status) in [
        ("Check input", "succeeded"),
        ("Call LLM", "succeeded"),
        ("Run tools", "succeeded"),
        ("Run tool", "succeeded"),
        ("Answer", "succeeded"),
        ("Invalid input", "not-run"),
        ("Too many iterations", "not-run"),
    ] {
        assert!(
            dom.contains(&format!(r#"data-state="{state}" data-status="{status}""#)),
            "{state} {status}: {dom}"
        );
    }
    // The Map's inner graph, with a choice of its two iterations.
    assert!(
        dom.contains(r#"data-map="Run tools""#) && dom.contains("all 2 iterations"),
        "{dom}"
    );
    // The conversation: both model turns, a tool call's input and its result, tokens per turn.
    assert!(dom.contains(r#"data-turn="2""#), "{dom}");
    assert!(dom.contains("17% of 2340"), "{dom}");
    assert!(dom.contains("397.8"), "{dom}");
    assert!(dom.contains("1210 input tokens"), "{dom}");
    assert!(dom.contains(r#"data-type="ExecutionSucceeded""#), "{dom}");

    // A running execution: the state it waits in is shown running, live.
    let machine = client
        .create_state_machine()
        .name("console-waits")
        .role_arn("arn:aws:iam::123456789012:role/test")
        .definition(
            r#"{"StartAt": "Prepare", "States": {
                "Prepare": {"Type": "Pass", "Next": "Ask"},
                "Ask": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                        "Parameters": {"QueueUrl": "q", "MessageBody": {"token.$": "$$.Task.Token"}}, "End": true}}}"#,
        )
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    let running = client
        .start_execution()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap()
        .execution_arn;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let dom = rendered(
        &chromium,
        &format!("{url}/#execution={running}"),
        &profile,
        None,
    );
    assert!(dom.contains(r#"data-loaded="RUNNING""#), "{dom}");
    assert!(
        dom.contains(r#"data-state="Prepare" data-status="succeeded""#),
        "{dom}"
    );
    assert!(
        dom.contains(r#"data-state="Ask" data-status="running""#),
        "{dom}"
    );
    assert!(dom.contains(r#"data-type="TaskScheduled""#), "{dom}");

    // The screenshot the README shows (serve/docs/console.png is a copy of one).
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/console.png");
    rendered(
        &chromium,
        &format!("{url}/#execution={finished}"),
        &profile,
        Some(&target),
    );
    assert!(
        std::fs::metadata(&target)
            .map(|m| m.len() > 10_000)
            .unwrap_or(false)
    );
}

/// `run --console`: the run goes through the endpoint, its console URL is printed before it
/// starts, the answer is printed as `run` prints it, and the execution is stored: a `serve` on
/// the same data dir describes it afterwards, with its history.
#[tokio::test]
async fn run_with_console_stores_the_run_and_prints_its_url() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let data = data_dir();
    let out = Command::new(env!("CARGO_BIN_EXE_sfn-agent"))
        .current_dir(&root)
        .args([
            "run",
            "assistant",
            "What is 17% of 2,340, and its square root?",
            "--script",
            "examples/scripts/assistant.json",
            "--console",
            "--port",
            "0",
            "--exit",
            "--data-dir",
        ])
        .arg(&data)
        .arg("--conversations-dir")
        .arg(data.join("run-conversations"))
        .env_remove("BROWSER")
        .output()
        .expect("sfn-agent runs");
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("397.8"), "{stdout}");
    let url = stderr
        .lines()
        .find_map(|line| line.strip_prefix("▶ console: "))
        .unwrap_or_else(|| panic!("a console URL in:\n{stderr}"));
    let encoded = url
        .strip_prefix("http://127.0.0.1:")
        .and_then(|rest| rest.split_once("/#execution="))
        .map(|(_, arn)| arn)
        .unwrap_or_else(|| panic!("the console's route to an execution: {url}"));
    let arn = encoded.replace("%3A", ":");
    assert!(
        arn.starts_with("arn:aws:states:us-east-1:123456789012:execution:assistant:run-"),
        "{url}"
    );
    // The URL came before the run's first turn.
    let printed = stderr.find("▶ console: ").expect("printed");
    let turn = stderr
        .find("→ calculate")
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(printed < turn, "{stderr}");
    assert!(stderr.contains(&format!("execution {arn}")), "{stderr}");

    let server = serve_in(data);
    let client = client(&server.url);
    let described = client
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .expect("the run is stored");
    assert_eq!(described.status(), &ExecutionStatus::Succeeded);
    assert!(
        described.output().unwrap_or_default().contains("397.8"),
        "{described:?}"
    );
    let history = client
        .get_execution_history()
        .execution_arn(&arn)
        .max_results(1000)
        .send()
        .await
        .expect("its history");
    let types: Vec<&str> = history
        .events()
        .iter()
        .map(|e| e.r#type().as_str())
        .collect();
    assert_eq!(types.first(), Some(&"ExecutionStarted"), "{types:?}");
    assert_eq!(types.last(), Some(&"ExecutionSucceeded"), "{types:?}");
    assert!(types.contains(&"TaskStateEntered"), "{types:?}");
}
