//! `sfn-agent batch`: the README's batch command, as a user runs it: an agent answers a JSON
//! Lines file of questions, each question a child execution of a distributed Map.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

/// The README's command, after `cargo run -p sfn-agent-demo --`.
const README_ARGS: [&str; 5] = [
    "batch",
    "assistant",
    "examples/batch/questions.jsonl",
    "--script",
    "examples/scripts/questions.json",
];

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn batch(extra: &[&str]) -> Output {
    let conversations = std::env::temp_dir().join(format!(
        "sfn-agent-batch-{}-{}",
        std::process::id(),
        extra.len()
    ));
    Command::new(env!("CARGO_BIN_EXE_sfn-agent"))
        .current_dir(root())
        .args(README_ARGS)
        .args(extra)
        .arg("--conversations-dir")
        .arg(&conversations)
        .env_remove("ANTHROPIC_API_KEY")
        .output()
        .expect("runs")
}

#[test]
fn the_readme_batch_command_answers_every_question_in_order() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let command = format!("cargo run -p sfn-agent-demo -- {}", README_ARGS.join(" "));
    assert!(readme.contains(&command), "README.md shows `{command}`");

    let out = batch(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let expected = "Q: What is 17% of 2,340?\nA: 17% of 2,340 is 397.8.\n\n\
                    Q: What is the square root of 1,764?\nA: The square root of 1,764 is 42.\n\n\
                    Q: What does 1,250 grow to after three years at 7% a year?\n\
                    A: 1,250 grows to about 1,531.30 after three years at 7%.\n\n";
    assert_eq!(stdout, expected);
}

#[test]
fn each_question_is_a_child_execution_that_ran_the_agents_loop() {
    let out = batch(&["--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answers: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let answers = answers.as_array().expect("an array");
    assert_eq!(answers.len(), 3);
    for answer in answers {
        // A tool call, then the answer: two turns of the ReAct loop.
        assert_eq!(answer["iterations"], 2, "{answer}");
        let arn = answer["execution"].as_str().unwrap();
        assert!(
            arn.contains(":execution:assistant-agent/Questions:"),
            "{arn}"
        );
    }
}

#[test]
fn exec_runs_the_example_distributed_map_over_local_files() {
    let out = Command::new(env!("CARGO_BIN_EXE_sfn-agent"))
        .current_dir(root())
        .args([
            "exec",
            "examples/batch/questions.asl.json",
            "--s3-dir",
            "examples",
            "--history",
        ])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        result["output"],
        serde_json::json!([
            {"questions": 2, "first": "What is 17% of 2,340?"},
            {"questions": 1, "first": "What does 1,250 grow to after three years at 7% a year?"}
        ])
    );
    // Two batches, two child executions, each with its own history.
    let run = &result["mapRuns"][0];
    assert_eq!(run["executionCount"], 2);
    assert_eq!(run["executions"][1]["input"]["Items"][0]["index"], 2);
    assert_eq!(
        run["executions"][0]["history"][0]["type"],
        "ExecutionStarted"
    );
}

/// A file with no questions says so; a line that is not JSON fails the run, naming the line.
#[test]
fn an_empty_file_and_a_bad_line_are_said_plainly() {
    let dir = std::env::temp_dir().join(format!("sfn-agent-batch-files-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("qs")).unwrap();
    let run = |name: &str, text: &str| {
        let file = dir.join("qs").join(name);
        std::fs::write(&file, text).unwrap();
        Command::new(env!("CARGO_BIN_EXE_sfn-agent"))
            .current_dir(root())
            .args(["batch", "assistant"])
            .arg(&file)
            .args(["--script", "examples/scripts/questions.json"])
            .arg("--conversations-dir")
            .arg(dir.join("conversations"))
            .env_remove("ANTHROPIC_API_KEY")
            .output()
            .expect("runs")
    };
    let empty = run("empty.jsonl", "");
    let stderr = String::from_utf8_lossy(&empty.stderr);
    assert!(empty.status.success(), "{stderr}");
    assert!(stderr.contains("holds no questions"), "{stderr}");
    // Said before any model is built: without a script, no API key is asked for.
    let unscripted = Command::new(env!("CARGO_BIN_EXE_sfn-agent"))
        .current_dir(root())
        .args(["batch", "assistant"])
        .arg(dir.join("qs").join("empty.jsonl"))
        .env_remove("ANTHROPIC_API_KEY")
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&unscripted.stderr);
    assert!(unscripted.status.success(), "{stderr}");
    assert!(stderr.contains("holds no questions"), "{stderr}");

    let bad = run(
        "bad.jsonl",
        "{\"question\": \"What is 17% of 2,340?\"}\nnot json\n",
    );
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success());
    assert!(
        stderr.contains("States.ItemReaderFailed") && stderr.contains("Line 2"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// More questions than the engine keeps the records of: refused before any is run.
#[test]
fn a_file_past_the_kept_children_is_refused_up_front() {
    let dir = std::env::temp_dir().join(format!("sfn-agent-batch-many-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("qs")).unwrap();
    let file = dir.join("qs").join("many.jsonl");
    std::fs::write(
        &file,
        "{\"question\": \"What is 17% of 2,340?\"}\n".repeat(1_001),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sfn-agent"))
        .current_dir(root())
        .args(["batch", "assistant"])
        .arg(&file)
        .args(["--script", "examples/scripts/questions.json"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("1001 questions") && stderr.contains("at most 1000"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A question that fails (here: one the script has no answer for) fails its own child only:
/// the others are answered, the failure is printed with its question, and the exit code says
/// not every question was answered. `--max-concurrency 0` (no limit, to the Map) is refused.
#[test]
fn a_failed_question_does_not_stop_the_others() {
    let dir = std::env::temp_dir().join(format!("sfn-agent-batch-fail-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("qs")).unwrap();
    let file = dir.join("qs").join("mixed.jsonl");
    std::fs::write(
        &file,
        "{\"question\": \"What is 17% of 2,340?\"}\n{\"question\": \"Not in the script?\"}\n\
         {\"question\": \"What is the square root of 1,764?\"}\n",
    )
    .unwrap();
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_sfn-agent"))
            .current_dir(root())
            .args(["batch", "assistant"])
            .arg(&file)
            .args(["--script", "examples/scripts/questions.json"])
            .args(extra)
            .arg("--conversations-dir")
            .arg(dir.join("conversations"))
            .env_remove("ANTHROPIC_API_KEY")
            .output()
            .expect("runs")
    };
    let out = run(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("A: 17% of 2,340 is 397.8."), "{stdout}");
    assert!(
        stdout.contains("A: The square root of 1,764 is 42."),
        "{stdout}"
    );
    // The error by name and its cause as a person reads it: the message, not the JSON.
    assert!(
        stdout.contains("Q: Not in the script?\n✗ LLM.BadRequest: "),
        "{stdout}"
    );
    assert!(!stdout.contains("errorMessage"), "{stdout}");
    assert!(stderr.contains("1 of 3 questions failed"), "{stderr}");

    let zero = run(&["--max-concurrency", "0"]);
    let stderr = String::from_utf8_lossy(&zero.stderr);
    assert!(!zero.status.success());
    assert!(stderr.contains("--max-concurrency"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
