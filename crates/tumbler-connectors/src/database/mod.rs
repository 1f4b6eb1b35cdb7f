//! Logins to database-like targets (PostgreSQL, MySQL/MariaDB, Redis) to prove a password
//! works, and a bare TCP probe for connectivity. Passwords stay in `secrecy` types: they are
//! handed to the driver's connect options, never put in a URL, a log line or an error.

mod error;
mod mysql;
mod postgres;
mod redis;
mod scram;

pub use error::DbError;
pub use mysql::{mysql_native_hash, quote_literal, verify_mysql, MysqlAdmin};
pub use postgres::{quote_identifier, verify_postgres, PostgresAdmin};
pub use redis::{verify_redis, RedisAdmin};
pub use scram::{scram_sha256_verifier, scram_sha256_verifier_with, NotAscii};

use std::time::Duration;

/// Where a database listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbTarget {
    /// Host name or IP address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// The limit for connecting and logging in.
    pub timeout: Duration,
    /// The limit the server itself enforces on each statement of a change (PostgreSQL's
    /// `statement_timeout`, MariaDB's `max_statement_time`): past it the server cancels the
    /// statement, so a change that waited on a lock never lands later. The client gives up
    /// only after this plus `timeout`.
    pub statement_timeout: Duration,
}

impl DbTarget {
    /// A target at `host:port` with a 15 s limit for logging in and 60 s for a statement.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
            timeout: Duration::from_secs(15),
            statement_timeout: Duration::from_secs(60),
        }
    }

    /// How long the client waits for a change statement: the server's limit plus a margin.
    fn change_wait(&self) -> Duration {
        self.statement_timeout + self.timeout
    }

    fn display(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Opens a TCP connection to the target and closes it: the reachability test for platforms
/// with no credential-free handshake worth doing.
pub async fn probe_tcp(target: &DbTarget) -> Result<(), DbError> {
    let connect = tokio::net::TcpStream::connect((target.host.as_str(), target.port));
    match tokio::time::timeout(target.timeout, connect).await {
        Err(_) => Err(DbError::Timeout),
        Ok(Err(e)) => Err(DbError::Unreachable {
            address: target.display(),
            reason: e.to_string(),
        }),
        Ok(Ok(_)) => Ok(()),
    }
}
