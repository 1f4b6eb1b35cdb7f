//! The one place service errors become HTTP: a status and `{"error": {"code", "message"}}`.
//! Internal details are logged, never returned.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tumbler_core::{
    AuditError, AuthError, CertificateError, ChangeSecretError, DeviceKeyError, DomainError,
    InventoryError, MailServiceError, PolicyError, RoleError, UserError, VaultError,
    WebhookServiceError,
};

/// An error answer of the JSON API.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// Human text.
    pub message: String,
    /// Extra structured detail (e.g. every broken password rule).
    pub details: Option<serde_json::Value>,
    /// Seconds after which a rate-limited client may retry (`Retry-After`).
    pub retry_after: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    error: ErrorInner,
}

#[derive(Serialize, utoipa::ToSchema)]
struct ErrorInner {
    code: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<serde_json::Value>,
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    /// 404 for an unknown path or object.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "not found")
    }

    /// 403 for a caller without the permission.
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "you do not have permission for this",
        )
    }

    /// 400 for a malformed request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    fn internal(error: &dyn std::error::Error) -> Self {
        // Service errors say only "internal error"; the log gets the whole chain of causes.
        let mut chain = error.to_string();
        let mut cause = error.source();
        while let Some(c) = cause {
            chain.push_str(": ");
            chain.push_str(&c.to_string());
            cause = c.source();
        }
        tracing::error!(error = %chain, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "internal error; see the server log",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorInner {
                code: self.code,
                message: self.message,
                details: self.details,
            },
        };
        let mut res = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            if let Ok(v) = axum::http::HeaderValue::from_str(&secs.to_string()) {
                res.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
            }
        }
        res
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        let status = match &e {
            AuthError::InvalidCredentials
            | AuthError::Unauthenticated
            | AuthError::WrongCurrentPassword
            | AuthError::BasicAuthRequired => StatusCode::UNAUTHORIZED,
            AuthError::PasswordChangeRequired
            | AuthError::NoLocalPassword
            | AuthError::Forbidden
            | AuthError::TemporaryPasswordExpired
            | AuthError::MfaEnrolmentRequired
            | AuthError::MfaNotEnrolled
            | AuthError::OwnPasswordReset
            | AuthError::AccountLocked
            | AuthError::ReauthenticationRequired => StatusCode::FORBIDDEN,
            AuthError::TotpRequired | AuthError::InvalidTotp => StatusCode::UNAUTHORIZED,
            AuthError::TotpAlreadyEnabled | AuthError::NoTotpEnrolment => StatusCode::CONFLICT,
            AuthError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AuthError::SessionLimit => StatusCode::CONFLICT,
            AuthError::PolicyViolation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AuthError::UnknownUser | AuthError::UnknownToken => StatusCode::NOT_FOUND,
            AuthError::Invalid(_) => StatusCode::BAD_REQUEST,
            AuthError::Store(_) | AuthError::Hashing(_) | AuthError::Vault(_) => {
                return Self::internal(&e)
            }
        };
        let details = match &e {
            AuthError::PolicyViolation(rules) => Some(serde_json::json!({
                "violations": rules.iter().map(|r| serde_json::json!({"code": r.code, "message": r.message})).collect::<Vec<_>>()
            })),
            _ => None,
        };
        let retry_after = match &e {
            AuthError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        Self {
            status,
            code: e.code(),
            message: e.to_string(),
            details,
            retry_after,
        }
    }
}

impl From<UserError> for ApiError {
    fn from(e: UserError) -> Self {
        let status = match &e {
            UserError::Forbidden
            | UserError::RoleNotHeld(_)
            | UserError::DomainNotHeld(_)
            | UserError::OwnGrants => StatusCode::FORBIDDEN,
            UserError::NotFound | UserError::SessionNotFound => StatusCode::NOT_FOUND,
            UserError::Duplicate | UserError::LastAdmin => StatusCode::CONFLICT,
            UserError::UnknownRole(_) | UserError::UnknownDomain(_) | UserError::Invalid(_) => {
                StatusCode::BAD_REQUEST
            }
            UserError::Store(_) | UserError::Hashing(_) => return Self::internal(&e),
        };
        Self::new(status, e.code(), e.to_string())
    }
}

impl From<RoleError> for ApiError {
    fn from(e: RoleError) -> Self {
        let status = match &e {
            RoleError::Forbidden => StatusCode::FORBIDDEN,
            RoleError::NotFound => StatusCode::NOT_FOUND,
            RoleError::Duplicate | RoleError::Builtin | RoleError::InUse => StatusCode::CONFLICT,
            RoleError::Invalid(_) => StatusCode::BAD_REQUEST,
            RoleError::Store(_) => return Self::internal(&e),
        };
        Self::new(status, e.code(), e.to_string())
    }
}

impl From<AuditError> for ApiError {
    fn from(e: AuditError) -> Self {
        match e {
            AuditError::Forbidden => Self::forbidden(),
            other => Self::internal(&other),
        }
    }
}

impl From<VaultError> for ApiError {
    fn from(e: VaultError) -> Self {
        match e {
            VaultError::NotFound => Self::not_found(),
            other => Self::internal(&other),
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        let status = match &e {
            DomainError::Forbidden | DomainError::NotAssigned(_) => StatusCode::FORBIDDEN,
            DomainError::NotFound(_) => StatusCode::NOT_FOUND,
            DomainError::Duplicate | DomainError::InUse => StatusCode::CONFLICT,
            DomainError::NoSession | DomainError::Invalid(_) => StatusCode::BAD_REQUEST,
            DomainError::Store(_) => return Self::internal(&e),
        };
        Self::new(status, e.code(), e.to_string())
    }
}

impl From<PolicyError> for ApiError {
    fn from(e: PolicyError) -> Self {
        let status = match &e {
            PolicyError::Forbidden => StatusCode::FORBIDDEN,
            PolicyError::Invalid(_) => StatusCode::BAD_REQUEST,
            PolicyError::Store(_) => return Self::internal(&e),
        };
        Self::new(status, e.code(), e.to_string())
    }
}

impl From<CertificateError> for ApiError {
    fn from(e: CertificateError) -> Self {
        let e = match e {
            CertificateError::Auth(inner) => return Self::from(inner),
            other => other,
        };
        let status = match &e {
            CertificateError::Invalid(_)
            | CertificateError::Expired
            | CertificateError::NotPresented => StatusCode::BAD_REQUEST,
            CertificateError::Duplicate => StatusCode::CONFLICT,
            CertificateError::NotFound => StatusCode::NOT_FOUND,
            CertificateError::Store(_) | CertificateError::Auth(_) => return Self::internal(&e),
        };
        Self::new(status, e.code(), e.to_string())
    }
}

impl From<InventoryError> for ApiError {
    fn from(e: InventoryError) -> Self {
        let status = match &e {
            InventoryError::Forbidden | InventoryError::DomainNotAssigned(_) => {
                StatusCode::FORBIDDEN
            }
            InventoryError::NotFound(_) => StatusCode::NOT_FOUND,
            InventoryError::Duplicate(_)
            | InventoryError::NodeNotEmpty { .. }
            | InventoryError::NodeShared(_)
            | InventoryError::NoHostKeySeen(_)
            | InventoryError::FingerprintMismatch { .. }
            | InventoryError::Relocated(_)
            | InventoryError::AccountChanging(_)
            | InventoryError::AccountStaged(_) => StatusCode::CONFLICT,
            InventoryError::Invalid(_)
            | InventoryError::UnknownPlatform(_)
            | InventoryError::TlsModeNotAllowed { .. }
            | InventoryError::KeyDerivationTooCostly(_) => StatusCode::BAD_REQUEST,
            InventoryError::Auth(_) => match e {
                InventoryError::Auth(auth) => return auth.into(),
                _ => return Self::internal(&e),
            },
            InventoryError::ImportRejected(_) => StatusCode::UNPROCESSABLE_ENTITY,
            InventoryError::Vault(_) | InventoryError::Store(_) => return Self::internal(&e),
        };
        let details = match &e {
            InventoryError::ImportRejected(problems) => Some(serde_json::json!({
                "problems": problems.iter().map(|p| serde_json::json!({
                    "line": p.line, "field": p.field, "reason": p.reason,
                })).collect::<Vec<_>>()
            })),
            _ => e.field().map(|f| serde_json::json!({ "field": f })),
        };
        Self {
            details,
            ..Self::new(status, e.code(), e.to_string())
        }
    }
}

impl From<WebhookServiceError> for ApiError {
    fn from(e: WebhookServiceError) -> Self {
        let status = match &e {
            WebhookServiceError::Forbidden => StatusCode::FORBIDDEN,
            WebhookServiceError::InvalidUrl(_) => StatusCode::BAD_REQUEST,
            WebhookServiceError::NotFound => StatusCode::NOT_FOUND,
            WebhookServiceError::TooMany => StatusCode::CONFLICT,
            WebhookServiceError::Vault(_) | WebhookServiceError::Store(_) => {
                return Self::internal(&e)
            }
        };
        let details = match &e {
            WebhookServiceError::InvalidUrl(_) => Some(serde_json::json!({ "field": "url" })),
            _ => None,
        };
        Self {
            details,
            ..Self::new(status, e.code(), e.to_string())
        }
    }
}

impl From<MailServiceError> for ApiError {
    fn from(e: MailServiceError) -> Self {
        let status = match &e {
            MailServiceError::Forbidden => StatusCode::FORBIDDEN,
            MailServiceError::Invalid(_)
            | MailServiceError::NotConfigured
            | MailServiceError::NoAddress => StatusCode::BAD_REQUEST,
            MailServiceError::Send(_) => StatusCode::BAD_GATEWAY,
            MailServiceError::Vault(_) | MailServiceError::Store(_) => return Self::internal(&e),
        };
        let details = match &e {
            MailServiceError::Invalid(v) => Some(serde_json::json!({ "field": v.field })),
            _ => None,
        };
        Self {
            details,
            ..Self::new(status, e.code(), e.to_string())
        }
    }
}

impl From<ChangeSecretError> for ApiError {
    fn from(e: ChangeSecretError) -> Self {
        let status = match &e {
            ChangeSecretError::Forbidden | ChangeSecretError::TemplateNotAllowed(_) => {
                StatusCode::FORBIDDEN
            }
            ChangeSecretError::NotFound(_) => StatusCode::NOT_FOUND,
            ChangeSecretError::Invalid(_) | ChangeSecretError::UnknownNode(_) => {
                StatusCode::BAD_REQUEST
            }
            ChangeSecretError::Duplicate
            | ChangeSecretError::TaskDisabled
            | ChangeSecretError::TaskRunning
            | ChangeSecretError::RecordState(_)
            | ChangeSecretError::Reconcile { .. }
            | ChangeSecretError::Conflict(..) => StatusCode::CONFLICT,
            ChangeSecretError::Auth(_) => match e {
                ChangeSecretError::Auth(auth) => return auth.into(),
                _ => return Self::internal(&e),
            },
            ChangeSecretError::Vault(_) | ChangeSecretError::Store(_) => return Self::internal(&e),
            ChangeSecretError::Escrow(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        let details = match &e {
            ChangeSecretError::Invalid(v) => Some(serde_json::json!({ "field": v.field })),
            ChangeSecretError::UnknownNode(_) => Some(serde_json::json!({ "field": "nodes" })),
            _ => None,
        };
        Self {
            details,
            ..Self::new(status, e.code(), e.to_string())
        }
    }
}

impl From<DeviceKeyError> for ApiError {
    fn from(e: DeviceKeyError) -> Self {
        let e = match e {
            DeviceKeyError::StepUp(inner) => return Self::from(inner),
            other => other,
        };
        let status = match &e {
            DeviceKeyError::Forbidden => StatusCode::FORBIDDEN,
            DeviceKeyError::NotFound(_) => StatusCode::NOT_FOUND,
            DeviceKeyError::Invalid { .. } | DeviceKeyError::KeyDerivationTooCostly(_) => {
                StatusCode::BAD_REQUEST
            }
            DeviceKeyError::RegenerationRunning(_) => StatusCode::CONFLICT,
            // Answered as the step-up error it is (above); kept for completeness.
            DeviceKeyError::StepUp(_) => StatusCode::UNAUTHORIZED,
            DeviceKeyError::Vault(_)
            | DeviceKeyError::Store(_)
            | DeviceKeyError::KeyGeneration(_) => return Self::internal(&e),
        };
        let details = match &e {
            DeviceKeyError::Invalid { field, .. } => Some(serde_json::json!({ "field": field })),
            _ => None,
        };
        Self {
            details,
            ..Self::new(status, e.code(), e.to_string())
        }
    }
}
