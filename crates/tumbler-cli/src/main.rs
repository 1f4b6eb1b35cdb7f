//! The `tumbler` binary: the server (`serve`, `migrate`, `check-config`), the admin commands run
//! on the server's host (password reset, master key rotation, backup, restore, journal replay)
//! and a client of the REST API (`login`, then users, assets, accounts, tasks, keys, devices,
//! audit).

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

/// `--log-format`: how log lines are written.
#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormatArg {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (creates the data directory, database and master key on first start).
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080; port 0 picks a free port.
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Log line format.
        #[arg(long, value_enum)]
        log_format: Option<LogFormatArg>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Validate the configuration (file and environment) and explain it.
    #[command(after_help = commands::check_config::env_help())]
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
    /// Manage assets through the REST API (after `tumbler login`).
    Asset {
        #[command(subcommand)]
        command: AssetCommand,
    },
    /// Manage accounts through the REST API (after `tumbler login`).
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// Change-secret tasks through the REST API (after `tumbler login`).
    Task {
        #[command(subcommand)]
        command: TaskCommand,
    },
    /// The system SSH key Tumbler reaches devices with (after `tumbler login`).
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Device access: key conflicts (after `tumbler login`).
    Device {
        #[command(subcommand)]
        command: DeviceCommand,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Give a user a new one-time password (printed once) that must be changed at next login;
    /// with --reset-totp, also turn the user's second factor off (audited), for an
    /// administrator who lost the authenticator.
    ResetPassword {
        /// The user's login name.
        username: String,
        /// Also reset the second factor (TOTP and recovery codes); the user enrols again.
        #[arg(long)]
        reset_totp: bool,
    },
    /// Re-wrap the vault's data keys under a new master key, while the server keeps running.
    RotateMasterKey,
    /// Write a consistent snapshot of the SQLite store (never containing the master key).
    Backup {
        /// File to write; must not exist.
        #[arg(long)]
        out: PathBuf,
    },
    /// Replace the SQLite store with a backup, then roll it forward from the escrow journal
    /// (secrets rotated since the backup). Stop the server first.
    Restore {
        /// Backup file to restore.
        #[arg(long)]
        from: PathBuf,
        /// Do not replay the escrow journal (then run `admin replay-journal` before starting).
        #[arg(long)]
        no_replay: bool,
        /// A master key file journal entries may be sealed under besides the store's
        /// (repeatable); retired keys next to the master key file are read anyway.
        #[arg(long)]
        journal_key: Vec<PathBuf>,
    },
    /// Roll the store forward from the escrow journal: after `pg_restore` of a PostgreSQL
    /// store, or a restore run with --no-replay. Stop the server first.
    ReplayJournal {
        /// Journal directory to read (repeatable: every node's journal); default: the
        /// configured journal and its copy.
        #[arg(long)]
        journal: Vec<PathBuf>,
        /// A master key file that entries may be sealed under besides the store's (a key
        /// rotated away; repeatable). Retired keys next to the master key file are read anyway.
        #[arg(long)]
        journal_key: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; a local user's temporary password is printed once.
    Add(commands::client::NewUser),
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
enum KeyCommand {
    /// Show the system key's algorithm, fingerprint and public key.
    Show,
    /// Regenerate it on every key-based device (waits for the job).
    Regenerate {
        /// ed25519 (default), ecdsa or rsa. DSS is not offered.
        #[arg(long, value_enum)]
        algorithm: Option<commands::keys::KeyAlgorithmArg>,
        /// Key size: ECDSA 256 or 384, RSA 2048, 3072 or 4096.
        #[arg(long)]
        bits: Option<u32>,
    },
}

#[derive(Subcommand)]
enum DeviceCommand {
    /// Resolve the key conflict of devices: install the system key with the device admin's
    /// password (asked, or read with --secret-stdin), or log in with an uploaded key file.
    ResolveConflict {
        /// Devices (names or ids).
        #[arg(required = true)]
        devices: Vec<String>,
        /// The device admin user.
        #[arg(long)]
        admin_user: String,
        /// Create the admin user through the device's privileged account when it is missing.
        #[arg(long)]
        create_user: bool,
        /// Use this private key file (custom key) instead of the system key.
        #[arg(long)]
        key_file: Option<std::path::PathBuf>,
        /// Read the admin password (or the key's passphrase) from standard input.
        #[arg(long)]
        secret_stdin: bool,
    },
}

#[derive(Subcommand)]
enum AssetCommand {
    /// Create an asset.
    Add {
        /// Name, unique in its domain.
        name: String,
        /// Host name or IP address.
        #[arg(long)]
        address: String,
        /// Port (the platform's default when absent).
        #[arg(long)]
        port: Option<u16>,
        /// Platform: linux, unix, postgresql, mysql, redis, junos.
        #[arg(long)]
        platform: String,
        /// A node path such as /Default/Prod (repeat for several).
        #[arg(long = "node")]
        nodes: Vec<String>,
        /// Domain name (your active domain when absent).
        #[arg(long)]
        domain: Option<String>,
        /// The SSH host key fingerprint (SHA256:...) from a trusted source.
        #[arg(long)]
        fingerprint: Option<String>,
        /// Database TLS: disable or require (loopback addresses only) or verify_full (the
        /// default elsewhere).
        #[arg(long)]
        tls_mode: Option<String>,
        /// A PEM file of the CA certificate(s) the database's certificate must chain to (for
        /// verify_full; the system's roots otherwise).
        #[arg(long)]
        tls_ca_file: Option<PathBuf>,
    },
    /// List assets with connectivity and host key status.
    List {
        /// Only assets in this node or below.
        #[arg(long)]
        node: Option<String>,
        /// Only this platform.
        #[arg(long)]
        platform: Option<String>,
        /// Name or address contains this.
        #[arg(long)]
        search: Option<String>,
    },
    /// Connect to an asset now (pins an SSH host key on first contact).
    Test {
        /// Asset name or id.
        asset: String,
    },
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Create an account; the password is prompted for (or read from standard input).
    Add {
        /// Asset name or id.
        #[arg(long)]
        asset: String,
        /// Login name on the asset.
        username: String,
        /// The account used to change others on its asset.
        #[arg(long)]
        privileged: bool,
        /// An OpenSSH private key file instead of a password.
        #[arg(long)]
        ssh_key_file: Option<PathBuf>,
        /// Read the password from standard input.
        #[arg(long)]
        secret_stdin: bool,
    },
    /// List accounts with their status.
    List {
        /// Only this asset's accounts (name or id).
        #[arg(long)]
        asset: Option<String>,
    },
    /// Log in to the asset with the stored secret and record the outcome.
    Verify {
        /// Asset name or id.
        asset: String,
        /// Login name.
        username: String,
    },
}

#[derive(Subcommand)]
enum TaskCommand {
    /// Create a task; with --specified the new password is prompted for (or read from
    /// standard input), else each account gets a random one.
    Create {
        /// Task name.
        #[arg(long)]
        name: String,
        /// A username whose password changes (repeat for several).
        #[arg(long = "username", required = true)]
        usernames: Vec<String>,
        /// An asset, by name or id (repeat for several).
        #[arg(long = "asset")]
        assets: Vec<String>,
        /// A node path: every asset under it (repeat for several).
        #[arg(long = "node")]
        nodes: Vec<String>,
        /// Use one new password entered now instead of random ones.
        #[arg(long)]
        specified: bool,
        /// Read the specified password from standard input.
        #[arg(long)]
        secret_stdin: bool,
        /// Length of random passwords.
        #[arg(long)]
        length: Option<u32>,
        /// A cron schedule (`minute hour day month weekday`, in the server's time zone).
        #[arg(long)]
        cron: Option<String>,
        /// Run every this many hours.
        #[arg(long)]
        every_hours: Option<u32>,
    },
    /// List tasks with their next run.
    List,
    /// Run a task now; with --wait, wait for the end and exit non-zero unless the run
    /// succeeded (every account changed, or skipped by secure mode).
    Run {
        /// Task name or id.
        task: String,
        /// Wait for the run to end and print its records.
        #[arg(long)]
        wait: bool,
    },
    /// Print an execution's records; exits non-zero unless it succeeded.
    Records {
        /// Execution id.
        execution: String,
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
            config.log.format = match f {
                LogFormatArg::Json => LogFormat::Json,
                LogFormatArg::Text => LogFormat::Text,
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
    // A panic's message may quote a secret: log where it happened, not what it said.
    tumbler_server::middleware::catch_panic::install_redacting_panic_hook();
}

async fn run(cli: Cli) -> Result<ExitCode, commands::CliError> {
    let env: Vec<(String, String)> = std::env::vars().collect();
    let config = load_config(&cli, &env)?;
    if !matches!(
        cli.command,
        Command::CheckConfig
            | Command::Login { .. }
            | Command::User { .. }
            | Command::Asset { .. }
            | Command::Account { .. }
            | Command::Task { .. }
    ) {
        init_logging(&config);
    }
    match cli.command {
        Command::Serve { .. } => commands::serve::run(&config, &env).await,
        Command::Migrate => commands::admin::migrate(&config).await,
        Command::CheckConfig => commands::check_config::run(&config),
        Command::Admin { command } => match command {
            AdminCommand::ResetPassword {
                username,
                reset_totp,
            } => commands::admin::reset_password(&config, &env, &username, reset_totp).await,
            AdminCommand::RotateMasterKey => commands::rotate::run(&config, &env).await,
            AdminCommand::Backup { out } => commands::backup::backup(&config, &out).await,
            AdminCommand::Restore {
                from,
                no_replay,
                journal_key,
            } => commands::backup::restore(&config, &env, &from, !no_replay, &journal_key).await,
            AdminCommand::ReplayJournal {
                journal,
                journal_key,
            } => commands::backup::replay_journal(&config, &env, &journal, &journal_key).await,
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
            UserCommand::Add(user) => commands::client::user_add(&env, user).await,
            UserCommand::List => commands::client::user_list(&env).await,
            UserCommand::Disable { username } => {
                commands::client::user_disable(&env, &username).await
            }
            UserCommand::Unlock { username } => {
                commands::client::user_unlock(&env, &username).await
            }
        },
        Command::Asset { command } => match command {
            AssetCommand::Add {
                name,
                address,
                port,
                platform,
                nodes,
                domain,
                fingerprint,
                tls_mode,
                tls_ca_file,
            } => {
                let asset = commands::inventory::NewAsset {
                    name,
                    address,
                    port,
                    platform,
                    nodes,
                    domain,
                    fingerprint,
                    tls_mode,
                    tls_ca_file,
                };
                commands::inventory::asset_add(&env, asset).await
            }
            AssetCommand::List {
                node,
                platform,
                search,
            } => commands::inventory::asset_list(&env, node, platform, search).await,
            AssetCommand::Test { asset } => commands::inventory::asset_test(&env, &asset).await,
        },
        Command::Account { command } => match command {
            AccountCommand::Add {
                asset,
                username,
                privileged,
                ssh_key_file,
                secret_stdin,
            } => {
                commands::inventory::account_add(
                    &env,
                    &asset,
                    &username,
                    privileged,
                    ssh_key_file.as_deref(),
                    secret_stdin,
                )
                .await
            }
            AccountCommand::List { asset } => commands::inventory::account_list(&env, asset).await,
            AccountCommand::Verify { asset, username } => {
                commands::inventory::account_verify(&env, &asset, &username).await
            }
        },
        Command::Key { command } => match command {
            KeyCommand::Show => commands::keys::show(&env).await,
            KeyCommand::Regenerate { algorithm, bits } => {
                commands::keys::regenerate(&env, algorithm, bits).await
            }
        },
        Command::Device { command } => match command {
            DeviceCommand::ResolveConflict {
                devices,
                admin_user,
                create_user,
                key_file,
                secret_stdin,
            } => {
                commands::keys::resolve_conflict(
                    &env,
                    commands::keys::Resolve {
                        devices,
                        admin_user,
                        create_user,
                        key_file,
                        secret_stdin,
                    },
                )
                .await
            }
        },
        Command::Task { command } => match command {
            TaskCommand::Create {
                name,
                usernames,
                assets,
                nodes,
                specified,
                secret_stdin,
                length,
                cron,
                every_hours,
            } => {
                let task = commands::tasks::NewTask {
                    name,
                    usernames,
                    assets,
                    nodes,
                    specified,
                    secret_stdin,
                    length,
                    cron,
                    every_hours,
                };
                commands::tasks::create(&env, task).await
            }
            TaskCommand::List => commands::tasks::list(&env).await,
            TaskCommand::Run { task, wait } => commands::tasks::run(&env, &task, wait).await,
            TaskCommand::Records { execution } => commands::tasks::records(&env, &execution).await,
        },
        Command::Audit {
            command: AuditCommand::Verify,
        } => commands::admin::audit_verify(&config, &env).await,
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
