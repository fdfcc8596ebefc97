//! The console: one page (HTML, CSS and JavaScript compiled into the binary) that reads the
//! same API the SDKs call.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

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
