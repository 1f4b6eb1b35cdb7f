//! Editing one user from the Users page: name, email, roles, domains; ending their sessions;
//! deleting them. The service checks every permission and rule (e.g. the last administrator).

use super::pages::{render, UiSession};
use crate::middleware::auth::tokens_match;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, RawForm, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use tumbler_core::users::UserError;
use tumbler_core::Principal;
use tumbler_domain::ids::UserId;
use tumbler_store::UserChanges;

#[derive(Template)]
#[template(path = "user_edit.html")]
struct EditPage {
    display_name: String,
    csrf: String,
    id: String,
    username: String,
    display_name_value: String,
    email: String,
    roles: Vec<(String, bool)>,
    domains: Vec<(String, bool)>,
    error: Option<String>,
}

async fn page(
    state: &AppState,
    p: &Principal,
    csrf: String,
    id: &UserId,
    error: Option<String>,
) -> Response {
    let user = match state.users.get(p, id).await {
        Ok(u) => u,
        Err(e @ (UserError::Forbidden | UserError::NotFound)) => {
            return (StatusCode::NOT_FOUND, e.to_string()).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "loading a user failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
        }
    };
    let roles = state.roles.list(p).await.unwrap_or_default();
    let domains = state.domains.list(p).await.unwrap_or_default();
    render(&EditPage {
        display_name: p.user.display_name.clone(),
        csrf,
        id: id.to_string(),
        username: user.user.username.clone(),
        display_name_value: user.user.display_name.clone(),
        email: user.user.email.clone().unwrap_or_default(),
        roles: roles
            .into_iter()
            .map(|r| (r.name.clone(), user.user.roles.contains(&r.name)))
            .collect(),
        domains: domains
            .into_iter()
            .map(|d| (d.name.clone(), user.domains.contains(&d.name)))
            .collect(),
        error,
    })
}

/// The caller, if the account is fully usable (else the page sends the browser home).
fn session_of(session: Option<(Principal, String)>) -> Option<(Principal, String)> {
    session.filter(|(p, _)| p.require_active().is_ok())
}

/// `GET /users/{id}/edit`
pub async fn show(
    State(state): State<AppState>,
    UiSession(session, _): UiSession,
    Path(id): Path<String>,
) -> Response {
    match session_of(session) {
        Some((p, csrf)) => page(&state, &p, csrf, &UserId::from_string(id), None).await,
        None => Redirect::to("/").into_response(),
    }
}

fn fields(body: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

fn checked_csrf(csrf: &str, fields: &[(String, String)]) -> bool {
    fields
        .iter()
        .any(|(k, v)| k == "csrf" && tokens_match(csrf, v))
}

/// `POST /users/{id}/edit`
pub async fn save(
    State(state): State<AppState>,
    UiSession(session, origin): UiSession,
    Path(id): Path<String>,
    RawForm(body): RawForm,
) -> Response {
    let Some((p, csrf)) = session_of(session) else {
        return Redirect::to("/").into_response();
    };
    let f = fields(&body);
    if !checked_csrf(&csrf, &f) {
        return (
            StatusCode::FORBIDDEN,
            "Form expired; go back and reload the page.",
        )
            .into_response();
    }
    let one = |k: &str| {
        f.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_owned())
    };
    let many = |k: &str| {
        f.iter()
            .filter(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
    };
    let changes = UserChanges {
        display_name: one("display_name").filter(|d| !d.is_empty()),
        email: Some(one("email").filter(|e| !e.is_empty())),
        roles: Some(many("role")),
        status: None,
        domains: None,
    };
    let id = UserId::from_string(id);
    match state
        .users
        .update(&p, &id, changes, Some(many("domain")), &origin)
        .await
    {
        Ok(_) => Redirect::to("/users").into_response(),
        Err(
            e @ (UserError::Invalid(_)
            | UserError::UnknownRole(_)
            | UserError::UnknownDomain(_)
            | UserError::LastAdmin
            | UserError::RoleNotHeld(_)
            | UserError::DomainNotHeld(_)
            | UserError::OwnGrants
            | UserError::Forbidden),
        ) => page(&state, &p, csrf, &id, Some(e.to_string())).await,
        Err(e) => {
            tracing::error!(error = %e, "editing a user failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// `POST /users/{id}/end-sessions`
pub async fn end_sessions(
    State(state): State<AppState>,
    UiSession(session, origin): UiSession,
    Path(id): Path<String>,
    RawForm(body): RawForm,
) -> Response {
    let Some((p, csrf)) = session_of(session) else {
        return Redirect::to("/").into_response();
    };
    if !checked_csrf(&csrf, &fields(&body)) {
        return (
            StatusCode::FORBIDDEN,
            "Form expired; go back and reload the page.",
        )
            .into_response();
    }
    let id = UserId::from_string(id);
    match state.users.end_sessions(&p, &id, None, &origin).await {
        Ok(_) => Redirect::to("/users").into_response(),
        Err(e) => page(&state, &p, csrf, &id, Some(e.to_string())).await,
    }
}

/// `POST /users/{id}/delete`
pub async fn delete(
    State(state): State<AppState>,
    UiSession(session, origin): UiSession,
    Path(id): Path<String>,
    RawForm(body): RawForm,
) -> Response {
    let Some((p, csrf)) = session_of(session) else {
        return Redirect::to("/").into_response();
    };
    if !checked_csrf(&csrf, &fields(&body)) {
        return (
            StatusCode::FORBIDDEN,
            "Form expired; go back and reload the page.",
        )
            .into_response();
    }
    let id = UserId::from_string(id);
    match state.users.delete(&p, &id, &origin).await {
        Ok(()) => Redirect::to("/users").into_response(),
        Err(e) => page(&state, &p, csrf, &id, Some(e.to_string())).await,
    }
}
