//! Reconcile: for an account no stored secret opens (a password changed outside Tumbler, a
//! lost journal), the asset's reconcile account (one set on the asset, else its privileged
//! account) sets a new password without knowing or using the old one (Linux: `chpasswd`
//! through its session with sudo or su; databases: `ALTER ROLE`/`ALTER USER` through its
//! connection), verifies it by login and commits it. It is a run of its own (trigger
//! `reconcile`) of that one account, with the same write-ahead staging as any change; the
//! session never depends on the account's own stored secret, so the reconcile account can
//! never be the account itself.

mod account;
mod plan;
mod run;
mod start;

use super::{require, ChangeSecretError, ChangeSecretService};
use crate::{Principal, RequestOrigin};
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::ids::AccountId;
use tumbler_domain::inventory::AccountStatus;
use tumbler_domain::permission::Permission;
use tumbler_store::RecordRow;

/// The most accounts one bulk reconcile names.
pub const MAX_RECONCILE_IDS: usize = 500;
/// The task id reconcile runs carry (they belong to no task).
const RECONCILE_TASK_ID: &str = "reconcile";
/// The task name reconcile runs carry.
const RECONCILE_TASK_NAME: &str = "Reconcile";

pub use tumbler_domain::change_summaries::{ReconcileOutcome, SkippedReconcile, StartedReconcile};

/// Why an account cannot be reconciled: a stable code and a message.
#[derive(Debug, Clone)]
pub(super) struct Refusal {
    pub(super) code: FailureCode,
    pub(super) message: String,
}

impl Refusal {
    fn new(code: FailureCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl From<Refusal> for ChangeSecretError {
    fn from(r: Refusal) -> Self {
        ChangeSecretError::Reconcile {
            code: r.code.as_str(),
            message: r.message,
        }
    }
}

impl ChangeSecretService {
    /// Reconciles one account of the caller's domains as a run of its own and waits for it,
    /// at most `account_timeout x (max_attempts + 2)`; returns the reconcile's record (as it
    /// stands then).
    pub async fn reconcile_account(
        &self,
        principal: &Principal,
        id: &AccountId,
        origin: &RequestOrigin,
    ) -> Result<RecordRow, ChangeSecretError> {
        require(principal, Permission::ChangesRun)?;
        let account = self.visible_account(principal, id).await?;
        let (exec_id, record_id) = self
            .engine
            .start_reconcile(&principal.user.username, &account, origin)
            .await?;
        let me = self.engine.clone();
        let run_id = exec_id.clone();
        let run = tokio::spawn(async move { me.run_reconcile(&run_id).await });
        let limit = self.settings.account_timeout * (self.settings.max_attempts.max(1) + 2);
        if tokio::time::timeout(limit, run).await.is_err() {
            tracing::warn!(execution = %exec_id, "a reconcile is still going after its answer's time limit");
        }
        self.store
            .record(&record_id)
            .await?
            .ok_or(ChangeSecretError::NotFound(
                tumbler_domain::object::ObjectKind::Record,
            ))
    }

    /// Bulk reconcile of accounts in `needs_attention` (others are skipped with a code), in
    /// the background: accounts of one asset one after the other.
    pub async fn reconcile_selected(
        &self,
        principal: &Principal,
        ids: &[AccountId],
        origin: &RequestOrigin,
    ) -> Result<ReconcileOutcome, ChangeSecretError> {
        require(principal, Permission::ChangesRun)?;
        if ids.is_empty() || ids.len() > MAX_RECONCILE_IDS {
            return Err(ChangeSecretError::Invalid(
                tumbler_domain::inventory::InvalidValue {
                    field: "account_ids",
                    reason: format!("name between 1 and {MAX_RECONCILE_IDS} accounts"),
                },
            ));
        }
        let mut skipped = Vec::new();
        let mut accounts = Vec::new();
        for id in dedup(ids) {
            match self.visible_account(principal, &id).await {
                Ok(a) if a.status == AccountStatus::NeedsAttention => accounts.push(a),
                Ok(a) => skipped.push(SkippedReconcile {
                    account_id: id,
                    code: "not_needs_attention".to_owned(),
                    reason: format!(
                        "{}@{} is {}; only accounts in needs_attention are reconciled in bulk",
                        a.username, a.asset_name, a.status
                    ),
                }),
                Err(ChangeSecretError::NotFound(_)) => skipped.push(SkippedReconcile {
                    account_id: id,
                    code: "not_found".to_owned(),
                    reason: "no such account".to_owned(),
                }),
                Err(e) => return Err(e),
            }
        }
        let (started, more) = self
            .engine
            .start_reconciles(&principal.user.username, accounts, origin, false)
            .await?;
        skipped.extend(more);
        Ok(ReconcileOutcome { started, skipped })
    }
}

/// `ids` without repeats, in their order.
pub(super) fn dedup(ids: &[AccountId]) -> Vec<AccountId> {
    let mut seen = std::collections::BTreeSet::new();
    ids.iter()
        .filter(|id| seen.insert((*id).clone()))
        .cloned()
        .collect()
}
