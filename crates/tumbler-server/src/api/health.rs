//! Liveness, readiness and metrics.

use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;

/// 200 while the process is up.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "The process is up", body = String, content_type = "text/plain")))]
pub async fn healthz() -> &'static str {
    "ok"
}

pub use tumbler_api_types::answers::Readiness;

/// 200 when the store answers, its schema is current and the recovery at start is done,
/// else 503.
#[utoipa::path(get, path = "/readyz", responses((status = 200, description = "Ready", body = Readiness), (status = 503, description = "Not ready", body = Readiness)))]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    // Accounts a killed run left staged are settled before the server says it is ready.
    let recovered = !state.change_secret.recovering_at_start();
    let ready = recovered
        && match state.store.ping().await {
            Ok(()) => {
                state.store.schema_version().await.ok() == Some(state.store.latest_schema_version())
            }
            Err(e) => {
                tracing::warn!(error = %e, "readiness check failed");
                false
            }
        };
    if ready {
        (
            StatusCode::OK,
            Json(Readiness {
                status: "ready".to_owned(),
            }),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Readiness {
                status: "not_ready".to_owned(),
            }),
        )
    }
}

/// Prometheus text metrics.
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text", body = String, content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
