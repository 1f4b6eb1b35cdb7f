//! Domains: flat groups that scope objects; which users belong to which; each session's
//! active domain; each user's "manage objects from all assigned domains" setting.

use crate::{col, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use tumbler_domain::clock::{from_millis, to_millis};
use tumbler_domain::ids::{DomainId, SessionId, UserId};

/// A domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainRow {
    /// Id.
    pub id: DomainId,
    /// Unique name.
    pub name: String,
    /// What it groups.
    pub description: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

fn from_row(row: &AnyRow) -> Result<DomainRow, StoreError> {
    Ok(DomainRow {
        id: DomainId::from_string(col::<String>(row, "id")?),
        name: col(row, "name")?,
        description: col(row, "description")?,
        created_at: from_millis(col(row, "created_at")?),
    })
}

impl Store {
    /// Every domain, by name.
    pub async fn domains(&self) -> Result<Vec<DomainRow>, StoreError> {
        let rows =
            sqlx::query("SELECT id, name, description, created_at FROM domains ORDER BY name")
                .fetch_all(self.pool())
                .await
                .map_err(StoreError::query)?;
        rows.iter().map(from_row).collect()
    }

    /// The domains a user belongs to, by name.
    pub async fn user_domains(&self, user_id: &UserId) -> Result<Vec<DomainRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.id, d.name, d.description, d.created_at FROM domains d \
             JOIN user_domains u ON u.domain_id = d.id WHERE u.user_id = $1 ORDER BY d.name",
        )
        .bind(user_id.as_str())
        .fetch_all(self.pool())
        .await
        .map_err(StoreError::query)?;
        rows.iter().map(from_row).collect()
    }

    /// The names of every user's domains, by user id.
    pub async fn domain_names_by_user(
        &self,
    ) -> Result<std::collections::HashMap<UserId, Vec<String>>, StoreError> {
        let rows = sqlx::query("SELECT u.user_id, d.name FROM user_domains u JOIN domains d ON d.id = u.domain_id ORDER BY d.name")
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::query)?;
        let mut map: std::collections::HashMap<UserId, Vec<String>> =
            std::collections::HashMap::new();
        for r in &rows {
            map.entry(UserId::from_string(col::<String>(r, "user_id")?))
                .or_default()
                .push(col(r, "name")?);
        }
        Ok(map)
    }

    /// A user's "manage objects from all assigned domains" setting.
    pub async fn user_all_domains(&self, user_id: &UserId) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT all_domains FROM users WHERE id = $1")
            .bind(user_id.as_str())
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::query)?;
        Ok(row
            .map(|r| col::<i64>(&r, "all_domains"))
            .transpose()?
            .unwrap_or(0)
            != 0)
    }

    /// The active domain a session chose, if any.
    pub async fn session_active_domain(
        &self,
        session: &SessionId,
    ) -> Result<Option<DomainId>, StoreError> {
        let row = sqlx::query("SELECT active_domain_id FROM sessions WHERE id = $1")
            .bind(session.as_str())
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::query)?;
        Ok(row
            .map(|r| col::<Option<String>>(&r, "active_domain_id"))
            .transpose()?
            .flatten()
            .map(DomainId::from_string))
    }
}

impl Tx {
    /// Inserts a domain; a taken name is [`StoreError::Duplicate`].
    pub async fn insert_domain(&mut self, d: &DomainRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO domains (id, name, description, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(d.id.as_str())
        .bind(&d.name)
        .bind(&d.description)
        .bind(to_millis(d.created_at))
        .execute(self.conn())
        .await
        .map_err(StoreError::unique(
            tumbler_domain::object::ObjectKind::Domain,
        ))?;
        Ok(())
    }

    /// Deletes a domain no user and no asset belongs to; returns whether one was deleted.
    pub async fn delete_unused_domain(&mut self, id: &DomainId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM domains WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM user_domains WHERE domain_id = $1) AND NOT EXISTS (SELECT 1 FROM assets WHERE domain_id = $1) AND NOT EXISTS (SELECT 1 FROM change_tasks WHERE domain_id = $1)")
            .bind(id.as_str())
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        Ok(done.rows_affected() == 1)
    }

    /// Users who belong to no domain.
    pub async fn users_without_domain(&mut self) -> Result<Vec<UserId>, StoreError> {
        let rows = sqlx::query("SELECT id FROM users WHERE NOT EXISTS (SELECT 1 FROM user_domains WHERE user_id = users.id)")
            .fetch_all(self.conn())
            .await
            .map_err(StoreError::query)?;
        rows.iter()
            .map(|r| col::<String>(r, "id").map(UserId::from_string))
            .collect()
    }

    /// Sets the domains a user belongs to.
    pub async fn set_user_domains(
        &mut self,
        user_id: &UserId,
        domains: &[DomainId],
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM user_domains WHERE user_id = $1")
            .bind(user_id.as_str())
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        for d in domains {
            sqlx::query("INSERT INTO user_domains (user_id, domain_id) VALUES ($1, $2)")
                .bind(user_id.as_str())
                .bind(d.as_str())
                .execute(self.conn())
                .await
                .map_err(StoreError::query)?;
        }
        Ok(())
    }

    /// Sets a user's "manage objects from all assigned domains".
    pub async fn set_user_all_domains(
        &mut self,
        user_id: &UserId,
        all: bool,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET all_domains = $1 WHERE id = $2")
            .bind(i64::from(all))
            .bind(user_id.as_str())
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        Ok(())
    }

    /// Sets a session's active domain.
    pub async fn set_session_domain(
        &mut self,
        session: &SessionId,
        domain: &DomainId,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET active_domain_id = $1 WHERE id = $2")
            .bind(domain.as_str())
            .bind(session.as_str())
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        Ok(())
    }
}
