//! One module per command.

pub mod admin;
pub mod backup;
pub mod check_config;
pub mod client;
pub mod inventory;
pub mod keys;
pub mod rotate;
pub mod serve;
pub mod tasks;

use tumbler_server::config::ConfigError;
use tumbler_server::{ServeError, StartupError};

/// Why a command failed; printed as `error: ...`.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The configuration was refused.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// Start-up failed.
    #[error("{0}")]
    Startup(#[from] StartupError),
    /// Serving failed.
    #[error("{0}")]
    Serve(#[from] ServeError),
    /// Anything else, already in words.
    #[error("{0}")]
    Other(String),
}

impl CliError {
    /// Process exit code: 2 for configuration errors, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Config(_) => 2,
            _ => 1,
        }
    }
}

/// Converts any displayable error into [`CliError::Other`].
pub fn other(e: impl std::fmt::Display) -> CliError {
    CliError::Other(e.to_string())
}
