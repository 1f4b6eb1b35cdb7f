//! Starting a retry: the checks a record must pass, then its execution, its link to the
//! record it retries and its (pending) record, audited.

use super::gate::{retry_in_progress, RetryHold};
use crate::change_secret::{found, ChangeSecretError, ChangeSecretService};
use crate::{event, Principal, RequestOrigin};
use tumbler_domain::audit::{AuditAction, Outcome};
use tumbler_domain::change_secret::{ExecutionStatus, RecordStatus, Trigger};
use tumbler_domain::ids::{ExecutionId, RecordId};
use tumbler_domain::object::ObjectKind;
use tumbler_store::{ExecutionRow, RecordRow, RetryLink};

impl ChangeSecretService {
    /// The first run of the chain `exec` is in (itself unless it is a retry).
    pub(super) async fn root_of(
        &self,
        exec: &ExecutionRow,
    ) -> Result<ExecutionId, ChangeSecretError> {
        if exec.trigger != Trigger::Retry {
            return Ok(exec.id.clone());
        }
        Ok(self
            .store
            .retry_link(&exec.id)
            .await?
            .map(|l| l.root_execution_id)
            .unwrap_or_else(|| exec.id.clone()))
    }

    /// Checks that `record` may be retried and writes the retry's execution, its link and its
    /// (pending) record, audited; returns the retry's execution and record ids, and the hold
    /// on the account to keep until the retry's run has ended.
    pub(super) async fn start_retry(
        &self,
        principal: &Principal,
        record: &RecordRow,
        origin: &RequestOrigin,
    ) -> Result<(ExecutionId, RecordId, RetryHold), ChangeSecretError> {
        let state = |why: &str| ChangeSecretError::RecordState(why.to_owned());
        if !record.status.retryable(record.reason_code) {
            return Err(state(if record.status == RecordStatus::Ignored {
                "the record was skipped by a rule (secure mode or secret type); change the rule or the task"
            } else {
                "only a failed, unverified or ignored record is retried"
            }));
        }
        let exec = found(
            self.store.execution(&record.execution_id).await?,
            ObjectKind::Execution,
        )?;
        // A reconcile belongs to no task: retrying one reconciles the account again.
        if exec.trigger == Trigger::Reconcile {
            let account = found(
                self.store.account(&record.account_id).await?,
                ObjectKind::Account,
            )?;
            let hold = self
                .engine
                .retry_gate
                .hold(&account.id)
                .ok_or_else(retry_in_progress)?;
            let (exec_id, record_id) = self
                .engine
                .start_reconcile(&principal.user.username, &account, origin)
                .await?;
            return Ok((exec_id, record_id, hold));
        }
        let Some(task) = self.store.change_task(&exec.task_id).await? else {
            return Err(state("the task of this record no longer exists"));
        };
        if !task.enabled {
            return Err(ChangeSecretError::TaskDisabled);
        }
        let account = found(
            self.store.account(&record.account_id).await?,
            ObjectKind::Account,
        )?;
        let asset = found(self.store.asset(&record.asset_id).await?, ObjectKind::Asset)?;
        if asset.domain_id != exec.domain_id {
            return Err(asset_moved());
        }
        // Checked and taken at once: of two retries of the account asked together, one runs.
        let hold = self
            .engine
            .retry_gate
            .hold(&account.id)
            .ok_or_else(retry_in_progress)?;
        // A retry another node has queued or is running.
        for id in self.store.open_retries_of_account(&account.id).await? {
            if let Some(other) = self.store.execution(&id).await? {
                if self.engine.execution_alive(&other) {
                    return Err(retry_in_progress());
                }
            }
        }
        if self.engine.stage_owner_alive(&account).await? {
            return Err(state("another change of this account is under way"));
        }
        let (root_record, root_exec) = match self.store.retry_link(&exec.id).await? {
            Some(l) if exec.trigger == Trigger::Retry => (l.root_record_id, l.root_execution_id),
            _ => (record.id.clone(), exec.id.clone()),
        };
        let now = self.clock.now();
        let row = ExecutionRow {
            id: ExecutionId::generate(),
            task_id: exec.task_id.clone(),
            task_name: exec.task_name.clone(),
            domain_id: exec.domain_id.clone(),
            trigger: Trigger::Retry,
            status: ExecutionStatus::Pending,
            owner_node: self.settings.node_name.clone(),
            heartbeat_at: now,
            created_by: principal.user.username.clone(),
            created_at: now,
            started_at: None,
            finished_at: None,
        };
        let retry = RecordRow {
            id: RecordId::generate(),
            execution_id: row.id.clone(),
            status: RecordStatus::Pending,
            reason_code: None,
            reason: String::new(),
            old_version: Some(account.current_version),
            new_version: None,
            attempts: 0,
            new_secret_verified_at: None,
            created_at: now,
            updated_at: now,
            ..record.clone()
        };
        let link = RetryLink {
            execution_id: row.id.clone(),
            retry_of_record_id: record.id.clone(),
            retry_of_execution_id: exec.id.clone(),
            root_record_id: root_record,
            root_execution_id: root_exec,
            account_id: account.id.clone(),
            created_at: now,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_execution(&row).await?;
        tx.insert_retry_link(&link).await?;
        tx.insert_record(&retry).await?;
        self.audit_action(&mut tx, principal, record, "retry", origin)
            .await?;
        tx.append_audit(
            &event(
                &principal.user.username,
                AuditAction::ChangeTaskExecute,
                ("change_execution", row.id.as_str()),
                Outcome::Success,
                origin,
                format!(
                    "task {} (retry of record {} of execution {})",
                    exec.task_name, record.id, exec.id
                ),
            ),
            now,
        )
        .await?;
        tx.append_log_line(
            &row.id,
            now,
            &format!(
                "retry of {}@{} (record {} of run {})",
                record.username, record.asset_name, record.id, exec.id
            ),
        )
        .await?;
        tx.commit().await?;
        Ok((row.id, retry.id, hold))
    }
}

pub(super) fn asset_moved() -> ChangeSecretError {
    ChangeSecretError::Conflict(
        "asset_moved",
        "the asset moved to another domain since this run; nothing was sent (change it with a task of its domain)"
            .to_owned(),
    )
}
