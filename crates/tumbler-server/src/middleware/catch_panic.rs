//! A panic in a request handler becomes a logged, counted 500 JSON error carrying the request
//! id, never a dropped connection.

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
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(no message)".to_owned());
            tracing::error!(request_id = %request_id, panic = %what, "a request handler panicked");
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

/// A route that panics, to prove the layer above (debug test builds with the `test-panic`
/// feature only; it does not exist in release builds).
#[cfg(all(debug_assertions, feature = "test-panic"))]
pub async fn panic_for_test() -> Response {
    panic!("the test-only panic route was called")
}
