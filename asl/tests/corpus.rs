//! The round-trip corpus: every document in `tests/fixtures/corpus` parses, validates, and
//! serializes back to the same JSON (see `SOURCES.md` there for where each comes from).

use std::fs;
use std::path::{Path, PathBuf};

use asl::StateMachine;
use serde_json::Value;

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

#[test]
fn the_corpus_is_large_enough() {
    assert!(corpus().len() >= 25, "only {} documents", corpus().len());
}

#[test]
fn every_document_parses_validates_and_round_trips() {
    let mut failures = Vec::new();
    for path in corpus() {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = read(&path);
        let original: Value = match serde_json::from_str(&text) {
            Ok(value) => value,
            Err(e) => {
                failures.push(format!("{name}: not JSON: {e}"));
                continue;
            }
        };
        let machine = match StateMachine::from_json(&text) {
            Ok(machine) => machine,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        if let Err(e) = asl::validate(&machine) {
            failures.push(format!("{name}: {e}"));
        }
        let serialized = machine.to_value();
        if serialized != original {
            failures.push(format!(
                "{name}: serialized JSON differs from the original:\n{}",
                machine.to_json_pretty()
            ));
        }
        match StateMachine::from_json(&machine.to_json_pretty()) {
            Ok(again) if again == machine => {}
            Ok(_) => failures.push(format!(
                "{name}: parse → serialize → parse gives a different machine"
            )),
            Err(e) => failures.push(format!(
                "{name}: the serialized document does not parse: {e}"
            )),
        }
        if StateMachine::from_value(original).as_ref() != Ok(&machine) {
            failures.push(format!("{name}: from_value and from_json disagree"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_document_is_listed_in_sources() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus");
    let sources = read(&dir.join("SOURCES.md"));
    let missing: Vec<String> = corpus()
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .filter(|name| !sources.contains(&format!("`{name}`")))
        .collect();
    assert!(missing.is_empty(), "not in SOURCES.md: {missing:?}");
}
