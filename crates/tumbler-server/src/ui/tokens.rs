//! User Settings > API tokens: create a token (shown once, through a one-time link), list
//! one's tokens with their last use and expiry, revoke one after a confirmation naming it.

use super::console_form::ConsoleForm;
use super::console_form::NoFields;
use super::flash::{
    redirect_after, redirect_revealed, Flash, RevealLink, Revealed, RevealedSecret,
};
use super::frame::{ConsoleError, ConsolePage, ConsoleResult, PageFrame};
use super::pages::render_uncached;
use super::when::When;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tumbler_core::{AuthError, ErrorKind, ServiceFailure};
use tumbler_domain::ids::TokenId;

/// The page's address.
const PAGE: &str = "/account/tokens";

/// The lifetimes the create form offers: (form value, label, days; `None` never expires).
const LIFETIMES: [(&str, &str, Option<i64>); 5] = [
    ("7", "7 days", Some(7)),
    ("30", "30 days", Some(30)),
    ("90", "90 days", Some(90)),
    ("365", "1 year", Some(365)),
    ("never", "Never (revoke it yourself)", None),
];

/// One token as the list shows it.
pub struct TokenLine {
    id: String,
    name: String,
    prefix: String,
    created_at: When,
    last_used_at: When,
    expires_at: When,
    /// "active", "expired" or "revoked".
    state: &'static str,
    /// Whether it can still be revoked (neither revoked nor expired).
    usable: bool,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    frame: PageFrame,
    tokens: Vec<TokenLine>,
    lifetimes: Vec<(&'static str, &'static str)>,
    /// The new token, shown this once.
    revealed: Option<Revealed>,
}

/// `GET /account/tokens`, with `?revealed=` the one-time link to a new token.
pub async fn show(
    State(state): State<AppState>,
    ConsolePage(p, mut frame): ConsolePage,
    link: RevealLink,
) -> ConsoleResult {
    let revealed = link.open(&state, &mut frame);
    let rows = state
        .auth
        .list_tokens(&p)
        .await
        .map_err(|e| ConsoleError::internal("listing API tokens failed", &e))?;
    let now = state.clock.now();
    let tokens = rows
        .into_iter()
        .map(|t| {
            let expired = t.expires_at.is_some_and(|at| at <= now);
            let state = if t.revoked_at.is_some() {
                "revoked"
            } else if expired {
                "expired"
            } else {
                "active"
            };
            TokenLine {
                id: t.id.to_string(),
                name: t.name,
                prefix: t.prefix,
                created_at: When::at(t.created_at),
                last_used_at: When(t.last_used_at),
                expires_at: When(t.expires_at),
                usable: state == "active",
                state,
            }
        })
        .collect();
    Ok(render_uncached(&TokensPage {
        frame,
        tokens,
        lifetimes: LIFETIMES.iter().map(|(v, l, _)| (*v, *l)).collect(),
        revealed,
    }))
}

/// The create form.
#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    expires_in: String,
    #[serde(default)]
    current_password: Option<SecretString>,
    #[serde(default)]
    totp: Option<String>,
}

/// `POST /account/tokens`: creates a token and shows it once.
pub async fn create(State(state): State<AppState>, form: ConsoleForm<CreateForm>) -> ConsoleResult {
    let (p, frame, origin, form) = form.active()?;
    let Some((_, label, days)) = LIFETIMES.iter().find(|(v, _, _)| *v == form.expires_in) else {
        return Ok(redirect_after(
            &state,
            &frame,
            PAGE,
            Flash::error("Choose when the token expires.").with_code("invalid"),
        ));
    };
    let expires_at = days.map(|d| state.clock.now() + chrono::Duration::days(d));
    let proof = super::console_form::proof(form.current_password, form.totp);
    match state
        .auth
        .create_token(&p, &form.name, expires_at, proof, &origin)
        .await
    {
        Ok(created) => {
            let notice = format!(
                "API token {} created (expires: {}). Copy it now: it is not shown again.",
                created.record.name,
                label.to_lowercase()
            );
            let revealed = Revealed {
                subject: created.record.name.clone(),
                secrets: vec![RevealedSecret {
                    label: "API token".to_owned(),
                    value: created.token.expose_secret().to_owned().into(),
                }],
            };
            Ok(redirect_revealed(
                &state,
                &frame,
                PAGE,
                Flash::success(notice),
                revealed,
            ))
        }
        Err(e) => refused(&state, &frame, &e, "creating an API token failed"),
    }
}

/// `POST /account/tokens/{id}/revoke`
pub async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<TokenId>,
    form: ConsoleForm<NoFields>,
) -> ConsoleResult {
    let (p, frame, origin, _) = form.active()?;
    let name = state
        .auth
        .list_tokens(&p)
        .await
        .ok()
        .and_then(|rows| rows.into_iter().find(|t| t.id == id))
        .map(|t| t.name);
    match state.auth.revoke_token(&p, &id, &origin).await {
        Ok(()) => Ok(redirect_after(
            &state,
            &frame,
            PAGE,
            Flash::success(format!(
                "API token {} revoked; programs using it are refused from now on.",
                name.unwrap_or_default()
            )),
        )),
        Err(AuthError::UnknownToken) => Ok(redirect_after(
            &state,
            &frame,
            PAGE,
            Flash::warning("That token was already revoked or does not exist.")
                .with_code("unknown_token"),
        )),
        Err(e) => refused(&state, &frame, &e, "revoking an API token failed"),
    }
}

/// A refused action as an error message on the page; an internal failure as the error page.
fn refused(state: &AppState, frame: &PageFrame, e: &AuthError, what: &str) -> ConsoleResult {
    if e.kind() == ErrorKind::Internal {
        return Err(ConsoleError::internal(what, e));
    }
    Ok(redirect_after(
        state,
        frame,
        PAGE,
        Flash::error(e.message()).with_code(e.code()),
    ))
}
