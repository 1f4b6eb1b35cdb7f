//! Host key fingerprints, the pinning policy and the russh handler that
//! records and checks the key the server presents.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine as _;
use russh::keys::{HashAlg, PublicKey};
use sha2::{Digest, Sha256};

use super::error::SshError;

/// The SHA-256 fingerprint of an SSH host key in OpenSSH's format:
/// `SHA256:` followed by the unpadded base64 of the digest of the key blob,
/// exactly as `ssh-keygen -l` and `ssh` print it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct HostKeyFingerprint(String);

impl HostKeyFingerprint {
    /// The fingerprint of a public key.
    pub fn of(key: &PublicKey) -> Self {
        Self(key.fingerprint(HashAlg::Sha256).to_string())
    }

    /// The fingerprint of a raw SSH wire-format public key blob.
    pub fn of_blob(blob: &[u8]) -> Self {
        let digest = Sha256::digest(blob);
        Self(format!("SHA256:{}", STANDARD_NO_PAD.encode(digest)))
    }

    /// The fingerprint as text (`SHA256:...`).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for HostKeyFingerprint {
    type Err = SshError;

    /// Parses `SHA256:<43 base64 characters>` (a trailing `=` is tolerated and
    /// dropped, so the canonical form has no padding).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let b64 = s
            .trim()
            .strip_prefix("SHA256:")
            .ok_or(SshError::InvalidFingerprint)?
            .trim_end_matches('=');
        let digest = STANDARD_NO_PAD
            .decode(b64)
            .map_err(|_| SshError::InvalidFingerprint)?;
        if digest.len() != 32 {
            return Err(SshError::InvalidFingerprint);
        }
        Ok(Self(format!("SHA256:{}", STANDARD_NO_PAD.encode(digest))))
    }
}

impl fmt::Display for HostKeyFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for HostKeyFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HostKeyFingerprint({})", self.0)
    }
}

/// What the connector expects of the server's host key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyPolicy {
    /// A key is pinned: any other key stops the connection before any
    /// credential is sent.
    Pinned(HostKeyFingerprint),
    /// A key is pinned on first contact but nobody has verified it: any other key stops the
    /// connection before any credential is sent, and a password is sent only if
    /// `trust_on_first_use_for_passwords` is true (otherwise
    /// [`SshError::HostKeyUnverified`]).
    PinnedUnverified {
        /// The fingerprint pinned on first contact.
        expected: HostKeyFingerprint,
        /// Whether an explicit caller decision allows sending a password to a host whose key
        /// nobody has verified.
        trust_on_first_use_for_passwords: bool,
    },
    /// No key is pinned yet (the host is unverified). Key-based
    /// authentication may proceed; a password is sent only if
    /// `trust_on_first_use_for_passwords` is true, otherwise the connection
    /// ends with [`SshError::HostKeyUnverified`] carrying the presented key.
    Unpinned {
        /// Whether an explicit caller decision allows sending a password to a
        /// host whose key nobody has verified.
        trust_on_first_use_for_passwords: bool,
    },
}

impl HostKeyPolicy {
    /// No key pinned, and no password sent until one is.
    pub fn unpinned() -> Self {
        Self::Unpinned {
            trust_on_first_use_for_passwords: false,
        }
    }

    /// The pinned fingerprint, if any (verified or not).
    pub fn pinned(&self) -> Option<&HostKeyFingerprint> {
        match self {
            Self::Pinned(fp) | Self::PinnedUnverified { expected: fp, .. } => Some(fp),
            Self::Unpinned { .. } => None,
        }
    }

    /// Whether a password may be sent once the key exchange has passed.
    pub fn allows_password(&self) -> bool {
        self.allows_secrets()
    }

    /// Whether any secret (a password at login, and later a sudo or su password, a
    /// `chpasswd` line, a template's answer, a key to install) may be written into a session
    /// opened under this policy: only when the key is pinned and acknowledged, or when the
    /// caller explicitly allows trust on first use.
    pub fn allows_secrets(&self) -> bool {
        match self {
            Self::Pinned(_) => true,
            Self::PinnedUnverified {
                trust_on_first_use_for_passwords,
                ..
            }
            | Self::Unpinned {
                trust_on_first_use_for_passwords,
            } => *trust_on_first_use_for_passwords,
        }
    }
}

/// The russh client handler: records the presented host key and accepts it
/// only if it matches the pin (or nothing is pinned).
pub(crate) struct PinningHandler {
    expected: Option<HostKeyFingerprint>,
    presented: Arc<OnceLock<HostKeyFingerprint>>,
}

impl PinningHandler {
    /// A handler for this policy and the cell where it records the key.
    pub(crate) fn new(
        policy: &HostKeyPolicy,
        presented: Arc<OnceLock<HostKeyFingerprint>>,
    ) -> Self {
        Self {
            expected: policy.pinned().cloned(),
            presented,
        }
    }
}

impl russh::client::Handler for PinningHandler {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_public_key: &PublicKey,
    ) -> Result<bool, Self::Error> {
        let presented = HostKeyFingerprint::of(server_public_key);
        // The first key exchange's key is the one reported; a re-key that
        // presents another key fails the check below all the same.
        let _ = self.presented.set(presented.clone());
        Ok(match &self.expected {
            Some(expected) => *expected == presented,
            None => true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises_openssh_fingerprints() {
        let fp: HostKeyFingerprint = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
            .parse()
            .unwrap();
        assert_eq!(
            fp.as_str(),
            "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"
        );
        assert_eq!(fp, HostKeyFingerprint::of_blob(b""));
    }

    #[test]
    fn rejects_malformed_fingerprints() {
        for bad in [
            "",
            "MD5:aa:bb",
            "SHA256:",
            "SHA256:abc",
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",
            "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFUAA",
        ] {
            assert!(bad.parse::<HostKeyFingerprint>().is_err(), "{bad}");
        }
    }
}
