//! Change-secret vocabulary and rules: how a new password is made (`password_rules`), the
//! states of executions and records, and the secure-mode rule for which accounts are never
//! changed.

use crate::inventory::{invalid, vocabulary, InvalidValue};
use rand::rngs::OsRng;
use rand::seq::SliceRandom;
use rand::Rng;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::fmt;

vocabulary!(
    /// How a task makes the new secret.
    SecretStrategy {
        /// The administrator entered it; every account gets the same one.
        Specified => "specified",
        /// Made per account from a cryptographic RNG following the task's rules.
        Random => "random",
    }
);

vocabulary!(
    /// What started an execution.
    Trigger {
        /// Someone asked for it (console, API or CLI).
        Manual => "manual",
        /// The task's schedule.
        Schedule => "schedule",
        /// A person retried one failed record: a run of that one account, linked to the
        /// record it retries.
        Retry => "retry",
        /// A person (or a restore, or drift with `auto_reconcile`) reconciled one account no
        /// stored secret opens: a new secret set through the reconcile account, never the
        /// account's own session.
        Reconcile => "reconcile",
        /// A journal replay after a restore: the accounts whose escrowed secret is newer than
        /// the backup, staged for recovery to settle by login.
        Restore => "restore",
    }
);

vocabulary!(
    /// The state of one run of a task.
    ExecutionStatus {
        /// Created, not started yet.
        Pending => "pending",
        /// Under way.
        Running => "running",
        /// Every record succeeded (or was skipped by rule).
        Succeeded => "succeeded",
        /// Some records succeeded, some did not.
        Partial => "partial",
        /// No record succeeded.
        Failed => "failed",
        /// Nothing was changed: the task's nodes, assets and usernames matched no account,
        /// or every matched account was skipped by rule.
        NothingChanged => "nothing_changed",
        /// The worker died; recovery resolved its accounts.
        Interrupted => "interrupted",
    }
);

impl ExecutionStatus {
    /// Whether the execution has ended.
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Pending | Self::Running)
    }
}

vocabulary!(
    /// The state of one account in one execution.
    RecordStatus {
        /// Not done yet.
        Pending => "pending",
        /// Changed, verified and committed.
        Success => "success",
        /// Not changed (see the reason).
        Failed => "failed",
        /// The target accepted the change but the login with the new secret was inconclusive:
        /// the current secret is kept and the new one stays pending.
        Unverified => "unverified",
        /// Skipped by rule or set aside by a person.
        Ignored => "ignored",
    }
);

impl RecordStatus {
    /// Whether a record in this state, with this reason, may be retried: a failed or
    /// unverified one, or one set aside by a person, never one a rule (secure mode, secret
    /// type) skipped, nor a pending or successful one.
    pub fn retryable(self, reason: Option<crate::failure_code::FailureCode>) -> bool {
        match self {
            Self::Failed | Self::Unverified => true,
            Self::Ignored => !reason.is_some_and(crate::failure_code::FailureCode::is_skip_rule),
            Self::Pending | Self::Success => false,
        }
    }
}

/// The largest random password, in characters.
pub const MAX_PASSWORD_LENGTH: u32 = 128;
/// The smallest random password, in characters.
pub const MIN_PASSWORD_LENGTH: u32 = 8;
/// Symbols a random password may use (no quotes, backslash, backtick or space, which break
/// naive scripts on targets).
pub const SYMBOLS: &str = "!#$%&()*+,-./:;<=>?@[]^_{|}~";

/// How random passwords are made: a length and, per class, the minimum count of that class
/// (`Some(0)` allows the class without requiring it, `None` leaves it out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordRules {
    /// Total length.
    #[cfg_attr(feature = "openapi", schema(minimum = 8, maximum = 128))]
    pub length: u32,
    /// Minimum lower-case letters.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 128))]
    pub lowercase: Option<u32>,
    /// Minimum upper-case letters.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 128))]
    pub uppercase: Option<u32>,
    /// Minimum digits.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 128))]
    pub digit: Option<u32>,
    /// Minimum symbols.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 128))]
    pub symbol: Option<u32>,
    /// Symbols never to use.
    #[serde(default)]
    pub exclude_symbols: String,
}

impl Default for PasswordRules {
    fn default() -> Self {
        Self {
            length: 24,
            lowercase: Some(1),
            uppercase: Some(1),
            digit: Some(1),
            symbol: Some(1),
            exclude_symbols: String::new(),
        }
    }
}

impl PasswordRules {
    fn classes(&self) -> Vec<(u32, Vec<char>)> {
        let symbols: Vec<char> = SYMBOLS
            .chars()
            .filter(|c| !self.exclude_symbols.contains(*c))
            .collect();
        [
            (self.lowercase, ('a'..='z').collect::<Vec<_>>()),
            (self.uppercase, ('A'..='Z').collect()),
            (self.digit, ('0'..='9').collect()),
            (self.symbol, symbols),
        ]
        .into_iter()
        .filter_map(|(min, chars)| min.map(|m| (m, chars)))
        .collect()
    }

    /// Checks the rules can be met.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        if !(MIN_PASSWORD_LENGTH..=MAX_PASSWORD_LENGTH).contains(&self.length) {
            return Err(invalid(
                "password_rules",
                format!("length must be between {MIN_PASSWORD_LENGTH} and {MAX_PASSWORD_LENGTH}"),
            ));
        }
        if self.exclude_symbols.len() > SYMBOLS.len() {
            return Err(invalid(
                "password_rules",
                format!("exclude_symbols: at most {} symbols", SYMBOLS.len()),
            ));
        }
        if let Some(c) = self.exclude_symbols.chars().find(|c| !SYMBOLS.contains(*c)) {
            return Err(invalid(
                "password_rules",
                format!("exclude_symbols: {c:?} is not one of the symbols used ({SYMBOLS})"),
            ));
        }
        let classes = self.classes();
        if classes.is_empty() {
            return Err(invalid(
                "password_rules",
                "at least one character class must be allowed",
            ));
        }
        if classes
            .iter()
            .any(|(min, chars)| *min > 0 && chars.is_empty())
        {
            return Err(invalid(
                "password_rules",
                "symbols are required but every symbol is excluded",
            ));
        }
        // Each minimum is bounded by the length and the sum is taken in u64, so no value a
        // client sends can wrap the total (a wrapped sum once let a four-billion-character
        // password through).
        if let Some((min, _)) = classes.iter().find(|(m, _)| *m > self.length) {
            return Err(invalid(
                "password_rules",
                format!(
                    "a class minimum of {min} is more than the length {}",
                    self.length
                ),
            ));
        }
        let required: u64 = classes.iter().map(|(m, _)| u64::from(*m)).sum();
        if required > u64::from(self.length) {
            return Err(invalid(
                "password_rules",
                format!(
                    "the classes require {required} characters, more than the length {}",
                    self.length
                ),
            ));
        }
        Ok(())
    }

    /// A new password following the rules, from the operating system's RNG. The rules must
    /// have passed [`PasswordRules::validate`].
    pub fn generate(&self) -> Result<SecretString, InvalidValue> {
        self.validate()?;
        let mut rng = OsRng;
        let classes = self.classes();
        let mut chars: Vec<char> = Vec::with_capacity(self.length as usize);
        for (min, set) in &classes {
            for _ in 0..*min {
                chars.push(set[rng.gen_range(0..set.len())]);
            }
        }
        let all: Vec<char> = classes
            .iter()
            .flat_map(|(_, s)| s.iter().copied())
            .collect();
        while chars.len() < self.length as usize {
            chars.push(all[rng.gen_range(0..all.len())]);
        }
        chars.shuffle(&mut rng);
        let text: String = chars.into_iter().collect();
        Ok(SecretString::from(text))
    }
}

/// Why secure mode leaves an account alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecureModeSkip {
    /// The account is marked privileged.
    Privileged,
    /// The account is named `root` or `administrator`.
    ReservedName,
    /// Tumbler logs in with this account to make the change.
    ChangesOthers,
}

impl SecureModeSkip {
    /// A stable code.
    pub fn code(self) -> crate::failure_code::FailureCode {
        use crate::failure_code::FailureCode;
        match self {
            Self::Privileged => FailureCode::SecureModePrivileged,
            Self::ReservedName => FailureCode::SecureModeReservedName,
            Self::ChangesOthers => FailureCode::SecureModeLoginAccount,
        }
    }
}

impl fmt::Display for SecureModeSkip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Privileged => "secure mode: the account is privileged",
            Self::ReservedName => "secure mode: root and administrator are never changed",
            Self::ChangesOthers => "secure mode: Tumbler logs in with this account to make changes",
        })
    }
}

/// Secure mode's verdict on one account: `Some(reason)` when it must not be changed.
pub fn secure_mode_skip(
    username: &str,
    privileged: bool,
    is_login_account: bool,
) -> Option<SecureModeSkip> {
    let lower = username.to_ascii_lowercase();
    if lower == "root" || lower == "administrator" {
        Some(SecureModeSkip::ReservedName)
    } else if privileged {
        Some(SecureModeSkip::Privileged)
    } else if is_login_account {
        Some(SecureModeSkip::ChangesOthers)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn a_record_is_retried_unless_pending_successful_or_skipped_by_a_rule() {
        use crate::failure_code::FailureCode as C;
        assert!(RecordStatus::Failed.retryable(Some(C::Unreachable)));
        assert!(RecordStatus::Unverified.retryable(None));
        assert!(RecordStatus::Ignored.retryable(Some(C::ChangeInProgress)));
        assert!(RecordStatus::Ignored.retryable(None));
        assert!(!RecordStatus::Ignored.retryable(Some(C::SecureModePrivileged)));
        assert!(!RecordStatus::Ignored.retryable(Some(C::SecretTypeMismatch)));
        assert!(!RecordStatus::Pending.retryable(None));
        assert!(!RecordStatus::Success.retryable(None));
    }

    #[test]
    fn generated_passwords_follow_the_rules() {
        let rules = PasswordRules {
            length: 20,
            lowercase: Some(2),
            uppercase: Some(3),
            digit: Some(4),
            symbol: Some(5),
            exclude_symbols: "#$%".to_owned(),
        };
        for _ in 0..200 {
            let p = rules.generate().unwrap();
            let p = p.expose_secret();
            assert_eq!(p.chars().count(), 20);
            assert!(p.chars().filter(char::is_ascii_lowercase).count() >= 2);
            assert!(p.chars().filter(char::is_ascii_uppercase).count() >= 3);
            assert!(p.chars().filter(char::is_ascii_digit).count() >= 4);
            assert!(p.chars().filter(|c| SYMBOLS.contains(*c)).count() >= 5);
            assert!(!p.contains(['#', '$', '%']));
        }
        assert_ne!(
            rules.generate().unwrap().expose_secret(),
            rules.generate().unwrap().expose_secret()
        );
    }

    #[test]
    fn a_class_left_out_never_appears() {
        let rules = PasswordRules {
            length: 40,
            lowercase: Some(0),
            uppercase: None,
            digit: Some(0),
            symbol: None,
            exclude_symbols: String::new(),
        };
        for _ in 0..50 {
            let p = rules.generate().unwrap();
            assert!(p
                .expose_secret()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        }
    }

    #[test]
    fn impossible_rules_are_refused() {
        let base = PasswordRules::default();
        for bad in [
            PasswordRules {
                length: 4,
                ..base.clone()
            },
            PasswordRules {
                length: 500,
                ..base.clone()
            },
            PasswordRules {
                length: 8,
                digit: Some(9),
                ..base.clone()
            },
            PasswordRules {
                lowercase: None,
                uppercase: None,
                digit: None,
                symbol: None,
                ..base.clone()
            },
            PasswordRules {
                exclude_symbols: SYMBOLS.to_owned(),
                ..base.clone()
            },
            PasswordRules {
                exclude_symbols: "'".to_owned(),
                ..base.clone()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
            assert!(bad.generate().is_err());
        }
        assert!(base.validate().is_ok());
    }

    #[test]
    fn secure_mode_rules() {
        assert_eq!(
            secure_mode_skip("root", false, false),
            Some(SecureModeSkip::ReservedName)
        );
        assert_eq!(
            secure_mode_skip("Administrator", false, false),
            Some(SecureModeSkip::ReservedName)
        );
        assert_eq!(
            secure_mode_skip("dba", true, false),
            Some(SecureModeSkip::Privileged)
        );
        assert_eq!(
            secure_mode_skip("ops", false, true),
            Some(SecureModeSkip::ChangesOthers)
        );
        assert_eq!(secure_mode_skip("app", false, false), None);
    }

    #[test]
    fn statuses_round_trip() {
        for s in ExecutionStatus::ALL {
            assert_eq!(ExecutionStatus::parse(s.as_str()), Some(*s));
        }
        assert!(ExecutionStatus::Interrupted.is_final());
        assert!(!ExecutionStatus::Running.is_final());
        assert_eq!(
            RecordStatus::parse("unverified"),
            Some(RecordStatus::Unverified)
        );
    }
}

vocabulary!(
    /// What a person can do about an account the change-secret overview lists.
    NextAction {
        /// Retry the record (after fixing the cause: a target down, a wrong privileged password).
        Retry => "retry",
        /// Log in with the new secret (an unverified change), or with the current one.
        Verify => "verify",
        /// Make the verified new secret current (fresh TOTP code).
        Adopt => "adopt",
        /// Set the record aside: it is stale (the account was changed another way).
        Ignore => "ignore",
        /// Fix the asset or the account first (host key, privileged account, platform, secret).
        FixAsset => "fix_asset",
        /// Reconcile: no stored secret logs in (drift), so the reconcile account sets a new one.
        Reconcile => "reconcile",
    }
);

vocabulary!(
    /// Why the change-secret overview lists an account.
    AttentionKind {
        /// Its latest change failed.
        Failed => "failed",
        /// Its latest change is unverified: the new secret stays staged for a person.
        Unverified => "unverified",
        /// Its status needs a person (a failed verification, an ended change).
        NeedsAttention => "needs_attention",
    }
);
