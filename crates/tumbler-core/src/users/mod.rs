//! Managing console users: create (with a temporary password shown once), list, edit,
//! disable, delete, unlock, and their sessions. Permissions are checked here, so the API, the
//! console and the CLI enforce the same rules.

mod create;
mod edit;
mod error;
mod listing;
mod rules;
mod sessions;

use crate::{AuthSettings, Reauthentication};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::Serialize;
use std::sync::Arc;
use tumbler_domain::password_status::PasswordStatus;
use tumbler_domain::user::{User, UserKind};
use tumbler_domain::Clock;
use tumbler_store::{Store, UserChanges};

pub use error::UserError;

/// A user as lists show it: the user plus password and lockout status.
#[derive(Debug, Clone, Serialize)]
pub struct UserSummary {
    /// The user.
    #[serde(flatten)]
    pub user: User,
    /// `active`, `temporary` (must be changed at next login), `expired` (temporary, expired),
    /// `expired_by_age` (older than the policy's expiry), `policy_tightened` (a login found it
    /// no longer meets the policy) or `none` (no local password): see [`PasswordStatus`].
    pub password_status: PasswordStatus,
    /// Locked out until this time.
    pub locked_until: Option<DateTime<Utc>>,
    /// Names of the domains the user belongs to.
    pub domains: Vec<String>,
}

/// A request to create a user.
#[derive(Debug, Clone)]
pub struct NewUserRequest {
    /// Login name.
    pub username: String,
    /// Display name (defaults to the username).
    pub display_name: Option<String>,
    /// Email for notifications.
    pub email: Option<String>,
    /// Local or remote.
    pub kind: UserKind,
    /// Role names.
    pub roles: Vec<String>,
    /// Domain names (empty: the `Default` domain).
    pub domains: Vec<String>,
}

/// A change to an existing user: the fields, the domains (by name) and the caller's proof
/// of who they are, needed when the change could give access.
#[derive(Debug, Default)]
pub struct UserEdit {
    /// Fields to change (its `domains` is filled from `domains`).
    pub changes: UserChanges,
    /// Domain names to set (at least one), if they change.
    pub domains: Option<Vec<String>>,
    /// Current password or a fresh code.
    pub proof: Reauthentication,
}

/// A created user and, for a local user, the temporary password to show once.
pub struct CreatedUser {
    /// The user.
    pub user: User,
    /// The temporary password (local users only).
    pub temporary_password: Option<SecretString>,
}

/// User management.
#[derive(Clone)]
pub struct UserService {
    store: Store,
    clock: Arc<dyn Clock>,
    settings: AuthSettings,
}

impl UserService {
    /// A service over `store`.
    pub fn new(store: Store, clock: Arc<dyn Clock>, settings: AuthSettings) -> Self {
        Self {
            store,
            clock,
            settings,
        }
    }
}
