//! PostgreSQL: a login proves the password.

use super::{DbError, DbTarget};
use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{ConnectOptions, Connection};

/// Logs in to `database` as `username` with `password` (TLS when the server offers it), runs
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
        .ssl_mode(PgSslMode::Prefer)
        .application_name("tumbler")
        .disable_statement_logging();
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
