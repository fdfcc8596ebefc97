//! `convert_currency` against a local server speaking Frankfurter's documented shapes.

mod common;

use std::time::Duration;

use common::{call, error_text, fixture, ok_json, toolbox};
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn currencies(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/v1/currencies"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("frankfurter/currencies.json")),
        )
        .mount(server)
        .await;
}

#[tokio::test]
async fn converts_at_the_latest_rate() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/latest"))
        .and(query_param("base", "USD"))
        .and(query_param("symbols", "EUR"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("frankfurter/latest-usd-eur.json")),
        )
        .mount(&server)
        .await;

    let result = toolbox(&server.uri())
        .call(call(
            "convert_currency",
            json!({"amount": 250, "from": "usd", "to": " EUR "}),
        ))
        .await;
    let conversion = ok_json(&result);
    assert_eq!(conversion["from"], "USD");
    assert_eq!(conversion["to"], "EUR");
    assert_eq!(conversion["rate"], 0.9187);
    assert_eq!(conversion["converted"], 229.675);
    assert_eq!(conversion["rate_date"], "2026-11-20");
}

#[tokio::test]
async fn an_unknown_currency_is_named_with_the_known_codes() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/latest"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(fixture("frankfurter/not-found.json")),
        )
        .mount(&server)
        .await;
    currencies(&server).await;

    let result = toolbox(&server.uri())
        .call(call(
            "convert_currency",
            json!({"amount": 10, "from": "USD", "to": "XYZ"}),
        ))
        .await;
    let text = error_text(&result);
    assert!(
        text.starts_with("\"XYZ\" is not a currency with ECB reference rates."),
        "{text}"
    );
    assert!(text.contains("AUD, BGN, BRL"), "{text}");
}

#[tokio::test]
async fn a_currency_to_itself_is_checked_and_needs_no_rate() {
    let server = MockServer::start().await;
    currencies(&server).await;
    let tools = toolbox(&server.uri());
    let result = tools
        .call(call(
            "convert_currency",
            json!({"amount": 12.5, "from": "EUR", "to": "eur"}),
        ))
        .await;
    let conversion = ok_json(&result);
    assert_eq!(conversion["converted"], 12.5);
    assert_eq!(conversion["rate"], 1.0);
    let result = tools
        .call(call(
            "convert_currency",
            json!({"amount": 1, "from": "ABC", "to": "ABC"}),
        ))
        .await;
    assert!(error_text(&result).starts_with("\"ABC\" is not a currency"));
}

#[tokio::test]
async fn codes_that_are_not_codes_are_refused_before_any_request() {
    let server = MockServer::start().await;
    let result = toolbox(&server.uri())
        .call(call(
            "convert_currency",
            json!({"amount": 10, "from": "dollars", "to": "EUR"}),
        ))
        .await;
    let text = error_text(&result);
    assert!(
        text.starts_with("`from` must be a three-letter ISO 4217 currency code"),
        "{text}"
    );
    assert!(
        server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
}

#[tokio::test]
async fn an_upstream_5xx_is_an_outage() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/latest"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let result = toolbox(&server.uri())
        .call(call(
            "convert_currency",
            json!({"amount": 10, "from": "USD", "to": "EUR"}),
        ))
        .await;
    let text = error_text(&result);
    assert!(
        text.starts_with(
            "the Frankfurter exchange-rate service is unavailable right now: it answered HTTP 502."
        ),
        "{text}"
    );
}

#[tokio::test]
async fn an_upstream_timeout_is_an_outage() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/latest"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fixture("frankfurter/latest-usd-eur.json"))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    let result = toolbox(&server.uri())
        .call(call(
            "convert_currency",
            json!({"amount": 10, "from": "USD", "to": "EUR"}),
        ))
        .await;
    assert!(error_text(&result).contains("did not answer within 0.5 s"));
}

#[tokio::test]
async fn amounts_out_of_range_are_refused_by_the_schema() {
    let server = MockServer::start().await;
    let tools = toolbox(&server.uri());
    for amount in [json!(-5), json!(1e300), json!("100"), json!(null)] {
        let result = tools
            .call(call(
                "convert_currency",
                json!({"amount": amount, "from": "USD", "to": "EUR"}),
            ))
            .await;
        let text = error_text(&result);
        assert!(
            text.starts_with("Invalid input for `convert_currency`: `amount`"),
            "{text}"
        );
    }
    assert!(
        server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
}

#[tokio::test]
async fn a_frankfurter_404_everywhere_is_a_misconfigured_service() {
    let server = MockServer::start().await;
    // No mocks: wiremock answers 404 to /v1/latest and /v1/currencies alike.
    let result = toolbox(&server.uri())
        .call(call(
            "convert_currency",
            json!({"amount": 10, "from": "USD", "to": "EUR"}),
        ))
        .await;
    let text = error_text(&result);
    assert!(
        text.starts_with(
            "the Frankfurter exchange-rate service is unavailable right now: it answered 404 Not \
             Found; the service may be misconfigured (FRANKFURTER_URL)."
        ),
        "{text}"
    );
}

#[tokio::test]
async fn a_refused_rate_between_known_currencies_is_not_a_bad_input() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/latest"))
        .respond_with(ResponseTemplate::new(403))
        .mount(&server)
        .await;
    currencies(&server).await;
    let result = toolbox(&server.uri())
        .call(call(
            "convert_currency",
            json!({"amount": 10, "from": "USD", "to": "EUR"}),
        ))
        .await;
    let text = error_text(&result);
    assert!(
        text.contains(
            "it answered 403 Forbidden; the service may be misconfigured (FRANKFURTER_URL)"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn rates_for_another_base_are_never_used() {
    let server = MockServer::start().await;
    // A service that ignores `base` and answers EUR-based rates.
    Mock::given(method("GET"))
        .and(path("/v1/latest"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "amount": 1.0, "base": "EUR", "date": "2026-11-20", "rates": {"GBP": 0.8312}
        })))
        .mount(&server)
        .await;
    let result = toolbox(&server.uri())
        .call(call(
            "convert_currency",
            json!({"amount": 10, "from": "USD", "to": "GBP"}),
        ))
        .await;
    let text = error_text(&result);
    assert!(
        text.contains("it answered with rates for EUR when asked for USD"),
        "{text}"
    );
}
