//! Console users.

use crate::ids::UserId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a user's password is held.
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
pub enum UserKind {
    /// Tumbler holds an Argon2id hash of the password.
    Local,
    /// No local password; authenticated elsewhere.
    Remote,
}

impl UserKind {
    /// The stored and serialised name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

/// Whether a user may log in at all.
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
pub enum UserStatus {
    /// May log in.
    Enabled,
    /// May not log in; all sessions end.
    Disabled,
}

impl UserStatus {
    /// The stored and serialised name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

/// A console user as the services see it. The password hash is not part of this type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Stable id.
    pub id: UserId,
    /// Login name, unique.
    pub username: String,
    /// Name shown in the console.
    pub display_name: String,
    /// Address for notifications.
    pub email: Option<String>,
    /// Local or remote.
    pub kind: UserKind,
    /// Enabled or disabled.
    pub status: UserStatus,
    /// Role names.
    pub roles: Vec<String>,
    /// The user must change the password before doing anything else.
    pub must_change_password: bool,
    /// When the password was last set.
    pub password_changed_at: Option<DateTime<Utc>>,
    /// When the current temporary (one-time) password stops working, if it is one.
    pub temp_password_expires_at: Option<DateTime<Utc>>,
    /// Enrolled in TOTP: logins and sensitive actions need a code.
    pub mfa_enabled: bool,
    /// When the user was created.
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_and_status_names_round_trip_and_agree_with_serde() {
        for k in [UserKind::Local, UserKind::Remote] {
            assert_eq!(UserKind::parse(k.as_str()), Some(k));
            let json = serde_json::to_string(&k).expect("json");
            assert_eq!(json, format!("\"{}\"", k.as_str()));
        }
        for st in [UserStatus::Enabled, UserStatus::Disabled] {
            assert_eq!(UserStatus::parse(st.as_str()), Some(st));
            let json = serde_json::to_string(&st).expect("json");
            assert_eq!(json, format!("\"{}\"", st.as_str()));
        }
        assert_eq!(UserKind::parse("Local"), None);
        assert_eq!(UserStatus::parse("locked"), None);
    }
}
