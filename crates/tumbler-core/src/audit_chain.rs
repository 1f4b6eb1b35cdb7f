//! The audit chain's key: a random 32-byte key sealed in the vault (so it survives a master
//! key rotation, which re-wraps the data keys), together with the sequence number of the
//! event from which the chain is keyed.
//!
//! A store that kept events before this existed is upgraded once: its existing events keep
//! their plain SHA-256 links, and an `audit.chain.keyed` event, the first HMAC-linked one,
//! marks where keying starts. The marker's number is sealed with the key, so an attacker who
//! can write the database cannot move the start of the keyed part (nor drop it) without
//! verification noticing.
//!
//! The key is never made again once the chain was keyed: a start that finds no sealed key
//! while an `audit.chain.keyed` event exists reports tampering (and verification says so)
//! instead of keying the chain a second time at its tail, which would otherwise let someone
//! who can write the database rewrite everything before the new marker with plain links.
//! Reading the state ([`read_chain_state`]) writes nothing, so verification is read-only.
//!
//! A new vault keys the chain in the transaction that creates its data key, and that key's
//! id is marked ([`crate::vault::CHAIN_KEYED_PREFIX`]) under the master key: in such a store
//! a missing chain key is tampering even when every marker event was removed too. Only a
//! store whose vault an older Tumbler created is keyed later, at its tail, once.

use crate::{event, RequestOrigin, Vault, VaultError};
use rand::rngs::OsRng;
use rand::RngCore;
use std::sync::Arc;
use tumbler_domain::audit::{Outcome, CHAIN_KEYED_ACTION};
use tumbler_domain::secret_owner::SecretOwner;
use tumbler_domain::Clock;
use tumbler_store::{AuditFilter, AuditKey, Store, StoreError};
use zeroize::Zeroizing;

/// Vault owner of the sealed chain key.
pub(crate) const OWNER_KIND: SecretOwner = SecretOwner::AuditChain;
/// Vault owner id of the sealed chain key.
pub(crate) const OWNER_ID: &str = "key";

/// The chain key and where keying starts.
#[derive(Debug, Clone)]
pub struct ChainKey {
    /// The HMAC key.
    pub key: AuditKey,
    /// Sequence number of the `audit.chain.keyed` event; events before it are plain SHA-256.
    pub keyed_from: i64,
}

/// What the store and vault say about the chain key, read without writing anything.
#[derive(Debug, Clone)]
pub enum ChainState {
    /// The chain is keyed with this key.
    Keyed(ChainKey),
    /// No key and no `audit.chain.keyed` event: the chain was never keyed (a new store, or
    /// one an older Tumbler wrote, before its first start with keying).
    NotKeyed,
    /// No sealed key although the chain was keyed (an `audit.chain.keyed` event exists): the
    /// key was removed from the vault, so the chain has been tampered with.
    KeyMissing {
        /// Sequence number of the newest `audit.chain.keyed` event.
        marker_seq: i64,
    },
}

impl ChainState {
    /// The key, when the chain is keyed.
    pub fn key(&self) -> Option<&ChainKey> {
        match self {
            Self::Keyed(k) => Some(k),
            _ => None,
        }
    }
}

/// Why the chain key could not be read or made.
#[derive(Debug, thiserror::Error)]
pub enum ChainKeyError {
    /// The vault failed (the sealed key was altered, or the master key is wrong).
    #[error("the audit chain key: {0}")]
    Vault(#[from] VaultError),
    /// The store failed.
    #[error("the audit chain key: {0}")]
    Store(#[from] StoreError),
    /// The sealed value is not a key and a sequence number.
    #[error("the audit chain key is malformed")]
    Malformed,
}

fn decode(plain: &[u8]) -> Result<ChainKey, ChainKeyError> {
    if plain.len() != 40 {
        return Err(ChainKeyError::Malformed);
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(&plain[..32]);
    let mut seq = [0u8; 8];
    seq.copy_from_slice(&plain[32..]);
    Ok(ChainKey {
        key: AuditKey::new(key),
        keyed_from: i64::from_be_bytes(seq),
    })
}

/// The sealed chain key, if the chain was keyed already.
pub async fn load_chain_key(vault: &Vault) -> Result<Option<ChainKey>, ChainKeyError> {
    match vault.open_secret(OWNER_KIND, OWNER_ID, 1).await {
        Ok(plain) => decode(&plain).map(Some),
        Err(VaultError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The chain's state: its sealed key, or whether a keying marker exists without one. Reads
/// only; used by verification, which must never key the chain itself.
pub async fn read_chain_state(store: &Store, vault: &Vault) -> Result<ChainState, ChainKeyError> {
    if let Some(k) = load_chain_key(vault).await? {
        return Ok(ChainState::Keyed(k));
    }
    let state = marker_state(store).await?;
    if vault.keys_chain_from_creation() {
        // This vault keyed the chain when it was created: the key was removed.
        if let ChainState::NotKeyed = state {
            return Ok(ChainState::KeyMissing { marker_seq: 1 });
        }
    }
    Ok(state)
}

/// Keys the chain inside `tx`: a new random key set on `tx`, then the `audit.chain.keyed`
/// event, its first HMAC-linked one. Returns the plaintext to seal (key and the marker's
/// sequence number).
pub(crate) async fn append_marker(
    tx: &mut tumbler_store::Tx,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Zeroizing<Vec<u8>>, StoreError> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(bytes.as_mut());
    tx.use_audit_key(AuditKey::new(*bytes));
    let marker = tx
        .append_audit(
            &event(
                "system",
                CHAIN_KEYED_ACTION,
                ("audit", "chain"),
                Outcome::Success,
                &RequestOrigin::host(),
                "from this event on, links are HMAC-SHA256 under a key sealed in the vault",
            ),
            now,
        )
        .await?;
    let mut plain = Zeroizing::new(Vec::with_capacity(40));
    plain.extend_from_slice(bytes.as_ref());
    plain.extend_from_slice(&marker.seq.to_be_bytes());
    Ok(plain)
}

/// [`ChainState::KeyMissing`] when an `audit.chain.keyed` event exists, else
/// [`ChainState::NotKeyed`]; for a store whose vault holds no chain key.
pub async fn marker_state(store: &Store) -> Result<ChainState, ChainKeyError> {
    let (markers, _) = store
        .audit_events(&AuditFilter {
            action: Some(CHAIN_KEYED_ACTION.as_str().to_owned()),
            limit: 1,
            ..AuditFilter::default()
        })
        .await?;
    Ok(match markers.first() {
        Some(m) => ChainState::KeyMissing { marker_seq: m.seq },
        None => ChainState::NotKeyed,
    })
}

/// Reads the chain key, or keys the chain now (a new key sealed in the vault and the
/// `audit.chain.keyed` event, in one transaction); then sets it on `store`, so that every
/// event appended afterwards is HMAC-linked. Called at start, right after the vault opens.
///
/// Keys the chain only when it was never keyed: when the key is missing but a keying marker
/// exists, it logs an error and returns [`ChainState::KeyMissing`] (which verification
/// reports as tampering), writing nothing.
pub async fn ensure_chain_key(
    store: &Store,
    vault: &Vault,
    clock: &Arc<dyn Clock>,
) -> Result<ChainState, ChainKeyError> {
    match read_chain_state(store, vault).await? {
        ChainState::Keyed(k) => {
            store.set_audit_key(k.key.clone());
            return Ok(ChainState::Keyed(k));
        }
        ChainState::KeyMissing { marker_seq } => {
            tracing::error!(
                marker_seq,
                "the audit chain key is missing from the vault although the chain was keyed: \
                 the store has been tampered with; the chain is not keyed again"
            );
            return Ok(ChainState::KeyMissing { marker_seq });
        }
        ChainState::NotKeyed => {}
    }
    let made = async {
        let mut tx = store.begin().await?;
        let plain = append_marker(&mut tx, clock.now()).await?;
        vault.seal(&mut tx, OWNER_KIND, OWNER_ID, 1, &plain).await?;
        tx.commit().await?;
        decode(&plain)
    }
    .await;
    let k = match made {
        Ok(k) => k,
        // Another node keyed the chain at the same moment: use its key.
        Err(e) => load_chain_key(vault).await?.ok_or(e)?,
    };
    store.set_audit_key(k.key.clone());
    Ok(ChainState::Keyed(k))
}
