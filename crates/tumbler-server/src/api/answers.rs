//! The shapes of small JSON answers: those the clients read are in `tumbler-api-types`
//! (re-exported here); the webhook answer holds a core type and stays here.

use serde::Serialize;
pub use tumbler_api_types::answers::{
    ExecutionStarted, ExportedKey, JobStarted, RevealedRecordSecrets, RevealedSecret,
};

/// A new webhook and its signing secret (shown once).
#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookCreated {
    /// The webhook.
    pub webhook: tumbler_core::webhooks::WebhookView,
    /// The HMAC signing secret.
    pub secret: String,
}
