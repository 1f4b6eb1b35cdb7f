//! Tumbler's persistent store.
//!
//! One implementation over sqlx's `Any` driver serves both backends: SQLite (the embedded
//! default, one file) and PostgreSQL (several Tumbler nodes sharing the work). SQL is written
//! once in the dialect both accept; migrations are shared where both accept them and per
//! backend otherwise (`migrate`). The same contract tests run against both. Every mutation
//! happens inside a [`Tx`], so the audit event that describes it is committed atomically with
//! it.

use std::sync::{Arc, OnceLock};

mod api_tokens;
mod audit;
mod backup;
mod certificates;
mod change_secret;
mod conditions;
mod domains;
mod error;
mod inventory;
mod jobs;
mod meta;
mod migrate;
mod password_history;
mod roles;
mod secrets;
mod sessions;
mod totp;
mod tx;
mod users;
mod webhooks;

pub use api_tokens::{ApiTokenRow, NewApiToken};
pub use audit::{AuditFilter, AuditKey};
pub use backup::restore_sqlite;
pub use certificates::CertificateRow;
pub use change_secret::{
    ExecutionFilter, ExecutionRow, LogLine, RecordFilter, RecordRow, Resolution, RetryLink,
    RetryOutcome, RollForward, TaskRow,
};
pub use domains::DomainRow;
pub use error::StoreError;
pub use inventory::{
    AccountFilter, AccountRow, AssetFilter, AssetRow, AssetSecurity, HostKeyState, NodeRow,
};
pub use jobs::JobRow;
pub use secrets::{DataKeyRow, SealedSecretRow};
pub use sessions::{NewSession, SessionRow};
pub use totp::{TotpRow, TotpState};
pub use tx::Tx;
pub use users::{NewUser, UserChanges, UserFilter, UserRow};
pub use webhooks::WebhookRow;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::AnyPool;
use std::time::Duration;

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file.
    Sqlite,
    /// A PostgreSQL database.
    Postgres,
}

impl Backend {
    /// The backend a database URL names.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }

    /// The backend's name as shown to people.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// A connection pool to Tumbler's database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The audit chain's key, once the vault gave it ([`Store::set_audit_key`]); shared by
    /// every clone.
    audit_key: Arc<OnceLock<AuditKey>>,
}

impl Store {
    /// Connects to `url` (`sqlite://PATH` or `postgres://...`). SQLite files are created when
    /// missing and switched to write-ahead logging (unless opened with `mode=ro`). Migrations are not applied here.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let url = match backend {
            Backend::Sqlite if !url.contains('?') => format!("{url}?mode=rwc"),
            _ => url.to_owned(),
        };
        let max = match backend {
            Backend::Sqlite => 4,
            Backend::Postgres => 10,
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(10))
            .connect(&url)
            .await
            .map_err(StoreError::connect)?;
        if backend == Backend::Sqlite && !url.contains("mode=ro") {
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await
                .map_err(StoreError::connect)?;
        }
        Ok(Self {
            pool,
            backend,
            audit_key: Arc::new(OnceLock::new()),
        })
    }

    /// Keys the audit chain: every event appended from now on, through this store or any of
    /// its clones, is linked with HMAC-SHA256 under `key`. Set once; a second call is ignored.
    pub fn set_audit_key(&self, key: AuditKey) {
        let _ = self.audit_key.set(key);
    }

    /// The audit chain's key, once set.
    pub fn audit_key(&self) -> Option<AuditKey> {
        self.audit_key.get().cloned()
    }

    /// The backend this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a transaction. SQLite transactions take the write lock at once
    /// (`BEGIN IMMEDIATE`) so two writers queue instead of failing on upgrade.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let inner = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
        .map_err(StoreError::query)?;
        Ok(Tx::new(inner, self.backend, self.audit_key.get().cloned()))
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(StoreError::query)
    }

    /// Closes every connection, waiting for those in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The row `sql` finds with its one parameter (`$1`) set to `key`, read by `from_row`.
    pub(crate) async fn find_one<T>(
        &self,
        sql: &str,
        key: &str,
        from_row: fn(&AnyRow) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let row = sqlx::query(sql)
            .bind(key)
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::query)?;
        row.as_ref().map(from_row).transpose()
    }

    /// Every row `sql` finds with its one parameter (`$1`) set to `key`, read by `from_row`.
    pub(crate) async fn find_all<T>(
        &self,
        sql: &str,
        key: &str,
        from_row: fn(&AnyRow) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let rows = sqlx::query(sql)
            .bind(key)
            .fetch_all(self.pool())
            .await
            .map_err(StoreError::query)?;
        rows.iter().map(from_row).collect()
    }

    /// Sets a time on one row outside any transaction (a last-use mark, not audited): `sql`
    /// is an `UPDATE` whose `$1` is the time and `$2` the row's id.
    pub(crate) async fn mark_used(
        &self,
        sql: &str,
        id: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(sql)
            .bind(tumbler_domain::clock::to_millis(at))
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(StoreError::query)?;
        Ok(())
    }
}

/// Reads a column, mapping a decode failure to [`StoreError`].
pub(crate) fn col<T>(row: &AnyRow, name: &str) -> Result<T, StoreError>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    use sqlx::Row;
    row.try_get(name).map_err(StoreError::query)
}
