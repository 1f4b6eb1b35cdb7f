//! Logging in to a device in a key mode: as its device admin user with the system key (the
//! current one, then the pending one while a regeneration runs) or its custom key. A device
//! that refuses every system key enters `key_conflict`; one in conflict that takes the
//! current key again leaves it.

use super::system_key::{SystemKeyState, OWNER_ID};
use super::DeviceKeyError;
use crate::inventory::note_ssh_contact;
use crate::vault::Vault;
use crate::{event, RequestOrigin};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use tumbler_connectors::ssh::{
    HostKeyPolicy, SshConnector, SshCredentials, SshError, SshSession, SshTarget,
};
use tumbler_domain::audit::{AuditAction, Outcome};
use tumbler_domain::inventory::AuthStatus;
use tumbler_domain::secret_owner::SecretOwner;
use tumbler_domain::Clock;
use tumbler_store::{AccountFilter, AccountRow, AssetRow, Store};

/// A custom login key as sealed in the vault.
#[derive(Serialize, Deserialize)]
pub(super) struct SealedCustomKey {
    /// The private key text.
    pub pem: String,
    /// Its passphrase, if it has one.
    pub passphrase: Option<String>,
}

impl Drop for SealedCustomKey {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.pem.zeroize();
        if let Some(p) = &mut self.passphrase {
            p.zeroize();
        }
    }
}

/// What a key-mode login gave.
pub(crate) enum DeviceLogin {
    /// The device is in password mode: the caller logs in with stored credentials.
    Password,
    /// A session as the device admin user.
    Session(SshSession),
    /// It failed (the device refused every key: it is now in `key_conflict`).
    Failed(SshError),
}

async fn system_keys(store: &Store, vault: &Vault) -> Result<Vec<SecretString>, DeviceKeyError> {
    let Some(json) = store.meta("system_ssh_key").await? else {
        return Ok(Vec::new());
    };
    let state: SystemKeyState = serde_json::from_str(&json).map_err(|_| {
        DeviceKeyError::Store(tumbler_store::StoreError::Corrupt(
            "system key description".to_owned(),
        ))
    })?;
    let mut versions = vec![state.current.version];
    if let Some((pending, _)) = &state.pending {
        versions.push(pending.version);
    }
    let mut keys = Vec::new();
    for v in versions {
        let bytes = vault
            .open_secret(SecretOwner::SystemKey, OWNER_ID, v)
            .await?;
        let text = String::from_utf8(bytes.to_vec()).map_err(|_| {
            DeviceKeyError::Store(tumbler_store::StoreError::Corrupt("system key".to_owned()))
        })?;
        keys.push(SecretString::from(text));
    }
    Ok(keys)
}

/// The custom key of an asset, with its passphrase.
pub(super) async fn custom_key(
    vault: &Vault,
    store: &Store,
    asset: &AssetRow,
) -> Result<Option<(SecretString, Option<SecretString>)>, DeviceKeyError> {
    let Some(version) = store
        .latest_sealed_version(SecretOwner::AssetLoginKey, asset.id.as_str())
        .await?
    else {
        return Ok(None);
    };
    let bytes = vault
        .open_secret(SecretOwner::AssetLoginKey, asset.id.as_str(), version)
        .await?;
    let sealed: SealedCustomKey = serde_json::from_slice(&bytes).map_err(|_| {
        DeviceKeyError::Store(tumbler_store::StoreError::Corrupt("custom key".to_owned()))
    })?;
    Ok(Some((
        SecretString::from(sealed.pem.clone()),
        sealed.passphrase.clone().map(SecretString::from),
    )))
}

/// Logs in to `asset` as its device admin user when it is in a key mode, recording a key
/// conflict (or its end) on the asset.
pub(crate) async fn connect_device(
    ssh: &SshConnector,
    store: &Store,
    vault: &Vault,
    clock: &dyn Clock,
    asset: &AssetRow,
    policy: &HostKeyPolicy,
) -> Result<DeviceLogin, DeviceKeyError> {
    let target = SshTarget::new(asset.address.clone(), asset.port);
    let user = asset.auth_username.clone();
    match asset.auth_status {
        AuthStatus::PasswordBased => Ok(DeviceLogin::Password),
        AuthStatus::KeyBasedCustom => {
            let Some((pem, passphrase)) = custom_key(vault, store, asset).await? else {
                return Ok(DeviceLogin::Failed(SshError::InvalidPrivateKey {
                    reason: "the device's custom key is missing",
                }));
            };
            let creds = SshCredentials::private_key(user, pem, passphrase);
            let result = ssh.connect(&target, policy, &creds).await;
            note_ssh_contact(store, clock, asset, &result).await;
            Ok(match result {
                Ok(s) => DeviceLogin::Session(s),
                Err(e) => DeviceLogin::Failed(e),
            })
        }
        AuthStatus::KeyBased | AuthStatus::KeyConflict => {
            let mut last = None;
            let mut refused_all = true;
            for key in system_keys(store, vault).await? {
                let creds = SshCredentials::private_key(user.clone(), key, None);
                let result = ssh.connect(&target, policy, &creds).await;
                note_ssh_contact(store, clock, asset, &result).await;
                match result {
                    Ok(s) => {
                        if asset.auth_status == AuthStatus::KeyConflict {
                            set_status(store, clock, asset, AuthStatus::KeyBased).await?;
                        }
                        return Ok(DeviceLogin::Session(s));
                    }
                    Err(e) => {
                        refused_all &= matches!(e, SshError::AuthFailed { .. });
                        last = Some(e);
                    }
                }
            }
            if refused_all && asset.auth_status == AuthStatus::KeyBased {
                set_status(store, clock, asset, AuthStatus::KeyConflict).await?;
            }
            Ok(DeviceLogin::Failed(last.unwrap_or(
                SshError::InvalidPrivateKey {
                    reason: "there is no system key",
                },
            )))
        }
    }
}

/// The privileged account Tumbler logs in to a device with, among its `accounts`: the first
/// by username.
pub(super) fn privileged_of(accounts: &[AccountRow]) -> Option<&AccountRow> {
    accounts
        .iter()
        .filter(|a| a.privileged)
        .min_by(|a, b| a.username.cmp(&b.username))
}

impl super::DeviceKeyService {
    /// Every account of `asset`.
    pub(super) async fn asset_accounts(
        &self,
        asset: &AssetRow,
    ) -> Result<Vec<AccountRow>, DeviceKeyError> {
        let (accounts, _) = self
            .store
            .accounts(&AccountFilter {
                domains: vec![asset.domain_id.clone()],
                asset_id: Some(asset.id.clone()),
                limit: 10_000,
                ..AccountFilter::default()
            })
            .await?;
        Ok(accounts)
    }

    /// One stored version of an account's secret, as text.
    pub(super) async fn open_account_secret(
        &self,
        id: &str,
        version: i64,
    ) -> Result<SecretString, DeviceKeyError> {
        let bytes = self
            .vault
            .open_secret(SecretOwner::Account, id, version)
            .await?;
        String::from_utf8(bytes.to_vec())
            .map(SecretString::from)
            .map_err(|_| {
                DeviceKeyError::Store(tumbler_store::StoreError::Corrupt(
                    "a stored secret is not text".to_owned(),
                ))
            })
    }

    /// Logs in to `asset` with `creds` under its host key policy (no trust on first use),
    /// recording what the contact showed (connectivity, host key) on the asset.
    pub(super) async fn connect_to(
        &self,
        asset: &AssetRow,
        creds: &SshCredentials,
    ) -> Result<SshSession, SshError> {
        let target = SshTarget::new(asset.address.clone(), asset.port);
        let result = self
            .ssh
            .connect(&target, &crate::inventory::policy_for(asset, false), creds)
            .await;
        note_ssh_contact(&self.store, self.clock.as_ref(), asset, &result).await;
        result
    }
}

/// Moves an asset from auth status `from` to `to` inside `tx` if it is still in `from`, with
/// its audit event; returns whether it moved.
pub(super) async fn move_status(
    tx: &mut tumbler_store::Tx,
    asset_id: &tumbler_domain::ids::AssetId,
    asset_name: &str,
    from: AuthStatus,
    to: AuthStatus,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<bool, DeviceKeyError> {
    if !tx.move_asset_auth_status(asset_id, from, to).await? {
        return Ok(false);
    }
    tx.append_audit(
        &event(
            "tumbler",
            AuditAction::AssetAuthStatus,
            ("asset", asset_id.as_str()),
            if to == AuthStatus::KeyConflict {
                Outcome::Failure
            } else {
                Outcome::Success
            },
            &RequestOrigin::host(),
            format!("{asset_name}: {from} -> {to}"),
        ),
        now,
    )
    .await?;
    Ok(true)
}

/// Moves an asset between `key_based` and `key_conflict`, audited.
async fn set_status(
    store: &Store,
    clock: &dyn Clock,
    asset: &AssetRow,
    status: AuthStatus,
) -> Result<(), DeviceKeyError> {
    let mut tx = store.begin().await?;
    if move_status(
        &mut tx,
        &asset.id,
        &asset.name,
        asset.auth_status,
        status,
        clock.now(),
    )
    .await?
    {
        tx.commit().await?;
    }
    Ok(())
}
