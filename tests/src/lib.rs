//! Fixtures for whole agent runs: scripted and failing models, a store to inspect, and a runner
//! that executes an agent's generated state machine on the local engine with the real handlers.

use std::sync::{Arc, Mutex};

use agent_builder::{Agent, LlmResponse, Provider, StopReason};
use llm_lambdas::providers::scripted::{
    Script, ScriptToolCall, ScriptTurn, ScriptUsage, ScriptedModel,
};
use llm_lambdas::{ChatModel, ChatRequest, ChatResponse, LlmError, MemoryStore};
use serde_json::{Value, json};
use sfn_agent::local::{LocalAgent, Progress};
use sfn_local::{Execution, ManualClock};

/// A scripted turn: `text`, then tool calls given as `(name, input)`.
pub fn turn(text: &str, calls: &[(&str, Value)]) -> ScriptTurn {
    ScriptTurn {
        text: text.to_owned(),
        tool_calls: calls
            .iter()
            .map(|(name, input)| ScriptToolCall {
                id: None,
                name: (*name).to_owned(),
                input: input.clone(),
            })
            .collect(),
        stop_reason: None,
        usage: ScriptUsage {
            input_tokens: 100,
            output_tokens: 20,
        },
    }
}

/// A model playing these turns, reporting itself as `provider`.
pub fn scripted(turns: Vec<ScriptTurn>, provider: Provider) -> Arc<dyn ChatModel> {
    Arc::new(ScriptedModel::new(Script { turns }, provider))
}

/// A model that fails with the given errors, in order, then answers `answer`.
pub struct FlakyModel {
    failures: Mutex<Vec<LlmError>>,
    answer: String,
    /// How many calls it received.
    pub calls: Mutex<u32>,
}

impl FlakyModel {
    /// Fails with `failures` first, then answers.
    pub fn new(mut failures: Vec<LlmError>, answer: &str) -> Self {
        failures.reverse();
        Self {
            failures: Mutex::new(failures),
            answer: answer.to_owned(),
            calls: Mutex::new(0),
        }
    }
}

#[async_trait::async_trait]
impl ChatModel for FlakyModel {
    fn provider(&self) -> Provider {
        Provider::Anthropic
    }

    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        *self.calls.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        if let Some(error) = self
            .failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
        {
            return Err(error);
        }
        Ok(ChatResponse {
            message: agent_builder::Message {
                role: agent_builder::Role::Assistant,
                content: vec![agent_builder::ContentBlock::text(self.answer.clone())],
            },
            stop_reason: StopReason::EndTurn,
            input_tokens: 10,
            output_tokens: 5,
            cache: Default::default(),
            model: request.model.clone(),
        })
    }
}

/// What a run did, as the user would see it.
pub struct Run {
    /// The execution, with its history.
    pub execution: Execution,
    /// The model turns, in order.
    pub turns: Vec<LlmResponse>,
    /// The tool calls' results, by tool name, in order.
    pub tool_results: Vec<(String, agent_builder::ToolResult)>,
}

impl Run {
    /// The output, which must be there.
    pub fn output(&self) -> &Value {
        match &self.execution.output {
            Some(output) => output,
            None => panic!(
                "the run did not succeed: {:?} {:?} {:?}",
                self.execution.status, self.execution.error, self.execution.cause
            ),
        }
    }
}

/// Runs `agent` on `input` with `model`, conversations in `store`, the offline standard tools,
/// and a manual clock (retries and waits take no real time).
pub async fn run_agent(
    agent: &Agent,
    model: Arc<dyn ChatModel>,
    store: Arc<MemoryStore>,
    input: Value,
) -> Run {
    run_with(agent, model, store, offline_toolbox(), input, |_| {}).await
}

/// The standard tools with their default upstreams, whatever the caller's environment says: the
/// offline tools (calculate, current_time) never reach them.
pub fn offline_toolbox() -> sfn_agent_tool::Toolbox {
    let config = stock_tools::ToolsConfig::from_lookup(|_| None).expect("default tools config");
    stock_tools::toolbox(&config).expect("tools")
}

/// Like [`run_agent`], with a toolbox and a hook to change the task registry (to make a tool
/// Lambda crash, say).
pub async fn run_with(
    agent: &Agent,
    model: Arc<dyn ChatModel>,
    store: Arc<MemoryStore>,
    toolbox: sfn_agent_tool::Toolbox,
    input: Value,
    change_registry: impl FnOnce(&mut sfn_local::Registry),
) -> Run {
    let turns = Arc::new(Mutex::new(Vec::new()));
    let results = Arc::new(Mutex::new(Vec::new()));
    let (t, r) = (Arc::clone(&turns), Arc::clone(&results));
    let handler = LocalAgent::handler(model, store, None);
    let local = LocalAgent::new(agent.clone(), handler, toolbox)
        .with_progress(Arc::new(move |p: &Progress| match p {
            Progress::Turn(turn) => t
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(turn.clone()),
            Progress::ToolResult { name, result } => r
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((name.clone(), result.clone())),
            _ => {}
        }))
        .with_clock(Arc::new(ManualClock::fixed()));
    let mut registry = local.registry();
    change_registry(&mut registry);
    let execution = local.run_with_registry(registry, input).await;
    let turns = turns.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let tool_results = results.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Run {
        execution,
        turns,
        tool_results,
    }
}

/// The execution input for a question.
pub fn question(q: &str) -> Value {
    json!({ "question": q })
}

/// The names of the states the run entered, in order.
pub fn entered(execution: &Execution) -> Vec<String> {
    execution
        .history
        .iter()
        .filter(|e| e.event_type.ends_with("StateEntered"))
        .filter_map(|e| {
            e.to_json()["stateEnteredEventDetails"]["name"]
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

/// The run's output as an agent's output; panics with the failure when it did not succeed.
pub fn output(execution: &Execution) -> agent_builder::AgentOutput {
    let Some(output) = &execution.output else {
        panic!(
            "the run did not succeed: {:?} {:?} {:?}",
            execution.status, execution.error, execution.cause
        );
    };
    serde_json::from_value(output.clone()).expect("agent output")
}

/// The text of the tool results the model was sent in its last turn.
pub fn last_results(execution: &Execution) -> Vec<Value> {
    let llm_calls: Vec<Value> = execution
        .history
        .iter()
        .map(|e| e.to_json())
        .filter(|e| e["type"] == "TaskScheduled")
        .collect();
    let last = llm_calls.last().expect("an LLM call");
    let parameters: Value = serde_json::from_str(
        last["taskScheduledEventDetails"]["parameters"]
            .as_str()
            .expect("text"),
    )
    .expect("json");
    parameters["Payload"]["tool_results"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}
