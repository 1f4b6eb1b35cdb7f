//! Administration > Settings > Password: the password policy form.

use super::console_form::{value, ConsoleForm, Fields};
use super::flash::{redirect_after, Flash};
use super::frame::{ConsoleError, ConsolePage, ConsoleResult, PageFrame, SignedIn};
use super::pages::{render, render_rejected};
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use tumbler_core::{PolicyError, Principal};
use tumbler_domain::password_policy::{OtherSessions, PasswordPolicy};
use tumbler_domain::permission::Permission;

#[derive(Template)]
#[template(path = "settings_password.html")]
struct SettingsPage {
    frame: PageFrame,
    p: PasswordPolicy,
    blocklist: String,
    expiry: String,
    keep: bool,
}

fn no_settings_permission() -> ConsoleError {
    ConsoleError::Forbidden("You do not have permission to change settings.".to_owned())
}

/// Refuses a caller who may not change settings.
pub(super) fn require_settings(p: &Principal) -> Result<(), ConsoleError> {
    if p.can(Permission::SettingsManage) {
        Ok(())
    } else {
        Err(no_settings_permission())
    }
}

/// The page of a caller who may change settings, else the refusal.
pub(super) fn settings_manager(SignedIn(page): SignedIn) -> Result<ConsolePage, ConsoleError> {
    require_settings(&page.0)?;
    Ok(page)
}

/// The page's address.
const PAGE: &str = "/settings/password";

fn page(frame: PageFrame, p: PasswordPolicy) -> SettingsPage {
    SettingsPage {
        frame,
        blocklist: p.custom_blocklist.join("\n"),
        expiry: p.expiry_days.map(|d| d.to_string()).unwrap_or_default(),
        keep: p.other_sessions == OtherSessions::KeepUntilNextLogin,
        p,
    }
}

/// `GET /settings/password`
pub async fn show(State(state): State<AppState>, session: SignedIn) -> ConsoleResult {
    let ConsolePage(_, frame) = settings_manager(session)?;
    match state.policy.get().await {
        Ok(policy) => Ok(render(&page(frame, policy))),
        Err(e) => Err(ConsoleError::internal("reading the policy failed", &e)),
    }
}

/// Reads the form into a policy; a field that is not a number is an error naming it.
fn parse(fields: &[(String, String)]) -> Result<PasswordPolicy, String> {
    let get = |k: &str| value(fields, k).map(|v| v.trim().to_owned());
    let on = |k: &str| get(k).is_some();
    let num = |k: &str| -> Result<usize, String> {
        get(k)
            .unwrap_or_default()
            .parse()
            .map_err(|_| format!("{} must be a number", k.replace('_', " ")))
    };
    let small = |k: &str| -> Result<u32, String> {
        num(k).and_then(|n| u32::try_from(n).map_err(|_| format!("{k} is too large")))
    };
    Ok(PasswordPolicy {
        min_length: num("min_length")?,
        min_length_with_mfa: num("min_length_with_mfa")?,
        max_length: num("max_length")?,
        builtin_blocklist: on("builtin_blocklist"),
        custom_blocklist: get("custom_blocklist")
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        min_strength: u8::try_from(num("min_strength")?)
            .map_err(|_| "min strength goes from 0 to 4".to_owned())?,
        disallowed_chars: get("disallowed_chars").unwrap_or_default(),
        require_lowercase: on("require_lowercase"),
        require_uppercase: on("require_uppercase"),
        require_digit: on("require_digit"),
        require_symbol: on("require_symbol"),
        history: num("history")?,
        expiry_days: match get("expiry_days").filter(|v| !v.is_empty()) {
            None => None,
            Some(_) => Some(small("expiry_days")?),
        },
        expiry_warning_days: small("expiry_warning_days")?,
        other_sessions: if get("other_sessions").as_deref() == Some("keep_until_next_login") {
            OtherSessions::KeepUntilNextLogin
        } else {
            OtherSessions::Revoke
        },
        max_failed_logins: small("max_failed_logins")?,
        lockout_minutes: small("lockout_minutes")?,
        session_idle_minutes: small("session_idle_minutes")?,
        session_absolute_hours: small("session_absolute_hours")?,
        max_sessions_per_user: small("max_sessions_per_user")?,
    })
}

/// `POST /settings/password`
pub async fn save(State(state): State<AppState>, form: ConsoleForm<Fields>) -> ConsoleResult {
    let (p, frame, origin, fields) = form.parts();
    let current = state.policy.get().await.unwrap_or_default();
    let policy = match parse(&fields) {
        Ok(policy) => policy,
        Err(message) => {
            return Ok(render_rejected(&page(
                frame.with_error(Some(message)),
                current,
            )))
        }
    };
    match state.policy.set(&p, policy.clone(), &origin).await {
        Ok(_) => Ok(redirect_after(
            &state,
            &frame,
            PAGE,
            Flash::success(
                "Saved. Users whose password no longer complies must change it at their next login.",
            ),
        )),
        Err(PolicyError::Forbidden) => Err(no_settings_permission()),
        Err(PolicyError::Invalid(message)) => Ok(render_rejected(&page(
            frame.with_error(Some(message)),
            policy,
        ))),
        Err(e) => Err(ConsoleError::internal("saving the policy failed", &e)),
    }
}
