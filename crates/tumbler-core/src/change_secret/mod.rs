//! Change-secret: tasks (what to change where, how to make the new secret, when),
//! executions (runs of a task, with a log) and records (one account in one run).
//!
//! [`ChangeSecretService`] is what callers use: it checks who may do what and keeps tasks,
//! records, reports and the accounts needing attention; it hands every run (a task's, a
//! retry's, a reconcile's) to the [`ChangeEngine`] (in `engine/`), which runs executions,
//! the per-account write-ahead sequence, recovery, journal replay, drift checks and the
//! schedule.

mod attention;
mod engine;
mod engine_calls;
mod error;
mod execution_views;
mod observer;
mod reconcile;
mod record_actions;
mod records;
mod report_csv;
mod retry;
mod task_copy;
mod tasks;

pub use attention::{AttentionAccount, AttentionKind, NextAction};
#[cfg(feature = "crash-points")]
pub use engine::crash::CrashHold;
pub use engine::drift::{DriftReport, DriftScope, DriftSettings, DRIFT_CODE};
pub use engine::journal_replay::{ReplayReport, REPLAY_OWNER};
pub use engine::recovery::RecoveryCounts;
pub use engine::ChangeEngine;
pub use error::ChangeSecretError;
pub use execution_views::ExecutionView;
pub use observer::RunObserver;
pub use reconcile::{ReconcileOutcome, SkippedReconcile, StartedReconcile, MAX_RECONCILE_IDS};
pub use records::{Overview, RecordAction, RecordQuery, RevealedRecord};
pub use retry::{RetryFailedOutcome, SkippedRetry, StartedRetry};
pub use tasks::{TaskInput, TaskPatch, TaskSpec, TaskView};

use crate::{AuthService, MailService, Principal, Vault, WebhookService};
use std::sync::Arc;
use std::time::Duration;
use tumbler_domain::permission::Permission;
use tumbler_domain::schedule::TimeZoneName;
use tumbler_domain::Clock;
use tumbler_store::Store;

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

/// Tasks, executions and records as callers see them: every method takes the caller and
/// checks what they may do; runs are handed to the [`ChangeEngine`].
#[derive(Clone)]
pub struct ChangeSecretService {
    store: Store,
    vault: Vault,
    auth: AuthService,
    clock: Arc<dyn Clock>,
    settings: Arc<EngineSettings>,
    /// Runs what the service starts.
    engine: ChangeEngine,
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
        let settings = Arc::new(settings);
        let engine = ChangeEngine::new(
            store.clone(),
            vault.clone(),
            mail,
            webhooks,
            clock.clone(),
            settings.clone(),
        );
        Self {
            store,
            vault,
            auth,
            clock,
            settings,
            engine,
        }
    }

    /// The same service, escrowing every new secret in `escrow`'s journal before it is sent
    /// (a change does not go on when the journal cannot be written).
    pub fn with_escrow(mut self, escrow: crate::Escrow) -> Self {
        self.engine.escrow = escrow;
        self
    }

    /// The same service, telling `observer` how long each execution ran when it ends.
    pub fn with_run_observer(mut self, observer: std::sync::Arc<dyn RunObserver>) -> Self {
        self.engine.run_observer = Some(observer);
        self
    }

    /// The engine that runs what this service starts.
    pub fn engine(&self) -> &ChangeEngine {
        &self.engine
    }

    /// Where new secrets are escrowed.
    pub fn escrow(&self) -> &crate::Escrow {
        self.engine.escrow()
    }

    /// The engine's settings.
    pub fn settings(&self) -> &EngineSettings {
        &self.settings
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

/// The row looked up, or [`ChangeSecretError::NotFound`] naming its kind.
fn found<T>(
    row: Option<T>,
    kind: tumbler_domain::object::ObjectKind,
) -> Result<T, ChangeSecretError> {
    row.ok_or(ChangeSecretError::NotFound(kind))
}

/// A page size within bounds.
fn page_limit(limit: Option<i64>) -> i64 {
    tumbler_domain::paging::page_limit(limit)
}
