//! Users > Edit > Reset password: an administrator issues a user a new temporary password
//! (with a fresh code of their own), optionally resetting the user's second factor; the
//! password is shown once on the answer page.

use super::console_form::{field, value, ConsoleForm, Fields};
use super::frame::{ConsoleError, ConsoleResult, PageFrame};
use super::pages::render_uncached;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use secrecy::ExposeSecret;
use tumbler_core::AuthError;
use tumbler_domain::ids::UserId;
use zeroize::Zeroizing;

#[derive(Template)]
#[template(path = "user_reset.html")]
struct ResetPage {
    frame: PageFrame,
    id: String,
    /// The new temporary password, shown once.
    password: Option<Zeroizing<String>>,
    totp_reset: bool,
}

/// `POST /users/{id}/reset-password` (fields `csrf`, `totp`, `reset_totp`).
pub async fn reset(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: ConsoleForm<Fields>,
) -> ConsoleResult {
    let (p, frame, origin, fields) = form.active()?;
    let reset_totp = value(&fields, "reset_totp").is_some_and(|v| {
        let v = v.trim();
        v == "on" || v == "true"
    });
    let code = Some(field(&fields, "totp").trim()).filter(|c| !c.is_empty());
    let result = state
        .auth
        .reset_password_of(
            &p,
            &UserId::from_string(id.clone()),
            reset_totp,
            code,
            &origin,
        )
        .await;
    let (password, error) = match result {
        Ok(pw) => (Some(Zeroizing::new(pw.expose_secret().to_owned())), None),
        Err(e @ (AuthError::Store(_) | AuthError::Hashing(_) | AuthError::Vault(_))) => {
            return Err(ConsoleError::internal("resetting a password failed", &e))
        }
        Err(e) => (None, Some(e.to_string())),
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut res = render_uncached(&ResetPage {
        frame: frame.with_error(error),
        id,
        password,
        totp_reset: reset_totp,
    });
    *res.status_mut() = status;
    Ok(res)
}
