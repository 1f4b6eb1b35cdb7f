//! MySQL and MariaDB: a login proves the password.

use super::{DbError, DbTarget};
use secrecy::{ExposeSecret, SecretString};
use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
use sqlx::{ConnectOptions, Connection};

/// Logs in as `username` with `password` (TLS when the server offers it), runs `SELECT 1`
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
        .password(password.expose_secret())
        .ssl_mode(MySqlSslMode::Preferred)
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
