//! Executions as people see them: status, trigger, times, counts, retries, log.

use super::{page_limit, require, ChangeSecretError, ChangeSecretService};
use crate::Principal;
use tumbler_domain::ids::{ChangeTaskId, ExecutionId};
use tumbler_domain::permission::Permission;
use tumbler_store::{ExecutionFilter, LogLine};

pub use tumbler_domain::change_views::ExecutionView;

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
        self.executions_matching(
            principal,
            ExecutionFilter {
                task_id,
                limit: page_limit(limit),
                offset: offset.unwrap_or(0).max(0),
                ..ExecutionFilter::default()
            },
        )
        .await
    }

    /// The executions matching `filter` (task, status, trigger, time range and page), newest
    /// first, with how many match in all; only those of the caller's domains (whatever
    /// `filter.domains` holds) and a page no larger than the maximum.
    pub async fn executions_matching(
        &self,
        principal: &Principal,
        mut filter: ExecutionFilter,
    ) -> Result<(Vec<ExecutionView>, i64), ChangeSecretError> {
        require(principal, Permission::AssetsRead)?;
        filter.domains = principal.visible_domains();
        filter.limit = page_limit(Some(filter.limit));
        filter.offset = filter.offset.max(0);
        let (rows, total) = self.store.executions(&filter).await?;
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
