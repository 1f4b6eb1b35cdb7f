//! A run's records as a CSV file, never with a secret (records carry none).

use super::{ChangeSecretError, ChangeSecretService};
use crate::csv_cells::InertCsvWriter;
use crate::{event, Principal, RequestOrigin};
use tumbler_domain::audit::AuditAction;
use tumbler_domain::audit::Outcome;
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::ids::ExecutionId;
use tumbler_store::{RecordFilter, StoreError};

/// The columns of the CSV report.
const CSV_HEADER: [&str; 11] = [
    "asset",
    "username",
    "status",
    "reason_code",
    "reason",
    "attempts",
    "old_version",
    "new_version",
    "new_secret_verified_at",
    "created_at",
    "updated_at",
];

impl ChangeSecretService {
    /// Every record of a run the caller may see, as CSV (audited): asset, username, status,
    /// reason, attempts, versions and times; never a secret.
    pub async fn execution_report_csv(
        &self,
        principal: &Principal,
        id: &ExecutionId,
        origin: &RequestOrigin,
    ) -> Result<String, ChangeSecretError> {
        // Checks the permission and that the run is in the caller's domains.
        self.execution(principal, id).await?;
        let (records, _) = self
            .store
            .records(&RecordFilter {
                domains: principal.visible_domains(),
                execution_id: Some(id.clone()),
                limit: i64::MAX,
                ..RecordFilter::default()
            })
            .await?;
        let corrupt = |_| StoreError::Corrupt("CSV writing failed".to_owned());
        let mut writer = InertCsvWriter::new();
        writer.row(CSV_HEADER).map_err(corrupt)?;
        let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
            t.map(|t| t.to_rfc3339()).unwrap_or_default()
        };
        let version = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        for r in &records {
            writer
                .row([
                    r.asset_name.clone(),
                    r.username.clone(),
                    r.status.to_string(),
                    FailureCode::stored(r.reason_code).to_owned(),
                    r.reason.clone(),
                    r.attempts.to_string(),
                    version(r.old_version),
                    version(r.new_version),
                    time(r.new_secret_verified_at),
                    time(Some(r.created_at)),
                    time(Some(r.updated_at)),
                ])
                .map_err(corrupt)?;
        }
        let text = writer.finish().map_err(corrupt)?;
        let mut tx = self.store.begin().await?;
        tx.append_audit(
            &event(
                &principal.user.username,
                AuditAction::ChangeExecutionReport,
                ("change_execution", id.as_str()),
                Outcome::Success,
                origin,
                format!("{} record(s) as CSV", records.len()),
            ),
            self.clock.now(),
        )
        .await?;
        tx.commit().await?;
        Ok(text.to_string())
    }
}
