//! Caps on what decoding an uploaded private key may cost. A key file names its own
//! key-derivation parameters (OpenSSH's bcrypt-pbkdf rounds, PuTTY's Argon2 memory and
//! passes), so a crafted file could ask for billions of rounds or terabytes of memory: these
//! are read from the file's structure, without any key derivation, and refused past fixed
//! caps before the decoder runs.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use secrecy::SecretString;
use zeroize::Zeroizing;

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

/// The PEM labels the decoder reads. `ENCRYPTED PRIVATE KEY` is listed so that it gets the
/// encrypted-PKCS#8 refusal rather than a generic one.
const PEM_LABELS: [&str; 5] = [
    "OPENSSH PRIVATE KEY",
    "RSA PRIVATE KEY",
    "PRIVATE KEY",
    "EC PRIVATE KEY",
    "ENCRYPTED PRIVATE KEY",
];

/// Checks a key file's size and key-derivation cost without deriving anything: refuses
/// files over [`MAX_KEY_FILE_BYTES`], OpenSSH keys with more than [`MAX_BCRYPT_ROUNDS`]
/// rounds, PuTTY keys past the Argon2 caps, passphrase-encrypted PKCS#8 keys under any label
/// (whose PBKDF2 or scrypt cost is not checked here; `ssh-keygen -p` converts them), and any
/// PEM file that is not exactly one block with exact `BEGIN`/`END` lines.
pub fn check_key_cost(text: &str) -> Result<(), SshError> {
    checked_key_text(text).map(drop)
}

/// [`check_key_cost`], returning the text the decoder must be given: the one PEM block,
/// rebuilt line by line from what was checked (or a PuTTY file unchanged), so that the
/// cost check and the decoder read the same bytes.
pub(crate) fn checked_key_text(text: &str) -> Result<SecretString, SshError> {
    if text.len() > MAX_KEY_FILE_BYTES {
        return Err(unreadable("the key file is larger than 64 KiB"));
    }
    if text.trim_start().starts_with("PuTTY-User-Key-File-") {
        check_ppk(text)?;
        return Ok(SecretString::from(text.to_owned()));
    }
    let block = PemBlock::parse(text)?;
    let blob = Zeroizing::new(
        STANDARD
            .decode(block.body.as_bytes())
            .map_err(|_| unreadable("the key block is not valid base64"))?,
    );
    match block.label {
        "OPENSSH PRIVATE KEY" => check_openssh(&blob)?,
        "PRIVATE KEY" | "EC PRIVATE KEY" | "ENCRYPTED PRIVATE KEY" => check_not_encrypted(&blob)?,
        _ => {}
    }
    Ok(SecretString::from(block.normalised()))
}

/// The one PEM block of a key file, as read by [`PemBlock::parse`].
struct PemBlock<'a> {
    label: &'static str,
    /// `Proc-Type`/`DEK-Info` lines of a legacy encrypted RSA key, as given.
    headers: Vec<&'a str>,
    /// The base64 lines, without line breaks.
    body: Zeroizing<String>,
}

impl<'a> PemBlock<'a> {
    /// Accepts exactly one block: blank lines, then a `-----BEGIN <label>-----` line exactly
    /// (no leading or trailing character), base64 lines (legacy RSA headers allowed right
    /// after `BEGIN`), the matching `-----END <label>-----` line exactly, then blank lines.
    /// Anything else (a second block, text around it, an indented marker) is refused.
    fn parse(text: &'a str) -> Result<Self, SshError> {
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let begin = lines
            .next()
            .ok_or_else(|| unreadable("the key file is empty"))?;
        let label = PEM_LABELS
            .into_iter()
            .find(|label| {
                begin
                    .strip_prefix("-----BEGIN ")
                    .and_then(|r| r.strip_suffix("-----"))
                    == Some(label)
            })
            .ok_or_else(|| {
                unreadable(
                    "the key file must hold exactly one PEM block with exact BEGIN and END lines",
                )
            })?;
        let end = format!("-----END {label}-----");
        let mut headers = Vec::new();
        let mut body = Zeroizing::new(String::new());
        let mut ended = false;
        for line in lines.by_ref() {
            if line == end {
                ended = true;
                break;
            }
            let is_header = line.starts_with("Proc-Type:") || line.starts_with("DEK-Info:");
            if label == "RSA PRIVATE KEY" && is_header && body.is_empty() {
                headers.push(line);
            } else if line
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
            {
                body.push_str(line);
            } else {
                return Err(unreadable(
                    "the key file must hold exactly one PEM block with exact BEGIN and END lines",
                ));
            }
        }
        if !ended || lines.next().is_some() {
            return Err(unreadable(
                "the key file must hold exactly one PEM block with exact BEGIN and END lines",
            ));
        }
        Ok(Self {
            label,
            headers,
            body,
        })
    }

    /// The block as the decoder is given it: `BEGIN`, headers, 64-column base64, `END`.
    fn normalised(&self) -> String {
        let mut out = format!("-----BEGIN {}-----\n", self.label);
        for header in &self.headers {
            out.push_str(header);
            out.push('\n');
        }
        if !self.headers.is_empty() {
            out.push('\n');
        }
        for chunk in self.body.as_bytes().chunks(64) {
            // The body is ASCII (checked in `parse`), so every chunk is text.
            out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
            out.push('\n');
        }
        out.push_str(&format!("-----END {}-----\n", self.label));
        out
    }
}

/// PKCS#8 / SEC1: the DER must be a `SEQUENCE` whose first element is the `INTEGER` version
/// (`PrivateKeyInfo`, `ECPrivateKey`). An `EncryptedPrivateKeyInfo` starts with a
/// `SEQUENCE` (its algorithm) instead, and the decoder would run its PBKDF2 or scrypt with
/// whatever parameters the file names when a passphrase is given, whatever the PEM label:
/// refused here.
fn check_not_encrypted(der: &[u8]) -> Result<(), SshError> {
    let bad = || unreadable("the PKCS#8 key is not a DER sequence");
    let (&tag, rest) = der.split_first().ok_or_else(bad)?;
    let (&len, rest) = rest.split_first().ok_or_else(bad)?;
    if tag != 0x30 {
        return Err(bad());
    }
    let skip = if len < 0x80 {
        0
    } else {
        usize::from(len & 0x7f)
    };
    let first = *rest.get(skip).ok_or_else(bad)?;
    match first {
        0x02 => Ok(()),
        // Its cost is not read here: none is accepted (`ssh-keygen -p -f KEY` converts it).
        0x30 => Err(too_costly(
            "passphrase-encrypted PKCS#8 layers (PBKDF2/scrypt; convert with ssh-keygen -p)",
            1,
            0,
        )),
        _ => Err(bad()),
    }
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
fn check_openssh(blob: &[u8]) -> Result<(), SshError> {
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
    let _permit = decoding_permit().await?;
    tokio::task::spawn_blocking(move || super::check_private_key_with(&pem, passphrase.as_ref()))
        .await
        .map_err(|_| unreadable("the key check was interrupted"))?
}

/// How many key files may be decoded at once, server-wide: even within the caps a decode
/// may take a second and tens of MiB, so parallel uploads queue here instead of multiplying.
const DECODING_PERMITS: usize = 2;
static DECODING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(DECODING_PERMITS);

/// Waits for one of the [`DECODING_PERMITS`] slots; hold it across the blocking decode.
pub(crate) async fn decoding_permit() -> Result<tokio::sync::SemaphorePermit<'static>, SshError> {
    DECODING
        .acquire()
        .await
        .map_err(|_| unreadable("the key check was interrupted"))
}
