//! Retries: a retry of a failed record is an execution of its own (trigger `retry`) of that
//! one account, linked here to the record it retries and to the first run of the chain; and
//! the accounts left staged, whatever staged them, for recovery's sweep.

use crate::{col, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use tumbler_domain::change_secret::{ExecutionStatus, RecordStatus};
use tumbler_domain::clock::{from_millis, to_millis};
use tumbler_domain::ids::{AccountId, ExecutionId, RecordId};

use super::super::inventory::parse_state;

/// The link of a retry execution to what it retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryLink {
    /// The retry's own execution.
    pub execution_id: ExecutionId,
    /// The record it retries.
    pub retry_of_record_id: RecordId,
    /// The execution of that record.
    pub retry_of_execution_id: ExecutionId,
    /// The first record of the chain (the record itself unless it was a retry's).
    pub root_record_id: RecordId,
    /// The first run of the chain, whose status and counts the retry may complete.
    pub root_execution_id: ExecutionId,
    /// The account.
    pub account_id: AccountId,
    /// When the retry was asked for.
    pub created_at: DateTime<Utc>,
}

/// One retry of a run's record, with where the retry stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryOutcome {
    /// The link.
    pub link: RetryLink,
    /// The retry execution's status.
    pub execution_status: ExecutionStatus,
    /// The retry's record status (none before the retry wrote its record).
    pub record_status: Option<RecordStatus>,
}

const COLUMNS: &str = "l.execution_id, l.retry_of_record_id, l.retry_of_execution_id, \
    l.root_record_id, l.root_execution_id, l.account_id, l.created_at";

fn link_from_row(row: &AnyRow) -> Result<RetryLink, StoreError> {
    Ok(RetryLink {
        execution_id: ExecutionId::from_string(col::<String>(row, "execution_id")?),
        retry_of_record_id: RecordId::from_string(col::<String>(row, "retry_of_record_id")?),
        retry_of_execution_id: ExecutionId::from_string(col::<String>(
            row,
            "retry_of_execution_id",
        )?),
        root_record_id: RecordId::from_string(col::<String>(row, "root_record_id")?),
        root_execution_id: ExecutionId::from_string(col::<String>(row, "root_execution_id")?),
        account_id: AccountId::from_string(col::<String>(row, "account_id")?),
        created_at: from_millis(col(row, "created_at")?),
    })
}

impl Store {
    /// The link of a retry execution (none for other executions).
    pub async fn retry_link(&self, id: &ExecutionId) -> Result<Option<RetryLink>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM change_retries l WHERE l.execution_id = $1");
        let row = sqlx::query(&sql)
            .bind(id.as_str())
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::query)?;
        row.as_ref().map(link_from_row).transpose()
    }

    /// Every retry whose chain began in `root` (retries of its records, and of their
    /// retries), oldest first, with where each stands.
    pub async fn retries_of_run(
        &self,
        root: &ExecutionId,
    ) -> Result<Vec<RetryOutcome>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS}, e.status AS execution_status, \
             (SELECT r.status FROM change_records r WHERE r.execution_id = l.execution_id \
              ORDER BY r.created_at LIMIT 1) AS record_status \
             FROM change_retries l JOIN change_executions e ON e.id = l.execution_id \
             WHERE l.root_execution_id = $1 ORDER BY l.created_at, l.execution_id"
        );
        let rows = sqlx::query(&sql)
            .bind(root.as_str())
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::query)?;
        rows.iter()
            .map(|row| {
                Ok(RetryOutcome {
                    link: link_from_row(row)?,
                    execution_status: parse_state(
                        &col::<String>(row, "execution_status")?,
                        ExecutionStatus::parse,
                        "execution status",
                    )?,
                    record_status: col::<Option<String>>(row, "record_status")?
                        .map(|s| parse_state(&s, RecordStatus::parse, "record status"))
                        .transpose()?,
                })
            })
            .collect()
    }

    /// The retry executions of `account` not ended yet (queued or running, on any node).
    pub async fn open_retries_of_account(
        &self,
        account: &AccountId,
    ) -> Result<Vec<ExecutionId>, StoreError> {
        let rows = sqlx::query(
            "SELECT l.execution_id FROM change_retries l \
             JOIN change_executions e ON e.id = l.execution_id \
             WHERE l.account_id = $1 AND e.status IN ('pending', 'running') \
             ORDER BY l.execution_id",
        )
        .bind(account.as_str())
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::query)?;
        rows.iter()
            .map(|row| {
                Ok(ExecutionId::from_string(col::<String>(
                    row,
                    "execution_id",
                )?))
            })
            .collect()
    }

    /// The ids of every account with a staged (pending) secret, whatever staged it.
    pub async fn staged_account_ids(&self) -> Result<Vec<AccountId>, StoreError> {
        let rows =
            sqlx::query("SELECT id FROM accounts WHERE pending_version IS NOT NULL ORDER BY id")
                .fetch_all(self.pool())
                .await
                .map_err(StoreError::query)?;
        rows.iter()
            .map(|row| Ok(AccountId::from_string(col::<String>(row, "id")?)))
            .collect()
    }

    /// Records that are their account's latest outcome (the newest record of the account in
    /// a run that has ended, rules' skips aside) and whose status is one of `statuses`, of an
    /// asset in `domains` now (not the domain it was in at the run), most recently updated
    /// first.
    pub async fn latest_outcomes(
        &self,
        domains: &[tumbler_domain::ids::DomainId],
        statuses: &[RecordStatus],
        limit: i64,
    ) -> Result<Vec<super::RecordRow>, StoreError> {
        let mut c = crate::conditions::Conditions::default();
        c.push_in("s.domain_id", domains.iter().map(|d| d.to_string()));
        c.push_in("r.status", statuses.iter().map(|s| s.as_str().to_owned()));
        c.push_raw("e.status NOT IN ('pending', 'running')");
        c.push_raw(
            "NOT EXISTS (SELECT 1 FROM change_records r2 \
             JOIN change_executions e2 ON e2.id = r2.execution_id \
             WHERE r2.account_id = r.account_id AND e2.status NOT IN ('pending', 'running') \
             AND NOT (r2.status = 'ignored' AND (r2.reason_code LIKE 'secure_mode%' \
                 OR r2.reason_code = 'secret_type_mismatch')) \
             AND (r2.created_at > r.created_at OR (r2.created_at = r.created_at AND r2.id > r.id)))",
        );
        let columns = super::records::COLUMNS
            .split(',')
            .map(|c| format!("r.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {columns} FROM change_records r \
             JOIN change_executions e ON e.id = r.execution_id \
             JOIN assets s ON s.id = r.asset_id {} \
             ORDER BY r.updated_at DESC, r.id LIMIT {}",
            c.where_sql(),
            c.next_placeholder(1),
        );
        let rows = c
            .apply(sqlx::query(&sql))
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::query)?;
        rows.iter().map(super::records::from_row).collect()
    }
}

impl Tx {
    /// Links a retry execution to what it retries.
    pub async fn insert_retry_link(&mut self, l: &RetryLink) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO change_retries (execution_id, retry_of_record_id, \
             retry_of_execution_id, root_record_id, root_execution_id, account_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(l.execution_id.as_str())
        .bind(l.retry_of_record_id.as_str())
        .bind(l.retry_of_execution_id.as_str())
        .bind(l.root_record_id.as_str())
        .bind(l.root_execution_id.as_str())
        .bind(l.account_id.as_str())
        .bind(to_millis(l.created_at))
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        Ok(())
    }
}
