//! Reconcile: what a bulk reconcile (`POST /api/v1/accounts/reconcile`) started and left
//! alone. A single account's reconcile answers with its
//! [`RecordRow`](crate::change_secret::RecordRow).

use serde::{Deserialize, Serialize};
use tumbler_domain::change_secret::RecordStatus;
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::ids::{AccountId, ExecutionId, RecordId};

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
    #[serde(with = "tumbler_domain::failure_code::optional")]
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
