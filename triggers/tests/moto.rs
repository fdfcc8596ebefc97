//! The trigger against a local Step Functions API: moto's server, started by
//! `eval "$(scripts/local-aws.sh)"`, which sets `SFN_AGENT_TEST_AWS_ENDPOINT`.
//!
//! Without the server the test is skipped with a message, except under `CI=true`, where it fails.

use std::collections::BTreeMap;

use aws_sdk_sfn::Client;
use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
use serde_json::{Value, json};
use triggers::{BatchItemFailure, SqsEvent, SqsMessage, Trigger, execution_name};

fn endpoint() -> Option<String> {
    match std::env::var("SFN_AGENT_TEST_AWS_ENDPOINT") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!(
                "CI=true and SFN_AGENT_TEST_AWS_ENDPOINT is not set: run `eval \"$(scripts/local-aws.sh)\"` first"
            )
        }
        _ => {
            eprintln!(
                "skipped: no local AWS server; run `eval \"$(scripts/local-aws.sh)\"` to run this test"
            );
            None
        }
    }
}

fn client(endpoint: &str) -> Client {
    let config = aws_sdk_sfn::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .build();
    Client::from_conf(config)
}

fn message(id: &str, body: Value) -> SqsMessage {
    SqsMessage {
        message_id: id.into(),
        body: body.to_string(),
    }
}

#[tokio::test]
async fn a_redelivered_message_starts_one_execution() -> Result<(), Box<dyn std::error::Error>> {
    let Some(endpoint) = endpoint() else {
        return Ok(());
    };
    let client = client(&endpoint);
    let unique = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis()
    );
    let machine = client
        .create_state_machine()
        .name(format!("trigger-test-{unique}"))
        .role_arn("arn:aws:iam::123456789012:role/sfn-agent-test")
        .definition(r#"{"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}"#)
        .send()
        .await?;
    let arn = machine.state_machine_arn().to_owned();
    let trigger = Trigger::new(
        client.clone(),
        BTreeMap::from([("weather".to_owned(), arn.clone())]),
    );

    let id = format!("msg-{unique}");
    let question =
        json!({"agent": "weather", "question": "Rain in Oslo?", "conversation_id": "c-1"});
    let event = SqsEvent {
        records: vec![
            message(&id, question.clone()),
            // SQS delivers at least once: the same message again, in the same batch.
            message(&id, question.clone()),
            message("bad", json!({"question": "no agent"})),
            message("unknown", json!({"agent": "travel", "question": "Where?"})),
        ],
    };
    let response = trigger.handle(event).await;
    assert_eq!(
        response.batch_item_failures,
        vec![
            BatchItemFailure {
                item_identifier: "bad".into()
            },
            BatchItemFailure {
                item_identifier: "unknown".into()
            },
        ]
    );
    // And once more, in a later batch.
    let again = trigger
        .handle(SqsEvent {
            records: vec![message(&id, question)],
        })
        .await;
    assert!(again.batch_item_failures.is_empty());

    let executions = client
        .list_executions()
        .state_machine_arn(&arn)
        .send()
        .await?;
    let names: Vec<&str> = executions.executions().iter().map(|e| e.name()).collect();
    assert_eq!(names, [execution_name(&id)]);
    let described = client
        .describe_execution()
        .execution_arn(executions.executions()[0].execution_arn())
        .send()
        .await?;
    let input: Value = serde_json::from_str(described.input().unwrap_or_default())?;
    assert_eq!(
        input,
        json!({"question": "Rain in Oslo?", "conversation_id": "c-1"})
    );
    Ok(())
}
