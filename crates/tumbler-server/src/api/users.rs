//! Users: list, create (temporary password shown once), read, edit, delete, unlock, sessions.

use crate::api::json_body::JsonBody;
use crate::api::{page_bounds, Page};
use crate::error::ApiError;
use crate::middleware::auth::{AnyCaller, Caller, Origin};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tumbler_api_types::users::PatchUser;
use tumbler_core::users::{NewUserRequest, UserEdit, UserSummary};
use tumbler_core::Reauthentication;
use tumbler_domain::ids::{SessionId, UserId};
use tumbler_domain::password_status::PasswordStatus;
use tumbler_domain::user::{UserKind, UserStatus};
use tumbler_store::{SessionRow, UserChanges, UserFilter};

pub use tumbler_api_types::users::{CreateUser, CreatedUserOut, SessionOut, UserOut};

/// The API view of a user.
pub(crate) fn user_out(s: UserSummary) -> UserOut {
    let u = s.user;
    UserOut {
        user: super::auth::user_view(&u),
        password_status: s.password_status,
        locked_out: s.locked_until.is_some(),
        locked_until: s.locked_until,
        domains: s.domains,
        created_at: u.created_at,
    }
}

/// Filters of `GET /api/v1/users`.
#[derive(Deserialize, utoipa::IntoParams)]
pub struct UserQuery {
    /// `enabled` or `disabled`.
    #[param(value_type = Option<tumbler_domain::user::UserStatus>)]
    pub status: Option<String>,
    /// `local` or `remote`.
    #[serde(rename = "type")]
    #[param(value_type = Option<tumbler_domain::user::UserKind>)]
    pub kind: Option<String>,
    /// Part of the username or display name.
    pub q: Option<String>,
    /// Only users whose password is in this state (see `password_status`).
    #[param(value_type = Option<PasswordStatus>)]
    pub password_status: Option<String>,
    /// Page size (1 to 1000, default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// Rows to skip.
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

fn parse<T>(
    value: Option<&str>,
    parse: fn(&str) -> Option<T>,
    what: &str,
) -> Result<Option<T>, ApiError> {
    value
        .map(|v| parse(v).ok_or_else(|| ApiError::bad_request(format!("unknown {what}: {v}"))))
        .transpose()
}

/// Users, by username.
#[utoipa::path(get, path = "/api/v1/users", params(UserQuery), responses((status = 200, description = "A page of users", body = Page<UserOut>), (status = 403)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(p): Caller,
    Query(q): Query<UserQuery>,
) -> Result<Json<Page<UserOut>>, ApiError> {
    let (limit, offset) = page_bounds(q.limit, q.offset);
    let filter = UserFilter {
        status: parse(q.status.as_deref(), UserStatus::parse, "status")?,
        kind: parse(q.kind.as_deref(), UserKind::parse, "type")?,
        search: q.q.filter(|s| !s.trim().is_empty()),
        password_status: parse(
            q.password_status.as_deref(),
            PasswordStatus::parse,
            "password_status",
        )?,
        limit,
        offset,
        ..UserFilter::default()
    };
    let (items, total) = state.users.list(&p, &filter).await?;
    Ok(Json(Page {
        items: items.into_iter().map(user_out).collect(),
        total,
    }))
}

/// The caller's re-authentication from a request body.
fn proof(current_password: Option<String>, totp: Option<String>) -> Reauthentication {
    Reauthentication {
        current_password: current_password.map(SecretString::from),
        totp,
    }
}

/// Creates a user; the caller proves again who they are (`current_password` or `totp`;
/// `403 reauthentication_required` without).
#[utoipa::path(post, path = "/api/v1/users", request_body = CreateUser, responses((status = 201, body = CreatedUserOut), (status = 400), (status = 401), (status = 403), (status = 409)))]
pub async fn create(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    JsonBody(req): JsonBody<CreateUser>,
) -> Result<(StatusCode, Json<CreatedUserOut>), ApiError> {
    let kind = parse(req.kind.as_deref(), UserKind::parse, "type")?.unwrap_or(UserKind::Local);
    let proof = proof(req.current_password, req.totp);
    let created = state
        .users
        .create(
            &state.auth,
            &p,
            NewUserRequest {
                username: req.username,
                display_name: req.display_name,
                email: req.email,
                kind,
                roles: req.roles,
                domains: req.domains,
            },
            proof,
            &origin,
        )
        .await?;
    let summary = state.users.get(&p, &created.user.id).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedUserOut {
            user: user_out(summary),
            temporary_password: created
                .temporary_password
                .map(|pw| pw.expose_secret().to_owned()),
        }),
    ))
}

/// One user.
#[utoipa::path(get, path = "/api/v1/users/{id}", params(("id" = String, Path)), responses((status = 200, body = UserOut), (status = 404)))]
pub async fn get(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<UserId>,
) -> Result<Json<UserOut>, ApiError> {
    Ok(Json(user_out(state.users.get(&p, &id).await?)))
}

/// Changes a user; a change that could give access (roles, a domain added, enabling) needs
/// `current_password` or `totp` (`403 reauthentication_required` without).
#[utoipa::path(patch, path = "/api/v1/users/{id}", params(("id" = String, Path)), request_body = PatchUser, responses((status = 200, body = UserOut), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409)))]
pub async fn patch(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Path(id): Path<UserId>,
    JsonBody(req): JsonBody<PatchUser>,
) -> Result<Json<UserOut>, ApiError> {
    let changes = UserChanges {
        display_name: req
            .display_name
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty()),
        email: req.email,
        roles: req.roles,
        status: parse(req.status.as_deref(), UserStatus::parse, "status")?,
        domains: None,
    };
    let edit = UserEdit {
        changes,
        domains: req.domains,
        proof: proof(req.current_password, req.totp),
    };
    Ok(Json(user_out(
        state
            .users
            .update(&state.auth, &p, &id, edit, &origin)
            .await?,
    )))
}

/// Deletes a user.
#[utoipa::path(delete, path = "/api/v1/users/{id}", params(("id" = String, Path)), responses((status = 204), (status = 403), (status = 404), (status = 409)))]
pub async fn delete(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Path(id): Path<UserId>,
) -> Result<StatusCode, ApiError> {
    state.users.delete(&p, &id, &origin).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lifts a lockout.
#[utoipa::path(post, path = "/api/v1/users/{id}/unlock", params(("id" = String, Path)), responses((status = 204), (status = 403), (status = 404)))]
pub async fn unlock(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Path(id): Path<UserId>,
) -> Result<StatusCode, ApiError> {
    state.users.unlock(&p, &id, &origin).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn sessions_out(rows: Vec<SessionRow>, current: Option<&SessionId>) -> Page<SessionOut> {
    rows.into_iter()
        .map(|s| SessionOut {
            current: Some(&s.id) == current,
            id: s.id.to_string(),
            source: s.source,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            expires_at: s.expires_at,
        })
        .collect()
}

fn current_session(p: &tumbler_core::Principal) -> Option<&SessionId> {
    match &p.method {
        tumbler_core::AuthMethod::Session { id, .. } => Some(id),
        _ => None,
    }
}

/// The caller's own sessions.
#[utoipa::path(get, path = "/api/v1/users/me/sessions", responses((status = 200, description = "The caller's sessions", body = Page<SessionOut>)))]
pub async fn my_sessions(
    State(state): State<AppState>,
    AnyCaller(p): AnyCaller,
) -> Result<Json<Page<SessionOut>>, ApiError> {
    let rows = state.users.sessions(&p, &p.user.id).await?;
    Ok(Json(sessions_out(rows, current_session(&p))))
}

/// Ends one of the caller's own sessions.
#[utoipa::path(delete, path = "/api/v1/users/me/sessions/{id}", params(("id" = String, Path)), responses((status = 204), (status = 404)))]
pub async fn end_my_session(
    State(state): State<AppState>,
    Origin(origin): Origin,
    AnyCaller(p): AnyCaller,
    Path(id): Path<SessionId>,
) -> Result<StatusCode, ApiError> {
    state
        .users
        .end_sessions(&p, &p.user.id, Some(&id), &origin)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user's sessions (administrators and auditors).
#[utoipa::path(get, path = "/api/v1/users/{id}/sessions", params(("id" = String, Path)), responses((status = 200, description = "The user's sessions", body = Page<SessionOut>), (status = 403)))]
pub async fn user_sessions(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<UserId>,
) -> Result<Json<Page<SessionOut>>, ApiError> {
    let rows = state.users.sessions(&p, &id).await?;
    Ok(Json(sessions_out(rows, current_session(&p))))
}

/// Ends every session of a user (administrators).
#[utoipa::path(delete, path = "/api/v1/users/{id}/sessions", params(("id" = String, Path)), responses((status = 204), (status = 403)))]
pub async fn end_user_sessions(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Path(id): Path<UserId>,
) -> Result<StatusCode, ApiError> {
    state.users.end_sessions(&p, &id, None, &origin).await?;
    Ok(StatusCode::NO_CONTENT)
}
