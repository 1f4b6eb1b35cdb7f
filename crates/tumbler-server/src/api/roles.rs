//! Roles: list, create custom ones, require MFA, delete.

use crate::api::json_body::JsonBody;
use crate::api::Page;
use crate::error::ApiError;
use crate::middleware::auth::{Caller, Origin};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use tumbler_api_types::roles::{CreateRole, RoleMfa, RoleOut};
use tumbler_domain::permission::Permission;

/// Every role, and the list of permissions roles are built from.
#[utoipa::path(get, path = "/api/v1/roles", responses((status = 200, description = "Roles", body = Page<RoleOut>), (status = 403)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(p): Caller,
) -> Result<Json<Page<RoleOut>>, ApiError> {
    let page: Page<RoleOut> = state
        .roles
        .list(&p)
        .await?
        .into_iter()
        .map(RoleOut::from)
        .collect();
    Ok(Json(page))
}

/// Creates a custom role.
#[utoipa::path(post, path = "/api/v1/roles", request_body = CreateRole, responses((status = 201, body = RoleOut), (status = 400), (status = 403), (status = 409)))]
pub async fn create(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    JsonBody(req): JsonBody<CreateRole>,
) -> Result<(StatusCode, Json<RoleOut>), ApiError> {
    let permissions = req
        .permissions
        .iter()
        .map(|name| {
            Permission::parse(name)
                .ok_or_else(|| ApiError::bad_request(format!("unknown permission: {name}")))
        })
        .collect::<Result<_, _>>()?;
    let role = state
        .roles
        .create(
            &p,
            &req.name,
            &req.description,
            permissions,
            req.require_mfa,
            &origin,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(role.into())))
}

/// Requires (or stops requiring) MFA for a role.
#[utoipa::path(put, path = "/api/v1/roles/{name}/mfa", params(("name" = String, Path)), request_body = RoleMfa, responses((status = 204), (status = 403), (status = 404)))]
pub async fn set_mfa(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Path(name): Path<String>,
    JsonBody(req): JsonBody<RoleMfa>,
) -> Result<StatusCode, ApiError> {
    state
        .roles
        .set_require_mfa(&p, &name, req.require_mfa, &origin)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes a custom role that nobody holds.
#[utoipa::path(delete, path = "/api/v1/roles/{name}", params(("name" = String, Path)), responses((status = 204), (status = 403), (status = 404), (status = 409)))]
pub async fn delete(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.roles.delete(&p, &name, &origin).await?;
    Ok(StatusCode::NO_CONTENT)
}
