//! How a step on a target failed: the stable code, whether it may be tried again, whether
//! the target may hold the new secret; and the answer of a login.

use tumbler_connectors::database::DbError;
use tumbler_connectors::ssh::{ChangeError, ScriptError, ScriptFailure, SshError, SshSession};
use tumbler_domain::failure_code::FailureCode;

/// Why a step failed: a stable code and a message a person can act on (never a secret).
#[derive(Debug, Clone)]
pub(in crate::change_secret) struct Failure {
    /// Stable code.
    pub code: FailureCode,
    /// For people.
    pub message: String,
    /// Whether trying again later may succeed (the target was not reached).
    pub transient: bool,
    /// Whether the target may have taken the change despite the error.
    pub ambiguous: bool,
    /// Whether the target may still take the change later (a command past its time limit
    /// after the new secret was sent): a login now proves nothing for good.
    pub may_land_later: bool,
}

impl Failure {
    pub(in crate::change_secret) fn new(code: FailureCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            transient: false,
            ambiguous: false,
            may_land_later: false,
        }
    }

    pub(in crate::change_secret) fn transient(mut self) -> Self {
        self.transient = true;
        self
    }

    pub(in crate::change_secret) fn ambiguous(mut self) -> Self {
        self.ambiguous = true;
        self
    }

    pub(in crate::change_secret) fn may_land_later(mut self) -> Self {
        self.ambiguous = true;
        self.may_land_later = true;
        self
    }

    /// `code: message`, as stored on records and accounts.
    pub(in crate::change_secret) fn reason(&self) -> String {
        format!("{}: {}", self.code, self.message)
    }
}

/// What a login with one secret showed.
#[derive(Debug)]
pub(in crate::change_secret) enum Login {
    /// The secret works.
    Works,
    /// The target refused it.
    Refused,
    /// No conclusion (unreachable, timeout, host key).
    Inconclusive(Failure),
}

pub(in crate::change_secret) fn change_error_failure(e: ChangeError) -> Failure {
    match e {
        ChangeError::Ssh(e) => ssh_failure(e, Stage::Change),
        e @ ChangeError::BecomeRefused { .. } => {
            Failure::new(FailureCode::BecomeRefused, e.to_string())
        }
        e @ ChangeError::TargetRefused { .. } => {
            Failure::new(FailureCode::TargetRefused, e.to_string())
        }
        e @ ChangeError::Unsupported(_) => {
            Failure::new(FailureCode::UnsupportedSecret, e.to_string())
        }
        e @ ChangeError::Interrupted => Failure::new(FailureCode::ConnectionLost, e.to_string())
            .transient()
            .ambiguous(),
        e @ ChangeError::AccountLocked => Failure::new(FailureCode::AccountLocked, e.to_string()),
        e @ ChangeError::TimedOutAfterSending => {
            Failure::new(FailureCode::Timeout, e.to_string()).may_land_later()
        }
    }
}

pub(in crate::change_secret) fn script_failure(f: ScriptFailure) -> Failure {
    let failure = match f.error {
        ScriptError::Ssh(e) => return ssh_failure(e, Stage::Change),
        e @ ScriptError::PromptMismatch { .. } => {
            Failure::new(FailureCode::PromptMismatch, e.to_string())
        }
        e @ ScriptError::PromptTimeout { .. } if f.new_secret_sent => {
            Failure::new(FailureCode::Timeout, e.to_string()).may_land_later()
        }
        e @ ScriptError::PromptTimeout { .. } => {
            Failure::new(FailureCode::Timeout, e.to_string()).transient()
        }
        e @ (ScriptError::Ended { .. } | ScriptError::Failed { .. }) => {
            Failure::new(FailureCode::TargetRefused, e.to_string())
        }
        e @ ScriptError::Interrupted => {
            Failure::new(FailureCode::Protocol, e.to_string()).transient()
        }
    };
    if f.new_secret_sent {
        failure.ambiguous()
    } else {
        failure
    }
}

pub(in crate::change_secret) fn ssh_failure(e: SshError, stage: Stage) -> Failure {
    match e {
        SshError::HostKeyMismatch { .. } => Failure::new(
            FailureCode::HostKeyConflict,
            "the host presented a key other than the pinned one; nothing was sent",
        ),
        SshError::HostKeyUnverified { .. } => Failure::new(
            FailureCode::HostKeyUnverified,
            "the host key is not acknowledged yet and trust on first use is off for this asset; \
             nothing secret was sent (acknowledge the key first)",
        ),
        SshError::AuthFailed { .. } => match stage {
            Stage::PrivilegedLogin => Failure::new(
                FailureCode::PrivilegedLoginFailed,
                "the privileged account's stored secret was refused",
            ),
            Stage::Change => Failure::new(FailureCode::PrivilegedLoginFailed, "login refused"),
        },
        SshError::Timeout { .. } => match stage {
            Stage::PrivilegedLogin => Failure::new(FailureCode::Timeout, e.to_string()).transient(),
            Stage::Change => {
                Failure::new(FailureCode::Timeout, "the change did not finish in time")
                    .transient()
                    .ambiguous()
            }
        },
        SshError::Unreachable { .. } => {
            Failure::new(FailureCode::Unreachable, e.to_string()).transient()
        }
        // The accounts still to change get a new session; whether this one's change landed,
        // a login shows.
        SshError::ConnectionLost => match stage {
            Stage::PrivilegedLogin => {
                Failure::new(FailureCode::ConnectionLost, e.to_string()).transient()
            }
            Stage::Change => Failure::new(FailureCode::ConnectionLost, e.to_string())
                .transient()
                .ambiguous(),
        },
        other => match stage {
            Stage::PrivilegedLogin => {
                Failure::new(FailureCode::Unreachable, other.to_string()).transient()
            }
            Stage::Change => Failure::new(FailureCode::Protocol, other.to_string())
                .transient()
                .ambiguous(),
        },
    }
}

pub(in crate::change_secret) fn db_failure(e: DbError, stage: Stage) -> Failure {
    match (e, stage) {
        (DbError::AuthFailed, _) => Failure::new(
            FailureCode::PrivilegedLoginFailed,
            "the account used to make the change was refused",
        ),
        (e @ DbError::ReplyLost, Stage::Change) => {
            Failure::new(FailureCode::ReplyLost, e.to_string())
                .transient()
                .ambiguous()
        }
        (e @ DbError::Unreachable { .. }, _) => {
            Failure::new(FailureCode::Unreachable, e.to_string()).transient()
        }
        (DbError::Timeout, Stage::PrivilegedLogin) => {
            Failure::new(FailureCode::Timeout, "connecting timed out").transient()
        }
        (DbError::Timeout, Stage::Change) => {
            Failure::new(FailureCode::Timeout, "the change did not finish in time")
                .transient()
                .ambiguous()
        }
        // Not retried: another wait as long could outlast the account's time limit.
        (e @ DbError::StatementCancelled, _) => Failure::new(FailureCode::Timeout, e.to_string()),
        (e @ DbError::Unsupported(_), _) => {
            Failure::new(FailureCode::UnsupportedSecret, e.to_string())
        }
        (e @ DbError::InsecureTransport(_), _) => {
            Failure::new(FailureCode::InsecureTransport, e.to_string())
        }
        (e @ DbError::Tls(_), _) => Failure::new(FailureCode::TlsFailed, e.to_string()),
        (e, Stage::Change) => Failure::new(FailureCode::TargetRefused, e.to_string()),
        (e, Stage::PrivilegedLogin) => {
            Failure::new(FailureCode::Unreachable, e.to_string()).transient()
        }
    }
}

/// Every change over SSH writes a secret into the session (a sudo or su password, a
/// `chpasswd` line, a template's answer, a key to install): a session on a host whose key
/// nobody acknowledged (and without trust on first use) is closed before anything is sent.
pub(in crate::change_secret) async fn refuse_unless_trusted(
    session: SshSession,
) -> Result<SshSession, Failure> {
    if let Err(e) = session.ensure_may_receive_secrets() {
        let _ = session.close().await;
        return Err(ssh_failure(e, Stage::PrivilegedLogin));
    }
    Ok(session)
}

#[derive(Clone, Copy)]
pub(in crate::change_secret) enum Stage {
    PrivilegedLogin,
    Change,
}

pub(in crate::change_secret) fn db_login(result: Result<(), DbError>) -> Login {
    match result {
        Ok(()) => Login::Works,
        Err(DbError::AuthFailed) => Login::Refused,
        Err(e) => Login::Inconclusive(db_failure(e, Stage::PrivilegedLogin)),
    }
}
