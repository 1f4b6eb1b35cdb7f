//! The schedule: a task fires once per slot, also across restarts and with several nodes
//! (claiming a slot is a compare-and-set on the task's next run time). After downtime, a task
//! whose slots were missed runs once and its next slot is the first one in the future.

use super::ChangeEngine;
use crate::change_secret::tasks::TaskSpec;
use crate::change_secret::ChangeSecretError;
use crate::RequestOrigin;
use tumbler_domain::change_secret::Trigger;
use tumbler_domain::ids::ExecutionId;
use tumbler_store::StoreError;

impl ChangeEngine {
    /// Starts a run of every enabled task whose slot has come (at the clock's now); returns
    /// the executions started.
    pub async fn run_due_tasks(&self) -> Result<Vec<ExecutionId>, ChangeSecretError> {
        let now = self.clock.now();
        let mut started = Vec::new();
        for task in self.store.due_change_tasks(now).await? {
            let Some(slot) = task.next_run_at else {
                continue;
            };
            let spec: TaskSpec = serde_json::from_str(&task.spec)
                .map_err(|_| StoreError::Corrupt("task definition".to_owned()))?;
            // Anchored like create and update anchor it: when the task was last saved.
            let next = spec
                .schedule
                .next_after(now, task.updated_at, &self.settings.time_zone);
            let mut tx = self.store.begin().await?;
            let claimed = tx.claim_schedule_slot(&task.id, slot, next).await?;
            tx.commit().await?;
            if !claimed {
                // Another node (or an earlier tick) took this slot.
                continue;
            }
            let origin = RequestOrigin {
                source: self.settings.node_name.clone(),
            };
            started.push(
                self.start_execution(&task, Trigger::Schedule, "scheduler", &origin)
                    .await?,
            );
        }
        Ok(started)
    }

    /// Runs the schedule and the recovery sweep (stale runs, stages no live run owns) until
    /// the process ends, every `every`.
    pub fn spawn_background(&self, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let service = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            loop {
                ticker.tick().await;
                if let Err(e) = service.run_due_tasks().await {
                    tracing::error!(error = %e, "scheduled change tasks failed to start");
                }
                match service.recover_all(false).await {
                    Ok(c) if c.interrupted_runs + c.settled_accounts > 0 => tracing::warn!(
                        interrupted_runs = c.interrupted_runs,
                        settled_accounts = c.settled_accounts,
                        "recovery: interrupted runs ended, staged accounts settled"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "recovering stale executions failed"),
                }
                service.escrow.compact_if_due(service.clock.now()).await;
            }
        })
    }
}
