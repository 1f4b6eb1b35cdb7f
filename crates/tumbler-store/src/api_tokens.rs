//! API tokens. Only a hash of the token is stored; the prefix identifies it in lists.

use crate::{col, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use tumbler_domain::clock::{from_millis, to_millis};
use tumbler_domain::ids::{TokenId, UserId};

/// A stored API token (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenRow {
    /// Id.
    pub id: TokenId,
    /// Owner.
    pub user_id: UserId,
    /// Name given at creation.
    pub name: String,
    /// The token's first characters, to recognise it.
    pub prefix: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Optional expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Last successful use.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A token to insert.
pub struct NewApiToken<'a> {
    /// The token's fields.
    pub token: &'a ApiTokenRow,
    /// SHA-256 (hex) of the whole token.
    pub secret_hash: &'a str,
}

const COLUMNS: &str = "id, user_id, name, prefix, created_at, expires_at, last_used_at, revoked_at";

fn from_row(row: &AnyRow) -> Result<ApiTokenRow, StoreError> {
    Ok(ApiTokenRow {
        id: TokenId::from_string(col::<String>(row, "id")?),
        user_id: UserId::from_string(col::<String>(row, "user_id")?),
        name: col(row, "name")?,
        prefix: col(row, "prefix")?,
        created_at: from_millis(col(row, "created_at")?),
        expires_at: col::<Option<i64>>(row, "expires_at")?.map(from_millis),
        last_used_at: col::<Option<i64>>(row, "last_used_at")?.map(from_millis),
        revoked_at: col::<Option<i64>>(row, "revoked_at")?.map(from_millis),
    })
}

impl Store {
    /// The token whose hash is `secret_hash`.
    pub async fn api_token_by_hash(
        &self,
        secret_hash: &str,
    ) -> Result<Option<ApiTokenRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM api_tokens WHERE secret_hash = $1");
        self.find_one(&sql, secret_hash, from_row).await
    }

    /// A user's tokens, newest first.
    pub async fn api_tokens_of(&self, user_id: &UserId) -> Result<Vec<ApiTokenRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC, id DESC"
        );
        self.find_all(&sql, user_id.as_str(), from_row).await
    }

    /// Records a use of a token. Not audited: it changes no state a person acts on.
    pub async fn touch_api_token(
        &self,
        id: &TokenId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.mark_used(
            "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2",
            id.as_str(),
            now,
        )
        .await
    }
}

impl Tx {
    /// Inserts a token.
    pub async fn insert_api_token(&mut self, new: NewApiToken<'_>) -> Result<(), StoreError> {
        let t = new.token;
        sqlx::query(
            "INSERT INTO api_tokens (id, user_id, name, prefix, secret_hash, created_at, expires_at, last_used_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL)",
        )
        .bind(t.id.as_str())
        .bind(t.user_id.as_str())
        .bind(&t.name)
        .bind(&t.prefix)
        .bind(new.secret_hash)
        .bind(to_millis(t.created_at))
        .bind(t.expires_at.map(to_millis))
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        Ok(())
    }

    /// Revokes a token of `user_id`; returns whether a live token was revoked.
    pub async fn revoke_api_token(
        &mut self,
        user_id: &UserId,
        id: &TokenId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
        )
        .bind(to_millis(now))
        .bind(id.as_str())
        .bind(user_id.as_str())
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        Ok(done.rows_affected() == 1)
    }

    /// Revokes every live token of `user_id` (a password change or reset); returns how many.
    pub async fn revoke_user_api_tokens(
        &mut self,
        user_id: &UserId,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
        )
        .bind(to_millis(now))
        .bind(user_id.as_str())
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        Ok(done.rows_affected())
    }
}
