//! The password policy for console users' own passwords: every rule a candidate breaks is
//! reported with a stable code and a sentence a person understands; the same sentences feed
//! the rules tooltip beside "New Password".

use serde::{Deserialize, Serialize};

/// Smallest maximum length an administrator may set (long passphrases are never truncated).
pub const MIN_MAX_LENGTH: usize = 128;

/// Largest maximum length an administrator may set.
pub const MAX_MAX_LENGTH: usize = 4096;
/// Most previous passwords the history keeps.
pub const MAX_HISTORY: usize = 24;
/// Longest password lifetime, in days (ten years).
pub const MAX_EXPIRY_DAYS: u32 = 3650;
/// Longest expiry warning, in days.
pub const MAX_EXPIRY_WARNING_DAYS: u32 = 365;
/// Most failed logins in a row before a lockout.
pub const MAX_FAILED_LOGINS: u32 = 1000;
/// Longest lockout, in minutes (a year).
pub const MAX_LOCKOUT_MINUTES: u32 = 525_600;
/// Longest idle time of a session, in minutes (thirty days).
pub const MAX_SESSION_IDLE_MINUTES: u32 = 43_200;
/// Longest lifetime of a session, in hours (a year).
pub const MAX_SESSION_ABSOLUTE_HOURS: u32 = 8_760;
/// Most live sessions per user.
pub const MAX_SESSIONS_PER_USER: u32 = 1000;
/// Most entries of the custom blocklist.
pub const MAX_BLOCKLIST_ENTRIES: usize = 10_000;
/// Longest entry of the custom blocklist, in characters.
pub const MAX_BLOCKLIST_ENTRY_CHARS: usize = 256;
/// Most disallowed characters.
pub const MAX_DISALLOWED_CHARS: usize = 256;

/// What happens to a user's other sessions after they change their password.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OtherSessions {
    /// They end at once (current guidance).
    #[default]
    Revoke,
    /// They live until the user's next successful login (the reference's behaviour).
    KeepUntilNextLogin,
}

/// The rules for console users' passwords.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordPolicy {
    /// Minimum length in characters.
    pub min_length: usize,
    /// Minimum length for users enrolled in TOTP.
    pub min_length_with_mfa: usize,
    /// Maximum length; longer passwords are refused, never truncated. At least 128.
    pub max_length: usize,
    /// Refuse the common and breached passwords shipped with the binary.
    pub builtin_blocklist: bool,
    /// More refused passwords (compared case-insensitively).
    pub custom_blocklist: Vec<String>,
    /// Minimum strength score, 0 (anything) to 4 (very strong), as zxcvbn estimates it.
    pub min_strength: u8,
    /// Characters that may not appear (control characters are always refused).
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
    pub history: usize,
    /// Passwords expire after this many days (none: never, as current guidance advises).
    pub expiry_days: Option<u32>,
    /// Days before expiry during which users are warned.
    pub expiry_warning_days: u32,
    /// What happens to other sessions after a change.
    pub other_sessions: OtherSessions,
    /// Failed logins in a row before the account locks.
    pub max_failed_logins: u32,
    /// How long a lockout lasts, in minutes.
    pub lockout_minutes: u32,
    /// A session ends after this many minutes without a request.
    pub session_idle_minutes: u32,
    /// A session ends this many hours after login, whatever happens.
    pub session_absolute_hours: u32,
    /// Live sessions one user may have at once.
    pub max_sessions_per_user: u32,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 15,
            min_length_with_mfa: 8,
            max_length: MIN_MAX_LENGTH,
            builtin_blocklist: true,
            custom_blocklist: Vec::new(),
            min_strength: 3,
            disallowed_chars: ",".to_owned(),
            require_lowercase: false,
            require_uppercase: false,
            require_digit: false,
            require_symbol: false,
            history: 6,
            expiry_days: None,
            expiry_warning_days: 14,
            other_sessions: OtherSessions::Revoke,
            max_failed_logins: 5,
            lockout_minutes: 15,
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            max_sessions_per_user: 5,
        }
    }
}

/// Who the password is for: the rules that depend on the user.
#[derive(Debug, Clone, Copy)]
pub struct PasswordOwner<'a> {
    /// Login name.
    pub username: &'a str,
    /// Display name.
    pub display_name: &'a str,
    /// Enrolled in TOTP.
    pub mfa: bool,
}

/// One rule a candidate broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleViolation {
    /// Stable machine-readable code, e.g. `too_short`.
    pub code: &'static str,
    /// What the rule asks for, in words a person understands.
    pub message: String,
}

fn violation(code: &'static str, message: impl Into<String>) -> RuleViolation {
    RuleViolation {
        code,
        message: message.into(),
    }
}

/// Why a policy cannot be saved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidPolicy(pub String);

impl PasswordPolicy {
    /// Checks the policy itself (before an administrator saves it).
    pub fn validate(&self) -> Result<(), InvalidPolicy> {
        if self.max_length < MIN_MAX_LENGTH {
            return Err(InvalidPolicy(format!(
                "the maximum length must be at least {MIN_MAX_LENGTH}"
            )));
        }
        if self.min_length == 0
            || self.min_length_with_mfa == 0
            || self.min_length > self.max_length
            || self.min_length_with_mfa > self.max_length
        {
            return Err(InvalidPolicy(
                "minimum lengths must be between 1 and the maximum length".to_owned(),
            ));
        }
        if self.min_strength > 4 {
            return Err(InvalidPolicy(
                "the strength score goes from 0 to 4".to_owned(),
            ));
        }
        if self.max_length > MAX_MAX_LENGTH {
            return Err(InvalidPolicy(format!(
                "the maximum length must be at most {MAX_MAX_LENGTH}"
            )));
        }
        if self.history > MAX_HISTORY {
            return Err(InvalidPolicy(format!(
                "history keeps at most {MAX_HISTORY} previous passwords"
            )));
        }
        for (name, value, max) in [
            (
                "max_failed_logins",
                self.max_failed_logins,
                MAX_FAILED_LOGINS,
            ),
            ("lockout_minutes", self.lockout_minutes, MAX_LOCKOUT_MINUTES),
            (
                "session_idle_minutes",
                self.session_idle_minutes,
                MAX_SESSION_IDLE_MINUTES,
            ),
            (
                "session_absolute_hours",
                self.session_absolute_hours,
                MAX_SESSION_ABSOLUTE_HOURS,
            ),
            (
                "max_sessions_per_user",
                self.max_sessions_per_user,
                MAX_SESSIONS_PER_USER,
            ),
            (
                "expiry_days",
                self.expiry_days.unwrap_or(1),
                MAX_EXPIRY_DAYS,
            ),
        ] {
            if !(1..=max).contains(&value) {
                return Err(InvalidPolicy(format!("{name} must be between 1 and {max}")));
            }
        }
        if self.expiry_warning_days > MAX_EXPIRY_WARNING_DAYS {
            return Err(InvalidPolicy(format!(
                "expiry_warning_days must be at most {MAX_EXPIRY_WARNING_DAYS}"
            )));
        }
        if self.custom_blocklist.len() > MAX_BLOCKLIST_ENTRIES
            || self
                .custom_blocklist
                .iter()
                .any(|b| b.chars().count() > MAX_BLOCKLIST_ENTRY_CHARS)
        {
            return Err(InvalidPolicy(format!(
                "the custom blocklist holds at most {MAX_BLOCKLIST_ENTRIES} entries of at most {MAX_BLOCKLIST_ENTRY_CHARS} characters"
            )));
        }
        if self.disallowed_chars.chars().count() > MAX_DISALLOWED_CHARS {
            return Err(InvalidPolicy(format!(
                "at most {MAX_DISALLOWED_CHARS} disallowed characters"
            )));
        }
        Ok(())
    }

    /// How long a lockout lasts (bounded even for a policy stored before the bounds).
    pub fn lockout(&self) -> chrono::Duration {
        chrono::Duration::minutes(i64::from(self.lockout_minutes.min(MAX_LOCKOUT_MINUTES)))
    }

    /// Idle time after which a session ends (bounded).
    pub fn session_idle(&self) -> chrono::Duration {
        chrono::Duration::minutes(i64::from(
            self.session_idle_minutes.min(MAX_SESSION_IDLE_MINUTES),
        ))
    }

    /// Lifetime of a session (bounded).
    pub fn session_absolute(&self) -> chrono::Duration {
        chrono::Duration::hours(i64::from(
            self.session_absolute_hours.min(MAX_SESSION_ABSOLUTE_HOURS),
        ))
    }

    /// When a password changed at `changed` expires, if passwords expire (checked arithmetic:
    /// never panics, whatever the stored value).
    pub fn password_expires_at(
        &self,
        changed: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        self.expiry_days.map(|days| {
            crate::clock::add_saturating(
                changed,
                chrono::Duration::days(i64::from(days.min(MAX_EXPIRY_DAYS))),
            )
        })
    }

    /// From when users are warned of a password expiring at `expires`.
    pub fn expiry_warning_from(
        &self,
        expires: chrono::DateTime<chrono::Utc>,
    ) -> chrono::DateTime<chrono::Utc> {
        crate::clock::sub_saturating(
            expires,
            chrono::Duration::days(i64::from(
                self.expiry_warning_days.min(MAX_EXPIRY_WARNING_DAYS),
            )),
        )
    }

    fn min_length_for(&self, mfa: bool) -> usize {
        if mfa {
            self.min_length_with_mfa.min(self.min_length)
        } else {
            self.min_length
        }
    }

    /// Every rule `candidate` breaks (empty when it complies). Never echoes the candidate.
    /// Reuse of previous passwords is checked by the caller, which holds their hashes.
    pub fn check(&self, candidate: &str, owner: PasswordOwner<'_>) -> Vec<RuleViolation> {
        let mut broken = Vec::new();
        let len = candidate.chars().count();
        let min = self.min_length_for(owner.mfa);
        if len < min {
            broken.push(violation(
                "too_short",
                format!("Use at least {min} characters."),
            ));
        }
        if len > self.max_length {
            broken.push(violation(
                "too_long",
                format!("Use at most {} characters.", self.max_length),
            ));
        }
        let disallowed: Vec<char> = self
            .disallowed_chars
            .chars()
            .filter(|c| candidate.contains(*c))
            .collect();
        if !disallowed.is_empty() {
            broken.push(violation(
                "disallowed_character",
                format!("Do not use {}.", quote_chars(&self.disallowed_chars)),
            ));
        }
        if candidate.chars().any(char::is_control) {
            broken.push(violation(
                "control_character",
                "Control characters are not allowed.",
            ));
        }
        let lower = candidate.to_lowercase();
        let contains =
            |part: &str| part.chars().count() >= 3 && lower.contains(&part.to_lowercase());
        if contains(owner.username) {
            broken.push(violation(
                "contains_username",
                "Do not include your username.",
            ));
        }
        if owner
            .display_name
            .split_whitespace()
            .chain(std::iter::once(owner.display_name))
            .any(contains)
        {
            broken.push(violation(
                "contains_display_name",
                "Do not include your name.",
            ));
        }
        for (required, present, code, what) in [
            (
                self.require_lowercase,
                candidate.chars().any(char::is_lowercase),
                "missing_lowercase",
                "a lowercase letter",
            ),
            (
                self.require_uppercase,
                candidate.chars().any(char::is_uppercase),
                "missing_uppercase",
                "an uppercase letter",
            ),
            (
                self.require_digit,
                candidate.chars().any(|c| c.is_ascii_digit()),
                "missing_digit",
                "a digit",
            ),
            (
                self.require_symbol,
                candidate
                    .chars()
                    .any(|c| !c.is_alphanumeric() && !c.is_whitespace()),
                "missing_symbol",
                "a symbol",
            ),
        ] {
            if required && !present {
                broken.push(violation(code, format!("Include {what}.")));
            }
        }
        if self
            .custom_blocklist
            .iter()
            .any(|b| b.to_lowercase() == lower)
            || (self.builtin_blocklist && crate::blocklist::is_common(candidate))
        {
            broken.push(violation(
                "blocklisted",
                "This password is too common or known from breaches.",
            ));
        }
        if self.min_strength > 0 && len <= 256 {
            let score =
                u8::from(zxcvbn::zxcvbn(candidate, &[owner.username, owner.display_name]).score());
            if score < self.min_strength {
                broken.push(violation("too_weak", format!("Choose a stronger password (strength {score} of 4; at least {} needed): longer, less predictable.", self.min_strength)));
            }
        }
        broken
    }

    /// The rules in words, one sentence each: the API's description and the tooltip's text.
    pub fn describe(&self) -> Vec<String> {
        let mut out = vec![format!(
            "Between {} and {} characters ({} if you use two-factor authentication).",
            self.min_length,
            self.max_length,
            self.min_length_for(true)
        )];
        if !self.disallowed_chars.is_empty() {
            out.push(format!(
                "No {} and no control characters.",
                quote_chars(&self.disallowed_chars)
            ));
        }
        out.push("Must not contain your username or your name.".to_owned());
        if self.builtin_blocklist || !self.custom_blocklist.is_empty() {
            out.push("Must not be a common or breached password.".to_owned());
        }
        if self.min_strength > 0 {
            out.push(format!(
                "Must be strong enough: a strength score of at least {} of 4.",
                self.min_strength
            ));
        }
        let classes: Vec<&str> = [
            (self.require_lowercase, "a lowercase letter"),
            (self.require_uppercase, "an uppercase letter"),
            (self.require_digit, "a digit"),
            (self.require_symbol, "a symbol"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, what)| *what)
        .collect();
        if !classes.is_empty() {
            out.push(format!("Must include {}.", classes.join(", ")));
        }
        if self.history > 0 {
            out.push(format!(
                "Must differ from your last {} passwords.",
                self.history
            ));
        }
        if let Some(days) = self.expiry_days {
            out.push(format!("Expires after {days} days."));
        }
        out
    }
}

fn quote_chars(chars: &str) -> String {
    chars
        .chars()
        .map(|c| match c {
            ',' => "commas (,)".to_owned(),
            ' ' => "spaces".to_owned(),
            c => format!("\"{c}\""),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: PasswordOwner<'static> = PasswordOwner {
        username: "alice",
        display_name: "Alice Smith",
        mfa: false,
    };

    fn codes(p: &PasswordPolicy, pw: &str, owner: PasswordOwner<'_>) -> Vec<&'static str> {
        p.check(pw, owner).into_iter().map(|v| v.code).collect()
    }

    #[test]
    fn a_strong_passphrase_passes() {
        assert!(codes(
            &PasswordPolicy::default(),
            "violet-anchor-trombone-47-quiet",
            OWNER
        )
        .is_empty());
    }

    #[test]
    fn each_rule_reports_its_code() {
        let p = PasswordPolicy {
            require_lowercase: true,
            require_uppercase: true,
            require_digit: true,
            require_symbol: true,
            min_strength: 0,
            builtin_blocklist: false,
            ..Default::default()
        };
        assert_eq!(
            codes(&p, "ALICE,SMITH\u{7}", OWNER),
            [
                "too_short",
                "disallowed_character",
                "control_character",
                "contains_username",
                "contains_display_name",
                "missing_lowercase",
                "missing_digit"
            ]
        );
        assert_eq!(
            codes(&p, "abcdefghijklmnop", OWNER),
            ["missing_uppercase", "missing_digit", "missing_symbol"]
        );
        assert_eq!(codes(&p, &"aB3!".repeat(40), OWNER), ["too_long"]);
    }

    #[test]
    fn blocklists_and_strength() {
        let p = PasswordPolicy {
            min_length: 1,
            ..Default::default()
        };
        assert!(codes(&p, "password", OWNER).contains(&"blocklisted"));
        assert!(
            codes(&p, "Password", OWNER).contains(&"blocklisted"),
            "case does not help"
        );
        assert!(codes(&p, "aaaaaaaaaaaaaaaa", OWNER).contains(&"too_weak"));
        let custom = PasswordPolicy {
            custom_blocklist: vec!["Company-Name-2026!".to_owned()],
            min_strength: 0,
            builtin_blocklist: false,
            ..Default::default()
        };
        assert_eq!(codes(&custom, "company-name-2026!", OWNER), ["blocklisted"]);
    }

    #[test]
    fn mfa_users_may_use_shorter_passwords() {
        let p = PasswordPolicy {
            min_strength: 0,
            ..Default::default()
        };
        let mfa = PasswordOwner { mfa: true, ..OWNER };
        assert_eq!(codes(&p, "kx7#Qp2w!z", mfa), Vec::<&str>::new());
        assert_eq!(codes(&p, "kx7#Qp2w!z", OWNER), ["too_short"]);
    }

    #[test]
    fn policies_that_would_truncate_or_make_no_sense_are_refused() {
        assert!(PasswordPolicy {
            max_length: 64,
            ..Default::default()
        }
        .validate()
        .is_err());
        assert!(PasswordPolicy {
            min_strength: 5,
            ..Default::default()
        }
        .validate()
        .is_err());
        assert!(PasswordPolicy::default().validate().is_ok());
    }
}
