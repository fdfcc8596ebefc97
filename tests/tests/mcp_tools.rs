//! MCP tools, whole: an agent takes tools from a real rmcp server on loopback (started here),
//! synth freezes them, and a local run calls them on the server. Each run's history is checked.

use std::sync::Arc;

use agent_builder::{Agent, McpServer, Model, Provider};
use e2e_tests::{entered, last_results, offline_toolbox, output, question, scripted, turn};
use llm_lambdas::{ChatModel, MemoryStore};
use serde_json::{Value, json};
use sfn_agent::local::LocalAgent;
use sfn_agent_mcp::Resolver;
use sfn_agent_mcp::loopback::{LoopbackServer, unused_url};
use sfn_local::{Execution, ExecutionStatus, ManualClock};

fn declared(url: &str) -> Agent {
    Agent::builder("calc-mcp")
        .system_prompt("You do arithmetic with the MCP tools.")
        .model(Model::anthropic("claude-haiku-4-5").max_tokens(512))
        .mcp_server(McpServer::new("calc", url).tools(["add", "fail"]))
        .build()
        .expect("valid")
}

async fn synthesized(url: &str) -> Agent {
    Resolver::from_env()
        .resolve(declared(url))
        .await
        .expect("the server lists its tools")
}

async fn run(agent: &Agent, model: Arc<dyn ChatModel>) -> Execution {
    let handler = LocalAgent::handler(model, Arc::new(MemoryStore::new()), None);
    LocalAgent::new(agent.clone(), handler, offline_toolbox())
        .with_clock(Arc::new(ManualClock::fixed()))
        .run(question("What is 40 + 2?"))
        .await
}

/// The payloads the Run tool states sent the MCP Lambda.
fn mcp_payloads(execution: &Execution) -> Vec<Value> {
    execution
        .history
        .iter()
        .map(|e| e.to_json())
        .filter(|e| e["type"] == "TaskScheduled")
        .filter_map(|e| {
            serde_json::from_str::<Value>(e["taskScheduledEventDetails"]["parameters"].as_str()?)
                .ok()
        })
        .filter(|p| p["FunctionName"] == "${McpToolFunctionArn}")
        .map(|p| p["Payload"].clone())
        .collect()
}

#[tokio::test]
async fn an_mcp_tool_runs_on_the_loopback_server_in_a_whole_local_run() {
    let server = LoopbackServer::start().await.expect("server");
    let agent = synthesized(server.url()).await;
    asl::validate(&agent.state_machine()).expect("a valid machine");
    let model = scripted(
        vec![
            turn(
                "Let me add.",
                &[("add", json!({"a": 40, "b": 2})), ("fail", json!({}))],
            ),
            turn("40 + 2 is 42.", &[]),
        ],
        Provider::Anthropic,
    );
    let execution = run(&agent, model).await;
    let out = output(&execution);
    assert_eq!(out.answer, "40 + 2 is 42.");
    assert_eq!(out.iterations, 2);
    assert_eq!(server.calls(), 2, "both calls reached the server");

    // One iteration with two tool calls: 3 + 2 transitions; the MCP tools add no state.
    assert_eq!(
        entered(&execution),
        [
            "Check input",
            "Call LLM",
            "Tool use?",
            "Run tools",
            "Run tool",
            "Run tool",
            "Call LLM",
            "Tool use?",
            "Answer"
        ]
    );
    // Each call carried its server, frozen at synth time.
    let payloads = mcp_payloads(&execution);
    assert_eq!(payloads.len(), 2);
    for payload in &payloads {
        assert_eq!(payload["mcp"]["server"], "calc");
        assert_eq!(payload["mcp"]["url"], server.url());
        assert_eq!(payload["mcp"]["tool"], payload["name"]);
    }
    // The model read the sum, and the tool error as an error result.
    let results = last_results(&execution);
    assert_eq!(results.len(), 2, "{results:#?}");
    let by_content = |needle: &str| {
        results
            .iter()
            .find(|r| r["content"].as_str().is_some_and(|c| c.contains(needle)))
            .cloned()
            .unwrap_or_else(|| panic!("no result with {needle}: {results:#?}"))
    };
    assert_eq!(by_content("42")["is_error"], false);
    assert_eq!(
        by_content("read-only")["content"],
        "The tool fail reported an error: the upstream database is read-only today"
    );
    assert_eq!(by_content("read-only")["is_error"], true);
}

#[tokio::test]
async fn a_server_down_at_run_time_is_an_error_result_and_the_run_goes_on() {
    let server = LoopbackServer::start().await.expect("server");
    let agent = synthesized(server.url()).await;
    let url = server.url().to_owned();
    drop(server);
    // Let the server's listener close.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let model = scripted(
        vec![
            turn("Let me add.", &[("add", json!({"a": 1, "b": 2}))]),
            turn("The calculator is down; 1 + 2 is 3.", &[]),
        ],
        Provider::Anthropic,
    );
    let execution = run(&agent, model).await;
    assert_eq!(execution.status, ExecutionStatus::Succeeded);
    assert_eq!(
        output(&execution).answer,
        "The calculator is down; 1 + 2 is 3."
    );
    let results = last_results(&execution);
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["is_error"], true);
    let content = results[0]["content"].as_str().unwrap_or_default();
    assert!(
        content.starts_with("The tool add failed: cannot reach MCP server `calc` at "),
        "{content}"
    );
    assert!(content.contains(&url), "{content}");
    assert!(
        !entered(&execution).contains(&"Tool failed".to_owned()),
        "the handler answered an error result; the task did not fail"
    );
}

#[tokio::test]
async fn a_tool_outside_the_filter_is_refused_before_any_call() {
    let server = LoopbackServer::start().await.expect("server");
    let agent = synthesized(server.url()).await;
    let model = scripted(
        vec![
            turn("Let me echo.", &[("echo", json!({"text": "hi"}))]),
            turn("I cannot echo.", &[]),
        ],
        Provider::Anthropic,
    );
    let execution = run(&agent, model).await;
    assert_eq!(output(&execution).answer, "I cannot echo.");
    assert_eq!(server.calls(), 0, "echo is not one of the agent's tools");
    let results = last_results(&execution);
    assert_eq!(results[0]["is_error"], true, "{results:#?}");
}

#[tokio::test]
async fn synth_with_the_command_line_freezes_the_tools_and_fails_when_the_server_is_down() {
    let server = LoopbackServer::start().await.expect("server");
    let dir = std::env::temp_dir().join(format!("sfn-agent-mcp-synth-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let url = server.url().to_owned();
    let dir_arg = dir.clone();
    let code = tokio::task::spawn_blocking(move || {
        sfn_agent::App::new().agent(declared(&url)).run_with_args(
            [
                "sfn-agent",
                "synth",
                "--dir",
                dir_arg.to_str().unwrap_or_default(),
            ]
            .map(Into::into),
        )
    })
    .await
    .expect("synth ran");
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("manifest.json")).expect("the manifest"),
    )
    .expect("JSON");
    let mcp = &manifest["agents"][0]["mcp"];
    assert_eq!(mcp["binary"], "mcp-tool");
    assert_eq!(mcp["servers"][0]["url"], server.url());
    let names: Vec<&str> = mcp["servers"][0]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["add", "fail"]);
    let machine = std::fs::read_to_string(dir.join("calc-mcp.asl.json")).expect("the machine");
    asl::validate(&asl::StateMachine::from_json(&machine).expect("ASL")).expect("valid");

    let down = unused_url().await.expect("a free port");
    let code = tokio::task::spawn_blocking(move || {
        sfn_agent::App::new().agent(declared(&down)).run_with_args(
            ["sfn-agent", "synth", "--dir", "/nonexistent-never-written"].map(Into::into),
        )
    })
    .await
    .expect("synth ran");
    assert_eq!(code, std::process::ExitCode::FAILURE);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_approved_mcp_call_runs_on_the_server_after_the_approval() {
    let server = LoopbackServer::start().await.expect("server");
    let agent = Agent::builder("calc-approved")
        .system_prompt("You add with approval.")
        .model(Model::anthropic("claude-haiku-4-5").max_tokens(512))
        .mcp_server(McpServer::new("calc", server.url()).tools(["add"]))
        .require_approval(["add"])
        .wait_for_people(std::time::Duration::from_secs(60))
        .build()
        .expect("valid before the list is read");
    let agent = Resolver::from_env().resolve(agent).await.expect("resolved");
    let model = scripted(
        vec![
            turn("Let me add.", &[("add", json!({"a": 2, "b": 3}))]),
            turn("2 + 3 is 5.", &[]),
        ],
        Provider::Anthropic,
    );
    let handler = LocalAgent::handler(model, Arc::new(MemoryStore::new()), None);
    let execution = LocalAgent::new(agent, handler, offline_toolbox())
        .with_clock(Arc::new(ManualClock::fixed()))
        .with_responder(Arc::new(|_: &sfn_agent::local::PersonRequest| {
            sfn_agent::local::Reply::Approve
        }))
        .run(question("What is 2 + 3?"))
        .await;
    assert_eq!(output(&execution).answer, "2 + 3 is 5.");
    assert_eq!(server.calls(), 1);
    let states = entered(&execution);
    let asked = states
        .iter()
        .position(|s| s == "Ask approval")
        .expect("asked");
    let ran = states.iter().position(|s| s == "Run tool").expect("ran");
    assert!(asked < ran, "{states:?}");
    assert_eq!(mcp_payloads(&execution)[0]["mcp"]["url"], server.url());
    let results = last_results(&execution);
    assert_eq!(
        (results[0]["content"].as_str(), &results[0]["is_error"]),
        (Some("5"), &json!(false))
    );
}
