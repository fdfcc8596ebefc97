//! `synth`, `check`, `validate` and `graph`, as a user runs them.

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
        text(&out.stderr).contains("the agents are: assistant, calculator, weather, weather-brief")
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
