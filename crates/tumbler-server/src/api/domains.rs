//! Domains and the caller's domain choices.

use crate::api::json_body::JsonBody;
use crate::api::Page;
use crate::error::ApiError;
use crate::middleware::auth::{Caller, Origin};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use tumbler_api_types::domains::{CreateDomain, DomainOut};
use tumbler_domain::ids::DomainId;
use tumbler_store::DomainRow;

/// A stored domain as the API shows it.
fn domain_out(d: DomainRow) -> DomainOut {
    DomainOut {
        id: d.id.to_string(),
        name: d.name,
        description: d.description,
    }
}

/// Every domain (with the permission to manage users), else the caller's own.
#[utoipa::path(get, path = "/api/v1/domains", responses((status = 200, description = "Domains", body = Page<DomainOut>)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(p): Caller,
) -> Result<Json<Page<DomainOut>>, ApiError> {
    let page: Page<DomainOut> = state
        .domains
        .list(&p)
        .await?
        .into_iter()
        .map(domain_out)
        .collect();
    Ok(Json(page))
}

/// Creates a domain.
#[utoipa::path(post, path = "/api/v1/domains", request_body = CreateDomain, responses((status = 201, body = DomainOut), (status = 403), (status = 409)))]
pub async fn create(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    JsonBody(req): JsonBody<CreateDomain>,
) -> Result<(StatusCode, Json<DomainOut>), ApiError> {
    let d = state
        .domains
        .create(&p, &req.name, &req.description, &origin)
        .await?;
    Ok((StatusCode::CREATED, Json(domain_out(d))))
}

/// Deletes a domain nobody belongs to.
#[utoipa::path(delete, path = "/api/v1/domains/{id}", params(("id" = String, Path)), responses((status = 204), (status = 403), (status = 404), (status = 409)))]
pub async fn delete(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Path(id): Path<DomainId>,
) -> Result<StatusCode, ApiError> {
    state.domains.delete(&p, &id, &origin).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/v1/users/me/active-domain` body.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct ActiveDomain {
    /// Name of one of the caller's domains.
    pub domain: String,
}

/// Chooses the session's active domain.
#[utoipa::path(put, path = "/api/v1/users/me/active-domain", request_body = ActiveDomain, responses((status = 204), (status = 400), (status = 403)))]
pub async fn set_active(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    JsonBody(req): JsonBody<ActiveDomain>,
) -> Result<StatusCode, ApiError> {
    state
        .domains
        .choose_active(&p, &req.domain, &origin)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/v1/users/me/object-visibility` body.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct ObjectVisibility {
    /// "Manage objects from all assigned domains".
    pub all_domains: bool,
}

/// Sets "Manage objects from all assigned domains".
#[utoipa::path(put, path = "/api/v1/users/me/object-visibility", request_body = ObjectVisibility, responses((status = 204)))]
pub async fn set_visibility(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    JsonBody(req): JsonBody<ObjectVisibility>,
) -> Result<StatusCode, ApiError> {
    state
        .domains
        .set_all_domains(&p, req.all_domains, &origin)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
