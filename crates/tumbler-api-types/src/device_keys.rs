//! The system SSH key and the device-key jobs (regenerate, switch authentication, resolve
//! conflicts).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tumbler_domain::ids::JobId;
use tumbler_domain::job::{DeviceOutcome, JobKind, JobStatus};

/// The system key as shown (never the private key).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SystemKeyView {
    /// `ed25519`, `ecdsa-p256`...
    pub algorithm: String,
    /// The `authorized_keys` line.
    pub public_key: String,
    /// SHA-256 fingerprint.
    pub fingerprint: String,
    /// When it was made.
    pub generated_at: DateTime<Utc>,
    /// The regeneration job under way, if any.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub regeneration_job: Option<JobId>,
}

/// A job as shown.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobView {
    /// Id.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub id: JobId,
    /// What the job does to the devices.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub kind: JobKind,
    /// Where the job stands.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub status: JobStatus,
    /// Who started it.
    pub created_by: String,
    /// Devices in all.
    pub total: i64,
    /// Devices finished.
    pub done: i64,
    /// Each finished device's outcome.
    pub outcomes: Vec<DeviceOutcome>,
    /// Started at.
    pub created_at: DateTime<Utc>,
    /// Last progress.
    pub updated_at: DateTime<Utc>,
}
