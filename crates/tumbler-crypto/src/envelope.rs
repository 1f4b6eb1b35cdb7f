//! Sealing and opening: the versioned envelope `0x01 || nonce(24) || ciphertext+tag`.

use crate::master_key::{MasterKey, KEY_LEN};
use crate::CryptoError;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::rngs::OsRng;
use rand::RngCore;
use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 24;

/// A 256-bit data key that seals secrets. Zeroized on drop; `Debug` shows nothing.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DataKey([u8; KEY_LEN]);

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(..)")
    }
}

impl DataKey {
    /// A fresh random data key.
    pub fn generate() -> Self {
        let mut k = [0u8; KEY_LEN];
        OsRng.fill_bytes(&mut k);
        Self(k)
    }

    /// Wraps this key under `master`, bound to the data key's id.
    pub fn wrap(&self, master: &MasterKey, key_id: &str) -> Result<Vec<u8>, CryptoError> {
        seal_raw(master.bytes(), &self.0, &wrap_ad(key_id))
    }

    /// Unwraps a key wrapped by [`DataKey::wrap`] with the same master key and id.
    pub fn unwrap_with(
        master: &MasterKey,
        key_id: &str,
        wrapped: &[u8],
    ) -> Result<Self, CryptoError> {
        let plain = open_raw(master.bytes(), wrapped, &wrap_ad(key_id))?;
        let k: [u8; KEY_LEN] = plain
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::Format)?;
        Ok(Self(k))
    }
}

fn wrap_ad(key_id: &str) -> Vec<u8> {
    [b"tumbler-data-key:".as_slice(), key_id.as_bytes()].concat()
}

/// Seals `plaintext` under `key`; `associated_data` must be given again to open it.
pub fn seal(
    key: &DataKey,
    plaintext: &[u8],
    associated_data: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    seal_raw(&key.0, plaintext, associated_data)
}

/// Opens an envelope made by [`seal`] with the same key and associated data.
pub fn open(
    key: &DataKey,
    envelope: &[u8],
    associated_data: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    open_raw(&key.0, envelope, associated_data)
}

/// Seals `plaintext` directly under the master key (for records kept outside the store, such
/// as the escrow journal, which must open without the store's data keys). `associated_data`
/// must name what the record is; it is given again to open it.
pub fn seal_with_master(
    master: &MasterKey,
    plaintext: &[u8],
    associated_data: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    seal_raw(master.bytes(), plaintext, &master_ad(associated_data))
}

/// Opens an envelope made by [`seal_with_master`] with the same master key and associated data.
pub fn open_with_master(
    master: &MasterKey,
    envelope: &[u8],
    associated_data: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    open_raw(master.bytes(), envelope, &master_ad(associated_data))
}

/// Keeps master-sealed records apart from wrapped data keys (which use the same key).
fn master_ad(associated_data: &[u8]) -> Vec<u8> {
    [b"tumbler-master-sealed:".as_slice(), associated_data].concat()
}

fn seal_raw(key: &[u8; KEY_LEN], plaintext: &[u8], ad: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let cipher = XChaCha20Poly1305::new(key.into());
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    let ct = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: ad,
            },
        )
        .map_err(|_| CryptoError::Format)?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
    out.push(FORMAT_V1);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

fn open_raw(
    key: &[u8; KEY_LEN],
    envelope: &[u8],
    ad: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let (format, rest) = envelope.split_first().ok_or(CryptoError::Format)?;
    if *format != FORMAT_V1 || rest.len() < NONCE_LEN + 16 {
        return Err(CryptoError::Format);
    }
    let (nonce, ct) = rest.split_at(NONCE_LEN);
    let cipher = XChaCha20Poly1305::new(key.into());
    cipher
        .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: ad })
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::Decrypt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_binding() {
        let k = DataKey::generate();
        let env = seal(&k, b"canary", b"owner-1:v1").unwrap();
        assert_eq!(open(&k, &env, b"owner-1:v1").unwrap().as_slice(), b"canary");
        assert!(matches!(
            open(&k, &env, b"owner-2:v1"),
            Err(CryptoError::Decrypt)
        ));
        assert!(matches!(
            open(&DataKey::generate(), &env, b"owner-1:v1"),
            Err(CryptoError::Decrypt)
        ));
        let mut tampered = env.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(matches!(
            open(&k, &tampered, b"owner-1:v1"),
            Err(CryptoError::Decrypt)
        ));
    }

    #[test]
    fn master_sealed_needs_same_master_and_associated_data() {
        let m = MasterKey::generate();
        let env = seal_with_master(&m, b"canary", b"entry-1").unwrap();
        assert_eq!(
            open_with_master(&m, &env, b"entry-1").unwrap().as_slice(),
            b"canary"
        );
        assert!(open_with_master(&m, &env, b"entry-2").is_err());
        assert!(open_with_master(&MasterKey::generate(), &env, b"entry-1").is_err());
        // A wrapped data key is not a master-sealed record, whatever the associated data.
        let k = DataKey::generate();
        let wrapped = k.wrap(&m, "dk-1").unwrap();
        assert!(open_with_master(&m, &wrapped, b"dk-1").is_err());
        assert!(open_with_master(&m, &wrapped, b"tumbler-data-key:dk-1").is_err());
    }

    #[test]
    fn wrapped_data_key_needs_same_master_and_id() {
        let m = MasterKey::generate();
        let k = DataKey::generate();
        let w = k.wrap(&m, "dk1").unwrap();
        let k2 = DataKey::unwrap_with(&m, "dk1", &w).unwrap();
        let env = seal(&k2, b"x", b"").unwrap();
        assert_eq!(open(&k, &env, b"").unwrap().as_slice(), b"x");
        assert!(DataKey::unwrap_with(&m, "dk2", &w).is_err());
        assert!(DataKey::unwrap_with(&MasterKey::generate(), "dk1", &w).is_err());
    }

    #[test]
    fn debug_never_shows_key_bytes() {
        let m = MasterKey::from_bytes(&[7u8; 32]).unwrap();
        let shown = format!("{m:?} {:?}", DataKey::generate());
        assert!(!shown.contains(&hex::encode([7u8; 32])));
        assert!(shown.starts_with("MasterKey(id="));
    }
}
