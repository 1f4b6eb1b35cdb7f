//! Console users' authentication: login and sessions, API tokens, HTTP Basic, changing one's
//! own password, the first administrator and host-side password resets.

mod attempts;
mod login;
mod password;
mod reauth;
mod reset;
mod tokens;
mod totp;
mod totp_enrolment;

pub use attempts::MAX_USERNAME_CHARS;
pub use reauth::Reauthentication;
pub use totp::enrolment_uri;
pub use totp_enrolment::{TotpEnrolment, TotpStatus};

use crate::throttle::SourceThrottle;
use chrono::Duration;
use secrecy::SecretString;
use std::collections::BTreeSet;
use std::sync::Arc;
use tumbler_domain::ids::{DomainId, SessionId, TokenId};
use tumbler_domain::password_policy::RuleViolation;
use tumbler_domain::permission::Permission;
use tumbler_domain::user::User;
use tumbler_domain::Clock;
use tumbler_store::{ApiTokenRow, SessionRow, Store, StoreError};

/// Prefix of every API token, so a leaked one is recognisable.
pub const TOKEN_PREFIX: &str = "tmb_";

/// Name of the administrator created on first start.
pub const INITIAL_ADMIN: &str = "admin";

/// Authentication settings from the configuration (sessions and lockout follow the password
/// policy, which administrators edit at run time).
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// How long a temporary (one-time) password works.
    pub temp_password_ttl: Duration,
    /// Failed logins from one source address within `source_window` before it is throttled.
    pub max_failures_per_source: usize,
    /// The window of `max_failures_per_source`.
    pub source_window: Duration,
    /// After a fresh code's check, how long the same console session may do further sensitive
    /// actions without another code; zero turns the window off.
    pub sensitive_window: Duration,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            temp_password_ttl: Duration::hours(72),
            max_failures_per_source: 20,
            source_window: Duration::minutes(15),
            sensitive_window: Duration::minutes(5),
        }
    }
}

/// Why authentication or an account action failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown user, wrong password, wrong or missing second factor, disabled or locked
    /// account: one answer for all, so a guess learns nothing about which factor was wrong.
    #[error("invalid username, password or authentication code")]
    InvalidCredentials,
    /// Too many failed attempts: the account is locked for a while (answered only to a caller
    /// who is signed in already; a login gets [`AuthError::InvalidCredentials`]).
    #[error("too many failed attempts: your account is locked for a while")]
    AccountLocked,
    /// Adding a credential needs the current password or a fresh authentication code.
    #[error("confirm with your current password (current_password) or a fresh authentication code (totp)")]
    ReauthenticationRequired,
    /// No valid session or token was presented, or it has expired.
    #[error("authentication required")]
    Unauthenticated,
    /// The password must be changed before anything else.
    #[error("you must change your password before doing anything else")]
    PasswordChangeRequired,
    /// This operation needs HTTP Basic authentication.
    #[error("changing your password over REST requires HTTP Basic authentication with your current password, not a session or token")]
    BasicAuthRequired,
    /// The user has no local password to change.
    #[error("you have no local password; it cannot be changed here")]
    NoLocalPassword,
    /// The current password given was wrong.
    #[error("the current password is not correct")]
    WrongCurrentPassword,
    /// The new password breaks the policy; every broken rule is listed.
    #[error("the new password does not meet the password policy")]
    PolicyViolation(Vec<RuleViolation>),
    /// No such user.
    #[error("no such user")]
    UnknownUser,
    /// No such token.
    #[error("no such token")]
    UnknownToken,
    /// Too many failed logins from this address; try again later.
    #[error("too many failed logins from your address; try again in {retry_after_secs} seconds")]
    RateLimited {
        /// Seconds until the next attempt is accepted.
        retry_after_secs: i64,
    },
    /// The user already has the most sessions allowed.
    #[error(
        "you already have the maximum number of sessions; log out elsewhere or end a session first"
    )]
    SessionLimit,
    /// The temporary password has expired.
    #[error("your temporary password has expired; ask an administrator for a new one")]
    TemporaryPasswordExpired,
    /// The caller lacks the permission.
    #[error("you do not have permission for this")]
    Forbidden,
    /// The account has TOTP: the request must carry a code.
    #[error("an authentication code is required")]
    TotpRequired,
    /// The code was wrong, expired or already used.
    #[error("the authentication code is not valid")]
    InvalidTotp,
    /// The code of a step already used: each code works once.
    #[error("this code was just used; wait for the next code")]
    TotpReused,
    /// A role of the user requires MFA: enrol TOTP before doing anything else.
    #[error("your role requires two-factor authentication: enrol an authenticator app first")]
    MfaEnrolmentRequired,
    /// Sensitive actions need TOTP, and the user has none.
    #[error("this action needs two-factor authentication: enrol an authenticator app first")]
    MfaNotEnrolled,
    /// TOTP is already enabled (disable it first to enrol a new device).
    #[error("two-factor authentication is already enabled")]
    TotpAlreadyEnabled,
    /// A role of the user requires two-factor authentication: it cannot be turned off.
    #[error("your role requires two-factor authentication, so it cannot be turned off; ask an administrator if your role should change")]
    MfaRequiredByRole,
    /// No enrolment is waiting for confirmation.
    #[error("no two-factor enrolment is in progress")]
    NoTotpEnrolment,
    /// The vault failed.
    #[error("internal error")]
    Vault(#[from] crate::VaultError),
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// The store failed; details are logged, not returned.
    #[error("internal error")]
    Store(#[from] StoreError),
    /// Password hashing failed.
    #[error("internal error")]
    Hashing(String),
    /// An administrator tried to reset their own password (change it with the current one).
    #[error("you cannot reset your own password; change it with your current password")]
    OwnPasswordReset,
}

impl AuthError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidCredentials => "invalid_credentials",
            Self::AccountLocked => "account_locked",
            Self::ReauthenticationRequired => "reauthentication_required",
            Self::Unauthenticated => "unauthenticated",
            Self::PasswordChangeRequired => "password_change_required",
            Self::BasicAuthRequired => "basic_auth_required",
            Self::NoLocalPassword => "no_local_password",
            Self::WrongCurrentPassword => "wrong_current_password",
            Self::PolicyViolation(_) => "password_policy_violation",
            Self::UnknownUser => "user_not_found",
            Self::UnknownToken => "token_not_found",
            Self::RateLimited { .. } => "rate_limited",
            Self::SessionLimit => "session_limit_reached",
            Self::TemporaryPasswordExpired => "temporary_password_expired",
            Self::Forbidden => "forbidden",
            Self::TotpRequired => "totp_required",
            Self::InvalidTotp => "invalid_totp",
            Self::TotpReused => "totp_reused",
            Self::MfaEnrolmentRequired => "mfa_enrolment_required",
            Self::MfaNotEnrolled => "mfa_not_enrolled",
            Self::TotpAlreadyEnabled => "totp_already_enabled",
            Self::NoTotpEnrolment => "no_totp_enrolment",
            Self::MfaRequiredByRole => "mfa_required_by_role",
            Self::Vault(_) => "internal_error",
            Self::Invalid(_) => "invalid_request",
            Self::Store(_) | Self::Hashing(_) => "internal_error",
            Self::OwnPasswordReset => "own_password_reset",
        }
    }
}

/// How a request was authenticated. Its `Debug` leaves the CSRF token out.
#[derive(Clone, PartialEq, Eq)]
pub enum AuthMethod {
    /// A console session cookie.
    Session {
        /// The session.
        id: SessionId,
        /// Its CSRF token.
        csrf_token: String,
    },
    /// An API token.
    Token(TokenId),
    /// HTTP Basic with the user's password.
    Basic,
    /// A registered TLS client certificate.
    Certificate,
}

impl std::fmt::Debug for AuthMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Session { id, .. } => f
                .debug_struct("Session")
                .field("id", id)
                .field("csrf_token", &"<redacted>")
                .finish(),
            Self::Token(id) => f.debug_tuple("Token").field(id).finish(),
            Self::Basic => f.write_str("Basic"),
            Self::Certificate => f.write_str("Certificate"),
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Who.
    pub user: User,
    /// How.
    pub method: AuthMethod,
    /// What the user's roles allow, resolved at this request (a role change applies at once).
    pub permissions: BTreeSet<Permission>,
    /// Whether this request's authentication included the second factor (or the user has
    /// none): HTTP Basic alone does not, for users with TOTP.
    pub mfa_verified: bool,
    /// A role requires MFA and the user has not enrolled yet.
    pub mfa_enrolment_required: bool,
    /// The domains the user belongs to.
    pub domains: Vec<DomainId>,
    /// The domain the user works in (the session's choice, else the first assigned).
    pub active_domain: Option<DomainId>,
    /// "Manage objects from all assigned domains".
    pub all_domains: bool,
}

impl Principal {
    /// The domains whose objects the caller sees: all assigned ones with "manage objects from
    /// all assigned domains", else the active one.
    pub fn visible_domains(&self) -> Vec<DomainId> {
        if self.all_domains {
            self.domains.clone()
        } else {
            self.active_domain.iter().cloned().collect()
        }
    }

    /// Whether the caller holds `permission` and has no pending password change.
    pub fn can(&self, permission: Permission) -> bool {
        self.require_active().is_ok() && self.permissions.contains(&permission)
    }

    /// Fails with the service's "forbidden" error unless [`Principal::can`], or with the
    /// reason the account cannot act at all (password change or MFA pending). The one
    /// permission check every service uses.
    pub fn require<E: Refusal>(&self, permission: Permission) -> Result<(), E> {
        self.require_active()?;
        if self.can(permission) {
            Ok(())
        } else {
            Err(E::forbidden())
        }
    }

    /// Fails unless the account is fully usable: the password is not awaiting a change, a
    /// second factor was given when the user has one, and MFA enrolment is not pending.
    pub fn require_active(&self) -> Result<(), AuthError> {
        if self.user.must_change_password {
            Err(AuthError::PasswordChangeRequired)
        } else if !self.mfa_verified && self.method == AuthMethod::Basic {
            // The password was right but the code is missing: answered like a wrong password,
            // so HTTP Basic cannot be used to test passwords of users with TOTP.
            Err(AuthError::InvalidCredentials)
        } else if !self.mfa_verified {
            Err(AuthError::TotpRequired)
        } else if self.mfa_enrolment_required {
            Err(AuthError::MfaEnrolmentRequired)
        } else {
            Ok(())
        }
    }
}

/// A successful login.
pub struct LoginSuccess {
    /// The user.
    pub user: User,
    /// The new session.
    pub session: SessionRow,
    /// The cookie value: shown to the client once, stored only as a hash.
    pub cookie_secret: SecretString,
}

/// A newly created API token.
pub struct NewToken {
    /// The stored record.
    pub record: ApiTokenRow,
    /// The token itself, shown once.
    pub token: SecretString,
}

/// Authentication and own-account operations.
#[derive(Clone)]
pub struct AuthService {
    store: Store,
    vault: crate::Vault,
    clock: Arc<dyn Clock>,
    settings: AuthSettings,
    throttle: Arc<SourceThrottle>,
}

impl AuthService {
    /// A service over `store` (TOTP secrets sealed in `vault`) with the given clock and settings.
    pub fn new(
        store: Store,
        vault: crate::Vault,
        clock: Arc<dyn Clock>,
        settings: AuthSettings,
    ) -> Self {
        let throttle = Arc::new(SourceThrottle::new(
            settings.max_failures_per_source,
            settings.source_window,
        ));
        Self {
            store,
            vault,
            clock,
            settings,
            throttle,
        }
    }

    /// The caller `user` authenticated by `method`, with the permissions of the user's roles.
    pub(crate) async fn principal(
        &self,
        user: User,
        method: AuthMethod,
    ) -> Result<Principal, AuthError> {
        let roles = self.store.roles().await?;
        let permissions = roles
            .iter()
            .filter(|r| user.roles.contains(&r.name))
            .flat_map(|r| r.permissions.iter().copied())
            .collect();
        let mfa_required = roles
            .iter()
            .any(|r| r.require_mfa && user.roles.contains(&r.name));
        let domains: Vec<DomainId> = self
            .store
            .user_domains(&user.id)
            .await?
            .into_iter()
            .map(|d| d.id)
            .collect();
        let chosen = match &method {
            AuthMethod::Session { id, .. } => self.store.session_active_domain(id).await?,
            _ => None,
        };
        let active_domain = chosen
            .filter(|d| domains.contains(d))
            .or_else(|| domains.first().cloned());
        let all_domains = self.store.user_all_domains(&user.id).await?;
        Ok(Principal {
            mfa_verified: !user.mfa_enabled
                || !matches!(method, AuthMethod::Basic | AuthMethod::Certificate),
            mfa_enrolment_required: mfa_required && !user.mfa_enabled,
            domains,
            active_domain,
            all_domains,
            user,
            method,
            permissions,
        })
    }
}

/// A service error with a "forbidden" case that can also carry an [`AuthError`]: what
/// [`Principal::require`] answers with.
pub trait Refusal: From<AuthError> {
    /// The caller lacks the permission.
    fn forbidden() -> Self;
}

impl Refusal for AuthError {
    fn forbidden() -> Self {
        AuthError::Forbidden
    }
}

#[cfg(test)]
mod debug_tests {
    use super::AuthMethod;
    use tumbler_domain::ids::SessionId;

    #[test]
    fn the_csrf_token_never_shows_in_debug() {
        let method = AuthMethod::Session {
            id: SessionId::from_string("s-1"),
            csrf_token: "canary-csrf-token".to_owned(),
        };
        for text in [format!("{method:?}"), format!("{method:#?}")] {
            assert!(!text.contains("canary-csrf"), "{text}");
            assert!(text.contains("s-1"), "{text}");
        }
    }
}
