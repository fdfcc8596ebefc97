//! Scripted runs of agents that call sub-agents: a script is played turn by turn by the number
//! of the conversation's turns, so each agent of the run plays its own script, the sub-agents'
//! found beside the one given (`scripts/supervisor.json`, `scripts/calculator.json`).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use agent_builder::Agent;
use anyhow::Context;
use llm_lambdas::{ChatModel, ChatRequest, ChatResponse, LlmError};

use crate::project::Project;

/// `model` (the given script) for `agent`, and for each agent it reaches through sub-agents the
/// script `<agent>.json` in the same folder, told apart by their system prompts. An agent with
/// no sub-agents gets `model` as it is.
pub fn with_sub_agent_scripts(
    project: &Project,
    agent: &str,
    script: &Path,
    model: Arc<dyn ChatModel>,
) -> anyhow::Result<Arc<dyn ChatModel>> {
    let reached = reachable_sub_agents(project, agent);
    if reached.is_empty() {
        return Ok(model);
    }
    let dir = script.parent().unwrap_or(Path::new("."));
    let mut by_prompt = HashMap::new();
    for sub in reached {
        let path = dir.join(format!("{}.json", sub.name()));
        if !path.is_file() {
            anyhow::bail!(
                "`{agent}` calls the sub-agent `{}`, whose scripted turns are looked for in {}: write that script too",
                sub.name(),
                path.display()
            );
        }
        let sub_model = llm_lambdas::providers::scripted_from_file(&path, sub.model().provider)
            .with_context(|| format!("the script of sub-agent `{}`", sub.name()))?;
        by_prompt.insert(sub.config().system_prompt, sub_model);
    }
    Ok(Arc::new(ScriptedAgents {
        main: model,
        by_prompt,
    }))
}

/// Every agent `agent` reaches through sub-agents, each once.
fn reachable_sub_agents<'p>(project: &'p Project, agent: &str) -> Vec<&'p Agent> {
    let mut seen: HashSet<String> = HashSet::from([agent.to_owned()]);
    let mut queue = vec![agent.to_owned()];
    let mut found = Vec::new();
    while let Some(name) = queue.pop() {
        let Ok(current) = project.find_agent(&name) else {
            continue;
        };
        for sub in current.sub_agents() {
            if seen.insert(sub.agent.clone())
                && let Ok(sub_agent) = project.find_agent(&sub.agent)
            {
                found.push(sub_agent);
                queue.push(sub.agent.clone());
            }
        }
    }
    found
}

/// Plays each agent's script, chosen by the request's system prompt.
struct ScriptedAgents {
    main: Arc<dyn ChatModel>,
    by_prompt: HashMap<String, Arc<dyn ChatModel>>,
}

#[async_trait::async_trait]
impl ChatModel for ScriptedAgents {
    fn provider(&self) -> agent_builder::Provider {
        self.main.provider()
    }

    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        match self.by_prompt.get(&request.system) {
            Some(model) => model.complete(request).await,
            None => self.main.complete(request).await,
        }
    }
}
