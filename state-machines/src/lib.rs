//! The demo project's agents, defined in Rust, and their generated state machines.
//!
//! [`agents`] lists them. `sfn-agent synth` renders each one's ASL and the manifest CDK reads
//! into this folder, where they are committed; `sfn-agent check` and this crate's tests fail
//! when they differ from what the builder makes now.
//!
//! The crate only defines agents, so it depends on the stock tools' specs alone
//! (`default-features = false`): no Lambda runtime, HTTP client or time-zone data is built for
//! it. The `sfn-agent` binary (crate `demo/`) hands these agents and the stock tools to the CLI.
//!
//! ```
//! let weather = state_machines::agent("weather").unwrap();
//! assert_eq!(weather.tools()[0].spec.name, "get_weather");
//! let files = agent_builder::synth::generate(&state_machines::agents());
//! assert!(files.iter().any(|f| f.name == "manifest.json"));
//! ```

use std::path::PathBuf;

use agent_builder::Agent;

mod agents;

/// Every agent of the project, sorted by name.
pub fn agents() -> Vec<Agent> {
    let mut all = vec![
        agents::assistant(),
        agents::calculator(),
        agents::supervisor(),
        agents::weather(),
        agents::weather_brief(),
    ];
    all.sort_by(|a, b| a.name().cmp(b.name()));
    all
}

/// The agent called `name`.
pub fn agent(name: &str) -> Option<Agent> {
    agents().into_iter().find(|a| a.name() == name)
}

/// The names of every agent, for error messages.
pub fn agent_names() -> Vec<String> {
    agents().iter().map(|a| a.name().to_owned()).collect()
}

/// The `state-machines/` folder of this checkout.
pub fn default_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
