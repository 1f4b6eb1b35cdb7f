//! The shapes of change-secret tasks, executions (runs) and records (one account in one run)
//! as the store keeps them and the services and the JSON API show them: one definition each,
//! used by the store, the services and (re-exported by `tumbler-api-types`) the API's clients.
//! None holds a secret.

use crate::change_secret::{ExecutionStatus, PasswordRules, RecordStatus, SecretStrategy, Trigger};
use crate::custom_ssh::CustomSshTemplate;
use crate::failure_code::FailureCode;
use crate::ids::{AccountId, AssetId, ChangeTaskId, DomainId, ExecutionId, RecordId, UserId};
use crate::inventory::SecretType;
use crate::schedule::Schedule;
use crate::ssh_key::SshKeyOptions;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A task's definition, as stored (never holds a secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskSpec {
    /// Usernames whose secrets change, on every selected asset.
    pub usernames: Vec<String>,
    /// Assets selected by id.
    pub asset_ids: Vec<AssetId>,
    /// Nodes whose assets (and their sub-nodes' assets) are selected, by path.
    pub nodes: Vec<String>,
    /// How the new secret is made.
    pub secret_strategy: SecretStrategy,
    /// What kind of secret changes.
    pub secret_type: SecretType,
    /// Rules for random passwords.
    pub password_rules: PasswordRules,
    /// How new SSH keys are made and installed (for `secret_type: ssh_key`).
    #[serde(default)]
    pub ssh_key: SshKeyOptions,
    /// The task's own custom-SSH template, used on every SSH asset instead of the platform's
    /// method (password changes only).
    #[serde(default)]
    pub custom_ssh: Option<CustomSshTemplate>,
    /// Platform parameters (`become`, `shell`), overriding the privileged account's options.
    pub params: BTreeMap<String, String>,
    /// When it runs by itself.
    pub schedule: Schedule,
    /// Users told when a run ends.
    pub recipients: Vec<UserId>,
}

/// A task as shown to people (never its secret).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskView {
    /// Id.
    pub id: ChangeTaskId,
    /// Name.
    pub name: String,
    /// Domain.
    pub domain_id: DomainId,
    /// Definition.
    #[serde(flatten)]
    pub spec: TaskSpec,
    /// Whether a specified secret is stored.
    pub has_secret: bool,
    /// Whether it may run.
    pub enabled: bool,
    /// The next slot of its schedule.
    pub next_run_at: Option<DateTime<Utc>>,
    /// The next slot as wall-clock time in the server's zone (RFC 3339 with its offset).
    pub next_run_at_local: Option<String>,
    /// The zone cron schedules are read in (`change_secret.time_zone`).
    pub time_zone: String,
    /// Who created it.
    pub created_by: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// An execution as shown to people.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExecutionView {
    /// Id.
    pub id: ExecutionId,
    /// Its task.
    pub task_id: ChangeTaskId,
    /// The task's name when it ran.
    pub task_name: String,
    /// What started it.
    pub trigger: Trigger,
    /// State.
    pub status: ExecutionStatus,
    /// Who started it.
    pub created_by: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Start time.
    pub started_at: Option<DateTime<Utc>>,
    /// End time.
    pub finished_at: Option<DateTime<Utc>>,
    /// Records per status.
    pub counts: BTreeMap<RecordStatus, i64>,
    /// Why it ended as it did, when the status alone does not say (`nothing_changed`).
    pub reason: String,
    /// For a retry (trigger `retry`): the record it retries.
    pub retry_of_record_id: Option<RecordId>,
    /// For a retry: the run of that record.
    pub retry_of_execution_id: Option<ExecutionId>,
    /// How many of its records were retried (retries of retries count for the first run).
    pub retried: i64,
    /// How many of its records that did not succeed were then completed by a retry.
    pub completed_by_retries: i64,
    /// Records per status once retries are counted (each record's latest ended retry's
    /// outcome); the same as `counts` when nothing was retried.
    pub counts_after_retries: BTreeMap<RecordStatus, i64>,
}

/// One record (serialised as the API shows it: no secret is in it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordRow {
    /// Id.
    pub id: RecordId,
    /// The execution it belongs to.
    pub execution_id: ExecutionId,
    /// The account.
    pub account_id: AccountId,
    /// The account's asset.
    pub asset_id: AssetId,
    /// The asset's name at the time.
    pub asset_name: String,
    /// The asset's domain.
    pub domain_id: DomainId,
    /// The account's username.
    pub username: String,
    /// Its state.
    pub status: RecordStatus,
    /// A stable code for why it failed or was skipped (empty on success).
    #[serde(with = "crate::failure_code::optional")]
    #[cfg_attr(
        feature = "openapi",
        schema(schema_with = crate::failure_code::optional::schema, required = true)
    )]
    pub reason_code: Option<FailureCode>,
    /// The reason for people (never a secret).
    pub reason: String,
    /// The account's secret version before the change.
    pub old_version: Option<i64>,
    /// The version staged for the change.
    pub new_version: Option<i64>,
    /// How many times the change was tried.
    pub attempts: i64,
    /// When a login proved the new secret after the run (what adopting needs).
    pub new_secret_verified_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}
