//! The change-secret overview (`GET /api/v1/change-secret/overview`): counts for the
//! dashboard, the latest runs, and the accounts that need a person (the attention list), each
//! with its reason and the action that fits.

use crate::change_secret::ExecutionView;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
pub use tumbler_domain::change_secret::{AttentionKind, NextAction};
use tumbler_domain::ids::{AccountId, AssetId, DomainId, ExecutionId, RecordId};
use tumbler_domain::inventory::AccountStatus;

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
