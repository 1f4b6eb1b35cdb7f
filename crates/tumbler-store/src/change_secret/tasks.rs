//! Change-secret tasks. The task's definition is stored as JSON (`spec`) owned by the core
//! service; a specified new secret is sealed in `secrets` under [`SecretOwner::ChangeTask`](tumbler_domain::secret_owner::SecretOwner::ChangeTask).

use crate::{col, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use tumbler_domain::clock::{from_millis, to_millis};
use tumbler_domain::ids::{ChangeTaskId, DomainId};

/// One task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRow {
    /// Id.
    pub id: ChangeTaskId,
    /// The domain it belongs to.
    pub domain_id: DomainId,
    /// Unique name within the domain.
    pub name: String,
    /// The definition, as JSON.
    pub spec: String,
    /// Version of the sealed specified secret, if any.
    pub specified_secret_version: Option<i64>,
    /// Whether it may run.
    pub enabled: bool,
    /// The next slot of its schedule.
    pub next_run_at: Option<DateTime<Utc>>,
    /// Who created it.
    pub created_by: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, domain_id, name, spec, specified_secret_version, enabled, next_run_at, \
    created_by, created_at, updated_at";

fn from_row(row: &AnyRow) -> Result<TaskRow, StoreError> {
    Ok(TaskRow {
        id: ChangeTaskId::from_string(col::<String>(row, "id")?),
        domain_id: DomainId::from_string(col::<String>(row, "domain_id")?),
        name: col(row, "name")?,
        spec: col(row, "spec")?,
        specified_secret_version: col(row, "specified_secret_version")?,
        enabled: col::<i64>(row, "enabled")? != 0,
        next_run_at: col::<Option<i64>>(row, "next_run_at")?.map(from_millis),
        created_by: col(row, "created_by")?,
        created_at: from_millis(col(row, "created_at")?),
        updated_at: from_millis(col(row, "updated_at")?),
    })
}

impl Store {
    /// The task with this id.
    pub async fn change_task(&self, id: &ChangeTaskId) -> Result<Option<TaskRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM change_tasks WHERE id = $1");
        self.find_one(&sql, id.as_str(), from_row).await
    }

    /// Tasks of these domains, by name.
    pub async fn change_tasks(&self, domains: &[DomainId]) -> Result<Vec<TaskRow>, StoreError> {
        let mut c = crate::conditions::Conditions::default();
        c.push_in("domain_id", domains.iter().map(|d| d.to_string()));
        let sql = format!(
            "SELECT {COLUMNS} FROM change_tasks {} ORDER BY name, id",
            c.where_sql()
        );
        let rows = c
            .apply(sqlx::query(&sql))
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::query)?;
        rows.iter().map(from_row).collect()
    }

    /// Enabled tasks whose next slot is at or before `now`.
    pub async fn due_change_tasks(&self, now: DateTime<Utc>) -> Result<Vec<TaskRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM change_tasks WHERE enabled = 1 AND next_run_at IS NOT NULL \
             AND next_run_at <= $1 ORDER BY next_run_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(to_millis(now))
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::query)?;
        rows.iter().map(from_row).collect()
    }
}

impl Tx {
    /// Inserts a task; a name taken in the domain is [`StoreError::Duplicate`].
    pub async fn insert_change_task(&mut self, t: &TaskRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO change_tasks (id, domain_id, name, spec, specified_secret_version, \
             enabled, next_run_at, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(t.id.as_str())
        .bind(t.domain_id.as_str())
        .bind(&t.name)
        .bind(&t.spec)
        .bind(t.specified_secret_version)
        .bind(i64::from(t.enabled))
        .bind(t.next_run_at.map(to_millis))
        .bind(&t.created_by)
        .bind(to_millis(t.created_at))
        .bind(to_millis(t.updated_at))
        .execute(self.conn())
        .await
        .map_err(StoreError::unique(tumbler_domain::object::ObjectKind::Task))?;
        Ok(())
    }

    /// Replaces a task's fields (all but id, domain, creator and creation time).
    pub async fn update_change_task(&mut self, t: &TaskRow) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE change_tasks SET name = $1, spec = $2, specified_secret_version = $3, \
             enabled = $4, next_run_at = $5, updated_at = $6 WHERE id = $7",
        )
        .bind(&t.name)
        .bind(&t.spec)
        .bind(t.specified_secret_version)
        .bind(i64::from(t.enabled))
        .bind(t.next_run_at.map(to_millis))
        .bind(to_millis(t.updated_at))
        .bind(t.id.as_str())
        .execute(self.conn())
        .await
        .map_err(StoreError::unique(tumbler_domain::object::ObjectKind::Task))?;
        Ok(())
    }

    /// Moves a task's next slot from `expected` to `next`, only if no one moved it first:
    /// the one node that succeeds runs the slot.
    pub async fn claim_schedule_slot(
        &mut self,
        id: &ChangeTaskId,
        expected: DateTime<Utc>,
        next: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE change_tasks SET next_run_at = $1 WHERE id = $2 AND next_run_at = $3",
        )
        .bind(next.map(to_millis))
        .bind(id.as_str())
        .bind(to_millis(expected))
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes a task and its sealed secrets (its executions and records stay as history).
    pub async fn delete_change_task(&mut self, id: &ChangeTaskId) -> Result<bool, StoreError> {
        sqlx::query("DELETE FROM secrets WHERE owner_kind = $1 AND owner_id = $2")
            .bind(tumbler_domain::secret_owner::SecretOwner::ChangeTask.as_str())
            .bind(id.as_str())
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        let done = sqlx::query("DELETE FROM change_tasks WHERE id = $1")
            .bind(id.as_str())
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        Ok(done.rows_affected() == 1)
    }
}
