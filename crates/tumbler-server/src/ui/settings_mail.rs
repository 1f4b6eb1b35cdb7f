//! Administration > Settings > Mail: the SMTP server (the password is write-only) and the
//! "send test mail" button.

use super::console_form::{ConsoleForm, Fields};
use super::pages::{render, UiSession};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use tumbler_core::mail::{Security, SmtpInput, SmtpView};
use tumbler_core::{MailServiceError, Principal};
use tumbler_domain::permission::Permission;

#[derive(Template)]
#[template(path = "settings_mail.html")]
struct MailPage {
    display_name: String,
    csrf: String,
    host: String,
    port: String,
    security: &'static str,
    username: String,
    from: String,
    has_password: bool,
    notice: Option<String>,
    error: Option<String>,
}

fn security_name(s: Security) -> &'static str {
    match s {
        Security::None => "none",
        Security::Starttls => "starttls",
        Security::Tls => "tls",
    }
}

fn page(
    p: &Principal,
    csrf: String,
    view: Option<SmtpView>,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    let v = view.unwrap_or(SmtpView {
        host: String::new(),
        port: 587,
        security: Security::Starttls,
        username: None,
        from: String::new(),
        has_password: false,
    });
    render(&MailPage {
        display_name: p.user.display_name.clone(),
        csrf,
        host: v.host,
        port: v.port.to_string(),
        security: security_name(v.security),
        username: v.username.unwrap_or_default(),
        from: v.from,
        has_password: v.has_password,
        notice,
        error,
    })
}

/// The session of an administrator, if it is one.
fn admin(session: Option<(Principal, String)>) -> Option<(Principal, String)> {
    session.filter(|(p, _)| is_admin(p))
}

fn is_admin(p: &Principal) -> bool {
    p.can(Permission::SettingsManage)
}

fn forbidden() -> Response {
    (
        StatusCode::FORBIDDEN,
        "You do not have permission to change settings.",
    )
        .into_response()
}

async fn current(state: &AppState, p: &Principal) -> Option<SmtpView> {
    state.mail.settings(p).await.ok().flatten()
}

/// `GET /settings/mail`
pub async fn show(State(state): State<AppState>, UiSession(session, _): UiSession) -> Response {
    match admin(session) {
        Some((p, csrf)) => {
            let view = current(&state, &p).await;
            page(&p, csrf, view, None, None)
        }
        None => forbidden(),
    }
}

fn shown_error(e: MailServiceError) -> String {
    match e {
        e @ (MailServiceError::Store(_) | MailServiceError::Vault(_)) => {
            tracing::error!(error = %e, "mail settings failed");
            "internal error".to_owned()
        }
        e => e.to_string(),
    }
}

/// `POST /settings/mail`: saves the settings, or with `test` set sends the test mail.
pub async fn save(
    State(state): State<AppState>,
    ConsoleForm {
        principal: p,
        csrf,
        origin,
        form: fields,
    }: ConsoleForm<Fields>,
) -> Response {
    if !is_admin(&p) {
        return forbidden();
    }
    let get = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    if fields.iter().any(|(n, _)| n == "test") {
        let view = current(&state, &p).await;
        return match state.mail.send_test(&p, &origin).await {
            Ok(to) => page(
                &p,
                csrf,
                view,
                Some(format!("Test mail sent to {to}.")),
                None,
            ),
            Err(e) => page(&p, csrf, view, None, Some(shown_error(e))),
        };
    }
    let Ok(port) = get("port").trim().parse::<u16>() else {
        let view = current(&state, &p).await;
        return page(
            &p,
            csrf,
            view,
            None,
            Some("The port is not a number.".to_owned()),
        );
    };
    let security = match get("security").as_str() {
        "none" => Security::None,
        "tls" => Security::Tls,
        _ => Security::Starttls,
    };
    let password = get("password");
    let input = SmtpInput {
        host: get("host"),
        port,
        security,
        username: Some(get("username")),
        password: (!password.is_empty()).then(|| SecretString::from(password)),
        from: get("from"),
    };
    match state.mail.set_settings(&p, input, &origin).await {
        Ok(view) => page(&p, csrf, Some(view), Some("Saved.".to_owned()), None),
        Err(e) => {
            let view = current(&state, &p).await;
            page(&p, csrf, view, None, Some(shown_error(e)))
        }
    }
}
