//! The change engine: the running side of change-secret. It runs executions (plan, per
//! asset, the per-account write-ahead sequence), retries and reconciles, recovers interrupted
//! runs and replays the escrow journal, checks drift and fires scheduled tasks.
//!
//! A change is write-ahead, per account: stage the new secret sealed and durable (account
//! `changing`), change it on the target, verify by a fresh login, commit (pending -> current,
//! current -> previous). A crash at any point is recovered by logging in with pending, then
//! current, then previous ([`ChangeEngine::recover`]). One change per account at a time:
//! staging is a compare-and-set on the account row.

mod account_sequence;
pub(in crate::change_secret) mod crash;
pub(in crate::change_secret) mod drift;
pub(in crate::change_secret) mod executions;
pub(in crate::change_secret) mod journal_replay;
pub(in crate::change_secret) mod one_account;
mod outcome;
mod per_asset;
mod plan;
pub(in crate::change_secret) mod recovery;
mod report;
mod run;
mod scheduler;
pub(in crate::change_secret) mod session_order;
pub(in crate::change_secret) mod target;

pub(in crate::change_secret) use outcome::ChangeOutcome;
pub(in crate::change_secret) use plan::{login_account, user_holds, AssetPlan, TemplateGrant};

use super::retry::RetryGate;
use super::{ChangeSecretError, EngineSettings};
use crate::{MailService, Vault, WebhookService};
use secrecy::SecretString;
use std::sync::Arc;
use tokio::sync::Semaphore;
use tumbler_connectors::ssh::SshConnector;
use tumbler_domain::ids::{ChangeTaskId, ExecutionId};
use tumbler_domain::Clock;
use tumbler_store::{Store, StoreError};
use zeroize::Zeroizing;

/// The running side of change-secret (see the module): it takes no caller; the
/// [`ChangeSecretService`](super::ChangeSecretService) checks who may start what, then hands
/// the run to it.
#[derive(Clone)]
pub struct ChangeEngine {
    pub(in crate::change_secret) store: Store,
    pub(in crate::change_secret) vault: Vault,
    /// Sends run reports to a task's recipients.
    pub(in crate::change_secret) mail: MailService,
    /// Posts finished runs to webhooks.
    pub(in crate::change_secret) webhooks: WebhookService,
    pub(in crate::change_secret) clock: Arc<dyn Clock>,
    pub(in crate::change_secret) ssh: SshConnector,
    pub(in crate::change_secret) settings: Arc<EngineSettings>,
    /// Bounds the assets worked on at once across all executions of this node.
    pub(in crate::change_secret) permits: Arc<Semaphore>,
    /// When this process opened the engine: its own runs are newer.
    pub(in crate::change_secret) booted_at: chrono::DateTime<chrono::Utc>,
    /// Serialises this node's log writes (line numbers are `MAX + 1`).
    pub(in crate::change_secret) log_lock: Arc<tokio::sync::Mutex<()>>,
    /// One recovery pass at a time on this node (the start's and the sweep's).
    pub(in crate::change_secret) recovery_lock: Arc<tokio::sync::Mutex<()>>,
    /// Whether the recovery at start is under way (readiness waits for it).
    pub(in crate::change_secret) start_recovery_pending: Arc<std::sync::atomic::AtomicBool>,
    /// One drift pass at a time on this node.
    pub(in crate::change_secret) drift_lock: Arc<tokio::sync::Mutex<()>>,
    /// Drift checks that did not conclude, by account: tried again at the next slot.
    pub(in crate::change_secret) drift_attempts: Arc<
        tokio::sync::Mutex<
            std::collections::HashMap<
                tumbler_domain::ids::AccountId,
                chrono::DateTime<chrono::Utc>,
            >,
        >,
    >,
    /// Where new secrets are escrowed before they are sent.
    pub(in crate::change_secret) escrow: crate::Escrow,
    /// The accounts a retry of this node is queued or running for, and the queued retries
    /// a host-wide failure stopped (see `retry`).
    pub(in crate::change_secret) retry_gate: Arc<RetryGate>,
    /// Told how long each execution ran (the server's metrics), if anyone listens.
    pub(in crate::change_secret) run_observer: Option<Arc<dyn super::RunObserver>>,
}

impl ChangeEngine {
    /// An engine over `store`, sealing secrets in `vault`, mailing run reports through `mail`
    /// and posting finished runs to `webhooks`.
    pub fn new(
        store: Store,
        vault: Vault,
        mail: MailService,
        webhooks: WebhookService,
        clock: Arc<dyn Clock>,
        settings: Arc<EngineSettings>,
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
            mail,
            webhooks,
            clock,
            ssh,
            settings,
            permits,
            booted_at,
            log_lock: Arc::new(tokio::sync::Mutex::new(())),
            recovery_lock: Arc::new(tokio::sync::Mutex::new(())),
            start_recovery_pending: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            drift_lock: Arc::new(tokio::sync::Mutex::new(())),
            drift_attempts: Arc::new(tokio::sync::Mutex::new(Default::default())),
            escrow: crate::Escrow::none(vault_for_escrow),
            retry_gate: Arc::default(),
            run_observer: None,
        }
    }

    /// Where new secrets are escrowed.
    pub fn escrow(&self) -> &crate::Escrow {
        &self.escrow
    }

    /// The engine's settings.
    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    /// A crash point of a change: the SIGKILL of the crash tests, or a test's
    /// [`CrashHold`](super::CrashHold).
    async fn crash_point(&self, point: crash::CrashPoint) {
        crash::crash_point(point);
        #[cfg(feature = "crash-points")]
        if let Some(hold) = &self.settings.crash_hold {
            hold.park(point).await;
        }
    }

    /// Opens one version of an account's secret.
    pub(in crate::change_secret) async fn open_account_secret(
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
                .map_err(|_| StoreError::Corrupt("secret not UTF-8".into()))?,
        );
        Ok(SecretString::from(text.as_str()))
    }

    /// Opens one version of a task's specified secret.
    pub(in crate::change_secret) async fn open_task_secret(
        &self,
        id: &ChangeTaskId,
        version: i64,
    ) -> Result<SecretString, ChangeSecretError> {
        let bytes = self
            .vault
            .open_secret(
                tumbler_domain::secret_owner::SecretOwner::ChangeTask,
                id.as_str(),
                version,
            )
            .await?;
        let text = String::from_utf8(bytes.to_vec())
            .map_err(|_| StoreError::Corrupt("task secret not UTF-8".to_owned()))?;
        Ok(SecretString::from(text))
    }

    /// Appends a line to the execution's log (never a secret). Failures to log are logged.
    pub(in crate::change_secret) async fn log_line(&self, id: &ExecutionId, line: &str) {
        let _serial = self.log_lock.lock().await;
        let write = async {
            let mut tx = self.store.begin().await?;
            tx.append_log_line(id, self.clock.now(), line).await?;
            tx.commit().await
        };
        if let Err(e) = write.await {
            tracing::warn!(execution = %id, error = %e, "could not write an execution log line");
        }
    }
}
