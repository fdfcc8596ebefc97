//! The tool binaries as Lambda functions: each is started against a local stand-in for the
//! Lambda Runtime API (`/2018-06-01/runtime/invocation/next`, `…/{id}/response`, `…/{id}/error`,
//! as documented at <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>), fed Map
//! items, and its answers read back.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::fixture;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// A child process killed when the test ends, pass or fail.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Serves `events` in order from `invocation/next`, then holds the next poll open.
async fn runtime_api(server: &MockServer, events: &[(&str, Value)]) {
    for (request_id, payload) in events {
        Mock::given(method("GET"))
            .and(path("/2018-06-01/runtime/invocation/next"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("lambda-runtime-aws-request-id", *request_id)
                    .insert_header("lambda-runtime-deadline-ms", "9999999999999")
                    .insert_header(
                        "lambda-runtime-invoked-function-arn",
                        "arn:aws:lambda:eu-west-1:123456789012:function:tool",
                    )
                    .set_body_json(payload),
            )
            .up_to_n_times(1)
            .with_priority(1)
            .mount(server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/2018-06-01/runtime/invocation/next"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(60)))
        .with_priority(10)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path_regex(
            r"^/2018-06-01/runtime/invocation/[^/]+/(response|error)$",
        ))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({"status": "OK"})))
        .mount(server)
        .await;
}

fn start(binary: &str, server: &MockServer, env: &[(&str, String)]) -> Running {
    let address = server.address().to_string();
    let child = Command::new(binary)
        .env("AWS_LAMBDA_RUNTIME_API", address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "tool")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    Running(child)
}

/// The answers posted back, once `count` have arrived.
async fn answers(server: &MockServer, count: usize) -> Vec<Request> {
    let started = Instant::now();
    loop {
        let posted: Vec<Request> = server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.method.as_str() == "POST")
            .collect();
        if posted.len() >= count {
            return posted;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "only {} of {count} answers",
            posted.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).expect("a JSON body")
}

#[tokio::test]
async fn the_calculator_lambda_answers_map_items_with_tool_results() {
    let server = MockServer::start().await;
    runtime_api(
        &server,
        &[
            (
                "req-1",
                json!({"id": "toolu_1", "name": "calculate", "input": {"expression": "17% of 2340"}}),
            ),
            (
                "req-2",
                json!({"id": "toolu_2", "name": "calculate", "input": {"expresion": "1+1"}}),
            ),
            ("req-3", json!({"question": "not a tool call"})),
        ],
    )
    .await;
    let _running = start(env!("CARGO_BIN_EXE_tool-calculate"), &server, &[]);

    let posted = answers(&server, 3).await;
    assert_eq!(
        posted[0].url.path(),
        "/2018-06-01/runtime/invocation/req-1/response"
    );
    assert_eq!(
        body(&posted[0]),
        json!({"tool_use_id": "toolu_1", "content": "{\"expression\":\"17% of 2340\",\"result\":397.8}", "is_error": false})
    );
    assert_eq!(
        posted[1].url.path(),
        "/2018-06-01/runtime/invocation/req-2/response"
    );
    let invalid = body(&posted[1]);
    assert_eq!(invalid["is_error"], true);
    assert!(
        invalid["content"].as_str().is_some_and(
            |t| t.contains("`expresion` is not a known field (did you mean `expression`?)")
        ),
        "{invalid}"
    );
    assert_eq!(
        posted[2].url.path(),
        "/2018-06-01/runtime/invocation/req-3/error"
    );
    assert_eq!(body(&posted[2])["errorType"], "Tool.InvalidPayload");
}

#[tokio::test]
async fn the_weather_lambda_takes_its_services_from_the_environment() {
    let server = MockServer::start().await;
    runtime_api(
        &server,
        &[(
            "req-1",
            json!({"id": "toolu_1", "name": "get_weather", "input": {"places": ["Seattle"]}}),
        )],
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/geo/v1/search"))
        .and(query_param("name", "Seattle"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("open-meteo/geocoding-seattle.json")),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/forecast/v1/forecast"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fixture("open-meteo/forecast-seattle-metric.json")),
        )
        .mount(&server)
        .await;
    let uri = server.uri();
    let _running = start(
        env!("CARGO_BIN_EXE_tool-get-weather"),
        &server,
        &[
            ("OPEN_METEO_GEOCODING_URL", format!("{uri}/geo")),
            ("OPEN_METEO_FORECAST_URL", format!("{uri}/forecast/")),
            ("TOOL_HTTP_TIMEOUT_MS", "2000".to_string()),
        ],
    );

    let posted = answers(&server, 1).await;
    let result = body(&posted[0]);
    assert_eq!(result["is_error"], false, "{result}");
    let report: Value =
        serde_json::from_str(result["content"].as_str().unwrap_or_default()).expect("a report");
    assert_eq!(
        report["places"][0]["place"],
        "Seattle, Washington, United States"
    );
}
