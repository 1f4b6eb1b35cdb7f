//! The banner's domain choice and User Settings' Object Visibility.

use super::console_form::ConsoleForm;
use super::frame::{ConsoleError, ConsolePage, ConsoleResult, PageFrame, SignedIn};
use super::pages::render;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use tumbler_core::{DomainError, Principal};

#[derive(Template)]
#[template(path = "domain.html")]
struct DomainPage {
    frame: PageFrame,
    domains: Vec<(String, bool)>,
    all_domains: bool,
    saved: bool,
}

async fn page(state: &AppState, p: &Principal, frame: PageFrame, saved: bool) -> ConsoleResult {
    match state.domains.mine(p).await {
        Ok(mine) => Ok(render(&DomainPage {
            frame,
            domains: mine
                .into_iter()
                .map(|d| (d.name, Some(&d.id) == p.active_domain.as_ref()))
                .collect(),
            all_domains: p.all_domains,
            saved,
        })),
        Err(e) => Err(ConsoleError::internal("listing domains failed", &e)),
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
    SignedIn(ConsolePage(p, frame)): SignedIn,
    Query(q): Query<SavedQuery>,
) -> ConsoleResult {
    page(&state, &p, frame, q.saved.is_some()).await
}

/// The form.
#[derive(Deserialize)]
pub struct DomainForm {
    domain: Option<String>,
    all_domains: Option<String>,
}

/// `POST /account/domain`
pub async fn save(State(state): State<AppState>, form: ConsoleForm<DomainForm>) -> ConsoleResult {
    let (p, frame, origin, form) = form.parts();
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
        Ok(()) => Ok(Redirect::to("/account/domain?saved=1").into_response()),
        Err(e @ DomainError::NotAssigned(_)) => {
            page(&state, &p, frame.with_error(Some(e.to_string())), false).await
        }
        Err(e) => Err(ConsoleError::internal(
            "saving the domain choice failed",
            &e,
        )),
    }
}
