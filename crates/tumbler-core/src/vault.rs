//! The vault: seals secrets under data keys wrapped by the master key.

use crate::{event, RequestOrigin};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use tumbler_crypto::{CryptoError, DataKey, MasterKey};
use tumbler_domain::audit::{AuditAction, Outcome};
use tumbler_domain::ids::DataKeyId;
use tumbler_domain::secret_owner::SecretOwner;
use tumbler_domain::Clock;
use tumbler_store::{DataKeyRow, SealedSecretRow, Store, StoreError, Tx};
use zeroize::Zeroizing;

/// What went wrong in the vault. No variant carries key material or plaintext.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The master key given is not the one that wrapped this store's data keys.
    #[error("the master key (id {given}) does not match this store (wrapped by {expected}); start with the right key")]
    WrongMasterKey {
        /// Id of the key that wrapped the data keys.
        expected: String,
        /// Id of the key given.
        given: String,
    },
    /// No secret with that owner and version.
    #[error("secret not found")]
    NotFound,
    /// A sealed secret failed to open: it was moved, altered, or the key is wrong.
    #[error("secret failed to decrypt")]
    Crypto(#[from] CryptoError),
    /// The store failed.
    #[error("internal error")]
    Store(#[from] StoreError),
}

impl VaultError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::WrongMasterKey { .. } => "wrong_master_key",
            Self::NotFound => "secret_not_found",
            Self::Crypto(e) => e.code(),
            Self::Store(_) => "internal_error",
        }
    }
}

/// Associated data binding a sealed secret to its owner, version and data key.
fn associated_data(
    owner_kind: SecretOwner,
    owner_id: &str,
    version: i64,
    key_id: &DataKeyId,
) -> Vec<u8> {
    let owner_kind = owner_kind.as_str();
    format!("tumbler-secret-v1\0{owner_kind}\0{owner_id}\0{version}\0{key_id}").into_bytes()
}

struct Keys {
    master: MasterKey,
    data: HashMap<DataKeyId, DataKey>,
    active: DataKeyId,
}

/// Seals and opens secrets. Data keys are unwrapped once at start and kept in memory.
#[derive(Clone)]
pub struct Vault {
    store: Store,
    clock: Arc<dyn Clock>,
    keys: Arc<RwLock<Keys>>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(..)")
    }
}

impl Vault {
    /// Opens the vault with `master`: unwraps every data key (creating the first one in a new
    /// store), failing with [`VaultError::WrongMasterKey`] if `master` did not wrap them.
    pub async fn open(
        store: Store,
        clock: Arc<dyn Clock>,
        master: MasterKey,
    ) -> Result<Self, VaultError> {
        let mut rows = store.data_keys().await?;
        if rows.is_empty() {
            let mut tx = store.begin().await?;
            // Another node may have created it meanwhile; re-read inside the write lock.
            rows = tx.data_keys().await?;
            if rows.is_empty() {
                let row = new_data_key_row(&master, clock.now())?;
                tx.insert_data_key(&row.0).await?;
                tx.append_audit(
                    &event(
                        "system",
                        AuditAction::VaultDataKeyCreate,
                        ("data_key", row.0.id.as_str()),
                        Outcome::Success,
                        &RequestOrigin::host(),
                        "",
                    ),
                    clock.now(),
                )
                .await?;
                // A new vault keys the audit chain in the same transaction, so that a store
                // whose data key is marked (see `CHAIN_KEYED_PREFIX`) always has a chain key.
                let plain = crate::audit_chain::append_marker(&mut tx, clock.now()).await?;
                let sealed = sealed_row(
                    &row.1,
                    &row.0.id,
                    crate::audit_chain::OWNER_KIND,
                    crate::audit_chain::OWNER_ID,
                    1,
                    &plain,
                    clock.now(),
                )?;
                tx.insert_sealed_secret(&sealed).await?;
                rows.push(row.0);
            }
            tx.commit().await?;
        }
        let keys = unwrap_all(&master, &rows)?;
        Ok(Self {
            store,
            clock,
            keys: Arc::new(RwLock::new(keys)),
        })
    }

    /// Id of the master key in use.
    pub fn master_key_id(&self) -> String {
        self.read().master.id()
    }

    /// Runs `f` with the master key (for records sealed under it outside the store, such as
    /// the escrow journal). The key never leaves the vault.
    pub(crate) fn with_master<R>(&self, f: impl FnOnce(&MasterKey) -> R) -> R {
        f(&self.read().master)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Keys> {
        self.keys.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Seals `plaintext` as `version` of the owner's secret, inside `tx`.
    pub async fn seal(
        &self,
        tx: &mut Tx,
        owner_kind: SecretOwner,
        owner_id: &str,
        version: i64,
        plaintext: &[u8],
    ) -> Result<(), VaultError> {
        let row = {
            let keys = self.read();
            let key = keys.data.get(&keys.active).ok_or(VaultError::NotFound)?;
            sealed_row(
                key,
                &keys.active,
                owner_kind,
                owner_id,
                version,
                plaintext,
                self.clock.now(),
            )?
        };
        tx.insert_sealed_secret(&row).await?;
        Ok(())
    }

    /// Opens `version` of the owner's secret.
    pub async fn open_secret(
        &self,
        owner_kind: SecretOwner,
        owner_id: &str,
        version: i64,
    ) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let row = self
            .store
            .sealed_secret(owner_kind, owner_id, version)
            .await?
            .ok_or(VaultError::NotFound)?;
        let keys = self.read();
        let key = keys
            .data
            .get(&row.data_key_id)
            .ok_or(VaultError::NotFound)?;
        let ad = associated_data(owner_kind, owner_id, version, &row.data_key_id);
        Ok(tumbler_crypto::open(key, &row.envelope, &ad)?)
    }

    /// Re-wraps every data key under `new_master` in one transaction (audited), then uses it.
    /// Secrets are not touched. The caller persists the new key before calling this.
    pub async fn rotate_master_key(
        &self,
        new_master: MasterKey,
        origin: &RequestOrigin,
    ) -> Result<(), VaultError> {
        let old = self.read().master.clone();
        let mut tx = self.store.begin().await?;
        let rows = tx.data_keys().await?;
        let unwrapped = unwrap_all(&old, &rows)?;
        let new_id = new_master.id();
        for (id, key) in &unwrapped.data {
            tx.rewrap_data_key(id, &key.wrap(&new_master, id.as_str())?, &new_id)
                .await?;
        }
        tx.append_audit(
            &event(
                &origin.source,
                AuditAction::VaultMasterKeyRotate,
                ("master_key", &new_id),
                Outcome::Success,
                origin,
                format!("previous master key {}", old.id()),
            ),
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        let mut keys = self.keys.write().unwrap_or_else(|p| p.into_inner());
        *keys = Keys {
            master: new_master,
            ..unwrapped
        };
        Ok(())
    }
}

/// Prefix of the ids of data keys made by a Tumbler that keys the audit chain together with
/// the vault. The id is bound into the key's wrapping (associated data under the master key),
/// so without the master key it can be neither forged nor removed from a key: a store with
/// such a key always had a chain key, and a missing one is tampering, never a reason to key
/// the chain again.
pub const CHAIN_KEYED_PREFIX: &str = "ck-";

impl Vault {
    /// Whether this store's vault was created keying the audit chain with it (a data key
    /// whose authenticated id carries [`CHAIN_KEYED_PREFIX`]).
    pub fn keys_chain_from_creation(&self) -> bool {
        self.read()
            .data
            .keys()
            .any(|id| id.as_str().starts_with(CHAIN_KEYED_PREFIX))
    }
}

fn sealed_row(
    key: &DataKey,
    key_id: &DataKeyId,
    owner_kind: SecretOwner,
    owner_id: &str,
    version: i64,
    plaintext: &[u8],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<SealedSecretRow, VaultError> {
    let ad = associated_data(owner_kind, owner_id, version, key_id);
    Ok(SealedSecretRow {
        owner_kind,
        owner_id: owner_id.to_owned(),
        version,
        data_key_id: key_id.clone(),
        envelope: tumbler_crypto::seal(key, plaintext, &ad)?,
        created_at: now,
    })
}

fn new_data_key_row(
    master: &MasterKey,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(DataKeyRow, DataKey), VaultError> {
    let id = DataKeyId::from_string(format!("{CHAIN_KEYED_PREFIX}{}", DataKeyId::generate()));
    let key = DataKey::generate();
    let row = DataKeyRow {
        wrapped: key.wrap(master, id.as_str())?,
        id,
        master_key_id: master.id(),
        active: true,
        created_at: now,
    };
    Ok((row, key))
}

fn unwrap_all(master: &MasterKey, rows: &[DataKeyRow]) -> Result<Keys, VaultError> {
    let mut data = HashMap::new();
    let mut active = None;
    for row in rows {
        if row.master_key_id != master.id() {
            return Err(VaultError::WrongMasterKey {
                expected: row.master_key_id.clone(),
                given: master.id(),
            });
        }
        data.insert(
            row.id.clone(),
            DataKey::unwrap_with(master, row.id.as_str(), &row.wrapped)?,
        );
        if row.active {
            active = Some(row.id.clone());
        }
    }
    let active = active.ok_or(VaultError::NotFound)?;
    Ok(Keys {
        master: master.clone(),
        data,
        active,
    })
}
