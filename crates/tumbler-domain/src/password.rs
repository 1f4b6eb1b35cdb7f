//! Passwords of console users: generating one-time passwords and the baseline rules a new
//! password must meet. The full, configurable policy builds on [`PasswordRules`].

use rand::rngs::OsRng;
use rand::seq::SliceRandom;
use secrecy::SecretString;

/// Characters of generated one-time passwords: no look-alikes, no comma, no quotes.
const GENERATED_ALPHABET: &[u8] =
    b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_.+=!@#%";

/// Length of generated one-time passwords.
pub const GENERATED_LENGTH: usize = 24;

/// A random one-time password from the operating system's cryptographic RNG.
pub fn generate_one_time_password() -> SecretString {
    let mut rng = OsRng;
    let s: String = (0..GENERATED_LENGTH)
        .filter_map(|_| GENERATED_ALPHABET.choose(&mut rng).map(|b| *b as char))
        .collect();
    SecretString::from(s)
}

/// The rules a new console password is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordRules {
    /// Minimum length in characters.
    pub min_length: usize,
    /// Maximum length in characters; longer passwords are refused, never truncated.
    pub max_length: usize,
    /// Characters that may not appear (comma by default).
    pub disallowed_chars: String,
}

impl Default for PasswordRules {
    fn default() -> Self {
        Self {
            min_length: 15,
            max_length: 128,
            disallowed_chars: ",".to_owned(),
        }
    }
}

/// One rule a candidate password broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleViolation {
    /// Stable machine-readable code, e.g. `too_short`.
    pub code: &'static str,
    /// What the rule asks for, in words a person understands.
    pub message: String,
}

impl PasswordRules {
    /// Every rule `candidate` breaks (empty when it complies). Never echoes the candidate.
    pub fn check(&self, candidate: &str, username: &str) -> Vec<RuleViolation> {
        let mut broken = Vec::new();
        let len = candidate.chars().count();
        if len < self.min_length {
            broken.push(RuleViolation {
                code: "too_short",
                message: format!("Use at least {} characters.", self.min_length),
            });
        }
        if len > self.max_length {
            broken.push(RuleViolation {
                code: "too_long",
                message: format!("Use at most {} characters.", self.max_length),
            });
        }
        if candidate.chars().any(|c| self.disallowed_chars.contains(c)) {
            broken.push(RuleViolation {
                code: "disallowed_character",
                message: format!(
                    "Do not use these characters: {}",
                    self.disallowed_chars
                        .chars()
                        .map(String::from)
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
            });
        }
        if candidate.chars().any(char::is_control) {
            broken.push(RuleViolation {
                code: "control_character",
                message: "Control characters are not allowed.".to_owned(),
            });
        }
        if !username.is_empty() && candidate.to_lowercase().contains(&username.to_lowercase()) {
            broken.push(RuleViolation {
                code: "contains_username",
                message: "Do not include your username.".to_owned(),
            });
        }
        broken
    }

    /// The rules in words, one line each, for the tooltip beside "New Password".
    pub fn describe(&self) -> Vec<String> {
        vec![
            format!(
                "Between {} and {} characters.",
                self.min_length, self.max_length
            ),
            format!(
                "No {} and no control characters.",
                self.disallowed_chars
                    .chars()
                    .map(|c| format!("\"{c}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "Must not contain your username.".to_owned(),
            "Must differ from your current password.".to_owned(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn generated_passwords_meet_default_rules_and_differ() {
        let a = generate_one_time_password();
        let b = generate_one_time_password();
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert!(PasswordRules::default()
            .check(a.expose_secret(), "admin")
            .is_empty());
    }

    #[test]
    fn every_broken_rule_is_reported() {
        let codes: Vec<_> = PasswordRules::default()
            .check("admin,\u{7}", "admin")
            .into_iter()
            .map(|v| v.code)
            .collect();
        assert_eq!(
            codes,
            [
                "too_short",
                "disallowed_character",
                "control_character",
                "contains_username"
            ]
        );
    }

    #[test]
    fn overlong_passwords_are_refused_not_truncated() {
        let long = "x".repeat(129);
        let codes: Vec<_> = PasswordRules::default()
            .check(&long, "bob")
            .into_iter()
            .map(|v| v.code)
            .collect();
        assert_eq!(codes, ["too_long"]);
    }
}
