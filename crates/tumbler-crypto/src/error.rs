//! Errors of the crypto layer. None of them carries key material or plaintext.

/// What went wrong while sealing, opening or loading keys.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The ciphertext did not authenticate: wrong key, wrong owner or version, or tampering.
    #[error("ciphertext failed to authenticate")]
    Decrypt,
    /// The ciphertext is not in a format this version understands.
    #[error("ciphertext has an unknown format")]
    Format,
    /// A key had the wrong length or encoding.
    #[error("key is malformed: {0}")]
    MalformedKey(&'static str),
    /// The master key file could not be read or written.
    #[error("master key file {path}: {source}")]
    KeyFile {
        /// The file.
        path: String,
        /// The IO error.
        source: std::io::Error,
    },
    /// The master key file is readable by other users.
    #[error("master key file {path} has mode {mode:o}; it must be readable by its owner only (chmod 600)")]
    KeyFilePermissions {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// Deriving a key from a passphrase failed.
    #[error("passphrase key derivation failed")]
    Derivation,
}

impl CryptoError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Decrypt => "decrypt_failed",
            Self::Format => "ciphertext_format",
            Self::MalformedKey(_) => "malformed_key",
            Self::KeyFile { .. } => "master_key_file",
            Self::KeyFilePermissions { .. } => "master_key_file_permissions",
            Self::Derivation => "key_derivation",
        }
    }
}
