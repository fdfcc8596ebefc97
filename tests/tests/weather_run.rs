//! The weather agent end to end with the real `get_weather` tool, against a local server that
//! answers with Open-Meteo's documented shapes (the tool crate's fixtures).

use std::sync::Arc;

use agent_builder::Provider;
use e2e_tests::{question, run_with, scripted, turn};
use llm_lambdas::MemoryStore;
use serde_json::{Value, json};
use sfn_agent_tool::Toolbox;
use stock_tools::ToolsConfig;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn fixture(name: &str) -> Value {
    let file = format!(
        "{}/../stock-tools/tests/fixtures/open-meteo/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&file).expect("fixture")).expect("json")
}

async fn open_meteo() -> MockServer {
    let server = MockServer::start().await;
    for (city, file) in [
        ("Boston", "geocoding-boston.json"),
        ("Seattle", "geocoding-seattle.json"),
    ] {
        Mock::given(method("GET"))
            .and(path("/v1/search"))
            .and(query_param("name", city))
            .respond_with(ResponseTemplate::new(200).set_body_json(fixture(file)))
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/v1/forecast"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("forecast-seattle-metric.json")),
        )
        .mount(&server)
        .await;
    server
}

fn toolbox(uri: &str) -> Toolbox {
    let config = ToolsConfig::from_lookup(|name| match name {
        "OPEN_METEO_GEOCODING_URL" | "OPEN_METEO_FORECAST_URL" => Some(uri.to_owned()),
        _ => None,
    })
    .expect("config");
    stock_tools::toolbox(&config).expect("toolbox")
}

#[tokio::test]
async fn the_weather_agent_looks_up_two_places_in_one_call() {
    let server = open_meteo().await;
    let model = scripted(
        vec![
            turn(
                "Checking both.",
                &[("get_weather", json!({"places": ["Boston", "Seattle"]}))],
            ),
            turn("Take a jacket in both.", &[]),
        ],
        Provider::Anthropic,
    );
    let agent = state_machines::agent("weather").expect("agent");
    let run = run_with(
        &agent,
        model,
        Arc::new(MemoryStore::new()),
        toolbox(&server.uri()),
        question("Jacket?"),
        |_| {},
    )
    .await;
    assert_eq!(run.output()["answer"], "Take a jacket in both.");
    let (name, result) = &run.tool_results[0];
    assert_eq!(name, "get_weather");
    assert!(!result.is_error, "{}", result.content);
    assert!(
        result.content.contains("Boston") && result.content.contains("Seattle"),
        "{}",
        result.content
    );
}

#[tokio::test]
async fn an_unknown_place_and_an_outage_are_error_results_the_model_can_act_on() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/search"))
        .and(query_param("name", "Atlantis"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture("geocoding-empty.json")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/search"))
        .and(query_param("name", "Paris"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let model = scripted(
        vec![
            turn(
                "Looking.",
                &[
                    ("get_weather", json!({"places": ["Atlantis"]})),
                    ("get_weather", json!({"places": ["Paris"]})),
                ],
            ),
            turn(
                "I could not find Atlantis, and the weather service is down for Paris.",
                &[],
            ),
        ],
        Provider::Anthropic,
    );
    let agent = state_machines::agent("weather").expect("agent");
    let run = run_with(
        &agent,
        model,
        Arc::new(MemoryStore::new()),
        toolbox(&server.uri()),
        question("Atlantis and Paris?"),
        |_| {},
    )
    .await;
    run.output();
    assert_eq!(run.tool_results.len(), 2);
    for (_, result) in &run.tool_results {
        assert!(result.is_error, "{}", result.content);
    }
    let texts: Vec<&str> = run
        .tool_results
        .iter()
        .map(|(_, r)| r.content.as_str())
        .collect();
    assert!(texts.iter().any(|t| t.contains("Atlantis")), "{texts:?}");
}
