//! What every console page shares: the [`PageFrame`] (who is logged in, the session's CSRF
//! token, the active domain, the flash message), the extractors that build it from the session
//! ([`ConsolePage`], [`SignedIn`]; forms get it from [`super::console_form::ConsoleForm`]), and
//! [`ConsoleError`], the one error of console pages.
//!
//! A page struct embeds `frame: PageFrame` and its template reads `frame.display_name`,
//! `frame.csrf` (through the `csrf_input` macro) and `frame.flash` (through the `flash` macro); since the
//! frame only comes from the session, a page cannot forget the token or the domain.

use super::flash::Flash;
use super::pages::UiSession;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use tumbler_core::Principal;
use tumbler_domain::permission::Permission;

/// The part of every console page that comes from the session.
#[derive(Clone)]
pub struct PageFrame {
    /// The logged-in user's display name (banner).
    pub display_name: String,
    /// The session's CSRF token, for every form of the page.
    pub csrf: String,
    /// The id of the domain the user works in, empty when none.
    pub domain: String,
    /// The message about the last action (success, warning or error), shown once.
    pub flash: Option<Flash>,
    /// The banner links to pages the user may open; the services still check each page.
    pub links: BannerLinks,
}

/// Which permission-bound pages the banner links to (a link to a page that would only refuse
/// is not shown).
#[derive(Clone, Copy, Debug, Default)]
pub struct BannerLinks {
    /// The audit log (`audit.read`).
    pub audit: bool,
    /// The Jobs page (`assets.read`, as the job listing requires).
    pub jobs: bool,
}

impl BannerLinks {
    /// The links `p`'s permissions open.
    pub fn of(p: &Principal) -> Self {
        Self {
            audit: p.can(Permission::AuditRead),
            jobs: p.can(Permission::AssetsRead),
        }
    }
}

impl std::fmt::Debug for PageFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The CSRF token keys the session's messages and revealed secrets: never printed.
        f.debug_struct("PageFrame")
            .field("display_name", &self.display_name)
            .field("csrf", &"[redacted]")
            .field("domain", &self.domain)
            .field("flash", &self.flash)
            .field("links", &self.links)
            .finish()
    }
}

impl PageFrame {
    /// The frame of `p`'s pages with the session's CSRF token, no message yet.
    pub fn of(p: &Principal, csrf: String) -> Self {
        Self {
            display_name: p.user.display_name.clone(),
            csrf,
            domain: p
                .active_domain
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            flash: None,
            links: BannerLinks::of(p),
        }
    }

    /// The same frame with `error` (if any) as an error message.
    pub fn with_error(mut self, error: Option<String>) -> Self {
        if let Some(e) = error {
            self.flash = Some(Flash::error(e));
        }
        self
    }

    /// The same frame with `flash` as its message.
    pub fn with_flash(mut self, flash: Option<Flash>) -> Self {
        if flash.is_some() {
            self.flash = flash;
        }
        self
    }
}

/// Where a caller whose account is not yet fully usable (a pending password change or MFA
/// enrolment) is sent.
fn unfinished(p: &Principal) -> Option<&'static str> {
    if p.user.must_change_password {
        Some("/account/password")
    } else if p.mfa_enrolment_required {
        Some("/account/mfa")
    } else {
        None
    }
}

/// Refuses a caller whose account is not yet fully usable (sent to the page that finishes it).
pub fn require_active(p: &Principal) -> Result<(), ConsoleError> {
    match unfinished(p) {
        Some(to) => Err(ConsoleError::Unfinished(to)),
        None => Ok(()),
    }
}

/// A page request of a logged-in user whose account is fully usable; without a session the
/// browser goes to the login page, with a pending password change or MFA enrolment to the
/// page that finishes it.
pub struct ConsolePage(
    /// The caller behind the session.
    pub Principal,
    /// The page's frame, built from the session.
    pub PageFrame,
);

impl FromRequestParts<AppState> for ConsolePage {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let SignedIn(page) = SignedIn::from_request_parts(parts, state).await?;
        require_active(&page.0)?;
        Ok(page)
    }
}

/// A page request of any logged-in user, for the pages a pending password change or MFA
/// enrolment still reaches (password, two-factor, domain, sessions).
pub struct SignedIn(pub ConsolePage);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let UiSession(session, _) = match UiSession::from_request_parts(parts, state).await {
            Ok(found) => found,
            Err(never) => match never {},
        };
        let (principal, csrf) = session.ok_or(ConsoleError::LoginRequired)?;
        let flash = state.console.take_flash(&csrf, std::time::Instant::now());
        let frame = PageFrame::of(&principal, csrf).with_flash(flash);
        // Kept for the error page, which shows the banner to a caller it knows.
        super::error_page::remember(&parts.extensions, &frame);
        Ok(Self(ConsolePage(principal, frame)))
    }
}

/// What a console handler answers: a page, or the error page.
pub type ConsoleResult = Result<Response, ConsoleError>;

/// Why a console page cannot be shown; answered as a redirect or an error page with the
/// message. Messages are for the user: never a secret, never an internal detail.
#[derive(Debug)]
pub enum ConsoleError {
    /// No session: the browser goes to the login page.
    LoginRequired,
    /// The account is not yet fully usable: the browser goes to the page that finishes it.
    Unfinished(&'static str),
    /// The caller may not do or see this (403).
    Forbidden(String),
    /// The object does not exist or is outside the caller's domains (404).
    NotFound(String),
    /// The request cannot be acted on as sent (400).
    Invalid(String),
    /// A fault of this server, logged where it happened (500, no detail).
    Internal,
}

/// The text of the answer to an internal error.
pub(super) const INTERNAL_MESSAGE: &str = "internal error";

impl ConsoleError {
    /// The refusal of an action the caller has no permission for.
    pub fn denied() -> Self {
        Self::Forbidden("You do not have permission for this.".to_owned())
    }

    /// Logs `e` in full as the failure of `what` and answers without detail.
    pub fn internal(what: &str, e: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %e, "{what}");
        Self::Internal
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::LoginRequired => "login_required",
            Self::Unfinished(_) => "account_unfinished",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Invalid(_) => "invalid",
            Self::Internal => "internal",
        }
    }

    /// The status of the answer.
    pub(super) fn status(&self) -> StatusCode {
        match self {
            Self::LoginRequired | Self::Unfinished(_) => StatusCode::SEE_OTHER,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Invalid(_) => StatusCode::BAD_REQUEST,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}
