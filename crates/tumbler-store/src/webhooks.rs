//! Webhooks: where finished runs are posted. The signing secret is sealed in `secrets` under
//! [`SecretOwner::Webhook`](tumbler_domain::secret_owner::SecretOwner::Webhook); a row names
//! only its version.

use crate::{col, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use tumbler_domain::clock::{from_millis, to_millis};
use tumbler_domain::ids::WebhookId;

/// A webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRow {
    /// Id.
    pub id: WebhookId,
    /// Where events are posted.
    pub url: String,
    /// The version of its sealed signing secret.
    pub secret_version: i64,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, url, secret_version, created_by, created_at";

fn from_row(row: &AnyRow) -> Result<WebhookRow, StoreError> {
    Ok(WebhookRow {
        id: WebhookId::from_string(col::<String>(row, "id")?),
        url: col(row, "url")?,
        secret_version: col(row, "secret_version")?,
        created_by: col(row, "created_by")?,
        created_at: from_millis(col(row, "created_at")?),
    })
}

impl Store {
    /// Every webhook, oldest first.
    pub async fn webhooks(&self) -> Result<Vec<WebhookRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM webhooks ORDER BY created_at, id");
        let rows = sqlx::query(&sql)
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::query)?;
        rows.iter().map(from_row).collect()
    }
}

impl Tx {
    /// Adds a webhook.
    pub async fn insert_webhook(&mut self, w: &WebhookRow) -> Result<(), StoreError> {
        let sql = format!("INSERT INTO webhooks ({COLUMNS}) VALUES ($1, $2, $3, $4, $5)");
        sqlx::query(&sql)
            .bind(w.id.as_str())
            .bind(&w.url)
            .bind(w.secret_version)
            .bind(&w.created_by)
            .bind(to_millis(w.created_at))
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        Ok(())
    }

    /// Removes a webhook and its sealed signing secret; returns whether it existed.
    pub async fn delete_webhook(&mut self, id: &WebhookId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM webhooks WHERE id = $1")
            .bind(id.as_str())
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        sqlx::query("DELETE FROM secrets WHERE owner_kind = $1 AND owner_id = $2")
            .bind(tumbler_domain::secret_owner::SecretOwner::Webhook.as_str())
            .bind(id.as_str())
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        Ok(done.rows_affected() == 1)
    }
}
