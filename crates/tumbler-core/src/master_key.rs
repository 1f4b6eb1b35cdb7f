//! Where the master key comes from: a file (the default, created 0600 on first start), a
//! hex value from the environment, or a passphrase (Argon2id with a salt kept in the store).

use secrecy::{ExposeSecret, SecretString};
use std::path::{Path, PathBuf};
use tumbler_crypto::{load_master_key_file, write_master_key_file, CryptoError, MasterKey};
use tumbler_store::{Store, StoreError};

/// Meta key of the passphrase salt.
const PASSPHRASE_SALT: &str = "vault.passphrase_salt";

/// A configured master key source.
pub enum MasterKeySource {
    /// A key file; created with mode 0600 when missing and `create` is set.
    File {
        /// Path of the file.
        path: PathBuf,
        /// Create a new key when the file is missing (first start only).
        create: bool,
    },
    /// 64 hex digits given directly (e.g. from `TUMBLER_MASTER_KEY`).
    Hex(SecretString),
    /// A passphrase (e.g. from `TUMBLER_MASTER_PASSPHRASE`).
    Passphrase(SecretString),
}

impl std::fmt::Debug for MasterKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File { path, create } => write!(f, "File({}, create={create})", path.display()),
            Self::Hex(_) => f.write_str("Hex(..)"),
            Self::Passphrase(_) => f.write_str("Passphrase(..)"),
        }
    }
}

/// Why the master key could not be obtained.
#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    /// The key material was unusable.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The key file is missing and may not be created.
    #[error("master key file {0} does not exist")]
    Missing(String),
}

impl MasterKeyError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Crypto(e) => e.code(),
            Self::Store(e) => e.code(),
            Self::Missing(_) => "master_key_missing",
        }
    }
}

/// The path a rotation writes the next key to before the store is re-wrapped.
pub fn pending_key_path(path: &Path) -> PathBuf {
    path.with_extension("key.new")
}

impl MasterKeySource {
    /// Loads (or, for a new file source, creates) the master key. `store_key_id` is the id of the
    /// key the store's data keys are wrapped by, if any: when a rotation stopped after the
    /// store was re-wrapped but before the new file was moved into place, this finishes it.
    pub async fn load(
        &self,
        store: &Store,
        store_key_id: Option<&str>,
    ) -> Result<MasterKey, MasterKeyError> {
        match self {
            Self::File { path, create } => {
                let pending = pending_key_path(path);
                if pending.exists() {
                    let next = load_master_key_file(&pending)?;
                    if store_key_id == Some(next.id().as_str()) {
                        std::fs::rename(&pending, path).map_err(|e| CryptoError::KeyFile {
                            path: path.display().to_string(),
                            source: e,
                        })?;
                        tracing::warn!(path = %path.display(), "finished an interrupted master key rotation");
                        return Ok(next);
                    }
                }
                if path.exists() {
                    return Ok(load_master_key_file(path)?);
                }
                if !*create || store_key_id.is_some() {
                    return Err(MasterKeyError::Missing(path.display().to_string()));
                }
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    use std::os::unix::fs::DirBuilderExt;
                    std::fs::DirBuilder::new()
                        .recursive(true)
                        .mode(0o700)
                        .create(parent)
                        .map_err(|e| CryptoError::KeyFile {
                            path: parent.display().to_string(),
                            source: e,
                        })?;
                }
                let key = MasterKey::generate();
                write_master_key_file(path, &key)?;
                tracing::info!(path = %path.display(), "created a new master key file (mode 0600); keep it apart from backups");
                Ok(key)
            }
            Self::Hex(hex) => Ok(MasterKey::from_hex(hex.expose_secret())?),
            Self::Passphrase(pass) => {
                let salt = match store.meta(PASSPHRASE_SALT).await? {
                    Some(s) => s,
                    None => {
                        let s = crate::hashing::random_token(16);
                        let mut tx = store.begin().await?;
                        tx.set_meta(PASSPHRASE_SALT, &s).await?;
                        tx.commit().await?;
                        s
                    }
                };
                let pass = pass.clone();
                let key = tokio::task::spawn_blocking(move || {
                    MasterKey::from_passphrase(pass.expose_secret().as_bytes(), salt.as_bytes())
                })
                .await
                .map_err(|_| CryptoError::Derivation)??;
                Ok(key)
            }
        }
    }
}
