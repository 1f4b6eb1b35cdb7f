//! The engine's entry points that the server, the CLI and the tests call through the service
//! (the start, the periodic sweeps, a journal replay); each hands over to the
//! [`ChangeEngine`](super::ChangeEngine).

use super::{ChangeSecretError, ChangeSecretService, DriftReport, DriftScope, RecoveryCounts};
use crate::RequestOrigin;
use std::time::Duration;
use tumbler_domain::ids::ExecutionId;
use tumbler_escrow::JournalScan;

impl ChangeSecretService {
    /// See [`ChangeEngine::recover`](super::ChangeEngine::recover).
    pub async fn recover(&self, at_start: bool) -> Result<usize, ChangeSecretError> {
        self.engine.recover(at_start).await
    }

    /// See [`ChangeEngine::recover_all`](super::ChangeEngine::recover_all).
    pub async fn recover_all(&self, at_start: bool) -> Result<RecoveryCounts, ChangeSecretError> {
        self.engine.recover_all(at_start).await
    }

    /// See [`ChangeEngine::spawn_start_recovery`](super::ChangeEngine::spawn_start_recovery).
    pub fn spawn_start_recovery(&self) -> tokio::task::JoinHandle<()> {
        self.engine.spawn_start_recovery()
    }

    /// See [`ChangeEngine::recovering_at_start`](super::ChangeEngine::recovering_at_start).
    pub fn recovering_at_start(&self) -> bool {
        self.engine.recovering_at_start()
    }

    /// See [`ChangeEngine::run_due_tasks`](super::ChangeEngine::run_due_tasks).
    pub async fn run_due_tasks(&self) -> Result<Vec<ExecutionId>, ChangeSecretError> {
        self.engine.run_due_tasks().await
    }

    /// See [`ChangeEngine::spawn_background`](super::ChangeEngine::spawn_background).
    pub fn spawn_background(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        self.engine.spawn_background(every)
    }

    /// See [`ChangeEngine::drift_tick`](super::ChangeEngine::drift_tick).
    pub fn drift_tick(&self) -> Option<Duration> {
        self.engine.drift_tick()
    }

    /// See [`ChangeEngine::spawn_drift`](super::ChangeEngine::spawn_drift).
    pub fn spawn_drift(&self) -> Option<tokio::task::JoinHandle<()>> {
        self.engine.spawn_drift()
    }

    /// See [`ChangeEngine::run_drift_pass`](super::ChangeEngine::run_drift_pass).
    pub async fn run_drift_pass(
        &self,
        scope: DriftScope,
    ) -> Result<DriftReport, ChangeSecretError> {
        self.engine.run_drift_pass(scope).await
    }

    /// See [`ChangeEngine::replay_journal`](super::ChangeEngine::replay_journal).
    pub async fn replay_journal(
        &self,
        scans: &[JournalScan],
        other_keys: &[tumbler_crypto::MasterKey],
        origin: &RequestOrigin,
    ) -> Result<super::ReplayReport, ChangeSecretError> {
        self.engine.replay_journal(scans, other_keys, origin).await
    }

    /// See [`ChangeEngine::reconcile_accounts`](super::ChangeEngine::reconcile_accounts).
    pub async fn reconcile_accounts(
        &self,
        ids: &[tumbler_domain::ids::AccountId],
        origin: &RequestOrigin,
    ) -> Result<super::ReconcileOutcome, ChangeSecretError> {
        self.engine.reconcile_accounts(ids, origin).await
    }
}
