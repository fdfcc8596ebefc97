//! `agents`, `synth`, `check`, `validate`, `graph`, `new`, and argument errors, as a user runs them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn sfn_agent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sfn-agent"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("runs")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sfn-agent-cmd-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn validate_names_every_problem_with_its_state_path() {
    let out = sfn_agent(&["validate", "asl/tests/fixtures/invalid/all-together.json"]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    let expected =
        std::fs::read_to_string(root().join("asl/tests/fixtures/invalid/all-together.expected"))
            .expect("expected");
    for line in expected.lines().filter(|l| !l.trim().is_empty()) {
        assert!(stderr.contains(line), "`{line}` in:\n{stderr}");
    }
    assert!(stderr.contains("8 problem(s)"), "{stderr}");
}

#[test]
fn validate_accepts_valid_documents_and_refuses_unreadable_ones() {
    let out = sfn_agent(&[
        "validate",
        "state-machines/weather.asl.json",
        "asl/tests/fixtures/corpus/hello-world-pass.json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("weather.asl.json: valid"));

    let dir = temp_dir("bad-json");
    let bad = dir.join("bad.json");
    std::fs::write(
        &bad,
        r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resourse": "x", "End": true}}}"#,
    )
    .expect("write");
    let out = sfn_agent(&["validate", bad.to_str().expect("utf-8")]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("State \"A\"") && stderr.contains("Resourse"),
        "{stderr}"
    );

    let out = sfn_agent(&["validate", "no/such/file.json"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("no/such/file.json"));
}

#[test]
fn check_passes_on_the_committed_files_and_fails_when_they_are_stale() {
    let out = sfn_agent(&["check"]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let dir = temp_dir("stale");
    let out = sfn_agent(&["synth", "--dir", dir.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(dir.join("manifest.json").exists() && dir.join("weather.asl.json").exists());
    let out = sfn_agent(&["check", "--dir", dir.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let weather = dir.join("weather.asl.json");
    let edited = std::fs::read_to_string(&weather)
        .expect("read")
        .replace("\"Call LLM\"", "\"Call the LLM\"");
    std::fs::write(&weather, edited).expect("write");
    std::fs::remove_file(dir.join("calculator.asl.json")).expect("remove");
    std::fs::write(dir.join("retired.asl.json"), "{}").expect("write");
    let out = sfn_agent(&["check", "--dir", dir.to_str().expect("utf-8")]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("weather.asl.json"), "{stderr}");
    assert!(
        stderr.contains("calculator.asl.json is missing"),
        "{stderr}"
    );
    assert!(
        stderr.contains("retired.asl.json belongs to no agent"),
        "{stderr}"
    );
    assert!(stderr.contains("sfn-agent synth"), "{stderr}");
}

#[test]
fn graph_prints_mermaid_and_names_the_agents_on_a_typo() {
    let out = sfn_agent(&["graph", "assistant"]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("flowchart TD"), "{stdout}");
    assert!(
        stdout.contains("Run tools") && stdout.contains("Call LLM"),
        "{stdout}"
    );

    let out = sfn_agent(&["graph", "wether"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr)
            .contains("the agents are: assistant, calculator, supervisor, weather, weather-brief")
    );
}

#[test]
fn synth_creates_its_folder_and_refuses_to_guess_one_outside_the_repository() {
    let dir = temp_dir("nested").join("a/b");
    let out = sfn_agent(&["synth", "--dir", dir.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(dir.join("manifest.json").exists());

    let elsewhere = temp_dir("elsewhere");
    let out = Command::new(env!("CARGO_BIN_EXE_sfn-agent"))
        .current_dir(&elsewhere)
        .arg("check")
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr)
            .contains("run this from the project's root (where Cargo.toml is), or pass --dir"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn exec_and_history_refuse_malformed_arguments_up_front() {
    let out = sfn_agent(&[
        "exec",
        "asl/tests/fixtures/corpus/hello-world-pass.json",
        "--lambda-url",
        "nope=not a url",
    ]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("expected NAME=URL with an http(s) base URL"));

    let out = sfn_agent(&["history", "not-an-arn"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("is not an execution ARN"));

    let out = sfn_agent(&[
        "history",
        "arn:aws:states:eu-west-1:123456789012:express:m:e:1",
    ]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("Express execution"));
}

/// A reader that stops early (`sfn-agent exec … | head`) ends the command quietly: exit 0 and
/// no panic, as a command killed by SIGPIPE would end. The history of a 2,000-item Map is far
/// larger than a pipe's buffer, so the command is still writing when the reader has gone.
#[test]
fn a_reader_that_stops_early_ends_the_command_quietly() {
    use std::process::Stdio;
    let dir = temp_dir("broken-pipe");
    let machine = dir.join("map.asl.json");
    std::fs::write(
        &machine,
        r#"{"StartAt": "Each", "States": {"Each": {"Type": "Map", "ItemsPath": "$.items",
            "ItemProcessor": {"StartAt": "Item", "States": {"Item": {"Type": "Pass", "End": true}}},
            "End": true}}}"#,
    )
    .expect("machine");
    let items: Vec<u32> = (0..2000).collect();
    let input = format!("{{\"items\": {items:?}}}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sfn-agent"))
        .current_dir(root())
        .args([
            "exec",
            machine.to_str().expect("utf-8"),
            "--history",
            "--input",
            &input,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    // The reader goes away before reading anything.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("waits");
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
}

#[test]
fn agents_lists_one_name_per_line() {
    let out = sfn_agent(&["agents"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "assistant\ncalculator\nsupervisor\nweather\nweather-brief\n"
    );
    let out = sfn_agent(&["agents", "--long"]);
    let long = text(&out.stdout);
    let weather = long
        .lines()
        .find(|l| l.starts_with("weather\t"))
        .expect("a weather line");
    assert_eq!(
        weather,
        "weather\tStandard\tanthropic claude-sonnet-4-5\tget_weather"
    );
}

#[test]
fn graph_takes_an_agent_or_any_asl_file() {
    let by_agent = sfn_agent(&["graph", "weather"]);
    assert!(by_agent.status.success(), "{}", text(&by_agent.stderr));
    let by_file = sfn_agent(&["graph", "state-machines/weather.asl.json"]);
    assert!(by_file.status.success(), "{}", text(&by_file.stderr));
    assert_eq!(text(&by_agent.stdout), text(&by_file.stdout));
    assert!(text(&by_file.stdout).starts_with("flowchart TD"));

    let neither = sfn_agent(&["graph", "nothing-here"]);
    assert!(!neither.status.success());
    let stderr = text(&neither.stderr);
    assert!(
        stderr.contains("`nothing-here` is neither an agent nor a file")
            && stderr.contains(
                "the agents are: assistant, calculator, supervisor, weather, weather-brief"
            ),
        "{stderr}"
    );
    let not_asl = sfn_agent(&["graph", "Cargo.toml"]);
    assert!(!not_asl.status.success());
    assert!(
        text(&not_asl.stderr).contains("Cargo.toml is not an ASL document"),
        "{}",
        text(&not_asl.stderr)
    );
}

#[test]
fn new_writes_a_project_named_after_its_folder_and_refuses_a_full_one() {
    let parent = temp_dir("new");
    let dir = parent.join("Word Helper");
    let out = sfn_agent(&["new", dir.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let cargo = std::fs::read_to_string(dir.join("Cargo.toml")).expect("Cargo.toml");
    assert!(cargo.contains("name = \"word-helper\""), "{cargo}");
    let framework = root().canonicalize().expect("root");
    assert!(
        cargo.contains(&format!(
            "sfn-agent = {{ path = \"{}/sfn-agent\"",
            framework.display()
        )),
        "{cargo}"
    );
    for file in [
        "src/main.rs",
        "src/agents.rs",
        "src/tools.rs",
        "src/bin/tool-word-count.rs",
        "src/bin/llm-anthropic.rs",
        "src/bin/sqs-trigger.rs",
        "scripts/word-helper.json",
        "cdk/bin/app.ts",
        "cdk/package.json",
        "Cargo.lock",
    ] {
        assert!(dir.join(file).is_file(), "{file} is written");
    }
    let agents = std::fs::read_to_string(dir.join("src/agents.rs")).expect("agents.rs");
    assert!(
        agents.contains("Agent::builder(\"word-helper\")"),
        "{agents}"
    );
    assert!(
        text(&out.stdout).contains("cargo run -- run word-helper"),
        "{}",
        text(&out.stdout)
    );

    let again = sfn_agent(&["new", dir.to_str().expect("utf-8")]);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("already exists and is not empty"),
        "{}",
        text(&again.stderr)
    );
    let bad = sfn_agent(&["new", parent.join("9lives").to_str().expect("utf-8")]);
    assert!(!bad.status.success());
    assert!(text(&bad.stderr).contains("cannot name a project after `9lives`"));
    let nowhere = sfn_agent(&[
        "new",
        parent.join("x").to_str().expect("utf-8"),
        "--framework",
        parent.to_str().expect("utf-8"),
    ]);
    assert!(!nowhere.status.success());
    assert!(
        text(&nowhere.stderr).contains("is not an sfn-agent repository"),
        "{}",
        text(&nowhere.stderr)
    );
    let _ = std::fs::remove_dir_all(&parent);
}

/// `check` in a Cargo workspace that lacks a Lambda binary the manifest names says which one and
/// the line that makes it; this repository's workspace has them all.
#[test]
fn check_names_a_missing_lambda_binary() {
    let out = sfn_agent(&["check"]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let dir = temp_dir("bins");
    std::fs::create_dir_all(dir.join("src/bin")).expect("dirs");
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"team\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    )
    .expect("Cargo.toml");
    std::fs::write(dir.join("src/bin/llm-anthropic.rs"), "fn main() {}\n").expect("bin");
    let machines = dir.join("state-machines");
    let out = sfn_agent(&["synth", "--dir", machines.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = Command::new(env!("CARGO_BIN_EXE_sfn-agent"))
        .current_dir(&dir)
        .arg("check")
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    for binary in ["llm-openai", "tool-get-weather", "sqs-trigger"] {
        assert!(
            stderr.contains(&format!(
                "the Lambda binary `{binary}`, which is not a [[bin]]"
            )),
            "{binary} in:\n{stderr}"
        );
    }
    assert!(!stderr.contains("`llm-anthropic`"), "{stderr}");
    assert!(
        stderr.contains("add src/bin/llm-openai.rs running the openai LLM Lambda: `sfn_agent::llm::handler::lambda::run(sfn_agent::llm::ProviderAdapter::OPENAI)`"),
        "{stderr}"
    );
    assert!(!stderr.contains("synth` to regenerate"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
