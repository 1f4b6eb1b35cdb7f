//! Editing one user from the Users page: name, email, roles, domains; ending their sessions;
//! deleting them. The service checks every permission and rule (e.g. the last administrator).

use super::console_form::{ConsoleForm, NoFields};
use super::pages::{active, not_active, render, UiSession};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
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
    password_status: &'static str,
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
        password_status: user.password_status.as_str(),
        error,
    })
}

/// `GET /users/{id}/edit`
pub async fn show(
    State(state): State<AppState>,
    UiSession(session, _): UiSession,
    Path(id): Path<String>,
) -> Response {
    match active(session) {
        Ok((p, csrf)) => page(&state, &p, csrf, &UserId::from_string(id), None).await,
        Err(to) => Redirect::to(to).into_response(),
    }
}

/// The edit form (roles and domains arrive as repeated `role` and `domain` fields).
#[derive(serde::Deserialize)]
pub struct EditForm {
    display_name: Option<String>,
    email: Option<String>,
    #[serde(default)]
    role: Vec<String>,
    #[serde(default)]
    domain: Vec<String>,
}

/// `POST /users/{id}/edit`
pub async fn save(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm {
        principal: p,
        csrf,
        origin,
        form,
    }: ConsoleForm<EditForm>,
) -> Response {
    if let Some(to) = not_active(&p) {
        return to;
    }
    let trimmed = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let changes = UserChanges {
        display_name: trimmed(form.display_name),
        email: Some(trimmed(form.email)),
        roles: Some(form.role),
        status: None,
        domains: None,
    };
    let id = UserId::from_string(id);
    match state
        .users
        .update(&p, &id, changes, Some(form.domain), &origin)
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
    Path(id): Path<String>,
    ConsoleForm {
        principal: p,
        csrf,
        origin,
        ..
    }: ConsoleForm<NoFields>,
) -> Response {
    if let Some(to) = not_active(&p) {
        return to;
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
    Path(id): Path<String>,
    ConsoleForm {
        principal: p,
        csrf,
        origin,
        ..
    }: ConsoleForm<NoFields>,
) -> Response {
    if let Some(to) = not_active(&p) {
        return to;
    }
    let id = UserId::from_string(id);
    match state.users.delete(&p, &id, &origin).await {
        Ok(()) => Redirect::to("/users").into_response(),
        Err(e) => page(&state, &p, csrf, &id, Some(e.to_string())).await,
    }
}
