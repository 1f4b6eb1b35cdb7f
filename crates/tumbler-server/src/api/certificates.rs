//! The caller's X.509 client certificates (for certificate-based login).

use crate::api::json_body::JsonBody;
use crate::api::Page;
use crate::error::ApiError;
use crate::middleware::auth::{Caller, Origin};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tumbler_store::CertificateRow;

/// A registered certificate.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CertificateOut {
    /// Id.
    pub id: String,
    /// Subject distinguished name.
    pub subject: String,
    /// End of validity.
    pub not_after: DateTime<Utc>,
    /// SHA-256 of the DER (hex).
    pub sha256: String,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
}

impl From<CertificateRow> for CertificateOut {
    fn from(c: CertificateRow) -> Self {
        Self {
            id: c.id,
            subject: c.subject,
            not_after: c.not_after,
            sha256: c.fingerprint,
            created_at: c.created_at,
        }
    }
}

/// The caller's certificates.
#[utoipa::path(get, path = "/api/v1/users/me/certificates", responses((status = 200, description = "Certificates", body = Page<CertificateOut>)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(p): Caller,
) -> Result<Json<Page<CertificateOut>>, ApiError> {
    let items: Vec<CertificateOut> = state
        .certificates
        .mine(&p)
        .await?
        .into_iter()
        .map(CertificateOut::from)
        .collect();
    let total = i64::try_from(items.len()).unwrap_or(i64::MAX);
    Ok(Json(Page { items, total }))
}

/// `POST /api/v1/users/me/certificates` body.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct RegisterCertificate {
    /// The certificate, PEM (never a private key).
    pub pem: String,
}

/// Registers a certificate.
#[utoipa::path(post, path = "/api/v1/users/me/certificates", request_body = RegisterCertificate, responses((status = 201, body = CertificateOut), (status = 400), (status = 409)))]
pub async fn register(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    JsonBody(req): JsonBody<RegisterCertificate>,
) -> Result<(StatusCode, Json<CertificateOut>), ApiError> {
    let row = state.certificates.register(&p, &req.pem, &origin).await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// Removes a certificate.
#[utoipa::path(delete, path = "/api/v1/users/me/certificates/{id}", params(("id" = String, Path)), responses((status = 204), (status = 404)))]
pub async fn remove(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.certificates.remove(&p, &id, &origin).await?;
    Ok(StatusCode::NO_CONTENT)
}
