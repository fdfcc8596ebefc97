//! Approvals, questions to the user and sub-agents in the ReAct machine: which states they add,
//! and only to the agents that use them.

use std::time::Duration;

use agent_builder::manifest::WorkflowType;
use agent_builder::people::{ASK_USER_TOOL, RequestDestination};
use agent_builder::react::names;
use agent_builder::{Agent, AgentBuilder, Model, ToolSpec};
use serde_json::{Value, json};

fn tool(name: &str) -> ToolSpec {
    ToolSpec::new(
        name,
        format!("Does {name}."),
        json!({"type": "object", "properties": {"x": {"type": "string"}}}),
    )
}

fn base(name: &str) -> AgentBuilder {
    Agent::builder(name)
        .system_prompt("You help.")
        .model(Model::anthropic("claude-haiku-4-5"))
}

fn machine_json(agent: &Agent) -> Value {
    serde_json::from_str(&agent.state_machine().to_json_pretty()).expect("json")
}

#[test]
fn an_agent_without_people_or_sub_agents_keeps_the_plain_loop() {
    let agent = base("plain").tool(tool("lookup")).build().expect("valid");
    let machine = machine_json(&agent);
    let states: Vec<&String> = machine["States"]
        .as_object()
        .expect("states")
        .keys()
        .collect();
    assert!(
        !states.iter().any(|s| *s == names::ASK_PEOPLE),
        "{states:?}"
    );
    assert_eq!(
        machine["States"][names::RUN_TOOLS]["Items"],
        "{% $states.input.tool_calls %}"
    );
    assert_eq!(
        machine["States"][names::RUN_TOOLS]["ItemProcessor"]["StartAt"],
        names::RUN_TOOL
    );
    let entry = serde_json::to_value(agent.manifest_entry()).expect("json");
    assert!(entry.get("requests").is_none() && entry.get("sub_agents").is_none());
}

#[test]
fn approvals_and_questions_wait_on_task_tokens_at_the_destination() {
    let agent = base("ops")
        .tool(tool("refund"))
        .tool(tool("lookup"))
        .require_approval(["refund"])
        .ask_user()
        .wait_for_people(Duration::from_secs(3600))
        .requests_to(RequestDestination::Sqs)
        .build()
        .expect("valid");
    assert!(asl::validate(&agent.state_machine()).is_ok());
    let machine = machine_json(&agent);
    let ask = &machine["States"][names::ASK_PEOPLE];
    assert_eq!(ask["Type"], "Map");
    assert_eq!(
        ask["Items"],
        "{% [$states.input.tool_calls[name in [\"refund\",\"ask_user\"]]] %}"
    );
    assert_eq!(ask["Next"], names::RUN_TOOLS);
    let processor = &ask["ItemProcessor"];
    assert_eq!(processor["StartAt"], names::APPROVAL_OR_QUESTION);
    let approval = &processor["States"][names::ASK_APPROVAL];
    assert_eq!(
        approval["Resource"],
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
    );
    assert_eq!(approval["TimeoutSeconds"], 3600);
    assert_eq!(approval["Arguments"]["QueueUrl"], "${RequestQueueUrl}");
    let body = approval["Arguments"]["MessageBody"].as_str().expect("body");
    assert!(
        body.contains("'token': $states.context.Task.Token"),
        "{body}"
    );
    let caught: Vec<&Value> = approval["Catch"]
        .as_array()
        .expect("catch")
        .iter()
        .map(|c| &c["ErrorEquals"][0])
        .collect();
    assert_eq!(caught, ["Approval.Denied", "States.Timeout", "States.ALL"]);
    let question = &processor["States"][names::ASK_USER];
    assert_eq!(question["Resource"], approval["Resource"]);
    // The turn goes through Ask people only when a call waits; the others run as before.
    let rules = machine["States"][names::TOOL_USE]["Choices"]
        .as_array()
        .expect("rules");
    assert_eq!(rules[1]["Next"], names::ASK_PEOPLE);
    assert_eq!(
        machine["States"][names::RUN_TOOLS]["Items"],
        "{% $runCalls %}"
    );
    // The model sees ask_user; the manifest names the queue.
    assert!(agent.model_tools().iter().any(|t| t.name == ASK_USER_TOOL));
    let entry = serde_json::to_value(agent.manifest_entry()).expect("json");
    assert_eq!(
        entry["requests"],
        json!({"destination": "sqs", "placeholder": "RequestQueueUrl"})
    );
}

#[test]
fn an_event_bridge_request_carries_the_token_in_its_detail() {
    let agent = base("ops")
        .tool(tool("refund"))
        .require_approval_for_all_tools()
        .build()
        .expect("valid");
    let machine = machine_json(&agent);
    let processor = &machine["States"][names::ASK_PEOPLE]["ItemProcessor"];
    assert_eq!(processor["StartAt"], names::ASK_APPROVAL);
    let approval = &processor["States"][names::ASK_APPROVAL];
    assert_eq!(
        approval["Resource"],
        "arn:aws:states:::events:putEvents.waitForTaskToken"
    );
    let entry = &approval["Arguments"]["Entries"][0];
    assert_eq!(entry["EventBusName"], "${RequestEventBusName}");
    assert_eq!(entry["DetailType"], "Agent Approval Request");
    assert!(
        entry["Detail"]
            .as_str()
            .is_some_and(|d| d.contains("'kind': 'approval'") && d.contains("Task.Token"))
    );
    assert_eq!(approval["TimeoutSeconds"], 86400);
}

#[test]
fn a_sub_agent_is_a_nested_execution_in_the_tools_map() {
    let weather = base("weather")
        .tool(tool("get_weather"))
        .build()
        .expect("valid");
    let supervisor = base("supervisor")
        .tool(tool("calculate"))
        .sub_agent(&weather)
        .build()
        .expect("valid");
    assert!(asl::validate(&supervisor.state_machine()).is_ok());
    let machine = machine_json(&supervisor);
    let processor = &machine["States"][names::RUN_TOOLS]["ItemProcessor"];
    assert_eq!(processor["StartAt"], names::TOOL_OR_AGENT);
    let ask = &processor["States"][names::ASK_AGENT];
    assert_eq!(
        ask["Resource"],
        "arn:aws:states:::states:startExecution.sync:2"
    );
    assert_eq!(
        ask["Arguments"]["StateMachineArn"],
        "{% $lookup({\"weather\":\"${AgentWeatherStateMachineArn}\"}, $states.input.name) %}"
    );
    assert_eq!(
        ask["Arguments"]["Input"]["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"],
        "{% $states.context.Execution.Id %}"
    );
    assert!(
        machine["States"][names::RUN_TOOLS]["Assign"]["usage"]
            .as_str()
            .is_some_and(|u| u.contains("$sum([$states.result.usage.input_tokens])"))
    );
    assert!(supervisor.model_tools().iter().any(|t| t.name == "weather"));
    let entry = serde_json::to_value(supervisor.manifest_entry()).expect("json");
    assert_eq!(
        entry["sub_agents"],
        json!([{"agent": "weather", "placeholder": "AgentWeatherStateMachineArn"}])
    );
}

#[test]
fn bad_people_and_sub_agent_settings_are_named() {
    let sub = base("helper").build().expect("valid");
    let err = base("ops")
        .tool(tool("refund"))
        .tool(tool("ask_user"))
        .require_approval(["refnud"])
        .ask_user()
        .wait_for_people(Duration::from_secs(0))
        .sub_agent(&sub)
        .sub_agent(&sub)
        .workflow_type(WorkflowType::Express)
        .build()
        .expect_err("invalid");
    let text = err.to_string();
    for needle in [
        "require_approval names `refnud`, which is not one of the agent's tools (refund, ask_user)",
        "a tool is named `ask_user`",
        "wait_for_people must be between 1 second and a year",
        "sub-agent `helper` is added twice",
        "an Express agent cannot wait for people or call sub-agents",
    ] {
        assert!(text.contains(needle), "`{needle}` in:\n{text}");
    }
    let own = base("loop").build().expect("valid");
    let err = base("loop").sub_agent(&own).build().expect_err("self");
    assert!(err.to_string().contains("cannot be its own sub-agent"));
}
