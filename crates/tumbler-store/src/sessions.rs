//! Console sessions. Only a hash of the cookie secret is stored.

use crate::{col, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use tumbler_domain::clock::{from_millis, to_millis};
use tumbler_domain::ids::{SessionId, UserId};

/// A stored session. Its `Debug` leaves the CSRF token out.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// Public id (listing, ending a session).
    pub id: SessionId,
    /// Owner.
    pub user_id: UserId,
    /// Token forms and cookie-authenticated API calls must echo.
    pub csrf_token: String,
    /// Address the session was created from.
    pub source: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last request.
    pub last_seen_at: DateTime<Utc>,
    /// Absolute end.
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for SessionRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRow")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("csrf_token", &"<redacted>")
            .field("source", &self.source)
            .field("created_at", &self.created_at)
            .field("last_seen_at", &self.last_seen_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A session to insert.
pub struct NewSession<'a> {
    /// The session's fields.
    pub session: &'a SessionRow,
    /// SHA-256 (hex) of the cookie secret.
    pub secret_hash: &'a str,
}

const COLUMNS: &str = "id, user_id, csrf_token, source, created_at, last_seen_at, expires_at";

fn from_row(row: &AnyRow) -> Result<SessionRow, StoreError> {
    Ok(SessionRow {
        id: SessionId::from_string(col::<String>(row, "id")?),
        user_id: UserId::from_string(col::<String>(row, "user_id")?),
        csrf_token: col(row, "csrf_token")?,
        source: col(row, "source")?,
        created_at: from_millis(col(row, "created_at")?),
        last_seen_at: from_millis(col(row, "last_seen_at")?),
        expires_at: from_millis(col(row, "expires_at")?),
    })
}

impl Store {
    /// The session whose cookie secret hashes to `secret_hash`.
    pub async fn session_by_secret_hash(
        &self,
        secret_hash: &str,
    ) -> Result<Option<SessionRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM sessions WHERE secret_hash = $1");
        self.find_one(&sql, secret_hash, from_row).await
    }

    /// A user's sessions, newest first.
    pub async fn sessions_of(&self, user_id: &UserId) -> Result<Vec<SessionRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM sessions WHERE user_id = $1 ORDER BY created_at DESC, id DESC"
        );
        self.find_all(&sql, user_id.as_str(), from_row).await
    }

    /// Marks a session as used now. Not audited: it changes no state a person acts on.
    pub async fn touch_session(
        &self,
        id: &SessionId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.mark_used(
            "UPDATE sessions SET last_seen_at = $1 WHERE id = $2",
            id.as_str(),
            now,
        )
        .await
    }
}

impl Tx {
    /// Inserts a session.
    pub async fn insert_session(&mut self, new: NewSession<'_>) -> Result<(), StoreError> {
        let s = new.session;
        sqlx::query(
            "INSERT INTO sessions (id, secret_hash, user_id, csrf_token, source, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(s.id.as_str())
        .bind(new.secret_hash)
        .bind(s.user_id.as_str())
        .bind(&s.csrf_token)
        .bind(&s.source)
        .bind(to_millis(s.created_at))
        .bind(to_millis(s.last_seen_at))
        .bind(to_millis(s.expires_at))
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        Ok(())
    }

    /// Ends a user's sessions that are past their absolute end or idle since before
    /// `idle_since`, then counts the live ones left (inside this transaction, so a
    /// concurrent login of the same user cannot slip past a limit).
    pub async fn prune_and_count_sessions(
        &mut self,
        user_id: &UserId,
        now: DateTime<Utc>,
        idle_since: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        sqlx::query(
            "DELETE FROM sessions WHERE user_id = $1 AND (expires_at <= $2 OR last_seen_at <= $3)",
        )
        .bind(user_id.as_str())
        .bind(to_millis(now))
        .bind(to_millis(idle_since))
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        let row = sqlx::query("SELECT COUNT(*) AS n FROM sessions WHERE user_id = $1")
            .bind(user_id.as_str())
            .fetch_one(self.conn())
            .await
            .map_err(StoreError::query)?;
        col(&row, "n")
    }

    /// Ends one session of `user_id`; returns whether it existed.
    pub async fn delete_session_of(
        &mut self,
        user_id: &UserId,
        id: &SessionId,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
            .bind(id.as_str())
            .bind(user_id.as_str())
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        Ok(done.rows_affected() == 1)
    }

    /// Ends one session; returns whether it existed.
    pub async fn delete_session(&mut self, id: &SessionId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id.as_str())
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        Ok(done.rows_affected() == 1)
    }

    /// Ends every session of a user; returns how many ended.
    pub async fn delete_user_sessions(&mut self, user_id: &UserId) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id.as_str())
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        Ok(done.rows_affected())
    }
}

impl Store {
    /// The end of the session's window in which sensitive actions need no new code (set by a
    /// fresh code's check), if one was opened.
    pub async fn session_sensitive_until(
        &self,
        id: &SessionId,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row = sqlx::query("SELECT sensitive_until FROM sessions WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::query)?;
        Ok(row
            .map(|r| col::<Option<i64>>(&r, "sensitive_until"))
            .transpose()?
            .flatten()
            .map(from_millis))
    }
}

impl Tx {
    /// Opens (or moves) the session's window for sensitive actions to end at `until`.
    pub async fn set_session_sensitive_until(
        &mut self,
        id: &SessionId,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET sensitive_until = $1 WHERE id = $2")
            .bind(to_millis(until))
            .bind(id.as_str())
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::SessionRow;
    use tumbler_domain::ids::{SessionId, UserId};

    #[test]
    fn the_csrf_token_never_shows_in_debug() {
        let now = chrono::Utc::now();
        let row = SessionRow {
            id: SessionId::from_string("s-1"),
            user_id: UserId::from_string("u-1"),
            csrf_token: "canary-csrf-token".to_owned(),
            source: "127.0.0.1".to_owned(),
            created_at: now,
            last_seen_at: now,
            expires_at: now,
        };
        for text in [format!("{row:?}"), format!("{row:#?}")] {
            assert!(!text.contains("canary-csrf"), "{text}");
            assert!(text.contains("127.0.0.1"), "{text}");
        }
    }
}
