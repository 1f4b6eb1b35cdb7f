//! The change engine's tables: tasks, executions with their log, and records; plus the
//! compare-and-set updates of an account's secret versions that make a change write-ahead
//! and one-at-a-time.

mod executions;
mod records;
mod retries;
mod tasks;

pub use executions::{ExecutionFilter, ExecutionRow, LogLine};
pub use records::{RecordFilter, RecordRow};
pub use retries::{RetryLink, RetryOutcome};
pub use tasks::TaskRow;

use crate::{StoreError, Tx};
use chrono::{DateTime, Utc};
use tumbler_domain::clock::to_millis;
use tumbler_domain::ids::AccountId;
use tumbler_domain::inventory::AccountStatus;

/// Where an account's versions end up when a change is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolution {
    /// The version that works now.
    pub current_version: i64,
    /// The version kept before it.
    pub previous_version: Option<i64>,
    /// The version still staged (kept when a change is unverified), or none.
    pub pending_version: Option<i64>,
    /// The account's status.
    pub status: AccountStatus,
    /// Whether the secret changed (sets the last change time).
    pub changed: bool,
    /// Whether a login proved the current version (sets the last verification time).
    pub verified: bool,
}

impl Tx {
    /// Stages `version` as the account's pending secret and marks it `changing`, only if no
    /// other change holds it and its current version is still `expected_current`. Returns
    /// whether this caller now owns the change. The sealed secret is written in the same
    /// transaction by the caller.
    pub async fn stage_account_change(
        &mut self,
        id: &AccountId,
        expected_current: i64,
        version: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE accounts SET pending_version = $1, \
             next_version = CASE WHEN next_version > $2 THEN next_version ELSE $2 END, \
             status = 'changing', \
             status_reason = '', updated_at = $3 \
             WHERE id = $4 AND pending_version IS NULL AND current_version = $5",
        )
        .bind(version)
        .bind(version + 1)
        .bind(to_millis(now))
        .bind(id.as_str())
        .bind(expected_current)
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        Ok(done.rows_affected() == 1)
    }

    /// Resolves a staged change, only if `expected_pending` is still the staged version.
    /// Returns whether it applied.
    pub async fn resolve_account_change(
        &mut self,
        id: &AccountId,
        expected_pending: i64,
        to: &Resolution,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let at = to_millis(now);
        let done = sqlx::query(
            "UPDATE accounts SET current_version = $1, previous_version = $2, \
             pending_version = $3, status = $4, status_reason = $5, \
             last_changed_at = CASE WHEN $6 = 1 THEN $7 ELSE last_changed_at END, \
             last_verified_at = CASE WHEN $8 = 1 THEN $7 ELSE last_verified_at END, \
             updated_at = $7 WHERE id = $9 AND pending_version = $10",
        )
        .bind(to.current_version)
        .bind(to.previous_version)
        .bind(to.pending_version)
        .bind(to.status.as_str())
        .bind(reason)
        .bind(i64::from(to.changed))
        .bind(at)
        .bind(i64::from(to.verified))
        .bind(id.as_str())
        .bind(expected_pending)
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        Ok(done.rows_affected() == 1)
    }

    /// Lays an account's versions out as a journal replay found them after a restore:
    /// `pending` staged (the account `changing`, for recovery to settle by login), `current`
    /// and `previous` as the fallbacks, and the next version past every version the journal
    /// used; only if the account still has the `(current, pending)` versions the replay read.
    /// Returns whether it applied. The sealed secrets are written in the same transaction by
    /// the caller.
    pub async fn roll_forward_account(
        &mut self,
        id: &AccountId,
        expected: (i64, Option<i64>),
        to: &RollForward,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE accounts SET current_version = $1, previous_version = $2, \
             pending_version = $3, \
             next_version = CASE WHEN next_version > $4 THEN next_version ELSE $4 END, \
             status = 'changing', status_reason = $5, updated_at = $6 \
             WHERE id = $7 AND current_version = $8 AND COALESCE(pending_version, -1) = $9",
        )
        .bind(to.current)
        .bind(to.previous)
        .bind(to.pending)
        .bind(to.next_version)
        .bind(reason)
        .bind(to_millis(now))
        .bind(id.as_str())
        .bind(expected.0)
        .bind(expected.1.unwrap_or(-1))
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        Ok(done.rows_affected() == 1)
    }

    /// Makes the account's next version at least `at_least` (so no later change reuses a
    /// version a journal has seen).
    pub async fn raise_next_version(
        &mut self,
        id: &AccountId,
        at_least: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE accounts SET next_version = $1 WHERE id = $2 AND next_version < $1")
            .bind(at_least)
            .bind(id.as_str())
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        Ok(())
    }
}

/// Where a journal replay puts an account's versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollForward {
    /// Tried second (the account's current version).
    pub current: i64,
    /// Tried third.
    pub previous: Option<i64>,
    /// Tried first (staged).
    pub pending: i64,
    /// The next version a change may use, at least.
    pub next_version: i64,
}
