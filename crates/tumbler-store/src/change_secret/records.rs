//! Records: one account in one execution. The old and new secrets are the account's sealed
//! versions the record names, never copies.

use super::super::inventory::parse_state;
use crate::conditions::{Bind, Conditions};
use crate::{col, Store, StoreError, Tx};
use sqlx::any::AnyRow;
use tumbler_domain::change_secret::RecordStatus;
use tumbler_domain::clock::{from_millis, to_millis};
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::ids::{AccountId, AssetId, DomainId, ExecutionId, RecordId};

pub use tumbler_domain::change_views::RecordRow;

/// Which records to list.
#[derive(Debug, Clone, Default)]
pub struct RecordFilter {
    /// Only records of accounts in these domains (an empty list matches nothing).
    pub domains: Vec<DomainId>,
    /// Only this execution's.
    pub execution_id: Option<ExecutionId>,
    /// Only this status.
    pub status: Option<RecordStatus>,
    /// Only this asset's.
    pub asset_id: Option<AssetId>,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

pub(super) const COLUMNS: &str =
    "id, execution_id, account_id, asset_id, asset_name, domain_id, username, \
    status, reason_code, reason, old_version, new_version, attempts, new_secret_verified_at, \
    created_at, updated_at";

pub(super) fn from_row(row: &AnyRow) -> Result<RecordRow, StoreError> {
    Ok(RecordRow {
        id: RecordId::from_string(col::<String>(row, "id")?),
        execution_id: ExecutionId::from_string(col::<String>(row, "execution_id")?),
        account_id: AccountId::from_string(col::<String>(row, "account_id")?),
        asset_id: AssetId::from_string(col::<String>(row, "asset_id")?),
        asset_name: col(row, "asset_name")?,
        domain_id: DomainId::from_string(col::<String>(row, "domain_id")?),
        username: col(row, "username")?,
        status: parse_state(
            &col::<String>(row, "status")?,
            RecordStatus::parse,
            "record status",
        )?,
        reason_code: FailureCode::parse_stored(&col::<String>(row, "reason_code")?)
            .map_err(|e| StoreError::Corrupt(format!("record {e}")))?,
        reason: col(row, "reason")?,
        old_version: col(row, "old_version")?,
        new_version: col(row, "new_version")?,
        attempts: col(row, "attempts")?,
        new_secret_verified_at: col::<Option<i64>>(row, "new_secret_verified_at")?.map(from_millis),
        created_at: from_millis(col(row, "created_at")?),
        updated_at: from_millis(col(row, "updated_at")?),
    })
}

impl Store {
    /// The record with this id.
    pub async fn record(&self, id: &RecordId) -> Result<Option<RecordRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM change_records WHERE id = $1");
        self.find_one(&sql, id.as_str(), from_row).await
    }

    /// Records matching `filter`, by asset name and username, and how many match in all.
    pub async fn records(
        &self,
        filter: &RecordFilter,
    ) -> Result<(Vec<RecordRow>, i64), StoreError> {
        let mut c = Conditions::default();
        c.push_in("domain_id", filter.domains.iter().map(|d| d.to_string()));
        if let Some(e) = &filter.execution_id {
            c.push("execution_id = {}", Bind::Text(e.to_string()));
        }
        if let Some(s) = filter.status {
            c.push("status = {}", Bind::Text(s.as_str().to_owned()));
        }
        if let Some(a) = &filter.asset_id {
            c.push("asset_id = {}", Bind::Text(a.to_string()));
        }
        c.page(
            self.pool(),
            COLUMNS,
            "FROM change_records",
            "created_at DESC, asset_name, username, id",
            (filter.limit, filter.offset),
            from_row,
        )
        .await
    }
}

impl Tx {
    /// The record of the account's change in progress (the one naming its pending version).
    pub async fn record_of_pending_change(
        &mut self,
        account_id: &AccountId,
        pending_version: i64,
    ) -> Result<Option<RecordRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM change_records WHERE account_id = $1 AND new_version = $2 \
             ORDER BY created_at DESC LIMIT 1"
        );
        let row = sqlx::query(&sql)
            .bind(account_id.as_str())
            .bind(pending_version)
            .fetch_optional(self.conn())
            .await
            .map_err(StoreError::query)?;
        row.as_ref().map(from_row).transpose()
    }

    /// Inserts a record.
    pub async fn insert_record(&mut self, r: &RecordRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO change_records (id, execution_id, account_id, asset_id, asset_name, \
             domain_id, username, status, reason_code, reason, old_version, new_version, \
             attempts, new_secret_verified_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(r.id.as_str())
        .bind(r.execution_id.as_str())
        .bind(r.account_id.as_str())
        .bind(r.asset_id.as_str())
        .bind(&r.asset_name)
        .bind(r.domain_id.as_str())
        .bind(&r.username)
        .bind(r.status.as_str())
        .bind(FailureCode::stored(r.reason_code))
        .bind(&r.reason)
        .bind(r.old_version)
        .bind(r.new_version)
        .bind(r.attempts)
        .bind(r.new_secret_verified_at.map(to_millis))
        .bind(to_millis(r.created_at))
        .bind(to_millis(r.updated_at))
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        Ok(())
    }

    /// Replaces a record's outcome (status, reason, versions, attempts, update time).
    pub async fn update_record(&mut self, r: &RecordRow) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE change_records SET status = $1, reason_code = $2, reason = $3, \
             old_version = $4, new_version = $5, attempts = $6, new_secret_verified_at = $7, \
             updated_at = $8 WHERE id = $9",
        )
        .bind(r.status.as_str())
        .bind(FailureCode::stored(r.reason_code))
        .bind(&r.reason)
        .bind(r.old_version)
        .bind(r.new_version)
        .bind(r.attempts)
        .bind(r.new_secret_verified_at.map(to_millis))
        .bind(to_millis(r.updated_at))
        .bind(r.id.as_str())
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        Ok(())
    }
}
