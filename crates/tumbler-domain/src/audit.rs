//! Audit events and their hash chain. Each event's hash covers the previous event's hash and
//! every field of the event, so changing, removing or reordering a stored event breaks the chain.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The hash that precedes the first event of a chain.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Whether the audited action succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The action took effect.
    Success,
    /// The action was refused or failed; nothing took effect.
    Failure,
}

impl Outcome {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }
}

/// An event about to be appended. Never carries a secret: name the secret's version instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEvent {
    /// Who acted: a username, `system` or `host` (a command run on the server's host).
    pub actor: String,
    /// What was done, dotted: `auth.login`, `user.password.change`.
    pub action: String,
    /// Kind of the object acted on: `user`, `session`, `vault`.
    pub object_kind: String,
    /// Id of the object, empty when none.
    pub object_id: String,
    /// Success or failure.
    pub outcome: Outcome,
    /// Source address of the request, empty when not over the network.
    pub source: String,
    /// Free text with non-secret details (a reason code, a secret's version number).
    pub detail: String,
}

/// An event as stored in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEvent {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When it was appended.
    pub at: DateTime<Utc>,
    /// See [`NewAuditEvent::actor`].
    pub actor: String,
    /// See [`NewAuditEvent::action`].
    pub action: String,
    /// See [`NewAuditEvent::object_kind`].
    pub object_kind: String,
    /// See [`NewAuditEvent::object_id`].
    pub object_id: String,
    /// `success` or `failure`.
    pub outcome: String,
    /// See [`NewAuditEvent::source`].
    pub source: String,
    /// See [`NewAuditEvent::detail`].
    pub detail: String,
    /// Hash of the previous event (hex).
    pub prev_hash: String,
    /// Hash of this event (hex).
    pub hash: String,
}

/// The chain hash of an event: SHA-256 over the previous hash and each field, length-prefixed
/// so that no two different events can share an encoding.
#[allow(clippy::too_many_arguments)]
pub fn chain_hash(
    prev_hash: &str,
    seq: i64,
    at_millis: i64,
    actor: &str,
    action: &str,
    object_kind: &str,
    object_id: &str,
    outcome: &str,
    source: &str,
    detail: &str,
) -> String {
    let mut h = Sha256::new();
    h.update(b"tumbler-audit-v1");
    for field in [
        prev_hash.as_bytes(),
        &seq.to_be_bytes(),
        &at_millis.to_be_bytes(),
    ] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field);
    }
    for field in [
        actor,
        action,
        object_kind,
        object_id,
        outcome,
        source,
        detail,
    ] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    hex::encode(h.finalize())
}

impl AuditEvent {
    /// Recomputes this event's hash from its fields and the given previous hash.
    pub fn expected_hash(&self, prev_hash: &str) -> String {
        chain_hash(
            prev_hash,
            self.seq,
            self.at.timestamp_millis(),
            &self.actor,
            &self.action,
            &self.object_kind,
            &self.object_id,
            &self.outcome,
            &self.source,
            &self.detail,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_boundaries_matter() {
        let a = chain_hash(GENESIS_HASH, 1, 0, "ab", "c", "", "", "success", "", "");
        let b = chain_hash(GENESIS_HASH, 1, 0, "a", "bc", "", "", "success", "", "");
        assert_ne!(a, b);
    }
}
