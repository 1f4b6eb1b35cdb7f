//! MySQL and MariaDB: a login proves the password.

use super::{DbError, DbTarget, TlsMode};
use secrecy::{ExposeSecret, SecretString};
use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
use sqlx::{ConnectOptions, Connection};

/// Logs in as `username` with `password` over the target's TLS mode, runs `SELECT 1`
/// and disconnects.
pub async fn verify_mysql(
    target: &DbTarget,
    username: &str,
    password: &SecretString,
) -> Result<(), DbError> {
    let options = MySqlConnectOptions::new()
        .host(&target.host)
        .port(target.port)
        .username(username)
        .disable_statement_logging();
    let options = with_password(with_tls(options, target)?, password);
    let address = target.display();
    let login = async {
        let mut conn = options.connect().await?;
        sqlx::query("SELECT 1").execute(&mut conn).await?;
        conn.close().await
    };
    match tokio::time::timeout(target.timeout, login).await {
        Err(_) => Err(DbError::Timeout),
        Ok(result) => result.map_err(|e| DbError::from_sqlx(e, address)),
    }
}

/// The connection options' TLS for the target (see the PostgreSQL connector): verified TLS
/// with the asset's CA (or the system's roots) and the host name checked, unless the target
/// is on loopback. Fails before anything is sent when the mode is not allowed for the address.
fn with_tls(
    options: MySqlConnectOptions,
    target: &DbTarget,
) -> Result<MySqlConnectOptions, DbError> {
    target.tls.check(&target.host)?;
    Ok(match target.tls.mode {
        TlsMode::Disable => options.ssl_mode(MySqlSslMode::Disabled),
        TlsMode::Require => options.ssl_mode(MySqlSslMode::Required),
        TlsMode::VerifyFull => {
            let options = options.ssl_mode(MySqlSslMode::VerifyIdentity);
            match &target.tls.ca_pem {
                Some(pem) => options.ssl_ca_from_pem(pem.as_bytes().to_vec()),
                None => options,
            }
        }
    })
}

/// Sets the password, unless it is empty: an account without a password must send an
/// empty authentication response, not the scramble of an empty string.
fn with_password(options: MySqlConnectOptions, password: &SecretString) -> MySqlConnectOptions {
    if password.expose_secret().is_empty() {
        options
    } else {
        options.password(password.expose_secret())
    }
}

/// Sets the native hash on every `user@host` entry named `user`, or, when the session's own
/// user is changed (`own`), on the entry it logged in as: a user may set its own password
/// without reading `mysql.user` (MariaDB only).
async fn set_native_hash(
    conn: &mut sqlx::MySqlConnection,
    user: String,
    own: bool,
    hash: String,
    statement_timeout: std::time::Duration,
) -> Result<HashOutcome, sqlx::Error> {
    use sqlx::Executor;
    let (version,): (String,) = sqlx::query_as("SELECT VERSION()")
        .fetch_one(&mut *conn)
        .await?;
    if !version.contains("MariaDB") {
        // MySQL would take the hash for the clear password; refuse before changing anything.
        return Ok(HashOutcome::NotMariaDb);
    }
    // The server cancels a statement (or a wait for a lock) at the limit, so a change that
    // waited never lands after the client gave up.
    let limit = statement_timeout.as_secs().max(1);
    conn.execute(
        format!("SET SESSION max_statement_time = {limit}, lock_wait_timeout = {limit}").as_str(),
    )
    .await?;
    if own {
        conn.execute(format!("SET PASSWORD = '{hash}'").as_str())
            .await?;
        return Ok(HashOutcome::Set);
    }
    let hosts: Vec<(String,)> =
        sqlx::query_as("SELECT CAST(Host AS CHAR) FROM mysql.user WHERE User = ?")
            .bind(user.clone())
            .fetch_all(&mut *conn)
            .await?;
    if hosts.is_empty() {
        return Ok(HashOutcome::NoSuchUser);
    }
    for (host,) in hosts {
        let sql = format!(
            "SET PASSWORD FOR {}@{} = '{hash}'",
            quote_literal(&user),
            quote_literal(&host)
        );
        conn.execute(sql.as_str()).await?;
    }
    Ok(HashOutcome::Set)
}

/// What setting the native hash did.
enum HashOutcome {
    /// Set on every host entry of the user.
    Set,
    /// No such user.
    NoSuchUser,
    /// The server is not MariaDB.
    NotMariaDb,
}

/// A MySQL string literal: single-quoted, with quotes and backslashes escaped.
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// MySQL's native password hash: `*` and the upper-case hex of SHA1(SHA1(password)).
pub fn mysql_native_hash(password: &str) -> String {
    use sha1::{Digest, Sha1};
    let inner = Sha1::digest(password.as_bytes());
    let outer = Sha1::digest(inner);
    let hex: String = outer.iter().map(|b| format!("{b:02X}")).collect();
    format!("*{hex}")
}

/// A connection to MySQL/MariaDB as an account allowed to change users' passwords, reused
/// for every account changed on one asset.
pub struct MysqlAdmin {
    conn: sqlx::MySqlConnection,
    /// The user the connection logged in as.
    login: String,
    /// The client's wait for a change.
    timeout: std::time::Duration,
    /// The server's limit per statement.
    statement_timeout: std::time::Duration,
}

impl std::fmt::Debug for MysqlAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MysqlAdmin").finish_non_exhaustive()
    }
}

impl MysqlAdmin {
    /// Logs in as `username` with `password`.
    pub async fn connect(
        target: &DbTarget,
        username: &str,
        password: &SecretString,
    ) -> Result<Self, DbError> {
        let options = MySqlConnectOptions::new()
            .host(&target.host)
            .port(target.port)
            .username(username)
            .disable_statement_logging();
        let options = with_password(with_tls(options, target)?, password);
        match tokio::time::timeout(target.timeout, options.connect()).await {
            Err(_) => Err(DbError::Timeout),
            Ok(Err(e)) => Err(DbError::from_sqlx(e, target.display())),
            Ok(Ok(conn)) => Ok(Self {
                conn,
                login: username.to_owned(),
                timeout: target.change_wait(),
                statement_timeout: target.statement_timeout,
            }),
        }
    }

    /// Sets the password of every `user@host` entry named `user` (of the entry logged in as,
    /// when `user` is the connection's own), sent as the native hash so the clear password is
    /// never in a statement the server may log. MariaDB only: a MySQL server is refused
    /// before anything changes.
    pub async fn set_password(
        &mut self,
        user: &str,
        new_password: &SecretString,
    ) -> Result<(), DbError> {
        let hash = mysql_native_hash(new_password.expose_secret());
        let work = set_native_hash(
            &mut self.conn,
            user.to_owned(),
            user == self.login,
            hash,
            self.statement_timeout,
        );
        match tokio::time::timeout(self.timeout, work).await {
            Err(_) => Err(DbError::Timeout),
            Ok(Err(e)) => Err(DbError::from_sqlx(e, String::new())),
            Ok(Ok(HashOutcome::NoSuchUser)) => {
                Err(DbError::Protocol(format!("no user named {user}")))
            }
            Ok(Ok(HashOutcome::NotMariaDb)) => Err(DbError::Unsupported(
                "password changes need MariaDB (MySQL would store the hash as the password)"
                    .to_owned(),
            )),
            Ok(Ok(HashOutcome::Set)) => Ok(()),
        }
    }

    /// Closes the connection.
    pub async fn close(self) {
        let _ = self.conn.close().await;
    }
}
