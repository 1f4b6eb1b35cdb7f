//! Migrations, one list per backend, applied in order inside one transaction each. A migration
//! whose SQL both backends accept lives once in `migrations/shared/`.

use crate::{col, Backend, Store, StoreError};

type Migration = (i64, &'static str);

const SQLITE: &[Migration] = &[
    (1, include_str!("../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../migrations/sqlite/0002_roles.sql")),
    (3, include_str!("../migrations/sqlite/0003_totp.sql")),
    (4, include_str!("../migrations/sqlite/0004_domains.sql")),
    (
        5,
        include_str!("../migrations/sqlite/0005_password_history.sql"),
    ),
    (
        6,
        include_str!("../migrations/sqlite/0006_certificates.sql"),
    ),
    (7, include_str!("../migrations/shared/0007_inventory.sql")),
    (
        8,
        include_str!("../migrations/shared/0008_change_secret.sql"),
    ),
    (9, include_str!("../migrations/shared/0009_webhooks.sql")),
    (
        10,
        include_str!("../migrations/shared/0010_device_keys.sql"),
    ),
    (
        13,
        include_str!("../migrations/shared/0013_asset_connection_security.sql"),
    ),
    (
        14,
        include_str!("../migrations/shared/0014_change_retries.sql"),
    ),
    (
        15,
        include_str!("../migrations/shared/0015_reconcile_account.sql"),
    ),
];
const POSTGRES: &[Migration] = &[
    (1, include_str!("../migrations/postgres/0001_init.sql")),
    (2, include_str!("../migrations/postgres/0002_roles.sql")),
    (3, include_str!("../migrations/postgres/0003_totp.sql")),
    (4, include_str!("../migrations/postgres/0004_domains.sql")),
    (
        5,
        include_str!("../migrations/postgres/0005_password_history.sql"),
    ),
    (
        6,
        include_str!("../migrations/postgres/0006_certificates.sql"),
    ),
    (7, include_str!("../migrations/shared/0007_inventory.sql")),
    (
        8,
        include_str!("../migrations/shared/0008_change_secret.sql"),
    ),
    (9, include_str!("../migrations/shared/0009_webhooks.sql")),
    (
        10,
        include_str!("../migrations/shared/0010_device_keys.sql"),
    ),
    (
        13,
        include_str!("../migrations/shared/0013_asset_connection_security.sql"),
    ),
    (
        14,
        include_str!("../migrations/shared/0014_change_retries.sql"),
    ),
    (
        15,
        include_str!("../migrations/shared/0015_reconcile_account.sql"),
    ),
];

/// Serialises migrations of several nodes sharing one PostgreSQL database.
const PG_MIGRATION_LOCK: i64 = 0x7475_6d62_6c65;

impl Store {
    fn migrations(&self) -> &'static [Migration] {
        match self.backend() {
            Backend::Sqlite => SQLITE,
            Backend::Postgres => POSTGRES,
        }
    }

    /// The newest schema version this build knows.
    pub fn latest_schema_version(&self) -> i64 {
        self.migrations().last().map(|m| m.0).unwrap_or(0)
    }

    /// The schema version the database is at (0 when never migrated).
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let exists_sql = match self.backend() {
            Backend::Sqlite => {
                "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
            }
            Backend::Postgres => {
                "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations'"
            }
        };
        let row = sqlx::query(exists_sql)
            .fetch_one(self.pool())
            .await
            .map_err(StoreError::query)?;
        if col::<i64>(&row, "n")? == 0 {
            return Ok(0);
        }
        let row = sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
            .fetch_one(self.pool())
            .await
            .map_err(StoreError::query)?;
        col(&row, "v")
    }

    /// Applies every migration not applied yet; returns how many were applied.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        let mut lock_conn = None;
        if self.backend() == Backend::Postgres {
            let mut conn = self.pool().acquire().await.map_err(StoreError::connect)?;
            sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(PG_MIGRATION_LOCK)
                .execute(&mut *conn)
                .await
                .map_err(StoreError::query)?;
            lock_conn = Some(conn);
        }
        let result = self.apply_pending().await;
        if let Some(mut conn) = lock_conn {
            sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(PG_MIGRATION_LOCK)
                .execute(&mut *conn)
                .await
                .map_err(StoreError::query)?;
        }
        result
    }

    async fn apply_pending(&self) -> Result<usize, StoreError> {
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .execute(self.pool())
        .await
        .map_err(StoreError::query)?;
        let current = self.schema_version().await?;
        let latest = self.latest_schema_version();
        if current > latest {
            return Err(StoreError::SchemaTooNew {
                found: current,
                known: latest,
            });
        }
        let mut applied = 0;
        for (version, sql) in self.migrations().iter().filter(|m| m.0 > current) {
            let fail = |source| StoreError::Migration {
                version: *version,
                source,
            };
            let mut tx = self.begin().await?;
            sqlx::raw_sql(sql).execute(tx.conn()).await.map_err(fail)?;
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                .bind(*version)
                .bind(chrono::Utc::now().timestamp_millis())
                .execute(tx.conn())
                .await
                .map_err(fail)?;
            tx.commit().await?;
            tracing::info!(version, "applied migration");
            applied += 1;
        }
        Ok(applied)
    }
}
