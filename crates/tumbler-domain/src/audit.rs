//! Audit events and their hash chain. Each event's hash covers the previous event's hash and
//! every field of the event, so changing, removing or reordering a stored event breaks the
//! chain. From the [`CHAIN_KEYED_ACTION`] event on, links are HMAC-SHA256 under a key sealed in
//! the vault, so that rewriting the tail needs the master key too.

pub use crate::audit_action::AuditAction;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The hash that precedes the first event of a chain.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Whether the audited action succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Outcome {
    /// The action took effect.
    Success,
    /// The action was refused or failed; nothing took effect.
    Failure,
}

impl Outcome {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The result of checking the hash chain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainReport {
    /// Whether every link holds.
    pub ok: bool,
    /// Events checked.
    pub events_checked: i64,
    /// Sequence number of the first broken link, if any.
    pub first_broken_seq: Option<i64>,
    /// Why that link is broken.
    pub reason: Option<String>,
}

/// An event about to be appended. Never carries a secret: name the secret's version instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEvent {
    /// Who acted: a username, `system` or `host` (a command run on the server's host).
    pub actor: String,
    /// What was done; stored by its dotted name (`auth.login`, `user.password.change`).
    pub action: AuditAction,
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEvent {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When it was appended.
    pub at: DateTime<Utc>,
    /// See [`NewAuditEvent::actor`].
    pub actor: String,
    /// See [`NewAuditEvent::action`].
    // Kept as text: a log may hold names no current `AuditAction` has.
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

/// The action of the event from which the chain is keyed (HMAC-SHA256): appended once, when a
/// store first runs a Tumbler version that keys the chain. Events before it keep their plain
/// SHA-256 links.
pub const CHAIN_KEYED_ACTION: AuditAction = AuditAction::AuditChainKeyed;

/// The fields of an event, in the order the chain covers them.
struct Fields<'a> {
    prev_hash: &'a str,
    seq: i64,
    at_millis: i64,
    text: [&'a str; 7],
}

impl Fields<'_> {
    /// Feeds the length-prefixed encoding of every field to `update`, so that no two
    /// different events share an encoding.
    fn feed(&self, mut update: impl FnMut(&[u8])) {
        for field in [
            self.prev_hash.as_bytes(),
            &self.seq.to_be_bytes(),
            &self.at_millis.to_be_bytes(),
        ] {
            update(&(field.len() as u64).to_be_bytes());
            update(field);
        }
        for field in self.text {
            update(&(field.len() as u64).to_be_bytes());
            update(field.as_bytes());
        }
    }

    /// Plain SHA-256 (the chain before it was keyed).
    fn sha256(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"tumbler-audit-v1");
        self.feed(|b| h.update(b));
        hex::encode(h.finalize())
    }

    /// HMAC-SHA256 under the chain key: whoever can write the database but does not hold
    /// the key cannot compute a valid link.
    fn hmac(&self, key: &[u8]) -> String {
        use hmac::{Hmac, Mac};
        // HMAC accepts a key of any length: this cannot fail.
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        m.update(b"tumbler-audit-v2");
        self.feed(|b| m.update(b));
        hex::encode(m.finalize().into_bytes())
    }

    fn hash(&self, key: Option<&[u8]>) -> String {
        match key {
            Some(k) => self.hmac(k),
            None => self.sha256(),
        }
    }
}

/// The chain hash of an event: HMAC-SHA256 under `key` when the chain is keyed, else plain
/// SHA-256, over the previous hash and each field, length-prefixed.
#[allow(clippy::too_many_arguments)]
pub fn chain_hash(
    key: Option<&[u8]>,
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
    Fields {
        prev_hash,
        seq,
        at_millis,
        text: [
            actor,
            action,
            object_kind,
            object_id,
            outcome,
            source,
            detail,
        ],
    }
    .hash(key)
}

impl AuditEvent {
    /// Recomputes this event's hash from its fields and the given previous hash, keyed with
    /// `key` (events from the keyed marker on) or plain (events before it).
    pub fn expected_hash(&self, prev_hash: &str, key: Option<&[u8]>) -> String {
        chain_hash(
            key,
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
    fn outcome_names_agree_with_serde() {
        for o in [Outcome::Success, Outcome::Failure] {
            let json = serde_json::to_string(&o).expect("json");
            assert_eq!(json, format!("\"{}\"", o.as_str()));
        }
        assert_eq!(Outcome::Failure.as_str(), "failure");
    }

    #[test]
    fn field_boundaries_matter() {
        let a = chain_hash(
            None,
            GENESIS_HASH,
            1,
            0,
            "ab",
            "c",
            "",
            "",
            "success",
            "",
            "",
        );
        let b = chain_hash(
            None,
            GENESIS_HASH,
            1,
            0,
            "a",
            "bc",
            "",
            "",
            "success",
            "",
            "",
        );
        assert_ne!(a, b);
        let k1 = chain_hash(
            Some(b"k1"),
            GENESIS_HASH,
            1,
            0,
            "a",
            "bc",
            "",
            "",
            "success",
            "",
            "",
        );
        let k2 = chain_hash(
            Some(b"k2"),
            GENESIS_HASH,
            1,
            0,
            "a",
            "bc",
            "",
            "",
            "success",
            "",
            "",
        );
        assert_ne!(k1, k2);
        assert_ne!(k1, b);
    }
}
