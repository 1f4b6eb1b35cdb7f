//! Running one execution: creating it, its heartbeat, its plan run to the end and its final
//! status.

use super::plan::nothing_changed_reason;
use super::ChangeEngine;
use crate::change_secret::ChangeSecretError;
use crate::event;
use crate::RequestOrigin;
use tumbler_domain::audit::AuditAction;
use tumbler_domain::audit::Outcome;
use tumbler_domain::change_secret::{ExecutionStatus, RecordStatus, Trigger};
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::ids::ExecutionId;
use tumbler_store::{ExecutionRow, TaskRow};

impl ChangeEngine {
    /// Creates the execution row (audited) and spawns its run.
    pub(in crate::change_secret) async fn start_execution(
        &self,
        task: &TaskRow,
        trigger: Trigger,
        actor: &str,
        origin: &RequestOrigin,
    ) -> Result<ExecutionId, ChangeSecretError> {
        let now = self.clock.now();
        let row = ExecutionRow {
            id: ExecutionId::generate(),
            task_id: task.id.clone(),
            task_name: task.name.clone(),
            domain_id: task.domain_id.clone(),
            trigger,
            status: ExecutionStatus::Pending,
            owner_node: self.settings.node_name.clone(),
            heartbeat_at: now,
            created_by: actor.to_owned(),
            created_at: now,
            started_at: None,
            finished_at: None,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_execution(&row).await?;
        tx.append_audit(
            &event(
                actor,
                AuditAction::ChangeTaskExecute,
                ("change_execution", row.id.as_str()),
                Outcome::Success,
                origin,
                format!("task {} ({trigger})", task.name),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        let engine = self.clone();
        let id = row.id.clone();
        tokio::spawn(async move {
            if let Err(e) = engine.run_execution(&id).await {
                tracing::error!(execution = %id, error = %e, "change execution failed");
            }
        });
        Ok(row.id)
    }

    /// Runs an execution to its end.
    pub(in crate::change_secret) async fn run_execution(
        &self,
        id: &ExecutionId,
    ) -> Result<(), ChangeSecretError> {
        let exec = self
            .store
            .execution(id)
            .await?
            .ok_or(ChangeSecretError::NotFound(
                tumbler_domain::object::ObjectKind::Execution,
            ))?;
        let started = self.clock.now();
        let mut tx = self.store.begin().await?;
        tx.set_execution_status(id, ExecutionStatus::Running, Some(started), None)
            .await?;
        tx.commit().await?;
        let heartbeat = self.spawn_heartbeat();
        let result = if exec.trigger == Trigger::Retry {
            self.run_retry_plan(&exec).await
        } else if exec.trigger == Trigger::Reconcile {
            self.run_reconcile_plan(&exec).await
        } else {
            self.run_plan(&exec).await
        };
        // Anything still staged (a worker that hit an error or its time limit) is settled by
        // login now, so no account stays `changing` after the run.
        if let Err(e) = self
            .settle_pending_records(&exec, FailureCode::NotFinished)
            .await
        {
            tracing::error!(execution = %id, error = %e, "settling the run's leftover accounts failed");
        }
        heartbeat.abort();
        let status = match &result {
            Ok(()) => self.final_status(id).await?,
            Err(e) => {
                self.log_line(id, &format!("the run stopped: {e}")).await;
                ExecutionStatus::Failed
            }
        };
        if status == ExecutionStatus::NothingChanged {
            let counts = self.store.execution_counts(id).await?;
            self.log_line(id, &nothing_changed_reason(&counts)).await;
        }
        let now = self.clock.now();
        let _serial = self.log_lock.lock().await;
        let mut tx = self.store.begin().await?;
        tx.set_execution_status(id, status, None, Some(now)).await?;
        tx.append_audit(
            &event(
                "engine",
                AuditAction::ChangeExecutionFinish,
                ("change_execution", id.as_str()),
                if status == ExecutionStatus::Succeeded {
                    Outcome::Success
                } else {
                    Outcome::Failure
                },
                &RequestOrigin {
                    source: self.settings.node_name.clone(),
                },
                format!("task {}: {status}", exec.task_name),
            ),
            now,
        )
        .await?;
        // In the same transaction as the status: a reader that sees the run ended sees this.
        tx.append_log_line(id, now, &format!("finished: {status}"))
            .await?;
        tx.commit().await?;
        drop(_serial);
        if let Some(observer) = &self.run_observer {
            observer.execution_finished(status, (now - started).to_std().unwrap_or_default());
        }
        self.mail_report(&exec, status).await;
        self.publish_finished(id).await;
        result
    }

    pub(in crate::change_secret) fn spawn_heartbeat(&self) -> tokio::task::JoinHandle<()> {
        let store = self.store.clone();
        let clock = self.clock.clone();
        let node = self.settings.node_name.clone();
        let every = (self.settings.stale_after / 4).max(std::time::Duration::from_secs(1));
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            loop {
                ticker.tick().await;
                if let Err(e) = store.heartbeat_executions(&node, clock.now()).await {
                    tracing::warn!(error = %e, "execution heartbeat failed");
                }
            }
        })
    }

    /// The status an execution ends with, from its records.
    pub(in crate::change_secret) async fn final_status(
        &self,
        id: &ExecutionId,
    ) -> Result<ExecutionStatus, ChangeSecretError> {
        let counts = self.store.execution_counts(id).await?;
        let n = |s: RecordStatus| counts.get(&s).copied().unwrap_or(0);
        let bad = n(RecordStatus::Failed) + n(RecordStatus::Unverified) + n(RecordStatus::Pending);
        Ok(if bad == 0 && n(RecordStatus::Success) == 0 {
            // A run that changed nothing does not claim success.
            ExecutionStatus::NothingChanged
        } else if bad == 0 {
            ExecutionStatus::Succeeded
        } else if n(RecordStatus::Success) == 0 {
            ExecutionStatus::Failed
        } else {
            ExecutionStatus::Partial
        })
    }
}
