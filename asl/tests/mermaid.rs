//! Mermaid rendering, snapshot-tested on corpus documents: the agent loop (Choice, Map,
//! Catch), deep nesting (Map > Parallel > Map) and names that need escaping.

use std::fs;
use std::path::Path;

use asl::StateMachine;

fn corpus_machine(name: &str) -> StateMachine {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/corpus")
        .join(name);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    StateMachine::from_json(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn react_agent() {
    insta::assert_snapshot!(asl::mermaid::render(&corpus_machine(
        "react-agent-jsonata.json"
    )));
}

#[test]
fn nested_scopes() {
    insta::assert_snapshot!(asl::mermaid::render(&corpus_machine("nested-scopes.json")));
}

#[test]
fn special_names_and_jsonpath_rules() {
    insta::assert_snapshot!(asl::mermaid::render(&corpus_machine("special-names.json")));
}

#[test]
fn every_corpus_machine_renders_every_state() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus");
    for entry in fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
    {
        let path = entry.path();
        if path.extension().is_none_or(|ext| ext != "json") {
            continue;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let machine = corpus_machine(&name);
        let graph = asl::mermaid::render(&machine);
        assert!(graph.starts_with("flowchart TD\n"), "{name}");
        assert!(graph.contains("start --> "), "{name}: no edge from Start");
        assert!(graph.contains(" --> finish"), "{name}: no edge to End");
        for state in machine.states.keys() {
            let label = asl::mermaid::escape(state);
            assert!(graph.contains(&label), "{name}: state {state} missing");
        }
    }
}
