//! A user's password state as the console and the API show it, and as the user list filters
//! it: not only an expired temporary password, but also a password expired by age under the
//! policy, or one a login found no longer meets a tightened policy.

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};

/// The state of a user's password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordStatus {
    /// No local password (remote users).
    None,
    /// A password in force.
    Active,
    /// A temporary (one-time) password that must be changed at the next login.
    Temporary,
    /// A temporary password whose time ran out: an administrator must issue a new one.
    TemporaryExpired,
    /// Older than the policy's expiry: must be changed at the next login.
    ExpiredByAge,
    /// Must be changed at the next login because a login found it no longer meets the
    /// (tightened) policy.
    PolicyTightened,
}

impl PasswordStatus {
    /// Every state, in a stable order.
    pub const ALL: [Self; 6] = [
        Self::Active,
        Self::Temporary,
        Self::TemporaryExpired,
        Self::ExpiredByAge,
        Self::PolicyTightened,
        Self::None,
    ];

    /// The serialised name (`expired` is the expired temporary password, as before).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Active => "active",
            Self::Temporary => "temporary",
            Self::TemporaryExpired => "expired",
            Self::ExpiredByAge => "expired_by_age",
            Self::PolicyTightened => "policy_tightened",
        }
    }

    /// Parses a serialised name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The state of a password: `has_password` whether a local hash is stored,
    /// `expired_before` the policy's expiry cut-off (now minus the expiry), if it has one.
    /// The store's filter computes the same in SQL, in the same order.
    pub fn of(
        has_password: bool,
        must_change: bool,
        changed_at: Option<DateTime<Utc>>,
        temp_expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        expired_before: Option<DateTime<Utc>>,
    ) -> Self {
        match (has_password, temp_expires_at) {
            (false, _) => Self::None,
            (true, Some(at)) if at <= now => Self::TemporaryExpired,
            (true, Some(_)) if must_change => Self::Temporary,
            _ => match (changed_at, expired_before) {
                (Some(changed), Some(cutoff)) if changed <= cutoff => Self::ExpiredByAge,
                _ if must_change => Self::PolicyTightened,
                _ => Self::Active,
            },
        }
    }
}

impl Serialize for PasswordStatus {
    /// As its [`PasswordStatus::as_str`] name.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for PasswordStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
