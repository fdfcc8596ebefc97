//! Definitions AWS would refuse: each `tests/fixtures/invalid/NAME.json` must be rejected by
//! `asl::validate` with exactly the problems listed, one per line, in `NAME.expected`.

use std::fs;
use std::path::{Path, PathBuf};

use asl::StateMachine;

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_invalid_definition_is_rejected_with_every_problem_named() {
    let files = fixtures();
    assert!(files.len() >= 5, "only {} invalid fixtures", files.len());
    let mut failures = Vec::new();
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected_path = path.with_extension("expected");
        let expected = fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        let expected: Vec<&str> = expected.lines().filter(|l| !l.trim().is_empty()).collect();
        let machine = match StateMachine::from_json(&text) {
            Ok(machine) => machine,
            Err(e) => {
                failures.push(format!("{name}: does not parse: {e}"));
                continue;
            }
        };
        let found: Vec<String> = match asl::validate(&machine) {
            Ok(()) => Vec::new(),
            Err(errors) => errors.problems.iter().map(ToString::to_string).collect(),
        };
        if found != expected {
            failures.push(format!(
                "{name}: expected\n  {}\nfound\n  {}",
                expected.join("\n  "),
                found.join("\n  ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
