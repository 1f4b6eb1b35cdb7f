//! User Settings, two-factor authentication: enrol an authenticator app by QR code.

use super::console_form::ConsoleForm;
use super::pages::{render, UiSession};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
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
    display_name: String,
    csrf: String,
    required: bool,
    enabled: bool,
    enrolment: Option<EnrolmentView>,
    recovery_codes: Vec<String>,
    error: Option<String>,
}

fn page(
    p: &Principal,
    csrf: String,
    enrolment: Option<EnrolmentView>,
    recovery_codes: Vec<String>,
    error: Option<String>,
) -> Response {
    render(&MfaPage {
        display_name: p.user.display_name.clone(),
        csrf,
        required: p.mfa_enrolment_required,
        enabled: p.user.mfa_enabled,
        enrolment,
        recovery_codes,
        error,
    })
}

/// `GET /account/mfa`
pub async fn show(UiSession(session, _): UiSession) -> Response {
    match session {
        None => Redirect::to("/login").into_response(),
        Some((p, _)) if p.user.must_change_password => {
            Redirect::to("/account/password").into_response()
        }
        Some((p, csrf)) => page(&p, csrf, None, Vec::new(), None),
    }
}

/// The enrolment form: the CSRF token and the current password (a stolen session must not
/// enrol an authenticator of its own).
#[derive(Deserialize)]
pub struct BeginForm {
    #[serde(default)]
    current_password: String,
}

/// `POST /account/mfa/begin`
pub async fn begin(
    State(state): State<AppState>,
    ConsoleForm {
        principal: p,
        csrf,
        origin,
        form,
    }: ConsoleForm<BeginForm>,
) -> Response {
    let password = Some(SecretString::from(form.current_password));
    match state.auth.begin_totp(&p, password, &origin).await {
        Ok(e) => {
            let view = EnrolmentView {
                qr_svg: super::qr::svg(&e.uri).unwrap_or_default(),
                secret: e.secret_base32.to_string(),
            };
            page(&p, csrf, Some(view), Vec::new(), None)
        }
        Err(
            e @ (AuthError::TotpAlreadyEnabled
            | AuthError::PasswordChangeRequired
            | AuthError::WrongCurrentPassword
            | AuthError::ReauthenticationRequired
            | AuthError::AccountLocked
            | AuthError::RateLimited { .. }),
        ) => page(&p, csrf, None, Vec::new(), Some(e.to_string())),
        Err(e) => {
            tracing::error!(error = %e, "TOTP enrolment failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
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
    ConsoleForm {
        principal: p,
        csrf,
        origin,
        form,
    }: ConsoleForm<ConfirmForm>,
) -> Response {
    match state.auth.confirm_totp(&p, &form.code, &origin).await {
        Ok(codes) => page(
            &p,
            csrf,
            None,
            codes.iter().map(|c| c.to_string()).collect(),
            None,
        ),
        Err(e @ (AuthError::InvalidTotp | AuthError::NoTotpEnrolment)) => page(
            &p,
            csrf,
            None,
            Vec::new(),
            Some(format!(
                "{e}. Start again and enter the code your app shows now."
            )),
        ),
        Err(e) => {
            tracing::error!(error = %e, "TOTP confirmation failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}
