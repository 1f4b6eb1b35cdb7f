//! [`UserError`]: what went wrong managing users, with stable codes.

use crate::AuthError;
use tumbler_store::StoreError;

/// What went wrong managing users.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// The caller lacks the permission.
    #[error("you do not have permission for this")]
    Forbidden,
    /// No such user.
    #[error("no such user")]
    NotFound,
    /// No such session.
    #[error("no such session")]
    SessionNotFound,
    /// The username is taken.
    #[error("a user with that username already exists")]
    Duplicate,
    /// A domain named does not exist.
    #[error("no such domain: {0}")]
    UnknownDomain(String),
    /// A role named does not exist.
    #[error("no such role: {0}")]
    UnknownRole(String),
    /// The role gives a permission the caller does not hold.
    #[error("you cannot grant role {0}: it allows something you may not do yourself")]
    RoleNotHeld(String),
    /// The caller does not belong to the domain.
    #[error("you cannot grant domain {0}: you do not belong to it")]
    DomainNotHeld(String),
    /// Nobody changes their own roles or domains.
    #[error("you cannot change your own roles or domains; ask another administrator")]
    OwnGrants,
    /// The change would leave no enabled administrator.
    #[error("this would leave no enabled administrator")]
    LastAdmin,
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// The caller's re-authentication (current password or fresh code) was missing or failed.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The store failed.
    #[error("internal error")]
    Store(#[from] StoreError),
    /// Hashing failed.
    #[error("internal error")]
    Hashing(String),
}

impl UserError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Forbidden => "forbidden",
            Self::NotFound => "user_not_found",
            Self::SessionNotFound => "session_not_found",
            Self::Duplicate => "user_exists",
            Self::UnknownRole(_) => "unknown_role",
            Self::UnknownDomain(_) => "unknown_domain",
            Self::LastAdmin => "last_admin",
            Self::RoleNotHeld(_) => "role_not_held",
            Self::DomainNotHeld(_) => "domain_not_held",
            Self::OwnGrants => "own_grants",
            Self::Invalid(_) => "invalid_request",
            Self::Auth(e) => e.code(),
            Self::Store(_) | Self::Hashing(_) => "internal_error",
        }
    }
}
