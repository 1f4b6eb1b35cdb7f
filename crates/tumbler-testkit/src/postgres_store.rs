//! Throwaway databases on the machine's PostgreSQL for Tumbler's own store.
//!
//! The machine's server (127.0.0.1:5432, user `postgres`, trust
//! authentication) is fine for the store: those tests are about Tumbler's SQL,
//! not about passwords. For password tests against a PostgreSQL *target* use
//! [`crate::pg_cluster::PgCluster`], which checks passwords.

use std::process::{Command, Stdio};
use std::time::Duration;

use sqlx::{Connection, PgConnection};

use crate::util::{quote_ident, unique_name};

/// Host of the machine's PostgreSQL.
pub const HOST: &str = "127.0.0.1";
/// Port of the machine's PostgreSQL.
pub const PORT: u16 = 5432;
/// Role used to create and drop the throwaway databases.
pub const ADMIN_USER: &str = "postgres";

/// How long connecting to the machine's PostgreSQL may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// URL of the machine's PostgreSQL maintenance database `postgres`.
pub fn admin_url() -> String {
    format!("postgres://{ADMIN_USER}@{HOST}:{PORT}/postgres")
}

/// Whether the machine's PostgreSQL answers and lets `postgres` in.
///
/// Use it only to print a hint; tests that need the PostgreSQL store must call
/// [`PgStoreDb::create`], which fails the test (never skips it) when the
/// server is missing, so CI cannot pass with the PostgreSQL leg not run.
pub async fn available() -> bool {
    matches!(
        tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect(&admin_url())).await,
        Ok(Ok(_))
    )
}

async fn admin_connection() -> PgConnection {
    match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect(&admin_url())).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => panic!(
            "the PostgreSQL store tests need the machine's PostgreSQL at {HOST}:{PORT} \
             (user {ADMIN_USER}, trust auth) and could not connect: {e}. \
             Run scripts/test-deps to install and start it."
        ),
        Err(_) => panic!(
            "the PostgreSQL store tests need the machine's PostgreSQL at {HOST}:{PORT}: \
             connecting timed out after {CONNECT_TIMEOUT:?}. Run scripts/test-deps."
        ),
    }
}

/// A uniquely named, empty database on the machine's PostgreSQL, dropped by
/// [`PgStoreDb::drop_db`] or, failing that, on `Drop`.
#[derive(Debug)]
pub struct PgStoreDb {
    name: String,
    dropped: bool,
}

impl PgStoreDb {
    /// Creates a fresh database `tumbler_test_<uuid>`.
    ///
    /// # Panics
    /// If the machine's PostgreSQL is unreachable or refuses the creation:
    /// the test fails with a message saying so, it is never skipped.
    pub async fn create() -> Self {
        let name = unique_name("tumbler_test");
        let mut conn = admin_connection().await;
        sqlx::raw_sql(&format!("CREATE DATABASE {}", quote_ident(&name)))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name} failed: {e}"));
        let _ = conn.close().await;
        Self {
            name,
            dropped: false,
        }
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `postgres://postgres@127.0.0.1:5432/<name>`.
    pub fn url(&self) -> String {
        format!("postgres://{ADMIN_USER}@{HOST}:{PORT}/{}", self.name)
    }

    /// Drops the database, closing any connection still open to it.
    ///
    /// # Panics
    /// If the server refuses the drop.
    pub async fn drop_db(mut self) {
        let mut conn = admin_connection().await;
        sqlx::raw_sql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote_ident(&self.name)
        ))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("DROP DATABASE {} failed: {e}", self.name));
        let _ = conn.close().await;
        self.dropped = true;
    }

    /// Whether a database with this name exists on the server right now.
    pub async fn exists(name: &str) -> bool {
        let mut conn = admin_connection().await;
        let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
            .bind(name)
            .fetch_optional(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("querying pg_database failed: {e}"));
        let _ = conn.close().await;
        found.is_some()
    }
}

impl Drop for PgStoreDb {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        // Best effort, without an async runtime: a blocking `dropdb` process.
        let result = Command::new("dropdb")
            .args(["--if-exists", "--force", "--no-password"])
            .args(["-h", HOST, "-p", &PORT.to_string(), "-U", ADMIN_USER])
            .arg(&self.name)
            .env("PGCONNECT_TIMEOUT", "10")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output();
        match result {
            Ok(out) if out.status.success() => {}
            Ok(out) => eprintln!(
                "tumbler-testkit: dropdb {} failed: {}",
                self.name,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(e) => eprintln!("tumbler-testkit: cannot run dropdb {}: {e}", self.name),
        }
    }
}
