//! Users > Edit > Reset password: an administrator issues a user a new temporary password
//! (with a fresh code of their own), optionally resetting the user's second factor; the
//! password is shown once on the user's page, reached through a one-time link
//! (post/redirect/get); a refusal answers this module's page with status 422.

use super::console_form::{field, value, ConsoleForm, Fields};
use super::flash::{redirect_revealed, Flash, Revealed};
use super::frame::{ConsoleError, ConsoleResult, PageFrame};
use super::pages::render_rejected;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use tumbler_core::AuthError;
use tumbler_domain::ids::UserId;

#[derive(Template)]
#[template(path = "user_reset.html")]
struct ResetPage {
    frame: PageFrame,
    id: String,
}

/// `POST /users/{id}/reset-password` (fields `csrf`, `totp`, `reset_totp`).
pub async fn reset(
    State(state): State<AppState>,
    Path(id): Path<UserId>,
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
        .reset_password_of(&p, &id, reset_totp, code, &origin)
        .await;
    match result {
        Ok(pw) => {
            let username = match state.users.get(&p, &id).await {
                Ok(u) => u.user.username,
                Err(_) => id.to_string(),
            };
            let done = if reset_totp {
                format!("{username} has a new temporary password (changed at the next login); their sessions have ended and their second factor is off until they enrol again.")
            } else {
                format!("{username} has a new temporary password (changed at the next login); their sessions have ended.")
            };
            let revealed = Revealed::temporary_password(username, &pw);
            Ok(redirect_revealed(
                &state,
                &frame,
                &super::user_edit::edit_address(&id),
                Flash::success(done),
                revealed,
            ))
        }
        Err(e @ (AuthError::Store(_) | AuthError::Hashing(_) | AuthError::Vault(_))) => {
            Err(ConsoleError::internal("resetting a password failed", &e))
        }
        Err(e) => Ok(render_rejected(&ResetPage {
            frame: frame.with_flash(Some(Flash::error(e.to_string()).with_code(e.code()))),
            id: id.to_string(),
        })),
    }
}
