//! `sfn-agent run`, as a user runs it: the README's main command, and its errors.

use std::path::Path;
use std::process::Command;

fn sfn_agent(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sfn-agent"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    command
        .current_dir(root)
        .arg("run")
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("OPENAI_API_KEY")
        .env_remove("GEMINI_API_KEY")
        .args(["--conversations-dir".as_ref(), dir.as_os_str()]);
    command
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sfn-agent-run-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn the_readme_command_answers_with_the_scripted_provider() {
    let dir = temp_dir("readme");
    let out = sfn_agent(&dir)
        .args([
            "assistant",
            "What is 17% of 2,340, and what is its square root?",
            "--script",
            "examples/scripts/assistant.json",
        ])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("17% of 2,340 is 397.8"), "{stdout}");
    // Progress: each model turn and each tool call with its result.
    assert!(stderr.contains("→ calculate"), "{stderr}");
    assert!(
        stderr.contains("calculate ← ") && stderr.contains("397.8"),
        "{stderr}"
    );
    assert!(
        stderr.contains("iterations 2") && stderr.contains("est. cost $"),
        "{stderr}"
    );
    assert!(
        stderr.contains("a scripted model continues it only with a script that has more turns"),
        "{stderr}"
    );
    // The conversation was stored locally.
    let stored = std::fs::read_dir(&dir)
        .expect("conversations dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".jsonl"))
        .count();
    assert_eq!(
        stored, 1,
        "one conversation file, JSON Lines (beside its lock file)"
    );
}

#[test]
fn trace_prints_every_state_transition() {
    let dir = temp_dir("trace");
    let out = sfn_agent(&dir)
        .args([
            "calculator",
            "Compound interest?",
            "--script",
            "examples/scripts/calculator.json",
            "--trace",
        ])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for state in [
        "Check input",
        "Call LLM",
        "Tool use?",
        "Run tools",
        "Run tool",
        "Answer",
    ] {
        assert!(stderr.contains(state), "{state} in:\n{stderr}");
    }
}

#[test]
fn json_output_is_one_object() {
    let dir = temp_dir("json");
    let out = sfn_agent(&dir)
        .args([
            "calculator",
            "Compound interest?",
            "--script",
            "examples/scripts/calculator.json",
            "--json",
        ])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(value["status"], "SUCCEEDED");
    assert_eq!(value["output"]["iterations"], 2);
    assert_eq!(value["state_transitions"], 8);
}

#[test]
fn without_a_key_it_says_exactly_what_to_set() {
    let dir = temp_dir("nokey");
    let out = sfn_agent(&dir)
        .args(["weather", "Jacket in Boston?"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ANTHROPIC_API_KEY"), "{stderr}");
    assert!(
        stderr.contains(
            "sfn-agent run weather \"Jacket in Boston?\" --script examples/scripts/weather.json"
        ),
        "{stderr}"
    );
}

#[test]
fn unknown_agents_and_mismatched_providers_are_clear_errors() {
    let dir = temp_dir("errors");
    let fails_saying = |args: &[&str], needle: &str| {
        let out = sfn_agent(&dir).args(args).output().expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains(needle),
            "{args:?}: {stderr}"
        );
    };
    fails_saying(
        &["nope", "hi"],
        "the agents are: assistant, calculator, supervisor, weather, weather-brief",
    );
    fails_saying(&["weather", "hi", "--provider", "openai"], "--model");
    fails_saying(
        &["weather", "hi", "--provider", "mistral"],
        "unknown provider `mistral`",
    );
    fails_saying(
        &["weather", "hi", "--script", "no/such/file.json"],
        "no/such/file.json",
    );
}

#[test]
fn a_failed_run_shows_the_cause_as_text_not_lambda_json() {
    let dir = temp_dir("failed");
    let script = dir.with_extension("short.json");
    std::fs::write(
        &script,
        r#"{"turns": [{"tool_calls": [{"name": "calculate", "input": {"expression": "1 + 1"}}]}]}"#,
    )
    .expect("script");
    let out = sfn_agent(&dir)
        .args([
            "calculator",
            "1+1?",
            "--script",
            script.to_str().expect("utf-8"),
        ])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("✗ "), "{stderr}");
    assert!(
        !stderr.contains("\"errorType\""),
        "the cause is shown as text:\n{stderr}"
    );
    assert!(stderr.contains("script"), "{stderr}");
}

#[test]
fn an_unknown_conversation_is_noted_before_it_starts_anew() {
    let dir = temp_dir("unknown-conversation");
    let out = sfn_agent(&dir)
        .args([
            "calculator",
            "Compound interest?",
            "--script",
            "examples/scripts/calculator.json",
            "--conversation",
            "no-such-conversation",
        ])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("no conversation `no-such-conversation`"),
        "{stderr}"
    );
}

/// The demo supervisor delegates to the calculator agent, each playing its own script
/// (`examples/scripts/supervisor.json`, then `calculator.json` beside it).
#[test]
fn the_supervisor_delegates_to_a_sub_agent_that_plays_its_own_script() {
    let dir = temp_dir("supervisor");
    let out = sfn_agent(&dir)
        .args([
            "supervisor",
            "How much is 1,250 after three years at 7%?",
            "--script",
            "examples/scripts/supervisor.json",
            "--json",
        ])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "→ calculator {\"question\":\"How much is 1,250 after three years at 7% a year?\"}"
        ) && stderr.contains(
            "calculate ← {\"expression\":\"(1250 * 1.07^3) - 1250\",\"result\":281.30375}"
        ),
        "{stderr}"
    );
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(value["status"], "SUCCEEDED");
    // The supervisor's two turns and the calculator's two count in the one run's usage.
    assert_eq!(
        value["output"]["usage"]["input_tokens"],
        512 + 640 + 402 + 489
    );
    // The supervisor's own transitions: its sub-agent is one Task (Ask agent) in it.
    assert_eq!(value["state_transitions"], 9);
}
