//! The run report mailed to a task's recipients when a run ends (manual and scheduled runs;
//! record retries send none): counts, the accounts that did not change with their reasons,
//! and a link to the run. Never a secret: records carry none.

use super::tasks::TaskSpec;
use super::ChangeSecretService;
use crate::{event, RequestOrigin};
use tumbler_domain::audit::Outcome;
use tumbler_domain::change_secret::{ExecutionStatus, RecordStatus};
use tumbler_store::{ExecutionRow, RecordFilter};

/// The most failed accounts a report lists one by one.
const MAX_LISTED: usize = 200;

impl ChangeSecretService {
    /// Mails the report of the ended run `exec` to its task's recipients that have an
    /// address; the outcome is audited. A failure to mail never changes the run.
    pub(super) async fn mail_report(&self, exec: &ExecutionRow, status: ExecutionStatus) {
        let recipients = match self.store.change_task(&exec.task_id).await {
            Ok(Some(task)) => serde_json::from_str::<TaskSpec>(&task.spec)
                .map(|s| s.recipients)
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        if recipients.is_empty() {
            return;
        }
        let sent = async {
            let to = self.mail.addresses(&recipients).await?;
            if to.is_empty() {
                return Ok(0);
            }
            let (subject, body) = self.report_text(exec, status).await?;
            self.mail.send(&to, &subject, body).await?;
            Ok::<usize, crate::MailServiceError>(to.len())
        }
        .await;
        let (outcome, detail) = match &sent {
            Ok(n) => (
                Outcome::Success,
                format!("mailed to {n} of {} recipient(s)", recipients.len()),
            ),
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
                    "change_execution.notify",
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
                    r.username, r.asset_name, r.reason_code, r.reason
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
        body.push_str(&format!(
            "\nThe run: {}/api/v1/change-secret/executions/{}\nIts log: {}/api/v1/change-secret/executions/{}/log\n",
            self.settings.public_url, exec.id, self.settings.public_url, exec.id
        ));
        let subject = format!("Tumbler: password change \"{}\" {status}", exec.task_name);
        Ok((subject, body))
    }
}
