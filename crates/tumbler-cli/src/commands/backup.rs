//! `tumbler admin backup`, `tumbler admin restore` and `tumbler admin replay-journal`.

use super::{other, CliError};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tumbler_crypto::MasterKey;
use tumbler_server::{open_store, Config};
use tumbler_store::Backend;

/// Writes a consistent snapshot while the server may be running.
pub async fn backup(config: &Config, out: &Path) -> Result<ExitCode, CliError> {
    let store = open_store(config).await?;
    store.backup_to(out).await.map_err(other)?;
    store.close().await;
    println!("Backup written to {}.", out.display());
    println!(
        "It does not contain the master key ({}): keep the key apart from backups; a backup is useless without it.",
        config.master_key_file().display()
    );
    print_journal_location(config);
    Ok(ExitCode::SUCCESS)
}

/// Says where the escrow journal is: the entries written after a backup are what rolls it
/// forward at restore, so the journal is backed up apart (and more often) than the store.
fn print_journal_location(config: &Config) {
    let settings = tumbler_server::journal_settings(config);
    let dirs: Vec<String> = settings
        .dirs()
        .iter()
        .map(|d| d.display().to_string())
        .collect();
    println!(
        "Secrets rotated after this backup are in the escrow journal ({}), not in the backup: keep the journal (on another disk, or copied off the machine often) for {} days, the oldest backup it can roll forward.",
        dirs.join(" and "),
        config.escrow.keep_days
    );
}

/// Replaces the SQLite store with a backup, checks the master key still opens it, then (unless
/// `replay` is off) rolls it forward from the escrow journal.
pub async fn restore(
    config: &Config,
    env: &[(String, String)],
    from: &Path,
    replay: bool,
    keys: &[PathBuf],
) -> Result<ExitCode, CliError> {
    if Backend::from_url(&config.database_url()).map_err(other)? != Backend::Sqlite {
        return Err(CliError::Other(
            "restore PostgreSQL stores with pg_restore".to_owned(),
        ));
    }
    let db = config.data_dir.join("tumbler.db");
    tumbler_store::restore_sqlite(from, &db)
        .await
        .map_err(other)?;
    println!("Restored {} from {}.", db.display(), from.display());
    let master = tumbler_server::master_key_source(config, env)?;
    let clock = std::sync::Arc::new(tumbler_domain::SystemClock);
    let services = match tumbler_server::open_services(config, &master, clock, true).await {
        Ok(services) => services,
        Err(e) => {
            return Err(CliError::Other(format!(
                "restored, but the vault does not open with the configured master key: {e}. Use the master key that was current when the backup was taken."
            )))
        }
    };
    println!("The master key opens the restored vault.");
    if !replay {
        services.store.close().await;
        println!("The escrow journal was not replayed (--no-replay): run `tumbler admin replay-journal` before starting the server, or accounts rotated since the backup will not log in.");
        return Ok(ExitCode::SUCCESS);
    }
    let dirs = tumbler_server::journal_settings(config)
        .dirs()
        .iter()
        .map(|d| d.to_path_buf())
        .collect::<Vec<_>>();
    let code = replay_into(config, &services, &dirs, keys).await;
    services.store.close().await;
    code
}

/// Replays the escrow journal into the store (after `pg_restore`, or a restore that skipped
/// it). The server must be stopped.
pub async fn replay_journal(
    config: &Config,
    env: &[(String, String)],
    journals: &[PathBuf],
    keys: &[PathBuf],
) -> Result<ExitCode, CliError> {
    let master = tumbler_server::master_key_source(config, env)?;
    let clock = std::sync::Arc::new(tumbler_domain::SystemClock);
    let services = tumbler_server::open_services(config, &master, clock, true).await?;
    let dirs = if journals.is_empty() {
        tumbler_server::journal_settings(config)
            .dirs()
            .iter()
            .map(|d| d.to_path_buf())
            .collect::<Vec<_>>()
    } else {
        journals.to_vec()
    };
    let code = replay_into(config, &services, &dirs, keys).await;
    services.store.close().await;
    code
}

/// Master keys other than the vault's that journal entries may be sealed under: the retired
/// keys next to the master key file (`master.key.retired-<id>`) and the files given.
fn other_master_keys(config: &Config, given: &[PathBuf]) -> Result<Vec<MasterKey>, CliError> {
    let file = config.master_key_file();
    let mut paths = given.to_vec();
    if let (Some(dir), Some(name)) = (file.parent(), file.file_name().and_then(|n| n.to_str())) {
        let prefix = format!("{name}.retired-");
        if let Ok(items) = std::fs::read_dir(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        }) {
            for item in items.flatten() {
                let n = item.file_name();
                let n = n.to_string_lossy();
                if n.starts_with(&prefix) {
                    paths.push(item.path());
                }
            }
        }
    }
    let mut keys = Vec::new();
    for path in paths {
        let key = tumbler_crypto::load_master_key_file(&path).map_err(other)?;
        keys.push(key);
    }
    Ok(keys)
}

async fn replay_into(
    config: &Config,
    services: &tumbler_server::Services,
    dirs: &[PathBuf],
    key_files: &[PathBuf],
) -> Result<ExitCode, CliError> {
    let keys = other_master_keys(config, key_files)?;
    let mut scans = Vec::new();
    for dir in dirs {
        match tumbler_escrow::scan(dir) {
            Ok(scan) => scans.push(scan),
            Err(e) => println!("Journal {}: {e}", dir.display()),
        }
    }
    let shown: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    let report = services
        .change_secret
        .replay_journal(&scans, &keys, &tumbler_core::RequestOrigin::host())
        .await
        .map_err(other)?;
    println!(
        "Journal replay ({}): {} entries read; {} account(s) rolled forward (staged: the next start settles each by login), {} already up to date, {} could not be settled.",
        shown.join(", "),
        report.entries_read,
        report.rolled_forward,
        report.up_to_date,
        report.not_settled.len()
    );
    for line in &report.not_settled {
        println!("  not settled: {line}");
    }
    for line in &report.refused_entries {
        println!("  refused entry (never applied): {line}");
    }
    for line in &report.damaged_lines {
        println!("  damaged line (skipped): {line}");
    }
    if report.not_settled.is_empty() && report.refused_entries.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::FAILURE)
    }
}
