//! Password hashing (Argon2id, off the async threads) and token hashing (SHA-256).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::rngs::OsRng;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// A valid Argon2id hash of a random password nobody knows, verified against when the user
/// does not exist so that unknown users and wrong passwords take the same time.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$1w7fSxxhK4q2cBd3J3c6nqLd0W2Dq6PmjHzyiHc1n0E";

/// Argon2 hashes that may run at once: each takes about 19 MiB and a core for a while, so
/// hundreds of parallel logins queue here instead of taking the server's memory.
fn hash_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| tokio::sync::Semaphore::new(max_parallel_hashes()))
}

/// The most Argon2 hashes computed at once.
fn max_parallel_hashes() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    cores.clamp(2, 16)
}

/// Hashes a password with Argon2id on a blocking thread.
pub(crate) async fn hash_password(password: SecretString) -> Result<String, String> {
    let _permit = hash_permits().acquire().await.map_err(|e| e.to_string())?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.expose_secret().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Checks a password against a stored hash (or the dummy hash when `stored` is `None`, which
/// always fails) on a blocking thread.
pub(crate) async fn verify_password(password: SecretString, stored: Option<String>) -> bool {
    let known = stored.is_some();
    let stored = stored.unwrap_or_else(|| DUMMY_HASH.to_owned());
    let Ok(_permit) = hash_permits().acquire().await else {
        return false;
    };
    let ok = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.expose_secret().as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false);
    ok && known
}

/// SHA-256 of a high-entropy token, hex; what the store keeps instead of the token.
pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// `bytes` random bytes from the OS, base64url without padding.
pub(crate) fn random_token(bytes: usize) -> String {
    use base64::Engine;
    let mut buf = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dummy_hash_parses_and_never_verifies() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!verify_password(SecretString::from("x"), None).await);
    }

    #[tokio::test]
    async fn hash_then_verify() {
        let h = hash_password(SecretString::from("correct horse"))
            .await
            .unwrap();
        assert!(verify_password(SecretString::from("correct horse"), Some(h.clone())).await);
        assert!(!verify_password(SecretString::from("wrong horse"), Some(h)).await);
    }
}
