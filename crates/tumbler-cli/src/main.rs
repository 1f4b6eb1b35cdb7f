//! The `tumbler` binary: the server and its admin commands.

mod commands;

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use tumbler_server::config::LogFormat;
use tumbler_server::Config;

/// Tumbler: a self-hosted privileged-credential custodian.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Configuration file (TOML). Environment variables `TUMBLER_*` override it.
    #[arg(long, global = true, env = "TUMBLER_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (SQLite database, master key file); overrides the configuration.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (creates the data directory, database and master key on first start).
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080; port 0 picks a free port.
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Log line format.
        #[arg(long, value_parser = ["text", "json"])]
        log_format: Option<String>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Validate the configuration (file and environment) and explain it.
    #[command(after_help = commands::check_config::ENV_HELP)]
    CheckConfig,
    /// Administration run on the server's host.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Log in to a Tumbler server and store an API token for the commands below.
    Login {
        /// Server URL.
        #[arg(long, env = "TUMBLER_URL", default_value = "http://127.0.0.1:8080")]
        url: String,
        /// Username.
        #[arg(long, default_value = "admin")]
        username: String,
        /// Read the password (and a TOTP code, if asked) from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Manage console users through the REST API (after `tumbler login`).
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Give a user a new one-time password (printed once) that must be changed at next login.
    ResetPassword {
        /// The user's login name.
        username: String,
    },
    /// Re-wrap the vault's data keys under a new master key, while the server keeps running.
    RotateMasterKey,
    /// Write a consistent snapshot of the SQLite store (never containing the master key).
    Backup {
        /// File to write; must not exist.
        #[arg(long)]
        out: PathBuf,
    },
    /// Replace the SQLite store with a backup. Stop the server first.
    Restore {
        /// Backup file to restore.
        #[arg(long)]
        from: PathBuf,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; a local user's temporary password is printed once.
    Add {
        /// Login name.
        username: String,
        /// Email for notifications.
        #[arg(long)]
        email: Option<String>,
        /// Display name.
        #[arg(long)]
        display_name: Option<String>,
        /// A role (repeat for several).
        #[arg(long = "role")]
        roles: Vec<String>,
        /// A remote user (no local password).
        #[arg(long)]
        remote: bool,
    },
    /// List users with password and lockout status.
    List,
    /// Disable a user (ends their sessions).
    Disable {
        /// Login name.
        username: String,
    },
    /// Lift a lockout.
    Unlock {
        /// Login name.
        username: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the audit hash chain and report the first broken link.
    Verify,
}

fn load_config(cli: &Cli, env: &[(String, String)]) -> Result<Config, commands::CliError> {
    let mut config = Config::load(cli.config.as_deref(), env)?;
    if let Some(dir) = &cli.data_dir {
        config.data_dir = dir.clone();
    }
    if let Command::Serve { listen, log_format } = &cli.command {
        if let Some(addr) = listen {
            config.listen = *addr;
        }
        if let Some(f) = log_format {
            config.log.format = if f == "json" {
                LogFormat::Json
            } else {
                LogFormat::Text
            };
        }
        config.validate()?;
    }
    Ok(config)
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log.level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log.format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

async fn run(cli: Cli) -> Result<ExitCode, commands::CliError> {
    let env: Vec<(String, String)> = std::env::vars().collect();
    let config = load_config(&cli, &env)?;
    if !matches!(
        cli.command,
        Command::CheckConfig | Command::Login { .. } | Command::User { .. }
    ) {
        init_logging(&config);
    }
    match cli.command {
        Command::Serve { .. } => commands::serve::run(&config, &env).await,
        Command::Migrate => commands::admin::migrate(&config).await,
        Command::CheckConfig => commands::check_config::run(&config),
        Command::Admin { command } => match command {
            AdminCommand::ResetPassword { username } => {
                commands::admin::reset_password(&config, &env, &username).await
            }
            AdminCommand::RotateMasterKey => commands::rotate::run(&config, &env).await,
            AdminCommand::Backup { out } => commands::backup::backup(&config, &out).await,
            AdminCommand::Restore { from } => commands::backup::restore(&config, &env, &from).await,
        },
        Command::Login {
            url,
            username,
            password_stdin,
        } => {
            commands::client::login(&env, url.trim_end_matches('/'), &username, password_stdin)
                .await
        }
        Command::User { command } => match command {
            UserCommand::Add {
                username,
                email,
                display_name,
                roles,
                remote,
            } => {
                commands::client::user_add(&env, &username, email, display_name, roles, remote)
                    .await
            }
            UserCommand::List => commands::client::user_list(&env).await,
            UserCommand::Disable { username } => {
                commands::client::user_disable(&env, &username).await
            }
            UserCommand::Unlock { username } => {
                commands::client::user_unlock(&env, &username).await
            }
        },
        Command::Audit {
            command: AuditCommand::Verify,
        } => commands::admin::audit_verify(&config).await,
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
