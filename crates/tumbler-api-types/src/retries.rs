//! Retries: what "Retry all failed" (`POST /api/v1/change-secret/executions/{id}/retry-failed`)
//! started and left alone. A single record's retry answers with its
//! [`RecordRow`](crate::change_secret::RecordRow). Defined once in `tumbler-domain`.

pub use tumbler_domain::change_summaries::{RetryFailedOutcome, SkippedRetry, StartedRetry};
