//! The banner's domain choice and User Settings' Object Visibility.

use super::console_form::ConsoleForm;
use super::flash::{redirect_after, Flash};
use super::frame::{ConsoleError, ConsolePage, ConsoleResult, PageFrame, SignedIn};
use super::pages::render;
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use serde::Deserialize;
use tumbler_core::{DomainError, Principal};

#[derive(Template)]
#[template(path = "domain.html")]
struct DomainPage {
    frame: PageFrame,
    domains: Vec<(String, bool)>,
    all_domains: bool,
}

/// The page's address.
const PAGE: &str = "/account/domain";

async fn page(state: &AppState, p: &Principal, frame: PageFrame) -> ConsoleResult {
    match state.domains.mine(p).await {
        Ok(mine) => Ok(render(&DomainPage {
            frame,
            domains: mine
                .into_iter()
                .map(|d| (d.name, Some(&d.id) == p.active_domain.as_ref()))
                .collect(),
            all_domains: p.all_domains,
        })),
        Err(e) => Err(ConsoleError::internal("listing domains failed", &e)),
    }
}

/// `GET /account/domain`
pub async fn show(
    State(state): State<AppState>,
    SignedIn(ConsolePage(p, frame)): SignedIn,
) -> ConsoleResult {
    page(&state, &p, frame).await
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
        Ok(()) => Ok(redirect_after(
            &state,
            &frame,
            PAGE,
            Flash::success("Saved."),
        )),
        Err(e @ DomainError::NotAssigned(_)) => Ok(redirect_after(
            &state,
            &frame,
            PAGE,
            Flash::error(e.to_string()).with_code(e.code()),
        )),
        Err(e) => Err(ConsoleError::internal(
            "saving the domain choice failed",
            &e,
        )),
    }
}
