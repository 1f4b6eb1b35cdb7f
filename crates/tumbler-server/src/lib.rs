//! Tumbler's HTTP server: the JSON API and its OpenAPI document (`api`), the console (`ui`),
//! request middleware, configuration, metrics, long-lived answer limits (`streams`), and the
//! start-up sequence shared by `tumbler serve` and the test kit.

pub mod api;
pub mod config;
mod error;
pub mod metrics;
pub mod middleware;
mod serve;
mod session_cookie;
mod startup;
pub mod state;
pub mod streams;
mod ui;

/// The console's form routes, for the test that posts to each without a CSRF token.
pub use ui::{console_page_paths, console_post_paths};

pub use config::Config;
pub use error::ApiError;
pub use serve::{start, RunningServer, ServeError};
pub use startup::{
    journal_settings, master_key_source, open_audit_readonly, open_services, open_store, Services,
    StartupError,
};

use axum::http::{HeaderName, Request};
use axum::Router;
use state::AppState;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// Header carrying the request id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The whole application: API, console, middleware.
pub fn app(state: AppState) -> Router {
    let request_id = HeaderName::from_static(REQUEST_ID_HEADER);
    let router = Router::new().merge(api::routes()).merge(ui::routes());
    #[cfg(all(debug_assertions, feature = "test-panic"))]
    let router = router.route(
        "/api/v1/test-only/panic",
        axum::routing::get(middleware::catch_panic::panic_for_test),
    );
    router
        .fallback(|| async { ApiError::not_found() })
        .layer(axum::middleware::from_fn(
            middleware::error_shape::json_errors,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::catch_panic::catch_panic,
        ))
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::headers::security_headers))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req
                .headers()
                .get(REQUEST_ID_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}
