//! Jobs: long operations started by a request that answers `202` with the job's id (switching
//! a device's authentication, regenerating the system key, resolving key conflicts). A job's
//! payload and outcomes are stored as JSON and never hold a secret; a stored job that does not
//! read back (unknown kind or status, JSON that does not parse) is [`StoreError::Corrupt`].

use crate::{col, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use tumbler_domain::clock::{from_millis, to_millis};
use tumbler_domain::ids::JobId;
use tumbler_domain::job::{DeviceOutcome, JobKind, JobStatus};

/// A job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    /// Id.
    pub id: JobId,
    /// What it does.
    pub kind: JobKind,
    /// Where it stands.
    pub status: JobStatus,
    /// Who started it.
    pub created_by: String,
    /// The node running it.
    pub node: String,
    /// How many objects it works on.
    pub total: i64,
    /// How many are finished.
    pub done: i64,
    /// What it was asked to do (owned by the core service, no secret).
    pub payload: serde_json::Value,
    /// Per-device outcomes, in the order they finished.
    pub outcomes: Vec<DeviceOutcome>,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Last progress.
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, kind, status, created_by, node, total, done, payload, outcomes, created_at, updated_at";

fn from_row(row: &AnyRow) -> Result<JobRow, StoreError> {
    let id: String = col(row, "id")?;
    let corrupt = |what: &str, e: &dyn std::fmt::Display| {
        StoreError::Corrupt(format!("job {id}: {what}: {e}"))
    };
    let kind: String = col(row, "kind")?;
    let status: String = col(row, "status")?;
    let payload: String = col(row, "payload")?;
    let outcomes: String = col(row, "outcomes")?;
    Ok(JobRow {
        kind: kind.parse().map_err(|e| corrupt("kind", &e))?,
        status: status.parse().map_err(|e| corrupt("status", &e))?,
        payload: serde_json::from_str(&payload).map_err(|e| corrupt("payload", &e))?,
        outcomes: serde_json::from_str(&outcomes).map_err(|e| corrupt("outcomes", &e))?,
        created_by: col(row, "created_by")?,
        node: col(row, "node")?,
        total: col(row, "total")?,
        done: col(row, "done")?,
        created_at: from_millis(col(row, "created_at")?),
        updated_at: from_millis(col(row, "updated_at")?),
        id: JobId::from_string(id),
    })
}

/// The stored text of a job's outcomes.
fn outcomes_json(j: &JobRow) -> Result<String, StoreError> {
    serde_json::to_string(&j.outcomes)
        .map_err(|e| StoreError::Corrupt(format!("job {}: outcomes: {e}", j.id)))
}

impl Store {
    /// A page of jobs, newest first, and how many there are in all.
    pub async fn jobs(&self, limit: i64, offset: i64) -> Result<(Vec<JobRow>, i64), StoreError> {
        crate::conditions::Conditions::default()
            .page(
                self.pool(),
                COLUMNS,
                "FROM jobs",
                "created_at DESC, id",
                (limit, offset),
                from_row,
            )
            .await
    }

    /// The job with this id.
    pub async fn job(&self, id: &JobId) -> Result<Option<JobRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = $1");
        self.find_one(&sql, id.as_str(), from_row).await
    }

    /// The running jobs of a kind, oldest first.
    pub async fn running_jobs(&self, kind: JobKind) -> Result<Vec<JobRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM jobs WHERE kind = $1 AND status = $2 ORDER BY created_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(kind.as_ref())
            .bind(JobStatus::Running.as_ref())
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
            .bind(j.id.as_str())
            .bind(j.kind.as_ref())
            .bind(j.status.as_ref())
            .bind(&j.created_by)
            .bind(&j.node)
            .bind(j.total)
            .bind(j.done)
            .bind(j.payload.to_string())
            .bind(outcomes_json(j)?)
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
        .bind(j.status.as_ref())
        .bind(j.done)
        .bind(j.total)
        .bind(outcomes_json(j)?)
        .bind(to_millis(j.updated_at))
        .bind(j.id.as_str())
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
            "UPDATE jobs SET node = $1, updated_at = $2 WHERE id = $3 AND node = $4 AND updated_at = $5 AND status = $6",
        )
        .bind(node)
        .bind(to_millis(now))
        .bind(j.id.as_str())
        .bind(&j.node)
        .bind(to_millis(j.updated_at))
        .bind(JobStatus::Running.as_ref())
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        Ok(done.rows_affected() == 1)
    }
}
