//! Opening what the server and the admin commands need: the store (migrated), the master
//! key, the vault and the services.

use crate::config::{Config, MasterKeySourceKind};
use crate::metrics::Metrics;
use crate::state::AppState;
use secrecy::SecretString;
use std::sync::Arc;
use tumbler_core::{
    AuditService, AuthService, AuthSettings, CertificateService, ChangeSecretService,
    DeviceKeyError, DeviceKeyService, DomainError, DomainService, EngineSettings, InventoryService,
    MailService, MasterKeyError, MasterKeySource, PolicyService, RoleError, RoleService,
    UserService, Vault, VaultError, WebhookService,
};
use tumbler_domain::Clock;
use tumbler_store::{Store, StoreError};

/// Why the server or a command could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The data directory could not be created.
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The database has not been migrated (and migration was not asked for).
    #[error("the database is at schema version {found}, this build needs {needed}: run `tumbler migrate`")]
    NotMigrated {
        /// Version found.
        found: i64,
        /// Version needed.
        needed: i64,
    },
    /// The master key could not be obtained.
    #[error("master key: {0}")]
    MasterKey(#[from] MasterKeyError),
    /// A required environment variable is missing.
    #[error("environment variable {0} is not set")]
    MissingEnv(&'static str),
    /// The vault could not be opened.
    #[error("vault: {0}")]
    Vault(#[from] VaultError),
    /// The default domain could not be set up.
    #[error("domains: {0}")]
    Domains(#[from] DomainError),
    /// The built-in roles could not be set up.
    #[error("roles: {0}")]
    Roles(#[from] RoleError),
    /// The auth service failed during start-up.
    #[error("auth: {0}")]
    Auth(#[from] tumbler_core::AuthError),
    /// The system key could not be made or read.
    #[error("device keys: {0}")]
    DeviceKeys(#[from] DeviceKeyError),
    /// The audit chain's key could not be read or made.
    #[error("{0}")]
    AuditChain(#[from] tumbler_core::audit_chain::ChainKeyError),
}

/// Every service, opened.
#[derive(Clone)]
pub struct Services {
    /// The store.
    pub store: Store,
    /// The vault.
    pub vault: Vault,
    /// Authentication.
    pub auth: AuthService,
    /// Audit reads.
    pub audit: AuditService,
    /// User management.
    pub users: UserService,
    /// Role management.
    pub roles: RoleService,
    /// Domains.
    pub domains: DomainService,
    /// The password policy.
    pub policy: PolicyService,
    /// Users' client certificates.
    pub certificates: CertificateService,
    /// Nodes, assets and accounts.
    pub inventory: InventoryService,
    /// Change-secret tasks, executions and records.
    pub change_secret: ChangeSecretService,
    /// SMTP settings and outgoing mail.
    pub mail: MailService,
    /// Webhooks.
    pub webhooks: WebhookService,
    /// The system key, device authentication and their jobs.
    pub device_keys: DeviceKeyService,
    /// The metrics (the change engine reports run durations to them; `/metrics` shows them).
    pub metrics: Arc<Metrics>,
    /// The clock the services use; the console reads "now" from it too (expired tokens, the
    /// expiry of a new token), so a test's manual clock governs every page.
    pub clock: Arc<dyn Clock>,
}

/// The limit for connecting and logging in to a target.
const TARGET_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

impl Services {
    /// The HTTP state over these services.
    pub fn app_state(&self, tls: bool) -> AppState {
        AppState {
            services: self.clone(),
            tls,
            streams: Arc::default(),
            console: Arc::default(),
        }
    }
}

/// Connects to the configured store, creating the data directory (mode 0700) for SQLite.
pub async fn open_store(config: &Config) -> Result<Store, StartupError> {
    if config.database.url.is_none() {
        create_private_dir(&config.data_dir)?;
    }
    Ok(Store::connect(&config.database_url()).await?)
}

fn create_private_dir(path: &std::path::Path) -> Result<(), StartupError> {
    use std::os::unix::fs::DirBuilderExt;
    if path.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|source| StartupError::DataDir {
            path: path.display().to_string(),
            source,
        })
}

/// The master key source the configuration names; secrets come from `env`.
pub fn master_key_source(
    config: &Config,
    env: &[(String, String)],
) -> Result<MasterKeySource, StartupError> {
    let var = |name: &'static str| {
        env.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| SecretString::from(v.clone()))
            .ok_or(StartupError::MissingEnv(name))
    };
    Ok(match config.vault.master_key_source {
        MasterKeySourceKind::File => {
            if config.vault.master_key_file.is_none() {
                create_private_dir(&config.data_dir)?;
            }
            MasterKeySource::File {
                path: config.master_key_file(),
                create: true,
            }
        }
        MasterKeySourceKind::Env => MasterKeySource::Hex(var("TUMBLER_MASTER_KEY")?),
        MasterKeySourceKind::Passphrase => {
            MasterKeySource::Passphrase(var("TUMBLER_MASTER_PASSPHRASE")?)
        }
    })
}

/// The auth settings the configuration gives.
pub fn auth_settings(config: &Config) -> AuthSettings {
    let a = &config.auth;
    AuthSettings {
        temp_password_ttl: chrono::Duration::hours(i64::from(a.temporary_password_hours)),
        max_failures_per_source: usize::try_from(a.max_failures_per_source.max(1))
            .unwrap_or(usize::MAX),
        source_window: chrono::Duration::minutes(i64::from(a.source_window_minutes)),
        sensitive_window: chrono::Duration::minutes(i64::from(a.sensitive_window_minutes)),
    }
}

/// Opens the store (migrated already) and, with the master key, the audit chain's state, for
/// verifying the chain without starting the services: writes nothing (no data key, no chain
/// key, no marker, no built-in roles), so verification never keys or re-keys the chain.
pub async fn open_audit_readonly(
    config: &Config,
    master: &MasterKeySource,
    clock: Arc<dyn Clock>,
) -> Result<(Store, AuditService), StartupError> {
    let store = open_store(config).await?;
    let found = store.schema_version().await?;
    let needed = store.latest_schema_version();
    if found != needed {
        return Err(StartupError::NotMigrated { found, needed });
    }
    let data_keys = store.data_keys().await?;
    let state = match data_keys.first() {
        // No vault yet (Vault::open would create one): nothing can be keyed.
        None => tumbler_core::audit_chain::marker_state(&store).await?,
        Some(row) => {
            let key = master.load(&store, Some(&row.master_key_id)).await?;
            let vault = Vault::open(store.clone(), clock.clone(), key).await?;
            tumbler_core::audit_chain::read_chain_state(&store, &vault).await?
        }
    };
    let audit = AuditService::new(store.clone(), state, clock)
        .with_export_max_rows(config.audit.export_max_rows);
    Ok((store, audit))
}

/// Opens the store, applies migrations when `migrate` is set (else requires them applied),
/// loads the master key and opens the vault and services.
pub async fn open_services(
    config: &Config,
    master: &MasterKeySource,
    clock: Arc<dyn Clock>,
    migrate: bool,
) -> Result<Services, StartupError> {
    let store = open_store(config).await?;
    if migrate {
        store.migrate().await?;
    } else {
        let found = store.schema_version().await?;
        let needed = store.latest_schema_version();
        if found != needed {
            return Err(StartupError::NotMigrated { found, needed });
        }
    }
    let store_key_id = store
        .data_keys()
        .await?
        .first()
        .map(|k| k.master_key_id.clone());
    let key = master.load(&store, store_key_id.as_deref()).await?;
    let vault = Vault::open(store.clone(), clock.clone(), key).await?;
    // Before anything else appends: every event from here on is HMAC-linked.
    let chain_key = tumbler_core::audit_chain::ensure_chain_key(&store, &vault, &clock).await?;
    let audit_clock = clock.clone();
    let services_clock = clock.clone();
    let roles = RoleService::new(store.clone(), clock.clone());
    roles.sync_builtin().await?;
    let domains = DomainService::new(store.clone(), clock.clone());
    domains.ensure_default().await?;
    let policy = PolicyService::new(store.clone(), clock.clone());
    let certificates = CertificateService::new(store.clone(), clock.clone());
    let users = UserService::new(store.clone(), clock.clone(), auth_settings(config));
    let auth = AuthService::new(
        store.clone(),
        vault.clone(),
        clock.clone(),
        auth_settings(config),
    );
    let inventory = InventoryService::new(
        store.clone(),
        vault.clone(),
        auth.clone(),
        clock.clone(),
        TARGET_CONNECT_TIMEOUT,
    );
    let mail = MailService::new(store.clone(), vault.clone(), clock.clone());
    let webhooks = WebhookService::new(store.clone(), vault.clone(), clock.clone());
    let settings = engine_settings(config);
    let metrics = Arc::new(Metrics::default());
    let device_keys = DeviceKeyService::new(
        store.clone(),
        vault.clone(),
        clock.clone(),
        auth.clone(),
        TARGET_CONNECT_TIMEOUT,
        settings.account_timeout,
        settings.node_name.clone(),
    );
    let change_secret = ChangeSecretService::new(
        store.clone(),
        vault.clone(),
        auth.clone(),
        mail.clone(),
        webhooks.clone(),
        clock,
        settings,
    )
    .with_escrow(escrow(config, &vault))
    .with_run_observer(crate::metrics::run_observer(&metrics));
    let audit = AuditService::new(store.clone(), chain_key, audit_clock)
        .with_export_max_rows(config.audit.export_max_rows);
    Ok(Services {
        store,
        vault,
        auth,
        audit,
        users,
        roles,
        domains,
        policy,
        certificates,
        inventory,
        change_secret,
        mail,
        webhooks,
        device_keys,
        metrics,
        clock: services_clock,
    })
}

/// The escrow journal the configuration names (nothing is written until the first change).
pub fn escrow(config: &Config, vault: &Vault) -> tumbler_core::Escrow {
    let journal = tumbler_escrow::EscrowJournal::new(journal_settings(config));
    tumbler_core::Escrow::new(
        std::sync::Arc::new(journal),
        vault.clone(),
        config.escrow.keep_days,
    )
}

/// The escrow journal's directories and segment size.
pub fn journal_settings(config: &Config) -> tumbler_escrow::JournalSettings {
    tumbler_escrow::JournalSettings {
        dir: config.journal_dir(),
        copy_dir: config.escrow.copy_dir.clone(),
        segment_max_bytes: u64::from(config.escrow.segment_max_mib) << 20,
    }
}

/// The change engine's settings the configuration gives.
pub fn engine_settings(config: &Config) -> EngineSettings {
    let c = &config.change_secret;
    let node_name = c.node_name.clone().unwrap_or_else(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "tumbler".to_owned())
    });
    EngineSettings {
        node_name,
        secure_mode: c.secure_mode,
        max_parallel_assets: usize::try_from(c.max_parallel_assets).unwrap_or(10),
        connect_timeout: TARGET_CONNECT_TIMEOUT,
        account_timeout: std::time::Duration::from_secs(u64::from(c.account_timeout_seconds)),
        max_attempts: c.max_attempts,
        time_zone: c.time_zone,
        public_url: config.public_url(),
        reconcile_after_restore: config.escrow.reconcile_after_restore,
        drift: tumbler_core::change_secret::DriftSettings {
            interval: std::time::Duration::from_secs(u64::from(config.drift.interval_seconds)),
            concurrency: usize::try_from(config.drift.concurrency).unwrap_or(4),
            auto_reconcile: config.drift.auto_reconcile,
        },
        ..EngineSettings::default()
    }
}
