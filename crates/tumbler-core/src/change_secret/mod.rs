//! The change-secret engine: tasks (what to change where, how to make the new secret, when),
//! executions (runs of a task, with a log) and records (one account in one run).
//!
//! A change is write-ahead, per account: stage the new secret sealed and durable (account
//! `changing`), change it on the target, verify by a fresh login, commit (pending -> current,
//! current -> previous). A crash at any point is recovered by logging in with pending, then
//! current, then previous ([`ChangeSecretService::recover`]). One change per account at a
//! time: staging is a compare-and-set on the account row.

mod attention;
mod crash;
mod drift;
mod engine;
mod error;
mod executions;
mod journal_replay;
mod one_account;
mod reconcile;
mod record_actions;
mod records;
mod recovery;
mod report;
mod retry;
mod scheduler;
mod session_order;
mod target;
mod task_copy;
mod tasks;

pub use attention::{AttentionAccount, AttentionKind, NextAction};
#[cfg(feature = "crash-points")]
pub use crash::CrashHold;
pub use drift::{DriftReport, DriftScope, DriftSettings, DRIFT_CODE};
pub use error::ChangeSecretError;
pub use journal_replay::{ReplayReport, REPLAY_OWNER};
pub use reconcile::{ReconcileOutcome, SkippedReconcile, StartedReconcile, MAX_RECONCILE_IDS};
pub use records::{Overview, RecordAction, RecordQuery, RevealedRecord};
pub use recovery::RecoveryCounts;
pub use retry::{RetryFailedOutcome, SkippedRetry, StartedRetry};
pub use tasks::{ExecutionView, TaskInput, TaskPatch, TaskSpec, TaskView};

use crate::{AuthService, MailService, Principal, Vault, WebhookService};
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tumbler_connectors::ssh::SshConnector;
use tumbler_domain::permission::Permission;
use tumbler_domain::schedule::TimeZoneName;
use tumbler_domain::Clock;
use tumbler_store::Store;
use zeroize::Zeroizing;

/// How the engine runs (from the `[change_secret]` configuration).
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// This Tumbler node's name: executions it runs carry it, so a restarted node knows its
    /// own interrupted runs.
    pub node_name: String,
    /// Never change privileged accounts, `root`/`administrator`, or the account used to log
    /// in (on by default).
    pub secure_mode: bool,
    /// How many assets one execution works on at once.
    pub max_parallel_assets: usize,
    /// The limit for connecting to a target.
    pub connect_timeout: Duration,
    /// The limit for changing and verifying one account.
    pub account_timeout: Duration,
    /// How many times a change is tried when the target could not be reached.
    pub max_attempts: u32,
    /// The pause before the first retry (doubled for each further one).
    pub retry_backoff: Duration,
    /// An execution whose node has not said it is alive for this long is taken over.
    pub stale_after: Duration,
    /// The zone cron schedules are read in.
    pub time_zone: TimeZoneName,
    /// The address people reach this server at, for links in run reports (no trailing `/`).
    pub public_url: String,
    /// Drift checks: a periodic verify of every account.
    pub drift: DriftSettings,
    /// Reconcile, once recovery has settled a journal replay's run, every account of it whose
    /// secret no stored version opened.
    pub reconcile_after_restore: bool,
    /// Where a test parks the engine to crash it (tests only).
    #[cfg(feature = "crash-points")]
    pub crash_hold: Option<CrashHold>,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            node_name: "tumbler".to_owned(),
            secure_mode: true,
            max_parallel_assets: 10,
            connect_timeout: Duration::from_secs(15),
            account_timeout: Duration::from_secs(60),
            max_attempts: 3,
            retry_backoff: Duration::from_secs(1),
            stale_after: Duration::from_secs(120),
            time_zone: TimeZoneName::UTC,
            public_url: "http://127.0.0.1:8080".to_owned(),
            reconcile_after_restore: false,
            drift: DriftSettings::default(),
            #[cfg(feature = "crash-points")]
            crash_hold: None,
        }
    }
}

/// Tasks, executions and records.
#[derive(Clone)]
pub struct ChangeSecretService {
    store: Store,
    vault: Vault,
    auth: AuthService,
    /// Sends run reports to a task's recipients.
    mail: MailService,
    /// Posts finished runs to webhooks.
    webhooks: WebhookService,
    clock: Arc<dyn Clock>,
    ssh: SshConnector,
    settings: Arc<EngineSettings>,
    /// Bounds the assets worked on at once across all executions of this node.
    permits: Arc<Semaphore>,
    /// When this process opened the service: its own runs are newer.
    booted_at: chrono::DateTime<chrono::Utc>,
    /// Serialises this node's log writes (line numbers are `MAX + 1`).
    log_lock: Arc<tokio::sync::Mutex<()>>,
    /// One recovery pass at a time on this node (the start's and the sweep's).
    recovery_lock: Arc<tokio::sync::Mutex<()>>,
    /// Whether the recovery at start is under way (readiness waits for it).
    start_recovery_pending: Arc<std::sync::atomic::AtomicBool>,
    /// One drift pass at a time on this node.
    drift_lock: Arc<tokio::sync::Mutex<()>>,
    /// Drift checks that did not conclude, by account: tried again at the next slot.
    drift_attempts: Arc<
        tokio::sync::Mutex<
            std::collections::HashMap<
                tumbler_domain::ids::AccountId,
                chrono::DateTime<chrono::Utc>,
            >,
        >,
    >,
    /// Where new secrets are escrowed before they are sent.
    escrow: crate::Escrow,
    /// The accounts a retry of this node is queued or running for, and the queued retries
    /// a host-wide failure stopped (see `retry`).
    retry_gate: Arc<retry::RetryGate>,
}

impl ChangeSecretService {
    /// A service over `store`, sealing secrets in `vault`, asking `auth` for step-up codes,
    /// mailing run reports through `mail` and posting finished runs to `webhooks`.
    pub fn new(
        store: Store,
        vault: Vault,
        auth: AuthService,
        mail: MailService,
        webhooks: WebhookService,
        clock: Arc<dyn Clock>,
        settings: EngineSettings,
    ) -> Self {
        let ssh = SshConnector::new()
            .with_connect_timeout(settings.connect_timeout)
            .with_command_timeout(settings.account_timeout);
        let permits = Arc::new(Semaphore::new(settings.max_parallel_assets.max(1)));
        let booted_at = clock.now();
        let vault_for_escrow = vault.clone();
        Self {
            store,
            vault,
            auth,
            mail,
            webhooks,
            clock,
            ssh,
            settings: Arc::new(settings),
            permits,
            booted_at,
            log_lock: Arc::new(tokio::sync::Mutex::new(())),
            recovery_lock: Arc::new(tokio::sync::Mutex::new(())),
            start_recovery_pending: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            drift_lock: Arc::new(tokio::sync::Mutex::new(())),
            drift_attempts: Arc::new(tokio::sync::Mutex::new(Default::default())),
            escrow: crate::Escrow::none(vault_for_escrow),
            retry_gate: Arc::default(),
        }
    }

    /// The same service, escrowing every new secret in `escrow`'s journal before it is sent
    /// (a change does not go on when the journal cannot be written).
    pub fn with_escrow(mut self, escrow: crate::Escrow) -> Self {
        self.escrow = escrow;
        self
    }

    /// Where new secrets are escrowed.
    pub fn escrow(&self) -> &crate::Escrow {
        &self.escrow
    }

    /// The engine's settings.
    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    /// A crash point of a change: the SIGKILL of the crash tests, or a test's [`CrashHold`].
    async fn crash_point(&self, point: crash::CrashPoint) {
        crash::crash_point(point);
        #[cfg(feature = "crash-points")]
        if let Some(hold) = &self.settings.crash_hold {
            hold.park(point).await;
        }
    }

    /// Opens one version of an account's secret.
    async fn open_account_secret(
        &self,
        account_id: &str,
        version: i64,
    ) -> Result<SecretString, ChangeSecretError> {
        let bytes = self
            .vault
            .open_secret(
                tumbler_domain::secret_owner::SecretOwner::Account,
                account_id,
                version,
            )
            .await?;
        let text = Zeroizing::new(
            String::from_utf8(bytes.to_vec())
                .map_err(|_| tumbler_store::StoreError::Corrupt("secret not UTF-8".into()))?,
        );
        Ok(SecretString::from(text.as_str()))
    }
}

/// Fails with [`ChangeSecretError::Forbidden`] unless the caller holds `permission`.
fn require(principal: &Principal, permission: Permission) -> Result<(), ChangeSecretError> {
    principal.require(permission)
}

impl crate::auth::Refusal for ChangeSecretError {
    fn forbidden() -> Self {
        Self::Forbidden
    }
}

/// A page size within bounds.
fn page_limit(limit: Option<i64>) -> i64 {
    tumbler_domain::paging::page_limit(limit)
}
