//! Running a retry: its execution to the end, then the run its chain began in is counted
//! again; and the failures that stop the rest of an asset's retry queue.

use crate::change_secret::{ChangeEngine, ChangeSecretError};
use tumbler_domain::change_secret::RecordStatus;
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::ids::ExecutionId;
use tumbler_store::RecordFilter;

/// The failures of the way to root, which fail every account of the host alike: a retry
/// queue stops at the first (each further try would be one more refused password there).
const HOST_WIDE: [FailureCode; 2] = [
    FailureCode::BecomeRefused,
    FailureCode::PrivilegedLoginFailed,
];

impl ChangeEngine {
    /// The code and "not tried" reason for the rest of an asset's retry queue when the retry
    /// `id` failed on the way to root (a failure every account of the host would meet).
    pub(super) async fn host_wide_failure(
        &self,
        id: &ExecutionId,
    ) -> Option<(FailureCode, String)> {
        let found = async {
            let Some(exec) = self.store.execution(id).await? else {
                return Ok(None);
            };
            let (records, _) = self
                .store
                .records(&RecordFilter {
                    domains: vec![exec.domain_id.clone()],
                    execution_id: Some(id.clone()),
                    limit: 1,
                    ..RecordFilter::default()
                })
                .await?;
            Ok::<_, ChangeSecretError>(records.into_iter().next())
        };
        let record = match found.await {
            Ok(r) => r?,
            Err(e) => {
                tracing::error!(execution = %id, error = %e, "could not read a retry's outcome");
                return None;
            }
        };
        let code = record.reason_code?;
        (record.status == RecordStatus::Failed && HOST_WIDE.contains(&code)).then(|| {
            (
                code,
                format!(
                    "not tried: {} (for another account of this host)",
                    record.reason
                ),
            )
        })
    }

    /// Runs a retry execution to its end, then recomputes the run its chain began in.
    pub(super) async fn run_retry(&self, id: &ExecutionId) {
        if let Err(e) = self.run_execution(id).await {
            tracing::error!(execution = %id, error = %e, "a retry failed");
        }
        self.after_retry(id).await;
    }
}
