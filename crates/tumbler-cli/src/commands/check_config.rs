//! `tumbler check-config`

use super::CliError;
use std::process::ExitCode;
use tumbler_server::Config;

/// Shown after `tumbler check-config --help`: every configuration variable, listed from the
/// configuration's structs (so the list cannot fall behind them), and the others.
pub fn env_help() -> String {
    let vars: Vec<String> = tumbler_server::config::config_keys()
        .iter()
        .map(|k| tumbler_server::config::env_var(k))
        .collect();
    let mut lines = vec![String::new()];
    for var in vars {
        let line = lines.last_mut().map(|l| l.len() + var.len()).unwrap_or(0);
        if line > 90 {
            lines.push(String::new());
        }
        if let Some(last) = lines.last_mut() {
            last.push_str(if last.is_empty() { "  " } else { ", " });
            last.push_str(&var);
        }
    }
    format!(
        "Environment variables (override the file): TUMBLER_ then the key, with `__` between a
section and its key (TUMBLER_CHANGE_SECRET__TIME_ZONE sets [change_secret] time_zone):
{}
Other variables:
  TUMBLER_CONFIG (config file), TUMBLER_MASTER_KEY (64 hex digits, source env),
  TUMBLER_MASTER_PASSPHRASE (source passphrase), TUMBLER_NEW_MASTER_KEY and
  TUMBLER_NEW_MASTER_PASSPHRASE (rotate-master-key with those sources),
  TUMBLER_URL (the server `tumbler login` talks to)
Any other TUMBLER_* variable is an error.",
        lines.join(",\n")
    )
}

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
