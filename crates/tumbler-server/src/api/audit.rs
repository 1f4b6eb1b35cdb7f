//! The audit log and its chain check.

use crate::api::{page_bounds, Page};
use crate::error::ApiError;
use crate::middleware::auth::Caller;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use tumbler_core::ChainReport;
use tumbler_domain::audit::AuditEvent;
use tumbler_store::AuditFilter;

/// Filters of `GET /api/v1/audit`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    /// Only this action, e.g. `auth.login`.
    pub action: Option<String>,
    /// Only this actor.
    pub actor: Option<String>,
    /// Only this object id.
    pub object_id: Option<String>,
    /// Page size (1 to 1000, default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// Events to skip.
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// Audit events, newest first.
#[utoipa::path(get, path = "/api/v1/audit", params(AuditQuery), responses((status = 200, description = "A page of events", body = Page<tumbler_domain::audit::AuditEvent>), (status = 403)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(p): Caller,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Page<AuditEvent>>, ApiError> {
    let (limit, offset) = page_bounds(q.limit, q.offset);
    let filter = AuditFilter {
        action: q.action,
        actor: q.actor,
        object_id: q.object_id,
        limit,
        offset,
        ..AuditFilter::default()
    };
    let (items, total) = state.audit.list(&p, &filter).await?;
    Ok(Json(Page { items, total }))
}

/// Checks the whole hash chain and reports the first broken link.
#[utoipa::path(get, path = "/api/v1/audit/verify", responses((status = 200, description = "Chain report", body = tumbler_core::audit::ChainReport), (status = 403)))]
pub async fn verify(
    State(state): State<AppState>,
    Caller(p): Caller,
) -> Result<Json<ChainReport>, ApiError> {
    Ok(Json(state.audit.verify_as(&p).await?))
}
