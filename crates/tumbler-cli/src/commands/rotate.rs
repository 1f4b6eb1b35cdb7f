//! `tumbler admin rotate-master-key`: write the new key beside the old one, re-wrap the data
//! keys in one transaction, then move the new key into place. A crash between the last two
//! steps is finished at the next start (the store names the key that wrapped it).

use super::{other, CliError};
use std::process::ExitCode;
use std::sync::Arc;
use tumbler_core::master_key::pending_key_path;
use tumbler_core::{MasterKeySource, RequestOrigin};
use tumbler_crypto::{write_master_key_file, MasterKey};
use tumbler_domain::SystemClock;
use tumbler_server::config::MasterKeySourceKind;
use tumbler_server::{master_key_source, open_services, Config};

/// Rotates the master key for the configured source.
pub async fn run(config: &Config, env: &[(String, String)]) -> Result<ExitCode, CliError> {
    let source = master_key_source(config, env)?;
    let services = open_services(config, &source, Arc::new(SystemClock), false).await?;
    let old_id = services.vault.master_key_id();
    let var = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let origin = RequestOrigin::host();
    match (&source, config.vault.master_key_source) {
        (MasterKeySource::File { path, .. }, _) => {
            let pending = pending_key_path(path);
            match std::fs::remove_file(&pending) {
                Ok(()) => println!("Removed an unused key from an earlier, interrupted rotation."),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(other(e)),
            }
            let new = MasterKey::generate();
            write_master_key_file(&pending, &new).map_err(other)?;
            services
                .vault
                .rotate_master_key(new, &origin)
                .await
                .map_err(other)?;
            let retired = path.with_extension(format!("key.retired-{old_id}"));
            std::fs::rename(path, &retired).map_err(other)?;
            std::fs::rename(&pending, path).map_err(other)?;
            println!(
                "Master key rotated: {} now holds key {}.",
                path.display(),
                services.vault.master_key_id()
            );
            println!(
                "The previous key is kept as {}: keep it with backups taken before now, or delete it.",
                retired.display()
            );
        }
        (_, MasterKeySourceKind::Env) => {
            let hex = var("TUMBLER_NEW_MASTER_KEY")
                .ok_or_else(|| other("set TUMBLER_NEW_MASTER_KEY to 64 new hex digits"))?;
            let new = MasterKey::from_hex(&hex).map_err(other)?;
            services
                .vault
                .rotate_master_key(new, &origin)
                .await
                .map_err(other)?;
            println!("Master key rotated to key {}. Set TUMBLER_MASTER_KEY to the new value before the next start.", services.vault.master_key_id());
        }
        _ => {
            let pass = var("TUMBLER_NEW_MASTER_PASSPHRASE")
                .ok_or_else(|| other("set TUMBLER_NEW_MASTER_PASSPHRASE"))?;
            let new = MasterKeySource::Passphrase(pass.into())
                .load(&services.store, None)
                .await
                .map_err(other)?;
            services
                .vault
                .rotate_master_key(new, &origin)
                .await
                .map_err(other)?;
            println!("Master key rotated. Set TUMBLER_MASTER_PASSPHRASE to the new passphrase before the next start.");
        }
    }
    services.store.close().await;
    Ok(ExitCode::SUCCESS)
}
