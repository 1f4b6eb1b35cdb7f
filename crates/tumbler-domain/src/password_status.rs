//! A user's password state as the console and the API show it, and as the user list filters
//! it: not only an expired temporary password, but also a password expired by age under the
//! policy, or one a login found no longer meets a tightened policy.

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};

/// The state of a user's password; each state's name is written once (the strum attribute),
/// for the wire, the filter and the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum PasswordStatus {
    /// No local password (remote users).
    None,
    /// A password in force.
    Active,
    /// A temporary (one-time) password that must be changed at the next login.
    Temporary,
    /// A temporary password whose time ran out: an administrator must issue a new one
    /// (`expired`, as before).
    #[strum(serialize = "expired")]
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
        self.into()
    }

    /// Parses a serialised name.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
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

#[cfg(test)]
mod name_tests {
    use super::PasswordStatus;

    #[test]
    fn every_state_has_one_name_that_parses_back() {
        let names: Vec<&str> = PasswordStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "active",
                "temporary",
                "expired",
                "expired_by_age",
                "policy_tightened",
                "none"
            ]
        );
        for s in PasswordStatus::ALL {
            assert_eq!(PasswordStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(PasswordStatus::parse("temporary_expired"), None);
    }
}
