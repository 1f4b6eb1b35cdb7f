//! `tumbler migrate`, `tumbler admin reset-password`, `tumbler audit verify`.

use super::{other, CliError};
use secrecy::ExposeSecret;
use std::process::ExitCode;
use std::sync::Arc;
use tumbler_core::RequestOrigin;
use tumbler_domain::SystemClock;
use tumbler_server::{master_key_source, open_audit_readonly, open_services, open_store, Config};

/// Applies pending migrations.
pub async fn migrate(config: &Config) -> Result<ExitCode, CliError> {
    let store = open_store(config).await?;
    let applied = store.migrate().await.map_err(other)?;
    println!(
        "Applied {applied} migration(s); {} schema is at version {}.",
        store.backend().name(),
        store.schema_version().await.map_err(other)?
    );
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// Gives a user a new one-time password, printed once; with `reset_totp`, also turns the
/// user's second factor off.
pub async fn reset_password(
    config: &Config,
    env: &[(String, String)],
    username: &str,
    reset_totp: bool,
) -> Result<ExitCode, CliError> {
    let services = open_services(
        config,
        &master_key_source(config, env)?,
        Arc::new(SystemClock),
        false,
    )
    .await?;
    let password = services
        .auth
        .reset_password(username, reset_totp, &RequestOrigin::host())
        .await
        .map_err(other)?;
    println!(
        "One-time password for {username}: {}",
        password.expose_secret()
    );
    println!("It must be changed at the next login. The user's sessions have ended.");
    if reset_totp {
        println!(
            "The second factor is off: the user enrols an authenticator again after logging in."
        );
    }
    services.store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// Checks the audit chain (its keyed part with the chain key from the vault, so the master
/// key is needed); exit code 1 when broken. Read-only: it never keys the chain.
pub async fn audit_verify(config: &Config, env: &[(String, String)]) -> Result<ExitCode, CliError> {
    let (store, audit) = open_audit_readonly(
        config,
        &master_key_source(config, env)?,
        Arc::new(SystemClock),
    )
    .await?;
    let report = audit.verify().await.map_err(other)?;
    store.close().await;
    match report.first_broken_seq {
        None => {
            println!(
                "Audit chain intact: {} events checked.",
                report.events_checked
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(seq) => {
            println!(
                "Audit chain BROKEN at event {seq}: {} ({} events verified before it).",
                report.reason.unwrap_or_default(),
                report.events_checked
            );
            Ok(ExitCode::FAILURE)
        }
    }
}
