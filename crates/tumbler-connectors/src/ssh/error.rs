//! Errors of the SSH connector, each with a stable machine-readable code.

use std::fmt;

use super::host_key::HostKeyFingerprint;

/// Which step of an SSH operation ran out of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutStage {
    /// TCP connect, key exchange and authentication.
    Connect,
    /// Running one command on an established session.
    Command,
}

impl fmt::Display for TimeoutStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "connect",
            Self::Command => "command",
        })
    }
}

/// Why an SSH operation failed. Never carries a secret: not in a field, not
/// in its `Display` or `Debug` text.
#[derive(Debug, thiserror::Error)]
pub enum SshError {
    /// The server presented a host key other than the pinned one. The
    /// connection was closed before any credential was sent.
    #[error("host key mismatch: expected {expected}, server presented {presented}")]
    HostKeyMismatch {
        /// The pinned fingerprint.
        expected: HostKeyFingerprint,
        /// The fingerprint of the key the server presented.
        presented: HostKeyFingerprint,
    },
    /// The host key is not pinned and acknowledged, and a secret (a password at login, or
    /// anything written into the session afterwards) is not sent to such a host unless trust
    /// on first use was allowed. Nothing secret was sent.
    #[error("host key {presented} is not verified; refusing to send a secret")]
    HostKeyUnverified {
        /// The fingerprint of the key the server presented, to be pinned.
        presented: HostKeyFingerprint,
    },
    /// The server refused the credential.
    #[error("authentication failed")]
    AuthFailed {
        /// The fingerprint of the key the server presented.
        presented: HostKeyFingerprint,
    },
    /// The TCP connection could not be made.
    #[error("cannot reach {address}: {source}")]
    Unreachable {
        /// `host:port` that was tried.
        address: String,
        /// The socket error.
        #[source]
        source: std::io::Error,
    },
    /// An operation did not finish within its time limit.
    #[error("timed out during {stage}")]
    Timeout {
        /// Which operation.
        stage: TimeoutStage,
    },
    /// The SSH conversation failed (key exchange, channel, disconnect).
    #[error("SSH protocol error: {0}")]
    Protocol(#[source] russh::Error),
    /// The connection of an established session ended (the host or its sshd went away)
    /// before the command's exit status came: the session cannot be used again, a new one
    /// may succeed.
    #[error("the connection to the host was lost")]
    ConnectionLost,
    /// The private key could not be decoded (bad format or wrong passphrase).
    #[error("the private key cannot be read: {reason}")]
    InvalidPrivateKey {
        /// A fixed description: the decoder's own message is not kept, since
        /// a parse error may quote part of the key text.
        reason: &'static str,
    },
    /// A key file asks for a key derivation more costly than Tumbler accepts (a crafted
    /// file could take the server down): refused before any derivation ran.
    #[error("the key file asks for {value} {parameter}; at most {limit} is accepted")]
    KeyDerivationTooCostly {
        /// Which parameter.
        parameter: &'static str,
        /// What the file asks for.
        value: u64,
        /// The cap.
        limit: u64,
    },
    /// A fingerprint string is not `SHA256:` followed by 43 base64 characters.
    #[error("invalid host key fingerprint (expected SHA256:<base64>)")]
    InvalidFingerprint,
    /// A command wrote more output than the session accepts.
    #[error("command output exceeded {limit} bytes")]
    OutputTooLarge {
        /// The limit in bytes (stdout and stderr together).
        limit: usize,
    },
}

impl SshError {
    /// A stable machine-readable code for the variant.
    pub fn code(&self) -> &'static str {
        match self {
            Self::HostKeyMismatch { .. } => "host_key_mismatch",
            Self::HostKeyUnverified { .. } => "host_key_unverified",
            Self::AuthFailed { .. } => "auth_failed",
            Self::Unreachable { .. } => "unreachable",
            Self::Timeout { .. } => "timeout",
            Self::Protocol(_) => "protocol",
            Self::ConnectionLost => "connection_lost",
            Self::InvalidPrivateKey { .. } => "invalid_private_key",
            Self::KeyDerivationTooCostly { .. } => "key_derivation_too_costly",
            Self::InvalidFingerprint => "invalid_fingerprint",
            Self::OutputTooLarge { .. } => "output_too_large",
        }
    }

    /// The fingerprint the server presented, when the key exchange got that far.
    pub fn presented_host_key(&self) -> Option<&HostKeyFingerprint> {
        match self {
            Self::HostKeyMismatch { presented, .. }
            | Self::HostKeyUnverified { presented }
            | Self::AuthFailed { presented } => Some(presented),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        let fp: HostKeyFingerprint = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"
            .parse()
            .unwrap();
        assert_eq!(
            SshError::HostKeyUnverified {
                presented: fp.clone()
            }
            .code(),
            "host_key_unverified"
        );
        assert_eq!(SshError::AuthFailed { presented: fp }.code(), "auth_failed");
        assert_eq!(SshError::ConnectionLost.code(), "connection_lost");
        assert_eq!(
            SshError::Timeout {
                stage: TimeoutStage::Command
            }
            .code(),
            "timeout"
        );
    }
}
