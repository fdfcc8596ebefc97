//! `get_weather` against a local server speaking Open-Meteo's documented shapes.

mod common;

use std::time::Duration;

use common::{call, error_text, fixture, ok_json, toolbox};
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn geocoding(server: &MockServer, name: &str, file: &str) {
    Mock::given(method("GET"))
        .and(path("/v1/search"))
        .and(query_param("name", name))
        .and(query_param("language", "en"))
        .and(query_param("format", "json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fixture(file)))
        .mount(server)
        .await;
}

async fn forecast(server: &MockServer, latitude: &str, units: Option<&str>, file: &str) {
    let mut mock = Mock::given(method("GET"))
        .and(path("/v1/forecast"))
        .and(query_param("latitude", latitude))
        .and(query_param("timezone", "auto"))
        .and(query_param(
            "current",
            "temperature_2m,apparent_temperature,relative_humidity_2m,precipitation,weather_code,wind_speed_10m",
        ))
        .and(query_param(
            "daily",
            "weather_code,temperature_2m_max,temperature_2m_min,precipitation_sum,precipitation_probability_max",
        ));
    if let Some(unit) = units {
        mock = mock
            .and(query_param("temperature_unit", unit))
            .and(query_param("wind_speed_unit", "mph"))
            .and(query_param("precipitation_unit", "inch"));
    }
    mock.respond_with(ResponseTemplate::new(200).set_body_json(fixture(file)))
        .mount(server)
        .await;
}

#[tokio::test]
async fn reports_several_places_in_one_call() {
    let server = MockServer::start().await;
    geocoding(&server, "Boston", "open-meteo/geocoding-boston.json").await;
    geocoding(&server, "Seattle", "open-meteo/geocoding-seattle.json").await;
    forecast(
        &server,
        "42.35843",
        None,
        "open-meteo/forecast-seattle-metric.json",
    )
    .await;
    forecast(
        &server,
        "47.60621",
        None,
        "open-meteo/forecast-seattle-metric.json",
    )
    .await;

    let result = toolbox(&server.uri())
        .call(call(
            "get_weather",
            json!({"places": ["Boston", "Seattle"]}),
        ))
        .await;
    let report = ok_json(&result);
    let places = report["places"].as_array().expect("places");
    assert_eq!(places.len(), 2);
    assert_eq!(places[0]["query"], "Boston");
    assert_eq!(places[0]["place"], "Boston, Massachusetts, United States");
    assert_eq!(places[1]["place"], "Seattle, Washington, United States");
    assert_eq!(places[1]["current"]["conditions"], "Moderate rain");
    assert_eq!(places[1]["current"]["temperature"], 8.4);
    assert_eq!(places[1]["units"]["temperature"], "°C");
    assert_eq!(places[1]["forecast"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        places[1]["forecast"][0]["precipitation_probability_percent"],
        95.0
    );
}

#[tokio::test]
async fn imperial_units_are_asked_for_and_reported() {
    let server = MockServer::start().await;
    geocoding(&server, "Boston", "open-meteo/geocoding-boston.json").await;
    forecast(
        &server,
        "42.35843",
        Some("fahrenheit"),
        "open-meteo/forecast-boston-imperial.json",
    )
    .await;

    let result = toolbox(&server.uri())
        .call(call(
            "get_weather",
            json!({"places": ["Boston"], "units": "imperial", "forecast_days": 3}),
        ))
        .await;
    let report = ok_json(&result);
    let boston = &report["places"][0];
    assert_eq!(boston["units"]["temperature"], "°F");
    assert_eq!(boston["units"]["wind_speed"], "mp/h");
    assert_eq!(boston["current"]["feels_like"], 33.9);
    assert_eq!(boston["forecast"][1]["conditions"], "Slight rain");
    assert_eq!(boston["forecast"][2]["temperature_min"], json!(null));
    assert_eq!(boston["timezone"], "America/New_York");
}

#[tokio::test]
async fn a_region_after_a_comma_picks_the_right_place() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/search"))
        .and(query_param("name", "Springfield"))
        .and(query_param("count", "10"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fixture("open-meteo/geocoding-springfield.json")),
        )
        .mount(&server)
        .await;
    forecast(
        &server,
        "39.80172",
        None,
        "open-meteo/forecast-seattle-metric.json",
    )
    .await;

    let result = toolbox(&server.uri())
        .call(call(
            "get_weather",
            json!({"places": ["Springfield, Illinois"]}),
        ))
        .await;
    let report = ok_json(&result);
    assert_eq!(
        report["places"][0]["place"],
        "Springfield, Illinois, United States"
    );
}

#[tokio::test]
async fn an_unknown_place_is_a_clear_error() {
    let server = MockServer::start().await;
    geocoding(&server, "Boston", "open-meteo/geocoding-boston.json").await;
    geocoding(&server, "Atlantis", "open-meteo/geocoding-empty.json").await;
    forecast(
        &server,
        "42.35843",
        None,
        "open-meteo/forecast-seattle-metric.json",
    )
    .await;

    let result = toolbox(&server.uri())
        .call(call(
            "get_weather",
            json!({"places": ["Boston", "Atlantis"]}),
        ))
        .await;
    let text = error_text(&result);
    assert!(
        text.starts_with("No place named \"Atlantis\" was found."),
        "{text}"
    );
    assert!(text.contains("(\"Boston\" was found.)"), "{text}");
    assert!(text.contains("call `get_weather` again"), "{text}");
}

#[tokio::test]
async fn an_upstream_5xx_is_an_outage_not_a_bad_input() {
    let server = MockServer::start().await;
    geocoding(&server, "Boston", "open-meteo/geocoding-boston.json").await;
    Mock::given(method("GET"))
        .and(path("/v1/forecast"))
        .respond_with(ResponseTemplate::new(503).set_body_string("Service Unavailable"))
        .mount(&server)
        .await;

    let result = toolbox(&server.uri())
        .call(call("get_weather", json!({"places": ["Boston"]})))
        .await;
    let text = error_text(&result);
    assert!(
        text.starts_with(
            "the Open-Meteo weather service is unavailable right now: it answered HTTP 503."
        ),
        "{text}"
    );
    assert!(text.contains("not a problem with your input"), "{text}");
}

#[tokio::test]
async fn an_upstream_timeout_is_an_outage() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/search"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fixture("open-meteo/geocoding-boston.json"))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;

    let result = toolbox(&server.uri())
        .call(call("get_weather", json!({"places": ["Boston"]})))
        .await;
    let text = error_text(&result);
    assert!(
        text.starts_with("the Open-Meteo geocoding service is unavailable right now: it did not answer within 0.5 s"),
        "{text}"
    );
}

#[tokio::test]
async fn a_refused_forecast_request_reports_the_reason() {
    let server = MockServer::start().await;
    geocoding(&server, "Boston", "open-meteo/geocoding-boston.json").await;
    Mock::given(method("GET"))
        .and(path("/v1/forecast"))
        .respond_with(ResponseTemplate::new(400).set_body_json(fixture("open-meteo/error.json")))
        .mount(&server)
        .await;

    let result = toolbox(&server.uri())
        .call(call("get_weather", json!({"places": ["Boston"]})))
        .await;
    let text = error_text(&result);
    assert!(
        text.contains("HTTP 400: Cannot initialize WeatherVariable"),
        "{text}"
    );
}

#[tokio::test]
async fn an_unreadable_answer_is_an_outage() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/search"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>gateway</html>"))
        .mount(&server)
        .await;

    let result = toolbox(&server.uri())
        .call(call("get_weather", json!({"places": ["Boston"]})))
        .await;
    let text = error_text(&result);
    assert!(text.contains("could not read"), "{text}");
}

#[tokio::test]
async fn a_one_letter_place_is_unknown_without_asking_the_service() {
    // No mocks: any request would get wiremock's 404 and fail differently.
    let server = MockServer::start().await;
    let result = toolbox(&server.uri())
        .call(call("get_weather", json!({"places": ["X"]})))
        .await;
    assert!(error_text(&result).starts_with("No place named \"X\""));
    assert!(
        server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
}

#[tokio::test]
async fn a_geocoding_404_is_a_misconfigured_service_not_an_unknown_place() {
    for status in [404, 401, 403] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v1/search"))
            .respond_with(ResponseTemplate::new(status).set_body_string("Not Found"))
            .mount(&server)
            .await;
        let result = toolbox(&server.uri())
            .call(call("get_weather", json!({"places": ["Boston"]})))
            .await;
        let text = error_text(&result);
        assert!(!text.contains("No place named"), "{status}: {text}");
        assert!(
            text.starts_with(
                "the Open-Meteo geocoding service is unavailable right now: it answered"
            ),
            "{status}: {text}"
        );
        assert!(
            text.contains("the service may be misconfigured (OPEN_METEO_GEOCODING_URL)"),
            "{status}: {text}"
        );
    }
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/search"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let result = toolbox(&server.uri())
        .call(call("get_weather", json!({"places": ["Boston"]})))
        .await;
    assert!(
        error_text(&result).contains("it answered 404 Not Found; the service may be misconfigured"),
        "{}",
        error_text(&result)
    );
}

#[tokio::test]
async fn a_documented_geocoding_refusal_reports_its_reason() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/search"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(fixture("open-meteo/geocoding-error.json")),
        )
        .mount(&server)
        .await;
    let result = toolbox(&server.uri())
        .call(call("get_weather", json!({"places": ["Boston"]})))
        .await;
    let text = error_text(&result);
    assert!(!text.contains("No place named"), "{text}");
    assert!(
        text.starts_with("The Open-Meteo geocoding service refused to look up \"Boston\" (HTTP 400: Parameter count must be between 1 and 100.)"),
        "{text}"
    );
}

#[tokio::test]
async fn a_forecast_404_is_a_misconfigured_service() {
    let server = MockServer::start().await;
    geocoding(&server, "Boston", "open-meteo/geocoding-boston.json").await;
    Mock::given(method("GET"))
        .and(path("/v1/forecast"))
        .respond_with(ResponseTemplate::new(404).set_body_string("<html>Not Found</html>"))
        .mount(&server)
        .await;
    let result = toolbox(&server.uri())
        .call(call("get_weather", json!({"places": ["Boston"]})))
        .await;
    let text = error_text(&result);
    assert!(
        text.starts_with(
            "the Open-Meteo weather service is unavailable right now: it answered 404 Not Found; \
             the service may be misconfigured (OPEN_METEO_FORECAST_URL)."
        ),
        "{text}"
    );
}
