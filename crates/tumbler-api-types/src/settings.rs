//! Server settings: the password policy and the SMTP server.

use serde::{Deserialize, Deserializer, Serialize};
use tumbler_domain::password_policy::{self as pp, OtherSessions, PasswordPolicy};

/// A field that must be present but may be `null` (serde would treat a missing `Option` as
/// `None`).
fn required_nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    Option::<T>::deserialize(d)
}

/// What happens to a user's other sessions after a password change.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OtherSessionsBody {
    /// They end at once.
    Revoke,
    /// They live until the user's next successful login.
    KeepUntilNextLogin,
}

/// The password policy as the API reads and writes it. A `PUT` needs every field; the
/// read-only `rules` a `GET` returns are accepted and ignored, so a read-modify-write works.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    /// Minimum length in characters.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 4096))]
    pub min_length: usize,
    /// Minimum length for users enrolled in TOTP.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 4096))]
    pub min_length_with_mfa: usize,
    /// Maximum length; longer passwords are refused, never truncated.
    #[cfg_attr(feature = "openapi", schema(minimum = 128, maximum = 4096))]
    pub max_length: usize,
    /// Refuse the common and breached passwords shipped with the binary.
    pub builtin_blocklist: bool,
    /// More refused passwords (compared case-insensitively).
    #[cfg_attr(feature = "openapi", schema(max_items = 10000))]
    pub custom_blocklist: Vec<String>,
    /// Minimum zxcvbn strength score, 0 to 4.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 4))]
    pub min_strength: u8,
    /// Characters that may not appear.
    #[cfg_attr(feature = "openapi", schema(max_length = 256))]
    pub disallowed_chars: String,
    /// Require a lowercase letter.
    pub require_lowercase: bool,
    /// Require an uppercase letter.
    pub require_uppercase: bool,
    /// Require a digit.
    pub require_digit: bool,
    /// Require a symbol.
    pub require_symbol: bool,
    /// How many previous passwords may not be reused.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 24))]
    pub history: usize,
    /// Passwords expire after this many days; `null`: never.
    #[serde(deserialize_with = "required_nullable")]
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 1, maximum = 3650, required = true)
    )]
    pub expiry_days: Option<u32>,
    /// Days before expiry during which users are warned.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 365))]
    pub expiry_warning_days: u32,
    /// What happens to other sessions after a change.
    pub other_sessions: OtherSessionsBody,
    /// Failed logins in a row before the account locks.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1000))]
    pub max_failed_logins: u32,
    /// How long a lockout lasts, in minutes.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 525600))]
    pub lockout_minutes: u32,
    /// A session ends after this many minutes without a request.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 43200))]
    pub session_idle_minutes: u32,
    /// A session ends this many hours after login.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 8760))]
    pub session_absolute_hours: u32,
    /// Live sessions one user may have at once.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1000))]
    pub max_sessions_per_user: u32,
    /// The rules as sentences (read-only: ignored on write).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub rules: Vec<String>,
}

impl From<PasswordPolicy> for PolicyBody {
    fn from(p: PasswordPolicy) -> Self {
        Self {
            rules: p.describe(),
            min_length: p.min_length,
            min_length_with_mfa: p.min_length_with_mfa,
            max_length: p.max_length,
            builtin_blocklist: p.builtin_blocklist,
            custom_blocklist: p.custom_blocklist,
            min_strength: p.min_strength,
            disallowed_chars: p.disallowed_chars,
            require_lowercase: p.require_lowercase,
            require_uppercase: p.require_uppercase,
            require_digit: p.require_digit,
            require_symbol: p.require_symbol,
            history: p.history,
            expiry_days: p.expiry_days,
            expiry_warning_days: p.expiry_warning_days,
            other_sessions: match p.other_sessions {
                OtherSessions::Revoke => OtherSessionsBody::Revoke,
                OtherSessions::KeepUntilNextLogin => OtherSessionsBody::KeepUntilNextLogin,
            },
            max_failed_logins: p.max_failed_logins,
            lockout_minutes: p.lockout_minutes,
            session_idle_minutes: p.session_idle_minutes,
            session_absolute_hours: p.session_absolute_hours,
            max_sessions_per_user: p.max_sessions_per_user,
        }
    }
}

impl From<PolicyBody> for PasswordPolicy {
    fn from(b: PolicyBody) -> Self {
        Self {
            min_length: b.min_length,
            min_length_with_mfa: b.min_length_with_mfa,
            max_length: b.max_length,
            builtin_blocklist: b.builtin_blocklist,
            custom_blocklist: b.custom_blocklist,
            min_strength: b.min_strength,
            disallowed_chars: b.disallowed_chars,
            require_lowercase: b.require_lowercase,
            require_uppercase: b.require_uppercase,
            require_digit: b.require_digit,
            require_symbol: b.require_symbol,
            history: b.history,
            expiry_days: b.expiry_days,
            expiry_warning_days: b.expiry_warning_days,
            other_sessions: match b.other_sessions {
                OtherSessionsBody::Revoke => OtherSessions::Revoke,
                OtherSessionsBody::KeepUntilNextLogin => OtherSessions::KeepUntilNextLogin,
            },
            max_failed_logins: b.max_failed_logins,
            lockout_minutes: b.lockout_minutes,
            session_idle_minutes: b.session_idle_minutes,
            session_absolute_hours: b.session_absolute_hours,
            max_sessions_per_user: b.max_sessions_per_user,
        }
    }
}

/// Some fields of the password policy, for a `PATCH`: what is given changes, the rest keeps
/// its current value.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PolicyPatch {
    /// Minimum length in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 4096))]
    pub min_length: Option<usize>,
    /// Minimum length for users enrolled in TOTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 4096))]
    pub min_length_with_mfa: Option<usize>,
    /// Maximum length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 128, maximum = 4096))]
    pub max_length: Option<usize>,
    /// Refuse the shipped common and breached passwords.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builtin_blocklist: Option<bool>,
    /// More refused passwords.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_items = 10000))]
    pub custom_blocklist: Option<Vec<String>>,
    /// Minimum zxcvbn strength score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 4))]
    pub min_strength: Option<u8>,
    /// Characters that may not appear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 256))]
    pub disallowed_chars: Option<String>,
    /// Require a lowercase letter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_lowercase: Option<bool>,
    /// Require an uppercase letter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_uppercase: Option<bool>,
    /// Require a digit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_digit: Option<bool>,
    /// Require a symbol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_symbol: Option<bool>,
    /// Previous passwords that may not be reused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 24))]
    pub history: Option<usize>,
    /// Days of warning before expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 365))]
    pub expiry_warning_days: Option<u32>,
    /// Other sessions after a change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_sessions: Option<OtherSessionsBody>,
    /// Failed logins before a lockout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1000))]
    pub max_failed_logins: Option<u32>,
    /// Lockout length in minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 525600))]
    pub lockout_minutes: Option<u32>,
    /// Idle minutes before a session ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 43200))]
    pub session_idle_minutes: Option<u32>,
    /// Hours after which a session ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 8760))]
    pub session_absolute_hours: Option<u32>,
    /// Live sessions per user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1000))]
    pub max_sessions_per_user: Option<u32>,
    /// Passwords expire after this many days; `null`: never.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_nullable"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u32>, minimum = 1, maximum = 3650))]
    pub expiry_days: Option<Option<u32>>,
    /// Read-only; ignored.
    #[serde(default, skip_serializing)]
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub rules: Option<Vec<String>>,
}

/// A present field that may be `null`: `Some(None)` for `null`, absent stays `None`.
fn present_nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

// The bounds in the schema above are the validator's; keep them in one place of truth.
const _: () = {
    assert!(pp::MAX_MAX_LENGTH == 4096);
    assert!(pp::MAX_EXPIRY_DAYS == 3650);
    assert!(pp::MAX_SESSION_ABSOLUTE_HOURS == 8760);
    assert!(pp::MAX_LOCKOUT_MINUTES == 525_600);
    assert!(pp::MAX_SESSION_IDLE_MINUTES == 43_200);
};

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// Plain SMTP.
    None,
    /// `STARTTLS`, required.
    Starttls,
    /// TLS from the first byte.
    Tls,
}

/// The saved SMTP settings (never the password).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SmtpOut {
    /// Host name.
    pub host: String,
    /// Port.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 65535))]
    pub port: u16,
    /// Transport protection.
    pub security: SmtpSecurity,
    /// Login name, if any.
    pub username: Option<String>,
    /// The `From` address.
    pub from: String,
    /// Whether a password is stored.
    pub has_password: bool,
}

/// New SMTP settings. Without `password`, a stored one is kept while the username stays the
/// same; without `username`, no login is used. The read-only `has_password` a `GET` returns
/// is accepted and ignored, so a read-modify-write works.
// No `Debug`: the password must never reach a log.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SmtpIn {
    /// Host name.
    pub host: String,
    /// Port.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 65535))]
    pub port: u16,
    /// Transport protection.
    pub security: SmtpSecurity,
    /// Login name.
    #[serde(default)]
    pub username: Option<String>,
    /// Password (write-only).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, write_only))]
    pub password: Option<String>,
    /// The `From` address (`tumbler@example.com` or `Tumbler <tumbler@example.com>`).
    pub from: String,
    /// Read-only; ignored.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(read_only))]
    pub has_password: Option<bool>,
}

/// Where the test mail went.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TestMailOut {
    /// The caller's address.
    pub sent_to: String,
}

/// One broken password rule, as a `password_policy_violation` error lists it in
/// `details.violations`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyViolation {
    /// The rule's stable code (`too_short`, `blocklisted`, `reused`...).
    pub code: String,
    /// For people.
    pub message: String,
}
