//! The shared call path (parse → validate → run → result), in-process and as a Lambda handler:
//! every bad input is an error result that names the problem, never a crash.

mod common;

use agent_builder::ToolCall;
use common::{call, error_text, ok_json, toolbox};
use serde_json::{Value, json};
use sfn_agent_tool::lambda::{INVALID_PAYLOAD, handle};
use sfn_agent_tool::{ToolHandler, Toolbox};
use stock_tools::tools::{Calculate, CurrentTime};
use wiremock::MockServer;

/// The tools with no upstream, and the HTTP tools pointed at a closed port (they must refuse
/// bad input before any request).
fn tools() -> Toolbox {
    toolbox("http://127.0.0.1:9")
}

#[tokio::test]
async fn a_missing_field_is_named_with_how_to_give_it() {
    let result = tools().call(call("get_weather", json!({}))).await;
    let text = error_text(&result);
    assert!(
        text.starts_with(
            "Invalid input for `get_weather`: `places` is missing: The places, 1 to 5 in one call"
        ),
        "{text}"
    );
    assert!(
        text.ends_with(r#"Call `get_weather` again with input like {"places":["Boston","Seattle"],"units":"metric","forecast_days":3}"#),
        "{text}"
    );
}

#[tokio::test]
async fn a_wrong_type_is_named_with_the_expected_type() {
    let result = tools()
        .call(call("get_weather", json!({"places": "Boston"})))
        .await;
    let text = error_text(&result);
    assert!(
        text.starts_with(
            "Invalid input for `get_weather`: `places` must be an array, not the string \"Boston\""
        ),
        "{text}"
    );
    let result = tools()
        .call(call("calculate", json!({"expression": 42})))
        .await;
    assert!(error_text(&result).contains("`expression` must be a string, not the number 42"));
    let result = tools()
        .call(call("get_weather", json!({"places": ["Boston", 7]})))
        .await;
    assert!(error_text(&result).contains("`places[1]` must be a string, not the number 7"));
}

#[tokio::test]
async fn an_extra_field_is_reported_not_ignored() {
    let result = tools()
        .call(call(
            "get_weather",
            json!({"places": ["Boston"], "unit": "imperial"}),
        ))
        .await;
    let text = error_text(&result);
    assert!(
        text.contains("`unit` is not a known field (did you mean `units`?); the fields are `forecast_days`, `places`, `units`"),
        "{text}"
    );
}

#[tokio::test]
async fn a_non_object_input_is_reported() {
    for input in [
        json!("Boston"),
        json!(["Boston"]),
        json!(null),
        json!(3),
        json!(true),
    ] {
        let result = tools().call(call("current_time", input.clone())).await;
        let text = error_text(&result);
        assert!(
            text.starts_with("Invalid input for `current_time`: the input must be an object"),
            "{input}: {text}"
        );
    }
}

#[tokio::test]
async fn an_unknown_tool_lists_the_tools() {
    let result = tools().call(call("get_wether", json!({}))).await;
    assert_eq!(
        error_text(&result),
        "There is no tool named `get_wether`. The tools are: `get_weather`, `calculate`, `convert_currency`, `current_time`."
    );
}

#[tokio::test]
async fn the_toolbox_knows_its_tools() {
    let tools = tools();
    assert_eq!(
        tools.names(),
        [
            "get_weather",
            "calculate",
            "convert_currency",
            "current_time"
        ]
    );
    assert_eq!(tools.specs().len(), 4);
    assert!(tools.contains("calculate"));
    let only = Toolbox::new().with(Calculate).with(Calculate);
    assert_eq!(only.names(), ["calculate"]);
}

#[test]
fn the_toolbox_and_handlers_can_be_shared_across_tasks() {
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    fn handler_shareable<T: Send + Sync + 'static>() {}
    shareable::<Toolbox>();
    handler_shareable::<ToolHandler<Calculate>>();
    handler_shareable::<ToolHandler<stock_tools::tools::GetWeather>>();
}

#[tokio::test]
async fn the_toolbox_serves_many_tasks_at_once() {
    let tools = tools();
    let mut tasks = Vec::new();
    for i in 0..32 {
        let tools = tools.clone();
        tasks.push(tokio::spawn(async move {
            let result = tools
                .call(call("calculate", json!({"expression": format!("{i} * 2")})))
                .await;
            ok_json(&result)["result"].as_f64()
        }));
    }
    for (i, task) in tasks.into_iter().enumerate() {
        assert_eq!(task.await.expect("task"), Some((i * 2) as f64));
    }
}

#[tokio::test]
async fn the_lambda_handler_takes_the_map_item_and_returns_a_tool_result() {
    let handler = ToolHandler::new(Calculate);
    let payload =
        json!({"id": "toolu_01", "name": "calculate", "input": {"expression": "17% of 2340"}});
    let result = handle(&handler, payload).await.expect("a tool call");
    assert_eq!(ok_json(&result)["result"], 397.8);
    let wire = serde_json::to_value(&result).expect("json");
    assert_eq!(
        wire.as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>()),
        Some(vec![
            "tool_use_id".to_string(),
            "content".to_string(),
            "is_error".to_string()
        ])
    );

    let bad = handle(
        &handler,
        json!({"id": "toolu_01", "name": "calculate", "input": {}}),
    )
    .await;
    assert!(error_text(&bad.expect("a tool call")).contains("`expression` is missing"));

    let wrong = handle(
        &handler,
        json!({"id": "toolu_01", "name": "current_time", "input": {}}),
    )
    .await;
    assert!(error_text(&wrong.expect("a tool call")).starts_with("This is the `calculate` tool"));
}

#[tokio::test]
async fn a_payload_that_is_not_a_tool_call_fails_the_task_with_a_named_error() {
    let handler = ToolHandler::new(CurrentTime::new());
    let error = handle(&handler, json!({"question": "hi"}))
        .await
        .expect_err("not a call");
    let diagnostic: lambda_runtime::Diagnostic = error.into();
    assert_eq!(diagnostic.error_type, INVALID_PAYLOAD);
    assert!(diagnostic.error_message.contains("missing field `id`"));
}

/// Inputs a new user (or a confused model) might send; each must be an error result.
fn adversarial_inputs() -> Vec<(&'static str, Value)> {
    let deep = (0..200).fold(json!("Boston"), |inner, _| json!([inner]));
    let deep_object = (0..200).fold(json!(1), |inner, _| json!({"a": inner}));
    vec![
        ("get_weather", json!({"places": []})),
        ("get_weather", json!({"places": [""]})),
        (
            "get_weather",
            json!({"places": ["a", "b", "c", "d", "e", "f"]}),
        ),
        ("get_weather", json!({"places": ["x".repeat(100_000)]})),
        ("get_weather", json!({"places": deep})),
        (
            "get_weather",
            json!({"places": ["Boston"], "forecast_days": 1e300}),
        ),
        (
            "get_weather",
            json!({"places": ["Boston"], "forecast_days": -1}),
        ),
        (
            "get_weather",
            json!({"places": ["Boston"], "forecast_days": 2.5}),
        ),
        (
            "get_weather",
            json!({"places": ["Boston"], "units": "kelvin"}),
        ),
        ("get_weather", deep_object.clone()),
        ("calculate", json!({"expression": ""})),
        ("calculate", json!({"expression": "9".repeat(10_000)})),
        (
            "calculate",
            json!({"expression": format!("{}1{}", "(".repeat(400), ")".repeat(400))}),
        ),
        ("calculate", json!({"expression": "1e308 * 10"})),
        (
            "calculate",
            json!({"expression": "99999999999999999999999^99999"}),
        ),
        ("calculate", json!({"expression": "😀 + 1"})),
        ("calculate", json!({"expression": "٣ + ٤"})),
        (
            "calculate",
            json!({"expression": "__import__('os').system('ls')"}),
        ),
        ("calculate", json!({"expression": "1/0"})),
        ("calculate", json!({"expression": ["1+1"]})),
        (
            "convert_currency",
            json!({"amount": f64::MAX, "from": "USD", "to": "EUR"}),
        ),
        (
            "convert_currency",
            json!({"amount": 10, "from": "", "to": "EUR"}),
        ),
        (
            "convert_currency",
            json!({"amount": 10, "from": "€", "to": "EUR"}),
        ),
        ("convert_currency", json!({"amount": 10, "from": "USD"})),
        ("current_time", json!({"time_zone": ""})),
        ("current_time", json!({"time_zone": "Ünïcödé/Zone"})),
        ("current_time", json!({"time_zone": "x".repeat(1_000_000)})),
        (
            "current_time",
            json!({"time_zone": "Europe/Paris", "format": "12h"}),
        ),
        ("current_time", deep_object),
    ]
}

#[tokio::test]
async fn adversarial_inputs_are_error_results() {
    let server = MockServer::start().await;
    let tools = toolbox(&server.uri());
    for (name, input) in adversarial_inputs() {
        let result = tools.call(ToolCall {
            id: "toolu_01".into(),
            name: name.into(),
            input: input.clone(),
        });
        let result = result.await;
        let shown: String = input.to_string().chars().take(80).collect();
        assert!(result.is_error, "{name} {shown}: {}", result.content);
        assert!(
            result.content.len() < 2_000,
            "{name} {shown}: {} bytes",
            result.content.len()
        );
    }
    // None of them got as far as a request.
    assert!(
        server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
}
