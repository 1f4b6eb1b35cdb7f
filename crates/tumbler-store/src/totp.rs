//! TOTP enrolment state, the last accepted step (so a code is accepted once, even across
//! nodes), and hashed one-time recovery codes.

use crate::{col, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use tumbler_domain::clock::to_millis;
use tumbler_domain::ids::UserId;

/// A user's TOTP enrolment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TotpRow {
    /// `none`, `pending` (secret issued, not confirmed) or `enabled`.
    pub state: TotpState,
    /// Version of the sealed secret in the vault.
    pub version: i64,
    /// Last step whose code was accepted.
    pub last_step: Option<i64>,
}

/// Enrolment states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpState {
    /// Not enrolled.
    None,
    /// A secret was issued and awaits a first code.
    Pending,
    /// Enrolled: logins and sensitive actions need a code.
    Enabled,
}

impl TotpState {
    fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Pending => "pending",
            Self::Enabled => "enabled",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "none" => Ok(Self::None),
            "pending" => Ok(Self::Pending),
            "enabled" => Ok(Self::Enabled),
            other => Err(StoreError::Corrupt(format!("totp state {other}"))),
        }
    }
}

impl Store {
    /// A user's TOTP enrolment.
    pub async fn totp(&self, user_id: &UserId) -> Result<Option<TotpRow>, StoreError> {
        let row =
            sqlx::query("SELECT totp_state, totp_version, totp_last_step FROM users WHERE id = $1")
                .bind(user_id.as_str())
                .fetch_optional(self.pool())
                .await
                .map_err(StoreError::query)?;
        row.map(|r| {
            Ok(TotpRow {
                state: TotpState::parse(&col::<String>(&r, "totp_state")?)?,
                version: col(&r, "totp_version")?,
                last_step: col(&r, "totp_last_step")?,
            })
        })
        .transpose()
    }
}

impl Store {
    /// The stored forms of a user's unused recovery codes (at most ten).
    pub async fn unused_recovery_codes(&self, user_id: &UserId) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT code_hash FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(user_id.as_str())
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::query)?;
        rows.iter().map(|r| col(r, "code_hash")).collect()
    }
}

impl Tx {
    /// Sets a user's enrolment state and secret version (clearing the last step on a new secret).
    pub async fn set_totp(
        &mut self,
        user_id: &UserId,
        state: TotpState,
        version: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET totp_state = $1, totp_last_step = CASE WHEN totp_version = $2 THEN totp_last_step ELSE NULL END, totp_version = $2 WHERE id = $3")
            .bind(state.as_str())
            .bind(version)
            .bind(user_id.as_str())
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        Ok(())
    }

    /// Records `step` as used unless it (or a later step) already was; returns whether this
    /// call recorded it. Atomic, so two requests with the same code cannot both pass.
    pub async fn claim_totp_step(
        &mut self,
        user_id: &UserId,
        step: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE users SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)")
            .bind(step)
            .bind(user_id.as_str())
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        Ok(done.rows_affected() == 1)
    }

    /// Replaces a user's recovery codes with these stored forms (hashes).
    pub async fn replace_recovery_codes(
        &mut self,
        user_id: &UserId,
        hashes: &[String],
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user_id.as_str())
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        for h in hashes {
            sqlx::query(
                "INSERT INTO recovery_codes (user_id, code_hash, used_at) VALUES ($1, $2, NULL)",
            )
            .bind(user_id.as_str())
            .bind(h)
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        }
        Ok(())
    }

    /// Uses up the unused recovery code stored as `hash`; returns whether it was there and
    /// unused (atomic: two requests with the same code cannot both pass).
    pub async fn use_recovery_code(
        &mut self,
        user_id: &UserId,
        hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL")
            .bind(to_millis(now))
            .bind(user_id.as_str())
            .bind(hash)
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        Ok(done.rows_affected() == 1)
    }
}
