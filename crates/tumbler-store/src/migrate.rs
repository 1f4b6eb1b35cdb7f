//! Migrations, run by sqlx's [`Migrator`] (bookkeeping in `_sqlx_migrations`, checksums, the
//! PostgreSQL advisory lock that serialises several nodes sharing one database).
//!
//! The directories are the lists: `migrations/sqlite/` and `migrations/postgres/` hold what
//! differs per backend, `migrations/shared/` what both accept, once. A backend runs its own
//! directory merged with the shared one, in version order. Both backends must know the same
//! versions (a test checks it), so a migration that differs has a file in each backend's
//! directory under the same number. Adding a file is all it takes: `build.rs` makes cargo
//! notice new files.
//!
//! Databases created before sqlx ran the migrations kept their bookkeeping in a
//! `schema_migrations` table; the first [`Store::migrate`] adopts it (see [`adopt_legacy`]).

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migrate, MigrateError, Migration, MigrationSource, Migrator};
use sqlx::AnyConnection;

use crate::{col, Backend, Store, StoreError};

static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");
static SHARED: Migrator = sqlx::migrate!("migrations/shared");

/// The bookkeeping table of the migrator Tumbler used before sqlx's.
const LEGACY_TABLE: &str = "schema_migrations";
/// sqlx's bookkeeping table.
const SQLX_TABLE: &str = "_sqlx_migrations";

/// Every migration of `backend`, in version order.
fn migrations(backend: Backend) -> Vec<Migration> {
    let own = match backend {
        Backend::Sqlite => &SQLITE,
        Backend::Postgres => &POSTGRES,
    };
    let mut all: Vec<Migration> = own.iter().chain(SHARED.iter()).cloned().collect();
    all.sort_by_key(|m| m.version);
    all
}

/// Hands the merged, embedded migrations to [`Migrator::new`].
#[derive(Debug)]
struct Embedded(Vec<Migration>);

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        Box::pin(async move { Ok(self.0) })
    }
}

impl Store {
    /// The newest schema version this build knows.
    pub fn latest_schema_version(&self) -> i64 {
        migrations(self.backend())
            .last()
            .map(|m| m.version)
            .unwrap_or(0)
    }

    /// The schema version the database is at (0 when never migrated): the newest version
    /// applied, read from sqlx's table, or from the legacy table of a database not adopted yet.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        // The legacy table goes in the transaction that adopts it: while it is there, it is
        // the one that counts.
        let table = if self.table_exists(LEGACY_TABLE).await? {
            LEGACY_TABLE
        } else if self.table_exists(SQLX_TABLE).await? {
            SQLX_TABLE
        } else {
            return Ok(0);
        };
        let sql = if table == SQLX_TABLE {
            "SELECT COALESCE(MAX(version), 0) AS v FROM _sqlx_migrations WHERE success = TRUE"
        } else {
            "SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations"
        };
        let row = sqlx::query(sql)
            .fetch_one(self.pool())
            .await
            .map_err(StoreError::query)?;
        col(&row, "v")
    }

    async fn table_exists(&self, name: &str) -> Result<bool, StoreError> {
        let sql = match self.backend() {
            Backend::Sqlite => {
                "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = $1"
            }
            Backend::Postgres => {
                "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1"
            }
        };
        let row = sqlx::query(sql)
            .bind(name)
            .fetch_one(self.pool())
            .await
            .map_err(StoreError::query)?;
        Ok(col::<i64>(&row, "n")? > 0)
    }

    /// Applies every migration not applied yet; returns how many were applied.
    ///
    /// Runs on a connection of its own, closed afterwards whatever happens, so the
    /// PostgreSQL advisory lock never outlives the call (not even after a failure).
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        let mut conn = self
            .pool()
            .acquire()
            .await
            .map_err(StoreError::connect)?
            .detach();
        let result = self.migrate_locked(&mut conn).await;
        if let Err(e) = sqlx::Connection::close(conn).await {
            tracing::warn!(error = %e, "closing the migration connection failed");
        }
        result
    }

    async fn migrate_locked(&self, conn: &mut AnyConnection) -> Result<usize, StoreError> {
        let migrations = migrations(self.backend());
        let latest = migrations.last().map(|m| m.version).unwrap_or(0);
        conn.lock().await.map_err(|e| migrate_error(e, latest))?;
        let result = async {
            conn.ensure_migrations_table()
                .await
                .map_err(|e| migrate_error(e, latest))?;
            self.adopt_legacy(conn, &migrations).await?;
            let applied: HashSet<i64> = conn
                .list_applied_migrations()
                .await
                .map_err(|e| migrate_error(e, latest))?
                .into_iter()
                .map(|m| m.version)
                .collect();
            let pending = migrations
                .iter()
                .filter(|m| !applied.contains(&m.version))
                .count();
            let mut migrator = Migrator::new(Embedded(migrations))
                .await
                .map_err(|e| migrate_error(e, latest))?;
            // The lock is already held, on this very connection.
            migrator.set_locking(false);
            migrator
                .run_direct(&mut *conn)
                .await
                .map_err(|e| migrate_error(e, latest))?;
            if pending > 0 {
                tracing::info!(applied = pending, latest, "applied migrations");
            }
            Ok(pending)
        }
        .await;
        let unlocked = conn.unlock().await.map_err(|e| migrate_error(e, latest));
        let pending = result?;
        unlocked?;
        Ok(pending)
    }

    /// One-time adoption of a database migrated by Tumbler's earlier, hand-written migrator:
    /// every version its `schema_migrations` table records is written to `_sqlx_migrations`
    /// (with the checksum of the same, unchanged file) and the old table is dropped, in one
    /// transaction, so sqlx applies only what came later. A version this build does not know
    /// means a newer Tumbler migrated the database: refused, nothing changed.
    async fn adopt_legacy(
        &self,
        conn: &mut AnyConnection,
        migrations: &[Migration],
    ) -> Result<(), StoreError> {
        if !self.table_exists(LEGACY_TABLE).await? {
            return Ok(());
        }
        let known = migrations.last().map(|m| m.version).unwrap_or(0);
        let rows = sqlx::query("SELECT version FROM schema_migrations ORDER BY version")
            .fetch_all(&mut *conn)
            .await
            .map_err(StoreError::query)?;
        let mut versions = Vec::with_capacity(rows.len());
        for row in &rows {
            versions.push(col::<i64>(row, "version")?);
        }
        let mut tx = sqlx::Connection::begin(&mut *conn)
            .await
            .map_err(StoreError::query)?;
        for version in &versions {
            let Some(m) = migrations.iter().find(|m| m.version == *version) else {
                return Err(StoreError::SchemaTooNew {
                    found: *version,
                    known,
                });
            };
            let fail = |source| StoreError::Migration {
                version: *version,
                source,
            };
            sqlx::query(
                "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(m.version)
            .bind(m.description.to_string())
            .bind(true)
            .bind(m.checksum.to_vec())
            .bind(-1_i64)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        }
        sqlx::query("DROP TABLE schema_migrations")
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query)?;
        tx.commit().await.map_err(StoreError::query)?;
        tracing::info!(
            adopted = versions.len(),
            "recorded the versions of the earlier migrator in _sqlx_migrations"
        );
        Ok(())
    }
}

/// Maps sqlx's migration errors onto the store's (codes unchanged: `migration_failed`,
/// `schema_too_new`, `database_error`).
fn migrate_error(e: MigrateError, known: i64) -> StoreError {
    match e {
        MigrateError::ExecuteMigration(source, version) => {
            StoreError::Migration { version, source }
        }
        MigrateError::Execute(source) => StoreError::Query(source),
        // Applied by a newer Tumbler: this build does not have it.
        MigrateError::VersionMissing(found) => StoreError::SchemaTooNew { found, known },
        MigrateError::VersionMismatch(version) | MigrateError::Dirty(version) => {
            StoreError::Migration {
                version,
                source: sqlx::Error::Migrate(Box::new(e)),
            }
        }
        other => StoreError::Migration {
            version: 0,
            source: sqlx::Error::Migrate(Box::new(other)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(backend: Backend) -> Vec<i64> {
        migrations(backend).iter().map(|m| m.version).collect()
    }

    #[test]
    fn both_backends_know_the_same_versions_each_once() {
        let sqlite = versions(Backend::Sqlite);
        assert!(!sqlite.is_empty());
        assert_eq!(sqlite, versions(Backend::Postgres));
        let mut unique = sqlite.clone();
        unique.dedup();
        assert_eq!(unique, sqlite, "a version is both per-backend and shared");
    }

    #[test]
    fn migrations_run_in_a_transaction() {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            assert!(migrations(backend).iter().all(|m| !m.no_tx));
        }
    }
}
