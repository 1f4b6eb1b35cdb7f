//! The banner's domain choice and User Settings' Object Visibility.

use super::console_form::ConsoleForm;
use super::pages::{render, UiSession};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tumbler_core::{DomainError, Principal};

#[derive(Template)]
#[template(path = "domain.html")]
struct DomainPage {
    display_name: String,
    csrf: String,
    domains: Vec<(String, bool)>,
    all_domains: bool,
    saved: bool,
    error: Option<String>,
}

async fn page(
    state: &AppState,
    p: &Principal,
    csrf: String,
    saved: bool,
    error: Option<String>,
) -> Response {
    match state.domains.mine(p).await {
        Ok(mine) => render(&DomainPage {
            display_name: p.user.display_name.clone(),
            csrf,
            domains: mine
                .into_iter()
                .map(|d| (d.name, Some(&d.id) == p.active_domain.as_ref()))
                .collect(),
            all_domains: p.all_domains,
            saved,
            error,
        }),
        Err(e) => {
            tracing::error!(error = %e, "listing domains failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// Query of the page.
#[derive(Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

/// `GET /account/domain`
pub async fn show(
    State(state): State<AppState>,
    UiSession(session, _): UiSession,
    Query(q): Query<SavedQuery>,
) -> Response {
    match session {
        None => Redirect::to("/login").into_response(),
        Some((p, csrf)) => page(&state, &p, csrf, q.saved.is_some(), None).await,
    }
}

/// The form.
#[derive(Deserialize)]
pub struct DomainForm {
    domain: Option<String>,
    all_domains: Option<String>,
}

/// `POST /account/domain`
pub async fn save(
    State(state): State<AppState>,
    ConsoleForm {
        principal: p,
        csrf,
        origin,
        form,
    }: ConsoleForm<DomainForm>,
) -> Response {
    let result = async {
        if let Some(d) = &form.domain {
            state.domains.choose_active(&p, d, &origin).await?;
        }
        let all = form.all_domains.is_some();
        if all != p.all_domains {
            state.domains.set_all_domains(&p, all, &origin).await?;
        }
        Ok::<(), DomainError>(())
    }
    .await;
    match result {
        Ok(()) => Redirect::to("/account/domain?saved=1").into_response(),
        Err(e @ DomainError::NotAssigned(_)) => {
            page(&state, &p, csrf, false, Some(e.to_string())).await
        }
        Err(e) => {
            tracing::error!(error = %e, "saving the domain choice failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}
