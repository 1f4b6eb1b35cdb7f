//! What went wrong with change-secret tasks, executions and records, with stable codes.

use crate::{AuthError, VaultError};
use tumbler_domain::inventory::InvalidValue;
use tumbler_domain::object::ObjectKind;
use tumbler_store::StoreError;

/// What went wrong in the change engine's API.
#[derive(Debug, thiserror::Error)]
pub enum ChangeSecretError {
    /// The caller lacks the permission.
    #[error("you do not have permission for this")]
    Forbidden,
    /// No such object, or not in the caller's domains.
    #[error("no such {0}")]
    NotFound(ObjectKind),
    /// A field was refused.
    #[error("{0}")]
    Invalid(#[from] InvalidValue),
    /// A node the task names does not exist (or is not visible to the caller).
    #[error("no such node: {0}")]
    UnknownNode(String),
    /// The custom SSH template needs `secret_templates_manage`, which the caller (or the
    /// task's owner, at run time) does not hold.
    #[error("{0}")]
    TemplateNotAllowed(String),
    /// The task name is taken in the domain.
    #[error("a task with this name already exists")]
    Duplicate,
    /// The task is disabled.
    #[error("the task is disabled")]
    TaskDisabled,
    /// A run of the task is under way (the task cannot be deleted now).
    #[error("a run of this task is under way; delete it once the run has ended")]
    TaskRunning,
    /// The record action does not apply to the record's state.
    #[error("{0}")]
    RecordState(String),
    /// The account cannot be reconciled (no reconcile account, the account is its own
    /// reconcile account, a platform or secret reconcile does not support, a change under way).
    #[error("{message}")]
    Reconcile {
        /// A stable code.
        code: &'static str,
        /// For people.
        message: String,
    },
    /// The action conflicts with the state of the object, with a code of its own
    /// (`asset_moved`, `retry_in_progress`).
    #[error("{1}")]
    Conflict(&'static str, String),
    /// An account's (or a task's) `become` option names no method.
    #[error("{0}")]
    Become(#[from] tumbler_domain::platform::UnknownBecomeMethod),
    /// Step-up authentication failed (no TOTP, wrong code...).
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The vault failed.
    #[error("internal error")]
    Vault(#[from] VaultError),
    /// The store failed.
    #[error("internal error")]
    Store(#[from] StoreError),
    /// The escrow journal could not be written (or read); says where and why, never a
    /// secret.
    #[error("{0}")]
    Escrow(#[from] tumbler_escrow::EscrowError),
}

impl ChangeSecretError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Forbidden => "forbidden",
            Self::NotFound(ObjectKind::Task) => "task_not_found",
            Self::NotFound(ObjectKind::Execution) => "execution_not_found",
            Self::NotFound(ObjectKind::Record) => "record_not_found",
            Self::NotFound(_) => "not_found",
            Self::Invalid(_) => "invalid_request",
            Self::Duplicate => "task_exists",
            Self::UnknownNode(_) => "unknown_node",
            Self::TemplateNotAllowed(_) => "template_not_allowed",
            Self::TaskDisabled => "task_disabled",
            Self::TaskRunning => "task_running",
            Self::RecordState(_) => "record_state",
            Self::Reconcile { code, .. } => code,
            Self::Conflict(code, _) => code,
            Self::Auth(e) => e.code(),
            Self::Vault(_) | Self::Store(_) => "internal_error",
            Self::Escrow(e) => e.code(),
            Self::Become(e) => e.code(),
        }
    }
}
