//! The shapes of small JSON answers built in place, for the OpenAPI document.

use serde::Serialize;

/// A background job was started.
#[derive(Serialize, utoipa::ToSchema)]
pub struct JobStarted {
    /// Follow it at `GET /api/v1/jobs/{id}`.
    pub job_id: String,
}

/// A run of a task was started.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ExecutionStarted {
    /// Follow it at `GET /api/v1/change-secret/executions/{id}`.
    pub execution_id: String,
}

/// A revealed secret (never cached).
#[derive(Serialize, utoipa::ToSchema)]
pub struct RevealedSecret {
    /// The secret.
    pub secret: String,
}

/// The secrets of one change record (never cached).
#[derive(Serialize, utoipa::ToSchema)]
pub struct RevealedRecordSecrets {
    /// The secret before the change, if it is still stored.
    pub old_secret: Option<String>,
    /// The new secret, if one was made.
    pub new_secret: Option<String>,
}

/// The system private key, encrypted with the given passphrase.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ExportedKey {
    /// OpenSSH private key text.
    pub private_key: String,
}

/// A new webhook and its signing secret (shown once).
#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookCreated {
    /// The webhook.
    pub webhook: tumbler_core::webhooks::WebhookView,
    /// The HMAC signing secret.
    pub secret: String,
}
