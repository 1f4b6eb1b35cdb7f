//! Small answers: a job or run started, a secret revealed, readiness.

use serde::{Deserialize, Serialize};
use tumbler_domain::ids::{ExecutionId, JobId};

/// A background job was started.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobStarted {
    /// Follow it at `GET /api/v1/jobs/{id}`.
    pub job_id: JobId,
}

/// A run of a task was started.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExecutionStarted {
    /// Follow it at `GET /api/v1/change-secret/executions/{id}`.
    pub execution_id: ExecutionId,
}

/// A revealed secret (never cached).
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevealedSecret {
    /// The secret.
    pub secret: String,
}

/// The secrets of one change record (never cached).
// Fields in name order: the answer has always listed its keys sorted.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevealedRecordSecrets {
    /// The new secret, if one was made.
    pub new_secret: Option<String>,
    /// The secret before the change, if it is still stored.
    pub old_secret: Option<String>,
}

/// The system private key, encrypted with the given passphrase.
// No `Debug` (nor on the other secret answers): a secret must never reach a log.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExportedKey {
    /// OpenSSH private key text.
    pub private_key: String,
}

/// The readiness answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Readiness {
    /// `ready` or `not_ready`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^(ready|not_ready)$"))]
    pub status: String,
}
