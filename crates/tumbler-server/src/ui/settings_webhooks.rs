//! Administration > Settings > Webhooks: the signed webhooks that get an event per finished
//! run. Adding one shows its signing secret once (on a page never cached); removing one
//! deletes its secret.

use super::console_form::ConsoleForm;
use super::flash::{
    redirect_after, redirect_revealed, Flash, RevealLink, Revealed, RevealedSecret,
};
use super::frame::{ConsolePage, ConsoleResult, PageFrame, SignedIn};
use super::pages::{render_rejected, render_uncached};
use super::settings::{require_settings, settings_manager};
use super::when::When;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use secrecy::ExposeSecret;
use serde::Deserialize;
use tumbler_core::webhooks::{WebhookServiceError, WebhookView};
use tumbler_core::Principal;
use tumbler_domain::ids::WebhookId;

#[derive(Template)]
#[template(path = "settings_webhooks.html")]
struct WebhooksPage {
    frame: PageFrame,
    /// Each webhook with when it was added.
    webhooks: Vec<(WebhookView, When)>,
    url: String,
    /// The new webhook's signing secret, shown this once.
    revealed: Option<Revealed>,
}

/// The page's address.
const PAGE: &str = "/settings/webhooks";

/// The fields of the add and remove forms.
#[derive(Deserialize)]
pub struct WebhookForm {
    #[serde(default)]
    url: String,
    /// Sent by the remove dialog's confirm button; a remove without it is refused.
    confirm: Option<String>,
}

fn shown_error(e: WebhookServiceError) -> String {
    match e {
        e @ (WebhookServiceError::Store(_) | WebhookServiceError::Vault(_)) => {
            tracing::error!(error = %e, "webhook settings failed");
            "internal error".to_owned()
        }
        e => e.to_string(),
    }
}

/// The page with the form's `url` kept and the new webhook's secret, if any.
async fn page(
    state: &AppState,
    p: &Principal,
    mut frame: PageFrame,
    url: String,
    revealed: Option<Revealed>,
) -> WebhooksPage {
    let webhooks = match state.webhooks.list(p).await {
        Ok(list) => list,
        Err(e) => {
            frame.flash = Some(Flash::error(shown_error(e)));
            Vec::new()
        }
    };
    WebhooksPage {
        frame,
        webhooks: webhooks
            .into_iter()
            .map(|w| {
                let added = When::at(w.created_at);
                (w, added)
            })
            .collect(),
        url,
        revealed,
    }
}

/// `GET /settings/webhooks`, with `?revealed=` the one-time link to a new webhook's secret.
pub async fn show(
    State(state): State<AppState>,
    session: SignedIn,
    link: RevealLink,
) -> ConsoleResult {
    let ConsolePage(p, mut frame) = settings_manager(session)?;
    let revealed = link.open(&state, &mut frame);
    Ok(render_uncached(
        &page(&state, &p, frame, String::new(), revealed).await,
    ))
}

/// `POST /settings/webhooks`: adds a webhook and shows its secret once.
pub async fn add(State(state): State<AppState>, form: ConsoleForm<WebhookForm>) -> ConsoleResult {
    let (p, frame, origin, form) = form.parts();
    require_settings(&p)?;
    Ok(
        match state.webhooks.create(&p, form.url.trim(), &origin).await {
            Ok(created) => {
                let notice = format!(
                    "Webhook added for {}. Copy its signing secret now: it is not shown again.",
                    created.webhook.url
                );
                let revealed = Revealed {
                    subject: created.webhook.url.clone(),
                    secrets: vec![RevealedSecret {
                        label: "Signing secret".to_owned(),
                        value: created.secret.expose_secret().to_owned().into(),
                    }],
                };
                redirect_revealed(&state, &frame, PAGE, Flash::success(notice), revealed)
            }
            Err(e) => {
                let frame = frame.with_error(Some(shown_error(e)));
                render_rejected(&page(&state, &p, frame, form.url, None).await)
            }
        },
    )
}

/// `POST /settings/webhooks/{id}/delete`
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<WebhookId>,
    form: ConsoleForm<WebhookForm>,
) -> ConsoleResult {
    let (p, frame, origin, form) = form.parts();
    require_settings(&p)?;
    if form.confirm.is_none() {
        return Ok(redirect_after(&state, &frame, PAGE, Flash::unconfirmed()));
    }
    let url = state
        .webhooks
        .list(&p)
        .await
        .ok()
        .and_then(|list| list.into_iter().find(|w| w.id == id))
        .map(|w| w.url);
    let flash = match state.webhooks.delete(&p, &id, &origin).await {
        Ok(()) => Flash::success(format!(
            "Webhook {}removed; its signing secret is deleted.",
            url.map(|u| format!("to {u} ")).unwrap_or_default()
        )),
        Err(e) => Flash::error(shown_error(e)),
    };
    Ok(redirect_after(&state, &frame, PAGE, flash))
}
