//! User Settings, sessions: list one's own sessions and end the others.

use super::console_form::ConsoleForm;
use super::pages::{render, UiSession};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tumbler_core::AuthMethod;
use tumbler_domain::ids::SessionId;

/// One row.
pub struct SessionLine {
    id: String,
    source: String,
    created_at: String,
    last_seen_at: String,
    expires_at: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "sessions.html")]
struct SessionsPage {
    display_name: String,
    csrf: String,
    sessions: Vec<SessionLine>,
}

/// `GET /account/sessions`
pub async fn list(State(state): State<AppState>, UiSession(session, _): UiSession) -> Response {
    let Some((p, csrf)) = session else {
        return Redirect::to("/login").into_response();
    };
    let current = match &p.method {
        AuthMethod::Session { id, .. } => Some(id.clone()),
        _ => None,
    };
    match state.users.sessions(&p, &p.user.id).await {
        Ok(rows) => {
            let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
            let sessions = rows
                .into_iter()
                .map(|s| SessionLine {
                    current: Some(&s.id) == current.as_ref(),
                    id: s.id.to_string(),
                    source: s.source,
                    created_at: fmt(s.created_at),
                    last_seen_at: fmt(s.last_seen_at),
                    expires_at: fmt(s.expires_at),
                })
                .collect();
            render(&SessionsPage {
                display_name: p.user.display_name.clone(),
                csrf,
                sessions,
            })
        }
        Err(e) => {
            tracing::error!(error = %e, "listing sessions failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// The end form.
#[derive(Deserialize)]
pub struct EndForm {}

/// `POST /account/sessions/{id}/end`
pub async fn end(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm {
        principal: p,
        csrf: _,
        origin,
        form: _,
    }: ConsoleForm<EndForm>,
) -> Response {
    match state
        .users
        .end_sessions(&p, &p.user.id, Some(&SessionId::from_string(id)), &origin)
        .await
    {
        Ok(_) | Err(tumbler_core::UserError::SessionNotFound) => {
            Redirect::to("/account/sessions").into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "ending a session failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}
