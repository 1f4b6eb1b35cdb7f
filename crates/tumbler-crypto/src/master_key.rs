//! The master key: wraps data keys, never stored with the data.

use crate::CryptoError;
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::Sha256;
use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Length of every key, in bytes.
pub const KEY_LEN: usize = 32;

/// A 256-bit master key. Zeroized on drop; `Debug` shows only its id.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MasterKey([u8; KEY_LEN]);

impl MasterKey {
    /// A fresh random key from the operating system's RNG.
    pub fn generate() -> Self {
        let mut k = [0u8; KEY_LEN];
        OsRng.fill_bytes(&mut k);
        Self(k)
    }

    /// A key from exactly 32 raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let k: [u8; KEY_LEN] = bytes
            .try_into()
            .map_err(|_| CryptoError::MalformedKey("a master key is 32 bytes"))?;
        Ok(Self(k))
    }

    /// A key from 64 hex digits (surrounding whitespace ignored), as in the key file and
    /// the `TUMBLER_MASTER_KEY` variable.
    pub fn from_hex(text: &str) -> Result<Self, CryptoError> {
        let mut bytes = hex::decode(text.trim())
            .map_err(|_| CryptoError::MalformedKey("a master key is 64 hex digits"))?;
        let key = Self::from_bytes(&bytes);
        bytes.zeroize();
        key
    }

    /// A key derived from a passphrase with Argon2id (64 MiB, 3 passes) and a stored salt.
    pub fn from_passphrase(passphrase: &[u8], salt: &[u8]) -> Result<Self, CryptoError> {
        let params = argon2::Params::new(64 * 1024, 3, 1, Some(KEY_LEN))
            .map_err(|_| CryptoError::Derivation)?;
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut k = [0u8; KEY_LEN];
        argon
            .hash_password_into(passphrase, salt, &mut k)
            .map_err(|_| CryptoError::Derivation)?;
        Ok(Self(k))
    }

    /// The key as 64 hex digits, for writing the key file. Handle the result as a secret.
    pub fn to_hex(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(hex::encode(self.0))
    }

    /// A public identifier of this key (HMAC of a constant), to tell which key wrapped what.
    pub fn id(&self) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable_hmac());
        mac.update(b"tumbler-master-key-id");
        hex::encode(&mac.finalize().into_bytes()[..8])
    }

    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

/// HMAC accepts keys of any length, so this cannot happen.
fn unreachable_hmac() -> Hmac<Sha256> {
    unreachable!("HMAC-SHA256 accepts any key length")
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey(id={})", self.id())
    }
}
