//! Jobs: long operations started by a request that answers `202` with the job's id (switching
//! a device's authentication, regenerating the system key, resolving key conflicts). A job's
//! payload and outcomes are JSON owned by the core service and never hold a secret.

use crate::{col, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use tumbler_domain::clock::{from_millis, to_millis};

/// The vault owner kind of Tumbler's system SSH private keys (owner id `system`).
pub const SYSTEM_KEY_OWNER: &str = "system_ssh_key";
/// The vault owner kind of custom login keys uploaded for an asset (owner id: the asset).
pub const ASSET_LOGIN_KEY_OWNER: &str = "asset_login_key";

/// A job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    /// Id.
    pub id: String,
    /// What it does (`modify_authentication`, `regenerate_key`, `resolve_key_conflict`).
    pub kind: String,
    /// `running`, `succeeded`, `partial`, `failed`, `interrupted`.
    pub status: String,
    /// Who started it.
    pub created_by: String,
    /// The node running it.
    pub node: String,
    /// How many objects it works on.
    pub total: i64,
    /// How many are finished.
    pub done: i64,
    /// What it was asked to do (JSON, no secret).
    pub payload: String,
    /// Per-object outcomes (JSON, no secret).
    pub outcomes: String,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Last progress.
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, kind, status, created_by, node, total, done, payload, outcomes, created_at, updated_at";

fn from_row(row: &AnyRow) -> Result<JobRow, StoreError> {
    Ok(JobRow {
        id: col(row, "id")?,
        kind: col(row, "kind")?,
        status: col(row, "status")?,
        created_by: col(row, "created_by")?,
        node: col(row, "node")?,
        total: col(row, "total")?,
        done: col(row, "done")?,
        payload: col(row, "payload")?,
        outcomes: col(row, "outcomes")?,
        created_at: from_millis(col(row, "created_at")?),
        updated_at: from_millis(col(row, "updated_at")?),
    })
}

impl Store {
    /// The job with this id.
    pub async fn job(&self, id: &str) -> Result<Option<JobRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::query)?;
        row.as_ref().map(from_row).transpose()
    }

    /// The running jobs of a kind, oldest first.
    pub async fn running_jobs(&self, kind: &str) -> Result<Vec<JobRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM jobs WHERE kind = $1 AND status = 'running' ORDER BY created_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(kind)
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::query)?;
        rows.iter().map(from_row).collect()
    }
}

impl Tx {
    /// Adds a job.
    pub async fn insert_job(&mut self, j: &JobRow) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO jobs ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        );
        sqlx::query(&sql)
            .bind(&j.id)
            .bind(&j.kind)
            .bind(&j.status)
            .bind(&j.created_by)
            .bind(&j.node)
            .bind(j.total)
            .bind(j.done)
            .bind(&j.payload)
            .bind(&j.outcomes)
            .bind(to_millis(j.created_at))
            .bind(to_millis(j.updated_at))
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        Ok(())
    }

    /// Stores a job's status, progress (done and total) and outcomes, only while `j.node` still owns it (a
    /// node that lost it to another writes nothing); returns whether it was stored.
    pub async fn update_job(&mut self, j: &JobRow) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE jobs SET status = $1, done = $2, total = $3, outcomes = $4, updated_at = $5 WHERE id = $6 AND node = $7",
        )
        .bind(&j.status)
        .bind(j.done)
        .bind(j.total)
        .bind(&j.outcomes)
        .bind(to_millis(j.updated_at))
        .bind(&j.id)
        .bind(&j.node)
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        Ok(done.rows_affected() == 1)
    }

    /// Takes over a running job for `node` if it is still as `j` shows it (compare-and-set on
    /// its node and last progress); returns whether it was taken.
    pub async fn claim_job(
        &mut self,
        j: &JobRow,
        node: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE jobs SET node = $1, updated_at = $2 WHERE id = $3 AND node = $4 AND updated_at = $5 AND status = 'running'",
        )
        .bind(node)
        .bind(to_millis(now))
        .bind(&j.id)
        .bind(&j.node)
        .bind(to_millis(j.updated_at))
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        Ok(done.rows_affected() == 1)
    }
}
