//! The agents, one module each.

mod assistant;
mod calculator;
mod supervisor;
mod weather;
mod weather_brief;

pub(crate) use assistant::assistant;
pub(crate) use calculator::calculator;
pub(crate) use supervisor::supervisor;
pub(crate) use weather::weather;
pub(crate) use weather_brief::weather_brief;

/// Builds an agent defined in this crate. Our own definitions are checked by this crate's tests,
/// so a failure here is a bug in the definition, reported with every problem.
fn finish(builder: agent_builder::AgentBuilder) -> agent_builder::Agent {
    match builder.build() {
        Ok(agent) => agent,
        Err(error) => panic!("{error}"),
    }
}
