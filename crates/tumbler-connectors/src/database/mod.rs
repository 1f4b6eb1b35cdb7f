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
pub use scram::{scram_sha256_verifier, UnsupportedPassword};

use std::time::Duration;

pub use tumbler_domain::inventory::TlsMode;

/// How a database connection proves the server's identity before a password goes to it.
#[derive(Clone, PartialEq, Eq)]
pub struct DbTls {
    /// `disable` (loopback only), `require` (loopback only: unverified TLS cannot stop a
    /// server that asks for the clear password) or `verify_full`.
    pub mode: TlsMode,
    /// The CA certificate(s) (PEM) the server's certificate must chain to; the system's roots
    /// when absent.
    pub ca_pem: Option<String>,
    /// Redis only: send `AUTH` without TLS to a non-loopback address.
    pub plaintext_auth_allowed: bool,
}

impl Default for DbTls {
    fn default() -> Self {
        Self {
            mode: TlsMode::VerifyFull,
            ca_pem: None,
            plaintext_auth_allowed: false,
        }
    }
}

impl std::fmt::Debug for DbTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbTls")
            .field("mode", &self.mode)
            .field("ca_pem", &self.ca_pem.as_ref().map(|p| p.len()))
            .field("plaintext_auth_allowed", &self.plaintext_auth_allowed)
            .finish()
    }
}

impl DbTls {
    /// Refuses, before anything is sent, a connection whose password could reach someone on
    /// the path: no verified TLS to a non-loopback address.
    fn check(&self, host: &str) -> Result<(), DbError> {
        if self.mode != TlsMode::VerifyFull && !tumbler_domain::inventory::is_loopback(host) {
            return Err(DbError::InsecureTransport(format!(
                "TLS mode {} is allowed only for loopback addresses; use verify_full",
                self.mode
            )));
        }
        Ok(())
    }
}

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
    /// TLS and what may be sent without it.
    pub tls: DbTls,
}

impl DbTarget {
    /// A target at `host:port` with a 15 s limit for logging in and 60 s for a statement;
    /// no TLS on a loopback address, verified TLS with the system's roots anywhere else.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        let host = host.into();
        let tls = DbTls {
            mode: if tumbler_domain::inventory::is_loopback(&host) {
                TlsMode::Disable
            } else {
                TlsMode::VerifyFull
            },
            ..DbTls::default()
        };
        Self {
            host,
            port,
            timeout: Duration::from_secs(15),
            statement_timeout: Duration::from_secs(60),
            tls,
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
