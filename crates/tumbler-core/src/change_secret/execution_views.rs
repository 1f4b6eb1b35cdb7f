//! Executions as people see them: status, trigger, times, counts, retries, log.

use super::{page_limit, require, ChangeSecretError, ChangeSecretService};
use crate::Principal;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use tumbler_domain::change_secret::{ExecutionStatus, RecordStatus, Trigger};
use tumbler_domain::ids::{ChangeTaskId, ExecutionId, RecordId};
use tumbler_domain::permission::Permission;
use tumbler_store::{ExecutionFilter, LogLine};

/// An execution as shown to people.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExecutionView {
    /// Id.
    pub id: ExecutionId,
    /// Its task.
    pub task_id: ChangeTaskId,
    /// The task's name when it ran.
    pub task_name: String,
    /// What started it.
    pub trigger: Trigger,
    /// State.
    pub status: ExecutionStatus,
    /// Who started it.
    pub created_by: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Start time.
    pub started_at: Option<DateTime<Utc>>,
    /// End time.
    pub finished_at: Option<DateTime<Utc>>,
    /// Records per status.
    pub counts: BTreeMap<RecordStatus, i64>,
    /// Why it ended as it did, when the status alone does not say (`nothing_changed`).
    pub reason: String,
    /// For a retry (trigger `retry`): the record it retries.
    pub retry_of_record_id: Option<RecordId>,
    /// For a retry: the run of that record.
    pub retry_of_execution_id: Option<ExecutionId>,
    /// How many of its records were retried (retries of retries count for the first run).
    pub retried: i64,
    /// How many of its records that did not succeed were then completed by a retry.
    pub completed_by_retries: i64,
    /// Records per status once retries are counted (each record's latest ended retry's
    /// outcome); the same as `counts` when nothing was retried.
    pub counts_after_retries: BTreeMap<RecordStatus, i64>,
}

impl ChangeSecretService {
    /// One execution the caller may see.
    pub async fn execution(
        &self,
        principal: &Principal,
        id: &ExecutionId,
    ) -> Result<ExecutionView, ChangeSecretError> {
        require(principal, Permission::AssetsRead)?;
        let row = self
            .store
            .execution(id)
            .await?
            .filter(|e| principal.visible_domains().contains(&e.domain_id))
            .ok_or(ChangeSecretError::NotFound(
                tumbler_domain::object::ObjectKind::Execution,
            ))?;
        self.engine.execution_view(row).await
    }

    /// Executions the caller may see, newest first, optionally of one task.
    pub async fn executions(
        &self,
        principal: &Principal,
        task_id: Option<ChangeTaskId>,
        limit: Option<i64>,
        offset: Option<i64>,
    ) -> Result<(Vec<ExecutionView>, i64), ChangeSecretError> {
        require(principal, Permission::AssetsRead)?;
        let (rows, total) = self
            .store
            .executions(&ExecutionFilter {
                domains: principal.visible_domains(),
                task_id,
                status: None,
                limit: page_limit(limit),
                offset: offset.unwrap_or(0).max(0),
            })
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(self.engine.execution_view(row).await?);
        }
        Ok((out, total))
    }

    /// The execution's log lines after `after_seq`, and whether the execution has ended
    /// (read before the lines, so a caller that saw it ended has every line).
    pub async fn execution_log(
        &self,
        principal: &Principal,
        id: &ExecutionId,
        after_seq: i64,
    ) -> Result<(Vec<LogLine>, bool), ChangeSecretError> {
        let ended = self.execution(principal, id).await?.status.is_final();
        Ok((self.store.log_lines(id, after_seq).await?, ended))
    }
}
