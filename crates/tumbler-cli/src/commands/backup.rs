//! `tumbler admin backup` and `tumbler admin restore`.

use super::{other, CliError};
use std::path::Path;
use std::process::ExitCode;
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
    Ok(ExitCode::SUCCESS)
}

/// Replaces the SQLite store with a backup, then checks the master key still opens it.
pub async fn restore(
    config: &Config,
    env: &[(String, String)],
    from: &Path,
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
    match tumbler_server::open_services(config, &master, clock, true).await {
        Ok(services) => {
            services.store.close().await;
            println!("The master key opens the restored vault.");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Err(CliError::Other(format!(
            "restored, but the vault does not open with the configured master key: {e}. Use the master key that was current when the backup was taken."
        ))),
    }
}
