//! The audit log: an append-only hash chain. Appends take the chain head's row lock (or
//! SQLite's write lock) so concurrent writers, even on several nodes, extend one chain.

use crate::{col, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use tumbler_domain::audit::{chain_hash, AuditEvent, NewAuditEvent};
use tumbler_domain::clock::{from_millis, to_millis};

/// The key of the audit chain's HMAC links (32 bytes, wiped when the last clone drops).
#[derive(Clone)]
pub struct AuditKey(std::sync::Arc<zeroize::Zeroizing<[u8; 32]>>);

impl AuditKey {
    /// Wraps key bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(std::sync::Arc::new(zeroize::Zeroizing::new(bytes)))
    }

    /// The key bytes, for computing a link.
    pub fn bytes(&self) -> &[u8] {
        self.0.as_ref().as_ref()
    }
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(..)")
    }
}

/// Which events to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this action.
    pub action: Option<String>,
    /// Only this actor.
    pub actor: Option<String>,
    /// Only this object id.
    pub object_id: Option<String>,
    /// Only this outcome (`success` or `failure`).
    pub outcome: Option<String>,
    /// Only events at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only events before this time.
    pub until: Option<DateTime<Utc>>,
    /// Page size.
    pub limit: i64,
    /// Events to skip (newest first).
    pub offset: i64,
}

const COLUMNS: &str =
    "seq, at, actor, action, object_kind, object_id, outcome, source, detail, prev_hash, hash";

fn from_row(row: &AnyRow) -> Result<AuditEvent, StoreError> {
    Ok(AuditEvent {
        seq: col(row, "seq")?,
        at: from_millis(col(row, "at")?),
        actor: col(row, "actor")?,
        action: col(row, "action")?,
        object_kind: col(row, "object_kind")?,
        object_id: col(row, "object_id")?,
        outcome: col(row, "outcome")?,
        source: col(row, "source")?,
        detail: col(row, "detail")?,
        prev_hash: col(row, "prev_hash")?,
        hash: col(row, "hash")?,
    })
}

impl Store {
    /// Up to `limit` events with `seq > after`, in chain order (for verification and export).
    pub async fn audit_events_after(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2");
        let rows = sqlx::query(&sql)
            .bind(after)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::query)?;
        rows.iter().map(from_row).collect()
    }

    /// The chain head: last sequence number and hash.
    pub async fn audit_head(&self) -> Result<(i64, String), StoreError> {
        let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(self.pool())
            .await
            .map_err(StoreError::query)?;
        Ok((col(&row, "seq")?, col(&row, "hash")?))
    }

    /// Events matching `filter`, newest first, and how many match in all.
    pub async fn audit_events(
        &self,
        filter: &AuditFilter,
    ) -> Result<(Vec<AuditEvent>, i64), StoreError> {
        use crate::conditions::{Bind, Conditions};
        let mut c = Conditions::default();
        let text = |v: &Option<String>| v.clone().map(Bind::Text);
        for (clause, value) in [
            ("action = {}", text(&filter.action)),
            ("actor = {}", text(&filter.actor)),
            ("object_id = {}", text(&filter.object_id)),
            ("outcome = {}", text(&filter.outcome)),
            ("at >= {}", filter.from.map(|t| Bind::Int(to_millis(t)))),
            ("at < {}", filter.until.map(|t| Bind::Int(to_millis(t)))),
        ] {
            if let Some(value) = value {
                c.push(clause, value);
            }
        }
        c.page(
            self.pool(),
            COLUMNS,
            "FROM audit_events",
            "seq DESC",
            (filter.limit, filter.offset),
            from_row,
        )
        .await
    }
}

impl Tx {
    /// Appends an event to the chain. It becomes durable when this transaction commits,
    /// together with the change it describes.
    pub async fn append_audit(
        &mut self,
        ev: &NewAuditEvent,
        at: DateTime<Utc>,
    ) -> Result<AuditEvent, StoreError> {
        // Take the head's row lock first, so the read below sees the latest head.
        sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1")
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(self.conn())
            .await
            .map_err(StoreError::query)?;
        let prev_seq: i64 = col(&head, "seq")?;
        let prev_hash: String = col(&head, "hash")?;
        let seq = prev_seq + 1;
        let at_ms = to_millis(at);
        let outcome = ev.outcome.as_str();
        let hash = chain_hash(
            self.audit_key.as_ref().map(AuditKey::bytes),
            &prev_hash,
            seq,
            at_ms,
            &ev.actor,
            ev.action.as_str(),
            &ev.object_kind,
            &ev.object_id,
            outcome,
            &ev.source,
            &ev.detail,
        );
        let sql = format!(
            "INSERT INTO audit_events ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        );
        sqlx::query(&sql)
            .bind(seq)
            .bind(at_ms)
            .bind(&ev.actor)
            .bind(ev.action.as_str())
            .bind(&ev.object_kind)
            .bind(&ev.object_id)
            .bind(outcome)
            .bind(&ev.source)
            .bind(&ev.detail)
            .bind(&prev_hash)
            .bind(&hash)
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(seq)
            .bind(&hash)
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        Ok(AuditEvent {
            seq,
            at: from_millis(at_ms),
            actor: ev.actor.clone(),
            action: ev.action.as_str().to_owned(),
            object_kind: ev.object_kind.clone(),
            object_id: ev.object_id.clone(),
            outcome: outcome.to_owned(),
            source: ev.source.clone(),
            detail: ev.detail.clone(),
            prev_hash,
            hash,
        })
    }
}
