//! Caps on what decoding an uploaded private key may cost. A key file names its own
//! key-derivation parameters (OpenSSH's bcrypt-pbkdf rounds, PuTTY's Argon2 memory and
//! passes), so a crafted file could ask for billions of rounds or terabytes of memory: these
//! are read from the file's structure, without any key derivation, and refused past fixed
//! caps before the decoder runs.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::error::SshError;

/// The largest key file accepted, in bytes.
pub const MAX_KEY_FILE_BYTES: usize = 64 * 1024;
/// The most bcrypt-pbkdf rounds an OpenSSH key may ask for (`ssh-keygen -a`; its default
/// is 16).
pub const MAX_BCRYPT_ROUNDS: u64 = 256;
/// The most Argon2 memory a PuTTY key may ask for, in KiB (PuTTYgen's default is 8192).
pub const MAX_ARGON2_MEMORY_KIB: u64 = 64 * 1024;
/// The most Argon2 passes a PuTTY key may ask for.
pub const MAX_ARGON2_PASSES: u64 = 64;
/// The most Argon2 lanes a PuTTY key may ask for.
pub const MAX_ARGON2_PARALLELISM: u64 = 16;

fn too_costly(parameter: &'static str, value: u64, limit: u64) -> SshError {
    SshError::KeyDerivationTooCostly {
        parameter,
        value,
        limit,
    }
}

fn unreadable(reason: &'static str) -> SshError {
    SshError::InvalidPrivateKey { reason }
}

/// Checks a key file's size and key-derivation cost without deriving anything: refuses
/// files over [`MAX_KEY_FILE_BYTES`], OpenSSH keys with more than [`MAX_BCRYPT_ROUNDS`]
/// rounds, PuTTY keys past the Argon2 caps, and encrypted PKCS#8 files (whose PBKDF2 or
/// scrypt cost is not checked here; `ssh-keygen -p` converts them).
pub fn check_key_cost(text: &str) -> Result<(), SshError> {
    if text.len() > MAX_KEY_FILE_BYTES {
        return Err(unreadable("the key file is larger than 64 KiB"));
    }
    let trimmed = text.trim_start();
    if trimmed.starts_with("PuTTY-User-Key-File-") {
        return check_ppk(trimmed);
    }
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        return Err(unreadable(
            "encrypted PKCS#8 keys are not accepted; convert with ssh-keygen -p -f KEY",
        ));
    }
    if text.contains("-----BEGIN OPENSSH PRIVATE KEY-----") {
        return check_openssh(text);
    }
    Ok(())
}

/// PuTTY: `Argon2-Memory`, `Argon2-Passes` and `Argon2-Parallelism` header lines.
fn check_ppk(text: &str) -> Result<(), SshError> {
    for line in text.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (parameter, limit) = match name.trim() {
            "Argon2-Memory" => ("Argon2 memory (KiB)", MAX_ARGON2_MEMORY_KIB),
            "Argon2-Passes" => ("Argon2 passes", MAX_ARGON2_PASSES),
            "Argon2-Parallelism" => ("Argon2 parallelism", MAX_ARGON2_PARALLELISM),
            _ => continue,
        };
        let value = value.trim();
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(unreadable("a PuTTY key's Argon2 parameter is not a number"));
        }
        // A number too long for u64 is past every cap.
        let n = value.parse::<u64>().unwrap_or(u64::MAX);
        if n > limit {
            return Err(too_costly(parameter, n, limit));
        }
    }
    Ok(())
}

/// OpenSSH: `openssh-key-v1\0`, cipher name, KDF name, KDF options (salt, rounds).
fn check_openssh(text: &str) -> Result<(), SshError> {
    let body: String = text
        .lines()
        .skip_while(|l| l.trim() != "-----BEGIN OPENSSH PRIVATE KEY-----")
        .skip(1)
        .take_while(|l| !l.trim().starts_with("-----END "))
        .flat_map(|l| l.trim().chars())
        .collect();
    let blob = STANDARD
        .decode(body.as_bytes())
        .map_err(|_| unreadable("the OpenSSH key is not valid base64"))?;
    let mut rest = blob
        .strip_prefix(b"openssh-key-v1\0".as_slice())
        .ok_or_else(|| unreadable("not an OpenSSH private key"))?;
    let _cipher = take_string(&mut rest)?;
    let kdf = take_string(&mut rest)?;
    let mut options = take_string(&mut rest)?;
    if kdf == b"bcrypt" {
        let _salt = take_string(&mut options)?;
        let rounds = take_u32(&mut options)?;
        if u64::from(rounds) > MAX_BCRYPT_ROUNDS {
            return Err(too_costly(
                "bcrypt-pbkdf rounds",
                u64::from(rounds),
                MAX_BCRYPT_ROUNDS,
            ));
        }
    }
    Ok(())
}

fn take_u32(rest: &mut &[u8]) -> Result<u32, SshError> {
    let bad = || unreadable("the OpenSSH key is truncated");
    let (head, tail) = rest.split_first_chunk::<4>().ok_or_else(bad)?;
    *rest = tail;
    Ok(u32::from_be_bytes(*head))
}

fn take_string<'a>(rest: &mut &'a [u8]) -> Result<&'a [u8], SshError> {
    let len = take_u32(rest)? as usize;
    if rest.len() < len {
        return Err(unreadable("the OpenSSH key is truncated"));
    }
    let (s, tail) = rest.split_at(len);
    *rest = tail;
    Ok(s)
}

/// Decodes nothing but checks, off the async runtime, that `pem` is a private key that
/// `passphrase` (if any) opens, after [`check_key_cost`] refused any costly derivation.
pub async fn check_private_key_blocking(
    pem: secrecy::SecretString,
    passphrase: Option<secrecy::SecretString>,
) -> Result<(), SshError> {
    check_key_cost(secrecy::ExposeSecret::expose_secret(&pem))?;
    tokio::task::spawn_blocking(move || super::check_private_key_with(&pem, passphrase.as_ref()))
        .await
        .map_err(|_| unreadable("the key check was interrupted"))?
}
