//! Webhooks (administrators): where events are posted, and the signing secret shown once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tumbler_domain::ids::WebhookId;

/// `POST /api/v1/webhooks` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WebhookIn {
    /// Where events are posted (http or https).
    pub url: String,
}

/// A webhook as shown (never its secret).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookView {
    /// Id.
    pub id: WebhookId,
    /// Where events are posted.
    pub url: String,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A new webhook and its signing secret (shown once).
// No `Debug`: the secret must never reach a log.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookCreated {
    /// The webhook.
    pub webhook: WebhookView,
    /// The HMAC signing secret.
    pub secret: String,
}
