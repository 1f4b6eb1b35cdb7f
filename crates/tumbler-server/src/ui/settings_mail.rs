//! Administration > Settings > Mail: the SMTP server (the password is write-only) and the
//! "send test mail" button.

use super::console_form::{field, value, ConsoleForm, Fields};
use super::flash::{redirect_after, Flash};
use super::frame::{ConsolePage, ConsoleResult, PageFrame, SignedIn};
use super::pages::{render, render_rejected};
use super::settings::{require_settings, settings_manager};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use secrecy::SecretString;
use tumbler_core::mail::{Security, SmtpInput, SmtpView};
use tumbler_core::{MailServiceError, Principal};

#[derive(Template)]
#[template(path = "settings_mail.html")]
struct MailPage {
    frame: PageFrame,
    host: String,
    port: String,
    security: &'static str,
    username: String,
    from: String,
    has_password: bool,
}

fn security_name(s: Security) -> &'static str {
    match s {
        Security::None => "none",
        Security::Starttls => "starttls",
        Security::Tls => "tls",
    }
}

/// The page's address.
const PAGE: &str = "/settings/mail";

fn page(frame: PageFrame, view: Option<SmtpView>) -> Response {
    let v = view.unwrap_or(SmtpView {
        host: String::new(),
        port: 587,
        security: Security::Starttls,
        username: None,
        from: String::new(),
        has_password: false,
    });
    render(&MailPage {
        frame,
        host: v.host,
        port: v.port.to_string(),
        security: security_name(v.security),
        username: v.username.unwrap_or_default(),
        from: v.from,
        has_password: v.has_password,
    })
}

/// The form sent back as typed (the password never), with why it was refused.
fn rejected(frame: PageFrame, fields: &Fields, has_password: bool, error: String) -> Response {
    let get = |k: &str| field(fields, k).to_owned();
    render_rejected(&MailPage {
        frame: frame.with_error(Some(error)),
        host: get("host"),
        port: get("port"),
        security: match get("security").as_str() {
            "none" => "none",
            "tls" => "tls",
            _ => "starttls",
        },
        username: get("username"),
        from: get("from"),
        has_password,
    })
}

async fn current(state: &AppState, p: &Principal) -> Option<SmtpView> {
    state.mail.settings(p).await.ok().flatten()
}

/// `GET /settings/mail`
pub async fn show(State(state): State<AppState>, session: SignedIn) -> ConsoleResult {
    let ConsolePage(p, frame) = settings_manager(session)?;
    let view = current(&state, &p).await;
    Ok(page(frame, view))
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
pub async fn save(State(state): State<AppState>, form: ConsoleForm<Fields>) -> ConsoleResult {
    let (p, frame, origin, fields) = form.parts();
    require_settings(&p)?;
    let get = |k: &str| field(&fields, k).to_owned();
    if value(&fields, "test").is_some() {
        let flash = match state.mail.send_test(&p, &origin).await {
            Ok(to) => Flash::success(format!("Test mail sent to {to}.")),
            Err(e) => Flash::error(shown_error(e)),
        };
        return Ok(redirect_after(&state, &frame, PAGE, flash));
    }
    let has_password = current(&state, &p).await.is_some_and(|v| v.has_password);
    let Ok(port) = get("port").trim().parse::<u16>() else {
        let error = "The port is not a number from 1 to 65535.".to_owned();
        return Ok(rejected(frame, &fields, has_password, error));
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
    Ok(match state.mail.set_settings(&p, input, &origin).await {
        Ok(_) => redirect_after(&state, &frame, PAGE, Flash::success("Saved.")),
        Err(e) => rejected(frame, &fields, has_password, shown_error(e)),
    })
}
