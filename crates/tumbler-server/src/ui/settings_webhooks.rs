//! Administration > Settings > Webhooks: the signed webhooks that get an event per finished
//! run. Adding one shows its signing secret once (on a page never cached); removing one
//! deletes its secret.

use super::console_form::ConsoleForm;
use super::pages::{render_uncached, UiSession};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use serde::Deserialize;
use tumbler_core::webhooks::{WebhookServiceError, WebhookView};
use tumbler_core::Principal;
use tumbler_domain::permission::Permission;

#[derive(Template)]
#[template(path = "settings_webhooks.html")]
struct WebhooksPage {
    display_name: String,
    csrf: String,
    webhooks: Vec<WebhookView>,
    url: String,
    /// The new webhook's signing secret, shown this once.
    secret: Option<String>,
    notice: Option<String>,
    error: Option<String>,
}

/// The fields of the add and remove forms.
#[derive(Deserialize)]
pub struct WebhookForm {
    #[serde(default)]
    url: String,
}

fn is_admin(p: &Principal) -> bool {
    p.can(Permission::SettingsManage)
}

fn admin(session: Option<(Principal, String)>) -> Option<(Principal, String)> {
    session.filter(|(p, _)| is_admin(p))
}

fn forbidden() -> Response {
    (
        StatusCode::FORBIDDEN,
        "You do not have permission to change settings.",
    )
        .into_response()
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

struct Shown {
    url: String,
    secret: Option<String>,
    notice: Option<String>,
    error: Option<String>,
}

async fn page(state: &AppState, p: &Principal, csrf: String, shown: Shown) -> Response {
    let (webhooks, error) = match state.webhooks.list(p).await {
        Ok(list) => (list, shown.error),
        Err(e) => (Vec::new(), Some(shown_error(e))),
    };
    render_uncached(&WebhooksPage {
        display_name: p.user.display_name.clone(),
        csrf,
        webhooks,
        url: shown.url,
        secret: shown.secret,
        notice: shown.notice,
        error,
    })
}

/// `GET /settings/webhooks`
pub async fn show(State(state): State<AppState>, UiSession(session, _): UiSession) -> Response {
    let Some((p, csrf)) = admin(session) else {
        return forbidden();
    };
    let shown = Shown {
        url: String::new(),
        secret: None,
        notice: None,
        error: None,
    };
    page(&state, &p, csrf, shown).await
}

/// `POST /settings/webhooks`: adds a webhook and shows its secret once.
pub async fn add(
    State(state): State<AppState>,
    ConsoleForm {
        principal: p,
        csrf,
        origin,
        form,
    }: ConsoleForm<WebhookForm>,
) -> Response {
    if !is_admin(&p) {
        return forbidden();
    }
    let shown = match state.webhooks.create(&p, form.url.trim(), &origin).await {
        Ok(created) => Shown {
            url: String::new(),
            secret: Some(created.secret.expose_secret().to_owned()),
            notice: Some(format!(
                "Webhook added for {}. Copy its signing secret now: it is not shown again.",
                created.webhook.url
            )),
            error: None,
        },
        Err(e) => Shown {
            url: form.url,
            secret: None,
            notice: None,
            error: Some(shown_error(e)),
        },
    };
    page(&state, &p, csrf, shown).await
}

/// `POST /settings/webhooks/{id}/delete`
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm {
        principal: p,
        csrf,
        origin,
        form: _,
    }: ConsoleForm<WebhookForm>,
) -> Response {
    if !is_admin(&p) {
        return forbidden();
    }
    let (notice, error) = match state.webhooks.delete(&p, &id, &origin).await {
        Ok(()) => (Some("Webhook removed.".to_owned()), None),
        Err(e) => (None, Some(shown_error(e))),
    };
    let shown = Shown {
        url: String::new(),
        secret: None,
        notice,
        error,
    };
    page(&state, &p, csrf, shown).await
}
