//! Who the caller is: the login answer and `GET /api/v1/users/me`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tumbler_domain::user::{UserKind, UserStatus};

/// Who a user is, as the login answer, `/users/me` and (flattened into `UserOut`) the user
/// list show it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserView {
    /// Id.
    pub id: String,
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Email.
    pub email: Option<String>,
    /// Where the password is held: `local` or `remote`.
    #[serde(rename = "type")]
    pub kind: UserKind,
    /// Whether the user may log in: `enabled` or `disabled`.
    pub status: UserStatus,
    /// Role names.
    pub roles: Vec<String>,
    /// Must change the password before anything else.
    pub must_change_password: bool,
}

/// `POST /api/v1/auth/login` answer.
// No `Debug`: the CSRF token is a session secret.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginResponse {
    /// The user.
    pub user: UserView,
    /// The password must be changed before anything else.
    pub must_change_password: bool,
    /// When the password expires (no expiry policy yet).
    pub password_expires_at: Option<DateTime<Utc>>,
    /// Echo this in `X-CSRF-Token` on unsafe requests made with the session cookie.
    pub csrf_token: String,
}

/// The caller, with their domains and the permissions their roles give.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeOut {
    /// The user.
    #[serde(flatten)]
    pub user: UserView,
    /// TOTP enrolled.
    pub mfa_enabled: bool,
    /// Names of the user's domains.
    pub domains: Vec<String>,
    /// The domain the user works in.
    pub active_domain: Option<String>,
    /// "Manage objects from all assigned domains".
    pub all_domains: bool,
    /// Names of the domains whose objects the user sees.
    pub visible_domains: Vec<String>,
    /// Permission names.
    pub permissions: Vec<String>,
}
