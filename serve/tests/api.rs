//! The service through real clients: the AWS SDK for Rust (endpoint override, test credentials)
//! and raw HTTP for what an SDK will not send (malformed bodies, unknown targets, wrong types).

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sfn::Client;
use aws_sdk_sfn::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_sfn::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};
use aws_sdk_sfn::error::BoxError;
use aws_sdk_sfn::error::ProvideErrorMetadata;
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};
use serde_json::{Value, json};
use sfn_agent_serve::{Config, Machine, STOPPED_ERROR, Server};
use sfn_local::{Registry, handler_fn};

const ROLE: &str = "arn:aws:iam::123456789012:role/test";

/// A machine that sends its input to a queue and waits for the answer (SendTaskSuccess).
const WAITS: &str = r#"{
  "QueryLanguage": "JSONata",
  "StartAt": "Prepare",
  "States": {
    "Prepare": {"Type": "Pass", "Output": {"ask": "{% $states.input.q %}"}, "Next": "Ask"},
    "Ask": {
      "Type": "Task",
      "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
      "Arguments": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
                    "MessageBody": {"ask": "{% $states.input.ask %}", "token": "{% $states.context.Task.Token %}"}},
      "Next": "Done"
    },
    "Done": {"Type": "Pass", "Output": {"answer": "{% $states.input.answer %}"}, "End": true}
  }
}"#;

/// The team's machine of the load test: a Lambda served in-process.
fn adder() -> Machine {
    let definition = asl::StateMachine::from_json(
        r#"{"QueryLanguage": "JSONata", "StartAt": "Add", "States": {"Add": {
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Arguments": {"FunctionName": "add", "Payload": "{% $states.input %}"},
            "Output": "{% $states.result.Payload %}", "End": true}}}"#,
    )
    .unwrap();
    Machine {
        name: "adder".into(),
        definition,
        express: false,
        registry: Arc::new(|| {
            let mut registry = Registry::new();
            registry.lambda(
                "add",
                handler_fn(|p| async move {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    Ok(json!({"sum": p["a"].as_i64().unwrap_or(0) + p["b"].as_i64().unwrap_or(0)}))
                }),
            );
            registry
        }),
    }
}

/// StartSyncExecution and TestState go to the host `sync-<endpoint host>` (their endpoint
/// prefix in the service model), which does not resolve for `127.0.0.1`: this puts the host back,
/// as a user of a local endpoint does (see the crate README).
#[derive(Debug)]
struct NoHostPrefix;

impl Intercept for NoHostPrefix {
    fn name(&self) -> &'static str {
        "NoHostPrefix"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        let uri = request.uri().replace("://sync-", "://");
        request.set_uri(uri)?;
        Ok(())
    }
}

struct Local {
    client: Client,
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Local {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn serve(config: Config) -> Local {
    let server = Server::new(config, vec![adder()]).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.serve_until(listener, async move {
        let _ = stopped.await;
    }));
    let config = aws_sdk_sfn::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(&url)
        .interceptor(NoHostPrefix)
        .build();
    Local {
        client: Client::from_conf(config),
        url,
        stop: Some(stop),
    }
}

async fn create_waiting(client: &Client) -> String {
    client
        .create_state_machine()
        .name("waits")
        .definition(WAITS)
        .role_arn(ROLE)
        .send()
        .await
        .unwrap()
        .state_machine_arn
}

/// Polls until the execution ends.
async fn wait_for_end(
    client: &Client,
    arn: &str,
) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    for _ in 0..500 {
        let described = client
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .unwrap();
        if described.status != ExecutionStatus::Running {
            return described;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{arn} did not end");
}

/// Every event of an execution, read `page` at a time.
async fn history(
    client: &Client,
    arn: &str,
    page: i32,
    reverse: bool,
) -> Vec<aws_sdk_sfn::types::HistoryEvent> {
    let mut events = Vec::new();
    let mut token = None;
    loop {
        let out = client
            .get_execution_history()
            .execution_arn(arn)
            .max_results(page)
            .reverse_order(reverse)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        assert!(out.events.len() <= page as usize);
        events.extend(out.events);
        token = out.next_token;
        if token.is_none() {
            return events;
        }
    }
}

/// The task token the execution waits on, from its `TaskScheduled` event.
async fn waiting_token(client: &Client, arn: &str) -> String {
    for _ in 0..500 {
        for event in history(client, arn, 100, false).await {
            if let Some(details) = event.task_scheduled_event_details() {
                let parameters: Value = serde_json::from_str(details.parameters()).unwrap();
                return parameters["MessageBody"]["token"]
                    .as_str()
                    .unwrap()
                    .to_owned();
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{arn} never waited on a token");
}

/// `--region`/`--account` reach the run: `$$.Execution.Id` is the ARN the API returned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_context_object_has_the_servers_region_and_account() {
    let config = Config {
        arns: sfn_agent_serve::Arns {
            region: "eu-west-3".into(),
            account: "111122223333".into(),
        },
        ..Config::default()
    };
    let local = serve(config).await;
    let client = &local.client;
    let machine = client
        .create_state_machine()
        .name("ids")
        .definition(
            r#"{"QueryLanguage": "JSONata", "StartAt": "Ids", "States": {"Ids": {"Type": "Pass",
                "Output": {"id": "{% $states.context.Execution.Id %}",
                           "machine": "{% $states.context.StateMachine.Id %}"}, "End": true}}}"#,
        )
        .role_arn(ROLE)
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    assert_eq!(
        machine,
        "arn:aws:states:eu-west-3:111122223333:stateMachine:ids"
    );
    let arn = client
        .start_execution()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let done = wait_for_end(client, &arn).await;
    let output: Value = serde_json::from_str(done.output().unwrap()).unwrap();
    assert_eq!(output, json!({"id": arn, "machine": machine}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_with_a_task_token_through_the_sdk() {
    let local = serve(Config::default()).await;
    let client = &local.client;
    let machine = create_waiting(client).await;
    assert_eq!(
        machine,
        "arn:aws:states:us-east-1:123456789012:stateMachine:waits"
    );
    // Creating it again the same way is idempotent; another definition is refused.
    assert_eq!(create_waiting(client).await, machine);
    let err = client
        .create_state_machine()
        .name("waits")
        .definition(WAITS.replace("Done", "Finish"))
        .role_arn(ROLE)
        .send()
        .await
        .unwrap_err();
    assert!(
        err.as_service_error()
            .unwrap()
            .is_state_machine_already_exists()
    );

    let input = r#"{"q": "may I?"}"#;
    let started = client
        .start_execution()
        .state_machine_arn(&machine)
        .name("first")
        .input(input)
        .send()
        .await
        .unwrap();
    let arn = started.execution_arn;
    assert_eq!(
        arn,
        "arn:aws:states:us-east-1:123456789012:execution:waits:first"
    );
    let token = waiting_token(client, &arn).await;

    // While it runs: the same name and input is the same execution; another input is not.
    let again = client
        .start_execution()
        .state_machine_arn(&machine)
        .name("first")
        .input(input)
        .send()
        .await
        .unwrap();
    assert_eq!(again.execution_arn, arn);
    let err = client
        .start_execution()
        .state_machine_arn(&machine)
        .name("first")
        .input("{}")
        .send()
        .await
        .unwrap_err();
    assert!(
        err.as_service_error()
            .unwrap()
            .is_execution_already_exists()
    );
    let running = client
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(running.status, ExecutionStatus::Running);
    client
        .send_task_heartbeat()
        .task_token(&token)
        .send()
        .await
        .unwrap();

    client
        .send_task_success()
        .task_token(&token)
        .output(r#"{"answer": "yes"}"#)
        .send()
        .await
        .unwrap();
    let described = wait_for_end(client, &arn).await;
    assert_eq!(described.status, ExecutionStatus::Succeeded);
    assert_eq!(
        serde_json::from_str::<Value>(described.output().unwrap()).unwrap(),
        json!({"answer": "yes"})
    );
    assert_eq!(described.input(), Some(input));
    assert!(described.stop_date().is_some());

    // The token is spent.
    let err = client
        .send_task_success()
        .task_token(&token)
        .output("{}")
        .send()
        .await
        .unwrap_err();
    assert!(err.as_service_error().unwrap().is_task_does_not_exist());
    // A closed execution's name cannot be used again, whatever the input.
    let err = client
        .start_execution()
        .state_machine_arn(&machine)
        .name("first")
        .input(input)
        .send()
        .await
        .unwrap_err();
    assert!(
        err.as_service_error()
            .unwrap()
            .is_execution_already_exists()
    );

    // The history, 3 events a page, in order and reversed, with ids 1, 2, … and their links.
    let events = history(client, &arn, 3, false).await;
    let types: Vec<&HistoryEventType> = events.iter().map(|e| &e.r#type).collect();
    assert_eq!(types.first(), Some(&&HistoryEventType::ExecutionStarted));
    assert_eq!(types.last(), Some(&&HistoryEventType::ExecutionSucceeded));
    assert!(types.contains(&&HistoryEventType::TaskSubmitted));
    assert!(types.contains(&&HistoryEventType::TaskSucceeded));
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event.id, i as i64 + 1);
    }
    let reversed = history(client, &arn, 4, true).await;
    assert_eq!(reversed.len(), events.len());
    assert_eq!(reversed[0].id, events.len() as i64);

    let listed = client
        .list_executions()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.executions.len(), 1);
    assert_eq!(listed.executions[0].status, ExecutionStatus::Succeeded);
    let machines = client.list_state_machines().send().await.unwrap();
    let names: Vec<&str> = machines.state_machines.iter().map(|m| m.name()).collect();
    assert_eq!(names, ["adder", "waits"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_failing_and_describing() {
    let local = serve(Config::default()).await;
    let client = &local.client;
    let machine = create_waiting(client).await;
    let described = client
        .describe_state_machine()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap();
    assert_eq!(described.definition(), WAITS);
    assert_eq!(described.role_arn(), ROLE);

    // Stopped while it waits.
    let arn = client
        .start_execution()
        .state_machine_arn(&machine)
        .input(r#"{"q": 1}"#)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let token = waiting_token(client, &arn).await;
    client
        .stop_execution()
        .execution_arn(&arn)
        .error("Halt")
        .cause("enough")
        .send()
        .await
        .unwrap();
    let stopped = client
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(stopped.status, ExecutionStatus::Aborted);
    assert_eq!(
        (stopped.error(), stopped.cause()),
        (Some("Halt"), Some("enough"))
    );
    let last = history(client, &arn, 100, true).await.remove(0);
    assert_eq!(last.r#type, HistoryEventType::ExecutionAborted);
    assert_eq!(
        last.execution_aborted_event_details().unwrap().error(),
        Some("Halt")
    );
    let err = client
        .send_task_success()
        .task_token(&token)
        .output("{}")
        .send()
        .await
        .unwrap_err();
    assert!(err.as_service_error().unwrap().is_task_does_not_exist());
    // Its token is unknown to heartbeats too, as to failures.
    let err = client
        .send_task_heartbeat()
        .task_token(&token)
        .send()
        .await
        .unwrap_err();
    assert!(err.as_service_error().unwrap().is_task_does_not_exist());
    let err = client
        .send_task_failure()
        .task_token(&token)
        .error("Late")
        .send()
        .await
        .unwrap_err();
    assert!(err.as_service_error().unwrap().is_task_does_not_exist());

    // Failed by SendTaskFailure: nothing catches it, so the execution fails with its names.
    let arn = client
        .start_execution()
        .state_machine_arn(&machine)
        .input(r#"{"q": 2}"#)
        .send()
        .await
        .unwrap()
        .execution_arn;
    let token = waiting_token(client, &arn).await;
    client
        .send_task_failure()
        .task_token(&token)
        .error("Approval.Denied")
        .cause("no")
        .send()
        .await
        .unwrap();
    let failed = wait_for_end(client, &arn).await;
    assert_eq!(failed.status, ExecutionStatus::Failed);
    assert_eq!(
        (failed.error(), failed.cause()),
        (Some("Approval.Denied"), Some("no"))
    );

    // Updated: new executions run the new definition.
    client
        .update_state_machine()
        .state_machine_arn(&machine)
        .definition(
            r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 7, "End": true}}}"#,
        )
        .send()
        .await
        .unwrap();
    let arn = client
        .start_execution()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap()
        .execution_arn;
    assert_eq!(wait_for_end(client, &arn).await.output(), Some("7"));

    client
        .delete_state_machine()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap();
    let err = client
        .describe_state_machine()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap_err();
    assert!(
        err.as_service_error()
            .unwrap()
            .is_state_machine_does_not_exist()
    );
    // Its executions stay readable.
    assert_eq!(
        client
            .describe_execution()
            .execution_arn(&arn)
            .send()
            .await
            .unwrap()
            .status,
        ExecutionStatus::Succeeded
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn express_validate_and_test_state() {
    let local = serve(Config::default()).await;
    let client = &local.client;
    let express = client
        .create_state_machine()
        .name("quick")
        .r#type(aws_sdk_sfn::types::StateMachineType::Express)
        .definition(r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"twice.$": "States.MathAdd($.n, $.n)"}, "End": true}}}"#)
        .role_arn(ROLE)
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    let out = client
        .start_sync_execution()
        .state_machine_arn(&express)
        .input(r#"{"n": 21}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.status,
        aws_sdk_sfn::types::SyncExecutionStatus::Succeeded
    );
    assert_eq!(out.output(), Some(r#"{"twice":42}"#));
    assert!(out.execution_arn.contains(":express:quick:"));
    let standard = "arn:aws:states:us-east-1:123456789012:stateMachine:adder";
    let err = client
        .start_sync_execution()
        .state_machine_arn(standard)
        .send()
        .await
        .unwrap_err();
    assert!(
        err.as_service_error()
            .unwrap()
            .is_state_machine_type_not_supported()
    );

    let ok = client
        .validate_state_machine_definition()
        .definition(WAITS)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ok.result,
        aws_sdk_sfn::types::ValidateStateMachineDefinitionResultCode::Ok
    );
    let bad = client
        .validate_state_machine_definition()
        .definition(r#"{"StartAt": "Nowhere", "States": {"A": {"Type": "Pass", "End": true}}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        bad.result,
        aws_sdk_sfn::types::ValidateStateMachineDefinitionResultCode::Fail
    );
    assert!(
        bad.diagnostics[0].message.contains("Nowhere"),
        "{:?}",
        bad.diagnostics
    );
    let err = client
        .create_state_machine()
        .name("broken")
        .definition(r#"{"StartAt": "Nowhere", "States": {"A": {"Type": "Pass", "End": true}}}"#)
        .role_arn(ROLE)
        .send()
        .await
        .unwrap_err();
    let service = err.as_service_error().unwrap();
    assert!(service.is_invalid_definition());
    assert!(service.message().unwrap().contains("Nowhere"));
    // A malformed path is refused at creation, naming its field, as the engine refuses it at load.
    let err = client
        .create_state_machine()
        .name("bad-path")
        .definition(r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "InputPath": "$..[", "End": true}}}"#)
        .role_arn(ROLE)
        .send()
        .await
        .unwrap_err();
    let service = err.as_service_error().unwrap();
    assert!(service.is_invalid_definition());
    assert!(
        service.message().unwrap().contains("States.A.InputPath"),
        "{:?}",
        service.message()
    );

    // TestState: a Choice goes to its rule's state; a Fail fails; a caught error is reported.
    let choice = client
        .test_state()
        .definition(r#"{"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Big"}], "Default": "Small"}"#)
        .role_arn(ROLE)
        .input(r#"{"n": 5}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        choice.status,
        Some(aws_sdk_sfn::types::TestExecutionStatus::Succeeded)
    );
    assert_eq!(choice.next_state(), Some("Big"));
    assert_eq!(choice.output(), Some(r#"{"n":5}"#));
    let fail = client
        .test_state()
        .definition(r#"{"Type": "Fail", "Error": "E", "Cause": "c"}"#)
        .role_arn(ROLE)
        .send()
        .await
        .unwrap();
    assert_eq!(
        fail.status,
        Some(aws_sdk_sfn::types::TestExecutionStatus::Failed)
    );
    assert_eq!((fail.error(), fail.cause()), (Some("E"), Some("c")));
    let caught = client
        .test_state()
        .definition(r#"{"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                        "Parameters": {"FunctionName": "missing", "Payload.$": "$"}, "Next": "After",
                        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recover"}]}"#)
        .role_arn(ROLE)
        .send()
        .await
        .unwrap();
    assert_eq!(
        caught.status,
        Some(aws_sdk_sfn::types::TestExecutionStatus::CaughtError),
        "{caught:?}"
    );
    assert_eq!(caught.next_state(), Some("Recover"));
    assert_eq!(caught.error(), Some("Lambda.ResourceNotFoundException"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_things_get_the_service_errors() {
    let local = serve(Config::default()).await;
    let client = &local.client;
    let missing_machine = "arn:aws:states:us-east-1:123456789012:stateMachine:nope";
    let err = client
        .start_execution()
        .state_machine_arn(missing_machine)
        .send()
        .await
        .unwrap_err();
    assert!(
        err.as_service_error()
            .unwrap()
            .is_state_machine_does_not_exist()
    );
    let err = client
        .start_execution()
        .state_machine_arn("not-an-arn")
        .send()
        .await
        .unwrap_err();
    assert!(err.as_service_error().unwrap().is_invalid_arn());
    let missing = "arn:aws:states:us-east-1:123456789012:execution:adder:nope";
    let err = client
        .describe_execution()
        .execution_arn(missing)
        .send()
        .await
        .unwrap_err();
    assert!(
        err.as_service_error()
            .unwrap()
            .is_execution_does_not_exist()
    );
    let err = client
        .get_execution_history()
        .execution_arn(missing)
        .send()
        .await
        .unwrap_err();
    assert!(
        err.as_service_error()
            .unwrap()
            .is_execution_does_not_exist()
    );
    let err = client
        .send_task_success()
        .task_token("has spaces and ünicode")
        .output("{}")
        .send()
        .await
        .unwrap_err();
    assert!(err.as_service_error().unwrap().is_invalid_token());
    let err = client
        .send_task_success()
        .task_token("abc123")
        .output("{}")
        .send()
        .await
        .unwrap_err();
    assert!(err.as_service_error().unwrap().is_task_does_not_exist());
    let adder = "arn:aws:states:us-east-1:123456789012:stateMachine:adder";
    let err = client
        .start_execution()
        .state_machine_arn(adder)
        .input("{not json")
        .send()
        .await
        .unwrap_err();
    assert!(err.as_service_error().unwrap().is_invalid_execution_input());
    let err = client
        .start_execution()
        .state_machine_arn(adder)
        .name("a b")
        .send()
        .await
        .unwrap_err();
    assert!(err.as_service_error().unwrap().is_invalid_name());
    let err = client
        .get_execution_history()
        .execution_arn(missing)
        .next_token("forged")
        .send()
        .await
        .unwrap_err();
    assert!(err.code().is_some());

    // What an SDK would not send, sent by hand.
    let http = reqwest::Client::new();
    let call = |target: &'static str, body: &'static str| {
        http.post(&local.url)
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", target)
            .body(body)
            .send()
    };
    for (target, body, expected) in [
        (
            "AWSStepFunctions.StartExecution",
            "{not json",
            "SerializationException",
        ),
        (
            "AWSStepFunctions.StartExecution",
            "[1, 2]",
            "SerializationException",
        ),
        (
            "AWSStepFunctions.StartExecution",
            r#"{"stateMachineArn": 42}"#,
            "SerializationException",
        ),
        (
            "AWSStepFunctions.GetExecutionHistory",
            r#"{"executionArn": "x", "maxResults": "ten"}"#,
            "SerializationException",
        ),
        (
            "AWSStepFunctions.StartExecution",
            "{}",
            "ValidationException",
        ),
        (
            "AWSStepFunctions.ListExecutions",
            r#"{"stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:adder", "maxResults": 5000}"#,
            "ValidationException",
        ),
        (
            "AWSStepFunctions.LaunchRockets",
            "{}",
            "UnknownOperationException",
        ),
        ("", "{}", "UnknownOperationException"),
    ] {
        let response = call(target, body).await.unwrap();
        assert_eq!(response.status(), 400, "{target} {body}");
        assert_eq!(
            response.headers()["content-type"],
            "application/x-amz-json-1.0"
        );
        let error: Value = response.json().await.unwrap();
        assert_eq!(
            error["__type"].as_str().unwrap().rsplit('#').next(),
            Some(expected),
            "{target} {body}: {error}"
        );
        assert!(error["message"].is_string());
    }
    let big = "x".repeat(3 * 1024 * 1024);
    let response = http
        .post(&local.url)
        .header("x-amz-target", "AWSStepFunctions.StartExecution")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_executions_all_finish() {
    let local = serve(Config::default()).await;
    let client = &local.client;
    let adder = "arn:aws:states:us-east-1:123456789012:stateMachine:adder";
    let mut starts = tokio::task::JoinSet::new();
    for i in 0..200 {
        let client = client.clone();
        starts.spawn(async move {
            client
                .start_execution()
                .state_machine_arn(adder)
                .name(format!("run-{i}"))
                .input(json!({"a": i, "b": 1}).to_string())
                .send()
                .await
                .unwrap()
                .execution_arn
        });
    }
    let mut arns = Vec::new();
    while let Some(arn) = starts.join_next().await {
        arns.push(arn.unwrap());
    }
    assert_eq!(arns.len(), 200);
    for arn in &arns {
        let described = wait_for_end(client, arn).await;
        assert_eq!(described.status, ExecutionStatus::Succeeded, "{arn}");
        let i: i64 = arn.rsplit('-').next().unwrap().parse().unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(described.output().unwrap()).unwrap(),
            json!({"sum": i + 1})
        );
    }
    let mut listed = 0;
    let mut token = None;
    loop {
        let page = client
            .list_executions()
            .state_machine_arn(adder)
            .status_filter(ExecutionStatus::Succeeded)
            .max_results(70)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        listed += page.executions.len();
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(listed, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_executions_and_aborts_the_ones_it_cut() {
    let dir = std::env::temp_dir().join(format!("serve-restart-{}", uuid::Uuid::new_v4()));
    let config = Config {
        data_dir: Some(dir.clone()),
        ..Config::default()
    };
    let (done, cut) = {
        let local = serve(config.clone()).await;
        let client = &local.client;
        let machine = create_waiting(client).await;
        let adder = "arn:aws:states:us-east-1:123456789012:stateMachine:adder";
        let done = client
            .start_execution()
            .state_machine_arn(adder)
            .input(r#"{"a": 1, "b": 2}"#)
            .send()
            .await
            .unwrap()
            .execution_arn;
        wait_for_end(client, &done).await;
        let cut = client
            .start_execution()
            .state_machine_arn(&machine)
            .input(r#"{"q": 1}"#)
            .send()
            .await
            .unwrap()
            .execution_arn;
        waiting_token(client, &cut).await;
        (done, cut)
    };
    let local = serve(config).await;
    let client = &local.client;
    let described = client
        .describe_execution()
        .execution_arn(&done)
        .send()
        .await
        .unwrap();
    assert_eq!(described.status, ExecutionStatus::Succeeded);
    assert_eq!(described.output(), Some(r#"{"sum":3}"#));
    assert!(history(client, &done, 2, false).await.len() > 4);
    let described = client
        .describe_execution()
        .execution_arn(&cut)
        .send()
        .await
        .unwrap();
    assert_eq!(described.status, ExecutionStatus::Aborted);
    assert_eq!(described.error(), Some(STOPPED_ERROR));
    let events = history(client, &cut, 100, false).await;
    assert_eq!(
        events.last().unwrap().r#type,
        HistoryEventType::ExecutionAborted
    );
    // The machine created through the API is still there.
    client
        .describe_state_machine()
        .state_machine_arn("arn:aws:states:us-east-1:123456789012:stateMachine:waits")
        .send()
        .await
        .unwrap();
    drop(local);
    let _ = std::fs::remove_dir_all(dir);
}

/// SendTaskHeartbeat keeps a task with `HeartbeatSeconds` waiting; without heartbeats it times
/// out with `States.Timeout`, as the service records it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_keep_a_task_waiting() {
    let local = serve(Config::default()).await;
    let client = &local.client;
    let machine = client
        .create_state_machine()
        .name("beats")
        .definition(WAITS.replace(
            r#""Next": "Done"
    },"#,
            r#""HeartbeatSeconds": 1, "Next": "Done"
    },"#,
        ))
        .role_arn(ROLE)
        .send()
        .await
        .unwrap()
        .state_machine_arn;
    let start = |name: &'static str| {
        client
            .start_execution()
            .state_machine_arn(&machine)
            .name(name)
            .input(r#"{"q": "still there?"}"#)
            .send()
    };
    let kept = start("kept").await.unwrap().execution_arn;
    let token = waiting_token(client, &kept).await;
    // Two seconds of heartbeats, twice the HeartbeatSeconds.
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        client
            .send_task_heartbeat()
            .task_token(&token)
            .send()
            .await
            .unwrap();
    }
    client
        .send_task_success()
        .task_token(&token)
        .output(r#"{"answer": "yes"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        wait_for_end(client, &kept).await.status,
        ExecutionStatus::Succeeded
    );

    let silent = start("silent").await.unwrap().execution_arn;
    let token = waiting_token(client, &silent).await;
    let ended = wait_for_end(client, &silent).await;
    assert_eq!(ended.status, ExecutionStatus::Failed);
    assert_eq!(ended.error.as_deref(), Some("States.Timeout"));
    // Its token is spent.
    let err = client
        .send_task_heartbeat()
        .task_token(&token)
        .send()
        .await
        .unwrap_err();
    assert!(err.as_service_error().unwrap().is_task_does_not_exist());
}
