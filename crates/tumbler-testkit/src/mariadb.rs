//! Throwaway users and databases on the machine's MariaDB.
//!
//! MariaDB checks the passwords of the users it creates, so unlike the
//! machine's PostgreSQL it can serve password tests directly. Each
//! [`MariaDbScratch`] creates a uniquely named user (host `%`) with a random
//! password and a database of the same name that the user owns, and drops
//! both afterwards.

use std::process::{Command, Stdio};
use std::time::Duration;

use sqlx::{Connection, MySqlConnection};

use crate::util::{
    percent_encode, quote_mysql_ident, quote_mysql_literal, random_password, unique_name,
};

/// Host of the machine's MariaDB.
pub const HOST: &str = "127.0.0.1";
/// Port of the machine's MariaDB.
pub const PORT: u16 = 3306;
/// Administrative user (empty password over TCP on 127.0.0.1).
pub const ADMIN_USER: &str = "root";

/// How long connecting to the machine's MariaDB may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// `mysql://root@127.0.0.1:3306/`.
pub fn admin_url() -> String {
    format!("mysql://{ADMIN_USER}@{HOST}:{PORT}/")
}

/// `mysql://USER:PASSWORD@127.0.0.1:3306/DATABASE` with user and password
/// percent-encoded; `database` may be empty.
pub fn url_for(user: &str, password: &str, database: &str) -> String {
    format!(
        "mysql://{}:{}@{HOST}:{PORT}/{database}",
        percent_encode(user),
        percent_encode(password)
    )
}

/// Whether the machine's MariaDB answers and lets `root` in.
pub async fn available() -> bool {
    matches!(
        tokio::time::timeout(CONNECT_TIMEOUT, MySqlConnection::connect(&admin_url())).await,
        Ok(Ok(_))
    )
}

/// A root connection to the machine's MariaDB.
///
/// # Panics
/// If MariaDB is unreachable: the test fails with a message saying so.
pub async fn admin_connection() -> MySqlConnection {
    match tokio::time::timeout(CONNECT_TIMEOUT, MySqlConnection::connect(&admin_url())).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => panic!(
            "MariaDB tests need the machine's MariaDB at {HOST}:{PORT} (user {ADMIN_USER}, \
             empty password) and could not connect: {e}. Run scripts/test-deps."
        ),
        Err(_) => panic!(
            "MariaDB tests need the machine's MariaDB at {HOST}:{PORT}: connecting timed out \
             after {CONNECT_TIMEOUT:?}. Run scripts/test-deps."
        ),
    }
}

/// Runs `sql` (one or more statements) as root.
///
/// # Panics
/// If a statement fails.
pub async fn admin_exec(sql: &str) {
    let mut conn = admin_connection().await;
    sqlx::raw_sql(sql)
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("MariaDB rejected {sql:?}: {e}"));
    let _ = conn.close().await;
}

/// A throwaway MariaDB user with a password and a database it owns.
///
/// Dropped by [`MariaDbScratch::drop_all`] or, failing that, best effort on
/// `Drop` with the `mariadb` client.
pub struct MariaDbScratch {
    user: String,
    password: String,
    database: String,
    dropped: bool,
}

impl std::fmt::Debug for MariaDbScratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MariaDbScratch")
            .field("user", &self.user)
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

impl MariaDbScratch {
    /// Creates user `tt_<uuid>`@`%` with a random password, and a database of
    /// the same name on which the user has all privileges.
    ///
    /// # Panics
    /// If MariaDB is unreachable or refuses: the test fails, never skips.
    pub async fn create() -> Self {
        let name = unique_name("tt");
        Self::create_with_password(&name, &random_password()).await
    }

    /// Like [`MariaDbScratch::create`] with the given user/database name and
    /// password (pick a unique name: tests run concurrently).
    pub async fn create_with_password(name: &str, password: &str) -> Self {
        let user = quote_mysql_literal(name);
        admin_exec(&format!(
            "CREATE USER {user}@'%' IDENTIFIED BY {pw};\
             CREATE DATABASE {db};\
             GRANT ALL PRIVILEGES ON {db}.* TO {user}@'%';",
            pw = quote_mysql_literal(password),
            db = quote_mysql_ident(name),
        ))
        .await;
        Self {
            user: name.to_owned(),
            password: password.to_owned(),
            database: name.to_owned(),
            dropped: false,
        }
    }

    /// The user's name (host part `%`).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The user's password.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The database's name.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// Server host, `127.0.0.1`.
    pub fn host(&self) -> &str {
        HOST
    }

    /// Server port, 3306.
    pub fn port(&self) -> u16 {
        PORT
    }

    /// URL logging in as this user into its database.
    pub fn url(&self) -> String {
        url_for(&self.user, &self.password, &self.database)
    }

    /// Drops the user and the database.
    ///
    /// # Panics
    /// If MariaDB refuses.
    pub async fn drop_all(mut self) {
        admin_exec(&self.drop_sql()).await;
        self.dropped = true;
    }

    fn drop_sql(&self) -> String {
        format!(
            "DROP USER IF EXISTS {}@'%'; DROP DATABASE IF EXISTS {};",
            quote_mysql_literal(&self.user),
            quote_mysql_ident(&self.database)
        )
    }
}

impl Drop for MariaDbScratch {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        // Best effort, without an async runtime: the `mariadb` client reads
        // the statements on stdin (nothing secret in them anyway).
        let child = Command::new("mariadb")
            .args(["-h", HOST, "-P", &PORT.to_string(), "-u", ADMIN_USER])
            .arg("--connect-timeout=10")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match child {
            Ok(child) => child,
            Err(e) => {
                eprintln!(
                    "tumbler-testkit: cannot run mariadb to drop {}: {e}",
                    self.user
                );
                return;
            }
        };
        if let Some(mut stdin) = child.stdin.take() {
            use std::io::Write;
            let _ = stdin.write_all(self.drop_sql().as_bytes());
        }
        match child.wait_with_output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => eprintln!(
                "tumbler-testkit: dropping MariaDB user {} failed: {}",
                self.user,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(e) => eprintln!("tumbler-testkit: mariadb for {}: {e}", self.user),
        }
    }
}
