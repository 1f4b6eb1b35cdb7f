//! `tumbler check-config`

use super::CliError;
use std::process::ExitCode;
use tumbler_server::Config;

/// Shown after `tumbler check-config --help`.
pub const ENV_HELP: &str = "Environment variables (override the file): TUMBLER_ then the key, with
`__` between a section and its key (TUMBLER_CHANGE_SECRET__TIME_ZONE sets [change_secret] time_zone):
  TUMBLER_DATA_DIR, TUMBLER_LISTEN, TUMBLER_PUBLIC_URL, TUMBLER_DATABASE__URL,
  TUMBLER_TLS__CERT_FILE, TUMBLER_TLS__KEY_FILE, TUMBLER_TLS__CLIENT_CA_FILE,
  TUMBLER_VAULT__MASTER_KEY_SOURCE (file|env|passphrase), TUMBLER_VAULT__MASTER_KEY_FILE,
  TUMBLER_AUTH__TEMPORARY_PASSWORD_HOURS, TUMBLER_AUTH__MAX_FAILURES_PER_SOURCE,
  TUMBLER_AUTH__SOURCE_WINDOW_MINUTES,
  TUMBLER_CHANGE_SECRET__SECURE_MODE, TUMBLER_CHANGE_SECRET__MAX_PARALLEL_ASSETS,
  TUMBLER_CHANGE_SECRET__ACCOUNT_TIMEOUT_SECONDS, TUMBLER_CHANGE_SECRET__MAX_ATTEMPTS,
  TUMBLER_CHANGE_SECRET__NODE_NAME, TUMBLER_CHANGE_SECRET__TIME_ZONE (IANA name),
  TUMBLER_DRIFT__INTERVAL_SECONDS, TUMBLER_DRIFT__CONCURRENCY, TUMBLER_DRIFT__AUTO_RECONCILE,
  TUMBLER_ESCROW__JOURNAL_DIR, TUMBLER_ESCROW__COPY_DIR, TUMBLER_ESCROW__SEGMENT_MAX_MIB,
  TUMBLER_ESCROW__KEEP_DAYS, TUMBLER_ESCROW__RECONCILE_AFTER_RESTORE,
  TUMBLER_LOG__FORMAT (text|json), TUMBLER_LOG__LEVEL
Other variables:
  TUMBLER_CONFIG (config file), TUMBLER_MASTER_KEY (64 hex digits, source env),
  TUMBLER_MASTER_PASSPHRASE (source passphrase), TUMBLER_NEW_MASTER_KEY and
  TUMBLER_NEW_MASTER_PASSPHRASE (rotate-master-key with those sources),
  TUMBLER_URL (the server `tumbler login` talks to)
Any other TUMBLER_* variable is an error.";

/// Prints the effective configuration (it holds no secrets) after it validated.
pub fn run(config: &Config) -> Result<ExitCode, CliError> {
    println!("Configuration is valid.");
    println!("  data_dir        = {}", config.data_dir.display());
    println!("  listen          = {}", config.listen);
    println!(
        "  database        = {}",
        match config.database.url_redacted() {
            Some(url) => url,
            None => format!("SQLite at {}", config.data_dir.join("tumbler.db").display()),
        }
    );
    match &config.tls {
        Some(t) => println!(
            "  tls             = cert {} key {}",
            t.cert_file.display(),
            t.key_file.display()
        ),
        None => println!("  tls             = off (plain HTTP, loopback only)"),
    }
    println!(
        "  master key      = {:?} ({})",
        config.vault.master_key_source,
        config.master_key_file().display()
    );
    println!(
        "  auth            = temporary passwords {} h; throttle after {} failures per address in {} min",
        config.auth.temporary_password_hours, config.auth.max_failures_per_source, config.auth.source_window_minutes
    );
    println!("  (lockout, session timeouts and the session limit are part of the password policy: Settings > Password)");
    println!(
        "  log             = {:?}, level {}",
        config.log.format, config.log.level
    );
    Ok(ExitCode::SUCCESS)
}
