//! Retries: what "Retry all failed" (`POST /api/v1/change-secret/executions/{id}/retry-failed`)
//! started and left alone. A single record's retry answers with its
//! [`RecordRow`](crate::change_secret::RecordRow).

use serde::{Deserialize, Serialize};
use tumbler_domain::ids::{ExecutionId, RecordId};

/// One retry started by "Retry all failed".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StartedRetry {
    /// The record retried.
    pub record_id: RecordId,
    /// The retry's own execution.
    pub execution_id: ExecutionId,
}

/// A failed record "Retry all failed" left alone, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SkippedRetry {
    /// The record.
    pub record_id: RecordId,
    /// A stable code (`completed_by_retry`, `retry_running`, `asset_moved`...).
    pub code: String,
    /// Why, for people.
    pub reason: String,
}

/// What "Retry all failed" did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetryFailedOutcome {
    /// The retries started (each a run of its own, going on in the background).
    pub started: Vec<StartedRetry>,
    /// The failed records not retried.
    pub skipped: Vec<SkippedRetry>,
}
