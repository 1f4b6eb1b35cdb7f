//! A run's status and counts once retries are counted: each record's outcome is its latest
//! ended retry's (a retry of a retry counts for the first run); the run's status only gets
//! better, and it says how many records retries completed.

use super::ChangeEngine;
use crate::change_secret::ChangeSecretError;
use crate::change_secret::ExecutionView;
use std::collections::{BTreeMap, BTreeSet};
use tumbler_domain::change_secret::{ExecutionStatus, RecordStatus, Trigger};
use tumbler_domain::ids::{ExecutionId, RecordId};
use tumbler_store::{ExecutionRow, RecordFilter, RecordRow};

/// How retries changed a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(in crate::change_secret) struct RetrySummary {
    /// For a retry: the record it retries.
    pub(in crate::change_secret) retry_of_record_id: Option<RecordId>,
    /// For a retry: that record's execution.
    pub(in crate::change_secret) retry_of_execution_id: Option<ExecutionId>,
    /// How many of the run's records were retried.
    pub(in crate::change_secret) retried: i64,
    /// How many of the run's records that did not succeed were then completed by a retry.
    pub(in crate::change_secret) completed_by_retries: i64,
    /// Records per status once each record's latest ended retry is counted (empty when
    /// nothing was retried: then they are the run's own counts).
    pub(in crate::change_secret) counts_after_retries: BTreeMap<RecordStatus, i64>,
}

/// Status order for recomputing a run after retries (a retry only improves a run).
fn rank(status: ExecutionStatus) -> u8 {
    match status {
        ExecutionStatus::Succeeded => 3,
        ExecutionStatus::Partial => 2,
        _ => 1,
    }
}

impl ChangeEngine {
    /// After a retry ended: recomputes the run its chain began in. Failures are logged.
    pub(in crate::change_secret) async fn after_retry(&self, id: &ExecutionId) {
        let root = match self.store.retry_link(id).await {
            Ok(Some(l)) => l.root_execution_id,
            Ok(None) => return,
            Err(e) => {
                tracing::error!(execution = %id, error = %e, "could not read a retry's link");
                return;
            }
        };
        if let Err(e) = self.recompute_run(&root).await {
            tracing::error!(execution = %root, error = %e, "could not recompute a run after a retry");
        }
    }

    /// The outcome of each of the run's records once its retries are counted: the latest
    /// ended retry's outcome (a retry skipped by a rule changes nothing), else its own.
    async fn effective_statuses(
        &self,
        exec: &ExecutionRow,
    ) -> Result<(Vec<(RecordRow, RecordStatus)>, RetrySummary), ChangeSecretError> {
        let (records, _) = self
            .store
            .records(&RecordFilter {
                domains: vec![exec.domain_id.clone()],
                execution_id: Some(exec.id.clone()),
                limit: i64::MAX,
                ..RecordFilter::default()
            })
            .await?;
        let retries = self.store.retries_of_run(&exec.id).await?;
        let retried: BTreeSet<&RecordId> = retries.iter().map(|r| &r.link.root_record_id).collect();
        let mut summary = RetrySummary {
            retried: retried.len() as i64,
            ..RetrySummary::default()
        };
        let mut out = Vec::with_capacity(records.len());
        for record in records {
            let mut effective = record.status;
            for r in retries
                .iter()
                .filter(|r| r.link.root_record_id == record.id)
            {
                match r.record_status {
                    Some(s)
                        if r.execution_status.is_final()
                            && !matches!(s, RecordStatus::Pending | RecordStatus::Ignored) =>
                    {
                        effective = s
                    }
                    _ => {}
                }
            }
            if record.status != RecordStatus::Success && effective == RecordStatus::Success {
                summary.completed_by_retries += 1;
            }
            *summary.counts_after_retries.entry(effective).or_default() += 1;
            out.push((record, effective));
        }
        Ok((out, summary))
    }

    /// Recomputes an ended run's status from its records' outcomes after retries; a run only
    /// gets better (failed -> partial -> succeeded; interrupted -> succeeded). Logged. Two
    /// retries ending together recompute at once: the status is replaced only if it is still
    /// the one read, and a lost race reads again, so a later, worse result never overwrites a
    /// better one.
    async fn recompute_run(&self, id: &ExecutionId) -> Result<(), ChangeSecretError> {
        const ATTEMPTS: usize = 5;
        for _ in 0..ATTEMPTS {
            if self.try_recompute_run(id).await? {
                return Ok(());
            }
        }
        tracing::warn!(execution = %id, "recomputing a run after retries lost {ATTEMPTS} races in a row");
        Ok(())
    }

    /// One attempt of [`Self::recompute_run`]: `false` when another writer changed the status
    /// after it was read.
    async fn try_recompute_run(&self, id: &ExecutionId) -> Result<bool, ChangeSecretError> {
        let Some(exec) = self.store.execution(id).await? else {
            return Ok(true);
        };
        if !exec.status.is_final() || exec.status == ExecutionStatus::NothingChanged {
            return Ok(true);
        }
        let (records, summary) = self.effective_statuses(&exec).await?;
        let n = |s: RecordStatus| records.iter().filter(|(_, e)| *e == s).count();
        let bad = n(RecordStatus::Failed) + n(RecordStatus::Unverified) + n(RecordStatus::Pending);
        let status = if bad == 0 && n(RecordStatus::Success) > 0 {
            ExecutionStatus::Succeeded
        } else if n(RecordStatus::Success) > 0 && exec.status != ExecutionStatus::Interrupted {
            ExecutionStatus::Partial
        } else {
            exec.status
        };
        if status == exec.status || rank(status) <= rank(exec.status) {
            return Ok(true);
        }
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        if !tx.replace_execution_status(id, exec.status, status).await? {
            return Ok(false);
        }
        tx.append_log_line(
            id,
            now,
            &format!(
                "after retries: {} of its records completed by retries; {} -> {status}",
                summary.completed_by_retries, exec.status
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// What retries did to a run (and, for a retry, what it retries).
    pub(in crate::change_secret) async fn retry_summary(
        &self,
        exec: &ExecutionRow,
    ) -> Result<RetrySummary, ChangeSecretError> {
        if exec.trigger == Trigger::Retry {
            let link = self.store.retry_link(&exec.id).await?;
            return Ok(RetrySummary {
                retry_of_record_id: link.as_ref().map(|l| l.retry_of_record_id.clone()),
                retry_of_execution_id: link.map(|l| l.retry_of_execution_id),
                ..RetrySummary::default()
            });
        }
        if self.store.retries_of_run(&exec.id).await?.is_empty() {
            return Ok(RetrySummary::default());
        }
        Ok(self.effective_statuses(exec).await?.1)
    }
}

impl ChangeEngine {
    /// How people see the execution `row`: its counts, the reason nothing changed, its retries.
    pub(in crate::change_secret) async fn execution_view(
        &self,
        row: ExecutionRow,
    ) -> Result<ExecutionView, ChangeSecretError> {
        let counts = self.store.execution_counts(&row.id).await?;
        let reason = if row.status == ExecutionStatus::NothingChanged {
            super::plan::nothing_changed_reason(&counts)
        } else {
            String::new()
        };
        let retries = self.retry_summary(&row).await?;
        Ok(ExecutionView {
            reason,
            retry_of_record_id: retries.retry_of_record_id,
            retry_of_execution_id: retries.retry_of_execution_id,
            retried: retries.retried,
            completed_by_retries: retries.completed_by_retries,
            counts_after_retries: if retries.counts_after_retries.is_empty() {
                counts.clone()
            } else {
                retries.counts_after_retries
            },
            id: row.id,
            task_id: row.task_id,
            task_name: row.task_name,
            trigger: row.trigger,
            status: row.status,
            created_by: row.created_by,
            created_at: row.created_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
            counts,
        })
    }
}
