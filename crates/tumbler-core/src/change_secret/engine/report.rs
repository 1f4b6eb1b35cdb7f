//! The report of a run, never with a secret (records carry none): the mail a task's
//! recipients get when a run ends (manual and scheduled runs; record retries send none) with
//! counts, the accounts that did not change with their reasons and a link to the run; and the
//! finished run posted to webhooks.

use super::ChangeEngine;
use crate::change_secret::tasks::TaskSpec;
use crate::{event, RequestOrigin};
use tumbler_domain::audit::AuditAction;
use tumbler_domain::audit::Outcome;
use tumbler_domain::change_secret::{ExecutionStatus, RecordStatus};
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::ids::ExecutionId;
use tumbler_store::{ExecutionRow, RecordFilter};

/// The most failed accounts a report lists one by one.
const MAX_LISTED: usize = 200;

impl ChangeEngine {
    /// Mails the report of the ended run `exec` to its task's recipients that have an
    /// address; the outcome is audited. A failure to mail never changes the run.
    pub(in crate::change_secret) async fn mail_report(
        &self,
        exec: &ExecutionRow,
        status: ExecutionStatus,
    ) {
        // A retry of one record is a person's own action: no report goes out (webhooks do).
        if exec.trigger == tumbler_domain::change_secret::Trigger::Retry {
            return;
        }
        let recipients = match self.store.change_task(&exec.task_id).await {
            Ok(Some(task)) => serde_json::from_str::<TaskSpec>(&task.spec)
                .map(|s| s.recipients)
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        if recipients.is_empty() {
            return;
        }
        // One message per recipient: nobody sees the others' addresses, and one address the
        // server refuses does not stop the rest.
        let sent = async {
            let to = self.mail.addresses_in(&recipients, &exec.domain_id).await?;
            let (subject, body) = self.report_text(exec, status).await?;
            let mut failed = Vec::new();
            for address in &to {
                if let Err(e) = self
                    .mail
                    .send(std::slice::from_ref(address), &subject, body.clone())
                    .await
                {
                    failed.push(e.code());
                }
            }
            Ok::<(usize, Vec<&'static str>), crate::MailServiceError>((to.len(), failed))
        }
        .await;
        let (outcome, detail) = match &sent {
            Ok((n, failed)) if failed.is_empty() => (
                Outcome::Success,
                format!("mailed to {n} of {} recipient(s)", recipients.len()),
            ),
            Ok((n, failed)) => {
                tracing::warn!(execution = %exec.id, "the run report did not reach every recipient");
                (
                    Outcome::Failure,
                    format!(
                        "mailed to {} of {n} address(es); failed: {}",
                        n - failed.len(),
                        failed.join(", ")
                    ),
                )
            }
            Err(e) => {
                tracing::warn!(execution = %exec.id, error = %e, "the run report was not mailed");
                (Outcome::Failure, format!("not mailed: {}", e.code()))
            }
        };
        let audit = async {
            let mut tx = self.store.begin().await?;
            tx.append_audit(
                &event(
                    "engine",
                    AuditAction::ChangeExecutionNotify,
                    ("change_execution", exec.id.as_str()),
                    outcome,
                    &RequestOrigin {
                        source: self.settings.node_name.clone(),
                    },
                    detail,
                ),
                self.clock.now(),
            )
            .await?;
            tx.commit().await
        };
        if let Err(e) = audit.await {
            tracing::error!(execution = %exec.id, error = %e, "could not audit the run report");
        }
    }

    /// Posts `change_execution.finished` with the run (status, trigger, times, counts) and a
    /// link to it to every webhook, in the background.
    pub(in crate::change_secret) async fn publish_finished(&self, id: &ExecutionId) {
        let view = match self.store.execution(id).await {
            Ok(Some(row)) => self.execution_view(row).await,
            Ok(None) => return,
            Err(e) => Err(e.into()),
        };
        let view = match view {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(execution = %id, error = %e, "could not read a finished run for webhooks");
                return;
            }
        };
        let body = serde_json::json!({
            "event": "change_execution.finished",
            "execution": view,
            "url": format!("{}/change-secret/executions/{id}", self.settings.public_url),
        });
        let origin = RequestOrigin {
            source: self.settings.node_name.clone(),
        };
        self.webhooks
            .publish(
                "change_execution.finished",
                body.to_string().into_bytes(),
                origin,
            )
            .await;
    }

    /// The report's subject and body.
    async fn report_text(
        &self,
        exec: &ExecutionRow,
        status: ExecutionStatus,
    ) -> Result<(String, String), crate::MailServiceError> {
        let counts = self.store.execution_counts(&exec.id).await?;
        let n = |s: RecordStatus| counts.get(&s).copied().unwrap_or(0);
        let mut body = format!(
            "Task: {}\nRun: {} ({} run)\nStatus: {status}\n\n\
             Changed and verified: {}\nFailed: {}\nUnverified: {}\nSkipped or ignored: {}\nNot finished: {}\n",
            exec.task_name,
            exec.id,
            exec.trigger,
            n(RecordStatus::Success),
            n(RecordStatus::Failed),
            n(RecordStatus::Unverified),
            n(RecordStatus::Ignored),
            n(RecordStatus::Pending),
        );
        let mut listed = 0;
        for bad in [RecordStatus::Failed, RecordStatus::Unverified] {
            let (records, total) = self
                .store
                .records(&RecordFilter {
                    domains: vec![exec.domain_id.clone()],
                    execution_id: Some(exec.id.clone()),
                    status: Some(bad),
                    limit: i64::try_from(MAX_LISTED).unwrap_or(i64::MAX),
                    ..RecordFilter::default()
                })
                .await?;
            if records.is_empty() {
                continue;
            }
            body.push_str(&format!("\n{bad} accounts ({total}):\n"));
            for r in &records {
                body.push_str(&format!(
                    "- {}@{}: {}: {}\n",
                    r.username,
                    r.asset_name,
                    FailureCode::stored(r.reason_code),
                    r.reason
                ));
            }
            listed += records.len();
            if usize::try_from(total).unwrap_or(0) > records.len() {
                body.push_str("- ... (see the run for the rest)\n");
            }
        }
        if listed > 0 {
            body.push_str("\nRetry or settle them from the run's records.\n");
        }
        let base = &self.settings.public_url;
        let id = &exec.id;
        body.push_str(&format!(
            "\nThe run, its live log and its records: {base}/change-secret/executions/{id}\n\
             Its report (CSV): {base}/api/v1/change-secret/executions/{id}/report\n"
        ));
        let subject = format!("Tumbler: password change \"{}\" {status}", exec.task_name);
        Ok((subject, body))
    }
}
