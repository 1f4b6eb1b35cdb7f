//! Administration > Settings > Webhooks: the signed webhooks that get an event per finished
//! run. Adding one shows its signing secret once (on a page never cached); removing one
//! deletes its secret.

use super::console_form::ConsoleForm;
use super::frame::{ConsolePage, ConsoleResult, PageFrame, SignedIn};
use super::pages::render_uncached;
use super::settings::{require_settings, settings_manager};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use secrecy::ExposeSecret;
use serde::Deserialize;
use tumbler_core::webhooks::{WebhookServiceError, WebhookView};
use tumbler_core::Principal;

#[derive(Template)]
#[template(path = "settings_webhooks.html")]
struct WebhooksPage {
    frame: PageFrame,
    webhooks: Vec<WebhookView>,
    url: String,
    /// The new webhook's signing secret, shown this once.
    secret: Option<String>,
}

/// The fields of the add and remove forms.
#[derive(Deserialize)]
pub struct WebhookForm {
    #[serde(default)]
    url: String,
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

/// The page with the form's `url` kept and the new webhook's `secret`, if any.
async fn page(
    state: &AppState,
    p: &Principal,
    mut frame: PageFrame,
    url: String,
    secret: Option<String>,
) -> Response {
    let webhooks = match state.webhooks.list(p).await {
        Ok(list) => list,
        Err(e) => {
            frame.flash = Some(super::flash::Flash::error(shown_error(e)));
            Vec::new()
        }
    };
    render_uncached(&WebhooksPage {
        frame,
        webhooks,
        url,
        secret,
    })
}

/// `GET /settings/webhooks`
pub async fn show(State(state): State<AppState>, session: SignedIn) -> ConsoleResult {
    let ConsolePage(p, frame) = settings_manager(session)?;
    Ok(page(&state, &p, frame, String::new(), None).await)
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
                let secret = Some(created.secret.expose_secret().to_owned());
                page(
                    &state,
                    &p,
                    frame.with_notice(Some(notice)),
                    String::new(),
                    secret,
                )
                .await
            }
            Err(e) => {
                let frame = frame.with_error(Some(shown_error(e)));
                page(&state, &p, frame, form.url, None).await
            }
        },
    )
}

/// `POST /settings/webhooks/{id}/delete`
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: ConsoleForm<WebhookForm>,
) -> ConsoleResult {
    let (p, frame, origin, _) = form.parts();
    require_settings(&p)?;
    let frame = match state.webhooks.delete(&p, &id, &origin).await {
        Ok(()) => frame.with_notice(Some("Webhook removed.".to_owned())),
        Err(e) => frame.with_error(Some(shown_error(e))),
    };
    Ok(page(&state, &p, frame, String::new(), None).await)
}
