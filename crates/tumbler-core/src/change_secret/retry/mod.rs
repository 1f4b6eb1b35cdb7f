//! Retries: retrying any failed record (unreachable, host key not verified, privileged login
//! failed included) starts a run of its own, trigger `retry`, of that one account, linked to
//! the record it retries. The retry re-uses the new secret staged for the account when that
//! record's stage is still pending and the account is as it was, else it makes a fresh one;
//! a stage nobody owns any more is settled by login first. When a retry ends, the run its
//! chain began in is recomputed (a run whose failures were all fixed by retries succeeds).
//!
//! A retry runs only where the run's task and domain still cover the account (an asset moved
//! to another domain is refused `asset_moved`), holds a permit of the node as a run's asset
//! does, and is alone on its account (a second is refused `retry_in_progress` while one is
//! queued or running). "Retry all failed" stops an asset's queue at the first failure of the
//! way to root (`become_refused`, `privileged_login_failed`): the rest are "not tried", so one
//! click types a wrong sudo password once, not once per account.

mod gate;
mod plan;
mod run;
mod start;

pub(super) use gate::RetryGate;

use super::{require, ChangeSecretError, ChangeSecretService};
use crate::{Principal, RequestOrigin};
use gate::RetryHold;
use std::collections::BTreeMap;
use tumbler_domain::change_secret::RecordStatus;
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::ids::{AssetId, ExecutionId, RecordId};
use tumbler_domain::permission::Permission;
use tumbler_store::{RecordFilter, RecordRow};

pub use tumbler_domain::change_summaries::{RetryFailedOutcome, SkippedRetry, StartedRetry};

/// A retry waiting for its turn on its asset: (privileged, root) orders it (those others are
/// changed through go last), then its execution and the hold on its account.
type Queued = ((bool, bool), ExecutionId, RetryHold);

impl ChangeSecretService {
    /// Retries one failed (or unverified, or ignored) record as a run of its own and waits
    /// for it, at most `account_timeout x (max_attempts + 2)`; returns the retry's record
    /// (as it stands then: the run goes on if it is not done).
    pub async fn retry_record(
        &self,
        principal: &Principal,
        id: &RecordId,
        origin: &RequestOrigin,
    ) -> Result<RecordRow, ChangeSecretError> {
        require(principal, Permission::ChangesRun)?;
        let record = self.visible_record(principal, id).await?;
        let (exec_id, record_id, hold) = self.start_retry(principal, &record, origin).await?;
        let me = self.engine.clone();
        let run_id = exec_id.clone();
        let run = tokio::spawn(async move {
            me.run_retry(&run_id).await;
            drop(hold);
        });
        let limit = self.settings.account_timeout * (self.settings.max_attempts.max(1) + 2);
        if tokio::time::timeout(limit, run).await.is_err() {
            tracing::warn!(execution = %exec_id, "a retry is still going after its answer's time limit");
        }
        self.store
            .record(&record_id)
            .await?
            .ok_or(ChangeSecretError::NotFound(
                tumbler_domain::object::ObjectKind::Record,
            ))
    }

    /// "Retry all failed": each failed or unverified record of the ended run `id` that no
    /// retry completed and none is retrying is retried as its own run, without waiting
    /// (accounts of one asset one after the other, those others are changed through last).
    pub async fn retry_failed(
        &self,
        principal: &Principal,
        id: &ExecutionId,
        origin: &RequestOrigin,
    ) -> Result<RetryFailedOutcome, ChangeSecretError> {
        require(principal, Permission::ChangesRun)?;
        let exec = self.execution(principal, id).await?;
        if !exec.status.is_final() {
            return Err(ChangeSecretError::RecordState(
                "the run is still going; retry its failures when it has ended".to_owned(),
            ));
        }
        let (records, _) = self
            .store
            .records(&RecordFilter {
                domains: principal.visible_domains(),
                execution_id: Some(id.clone()),
                limit: i64::MAX,
                ..RecordFilter::default()
            })
            .await?;
        let row = self
            .store
            .execution(id)
            .await?
            .ok_or(ChangeSecretError::NotFound(
                tumbler_domain::object::ObjectKind::Execution,
            ))?;
        let root = self.root_of(&row).await?;
        let retries = self.store.retries_of_run(&root).await?;
        let mut started = Vec::new();
        let mut skipped = Vec::new();
        let mut queues: BTreeMap<AssetId, Vec<Queued>> = BTreeMap::new();
        for record in records
            .into_iter()
            .filter(|r| matches!(r.status, RecordStatus::Failed | RecordStatus::Unverified))
        {
            // The asset's domain now, not when the run was planned: an asset moved out of the
            // caller's domains is not theirs to change any more.
            let record = match self.visible_record(principal, &record.id).await {
                Ok(r) => r,
                Err(ChangeSecretError::NotFound(_)) => {
                    skipped.push(SkippedRetry {
                        record_id: record.id.clone(),
                        code: "asset_moved".to_owned(),
                        reason: "the account's asset moved out of your domains; nothing was sent"
                            .to_owned(),
                    });
                    continue;
                }
                Err(e) => return Err(e),
            };
            let chain: Vec<_> = retries
                .iter()
                .filter(|r| {
                    r.link.retry_of_record_id == record.id || r.link.root_record_id == record.id
                })
                .collect();
            let skip = |code: &str, reason: String| SkippedRetry {
                record_id: record.id.clone(),
                code: code.to_owned(),
                reason,
            };
            if chain.iter().any(|r| !r.execution_status.is_final()) {
                skipped.push(skip(
                    "retry_running",
                    "a retry of it is under way".to_owned(),
                ));
                continue;
            }
            if chain
                .last()
                .is_some_and(|r| r.record_status == Some(RecordStatus::Success))
            {
                skipped.push(skip(
                    "completed_by_retry",
                    "a retry already changed it".to_owned(),
                ));
                continue;
            }
            match self.start_retry(principal, &record, origin).await {
                Ok((exec_id, _, hold)) => {
                    let account = self.store.account(&record.account_id).await?;
                    let order = account
                        .map(|a| (a.privileged, a.username == "root"))
                        .unwrap_or_default();
                    queues.entry(record.asset_id.clone()).or_default().push((
                        order,
                        exec_id.clone(),
                        hold,
                    ));
                    started.push(StartedRetry {
                        record_id: record.id.clone(),
                        execution_id: exec_id,
                    });
                }
                Err(e) => skipped.push(skip(e.code(), e.to_string())),
            }
        }
        for (_, mut queue) in queues {
            queue.sort_by_key(|(order, _, _)| *order);
            let me = self.engine.clone();
            tokio::spawn(async move {
                let mut stopped: Option<(FailureCode, String)> = None;
                for (_, exec_id, hold) in queue {
                    if let Some((code, reason)) = &stopped {
                        me.retry_gate.halt(&exec_id, *code, reason.clone());
                    }
                    me.run_retry(&exec_id).await;
                    drop(hold);
                    if stopped.is_none() {
                        stopped = me.host_wide_failure(&exec_id).await;
                    }
                }
            });
        }
        Ok(RetryFailedOutcome { started, skipped })
    }
}
