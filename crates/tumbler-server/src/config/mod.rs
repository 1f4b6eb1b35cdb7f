//! Configuration: defaults, then a TOML file, then `TUMBLER_*` environment variables (`__`
//! nests), read through figment. Unknown keys in the file and unknown `TUMBLER_*` variables
//! are errors that name them; a wrong value is an error that names its key and source.

mod database;
mod error;
mod keys;
mod load;
mod sections;

pub use database::{redact_url, DatabaseConfig};
pub use error::ConfigError;
pub use keys::config_keys;
pub use load::{env_key, env_var, ENV_PREFIX, OTHER_ENV_VARS};
pub use sections::{
    AuditConfig, AuthConfig, ChangeSecretConfig, DriftConfig, EscrowConfig, LogConfig, LogFormat,
    MasterKeySourceKind, TlsConfig, VaultConfig,
};

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The whole configuration.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Directory for the SQLite database and the master key file.
    pub data_dir: PathBuf,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The address people reach the server at (`https://tumbler.example.com`), for links in
    /// mail; defaults to the listen address.
    pub public_url: Option<url::Url>,
    /// Tumbler's own database.
    pub database: DatabaseConfig,
    /// HTTPS; without it the server only listens on loopback.
    pub tls: Option<TlsConfig>,
    /// Where the master key comes from.
    pub vault: VaultConfig,
    /// Temporary passwords and throttling (lockout and sessions are in the password policy).
    pub auth: AuthConfig,
    /// The change engine.
    pub change_secret: ChangeSecretConfig,
    /// Drift checks: a periodic verify of every account.
    pub drift: DriftConfig,
    /// Reading the audit log: the export's bound.
    pub audit: AuditConfig,
    /// The escrow journal of new secrets.
    pub escrow: EscrowConfig,
    /// Logging.
    pub log: LogConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./tumbler-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            database: DatabaseConfig::default(),
            tls: None,
            vault: VaultConfig::default(),
            auth: AuthConfig::default(),
            change_secret: ChangeSecretConfig::default(),
            drift: DriftConfig::default(),
            audit: AuditConfig::default(),
            escrow: EscrowConfig::default(),
            log: LogConfig::default(),
        }
    }
}

impl Config {
    /// Checks rules that span keys.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.tls.is_none() && !self.listen.ip().is_loopback() {
            return Err(ConfigError::PlainHttpNotLoopback(self.listen));
        }
        let c = &self.change_secret;
        let a = &self.auth;
        // Every count and duration is bounded: a huge value would overflow date arithmetic
        // or ask for unbounded work.
        for (path, value, max) in [
            (
                "auth.temporary_password_hours",
                a.temporary_password_hours,
                8_760,
            ),
            (
                "auth.max_failures_per_source",
                a.max_failures_per_source,
                100_000,
            ),
            (
                "auth.source_window_minutes",
                a.source_window_minutes,
                10_080,
            ),
            (
                "change_secret.max_parallel_assets",
                c.max_parallel_assets,
                1_000,
            ),
            (
                "change_secret.account_timeout_seconds",
                c.account_timeout_seconds,
                86_400,
            ),
            ("change_secret.max_attempts", c.max_attempts, 10),
            ("drift.concurrency", self.drift.concurrency, 64),
            (
                "audit.export_max_rows",
                self.audit.export_max_rows,
                1_000_000,
            ),
            ("escrow.segment_max_mib", self.escrow.segment_max_mib, 4_096),
            ("escrow.keep_days", self.escrow.keep_days, 36_500),
        ] {
            if !(1..=max).contains(&value) {
                return Err(ConfigError::Invalid {
                    path: path.to_owned(),
                    message: format!("{path} must be between 1 and {max}"),
                });
            }
        }
        // Zero turns the window for sensitive actions off; at most a day otherwise.
        if a.sensitive_window_minutes > 1_440 {
            return Err(ConfigError::Invalid {
                path: "auth.sensitive_window_minutes".to_owned(),
                message: "auth.sensitive_window_minutes must be between 0 (off) and 1440"
                    .to_owned(),
            });
        }
        // Zero turns drift checks off; at least a minute, at most a year otherwise.
        let drift = self.drift.interval_seconds;
        if drift != 0 && !(60..=31_536_000).contains(&drift) {
            return Err(ConfigError::Invalid {
                path: "drift.interval_seconds".to_owned(),
                message: "drift.interval_seconds must be 0 (off) or between 60 and 31536000"
                    .to_owned(),
            });
        }
        if let Some(url) = &self.public_url {
            if !matches!(url.scheme(), "https" | "http") || url.cannot_be_a_base() {
                return Err(ConfigError::Invalid {
                    path: "public_url".to_owned(),
                    message: "public_url must be an http:// or https:// address".to_owned(),
                });
            }
        }
        Ok(())
    }

    /// The address for links in mail: `public_url`, else the listen address.
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.as_str().trim_end_matches('/').to_owned(),
            None => format!(
                "{}://{}",
                if self.tls.is_some() { "https" } else { "http" },
                self.listen
            ),
        }
    }

    /// The database URL: the configured one, or SQLite in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(url) => url.to_string(),
            None => format!("sqlite://{}", self.data_dir.join("tumbler.db").display()),
        }
    }

    /// The escrow journal's directory.
    pub fn journal_dir(&self) -> PathBuf {
        self.escrow
            .journal_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("journal"))
    }

    /// The master key file path.
    pub fn master_key_file(&self) -> PathBuf {
        self.vault
            .master_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("master.key"))
    }
}

#[cfg(test)]
mod tests;
