//! Store errors. Database messages are kept for the log and never returned to clients.

use tumbler_domain::object::ObjectKind;

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL names no supported backend.
    #[error("database url must start with sqlite:// or postgres://")]
    UnsupportedUrl,
    /// The database could not be reached.
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    /// A statement failed.
    #[error("database query failed: {0}")]
    Query(#[source] sqlx::Error),
    /// A row violated a uniqueness rule.
    #[error("{0} already exists")]
    Duplicate(ObjectKind),
    /// A migration failed.
    #[error("migration {version} failed: {source}")]
    Migration {
        /// The migration's version.
        version: i64,
        /// The database error.
        source: sqlx::Error,
    },
    /// The database was migrated by a newer Tumbler.
    #[error("database schema version {found} is newer than this build knows ({known})")]
    SchemaTooNew {
        /// Version found in the database.
        found: i64,
        /// Newest version this build has.
        known: i64,
    },
    /// A stored value could not be understood.
    #[error("stored value is invalid: {0}")]
    Corrupt(String),
    /// A backup or restore step failed.
    #[error("backup: {0}")]
    Backup(String),
}

impl StoreError {
    pub(crate) fn connect(e: sqlx::Error) -> Self {
        Self::Connect(e)
    }

    pub(crate) fn query(e: sqlx::Error) -> Self {
        Self::Query(e)
    }

    /// Maps a unique-constraint violation to [`StoreError::Duplicate`].
    pub(crate) fn unique(what: ObjectKind) -> impl Fn(sqlx::Error) -> Self {
        move |e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => Self::Duplicate(what),
            _ => Self::Query(e),
        }
    }

    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnsupportedUrl => "database_url_unsupported",
            Self::Connect(_) => "database_unavailable",
            Self::Query(_) => "database_error",
            Self::Duplicate(_) => "already_exists",
            Self::Migration { .. } => "migration_failed",
            Self::SchemaTooNew { .. } => "schema_too_new",
            Self::Corrupt(_) => "store_corrupt",
            Self::Backup(_) => "backup_failed",
        }
    }
}
