//! A panic in a request handler becomes a logged, counted 500 JSON error carrying the request
//! id, never a dropped connection. The panic's message is never logged: a panic such as a
//! string slice out of bounds quotes the text it sliced, which may be a secret. Only where it
//! happened (the panic hook) and what type the payload had are logged.

use crate::error::ApiError;
use crate::state::AppState;
use crate::REQUEST_ID_HEADER;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::FutureExt;
use std::panic::AssertUnwindSafe;

/// Runs the rest of the stack and turns a panic into `500 internal_error`.
pub async fn catch_panic(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let request_id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    match AssertUnwindSafe(next.run(req)).catch_unwind().await {
        Ok(res) => res,
        Err(panic) => {
            // The payload's type only, never its text (`panic payload redacted`).
            let payload = if panic.is::<&str>() || panic.is::<String>() {
                "message"
            } else {
                "other"
            };
            tracing::error!(
                request_id = %request_id,
                payload,
                "a request handler panicked (panic payload redacted)"
            );
            state.metrics.record_panic();
            let mut err = ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                format!("internal error; see the server log (request id {request_id})"),
            );
            err.details = Some(serde_json::json!({ "request_id": request_id }));
            err.into_response()
        }
    }
}

/// Replaces the process's panic hook (which prints the panic message to stderr) with one
/// that logs only where the panic happened and which thread it was on, the message redacted.
/// Called once by the server binary; the request id of a handler's panic is logged by
/// [`catch_panic`].
pub fn install_redacting_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_else(|| "(unknown)".to_owned());
        let thread = std::thread::current();
        tracing::error!(
            %location,
            thread = thread.name().unwrap_or("(unnamed)"),
            "panicked (panic payload redacted)"
        );
    }));
}

/// A route that panics, to prove the layer above (debug test builds with the `test-panic`
/// feature only; it does not exist in release builds).
#[cfg(all(debug_assertions, feature = "test-panic"))]
pub async fn panic_for_test() -> Response {
    panic!("the test-only panic route was called")
}
