//! Why a database login failed, with stable codes. Never carries a secret.

/// What went wrong logging in to a database-like target.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The server refused the username and password.
    #[error("authentication failed")]
    AuthFailed,
    /// No TCP connection could be made.
    #[error("cannot reach {address}: {reason}")]
    Unreachable {
        /// `host:port` that was tried.
        address: String,
        /// The socket error.
        reason: String,
    },
    /// Connecting, logging in or a statement took longer than the client's limit: what the
    /// server did is unknown.
    #[error("timed out")]
    Timeout,
    /// The server cancelled a statement at its own time limit: nothing it did was kept.
    #[error("the server cancelled the statement at its time limit (a lock held elsewhere?)")]
    StatementCancelled,
    /// The secret cannot be set this way on this target.
    #[error("{0}")]
    Unsupported(String),
    /// The connection would not protect the password (no verified TLS to a non-loopback
    /// address): nothing was sent.
    #[error("refusing to send a password: {0}")]
    InsecureTransport(String),
    /// TLS could not be set up or the server's certificate was not accepted: nothing was sent.
    #[error("TLS failed before anything was sent: {0}")]
    Tls(String),
    /// A command reached the server but its reply never came back (the connection closed or
    /// failed while waiting): the server may have carried it out.
    #[error(
        "the connection was lost before the server answered; the command may have been carried out"
    )]
    ReplyLost,
    /// The conversation failed for another reason (TLS, protocol, server error).
    #[error("{0}")]
    Protocol(String),
}

impl DbError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::AuthFailed => "auth_failed",
            Self::Unreachable { .. } => "unreachable",
            Self::Timeout => "timeout",
            Self::StatementCancelled => "statement_cancelled",
            Self::Unsupported(_) => "unsupported_secret",
            Self::InsecureTransport(_) => "insecure_transport",
            Self::Tls(_) => "tls_failed",
            Self::ReplyLost => "reply_lost",
            Self::Protocol(_) => "protocol",
        }
    }

    /// Classifies a driver error. Authentication refusals are recognised by SQLSTATE class 28
    /// (PostgreSQL and MySQL both use it) or MySQL's error 1045.
    pub(crate) fn from_sqlx(e: sqlx::Error, address: String) -> Self {
        match e {
            sqlx::Error::Database(db) => {
                let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
                let mysql_denied = db
                    .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
                    .is_some_and(|m| m.number() == 1045);
                // PostgreSQL's query_canceled; MariaDB's max_statement_time and lock wait
                // limits.
                let cancelled = code == "57014"
                    || db
                        .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
                        .is_some_and(|m| matches!(m.number(), 1969 | 1205));
                if code.starts_with("28") || mysql_denied {
                    Self::AuthFailed
                } else if cancelled {
                    Self::StatementCancelled
                } else {
                    Self::Protocol(format!("server error {code}: {}", db.message()))
                }
            }
            // A TLS handshake that fails (an unknown issuer, a wrong name) surfaces as
            // invalid data on the stream.
            sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => {
                Self::Tls(io.to_string())
            }
            sqlx::Error::Io(io) => Self::Unreachable {
                address,
                reason: io.to_string(),
            },
            sqlx::Error::PoolTimedOut => Self::Timeout,
            sqlx::Error::Tls(e) => Self::Tls(e.to_string()),
            other => Self::Protocol(other.to_string()),
        }
    }
}
