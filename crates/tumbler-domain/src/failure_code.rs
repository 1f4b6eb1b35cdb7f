//! Why a change record ended as it did (a step failed, a rule skipped the account, recovery
//! settled it), as recorded on a change record's `reason_code` and answered by the API: one
//! closed vocabulary, stored and serialised by the same names as before. A record without a
//! reason (a success, a pending record) holds `None`, stored and serialised as `""`.

use crate::inventory::vocabulary;
use serde::{Deserialize, Serialize};
use std::fmt;

vocabulary!(
    /// The stable code of a failed step of a change (connecting, becoming root, changing,
    /// verifying, settling after a crash).
    FailureCode {
        /// The target could not be reached.
        Unreachable => "unreachable",
        /// A step took longer than its limit.
        Timeout => "timeout",
        /// The session broke during a step.
        ConnectionLost => "connection_lost",
        /// The target's answer to a change was lost (it may have landed).
        ReplyLost => "reply_lost",
        /// The target answered something the engine did not expect.
        Protocol => "protocol",
        /// The target refused the change.
        TargetRefused => "target_refused",
        /// The account is locked on the target.
        AccountLocked => "account_locked",
        /// A template's prompt did not match what the target printed.
        PromptMismatch => "prompt_mismatch",
        /// The privileged account could not log in.
        PrivilegedLoginFailed => "privileged_login_failed",
        /// The privileged account could not become root.
        BecomeRefused => "become_refused",
        /// The asset has no privileged account to change through.
        NoPrivilegedAccount => "no_privileged_account",
        /// A secret the change needs is not stored.
        MissingSecret => "missing_secret",
        /// The new secret did not log in.
        VerifyFailed => "verify_failed",
        /// The secret type cannot be changed on this platform.
        UnsupportedSecret => "unsupported_secret",
        /// The platform has no change method.
        UnsupportedPlatform => "unsupported_platform",
        /// The task's custom template is invalid.
        InvalidTemplate => "invalid_template",
        /// The task's owner may not run custom templates.
        TemplateNotAllowed => "template_not_allowed",
        /// The password rules cannot make a password.
        InvalidRules => "invalid_rules",
        /// The connection would not be encrypted.
        InsecureTransport => "insecure_transport",
        /// The TLS handshake failed.
        TlsFailed => "tls_failed",
        /// The host key differs from the pinned one.
        HostKeyConflict => "host_key_conflict",
        /// The host key is not verified and trusting it is off.
        HostKeyUnverified => "host_key_unverified",
        /// The asset moved to another domain during the run.
        AssetRelocated => "asset_relocated",
        /// Another change of the account is under way.
        ChangeInProgress => "change_in_progress",
        /// The run was interrupted (the node stopped) and recovery settled the account.
        Interrupted => "interrupted",
        /// A restored backup's journal replay settled the account.
        Restored => "restored",
        /// A person settled the account by a fresh login.
        Settled => "settled",
        /// The run ended with the account's change not finished; recovery settled it.
        NotFinished => "not_finished",
        /// A retry found a stage left by another change and settled it first.
        Retry => "retry",
        /// A reconcile found a stage left by another change and settled it first.
        Reconcile => "reconcile",
        /// The escrow journal could not be written.
        EscrowUnwritable => "escrow_unwritable",
        /// The escrow journal could not be read.
        EscrowUnreadable => "escrow_unreadable",
        /// An escrow entry did not open.
        EscrowEntryInvalid => "escrow_entry_invalid",
        /// The new secret could not be sealed for the escrow journal.
        EscrowSealFailed => "escrow_seal_failed",
        /// The account's `become` option names no method (sudo, su, none).
        UnknownBecomeMethod => "unknown_become_method",
        /// Something inside Tumbler failed (details in the server log).
        Internal => "internal",
        /// Skipped by secure mode: the account is marked privileged.
        SecureModePrivileged => "secure_mode_privileged",
        /// Skipped by secure mode: the account is named `root` or `administrator`.
        SecureModeReservedName => "secure_mode_reserved_name",
        /// Skipped by secure mode: Tumbler logs in with this account to change others.
        SecureModeLoginAccount => "secure_mode_login_account",
        /// Skipped: the account holds another secret type than the task changes.
        SecretTypeMismatch => "secret_type_mismatch",
        /// The account was changed by someone else while the change ran.
        AccountChanged => "account_changed",
        /// The stored secret no longer logs in (changed outside Tumbler).
        Drift => "drift",
        /// The task, the account or its asset no longer exists.
        NotFound => "not_found",
        /// The asset moved out of the task's reach before a retry.
        AssetMoved => "asset_moved",
        /// The task was disabled before a retry.
        TaskDisabled => "task_disabled",
        /// The task has no specified secret to set.
        NoSpecifiedSecret => "no_specified_secret",
        /// Reconcile cannot set this account's secret (platform, secret type).
        ReconcileUnsupported => "reconcile_unsupported",
        /// The asset has no account to reconcile through.
        NoReconcileAccount => "no_reconcile_account",
        /// The account is the one its asset is reconciled through.
        ReconcileAccountIsSelf => "reconcile_account_is_self",
        /// Reconcile refused: another change of the account is under way.
        AccountChanging => "account_changing",
    }
);

impl FailureCode {
    /// Whether a rule (secure mode, secret type) set the record aside, not a failure.
    pub fn is_skip_rule(self) -> bool {
        matches!(
            self,
            Self::SecureModePrivileged
                | Self::SecureModeReservedName
                | Self::SecureModeLoginAccount
                | Self::SecretTypeMismatch
        )
    }

    /// Parses a stored `reason_code`: `""` is no reason, an unknown name is `Err`.
    pub fn parse_stored(s: &str) -> Result<Option<Self>, UnknownFailureCode> {
        if s.is_empty() {
            return Ok(None);
        }
        Self::parse(s)
            .map(Some)
            .ok_or_else(|| UnknownFailureCode(s.to_owned()))
    }

    /// The stored (and serialised) text of an optional reason: `""` when there is none.
    pub fn stored(code: Option<Self>) -> &'static str {
        code.map(Self::as_str).unwrap_or("")
    }
}

/// A `reason_code` that names no known code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownFailureCode(pub String);

impl fmt::Display for UnknownFailureCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown reason code {:?}", self.0)
    }
}

impl std::error::Error for UnknownFailureCode {}

/// Serde for an optional reason code as today's wire text: `""` when there is none (use with
/// `#[serde(with = "tumbler_domain::failure_code::optional")]`).
pub mod optional {
    use super::FailureCode;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the code's name, or `""`.
    pub fn serialize<S: Serializer>(code: &Option<FailureCode>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(FailureCode::stored(*code))
    }

    /// Reads a code's name, or `""` as none; an unknown name is an error.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<FailureCode>, D::Error> {
        let text = String::deserialize(d)?;
        FailureCode::parse_stored(&text).map_err(serde::de::Error::custom)
    }

    /// The OpenAPI schema of that wire text: a string, one of the codes' names or `""` (use with
    /// `#[schema(schema_with = tumbler_domain::failure_code::optional::schema)]`).
    #[cfg(feature = "openapi")]
    pub fn schema() -> utoipa::openapi::schema::Object {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "A stable code for why the change failed or was skipped; `\"\"` when there is \
                 none (a success, a pending record).",
            ))
            .enum_values(Some(
                std::iter::once("").chain(FailureCode::ALL.iter().map(|c| c.as_str())),
            ))
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_stored_string() {
        for code in FailureCode::ALL {
            let text = code.as_str();
            assert_eq!(FailureCode::parse(text), Some(*code));
            assert_eq!(code.to_string(), text);
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{text}\""));
            assert_eq!(serde_json::from_str::<FailureCode>(&json).unwrap(), *code);
        }
        assert_eq!(FailureCode::parse("unreachabel"), None);
        assert_eq!(FailureCode::parse_stored(""), Ok(None));
        assert!(FailureCode::parse_stored("unreachabel").is_err());
    }
}
