//! The system key pair: generated at first start, its private key sealed in the vault under
//! [`SecretOwner::SystemKey`], its public half and fingerprint kept in `meta` with the pending key of
//! a regeneration under way and the fingerprints of retired keys.

use super::{require, DeviceKeyError, DeviceKeyService};
use crate::{event, Principal, RequestOrigin};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use tumbler_connectors::ssh::{generate_key_pair, key_fingerprint, public_key_line};
use tumbler_domain::audit::{AuditAction, Outcome};
use tumbler_domain::ids::JobId;
use tumbler_domain::object::ObjectKind;
use tumbler_domain::permission::Permission;
use tumbler_domain::secret_owner::SecretOwner;
use tumbler_domain::ssh_key::KeyAlgorithm;
use tumbler_store::Tx;

pub use tumbler_domain::job::SystemKeyView;

/// The `meta` key of the system key's description.
const META_KEY: &str = "system_ssh_key";
/// The vault owner id of the system key versions.
pub(super) const OWNER_ID: &str = "system";
/// The comment on the system public key.
const COMMENT: &str = "tumbler-system-key";

/// One key pair's public description.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct KeyInfo {
    /// Its vault version.
    pub version: i64,
    /// Its algorithm.
    pub algorithm: KeyAlgorithm,
    /// Its `authorized_keys` line.
    pub public_key: String,
    /// Its SHA-256 fingerprint.
    pub fingerprint: String,
    /// When it was made.
    pub generated_at: DateTime<Utc>,
}

/// The system key's state, as kept in `meta`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct SystemKeyState {
    /// The key devices are reached with.
    pub current: KeyInfo,
    /// The key a regeneration is installing, and its job.
    #[serde(default)]
    pub pending: Option<(KeyInfo, JobId)>,
    /// Fingerprints of retired system keys (removed from devices when their conflict is
    /// resolved).
    #[serde(default)]
    pub retired: Vec<String>,
}

/// Generates a key pair off the async workers (RSA takes a while).
pub(super) async fn new_key_pair(
    algorithm: KeyAlgorithm,
) -> Result<(SecretString, String, String), DeviceKeyError> {
    let made = tokio::task::spawn_blocking(move || {
        let pem = generate_key_pair(algorithm, COMMENT)?;
        let line = public_key_line(&pem)?;
        let fingerprint = key_fingerprint(&pem)?;
        Ok::<_, tumbler_connectors::ssh::SshError>((pem, line, fingerprint))
    })
    .await
    .map_err(|_| DeviceKeyError::KeyGeneration("key generation stopped".to_owned()))?;
    made.map_err(|e| DeviceKeyError::KeyGeneration(e.to_string()))
}

impl DeviceKeyService {
    pub(super) async fn key_state(&self) -> Result<Option<SystemKeyState>, DeviceKeyError> {
        match self.store.meta(META_KEY).await? {
            None => Ok(None),
            Some(json) => serde_json::from_str(&json).map(Some).map_err(|_| {
                DeviceKeyError::Store(tumbler_store::StoreError::Corrupt(
                    "system key description".to_owned(),
                ))
            }),
        }
    }

    pub(super) async fn require_key_state(&self) -> Result<SystemKeyState, DeviceKeyError> {
        self.key_state()
            .await?
            .ok_or(DeviceKeyError::NotFound(ObjectKind::SystemKey))
    }

    pub(super) async fn save_key_state(
        tx: &mut Tx,
        state: &SystemKeyState,
    ) -> Result<(), DeviceKeyError> {
        let json = serde_json::to_string(state).map_err(|_| {
            DeviceKeyError::Store(tumbler_store::StoreError::Corrupt(
                "system key description".to_owned(),
            ))
        })?;
        tx.set_meta(META_KEY, &json).await?;
        Ok(())
    }

    /// The private key of one system key version.
    pub(super) async fn private_key(&self, version: i64) -> Result<SecretString, DeviceKeyError> {
        let bytes = self
            .vault
            .open_secret(SecretOwner::SystemKey, OWNER_ID, version)
            .await?;
        let text = String::from_utf8(bytes.to_vec()).map_err(|_| {
            DeviceKeyError::Store(tumbler_store::StoreError::Corrupt("system key".to_owned()))
        })?;
        Ok(SecretString::from(text))
    }

    /// Makes the system key pair (Ed25519) if there is none yet.
    pub(super) async fn ensure_system_key(&self) -> Result<(), DeviceKeyError> {
        if self.key_state().await?.is_some() {
            return Ok(());
        }
        let algorithm = KeyAlgorithm::Ed25519;
        let (pem, public_key, fingerprint) = new_key_pair(algorithm).await?;
        let now = self.clock.now();
        let state = SystemKeyState {
            current: KeyInfo {
                version: 1,
                algorithm,
                public_key,
                fingerprint: fingerprint.clone(),
                generated_at: now,
            },
            pending: None,
            retired: Vec::new(),
        };
        let mut tx = self.store.begin().await?;
        self.vault
            .seal(
                &mut tx,
                SecretOwner::SystemKey,
                OWNER_ID,
                1,
                secrecy::ExposeSecret::expose_secret(&pem).as_bytes(),
            )
            .await?;
        Self::save_key_state(&mut tx, &state).await?;
        tx.append_audit(
            &event(
                &self.node,
                AuditAction::SystemKeyGenerate,
                ("system_key", OWNER_ID),
                Outcome::Success,
                &RequestOrigin::host(),
                format!("{} key {fingerprint}", algorithm.as_str()),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The system key's public half.
    pub async fn system_key(&self, principal: &Principal) -> Result<SystemKeyView, DeviceKeyError> {
        require(principal, Permission::AssetsRead)?;
        let state = self.require_key_state().await?;
        Ok(SystemKeyView {
            algorithm: state.current.algorithm.as_str().to_owned(),
            public_key: state.current.public_key,
            fingerprint: state.current.fingerprint,
            generated_at: state.current.generated_at,
            regeneration_job: state.pending.map(|(_, job)| job),
        })
    }

    /// The system private key encrypted with `passphrase` (OpenSSH format, bcrypt-pbkdf and
    /// AES-256-CTR), for a backup kept away from Tumbler. Administrators only; audited.
    /// A fresh TOTP code is required, as for revealing a secret.
    pub async fn export_system_key(
        &self,
        principal: &Principal,
        passphrase: &SecretString,
        totp: Option<&str>,
        origin: &RequestOrigin,
    ) -> Result<String, DeviceKeyError> {
        require(principal, Permission::SettingsManage)?;
        // Checked before the code, which a refusal would otherwise use up.
        if secrecy::ExposeSecret::expose_secret(passphrase)
            .chars()
            .count()
            < 12
        {
            return Err(super::invalid(
                "passphrase",
                "the passphrase must be at least 12 characters",
            ));
        }
        self.auth
            .step_up(principal, totp, AuditAction::SystemKeyExport, origin)
            .await
            .map_err(DeviceKeyError::StepUp)?;
        let state = self.require_key_state().await?;
        let pem = self.private_key(state.current.version).await?;
        let phrase = passphrase.clone();
        let encrypted = tokio::task::spawn_blocking(move || {
            tumbler_connectors::ssh::encrypt_private_key(&pem, &phrase)
        })
        .await
        .map_err(|_| super::invalid("passphrase", "the export stopped"))?
        .map_err(|e| super::invalid("passphrase", e.to_string()))?;
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        tx.append_audit(
            &event(
                &principal.user.username,
                AuditAction::SystemKeyExport,
                ("system_key", OWNER_ID),
                Outcome::Success,
                origin,
                format!(
                    "key {} exported with a passphrase",
                    state.current.fingerprint
                ),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(encrypted)
    }
}
