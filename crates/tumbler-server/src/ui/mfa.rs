//! User Settings, two-factor authentication: enrol an authenticator app by QR code.

use super::console_form::ConsoleForm;
use super::frame::{ConsoleError, ConsolePage, ConsoleResult, PageFrame, SignedIn};
use super::pages::render;
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::SecretString;
use serde::Deserialize;
use tumbler_core::{AuthError, Principal};

/// What the enrolment step shows.
pub struct EnrolmentView {
    /// The QR code (server-rendered SVG).
    pub qr_svg: String,
    /// The key in base32.
    pub secret: String,
}

#[derive(Template)]
#[template(path = "mfa.html")]
struct MfaPage {
    frame: PageFrame,
    required: bool,
    enabled: bool,
    enrolment: Option<EnrolmentView>,
    recovery_codes: Vec<String>,
}

fn page(
    p: &Principal,
    frame: PageFrame,
    enrolment: Option<EnrolmentView>,
    recovery_codes: Vec<String>,
) -> Response {
    render(&MfaPage {
        frame,
        required: p.mfa_enrolment_required,
        enabled: p.user.mfa_enabled,
        enrolment,
        recovery_codes,
    })
}

/// `GET /account/mfa`
pub async fn show(SignedIn(ConsolePage(p, frame)): SignedIn) -> Response {
    if p.user.must_change_password {
        return Redirect::to("/account/password").into_response();
    }
    page(&p, frame, None, Vec::new())
}

/// The enrolment form: the CSRF token and the current password (a stolen session must not
/// enrol an authenticator of its own).
#[derive(Deserialize)]
pub struct BeginForm {
    #[serde(default)]
    current_password: String,
}

/// `POST /account/mfa/begin`
pub async fn begin(State(state): State<AppState>, form: ConsoleForm<BeginForm>) -> ConsoleResult {
    let (p, frame, origin, form) = form.parts();
    let password = Some(SecretString::from(form.current_password));
    match state.auth.begin_totp(&p, password, &origin).await {
        Ok(e) => {
            let view = EnrolmentView {
                qr_svg: super::qr::svg(&e.uri).unwrap_or_default(),
                secret: e.secret_base32.to_string(),
            };
            Ok(page(&p, frame, Some(view), Vec::new()))
        }
        Err(
            e @ (AuthError::TotpAlreadyEnabled
            | AuthError::PasswordChangeRequired
            | AuthError::WrongCurrentPassword
            | AuthError::ReauthenticationRequired
            | AuthError::AccountLocked
            | AuthError::RateLimited { .. }),
        ) => Ok(super::pages::rejected_page(page(
            &p,
            frame.with_error(Some(e.to_string())),
            None,
            Vec::new(),
        ))),
        Err(e) => Err(ConsoleError::internal("TOTP enrolment failed", &e)),
    }
}

/// The confirmation form.
#[derive(Deserialize)]
pub struct ConfirmForm {
    code: String,
}

/// `POST /account/mfa/confirm`
pub async fn confirm(
    State(state): State<AppState>,
    form: ConsoleForm<ConfirmForm>,
) -> ConsoleResult {
    let (p, frame, origin, form) = form.parts();
    match state.auth.confirm_totp(&p, &form.code, &origin).await {
        Ok(codes) => Ok(page(
            &p,
            frame,
            None,
            codes.iter().map(|c| c.to_string()).collect(),
        )),
        Err(e @ (AuthError::InvalidTotp | AuthError::NoTotpEnrolment)) => {
            let error = format!("{e}. Start again and enter the code your app shows now.");
            Ok(super::pages::rejected_page(page(
                &p,
                frame.with_error(Some(error)),
                None,
                Vec::new(),
            )))
        }
        Err(e) => Err(ConsoleError::internal("TOTP confirmation failed", &e)),
    }
}
