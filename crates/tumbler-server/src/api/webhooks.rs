//! Webhooks (administrators): list, create (the signing secret is in this answer only),
//! delete.

use crate::api::json_body::JsonBody;
use crate::error::ApiError;
use crate::middleware::auth::{Caller, Origin};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use secrecy::ExposeSecret;
use tumbler_api_types::webhooks::{WebhookCreated, WebhookIn, WebhookView};
use tumbler_core::webhooks as core;
use tumbler_domain::ids::WebhookId;

/// The API view of a webhook.
fn webhook_view(w: core::WebhookView) -> WebhookView {
    WebhookView {
        id: w.id,
        url: w.url,
        created_by: w.created_by,
        created_at: w.created_at,
    }
}

/// Every webhook (never a secret).
#[utoipa::path(get, path = "/api/v1/webhooks", responses((status = 200, description = "The webhooks", body = Vec<WebhookView>), (status = 403)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(p): Caller,
) -> Result<Json<Vec<WebhookView>>, ApiError> {
    Ok(Json(
        state
            .webhooks
            .list(&p)
            .await?
            .into_iter()
            .map(webhook_view)
            .collect(),
    ))
}

/// Adds a webhook; the answer holds its signing secret, shown this once.
#[utoipa::path(post, path = "/api/v1/webhooks", request_body = WebhookIn, responses((status = 201, description = "The webhook and its secret", body = WebhookCreated), (status = 400), (status = 403)))]
pub async fn create(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    JsonBody(input): JsonBody<WebhookIn>,
) -> Result<Response, ApiError> {
    let created = state.webhooks.create(&p, &input.url, &origin).await?;
    let body = WebhookCreated {
        webhook: webhook_view(created.webhook),
        secret: created.secret.expose_secret().to_owned(),
    };
    // Through `Value`, whose keys are sorted: the answer's bytes are as they always were.
    let body = serde_json::to_value(body).map_err(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "internal error",
        )
    })?;
    let mut res = (StatusCode::CREATED, Json(body)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// Removes a webhook.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", params(("id" = String, Path)), responses((status = 204), (status = 403), (status = 404)))]
pub async fn delete(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Path(id): Path<WebhookId>,
) -> Result<StatusCode, ApiError> {
    state.webhooks.delete(&p, &id, &origin).await?;
    Ok(StatusCode::NO_CONTENT)
}
