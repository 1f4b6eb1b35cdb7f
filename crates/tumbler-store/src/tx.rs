//! A store transaction: every mutation goes through one, together with its audit event.

use crate::{AuditKey, Backend, StoreError};
use sqlx::{Any, Transaction};

/// An open transaction. Dropped without [`Tx::commit`], it rolls back.
pub struct Tx {
    pub(crate) inner: Transaction<'static, Any>,
    #[allow(dead_code)]
    pub(crate) backend: Backend,
    /// The key audit events appended in this transaction are linked with, if the chain is
    /// keyed.
    pub(crate) audit_key: Option<AuditKey>,
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tx")
    }
}

impl Tx {
    pub(crate) fn new(
        inner: Transaction<'static, Any>,
        backend: Backend,
        audit_key: Option<AuditKey>,
    ) -> Self {
        Self {
            inner,
            backend,
            audit_key,
        }
    }

    /// Links the audit events appended from now on in this transaction with `key` (used
    /// once, to append the event from which the chain is keyed).
    pub fn use_audit_key(&mut self, key: AuditKey) {
        self.audit_key = Some(key);
    }

    /// Makes every change of this transaction durable.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.inner.commit().await.map_err(StoreError::query)
    }

    pub(crate) fn conn(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.inner
    }

    /// The row `sql` finds with its one parameter (`$1`) set to `key`, read by `from_row`
    /// inside this transaction.
    pub(crate) async fn find_one<T>(
        &mut self,
        sql: &str,
        key: &str,
        from_row: fn(&sqlx::any::AnyRow) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let row = sqlx::query(sql)
            .bind(key)
            .fetch_optional(self.conn())
            .await
            .map_err(StoreError::query)?;
        row.as_ref().map(from_row).transpose()
    }
}
