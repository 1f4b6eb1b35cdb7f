//! Executions (runs of a task) and their log lines. An execution's counts are derived from
//! its records, never stored twice.

use super::super::inventory::parse_state;
use crate::{col, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use std::collections::BTreeMap;
use tumbler_domain::change_secret::{ExecutionStatus, RecordStatus, Trigger};
use tumbler_domain::clock::{from_millis, to_millis};
use tumbler_domain::ids::{ChangeTaskId, DomainId, ExecutionId};

/// One execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionRow {
    /// Id.
    pub id: ExecutionId,
    /// The task it ran (the task may since have been deleted).
    pub task_id: ChangeTaskId,
    /// The task's name when it ran.
    pub task_name: String,
    /// The task's domain.
    pub domain_id: DomainId,
    /// What started it.
    pub trigger: Trigger,
    /// Its state.
    pub status: ExecutionStatus,
    /// The Tumbler node running it.
    pub owner_node: String,
    /// When that node last said it was alive.
    pub heartbeat_at: DateTime<Utc>,
    /// Who started it (`scheduler` for the schedule).
    pub created_by: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
}

/// Which executions to list.
#[derive(Debug, Clone, Default)]
pub struct ExecutionFilter {
    /// Only executions of tasks in these domains (an empty list matches nothing).
    pub domains: Vec<DomainId>,
    /// Only this task's.
    pub task_id: Option<ChangeTaskId>,
    /// Only this status.
    pub status: Option<ExecutionStatus>,
    /// Only runs started this way.
    pub trigger: Option<Trigger>,
    /// Only runs created at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only runs created before this time.
    pub until: Option<DateTime<Utc>>,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

/// One line of an execution's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Position, from 1.
    pub seq: i64,
    /// When it was written.
    pub at: DateTime<Utc>,
    /// The text (never a secret).
    pub line: String,
}

const COLUMNS: &str = "id, task_id, task_name, domain_id, trigger_kind, status, owner_node, \
    heartbeat_at, created_by, created_at, started_at, finished_at";

fn from_row(row: &AnyRow) -> Result<ExecutionRow, StoreError> {
    Ok(ExecutionRow {
        id: ExecutionId::from_string(col::<String>(row, "id")?),
        task_id: ChangeTaskId::from_string(col::<String>(row, "task_id")?),
        task_name: col(row, "task_name")?,
        domain_id: DomainId::from_string(col::<String>(row, "domain_id")?),
        trigger: parse_state(
            &col::<String>(row, "trigger_kind")?,
            Trigger::parse,
            "trigger",
        )?,
        status: parse_state(
            &col::<String>(row, "status")?,
            ExecutionStatus::parse,
            "execution status",
        )?,
        owner_node: col(row, "owner_node")?,
        heartbeat_at: from_millis(col(row, "heartbeat_at")?),
        created_by: col(row, "created_by")?,
        created_at: from_millis(col(row, "created_at")?),
        started_at: col::<Option<i64>>(row, "started_at")?.map(from_millis),
        finished_at: col::<Option<i64>>(row, "finished_at")?.map(from_millis),
    })
}

impl Store {
    /// The execution with this id.
    pub async fn execution(&self, id: &ExecutionId) -> Result<Option<ExecutionRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM change_executions WHERE id = $1");
        self.find_one(&sql, id.as_str(), from_row).await
    }

    /// Executions matching `filter`, newest first, and how many match in all.
    pub async fn executions(
        &self,
        filter: &ExecutionFilter,
    ) -> Result<(Vec<ExecutionRow>, i64), StoreError> {
        let mut c = crate::conditions::Conditions::default();
        c.push_in("domain_id", filter.domains.iter().map(|d| d.to_string()));
        if let Some(t) = &filter.task_id {
            c.push("task_id = {}", crate::conditions::Bind::Text(t.to_string()));
        }
        if let Some(s) = filter.status {
            c.push(
                "status = {}",
                crate::conditions::Bind::Text(s.as_str().to_owned()),
            );
        }
        if let Some(t) = filter.trigger {
            c.push(
                "trigger_kind = {}",
                crate::conditions::Bind::Text(t.as_str().to_owned()),
            );
        }
        if let Some(at) = filter.from {
            c.push(
                "created_at >= {}",
                crate::conditions::Bind::Int(to_millis(at)),
            );
        }
        if let Some(at) = filter.until {
            c.push(
                "created_at < {}",
                crate::conditions::Bind::Int(to_millis(at)),
            );
        }
        c.page(
            self.pool(),
            COLUMNS,
            "FROM change_executions",
            "created_at DESC, id DESC",
            (filter.limit, filter.offset),
            from_row,
        )
        .await
    }

    /// Executions not ended (pending or running), oldest first.
    pub async fn unfinished_executions(&self) -> Result<Vec<ExecutionRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM change_executions WHERE status IN ('pending', 'running') \
             ORDER BY created_at, id"
        );
        let rows = sqlx::query(&sql)
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::query)?;
        rows.iter().map(from_row).collect()
    }

    /// How many of the execution's records are in each status.
    pub async fn execution_counts(
        &self,
        id: &ExecutionId,
    ) -> Result<BTreeMap<RecordStatus, i64>, StoreError> {
        let rows = sqlx::query(
            "SELECT status, COUNT(*) AS n FROM change_records WHERE execution_id = $1 \
             GROUP BY status",
        )
        .bind(id.as_str())
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::query)?;
        let mut out = BTreeMap::new();
        for row in &rows {
            let status = parse_state(
                &col::<String>(row, "status")?,
                RecordStatus::parse,
                "record status",
            )?;
            out.insert(status, col(row, "n")?);
        }
        Ok(out)
    }

    /// The execution's log lines after `after_seq`, in order.
    pub async fn log_lines(
        &self,
        id: &ExecutionId,
        after_seq: i64,
    ) -> Result<Vec<LogLine>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, at, line FROM change_log_lines WHERE execution_id = $1 AND seq > $2 \
             ORDER BY seq",
        )
        .bind(id.as_str())
        .bind(after_seq)
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::query)?;
        rows.iter()
            .map(|row| {
                Ok(LogLine {
                    seq: col(row, "seq")?,
                    at: from_millis(col(row, "at")?),
                    line: col(row, "line")?,
                })
            })
            .collect()
    }
}

impl Tx {
    /// Inserts an execution.
    pub async fn insert_execution(&mut self, e: &ExecutionRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO change_executions (id, task_id, task_name, domain_id, trigger_kind, \
             status, owner_node, heartbeat_at, created_by, created_at, started_at, finished_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(e.id.as_str())
        .bind(e.task_id.as_str())
        .bind(&e.task_name)
        .bind(e.domain_id.as_str())
        .bind(e.trigger.as_str())
        .bind(e.status.as_str())
        .bind(&e.owner_node)
        .bind(to_millis(e.heartbeat_at))
        .bind(&e.created_by)
        .bind(to_millis(e.created_at))
        .bind(e.started_at.map(to_millis))
        .bind(e.finished_at.map(to_millis))
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        Ok(())
    }

    /// Sets an execution's status and times.
    pub async fn set_execution_status(
        &mut self,
        id: &ExecutionId,
        status: ExecutionStatus,
        started_at: Option<DateTime<Utc>>,
        finished_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE change_executions SET status = $1, started_at = COALESCE($2, started_at), \
             finished_at = $3 WHERE id = $4",
        )
        .bind(status.as_str())
        .bind(started_at.map(to_millis))
        .bind(finished_at.map(to_millis))
        .bind(id.as_str())
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        Ok(())
    }

    /// Sets an execution's status to `to` only if it is still `from` (another writer that got
    /// there first wins); returns whether it was set.
    pub async fn replace_execution_status(
        &mut self,
        id: &ExecutionId,
        from: ExecutionStatus,
        to: ExecutionStatus,
    ) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE change_executions SET status = $1 WHERE id = $2 AND status = $3")
                .bind(to.as_str())
                .bind(id.as_str())
                .bind(from.as_str())
                .execute(self.conn())
                .await
                .map_err(StoreError::query)?;
        Ok(done.rows_affected() == 1)
    }

    /// Takes over an execution for `node`, only if its owner and heartbeat are still the ones
    /// seen (so one node recovers it). Returns whether this caller now owns it.
    pub async fn claim_execution(
        &mut self,
        id: &ExecutionId,
        owner_node: &str,
        heartbeat_at: DateTime<Utc>,
        node: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE change_executions SET owner_node = $1, heartbeat_at = $2 \
             WHERE id = $3 AND owner_node = $4 AND heartbeat_at = $5 \
             AND status IN ('pending', 'running')",
        )
        .bind(node)
        .bind(to_millis(now))
        .bind(id.as_str())
        .bind(owner_node)
        .bind(to_millis(heartbeat_at))
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        Ok(done.rows_affected() == 1)
    }

    /// Appends a line to an execution's log.
    pub async fn append_log_line(
        &mut self,
        id: &ExecutionId,
        at: DateTime<Utc>,
        line: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO change_log_lines (execution_id, seq, at, line) \
             SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3 FROM change_log_lines \
             WHERE execution_id = $1",
        )
        .bind(id.as_str())
        .bind(to_millis(at))
        .bind(line)
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        Ok(())
    }
}

impl Store {
    /// Marks the node's running executions as alive at `now`.
    pub async fn heartbeat_executions(
        &self,
        owner_node: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE change_executions SET heartbeat_at = $1 WHERE owner_node = $2 \
             AND status IN ('pending', 'running')",
        )
        .bind(to_millis(now))
        .bind(owner_node)
        .execute(self.pool())
        .await
        .map_err(StoreError::query)?;
        Ok(())
    }
}
