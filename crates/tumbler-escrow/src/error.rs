//! Errors of the escrow journal. None carries a secret.

/// What went wrong with the journal.
#[derive(Debug, thiserror::Error)]
pub enum EscrowError {
    /// A journal directory or segment could not be created, written or synced.
    #[error("the escrow journal in {dir} could not be written: {source}")]
    Write {
        /// The journal directory.
        dir: String,
        /// The IO error.
        source: std::io::Error,
    },
    /// A journal directory could not be read.
    #[error("the escrow journal in {dir} could not be read: {source}")]
    Read {
        /// The journal directory.
        dir: String,
        /// The IO error.
        source: std::io::Error,
    },
    /// An entry did not open: altered, moved to another account or version, or sealed under
    /// another master key.
    #[error("a journal entry failed to open (altered, moved, or sealed under another master key)")]
    Open,
    /// Sealing failed.
    #[error("sealing a journal entry failed")]
    Seal,
}

impl EscrowError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Write { .. } => "escrow_unwritable",
            Self::Read { .. } => "escrow_unreadable",
            Self::Open => "escrow_entry_invalid",
            Self::Seal => "escrow_seal_failed",
        }
    }
}
