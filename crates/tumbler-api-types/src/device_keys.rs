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

/// A regeneration request: `algorithm` is `ed25519`, `ecdsa` or `rsa` with `bits` (ECDSA 256 or
/// 384, RSA 2048, 3072 or 4096), or a full name such as `ecdsa-p384`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RegenerateIn {
    /// The algorithm (default `ed25519`).
    #[serde(default)]
    pub algorithm: Option<String>,
    /// Key size for ECDSA and RSA.
    #[serde(default)]
    pub bits: Option<u32>,
}
