//! `approve`, `deny` and `answer` send the calls the service expects (SendTaskSuccess, or
//! SendTaskFailure with `Approval.Denied`), and its refusals (a token nobody waits on, a
//! malformed one) come back as sentences. A stand-in serves the Step Functions JSON protocol with
//! the error shapes of the API reference (`TaskDoesNotExist`, `InvalidToken`, HTTP 400).

use std::process::{Command, Output};

use serde_json::{Value, json};
use wiremock::matchers::{header, method};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn sfn_agent(endpoint: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sfn-agent"))
        .args(args)
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .output()
        .expect("runs")
}

fn body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).expect("json body")
}

async fn accepting() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("{}", "application/x-amz-json-1.0"))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn approve_deny_and_answer_send_what_the_service_expects() {
    let server = accepting().await;
    let uri = server.uri();
    let out = tokio::task::spawn_blocking({
        let uri = uri.clone();
        move || {
            (
                sfn_agent(&uri, &["approve", "tok-1"]),
                sfn_agent(&uri, &["deny", "tok-2", "--reason", "not on a Sunday"]),
                sfn_agent(&uri, &["answer", "tok-3", "Paris"]),
            )
        }
    })
    .await
    .expect("joined");
    for o in [&out.0, &out.1, &out.2] {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let requests = server.received_requests().await.expect("recorded");
    let calls: Vec<(String, Value)> = requests
        .iter()
        .map(|r| {
            let target = r
                .headers
                .get("x-amz-target")
                .expect("target")
                .to_str()
                .expect("text");
            (target.to_owned(), body(r))
        })
        .collect();
    assert_eq!(
        calls,
        [
            (
                "AWSStepFunctions.SendTaskSuccess".to_owned(),
                json!({"taskToken": "tok-1", "output": "{\"approved\":true}"})
            ),
            (
                "AWSStepFunctions.SendTaskFailure".to_owned(),
                json!({"taskToken": "tok-2", "error": "Approval.Denied", "cause": "not on a Sunday"})
            ),
            (
                "AWSStepFunctions.SendTaskSuccess".to_owned(),
                json!({"taskToken": "tok-3", "output": "{\"answer\":\"Paris\"}"})
            ),
        ]
    );
}

#[tokio::test]
async fn a_token_nobody_waits_on_is_said_plainly() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("x-amz-target", "AWSStepFunctions.SendTaskSuccess"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            r#"{"__type":"com.amazonaws.swf.service.v2.model#TaskDoesNotExist","message":"Task Timed Out: 'Provided task does not exist anymore'"}"#,
            "application/x-amz-json-1.0",
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(header("x-amz-target", "AWSStepFunctions.SendTaskFailure"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            r#"{"__type":"com.amazonaws.swf.service.v2.model#InvalidToken","message":"Invalid Token: 'Invalid token'"}"#,
            "application/x-amz-json-1.0",
        ))
        .mount(&server)
        .await;
    let uri = server.uri();
    let (gone, malformed, empty) = tokio::task::spawn_blocking(move || {
        (
            sfn_agent(&uri, &["approve", "old-token"]),
            sfn_agent(&uri, &["deny", "garbled"]),
            sfn_agent(&uri, &["approve", ""]),
        )
    })
    .await
    .expect("joined");
    let text = |o: &Output| String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!gone.status.success());
    assert!(
        text(&gone).contains("no request waits on the token `old-token` (TaskDoesNotExist): it was answered already, timed out, or never existed"),
        "{}",
        text(&gone)
    );
    assert!(!malformed.status.success());
    assert!(
        text(&malformed).contains("`garbled` is not a task token the service knows (InvalidToken)"),
        "{}",
        text(&malformed)
    );
    assert!(!empty.status.success());
    assert!(
        text(&empty).contains("is not a task token"),
        "{}",
        text(&empty)
    );
}
