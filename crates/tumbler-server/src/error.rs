//! The one place service errors become HTTP: a status and `{"error": {"code", "message"}}`.
//! Internal details are logged, never returned.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tumbler_core::{ErrorKind, ServiceFailure};

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

    fn internal<E: std::error::Error + ?Sized>(error: &E) -> Self {
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

impl<E: ServiceFailure> From<E> for ApiError {
    fn from(e: E) -> Self {
        Self::from_failure(&e)
    }
}

impl ApiError {
    /// The one mapping of a service error to an answer: its kind picks the status.
    fn from_failure(e: &dyn ServiceFailure) -> Self {
        if let Some(inner) = e.wrapped() {
            return Self::from_failure(inner);
        }
        let status = match e.kind() {
            ErrorKind::Invalid => StatusCode::BAD_REQUEST,
            ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::Upstream => StatusCode::BAD_GATEWAY,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Internal => return Self::internal(e),
        };
        Self {
            details: e.details(),
            retry_after: e.retry_after_secs(),
            ..Self::new(status, e.code(), e.message())
        }
    }
}
