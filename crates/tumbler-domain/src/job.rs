//! Jobs: long operations answered with `202` and a job id (switching a device's
//! authentication, regenerating the system key, resolving key conflicts), their states and
//! each device's outcome. Each state has one name, used on the wire and in the store. Also the
//! job and system-key views the services answer with (the API re-exports them).

use crate::ids::{AssetId, JobId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a job does.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::AsRefStr,
    strum::Display,
    strum::EnumIter,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum JobKind {
    /// Switching devices between password and key-based authentication.
    ModifyAuthentication,
    /// Regenerating the system SSH key and installing it on every key-based device.
    RegenerateKey,
    /// Resolving devices' key conflicts.
    ResolveKeyConflict,
}

/// Where a job stands.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::AsRefStr,
    strum::Display,
    strum::EnumIter,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum JobStatus {
    /// Under way.
    Running,
    /// Every device succeeded (or was skipped).
    Succeeded,
    /// Some devices succeeded, some did not.
    Partial,
    /// No device succeeded.
    Failed,
    /// Stopped by a restart before it ended (it held values only in memory).
    Interrupted,
}

impl JobKind {
    /// What the console calls it.
    pub fn label(self) -> &'static str {
        match self {
            Self::ModifyAuthentication => "Modify authentication",
            Self::RegenerateKey => "Device key regeneration",
            Self::ResolveKeyConflict => "Key conflict resolution",
        }
    }
}

impl JobStatus {
    /// What the console calls it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Running => "Running",
            Self::Succeeded => "Succeeded",
            Self::Partial => "Partly failed",
            Self::Failed => "Failed",
            Self::Interrupted => "Interrupted by a restart",
        }
    }

    /// The status a job ends in, given its devices' outcomes.
    pub fn finished(outcomes: &[DeviceOutcome]) -> Self {
        let ok = outcomes.iter().filter(|o| o.status.is_ok()).count();
        if ok == outcomes.len() {
            Self::Succeeded
        } else if ok == 0 {
            Self::Failed
        } else {
            Self::Partial
        }
    }
}

/// What happened to one device in a job.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::AsRefStr,
    strum::Display,
    strum::EnumIter,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum OutcomeStatus {
    /// Done.
    Succeeded,
    /// Reached, but the work failed.
    Failed,
    /// Not reached.
    Unreachable,
    /// Nothing to do on it.
    Skipped,
}

impl OutcomeStatus {
    /// Whether the device ended as asked (succeeded, or had nothing to do).
    pub fn is_ok(self) -> bool {
        matches!(self, Self::Succeeded | Self::Skipped)
    }
}

/// One device's outcome in a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceOutcome {
    /// The device.
    pub asset_id: AssetId,
    /// Its name.
    pub asset_name: String,
    /// Its domain (a job's page shows each caller only the devices it may see).
    #[serde(default)]
    pub domain_id: String,
    /// What happened on this device.
    pub status: OutcomeStatus,
    /// A stable code for what happened: `ok`, `skipped`, `failed`, `unreachable`, or a
    /// specific failure (`admin_login_failed`: the typed admin password was refused;
    /// `key_login_failed`: the installed key did not log in; `user_not_created`: the admin
    /// user could not be created or given its password; `no_admin_password`).
    #[serde(default)]
    pub code: String,
    /// What happened, for people (never a secret).
    pub message: String,
}

impl DeviceOutcome {
    /// The same outcome with a more specific `code`.
    pub fn with_code(mut self, code: &str) -> Self {
        self.code = code.to_owned();
        self
    }
}

/// The system key as shown (never the private key).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SystemKeyView {
    /// `ed25519`, `ecdsa-p256`...
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = crate::ssh_key::KeyAlgorithm)
    )]
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
    pub kind: JobKind,
    /// Where the job stands.
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

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    fn o(status: OutcomeStatus) -> DeviceOutcome {
        DeviceOutcome {
            asset_id: AssetId::from_string(status.to_string()),
            asset_name: String::new(),
            domain_id: String::new(),
            status,
            code: status.to_string(),
            message: String::new(),
        }
    }

    #[test]
    fn a_job_is_partial_when_some_devices_failed() {
        use OutcomeStatus::*;
        assert_eq!(
            JobStatus::finished(&[o(Succeeded), o(Skipped)]),
            JobStatus::Succeeded
        );
        assert_eq!(
            JobStatus::finished(&[o(Succeeded), o(Unreachable)]),
            JobStatus::Partial
        );
        assert_eq!(JobStatus::finished(&[o(Failed)]), JobStatus::Failed);
        assert_eq!(JobStatus::finished(&[]), JobStatus::Succeeded);
    }

    #[test]
    fn names_are_the_same_on_the_wire_and_in_the_store() {
        for kind in JobKind::iter() {
            let wire = serde_json::to_value(kind).unwrap_or_default();
            assert_eq!(wire.as_str(), Some(kind.as_ref()));
            assert_eq!(kind.as_ref().parse::<JobKind>().ok(), Some(kind));
        }
        for status in JobStatus::iter() {
            let wire = serde_json::to_value(status).unwrap_or_default();
            assert_eq!(wire.as_str(), Some(status.as_ref()));
        }
        for status in OutcomeStatus::iter() {
            let wire = serde_json::to_value(status).unwrap_or_default();
            assert_eq!(wire.as_str(), Some(status.as_ref()));
        }
        assert_eq!(JobKind::ResolveKeyConflict.as_ref(), "resolve_key_conflict");
        assert_eq!(JobStatus::Interrupted.as_ref(), "interrupted");
        assert!("sleeping".parse::<JobStatus>().is_err());
    }
}
