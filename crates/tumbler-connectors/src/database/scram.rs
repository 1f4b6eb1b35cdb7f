//! PostgreSQL's SCRAM-SHA-256 password verifier (RFC 5802, RFC 7677), computed here so that
//! `ALTER ROLE ... PASSWORD` carries the verifier and the clear password never reaches the
//! server, its statement log or its replication stream.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// The iteration count PostgreSQL uses by default (`scram_iterations`).
pub const SCRAM_ITERATIONS: u32 = 4096;

/// Why a password cannot be turned into a verifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("only printable ASCII passwords can be sent as a SCRAM verifier")]
pub struct NotAscii;

fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length: `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// The verifier for `password` with `salt` and `iterations`:
/// `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`.
///
/// Passwords are limited to printable ASCII, where SASLprep changes nothing, so the
/// verifier matches what every client derives from the same password.
pub fn scram_sha256_verifier_with(
    password: &str,
    salt: &[u8],
    iterations: u32,
) -> Result<String, NotAscii> {
    if !password.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(NotAscii);
    }
    let mut salted = Zeroizing::new([0u8; 32]);
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iterations, salted.as_mut());
    let client_key = Zeroizing::new(hmac(salted.as_ref(), b"Client Key"));
    let stored_key = Sha256::digest(client_key.as_ref());
    let server_key = hmac(salted.as_ref(), b"Server Key");
    Ok(format!(
        "SCRAM-SHA-256${iterations}:{}${}:{}",
        STANDARD.encode(salt),
        STANDARD.encode(stored_key),
        STANDARD.encode(server_key)
    ))
}

/// The verifier for `password` with a fresh random 16-byte salt.
pub fn scram_sha256_verifier(password: &str) -> Result<String, NotAscii> {
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    scram_sha256_verifier_with(password, &salt, SCRAM_ITERATIONS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_key_reproduces_the_rfc_7677_server_signature() {
        // RFC 7677, section 3: user "user", password "pencil"; the server's signature over the
        // exchange's AuthMessage is keyed by the ServerKey a verifier stores.
        let salt = STANDARD.decode("W22ZaJ0SNY7soEsUEjb6gQ==").expect("salt");
        let v = scram_sha256_verifier_with("pencil", &salt, 4096).expect("ascii");
        let server_key = STANDARD
            .decode(v.rsplit(':').next().expect("server key"))
            .expect("base64");
        let auth_message = "n=user,r=rOprNGfwEbeRWgbNEkqO,\
            r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,\
            c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        let signature = hmac(&server_key, auth_message.as_bytes());
        assert_eq!(
            STANDARD.encode(signature),
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
        assert!(v.starts_with("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"));
    }

    #[test]
    fn refuses_non_ascii_and_salts_each_time() {
        assert_eq!(scram_sha256_verifier("pässword"), Err(NotAscii));
        let a = scram_sha256_verifier("same").expect("a");
        let b = scram_sha256_verifier("same").expect("b");
        assert_ne!(a, b);
        assert!(!a.contains("same"));
    }
}
