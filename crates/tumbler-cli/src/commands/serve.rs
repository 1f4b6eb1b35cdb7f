//! `tumbler serve`

use super::CliError;
use secrecy::ExposeSecret;
use std::process::ExitCode;
use std::sync::Arc;
use tokio::signal::unix::{signal, SignalKind};
use tumbler_domain::SystemClock;
use tumbler_server::{master_key_source, Config};

/// Runs the server until SIGTERM or Ctrl-C, then lets in-flight requests finish.
pub async fn run(config: &Config, env: &[(String, String)]) -> Result<ExitCode, CliError> {
    let master = master_key_source(config, env)?;
    let server = tumbler_server::start(config, &master, Arc::new(SystemClock)).await?;
    if let Some(password) = &server.initial_admin_password {
        // Printed to the terminal once, on purpose not through the logger.
        println!("Initial admin password: {}", password.expose_secret());
        println!("Log in as admin with it; you will be asked to change it.");
    }
    if !server.tls {
        tracing::warn!("no [tls] configured: serving plain HTTP on loopback only");
    }
    println!("Listening on {}", server.url());
    tracing::info!(addr = %server.addr, backend = server.store.backend().name(), "server started");
    let mut term = signal(SignalKind::terminate()).map_err(super::other)?;
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
    server.shutdown();
    server.wait().await?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}
