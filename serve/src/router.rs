//! The HTTP routes: `POST /` is the Step Functions API (AWS JSON 1.0); `GET /` and `/console/…`
//! are the console.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::error::ApiError;
use crate::protocol::MAX_BODY;
use crate::service::Service;

/// The content type of AWS JSON 1.0 requests and answers.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// The routes of the service.
pub fn router(service: Arc<Service>) -> Router {
    Router::new()
        .route("/", post(api).get(crate::console::page))
        .route(
            "/console/{asset}",
            axum::routing::get(crate::console::asset),
        )
        .route(
            "/console/graph/{name}",
            axum::routing::get(crate::console::graph),
        )
        .with_state(service)
}

/// One API call: the action from `X-Amz-Target`, the members from the body.
async fn api(State(service): State<Arc<Service>>, headers: HeaderMap, body: Body) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let result = match to_bytes(body, MAX_BODY).await {
        Ok(bytes) => service.call(&target, &bytes).await,
        Err(_) => Err(ApiError::validation(format!(
            "the request body is larger than {MAX_BODY} bytes, or could not be read"
        ))),
    };
    let (status, body) = match result {
        Ok(value) => (axum::http::StatusCode::OK, value),
        Err(error) => (error.status(), error.body()),
    };
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}
