//! A user's password state as the console and the API show it, and as the user list filters
//! it: not only an expired temporary password, but also a password expired by age under the
//! policy, or one a login found no longer meets a tightened policy.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The state of a user's password, named the same on the wire, in the filter and in the
/// console (serde's and strum's names, kept in agreement by a test).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::EnumString,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    #[serde(rename = "expired")]
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

/// The name; honours width and alignment (`{:<10}`), so tables line up.
impl std::fmt::Display for PasswordStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// Compares by name, so a client can check a state against the text it expects.
impl PartialEq<&str> for PasswordStatus {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
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
            // serde and strum agree on every name.
            let json = serde_json::to_string(&s).expect("json");
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert_eq!(serde_json::from_str::<PasswordStatus>(&json).ok(), Some(s));
        }
        assert_eq!(PasswordStatus::parse("temporary_expired"), None);
    }
}
