//! Envelope encryption for the vault.
//!
//! Every secret is sealed with XChaCha20-Poly1305 under a data key, with associated data that
//! binds the ciphertext to its owner and version: moved to another row, it fails to open. Data
//! keys are wrapped by the master key. Key material is zeroized on drop and never printed.

mod envelope;
mod error;
mod master_key;
mod master_key_file;

pub use envelope::{open, open_with_master, seal, seal_with_master, DataKey};
pub use error::CryptoError;
pub use master_key::MasterKey;
pub use master_key_file::{load_master_key_file, write_master_key_file};
