//! What each service error means to a caller, in one table: its [`ErrorKind`] (which the
//! transport turns into a status), its stable code, the message to show and any structured
//! details. The HTTP layer has one conversion for every error that implements
//! [`ServiceFailure`]; a new error variant fails to compile here until it is given a kind.

use crate::{
    AuditError, AuthError, CertificateError, ChangeSecretError, DeviceKeyError, DomainError,
    InventoryError, MailServiceError, PolicyError, RoleError, UserError, VaultError,
    WebhookServiceError,
};
use serde_json::{json, Value};

/// The sort of failure, independent of the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is malformed or a value is refused.
    Invalid,
    /// No caller, or a credential or second factor was wrong or is missing.
    Unauthorized,
    /// The caller lacks the permission, the domain or a fresh second factor.
    Forbidden,
    /// The object does not exist (or is outside the caller's domains).
    NotFound,
    /// The request conflicts with the object's state.
    Conflict,
    /// The request is well formed but breaks a rule (a password policy, an import check).
    Unprocessable,
    /// Too many attempts; the caller may retry later.
    RateLimited,
    /// A system the service depends on (a mail server) refused.
    Upstream,
    /// The service cannot take the request now (the escrow journal is unwritable).
    Unavailable,
    /// A fault of this server: logged in full, answered without detail.
    Internal,
}

/// A service error as a caller sees it.
pub trait ServiceFailure: std::error::Error {
    /// The sort of failure.
    fn kind(&self) -> ErrorKind;
    /// The stable machine-readable code.
    fn code(&self) -> &'static str;
    /// The text shown to the caller (never for [`ErrorKind::Internal`]).
    fn message(&self) -> String {
        self.to_string()
    }
    /// Structured details (the field at fault, every broken rule), if any.
    fn details(&self) -> Option<Value> {
        None
    }
    /// Seconds after which the caller may retry, for [`ErrorKind::RateLimited`].
    fn retry_after_secs(&self) -> Option<i64> {
        None
    }
    /// The error to answer with instead, when this one only wraps another service's.
    fn wrapped(&self) -> Option<&dyn ServiceFailure> {
        None
    }
}

fn field(name: &str) -> Option<Value> {
    Some(json!({ "field": name }))
}

impl ServiceFailure for AuthError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidCredentials
            | Self::Unauthenticated
            | Self::WrongCurrentPassword
            | Self::BasicAuthRequired
            | Self::TotpRequired
            | Self::InvalidTotp
            | Self::TotpReused => ErrorKind::Unauthorized,
            Self::PasswordChangeRequired
            | Self::NoLocalPassword
            | Self::Forbidden
            | Self::TemporaryPasswordExpired
            | Self::MfaEnrolmentRequired
            | Self::MfaNotEnrolled
            | Self::MfaRequiredByRole
            | Self::OwnPasswordReset
            | Self::AccountLocked
            | Self::ReauthenticationRequired => ErrorKind::Forbidden,
            Self::TotpAlreadyEnabled | Self::NoTotpEnrolment | Self::SessionLimit => {
                ErrorKind::Conflict
            }
            Self::RateLimited { .. } => ErrorKind::RateLimited,
            Self::PolicyViolation(_) => ErrorKind::Unprocessable,
            Self::UnknownUser | Self::UnknownToken => ErrorKind::NotFound,
            Self::Invalid(_) => ErrorKind::Invalid,
            Self::Store(_) | Self::Hashing(_) | Self::Vault(_) => ErrorKind::Internal,
        }
    }
    fn code(&self) -> &'static str {
        AuthError::code(self)
    }
    fn details(&self) -> Option<Value> {
        match self {
            Self::PolicyViolation(rules) => Some(json!({
                "violations": rules
                    .iter()
                    .map(|r| json!({"code": r.code, "message": r.message}))
                    .collect::<Vec<_>>()
            })),
            _ => None,
        }
    }
    fn retry_after_secs(&self) -> Option<i64> {
        match self {
            Self::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        }
    }
}

impl ServiceFailure for UserError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Forbidden | Self::RoleNotHeld(_) | Self::DomainNotHeld(_) | Self::OwnGrants => {
                ErrorKind::Forbidden
            }
            Self::NotFound | Self::SessionNotFound => ErrorKind::NotFound,
            Self::Duplicate | Self::LastAdmin => ErrorKind::Conflict,
            Self::UnknownRole(_) | Self::UnknownDomain(_) | Self::Invalid(_) => ErrorKind::Invalid,
            Self::Auth(inner) => inner.kind(),
            Self::Store(_) | Self::Hashing(_) => ErrorKind::Internal,
        }
    }
    fn code(&self) -> &'static str {
        UserError::code(self)
    }
    fn wrapped(&self) -> Option<&dyn ServiceFailure> {
        match self {
            Self::Auth(inner) => Some(inner),
            _ => None,
        }
    }
}

impl ServiceFailure for RoleError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Forbidden => ErrorKind::Forbidden,
            Self::NotFound => ErrorKind::NotFound,
            Self::Duplicate | Self::Builtin | Self::InUse => ErrorKind::Conflict,
            Self::Invalid(_) => ErrorKind::Invalid,
            Self::Store(_) => ErrorKind::Internal,
        }
    }
    fn code(&self) -> &'static str {
        RoleError::code(self)
    }
}

impl ServiceFailure for AuditError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Forbidden => ErrorKind::Forbidden,
            Self::ExportTooLarge { .. } => ErrorKind::Unprocessable,
            Self::Store(_) | Self::Csv(_) => ErrorKind::Internal,
        }
    }
    fn code(&self) -> &'static str {
        AuditError::code(self)
    }
    fn message(&self) -> String {
        match self {
            Self::ExportTooLarge { .. } => self.to_string(),
            _ => "you do not have permission for this".to_owned(),
        }
    }
}

impl ServiceFailure for VaultError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound => ErrorKind::NotFound,
            _ => ErrorKind::Internal,
        }
    }
    /// A missing secret is answered as any missing object: which objects have a secret
    /// is not told apart from which exist.
    fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            other => VaultError::code(other),
        }
    }
    fn message(&self) -> String {
        "not found".to_owned()
    }
}

impl ServiceFailure for DomainError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Forbidden | Self::NotAssigned(_) => ErrorKind::Forbidden,
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::Duplicate | Self::InUse => ErrorKind::Conflict,
            Self::NoSession | Self::Invalid(_) => ErrorKind::Invalid,
            Self::Store(_) => ErrorKind::Internal,
        }
    }
    fn code(&self) -> &'static str {
        DomainError::code(self)
    }
}

impl ServiceFailure for PolicyError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Forbidden => ErrorKind::Forbidden,
            Self::Invalid(_) => ErrorKind::Invalid,
            Self::Store(_) => ErrorKind::Internal,
        }
    }
    fn code(&self) -> &'static str {
        PolicyError::code(self)
    }
}

impl ServiceFailure for CertificateError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid(_) | Self::Expired | Self::NotPresented => ErrorKind::Invalid,
            Self::Duplicate => ErrorKind::Conflict,
            Self::NotFound => ErrorKind::NotFound,
            Self::Auth(inner) => inner.kind(),
            Self::Store(_) => ErrorKind::Internal,
        }
    }
    fn code(&self) -> &'static str {
        CertificateError::code(self)
    }
    fn wrapped(&self) -> Option<&dyn ServiceFailure> {
        match self {
            Self::Auth(inner) => Some(inner),
            _ => None,
        }
    }
}

impl ServiceFailure for InventoryError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Forbidden | Self::DomainNotAssigned(_) => ErrorKind::Forbidden,
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::Duplicate(_)
            | Self::NodeNotEmpty { .. }
            | Self::NodeShared(_)
            | Self::NoHostKeySeen(_)
            | Self::FingerprintMismatch { .. }
            | Self::Relocated(_)
            | Self::AccountChanging(_)
            | Self::AccountStaged(_) => ErrorKind::Conflict,
            Self::Invalid(_)
            | Self::UnknownPlatform(_)
            | Self::TlsModeNotAllowed { .. }
            | Self::KeyDerivationTooCostly(_) => ErrorKind::Invalid,
            Self::Auth(inner) => inner.kind(),
            Self::ImportRejected(_) => ErrorKind::Unprocessable,
            Self::Vault(_) | Self::Store(_) => ErrorKind::Internal,
        }
    }
    fn code(&self) -> &'static str {
        InventoryError::code(self)
    }
    fn details(&self) -> Option<Value> {
        match self {
            Self::ImportRejected(problems) => Some(json!({
                "problems": problems
                    .iter()
                    .map(|p| json!({"line": p.line, "field": p.field, "reason": p.reason}))
                    .collect::<Vec<_>>()
            })),
            _ => self.field().and_then(field),
        }
    }
    fn wrapped(&self) -> Option<&dyn ServiceFailure> {
        match self {
            Self::Auth(inner) => Some(inner),
            _ => None,
        }
    }
}

impl ServiceFailure for WebhookServiceError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Forbidden => ErrorKind::Forbidden,
            Self::InvalidUrl(_) => ErrorKind::Invalid,
            Self::NotFound => ErrorKind::NotFound,
            Self::TooMany => ErrorKind::Conflict,
            Self::Vault(_) | Self::Store(_) => ErrorKind::Internal,
        }
    }
    fn code(&self) -> &'static str {
        WebhookServiceError::code(self)
    }
    fn details(&self) -> Option<Value> {
        match self {
            Self::InvalidUrl(_) => field("url"),
            _ => None,
        }
    }
}

impl ServiceFailure for MailServiceError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Forbidden => ErrorKind::Forbidden,
            Self::Invalid(_) | Self::NotConfigured | Self::NoAddress => ErrorKind::Invalid,
            Self::Send(_) => ErrorKind::Upstream,
            Self::Vault(_) | Self::Store(_) => ErrorKind::Internal,
        }
    }
    fn code(&self) -> &'static str {
        MailServiceError::code(self)
    }
    fn details(&self) -> Option<Value> {
        match self {
            Self::Invalid(v) => field(v.field),
            _ => None,
        }
    }
}

impl ServiceFailure for ChangeSecretError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Forbidden | Self::TemplateNotAllowed(_) => ErrorKind::Forbidden,
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::Invalid(_) | Self::UnknownNode(_) | Self::Become(_) => ErrorKind::Invalid,
            Self::Duplicate
            | Self::TaskDisabled
            | Self::TaskRunning
            | Self::RecordState(_)
            | Self::Reconcile { .. }
            | Self::Conflict(..) => ErrorKind::Conflict,
            Self::Auth(inner) => inner.kind(),
            Self::Vault(_) | Self::Store(_) => ErrorKind::Internal,
            Self::Escrow(_) => ErrorKind::Unavailable,
        }
    }
    fn code(&self) -> &'static str {
        ChangeSecretError::code(self)
    }
    fn details(&self) -> Option<Value> {
        match self {
            Self::Invalid(v) => field(v.field),
            Self::UnknownNode(_) => field("nodes"),
            _ => None,
        }
    }
    fn wrapped(&self) -> Option<&dyn ServiceFailure> {
        match self {
            Self::Auth(inner) => Some(inner),
            _ => None,
        }
    }
}

impl ServiceFailure for DeviceKeyError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Forbidden => ErrorKind::Forbidden,
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::Invalid { .. } | Self::KeyDerivationTooCostly(_) => ErrorKind::Invalid,
            Self::RegenerationRunning(_) => ErrorKind::Conflict,
            Self::StepUp(inner) => inner.kind(),
            Self::Vault(_) | Self::Store(_) | Self::KeyGeneration(_) => ErrorKind::Internal,
        }
    }
    fn code(&self) -> &'static str {
        DeviceKeyError::code(self)
    }
    fn details(&self) -> Option<Value> {
        match self {
            Self::Invalid { field: name, .. } => field(name),
            _ => None,
        }
    }
    fn wrapped(&self) -> Option<&dyn ServiceFailure> {
        match self {
            Self::StepUp(inner) => Some(inner),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrapped_step_up_answers_as_the_step_up_it_is() {
        let e = DeviceKeyError::StepUp(AuthError::TotpRequired);
        let inner = e.wrapped().expect("wraps the step-up");
        assert_eq!(inner.kind(), ErrorKind::Unauthorized);
        assert_eq!(inner.code(), AuthError::TotpRequired.code());
    }

    #[test]
    fn a_missing_secret_is_told_as_a_missing_object() {
        assert_eq!(ServiceFailure::code(&VaultError::NotFound), "not_found");
        assert_eq!(VaultError::NotFound.kind(), ErrorKind::NotFound);
    }
}
