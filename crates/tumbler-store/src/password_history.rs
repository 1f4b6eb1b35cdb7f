//! Hashes of users' previous passwords, so the policy can refuse reuse.

use crate::{col, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use tumbler_domain::clock::to_millis;
use tumbler_domain::ids::UserId;

impl Store {
    /// The hashes of a user's `n` most recently replaced passwords.
    pub async fn password_history(
        &self,
        user_id: &UserId,
        n: i64,
    ) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT password_hash FROM password_history WHERE user_id = $1 ORDER BY replaced_at DESC LIMIT $2")
            .bind(user_id.as_str())
            .bind(n)
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::query)?;
        rows.iter().map(|r| col(r, "password_hash")).collect()
    }
}

impl Tx {
    /// Records a replaced password's hash and keeps only the `keep` most recent.
    pub async fn push_password_history(
        &mut self,
        user_id: &UserId,
        hash: &str,
        keep: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO password_history (user_id, password_hash, replaced_at) VALUES ($1, $2, $3)")
            .bind(user_id.as_str())
            .bind(hash)
            .bind(to_millis(now))
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        sqlx::query(
            "DELETE FROM password_history WHERE user_id = $1 AND replaced_at NOT IN \
             (SELECT replaced_at FROM password_history WHERE user_id = $1 ORDER BY replaced_at DESC LIMIT $2)",
        )
        .bind(user_id.as_str())
        .bind(keep)
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        Ok(())
    }

    /// Requires a user to change the password before doing anything else (policy tightened,
    /// or the password expired).
    pub async fn require_password_change(&mut self, user_id: &UserId) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET must_change_password = 1 WHERE id = $1")
            .bind(user_id.as_str())
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        Ok(())
    }

    /// Ends a user's sessions created before `before` (other sessions after a password change,
    /// ended at the user's next login).
    pub async fn delete_sessions_created_before(
        &mut self,
        user_id: &UserId,
        before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND created_at < $2")
            .bind(user_id.as_str())
            .bind(to_millis(before))
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        Ok(done.rows_affected())
    }
}
