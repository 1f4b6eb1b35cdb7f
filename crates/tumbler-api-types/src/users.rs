//! Users, their sessions and API tokens.

use crate::auth::UserView;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tumbler_domain::password_status::PasswordStatus;
#[cfg(feature = "openapi")]
use tumbler_domain::user::{UserKind, UserStatus};

/// A user as the API shows it: who they are (the same fields as in the login answer) and the
/// state of their password, lockout and domains.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserOut {
    /// The user.
    #[serde(flatten)]
    pub user: UserView,
    /// `active`, `temporary` (a temporary password to change at the next login), `expired`
    /// (a temporary password whose time ran out), `expired_by_age` (older than the policy's
    /// expiry), `policy_tightened` (a login found it no longer meets the policy) or `none`.
    pub password_status: PasswordStatus,
    /// Whether the account is locked out now.
    pub locked_out: bool,
    /// Until when.
    pub locked_until: Option<DateTime<Utc>>,
    /// Domain names.
    pub domains: Vec<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// `POST /api/v1/users` body.
// `Debug` is written out below: the password and the code must never reach a log.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateUser {
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// `local` (default) or `remote`.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<UserKind>))]
    pub kind: Option<String>,
    /// Role names.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Domain names (default: the `Default` domain).
    #[serde(default)]
    pub domains: Vec<String>,
    /// Your current password: required (it proves again who you are, so a stolen session or
    /// token cannot create a user or grant access by itself) unless you give `totp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = Password, write_only))]
    pub current_password: Option<String>,
    /// Your own fresh authentication code (TOTP or recovery code), in place of
    /// `current_password`; required when you authenticate with HTTP Basic or a certificate
    /// and have TOTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(write_only))]
    pub totp: Option<String>,
}

impl std::fmt::Debug for CreateUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateUser")
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("email", &self.email)
            .field("kind", &self.kind)
            .field("roles", &self.roles)
            .field("domains", &self.domains)
            .field("current_password", &redacted(&self.current_password))
            .field("totp", &redacted(&self.totp))
            .finish()
    }
}

/// What `Debug` shows of a secret: whether it is there.
fn redacted(secret: &Option<String>) -> Option<&'static str> {
    secret.as_ref().map(|_| "[redacted]")
}

/// A created user: the temporary password is shown this once.
// No `Debug`: the password must never reach a log.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedUserOut {
    /// The user.
    pub user: UserOut,
    /// The temporary password (local users); must be changed at first login.
    pub temporary_password: Option<String>,
}

/// A session as listed (never its cookie).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionOut {
    /// Id.
    pub id: String,
    /// Address it was created from.
    pub source: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last request.
    pub last_seen_at: DateTime<Utc>,
    /// Absolute end.
    pub expires_at: DateTime<Utc>,
    /// Whether this is the session making the request.
    pub current: bool,
}

/// An API token as listed (never the token itself).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// First characters, to recognise it.
    pub prefix: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Expiry, if any.
    pub expires_at: Option<DateTime<Utc>>,
    /// Last use.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Revocation time.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new token: the only time the token is shown.
// No `Debug`: the token must never reach a log.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedToken {
    /// The stored record.
    #[serde(flatten)]
    pub record: TokenView,
    /// The token; shown once.
    pub token: String,
}

/// `PATCH /api/v1/users/{id}` body; absent fields stay as they are. A change that could give
/// access (any change of roles, a domain added, a disabled user enabled) needs
/// `current_password` or `totp`.
// `Debug` is written out below: the password and the code must never reach a log.
#[derive(Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PatchUser {
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Email; `null` clears it.
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub email: Option<Option<String>>,
    /// Role names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// `enabled` or `disabled` (disabling ends the user's sessions at once).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<UserStatus>))]
    pub status: Option<String>,
    /// Domain names (at least one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domains: Option<Vec<String>>,
    /// Your current password: required (it proves again who you are, so a stolen session or
    /// token cannot create a user or grant access by itself) unless you give `totp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = Password, write_only))]
    pub current_password: Option<String>,
    /// Your own fresh authentication code (TOTP or recovery code), in place of
    /// `current_password`; required when you authenticate with HTTP Basic or a certificate
    /// and have TOTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(write_only))]
    pub totp: Option<String>,
}

impl std::fmt::Debug for PatchUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatchUser")
            .field("display_name", &self.display_name)
            .field("email", &self.email)
            .field("roles", &self.roles)
            .field("status", &self.status)
            .field("domains", &self.domains)
            .field("current_password", &redacted(&self.current_password))
            .field("totp", &redacted(&self.totp))
            .finish()
    }
}

/// Reads a present field (even `null`) as `Some`, so `null` and absent differ.
fn double_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// `POST /api/v1/users/me/tokens` body.
// No `Debug`: the password must never reach a log.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateTokenRequest {
    /// A name to recognise the token by.
    pub name: String,
    /// Optional expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// A fresh TOTP code: required when authenticating with HTTP Basic or a certificate as a
    /// user with TOTP; otherwise it may stand for `current_password`.
    pub totp: Option<String>,
    /// The current password: required unless authenticating with HTTP Basic or giving `totp`.
    #[cfg_attr(feature = "openapi", schema(format = Password))]
    pub current_password: Option<String>,
}

/// `POST /api/v1/users/{id}/reset-password` body.
// No `Debug`: the code must never reach a log.
#[derive(Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ResetPasswordIn {
    /// Also turn the user's second factor off (they re-enrol after logging in).
    #[serde(default)]
    pub reset_totp: bool,
    /// Your own fresh authentication code (TOTP or recovery code).
    pub totp: Option<String>,
}

/// The new temporary password, shown this once.
// No `Debug`: the password must never reach a log.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResetPasswordOut {
    /// The temporary password; it must be changed at the next login.
    pub temporary_password: String,
    /// Whether the second factor was reset.
    pub totp_reset: bool,
}
