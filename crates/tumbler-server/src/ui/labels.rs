//! The one place the console turns a vocabulary value (a stored, snake_case name such as
//! `password_based` or `fingerprint_conflict`) into the words a person reads. Pages show the
//! label, with the code in small print for support (`<small class="code">`); filters show the
//! label and send the code.

use tumbler_domain::change_secret::{
    AttentionKind, ExecutionStatus, NextAction, RecordStatus, SecretStrategy, Trigger,
};
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::inventory::{
    AccountStatus, AuthStatus, Connectivity, HostKeyStatus, SecretType, TlsMode,
};
use tumbler_domain::job::{JobKind, JobStatus, OutcomeStatus};
use tumbler_domain::password_status::PasswordStatus;
use tumbler_domain::user::{UserKind, UserStatus};

/// A vocabulary value as a page shows it: its label, its code in small print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shown {
    /// What a person reads.
    pub label: &'static str,
    /// The stored name, for support and for `data-` attributes and filter values.
    pub code: &'static str,
}

/// A value of a closed vocabulary with a label for people.
pub trait Labelled: Copy {
    /// What the console calls it.
    fn label(self) -> &'static str;
    /// Its stored name.
    fn code(self) -> &'static str;
    /// Both, for a page.
    fn shown(self) -> Shown {
        Shown {
            label: self.label(),
            code: self.code(),
        }
    }
}

/// A filter's choice: the code it sends, the label it shows, whether it is chosen now.
pub struct Choice {
    /// The code sent.
    pub value: &'static str,
    /// The label shown.
    pub label: &'static str,
    /// Chosen now.
    pub selected: bool,
}

/// The choices of a filter over `all`, `chosen` selected.
pub fn choices<T: Labelled>(all: &[T], chosen: Option<&str>) -> Vec<Choice> {
    all.iter()
        .map(|v| Choice {
            value: v.code(),
            label: v.label(),
            selected: chosen == Some(v.code()),
        })
        .collect()
}

macro_rules! labels {
    ($ty:ty, $code:expr, { $($variant:path => $label:expr),+ $(,)? }) => {
        impl Labelled for $ty {
            fn label(self) -> &'static str {
                match self { $($variant => $label),+ }
            }
            fn code(self) -> &'static str {
                let code: fn($ty) -> &'static str = $code;
                code(self)
            }
        }
    };
}

labels!(Connectivity, Connectivity::as_str, {
    Connectivity::Unknown => "Not checked yet",
    Connectivity::Ok => "Reachable",
    Connectivity::Unreachable => "Unreachable",
});

labels!(HostKeyStatus, HostKeyStatus::as_str, {
    HostKeyStatus::Unverified => "Not verified",
    HostKeyStatus::Verified => "Verified",
    HostKeyStatus::FingerprintConflict => "Different key presented",
    HostKeyStatus::Relocated => "Moved, awaiting acceptance",
});

labels!(AuthStatus, AuthStatus::as_str, {
    AuthStatus::PasswordBased => "Password",
    AuthStatus::KeyBased => "Device key",
    AuthStatus::KeyBasedCustom => "Uploaded key",
    AuthStatus::KeyConflict => "Key conflict",
});

labels!(TlsMode, TlsMode::as_str, {
    TlsMode::Disable => "No TLS",
    TlsMode::Require => "TLS, certificate not checked",
    TlsMode::VerifyFull => "TLS, certificate checked",
});

labels!(AccountStatus, AccountStatus::as_str, {
    AccountStatus::Unknown => "Not verified yet",
    AccountStatus::Ok => "Working",
    AccountStatus::Failed => "Verification failed",
    AccountStatus::Changing => "Change under way",
    AccountStatus::NeedsAttention => "Needs a person",
});

labels!(SecretType, SecretType::as_str, {
    SecretType::Password => "Password",
    SecretType::SshKey => "SSH key",
});

labels!(SecretStrategy, SecretStrategy::as_str, {
    SecretStrategy::Specified => "Entered by an administrator",
    SecretStrategy::Random => "Random",
});

labels!(Trigger, Trigger::as_str, {
    Trigger::Manual => "Started by hand",
    Trigger::Schedule => "Schedule",
    Trigger::Retry => "Retry",
    Trigger::Reconcile => "Reconcile",
    Trigger::Restore => "Restore",
});

labels!(ExecutionStatus, ExecutionStatus::as_str, {
    ExecutionStatus::Pending => "Waiting to start",
    ExecutionStatus::Running => "Running",
    ExecutionStatus::Succeeded => "Succeeded",
    ExecutionStatus::Partial => "Partly failed",
    ExecutionStatus::Failed => "Failed",
    ExecutionStatus::NothingChanged => "Nothing changed",
    ExecutionStatus::Interrupted => "Interrupted",
});

labels!(RecordStatus, RecordStatus::as_str, {
    RecordStatus::Pending => "Not done yet",
    RecordStatus::Success => "Changed",
    RecordStatus::Failed => "Failed",
    RecordStatus::Unverified => "Changed, not verified",
    RecordStatus::Ignored => "Set aside",
});

labels!(NextAction, NextAction::as_str, {
    NextAction::Retry => "Retry",
    NextAction::Verify => "Verify",
    NextAction::Adopt => "Adopt the new secret",
    NextAction::Ignore => "Set aside",
    NextAction::FixAsset => "Fix the asset or account",
    NextAction::Reconcile => "Reconcile",
});

labels!(AttentionKind, AttentionKind::as_str, {
    AttentionKind::Failed => "Latest change failed",
    AttentionKind::Unverified => "Latest change not verified",
    AttentionKind::NeedsAttention => "Needs a person",
});

impl Labelled for JobKind {
    fn label(self) -> &'static str {
        JobKind::label(self)
    }
    fn code(self) -> &'static str {
        self.into()
    }
}

impl Labelled for JobStatus {
    fn label(self) -> &'static str {
        JobStatus::label(self)
    }
    fn code(self) -> &'static str {
        self.into()
    }
}

labels!(OutcomeStatus, |v| v.into(), {
    OutcomeStatus::Succeeded => "Succeeded",
    OutcomeStatus::Failed => "Failed",
    OutcomeStatus::Unreachable => "Unreachable",
    OutcomeStatus::Skipped => "Nothing to do",
});

labels!(PasswordStatus, PasswordStatus::as_str, {
    PasswordStatus::None => "No local password",
    PasswordStatus::Active => "In force",
    PasswordStatus::Temporary => "Temporary, to change at the next login",
    PasswordStatus::TemporaryExpired => "Temporary, expired",
    PasswordStatus::ExpiredByAge => "Expired by age",
    PasswordStatus::PolicyTightened => "To change: the policy was tightened",
});

labels!(UserKind, |v| v.into(), {
    UserKind::Local => "Local",
    UserKind::Remote => "Remote (directory)",
});

labels!(UserStatus, |v| v.into(), {
    UserStatus::Enabled => "Enabled",
    UserStatus::Disabled => "Disabled",
});

/// What an account status means, as the overview explains it beside the count.
pub fn account_status_meaning(s: AccountStatus) -> &'static str {
    match s {
        AccountStatus::Unknown => "no login with its stored secret was tried yet",
        AccountStatus::Ok => "the last verification or change succeeded",
        AccountStatus::Failed => "the last login with its stored secret failed",
        AccountStatus::Changing => "a change is under way",
        AccountStatus::NeedsAttention => {
            "a change ended unclear or the stored secret stopped working: a person decides"
        }
    }
}

/// A stored reason written `code: words` (an account's status reason) split into the words
/// and the failure code; a reason without a known code is all words.
pub fn reason_and_code(text: &str) -> (String, String) {
    match text.split_once(": ") {
        Some((code, words)) if FailureCode::parse(code).is_some() => {
            (words.to_owned(), code.to_owned())
        }
        _ => (text.to_owned(), String::new()),
    }
}

/// A refusal written `field: reason` (as the domain's checks write them) as a sentence:
/// "Select at least one asset (asset ids)." Any other message is returned as it is.
pub fn sentence(message: &str) -> String {
    let Some((field, reason)) = message.split_once(": ") else {
        return message.to_owned();
    };
    let is_field = !field.is_empty()
        && field
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.');
    if !is_field {
        return message.to_owned();
    }
    let reason = reason.trim().trim_end_matches('.');
    let mut chars = reason.chars();
    let reason: String = match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => return message.to_owned(),
    };
    format!("{reason} (field: {}).", field.replace(['_', '.'], " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_code_in<T: Labelled>(all: &[T]) {
        for v in all {
            let label = v.label();
            assert!(!label.contains('_'), "{label}");
            assert!(!label.is_empty(), "{}", v.code());
            assert_ne!(label, v.code(), "{label}");
        }
    }

    #[test]
    fn every_vocabulary_value_has_a_label_that_is_not_its_code() {
        no_code_in(AuthStatus::ALL);
        no_code_in(HostKeyStatus::ALL);
        no_code_in(AccountStatus::ALL);
        no_code_in(ExecutionStatus::ALL);
        no_code_in(RecordStatus::ALL);
        no_code_in(NextAction::ALL);
        no_code_in(AttentionKind::ALL);
        no_code_in(Trigger::ALL);
        no_code_in(TlsMode::ALL);
        no_code_in(SecretType::ALL);
        no_code_in(SecretStrategy::ALL);
        no_code_in(&PasswordStatus::ALL);
        assert_eq!(JobKind::RegenerateKey.shown().code, "regenerate_key");
        assert_eq!(JobStatus::Partial.shown().label, "Partly failed");
        assert_eq!(OutcomeStatus::Skipped.shown().code, "skipped");
    }

    #[test]
    fn a_stored_reason_keeps_its_code_apart() {
        assert_eq!(
            reason_and_code("target_refused: the target refused"),
            ("the target refused".to_owned(), "target_refused".to_owned())
        );
        assert_eq!(
            reason_and_code("chpasswd: failed"),
            ("chpasswd: failed".to_owned(), String::new())
        );
    }

    #[test]
    fn a_field_refusal_reads_as_a_sentence() {
        assert_eq!(
            sentence("asset_ids: select at least one asset"),
            "Select at least one asset (field: asset ids)."
        );
        assert_eq!(
            sentence("exclude_symbols: '\\'' is not one of the symbols used"),
            "'\\'' is not one of the symbols used (field: exclude symbols)."
        );
        assert_eq!(sentence("Wrong code. Try again."), "Wrong code. Try again.");
        assert_eq!(sentence("Port: too big"), "Port: too big");
    }
}
