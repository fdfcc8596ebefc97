//! A whole agent run through `sfn-agent serve`, driven by the AWS SDK for Rust: the agent's
//! machine registered at start, StartExecution, a tool call that waits for approval answered
//! with SendTaskSuccess, polling DescribeExecution to the answer, and the history read in pages.

use std::sync::Arc;
use std::time::Duration;

use agent_builder::{Agent, AgentOutput, Model, Provider};
use aws_sdk_sfn::Client;
use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent, HistoryEventType};
use e2e_tests::{offline_toolbox, scripted, turn};
use llm_lambdas::MemoryStore;
use serde_json::{Value, json};
use sfn_agent::local::{LocalAgent, Reply};
use stock_tools::specs;

fn ops() -> Agent {
    Agent::builder("ops")
        .system_prompt("You do arithmetic, with approval.")
        .model(Model::anthropic("claude-haiku-4-5").max_tokens(512))
        .tool(specs::calculate::spec())
        .require_approval(["calculate"])
        .wait_for_people(Duration::from_secs(600))
        .build()
        .expect("valid")
}

/// The agent as `sfn-agent serve` registers it: its LLM and tool Lambdas in-process, its
/// approval requests left for SendTaskSuccess / SendTaskFailure.
fn machine(agent: &Agent) -> serve::Machine {
    let model = scripted(
        vec![
            turn(
                "Let me compute it.",
                &[("calculate", json!({"expression": "6 * 7"}))],
            ),
            turn("It is 42.", &[]),
        ],
        Provider::Anthropic,
    );
    let handler = LocalAgent::handler(model, Arc::new(MemoryStore::new()), None);
    let local = Arc::new(
        LocalAgent::new(agent.clone(), handler, offline_toolbox())
            .with_responder(Arc::new(|_| Reply::NoAnswer)),
    );
    serve::Machine {
        name: agent.name().to_owned(),
        definition: agent.state_machine(),
        express: false,
        registry: Arc::new(move || local.registry()),
    }
}

async fn all_events(client: &Client, arn: &str) -> Vec<HistoryEvent> {
    let mut events = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .get_execution_history()
            .execution_arn(arn)
            .max_results(5)
            .set_next_token(token)
            .send()
            .await
            .expect("history");
        events.extend(page.events);
        token = page.next_token;
        if token.is_none() {
            return events;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_run_with_an_approval_through_the_sdk() {
    let agent = ops();
    let server =
        serve::Server::new(serve::Config::default(), vec![machine(&agent)]).expect("server");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("port");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(server.serve(listener));
    let client = Client::from_conf(
        aws_sdk_sfn::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .endpoint_url(&url)
            .build(),
    );

    let machines = client.list_state_machines().send().await.expect("list");
    let machine = machines.state_machines()[0].state_machine_arn().to_owned();
    assert_eq!(
        machine,
        "arn:aws:states:us-east-1:123456789012:stateMachine:ops"
    );
    let arn = client
        .start_execution()
        .state_machine_arn(&machine)
        .input(json!({"question": "6 times 7?"}).to_string())
        .send()
        .await
        .expect("start")
        .execution_arn;

    // The approval request (EventBridge, the default destination) carries the token.
    let mut request = None;
    for _ in 0..400 {
        request = all_events(&client, &arn).await.iter().find_map(|e| {
            let parameters: Value =
                serde_json::from_str(e.task_scheduled_event_details()?.parameters()).ok()?;
            parameters
                .pointer("/Entries/0/Detail")
                .filter(|d| d["kind"] == "approval")
                .cloned()
        });
        if request.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let request = request.expect("an approval request");
    assert_eq!(request["tool"], "calculate");
    assert_eq!(request["input"], json!({"expression": "6 * 7"}));
    let described = client
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .expect("describe");
    assert_eq!(described.status, ExecutionStatus::Running);

    client
        .send_task_success()
        .task_token(request["token"].as_str().expect("token"))
        .output(r#"{"approved": true}"#)
        .send()
        .await
        .expect("approve");
    let mut described = described;
    for _ in 0..400 {
        if described.status != ExecutionStatus::Running {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
        described = client
            .describe_execution()
            .execution_arn(&arn)
            .send()
            .await
            .expect("describe");
    }
    assert_eq!(
        described.status,
        ExecutionStatus::Succeeded,
        "{described:?}"
    );
    let output: AgentOutput =
        serde_json::from_str(described.output().expect("output")).expect("agent output");
    assert_eq!(output.answer, "It is 42.");
    assert_eq!(output.iterations, 2);

    let events = all_events(&client, &arn).await;
    let entered: Vec<&str> = events
        .iter()
        .filter_map(|e| e.state_entered_event_details().map(|d| d.name()))
        .collect();
    assert_eq!(
        entered,
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
    // The approved call ran: its result reached the model.
    let tool_result = events
        .iter()
        .filter_map(|e| e.task_succeeded_event_details())
        .find(|d| d.output().is_some_and(|o| o.contains("42")));
    assert!(tool_result.is_some());
    assert_eq!(
        events.last().map(|e| &e.r#type),
        Some(&HistoryEventType::ExecutionSucceeded)
    );
}

/// A run whose requests are answered where it runs (`run --console`: the terminal or
/// `--approve`), not by SendTaskSuccess: the agent completes its tokens in the server's table
/// (`Config::task_tokens`), so the approved call runs and the execution answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_answered_by_the_runs_responder_reaches_the_server() {
    let agent = ops();
    let config = serve::Config::default();
    let model = scripted(
        vec![
            turn(
                "Let me compute it.",
                &[("calculate", json!({"expression": "6 * 7"}))],
            ),
            turn("It is 42.", &[]),
        ],
        Provider::Anthropic,
    );
    let handler = LocalAgent::handler(model, Arc::new(MemoryStore::new()), None);
    let local = Arc::new(
        LocalAgent::new(agent.clone(), handler, offline_toolbox())
            .with_responder(Arc::new(|_| Reply::Approve))
            .with_task_tokens(config.task_tokens.clone()),
    );
    let machine = serve::Machine {
        name: agent.name().to_owned(),
        definition: agent.state_machine(),
        express: false,
        registry: Arc::new(move || local.registry()),
    };
    let server = serve::Server::new(config, vec![machine]).expect("server");
    let service = std::sync::Arc::clone(server.service());
    let started = service
        .call(
            "AWSStepFunctions.StartExecution",
            json!({
                "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:ops",
                "input": json!({"question": "6 times 7?"}).to_string(),
            })
            .to_string()
            .as_bytes(),
        )
        .await
        .expect("start");
    let describe = json!({"executionArn": started["executionArn"]}).to_string();
    let mut described = Value::Null;
    for _ in 0..400 {
        described = service
            .call("AWSStepFunctions.DescribeExecution", describe.as_bytes())
            .await
            .expect("describe");
        if described["status"] != "RUNNING" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(described["status"], "SUCCEEDED", "{described}");
    let output: AgentOutput =
        serde_json::from_str(described["output"].as_str().expect("output")).expect("output");
    assert_eq!(output.answer, "It is 42.");
}
