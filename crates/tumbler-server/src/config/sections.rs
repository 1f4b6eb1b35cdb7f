//! The sections of the configuration file other than `[database]`: `[tls]`, `[vault]`,
//! `[auth]`, `[change_secret]`, `[drift]`, `[escrow]` and `[log]`.

use serde::{Deserialize, Deserializer};
use std::path::PathBuf;

/// `[tls]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain.
    pub cert_file: PathBuf,
    /// PEM private key.
    pub key_file: PathBuf,
    /// PEM CA certificates that sign users' client certificates. When set, clients may present
    /// a certificate, and a registered one logs its user in.
    #[serde(default)]
    pub client_ca_file: Option<PathBuf>,
}

/// How the master key is supplied.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MasterKeySourceKind {
    /// A key file (created 0600 on first start).
    #[default]
    File,
    /// `TUMBLER_MASTER_KEY` (64 hex digits).
    Env,
    /// `TUMBLER_MASTER_PASSPHRASE`.
    Passphrase,
}

/// `[vault]`
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct VaultConfig {
    /// `file`, `env` or `passphrase`.
    pub master_key_source: MasterKeySourceKind,
    /// The key file; default `<data_dir>/master.key`.
    pub master_key_file: Option<PathBuf>,
}

/// `[auth]` (lockout and session rules are part of the password policy, edited at run time)
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// How long a temporary (one-time) password works.
    pub temporary_password_hours: u32,
    /// Failed logins from one address within `source_window_minutes` before it is throttled.
    pub max_failures_per_source: u32,
    /// The window of `max_failures_per_source`.
    pub source_window_minutes: u32,
    /// After a fresh TOTP code, how long the same console session may do further sensitive
    /// actions without another code (0: every sensitive action needs its own code).
    pub sensitive_window_minutes: u32,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            temporary_password_hours: 72,
            max_failures_per_source: 20,
            source_window_minutes: 15,
            sensitive_window_minutes: 5,
        }
    }
}

/// `[change_secret]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ChangeSecretConfig {
    /// Never change privileged accounts, `root`/`administrator`, or the account Tumbler logs
    /// in with. Turning it off is logged at start.
    pub secure_mode: bool,
    /// Assets worked on at once.
    pub max_parallel_assets: u32,
    /// The limit for changing and verifying one account (and for connecting).
    pub account_timeout_seconds: u32,
    /// Tries of a change while the target cannot be reached.
    pub max_attempts: u32,
    /// This node's name (defaults to the host name): a restarted node recovers its own
    /// interrupted runs at once.
    pub node_name: Option<String>,
    /// The IANA time zone cron schedules are read in (`Europe/Berlin`; default `UTC`).
    #[serde(deserialize_with = "time_zone")]
    pub time_zone: chrono_tz::Tz,
}

impl Default for ChangeSecretConfig {
    fn default() -> Self {
        Self {
            secure_mode: true,
            max_parallel_assets: 10,
            account_timeout_seconds: 60,
            max_attempts: 3,
            node_name: None,
            time_zone: chrono_tz::Tz::UTC,
        }
    }
}

/// `[drift]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DriftConfig {
    /// Every account is verified once per this many seconds, spread evenly over it; 0 turns
    /// drift checks off.
    pub interval_seconds: u32,
    /// Logins a drift pass makes at once.
    pub concurrency: u32,
    /// Reconcile an account whose stored secret stopped working, at once.
    pub auto_reconcile: bool,
}

impl Default for DriftConfig {
    fn default() -> Self {
        Self {
            interval_seconds: 86_400,
            concurrency: 4,
            auto_reconcile: false,
        }
    }
}

/// `[audit]`
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Most events one CSV export of the audit log holds; an export of more is refused and
    /// asks for narrower filters (1..=1000000).
    pub export_max_rows: u32,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            export_max_rows: tumbler_core::audit::DEFAULT_EXPORT_MAX_ROWS,
        }
    }
}

/// `[escrow]`: where every new secret is journaled (sealed) before it is sent, so a restored
/// backup can be rolled forward.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct EscrowConfig {
    /// The journal's directory (default: `journal` in the data directory). Put it on another
    /// disk than the store to survive the store's disk.
    pub journal_dir: Option<PathBuf>,
    /// A second directory that holds a full copy (another disk); every append writes both.
    pub copy_dir: Option<PathBuf>,
    /// A segment file reaching this many MiB is closed and a new one started.
    pub segment_max_mib: u32,
    /// Segments whose newest entry is older than this many days are removed: the oldest backup
    /// that can still be rolled forward is this old.
    pub keep_days: u32,
    /// After a restore, reconcile the accounts the journal replay could not settle by login.
    pub reconcile_after_restore: bool,
}

impl Default for EscrowConfig {
    fn default() -> Self {
        Self {
            journal_dir: None,
            copy_dir: None,
            segment_max_mib: 16,
            keep_days: 90,
            reconcile_after_restore: false,
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// `[log]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A `tracing` filter, e.g. `info` or `tumbler_core=debug,info`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".to_owned(),
        }
    }
}

/// An IANA time zone name, refused with a message that quotes it.
fn time_zone<'de, D: Deserializer<'de>>(d: D) -> Result<chrono_tz::Tz, D::Error> {
    let name = String::deserialize(d)?;
    tumbler_domain::schedule::parse_time_zone(&name).map_err(|e| serde::de::Error::custom(e.reason))
}
