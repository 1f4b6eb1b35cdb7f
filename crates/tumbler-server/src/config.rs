//! Configuration: defaults, then a TOML file, then `TUMBLER_*` environment variables (`__`
//! nests). Unknown keys in the file and unknown `TUMBLER_*` variables are errors that name them.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Environment variables that set configuration keys (variable, dotted key).
pub const CONFIG_ENV_VARS: &[(&str, &str)] = &[
    ("TUMBLER_DATA_DIR", "data_dir"),
    ("TUMBLER_LISTEN", "listen"),
    ("TUMBLER_PUBLIC_URL", "public_url"),
    ("TUMBLER_DATABASE__URL", "database.url"),
    ("TUMBLER_TLS__CERT_FILE", "tls.cert_file"),
    ("TUMBLER_TLS__KEY_FILE", "tls.key_file"),
    ("TUMBLER_TLS__CLIENT_CA_FILE", "tls.client_ca_file"),
    (
        "TUMBLER_VAULT__MASTER_KEY_SOURCE",
        "vault.master_key_source",
    ),
    ("TUMBLER_VAULT__MASTER_KEY_FILE", "vault.master_key_file"),
    (
        "TUMBLER_AUTH__TEMPORARY_PASSWORD_HOURS",
        "auth.temporary_password_hours",
    ),
    (
        "TUMBLER_AUTH__MAX_FAILURES_PER_SOURCE",
        "auth.max_failures_per_source",
    ),
    (
        "TUMBLER_AUTH__SOURCE_WINDOW_MINUTES",
        "auth.source_window_minutes",
    ),
    (
        "TUMBLER_CHANGE_SECRET__SECURE_MODE",
        "change_secret.secure_mode",
    ),
    (
        "TUMBLER_CHANGE_SECRET__MAX_PARALLEL_ASSETS",
        "change_secret.max_parallel_assets",
    ),
    (
        "TUMBLER_CHANGE_SECRET__ACCOUNT_TIMEOUT_SECONDS",
        "change_secret.account_timeout_seconds",
    ),
    (
        "TUMBLER_CHANGE_SECRET__MAX_ATTEMPTS",
        "change_secret.max_attempts",
    ),
    (
        "TUMBLER_CHANGE_SECRET__NODE_NAME",
        "change_secret.node_name",
    ),
    (
        "TUMBLER_CHANGE_SECRET__TIME_ZONE",
        "change_secret.time_zone",
    ),
    ("TUMBLER_DRIFT__INTERVAL_SECONDS", "drift.interval_seconds"),
    ("TUMBLER_DRIFT__CONCURRENCY", "drift.concurrency"),
    ("TUMBLER_DRIFT__AUTO_RECONCILE", "drift.auto_reconcile"),
    ("TUMBLER_ESCROW__JOURNAL_DIR", "escrow.journal_dir"),
    ("TUMBLER_ESCROW__COPY_DIR", "escrow.copy_dir"),
    ("TUMBLER_ESCROW__KEEP_DAYS", "escrow.keep_days"),
    (
        "TUMBLER_ESCROW__RECONCILE_AFTER_RESTORE",
        "escrow.reconcile_after_restore",
    ),
    ("TUMBLER_LOG__FORMAT", "log.format"),
    ("TUMBLER_LOG__LEVEL", "log.level"),
];

/// Environment variables read for other purposes than configuration keys.
pub const OTHER_ENV_VARS: &[&str] = &[
    "TUMBLER_CONFIG",
    "TUMBLER_MASTER_KEY",
    "TUMBLER_MASTER_PASSPHRASE",
    "TUMBLER_NEW_MASTER_KEY",
    "TUMBLER_NEW_MASTER_PASSPHRASE",
    "TUMBLER_URL",
];

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
    pub public_url: Option<String>,
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
            escrow: EscrowConfig::default(),
            log: LogConfig::default(),
        }
    }
}

/// `[database]`. Its `Debug` shows the URL without its password.
#[derive(Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `postgres://...`; unset means SQLite in the data directory.
    pub url: Option<String>,
}

impl DatabaseConfig {
    /// The URL with its password (in the user information or a `password` parameter)
    /// replaced by `***`, for messages and `check-config`.
    pub fn url_redacted(&self) -> Option<String> {
        self.url.as_deref().map(redact_url)
    }
}

impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &self.url_redacted())
            .finish()
    }
}

/// `url` with the password of its user information and the value of any `password`
/// query parameter replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let mut out = match head.find("://") {
        Some(scheme) => {
            let rest = &head[scheme + 3..];
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let authority = &rest[..authority_end];
            match authority.rsplit_once('@') {
                Some((userinfo, host)) => {
                    let user = userinfo.split_once(':').map(|(u, _)| u);
                    format!(
                        "{}{}@{host}{}",
                        &head[..scheme + 3],
                        user.map(|u| format!("{u}:***"))
                            .unwrap_or_else(|| userinfo.to_owned()),
                        &rest[authority_end..]
                    )
                }
                None => head.to_owned(),
            }
        }
        None => head.to_owned(),
    };
    if let Some(q) = query {
        let params: Vec<String> = q
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

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
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            temporary_password_hours: 72,
            max_failures_per_source: 20,
            source_window_minutes: 15,
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
    pub time_zone: String,
}

impl Default for ChangeSecretConfig {
    fn default() -> Self {
        Self {
            secure_mode: true,
            max_parallel_assets: 10,
            account_timeout_seconds: 60,
            max_attempts: 3,
            node_name: None,
            time_zone: "UTC".to_owned(),
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

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has a wrong or unknown key.
    #[error("config file {path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// The parser's message, which names the key.
        message: String,
    },
    /// An environment variable is not one Tumbler knows.
    #[error("unknown environment variable {0}; see `tumbler check-config --help` for the list")]
    UnknownEnv(String),
    /// An environment variable's value is invalid for its key.
    #[error("environment variable {var}: {message}")]
    InvalidEnv {
        /// The variable.
        var: String,
        /// What is wrong.
        message: String,
    },
    /// Plain HTTP was asked for on a non-loopback address.
    #[error("listen address {0} is not loopback: configure [tls] cert_file and key_file to serve beyond this machine")]
    PlainHttpNotLoopback(SocketAddr),
}

impl Config {
    /// Loads the configuration from an optional file and the given environment.
    pub fn load(file: Option<&Path>, env: &[(String, String)]) -> Result<Self, ConfigError> {
        let (mut table, origin) = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.display().to_string(),
                    source,
                })?;
                let table: toml::Table =
                    toml::from_str(&text).map_err(|e| ConfigError::Invalid {
                        path: path.display().to_string(),
                        message: e.message().to_owned(),
                    })?;
                (table, path.display().to_string())
            }
            None => (toml::Table::new(), "(none)".to_owned()),
        };
        // Validate the file alone first so its errors name the file.
        Self::from_table(table.clone()).map_err(|message| ConfigError::Invalid {
            path: origin,
            message,
        })?;
        for (var, value) in env.iter().filter(|(k, _)| k.starts_with("TUMBLER_")) {
            if OTHER_ENV_VARS.contains(&var.as_str()) {
                continue;
            }
            let Some((_, key)) = CONFIG_ENV_VARS.iter().find(|(v, _)| v == var) else {
                return Err(ConfigError::UnknownEnv(var.clone()));
            };
            set_dotted(&mut table, key, env_value(value));
            Self::from_table(table.clone()).map_err(|message| ConfigError::InvalidEnv {
                var: var.clone(),
                message,
            })?;
        }
        let config = Self::from_table(table).map_err(|message| ConfigError::Invalid {
            path: "(environment)".to_owned(),
            message,
        })?;
        config.validate()?;
        Ok(config)
    }

    fn from_table(table: toml::Table) -> Result<Self, String> {
        Config::deserialize(toml::Value::Table(table)).map_err(|e| e.message().to_owned())
    }

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
            if !(url.starts_with("https://") || url.starts_with("http://"))
                || url.contains(char::is_whitespace)
            {
                return Err(ConfigError::Invalid {
                    path: "public_url".to_owned(),
                    message: "public_url must be an http:// or https:// address".to_owned(),
                });
            }
        }
        if let Err(e) = tumbler_domain::schedule::parse_time_zone(&c.time_zone) {
            return Err(ConfigError::Invalid {
                path: "change_secret.time_zone".to_owned(),
                message: e.reason,
            });
        }
        Ok(())
    }

    /// The address for links in mail: `public_url`, else the listen address.
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
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
            Some(url) => url.clone(),
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

/// An environment value as TOML if it parses as a number or boolean, else as a string.
fn env_value(value: &str) -> toml::Value {
    match toml::from_str::<toml::Table>(&format!("v = {value}")) {
        Ok(mut t) => match t.remove("v") {
            Some(v @ (toml::Value::Integer(_) | toml::Value::Boolean(_))) => v,
            _ => toml::Value::String(value.to_owned()),
        },
        Err(_) => toml::Value::String(value.to_owned()),
    }
}

fn set_dotted(table: &mut toml::Table, key: &str, value: toml::Value) {
    match key.split_once('.') {
        None => {
            table.insert(key.to_owned(), value);
        }
        Some((head, rest)) => {
            let entry = table
                .entry(head.to_owned())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !entry.is_table() {
                *entry = toml::Value::Table(toml::Table::new());
            }
            if let toml::Value::Table(inner) = entry {
                set_dotted(inner, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn unknown_file_key_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.toml");
        std::fs::write(&p, "[database]\nurll = \"x\"\n").unwrap();
        let err = Config::load(Some(&p), &[]).unwrap_err().to_string();
        assert!(err.contains("urll"), "{err}");
    }

    #[test]
    fn env_overrides_file_and_nests() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.toml");
        std::fs::write(&p, "[auth]\ntemporary_password_hours = 3\n").unwrap();
        let c = Config::load(
            Some(&p),
            &env(&[
                ("TUMBLER_DATABASE__URL", "postgres://x/y"),
                ("TUMBLER_AUTH__TEMPORARY_PASSWORD_HOURS", "9"),
            ]),
        )
        .unwrap();
        assert_eq!(c.database.url.as_deref(), Some("postgres://x/y"));
        assert_eq!(c.auth.temporary_password_hours, 9);
    }

    #[test]
    fn the_database_password_never_shows_in_debug() {
        for url in [
            "postgres://tumbler:canary-db-pw@db.example:5432/tumbler",
            "postgres://tumbler@db.example/tumbler?sslmode=verify-full&password=canary-db-pw",
        ] {
            let c = Config {
                database: DatabaseConfig {
                    url: Some(url.to_owned()),
                },
                ..Config::default()
            };
            for text in [format!("{c:?}"), format!("{:#?}", c.database)] {
                assert!(!text.contains("canary-db-pw"), "{text}");
                assert!(
                    text.contains("db.example"),
                    "the rest stays readable: {text}"
                );
            }
        }
        assert_eq!(
            redact_url("postgres://u:s3cret@h/db?sslmode=require"),
            "postgres://u:***@h/db?sslmode=require"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
    }

    #[test]
    fn unknown_env_is_named_and_plain_http_stays_on_loopback() {
        let err = Config::load(None, &env(&[("TUMBLER_DATABSE__URL", "x")])).unwrap_err();
        assert!(err.to_string().contains("TUMBLER_DATABSE__URL"));
        let err = Config::load(None, &env(&[("TUMBLER_LISTEN", "0.0.0.0:8080")])).unwrap_err();
        assert!(matches!(err, ConfigError::PlainHttpNotLoopback(_)));
    }

    #[test]
    fn counts_and_durations_are_bounded() {
        for (key, value) in [
            ("TUMBLER_AUTH__TEMPORARY_PASSWORD_HOURS", "4294967295"),
            ("TUMBLER_AUTH__SOURCE_WINDOW_MINUTES", "0"),
            (
                "TUMBLER_CHANGE_SECRET__ACCOUNT_TIMEOUT_SECONDS",
                "4294967295",
            ),
            ("TUMBLER_DRIFT__INTERVAL_SECONDS", "59"),
            ("TUMBLER_DRIFT__INTERVAL_SECONDS", "4294967295"),
            ("TUMBLER_DRIFT__CONCURRENCY", "0"),
            ("TUMBLER_DRIFT__CONCURRENCY", "65"),
        ] {
            let err = Config::load(
                None,
                &env(&[("TUMBLER_LISTEN", "127.0.0.1:0"), (key, value)]),
            )
            .unwrap_err();
            assert!(matches!(err, ConfigError::Invalid { .. }), "{key}: {err}");
        }
    }

    #[test]
    fn time_zone_must_be_an_iana_name() {
        let ok = Config::load(
            None,
            &env(&[("TUMBLER_CHANGE_SECRET__TIME_ZONE", "Europe/Berlin")]),
        )
        .unwrap();
        assert_eq!(ok.change_secret.time_zone, "Europe/Berlin");
        let err = Config::load(
            None,
            &env(&[("TUMBLER_CHANGE_SECRET__TIME_ZONE", "Mars/Olympus")]),
        )
        .unwrap_err();
        assert!(
            matches!(&err, ConfigError::Invalid { path, .. } if path == "change_secret.time_zone"),
            "{err}"
        );
        assert!(err.to_string().contains("Mars/Olympus"), "{err}");
    }

    #[test]
    fn drift_settings_have_defaults_and_turn_off_with_zero() {
        let d = Config::load(None, &env(&[])).unwrap().drift;
        assert_eq!(
            (d.interval_seconds, d.concurrency, d.auto_reconcile),
            (86_400, 4, false)
        );
        let c = Config::load(
            None,
            &env(&[
                ("TUMBLER_DRIFT__INTERVAL_SECONDS", "0"),
                ("TUMBLER_DRIFT__CONCURRENCY", "8"),
                ("TUMBLER_DRIFT__AUTO_RECONCILE", "true"),
            ]),
        )
        .unwrap()
        .drift;
        assert_eq!(
            (c.interval_seconds, c.concurrency, c.auto_reconcile),
            (0, 8, true)
        );
    }
}
