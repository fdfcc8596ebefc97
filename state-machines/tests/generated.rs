//! The committed state machines are what the builder makes now, valid, and carry the tool
//! schemas derived from the tools' Rust types.

use agent_builder::manifest::Manifest;
use agent_builder::synth::{generate, orphan_files, stale_files};

#[test]
fn committed_files_are_current() {
    let dir = state_machines::default_dir();
    let files = generate(&state_machines::agents());
    let mut stale = stale_files(&dir, &files);
    stale.extend(orphan_files(&dir, &files));
    assert!(
        stale.is_empty(),
        "the committed state machines are stale; run `cargo run -p sfn-agent-demo -- synth`:\n{}",
        stale.join("\n")
    );
}

#[test]
fn every_machine_validates() {
    for agent in state_machines::agents() {
        let machine = agent.state_machine();
        if let Err(errors) = asl::validate(&machine) {
            panic!("{}: {errors}", agent.name());
        }
        // And it survives a round trip through its JSON text.
        let again = asl::StateMachine::from_json(&machine.to_json_pretty()).expect("parses");
        assert_eq!(again, machine, "{}", agent.name());
    }
}

#[test]
fn machines_carry_the_schemas_derived_from_the_tool_types() {
    for file in generate(&state_machines::agents())
        .iter()
        .filter(|f| f.name.ends_with(".asl.json"))
    {
        let document: serde_json::Value = serde_json::from_str(&file.contents).expect("json");
        // The supervisor has no tools of its own: only sub-agents.
        if file.name != "supervisor.asl.json" {
            assert!(
                stock_tools::catalog::count_specs(&document) > 0,
                "{} carries tool specs",
                file.name
            );
        }
        let stale = stock_tools::catalog::stale_specs(&document);
        assert!(stale.is_empty(), "{}: {}", file.name, stale.join("; "));
    }
}

#[test]
fn the_manifest_names_every_placeholder_in_the_definitions() {
    let files = generate(&state_machines::agents());
    let manifest_file = files
        .iter()
        .find(|f| f.name == "manifest.json")
        .expect("manifest");
    let manifest: Manifest =
        serde_json::from_str(&manifest_file.contents).expect("manifest parses");
    assert_eq!(manifest.agents.len(), state_machines::agents().len());
    for entry in &manifest.agents {
        let definition = &files
            .iter()
            .find(|f| f.name == entry.definition)
            .expect("definition")
            .contents;
        let mut named: Vec<&str> = entry.tools.iter().map(|t| t.placeholder.as_str()).collect();
        named.extend(entry.sub_agents.iter().map(|s| s.placeholder.as_str()));
        named.extend(entry.requests.iter().map(|r| r.placeholder.as_str()));
        named.push(&entry.llm.placeholder);
        // Every ${...} in the definition is named in the manifest, and the other way round.
        let mut found: Vec<&str> = definition
            .split("${")
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
            .collect();
        found.sort();
        found.dedup();
        named.sort();
        assert_eq!(found, named, "{}", entry.name);
    }
}

#[test]
fn snapshots() {
    for agent in state_machines::agents() {
        insta::assert_snapshot!(
            agent.name().to_owned(),
            agent.state_machine().to_json_pretty()
        );
    }
}
