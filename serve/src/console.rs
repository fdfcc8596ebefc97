//! The console: one page (HTML, CSS and JavaScript compiled into the binary) that reads the
//! same API the SDKs call, and the graph of a state machine, laid out here from the `asl` types.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::service::Service;

/// The page.
pub(crate) async fn page() -> Html<&'static str> {
    Html(include_str!("console/index.html"))
}

/// The page's script and style sheet.
pub(crate) async fn asset(Path(asset): Path<String>) -> Response {
    let (body, kind) = match asset.as_str() {
        "console.js" => (
            include_str!("console/console.js"),
            "text/javascript; charset=utf-8",
        ),
        "console.css" => (
            include_str!("console/console.css"),
            "text/css; charset=utf-8",
        ),
        _ => return (StatusCode::NOT_FOUND, "no such file").into_response(),
    };
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

/// The graph of the state machine `name`, laid out ([`crate::graph`]), as JSON.
pub(crate) async fn graph(
    State(service): State<Arc<Service>>,
    Path(name): Path<String>,
) -> Response {
    let arn = service.config.arns.state_machine(&name);
    let machine = match service.store.machine(&arn) {
        Ok(Some(machine)) => machine,
        Ok(None) => return (StatusCode::NOT_FOUND, "no such state machine").into_response(),
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.message).into_response(),
    };
    match asl::StateMachine::from_json(&machine.definition) {
        Ok(parsed) => {
            let graph = crate::graph::layout(&parsed.start_at, &parsed.states);
            let body = serde_json::to_string(&graph).unwrap_or_default();
            ([(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, e.message).into_response(),
    }
}
