//! What the change-secret overview and its bulk actions answer: the dashboard's counts and
//! attention list, what "Retry all failed" and a bulk reconcile started and left alone. One
//! definition each, made by the services and (re-exported by `tumbler-api-types`) read by the
//! API's clients. None holds a secret.

use crate::change_secret::{AttentionKind, NextAction, RecordStatus};
use crate::change_views::ExecutionView;
use crate::failure_code::FailureCode;
use crate::ids::{AccountId, AssetId, DomainId, ExecutionId, RecordId};
use crate::inventory::AccountStatus;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An account the overview asks a person to look at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttentionAccount {
    /// The account.
    pub account_id: AccountId,
    /// Its username.
    pub username: String,
    /// Its asset.
    pub asset_id: AssetId,
    /// The asset's name.
    pub asset_name: String,
    /// The domain.
    pub domain_id: DomainId,
    /// Why it is listed.
    pub kind: AttentionKind,
    /// The account's status now.
    pub account_status: AccountStatus,
    /// A stable code for the reason.
    pub reason_code: String,
    /// The reason, for people (never a secret).
    pub reason: String,
    /// The record of its latest change, when a change is the reason.
    pub record_id: Option<RecordId>,
    /// That record's run.
    pub execution_id: Option<ExecutionId>,
    /// What fits.
    pub next_action: NextAction,
    /// When this last changed.
    pub updated_at: DateTime<Utc>,
}

impl AttentionAccount {
    /// `username@asset_name`, as the console shows the account.
    pub fn who(&self) -> String {
        format!("{}@{}", self.username, self.asset_name)
    }
}

/// The counts the dashboard shows.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Overview {
    /// Tasks in the caller's domains.
    pub tasks: usize,
    /// Enabled tasks with a schedule.
    pub scheduled_tasks: usize,
    /// Accounts per status.
    pub accounts: BTreeMap<AccountStatus, i64>,
    /// The latest executions.
    pub recent_executions: Vec<ExecutionView>,
    /// Accounts whose latest change failed or is unverified, and accounts whose status needs
    /// attention: one entry per account, with the reason and the action that fits.
    pub failed_accounts: Vec<AttentionAccount>,
}

/// One retry started by "Retry all failed".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StartedRetry {
    /// The record retried.
    pub record_id: RecordId,
    /// The retry's own execution.
    pub execution_id: ExecutionId,
}

/// A failed record "Retry all failed" left alone, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SkippedRetry {
    /// The record.
    pub record_id: RecordId,
    /// A stable code (`completed_by_retry`, `retry_running`, `asset_moved`...).
    pub code: String,
    /// Why, for people.
    pub reason: String,
}

/// What "Retry all failed" did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetryFailedOutcome {
    /// The retries started (each a run of its own, going on in the background).
    pub started: Vec<StartedRetry>,
    /// The failed records not retried.
    pub skipped: Vec<SkippedRetry>,
}

/// One reconcile started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StartedReconcile {
    /// The account.
    pub account_id: AccountId,
    /// The reconcile's own execution.
    pub execution_id: ExecutionId,
    /// Its record.
    pub record_id: RecordId,
    /// The record's status when the answer was made (`pending` while it goes on).
    pub status: RecordStatus,
    /// The record's reason code (empty unless it failed).
    #[serde(with = "crate::failure_code::optional")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub reason_code: Option<FailureCode>,
}

/// An account a reconcile left alone, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SkippedReconcile {
    /// The account.
    pub account_id: AccountId,
    /// A stable code: `not_found`, `not_needs_attention`, `account_changing`,
    /// `no_reconcile_account`, `reconcile_account_is_self`, `reconcile_unsupported`.
    pub code: String,
    /// Why, for people (never a secret).
    pub reason: String,
}

/// What a bulk reconcile did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReconcileOutcome {
    /// The reconciles started (each a run of its own).
    pub started: Vec<StartedReconcile>,
    /// The accounts not reconciled.
    pub skipped: Vec<SkippedReconcile>,
}
