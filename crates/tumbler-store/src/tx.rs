//! A store transaction: every mutation goes through one, together with its audit event.

use crate::{Backend, StoreError};
use sqlx::{Any, Transaction};

/// An open transaction. Dropped without [`Tx::commit`], it rolls back.
pub struct Tx {
    pub(crate) inner: Transaction<'static, Any>,
    #[allow(dead_code)]
    pub(crate) backend: Backend,
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tx")
    }
}

impl Tx {
    pub(crate) fn new(inner: Transaction<'static, Any>, backend: Backend) -> Self {
        Self { inner, backend }
    }

    /// Makes every change of this transaction durable.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.inner.commit().await.map_err(StoreError::query)
    }

    pub(crate) fn conn(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.inner
    }
}
