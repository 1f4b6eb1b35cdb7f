//! User Settings, two-factor authentication: enrol an authenticator app by QR code, cancel a
//! pending enrolment, see how many recovery codes are left, regenerate them, turn it off.
//!
//! Every form answers with a redirect (post/redirect/get). The enrolment key and new recovery
//! codes reach the page through a one-time link ([`redirect_revealed`]); the QR code is drawn
//! on that page from the revealed key. A wrong code leaves the enrolment pending with the same
//! key, so the entry already scanned into the app keeps working.

use super::console_form::{ConsoleForm, NoFields};
use super::flash::{
    redirect_after, redirect_revealed, Flash, RevealLink, Revealed, RevealedSecret,
};
use super::frame::{ConsoleError, ConsolePage, ConsoleResult, PageFrame, SignedIn};
use super::pages::render_uncached;
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use secrecy::SecretString;
use serde::Deserialize;
use tumbler_core::{enrolment_uri, AuthError, Principal, TotpStatus};

/// The page's address.
const PAGE: &str = "/account/mfa";

/// The label of a revealed enrolment key (the page draws its QR code).
const KEY_LABEL: &str = "Key";

/// The label of each revealed recovery code.
const RECOVERY_LABEL: &str = "Recovery code";

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
    status: TotpStatus,
    enrolment: Option<EnrolmentView>,
    recovery_codes: Vec<String>,
}

/// A sentence for the user from a refusal (the code goes in small print beside it).
fn sentence(e: &AuthError) -> String {
    let text = e.to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => text,
    }
}

/// The refusal of a form as a flash, or an internal error.
fn refused(e: AuthError, what: &str) -> Result<Flash, ConsoleError> {
    match e {
        e @ (AuthError::Store(_) | AuthError::Vault(_) | AuthError::Hashing(_)) => {
            Err(ConsoleError::internal(what, &e))
        }
        e => Ok(Flash::error(sentence(&e)).with_code(e.code())),
    }
}

/// `GET /account/mfa`, with `?revealed=` the one-time link to an enrolment key or new
/// recovery codes.
pub async fn show(
    State(state): State<AppState>,
    SignedIn(ConsolePage(p, mut frame)): SignedIn,
    link: RevealLink,
) -> ConsoleResult {
    if p.user.must_change_password {
        return Ok(Redirect::to("/account/password").into_response());
    }
    let status = state
        .auth
        .totp_status(&p)
        .await
        .map_err(|e| ConsoleError::internal("two-factor status failed", &e))?;
    let mut enrolment = None;
    let mut recovery_codes = Vec::new();
    if let Some(revealed) = link.open(&state, &mut frame) {
        for s in revealed.secrets {
            if s.label == KEY_LABEL && status.pending {
                let uri = enrolment_uri(&p.user.username, &s.value);
                enrolment = Some(EnrolmentView {
                    qr_svg: super::qr::svg(&uri).unwrap_or_default(),
                    secret: s.value.to_string(),
                });
            } else if s.label.starts_with(RECOVERY_LABEL) {
                recovery_codes.push(s.value.to_string());
            }
        }
    }
    Ok(render_uncached(&MfaPage {
        required: p.mfa_enrolment_required,
        frame,
        status,
        enrolment,
        recovery_codes,
    }))
}

/// The enrolment form: the CSRF token and the current password (a stolen session must not
/// enrol an authenticator of its own, nor see a pending key).
#[derive(Deserialize)]
pub struct BeginForm {
    #[serde(default)]
    current_password: String,
}

/// `POST /account/mfa/begin`: starts enrolment (or shows the pending key again).
pub async fn begin(State(state): State<AppState>, form: ConsoleForm<BeginForm>) -> ConsoleResult {
    let (p, frame, origin, form) = form.parts();
    let password = Some(SecretString::from(form.current_password));
    match state.auth.begin_totp(&p, password, &origin).await {
        Ok(e) => Ok(redirect_revealed(
            &state,
            &frame,
            PAGE,
            Flash::success(
                "Scan the code below, or type the key, then enter the code your app shows.",
            ),
            Revealed {
                subject: format!("{} (authenticator app)", p.user.username),
                secrets: vec![RevealedSecret {
                    label: KEY_LABEL.to_owned(),
                    value: e.secret_base32,
                }],
            },
        )),
        Err(e) => Ok(redirect_after(
            &state,
            &frame,
            PAGE,
            refused(e, "TOTP enrolment failed")?,
        )),
    }
}

/// A form with a code from the authenticator app (or a recovery code where accepted).
#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

/// The new recovery codes, shown once through a one-time link.
fn recovery_revealed(p: &Principal, codes: Vec<zeroize::Zeroizing<String>>) -> Revealed {
    Revealed {
        subject: format!("{} (recovery codes)", p.user.username),
        secrets: codes
            .into_iter()
            .enumerate()
            .map(|(i, value)| RevealedSecret {
                label: format!("{RECOVERY_LABEL} {}", i + 1),
                value,
            })
            .collect(),
    }
}

/// `POST /account/mfa/confirm`: a first code turns two-factor authentication on; a wrong one
/// leaves the enrolment pending.
pub async fn confirm(State(state): State<AppState>, form: ConsoleForm<CodeForm>) -> ConsoleResult {
    let (p, frame, origin, form) = form.parts();
    match state.auth.confirm_totp(&p, &form.code, &origin).await {
        Ok(codes) => {
            Ok(redirect_revealed(
                &state,
                &frame,
                PAGE,
                Flash::success("Two-factor authentication is on. Save your recovery codes now: they are not shown again."),
                recovery_revealed(&p, codes),
            ))
        }
        Err(e @ (AuthError::InvalidTotp | AuthError::TotpReused)) => {
            let flash = Flash::error(format!(
                "{} Your enrolment is still waiting: enter the code your app shows now.",
                sentence(&e)
            ))
            .with_code(e.code());
            Ok(redirect_after(&state, &frame, PAGE, flash))
        }
        Err(e) => Ok(redirect_after(
            &state,
            &frame,
            PAGE,
            refused(e, "TOTP confirmation failed")?,
        )),
    }
}

/// `POST /account/mfa/cancel`: cancels a pending enrolment.
pub async fn cancel(State(state): State<AppState>, form: ConsoleForm<NoFields>) -> ConsoleResult {
    let (p, frame, origin, _) = form.parts();
    let flash = match state.auth.cancel_totp(&p, &origin).await {
        Ok(()) => Flash::success(
            "Enrolment cancelled. Remove the Tumbler entry from your authenticator app; setting up again gives a new key.",
        ),
        Err(e) => refused(e, "cancelling TOTP enrolment failed")?,
    };
    Ok(redirect_after(&state, &frame, PAGE, flash))
}

/// `POST /account/mfa/recovery-codes`: new recovery codes (needs a fresh code).
pub async fn recovery_codes(
    State(state): State<AppState>,
    form: ConsoleForm<CodeForm>,
) -> ConsoleResult {
    let (p, frame, origin, form) = form.parts();
    match state
        .auth
        .regenerate_recovery_codes(&p, Some(&form.code), &origin)
        .await
    {
        Ok(codes) => {
            Ok(redirect_revealed(
                &state,
                &frame,
                PAGE,
                Flash::success("New recovery codes made; the old ones no longer work. Save these now: they are not shown again."),
                recovery_revealed(&p, codes),
            ))
        }
        Err(e) => Ok(redirect_after(
            &state,
            &frame,
            PAGE,
            refused(e, "regenerating recovery codes failed")?,
        )),
    }
}

/// `POST /account/mfa/disable`: turns two-factor authentication off (needs a fresh code;
/// refused when a role requires it).
pub async fn disable(State(state): State<AppState>, form: ConsoleForm<CodeForm>) -> ConsoleResult {
    let (p, frame, origin, form) = form.parts();
    let flash = match state.auth.disable_totp(&p, Some(&form.code), &origin).await {
        Ok(()) => Flash::success(
            "Two-factor authentication is off; your recovery codes no longer work. Remove the Tumbler entry from your app.",
        ),
        Err(e) => refused(e, "turning TOTP off failed")?,
    };
    Ok(redirect_after(&state, &frame, PAGE, flash))
}
