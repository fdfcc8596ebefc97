//! Agents that wait and delegate, run whole on the local engine: a call approved, one denied,
//! one nobody answers in time, a question answered, and a supervisor with two sub-agents (each
//! its own nested execution, usage rolled up). Each run's history is checked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agent_builder::{Agent, Model, Provider};
use e2e_tests::{entered, last_results, offline_toolbox, output, question, turn};
use llm_lambdas::providers::scripted::{Script, ScriptTurn, ScriptedModel};
use llm_lambdas::{ChatModel, ChatRequest, ChatResponse, LlmError, MemoryStore};
use serde_json::json;
use sfn_agent::local::{LocalAgent, PersonRequest, Reply};
use sfn_local::{Execution, ManualClock};
use stock_tools::specs;

/// A scripted model per agent, told apart by their system prompts: sub-agents run at the same
/// time, so one script for all would be played in an unknown order.
struct PerAgent(HashMap<String, ScriptedModel>);

impl PerAgent {
    fn new(scripts: &[(&Agent, Vec<ScriptTurn>)]) -> Arc<Self> {
        Arc::new(Self(
            scripts
                .iter()
                .map(|(agent, turns)| {
                    let prompt = agent.config().system_prompt;
                    let model = ScriptedModel::new(
                        Script {
                            turns: turns.clone(),
                        },
                        Provider::Anthropic,
                    );
                    (prompt, model)
                })
                .collect(),
        ))
    }
}

#[async_trait::async_trait]
impl ChatModel for PerAgent {
    fn provider(&self) -> Provider {
        Provider::Anthropic
    }

    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        match self.0.get(&request.system) {
            Some(model) => model.complete(request).await,
            None => panic!("no script for the system prompt {:?}", request.system),
        }
    }
}

fn base(name: &str, prompt: &str) -> agent_builder::AgentBuilder {
    Agent::builder(name)
        .system_prompt(prompt)
        .model(Model::anthropic("claude-haiku-4-5").max_tokens(512))
}

/// The run, the requests people were sent, and the model's view of the last turn.
struct Outcome {
    execution: Execution,
    requests: Vec<PersonRequest>,
    local: LocalAgent,
}

async fn run(
    agent: &Agent,
    others: Vec<Agent>,
    model: Arc<dyn ChatModel>,
    reply: impl Fn(&PersonRequest) -> Reply + Send + Sync + 'static,
    q: &str,
) -> Outcome {
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&requests);
    let handler = LocalAgent::handler(model, Arc::new(MemoryStore::new()), None);
    let local = LocalAgent::new(agent.clone(), handler, offline_toolbox())
        .with_clock(Arc::new(ManualClock::fixed()))
        .with_agents(others)
        .with_responder(Arc::new(move |request: &PersonRequest| {
            seen.lock().expect("lock").push(request.clone());
            reply(request)
        }));
    let execution = local.run(question(q)).await;
    let requests = requests.lock().expect("lock").clone();
    Outcome {
        execution,
        requests,
        local,
    }
}

fn ops() -> Agent {
    base("ops", "You do arithmetic, with approval.")
        .tool(specs::calculate::spec())
        .require_approval(["calculate"])
        .wait_for_people(Duration::from_secs(60))
        .build()
        .expect("valid")
}

fn ops_model(agent: &Agent) -> Arc<dyn ChatModel> {
    PerAgent::new(&[(
        agent,
        vec![
            turn(
                "Let me compute it.",
                &[("calculate", json!({"expression": "6 * 7"}))],
            ),
            turn("It is 42.", &[]),
        ],
    )])
}

#[tokio::test]
async fn an_approved_call_runs_after_one_more_state() {
    let agent = ops();
    let done = run(
        &agent,
        vec![],
        ops_model(&agent),
        |_| Reply::Approve,
        "6 times 7?",
    )
    .await;
    assert_eq!(output(&done.execution).answer, "It is 42.");
    assert_eq!(done.requests.len(), 1);
    let request = &done.requests[0];
    assert_eq!(
        (request.kind.as_str(), request.tool.as_str()),
        ("approval", "calculate")
    );
    assert_eq!(request.input, json!({"expression": "6 * 7"}));
    assert!(
        request
            .summary
            .contains("Agent ops wants to call calculate"),
        "{}",
        request.summary
    );
    assert!(!request.token.is_empty());
    // 3 + N for the turn, plus the Ask people Map and one Ask approval for the approved call.
    assert_eq!(
        entered(&done.execution),
        [
            "Check input",
            "Call LLM",
            "Tool use?",
            "Ask people",
            "Ask approval",
            "Run tools",
            "Run tool",
            "Call LLM",
            "Tool use?",
            "Answer"
        ]
    );
    let results = last_results(&done.execution);
    assert_eq!(results[0]["is_error"], false);
    assert!(
        results[0]["content"]
            .as_str()
            .is_some_and(|c| c.contains("42"))
    );
    let types: Vec<&str> = done
        .execution
        .history
        .iter()
        .map(|e| e.event_type)
        .collect();
    assert!(
        types.contains(&"TaskSubmitted"),
        "the request waited on its token"
    );
}

#[tokio::test]
async fn a_denied_call_is_an_error_result_with_the_reason() {
    let agent = ops();
    let done = run(
        &agent,
        vec![],
        ops_model(&agent),
        |_| Reply::Deny("not on a Sunday".into()),
        "6 times 7?",
    )
    .await;
    assert_eq!(output(&done.execution).answer, "It is 42.");
    let states = entered(&done.execution);
    assert!(!states.iter().any(|s| s == "Run tool"), "{states:?}");
    assert!(states.iter().any(|s| s == "Not run"), "{states:?}");
    let results = last_results(&done.execution);
    assert_eq!(results[0]["is_error"], true);
    let content = results[0]["content"].as_str().expect("text");
    assert!(
        content.starts_with(
            "The person denied this call of calculate (not on a Sunday); it was not run."
        ),
        "{content}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_call_nobody_answers_times_out_and_the_run_goes_on() {
    let agent = ops();
    let done = run(
        &agent,
        vec![],
        ops_model(&agent),
        |_| Reply::NoAnswer,
        "6 times 7?",
    )
    .await;
    assert_eq!(output(&done.execution).answer, "It is 42.");
    let timed_out = done
        .execution
        .history
        .iter()
        .any(|e| e.event_type == "TaskTimedOut");
    assert!(timed_out, "the approval task timed out");
    let results = last_results(&done.execution);
    assert_eq!(
        results[0]["content"],
        "No one approved this call of calculate within 60 s; it was not run. Tell the user it is waiting for approval."
    );
}

#[tokio::test]
async fn a_question_to_the_user_comes_back_as_the_tool_result() {
    let agent = base("guide", "You plan trips; ask what you need to know.")
        .ask_user()
        .build()
        .expect("valid");
    let model = PerAgent::new(&[(
        &agent,
        vec![
            turn("", &[("ask_user", json!({"question": "Which city?"}))]),
            turn("Paris it is.", &[]),
        ],
    )]);
    let done = run(
        &agent,
        vec![],
        model,
        |request| {
            Reply::Answer(format!(
                "Paris, to: {}",
                request.input["question"].as_str().unwrap_or("")
            ))
        },
        "Plan my weekend",
    )
    .await;
    assert_eq!(output(&done.execution).answer, "Paris it is.");
    assert_eq!(done.requests[0].kind, "question");
    let results = last_results(&done.execution);
    assert_eq!(
        results[0],
        json!({"tool_use_id": results[0]["tool_use_id"], "content": "Paris, to: Which city?", "is_error": false})
    );
    assert!(entered(&done.execution).iter().any(|s| s == "Ask the user"));
}

#[tokio::test]
async fn a_supervisor_runs_two_sub_agents_as_nested_executions() {
    let adder = base("adder", "You add numbers.")
        .description("adds numbers")
        .tool(specs::calculate::spec())
        .build()
        .expect("valid");
    let timekeeper = base("timekeeper", "You tell the time.")
        .tool(specs::current_time::spec())
        .build()
        .expect("valid");
    let supervisor = base("supervisor", "You delegate.")
        .sub_agent(&adder)
        .sub_agent(&timekeeper)
        .build()
        .expect("valid");
    let model = PerAgent::new(&[
        (
            &supervisor,
            vec![
                turn(
                    "Asking both.",
                    &[
                        ("adder", json!({"question": "What is 2 + 3?"})),
                        ("timekeeper", json!({"question": "What time is it in UTC?"})),
                    ],
                ),
                turn("5, and it is some time in UTC.", &[]),
            ],
        ),
        (
            &adder,
            vec![
                turn("", &[("calculate", json!({"expression": "2 + 3"}))]),
                turn("5", &[]),
            ],
        ),
        (
            &timekeeper,
            vec![
                turn("", &[("current_time", json!({"time_zone": "UTC"}))]),
                turn("It is now.", &[]),
            ],
        ),
    ]);
    let done = run(
        &supervisor,
        vec![adder.clone(), timekeeper.clone()],
        model,
        |_| Reply::NoAnswer,
        "Sum and time?",
    )
    .await;
    let out = output(&done.execution);
    assert_eq!(out.answer, "5, and it is some time in UTC.");
    // Six model turns of 100 input tokens each: the supervisor's two and two per sub-agent.
    assert_eq!(out.usage.input_tokens, 600);
    assert_eq!(out.usage.output_tokens, 120);
    let results = last_results(&done.execution);
    let contents: Vec<&str> = results
        .iter()
        .filter_map(|r| r["content"].as_str())
        .collect();
    assert!(
        contents.contains(&"5") && contents.contains(&"It is now."),
        "{contents:?}"
    );
    // One Task in the parent per sub-agent; each sub-agent's states are in its own history.
    let states = entered(&done.execution);
    assert_eq!(states.iter().filter(|s| *s == "Ask agent").count(), 2);
    assert!(!states.iter().any(|s| s == "Run tool"), "{states:?}");
    let children = done.local.children();
    assert_eq!(children.len(), 2);
    let parent_id = done.execution.history[0].to_json()["executionStartedEventDetails"].clone();
    for child in &children {
        assert_eq!(
            child.execution.status,
            sfn_local::ExecutionStatus::Succeeded
        );
        assert!(entered(&child.execution).contains(&"Run tool".to_owned()));
        assert!(
            child
                .execution_arn
                .contains(&format!(":execution:{}-agent:", child.agent))
        );
        assert!(
            child.parent_arn.contains(":execution:supervisor-agent:"),
            "{}",
            child.parent_arn
        );
        let input = &child.execution.history[0].to_json()["executionStartedEventDetails"]["input"];
        assert!(
            input
                .as_str()
                .is_some_and(|i| i.contains("AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"))
        );
    }
    assert!(parent_id.is_object());
}

#[tokio::test]
async fn an_unknown_sub_agent_is_an_error_result_not_a_failed_run() {
    let ghost = base("ghost", "You are not deployed.")
        .build()
        .expect("valid");
    let supervisor = base("supervisor", "You delegate.")
        .sub_agent(&ghost)
        .build()
        .expect("valid");
    let model = PerAgent::new(&[(
        &supervisor,
        vec![
            turn("", &[("ghost", json!({"question": "Hello?"}))]),
            turn("Nobody answered.", &[]),
        ],
    )]);
    let done = run(
        &supervisor,
        vec![],
        model,
        |_| Reply::NoAnswer,
        "Ask the ghost",
    )
    .await;
    assert_eq!(output(&done.execution).answer, "Nobody answered.");
    let results = last_results(&done.execution);
    let content = results[0]["content"].as_str().expect("text");
    assert!(
        content.contains("failed (StepFunctions.StateMachineDoesNotExistException)")
            && content.contains("no agent called `ghost` runs here"),
        "{content}"
    );
}
