//! Roles: named permission sets (built-in ones are kept in step with the code at start).

use crate::{col, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use tumbler_domain::clock::to_millis;
use tumbler_domain::permission::{Permission, Role};

const COLUMNS: &str = "name, description, permissions, require_mfa, builtin";

fn from_row(row: &AnyRow) -> Result<Role, StoreError> {
    let perms: String = col(row, "permissions")?;
    Ok(Role {
        name: col(row, "name")?,
        description: col(row, "description")?,
        // Unknown names (from a newer build) are ignored rather than granted.
        permissions: perms.split(',').filter_map(Permission::parse).collect(),
        require_mfa: col::<i64>(row, "require_mfa")? != 0,
        builtin: col::<i64>(row, "builtin")? != 0,
    })
}

fn perms_text(role: &Role) -> String {
    role.permissions
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

impl Store {
    /// Every role, by name.
    pub async fn roles(&self) -> Result<Vec<Role>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM roles ORDER BY name");
        let rows = sqlx::query(&sql)
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::query)?;
        rows.iter().map(from_row).collect()
    }

    /// The role called `name`.
    pub async fn role(&self, name: &str) -> Result<Option<Role>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM roles WHERE name = $1");
        self.find_one(&sql, name, from_row).await
    }
}

impl Tx {
    /// Inserts a role; a taken name is [`StoreError::Duplicate`].
    pub async fn insert_role(&mut self, role: &Role, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO roles (name, description, permissions, require_mfa, builtin, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&role.name)
        .bind(&role.description)
        .bind(perms_text(role))
        .bind(i64::from(role.require_mfa))
        .bind(i64::from(role.builtin))
        .bind(to_millis(now))
        .execute(self.conn())
        .await
        .map_err(StoreError::unique(tumbler_domain::object::ObjectKind::Role))?;
        Ok(())
    }

    /// Sets a role's description and permissions (built-in roles at start-up).
    pub async fn update_role_definition(&mut self, role: &Role) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE roles SET description = $1, permissions = $2, builtin = $3 WHERE name = $4",
        )
        .bind(&role.description)
        .bind(perms_text(role))
        .bind(i64::from(role.builtin))
        .bind(&role.name)
        .execute(self.conn())
        .await
        .map_err(StoreError::query)?;
        Ok(())
    }

    /// Sets whether a role requires MFA; returns whether the role exists.
    pub async fn set_role_mfa(
        &mut self,
        name: &str,
        require_mfa: bool,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE roles SET require_mfa = $1 WHERE name = $2")
            .bind(i64::from(require_mfa))
            .bind(name)
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes a custom role; returns whether one was deleted.
    pub async fn delete_custom_role(&mut self, name: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM roles WHERE name = $1 AND builtin = 0")
            .bind(name)
            .execute(self.conn())
            .await
            .map_err(StoreError::query)?;
        Ok(done.rows_affected() == 1)
    }
}
