//! Which Lambda binaries the manifest needs, and whether the project's Cargo workspace has them:
//! the CDK construct builds each one with cargo-lambda, and a missing `[[bin]]` would only
//! show at deploy time.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use agent_builder::manifest::AgentEntry;
use serde_json::Value;

/// The binary of the SQS trigger Lambda the construct deploys with every project.
pub const SQS_TRIGGER_BINARY: &str = "sqs-trigger";

/// The binaries `entries` need, with what each one is for.
pub fn needed(entries: &[AgentEntry]) -> Vec<(String, String)> {
    let mut needed: Vec<(String, String)> = Vec::new();
    let mut add = |binary: &str, what: String| {
        if !needed.iter().any(|(b, _)| b == binary) {
            needed.push((binary.to_owned(), what));
        }
    };
    for entry in entries {
        let provider = entry
            .llm
            .provider
            .map(|p| p.to_string())
            .unwrap_or_default();
        add(
            &entry.llm.binary,
            format!(
                "the {provider} LLM Lambda: `sfn_agent::llm::handler::lambda::run(sfn_agent::llm::ProviderAdapter::{})`",
                adapter_const(&provider)
            ),
        );
        for tool in &entry.tools {
            if let Some(binary) = &tool.binary {
                add(
                    binary,
                    format!(
                        "the `{}` tool's Lambda: `sfn_agent::tool::lambda::serve(YourTool)`",
                        tool.tool
                    ),
                );
            }
        }
    }
    if let Some(mcp) = entries.iter().find_map(|e| e.mcp.as_ref()) {
        add(
            &mcp.binary,
            "the MCP tool Lambda: `sfn_agent::mcp::lambda::serve()`".to_owned(),
        );
    }
    add(
        SQS_TRIGGER_BINARY,
        "the SQS trigger: `sfn_agent::triggers::serve()`".to_owned(),
    );
    needed
}

fn adapter_const(provider: &str) -> &'static str {
    match provider {
        "openai" => "OPENAI",
        "gemini" => "GEMINI",
        "bedrock" => "BEDROCK",
        _ => "ANTHROPIC",
    }
}

/// The `[[bin]]` targets of the Cargo workspace at `root`, or why they cannot be known (no
/// Cargo.toml, no cargo on the PATH).
pub fn workspace_binaries(root: &Path) -> Result<BTreeSet<String>, String> {
    if !root.join("Cargo.toml").is_file() {
        return Err(format!("no Cargo.toml in {}", root.display()));
    }
    let output = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let metadata: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("cargo metadata did not answer JSON: {e}"))?;
    Ok(bin_targets(&metadata))
}

/// The names of the `bin` targets in `cargo metadata`'s JSON.
fn bin_targets(metadata: &Value) -> BTreeSet<String> {
    metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|package| package["targets"].as_array().into_iter().flatten())
        .filter(|target| {
            target["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|k| k == "bin"))
        })
        .filter_map(|target| target["name"].as_str().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_bin_targets_count() {
        let metadata = json!({"packages": [
            {"targets": [{"kind": ["lib"], "name": "team"}, {"kind": ["bin"], "name": "team"}]},
            {"targets": [{"kind": ["bin"], "name": "tool-word-count"}, {"kind": ["test"], "name": "t"}]}
        ]});
        let found: Vec<String> = bin_targets(&metadata).into_iter().collect();
        assert_eq!(found, ["team", "tool-word-count"]);
    }
}
