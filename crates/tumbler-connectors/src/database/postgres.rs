//! PostgreSQL: a login proves the password.

use super::{DbError, DbTarget, TlsMode};
use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{ConnectOptions, Connection};

/// The connection options' TLS for the target: verified TLS with the asset's CA (or the
/// system's roots) unless the target is on loopback. Fails before anything is sent when the
/// target's TLS mode is not allowed for its address.
fn with_tls(options: PgConnectOptions, target: &DbTarget) -> Result<PgConnectOptions, DbError> {
    target.tls.check(&target.host)?;
    Ok(match target.tls.mode {
        TlsMode::Disable => options.ssl_mode(PgSslMode::Disable),
        TlsMode::Require => options.ssl_mode(PgSslMode::Require),
        TlsMode::VerifyFull => {
            let options = options.ssl_mode(PgSslMode::VerifyFull);
            match &target.tls.ca_pem {
                Some(pem) => options.ssl_root_cert_from_pem(pem.as_bytes().to_vec()),
                None => options,
            }
        }
    })
}

/// Logs in to `database` as `username` with `password` over the target's TLS mode, runs
/// `SELECT 1` and disconnects.
pub async fn verify_postgres(
    target: &DbTarget,
    username: &str,
    password: &SecretString,
    database: &str,
) -> Result<(), DbError> {
    let options = PgConnectOptions::new()
        .host(&target.host)
        .port(target.port)
        .username(username)
        .password(password.expose_secret())
        .database(database)
        .application_name("tumbler")
        .disable_statement_logging();
    let options = with_tls(options, target)?;
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

/// A PostgreSQL identifier, double-quoted (inner quotes doubled).
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A connection to PostgreSQL as an account allowed to change roles' passwords, reused for
/// every account changed on one asset.
pub struct PostgresAdmin {
    conn: sqlx::PgConnection,
    timeout: std::time::Duration,
}

impl std::fmt::Debug for PostgresAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresAdmin").finish_non_exhaustive()
    }
}

impl PostgresAdmin {
    /// Logs in to `database` as `username` with `password`.
    pub async fn connect(
        target: &DbTarget,
        username: &str,
        password: &SecretString,
        database: &str,
    ) -> Result<Self, DbError> {
        let options = PgConnectOptions::new()
            .host(&target.host)
            .port(target.port)
            .username(username)
            .password(password.expose_secret())
            .database(database)
            .application_name("tumbler")
            .options([(
                "statement_timeout",
                target.statement_timeout.as_millis().to_string(),
            )])
            .disable_statement_logging();
        let options = with_tls(options, target)?;
        match tokio::time::timeout(target.timeout, options.connect()).await {
            Err(_) => Err(DbError::Timeout),
            Ok(Err(e)) => Err(DbError::from_sqlx(e, target.display())),
            Ok(Ok(conn)) => Ok(Self {
                conn,
                timeout: target.change_wait(),
            }),
        }
    }

    /// Sets `role`'s password to `new_password`, sent as a SCRAM-SHA-256 verifier computed
    /// here: the statement (which the server may log) never holds the clear password.
    pub async fn set_password(
        &mut self,
        role: &str,
        new_password: &SecretString,
    ) -> Result<(), DbError> {
        let verifier = super::scram::scram_sha256_verifier(new_password.expose_secret())
            .map_err(|e| DbError::Unsupported(e.to_string()))?;
        // The verifier is base64, digits, `$` and `:`: it needs no escaping in a literal.
        let sql = format!(
            "ALTER ROLE {} PASSWORD '{verifier}'",
            quote_identifier(role)
        );
        let run = sqlx::Executor::execute(&mut self.conn, sql.as_str());
        match tokio::time::timeout(self.timeout, run).await {
            Err(_) => Err(DbError::Timeout),
            Ok(Err(e)) => Err(DbError::from_sqlx(e, String::new())),
            Ok(Ok(_)) => Ok(()),
        }
    }

    /// Closes the connection.
    pub async fn close(self) {
        let _ = self.conn.close().await;
    }
}
