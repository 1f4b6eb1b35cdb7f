//! Why a change step failed, as recorded on a change record's `reason_code` and answered by
//! the API: one closed vocabulary, stored and serialised by the same names as before.

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
    }
);

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
    }
}
