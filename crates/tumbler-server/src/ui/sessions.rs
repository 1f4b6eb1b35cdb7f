//! User Settings, sessions: list one's own sessions and end the others.

use super::console_form::ConsoleForm;
use super::console_form::NoFields;
use super::flash::{redirect_after, Flash};
use super::frame::{ConsoleError, ConsolePage, ConsoleResult, PageFrame, SignedIn};
use super::pages::render;
use super::when::When;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use tumbler_core::AuthMethod;
use tumbler_domain::ids::SessionId;

/// One row.
pub struct SessionLine {
    id: String,
    source: String,
    created_at: When,
    last_seen_at: When,
    expires_at: When,
    current: bool,
}

#[derive(Template)]
#[template(path = "sessions.html")]
struct SessionsPage {
    frame: PageFrame,
    sessions: Vec<SessionLine>,
}

/// `GET /account/sessions`
pub async fn list(
    State(state): State<AppState>,
    SignedIn(ConsolePage(p, frame)): SignedIn,
) -> ConsoleResult {
    let current = match &p.method {
        AuthMethod::Session { id, .. } => Some(id.clone()),
        _ => None,
    };
    match state.users.sessions(&p, &p.user.id).await {
        Ok(rows) => {
            let sessions = rows
                .into_iter()
                .map(|s| SessionLine {
                    current: Some(&s.id) == current.as_ref(),
                    id: s.id.to_string(),
                    source: s.source,
                    created_at: When::at(s.created_at),
                    last_seen_at: When::at(s.last_seen_at),
                    expires_at: When::at(s.expires_at),
                })
                .collect();
            Ok(render(&SessionsPage { frame, sessions }))
        }
        Err(e) => Err(ConsoleError::internal("listing sessions failed", &e)),
    }
}

/// `POST /account/sessions/{id}/end`
pub async fn end(
    State(state): State<AppState>,
    Path(id): Path<SessionId>,
    form: ConsoleForm<NoFields>,
) -> ConsoleResult {
    let (p, frame, origin, _) = form.parts();
    match state
        .users
        .end_sessions(&p, &p.user.id, Some(&id), &origin)
        .await
    {
        Ok(_) | Err(tumbler_core::UserError::SessionNotFound) => Ok(redirect_after(
            &state,
            &frame,
            "/account/sessions",
            Flash::success("Session ended; it is logged out."),
        )),
        Err(e) => Err(ConsoleError::internal("ending a session failed", &e)),
    }
}
