//! Change-secret tasks, their executions (runs) and records (one account in one run).
//!
//! The shapes are defined once in `tumbler-domain` (the store keeps records in them and the
//! services answer with them) and re-exported here under their API names.

use serde::{Deserialize, Serialize};
use tumbler_domain::change_secret::{PasswordRules, SecretStrategy};
use tumbler_domain::ids::AssetId;
use tumbler_domain::inventory::SecretType;
use tumbler_domain::schedule::Schedule;

pub use tumbler_domain::change_views::{ExecutionView, RecordRow, TaskSpec, TaskView};

/// `POST /api/v1/change-secret/tasks` body, as a client writes it (the OpenAPI schema
/// `TaskInput`; the server reads it into core's task input, which checks it). Absent optional
/// fields take the server's defaults.
// No `Debug`: a specified secret must never reach a log.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskInput {
    /// Name, unique in the domain.
    pub name: String,
    /// Usernames whose secrets change.
    pub usernames: Vec<String>,
    /// Assets by id.
    #[serde(default)]
    pub asset_ids: Vec<AssetId>,
    /// Nodes by path.
    #[serde(default)]
    pub nodes: Vec<String>,
    /// `random` or `specified`.
    pub secret_strategy: SecretStrategy,
    /// `password` (the server's default) or `ssh_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_type: Option<SecretType>,
    /// The new secret, for `specified`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = Password))]
    pub secret: Option<String>,
    /// Rules for `random`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_rules: Option<PasswordRules>,
    /// Schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
}
