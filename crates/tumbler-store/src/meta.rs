//! Small named values the server keeps about itself (e.g. the passphrase salt).

use crate::{col, Store, StoreError, Tx};

impl Store {
    /// The value stored under `key`.
    pub async fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT value FROM meta WHERE key = $1")
            .bind(key)
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::query)?;
        row.as_ref().map(|r| col(r, "value")).transpose()
    }
}

impl Tx {
    /// Stores `value` under `key`, replacing any previous value.
    pub async fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        Ok(())
    }
}
