//! The caller's X.509 client certificates (for certificate-based login).

use crate::api::json_body::JsonBody;
use crate::api::Page;
use crate::error::ApiError;
use crate::middleware::auth::{Caller, Origin};
use crate::middleware::client_cert::PeerCertificate;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Extension;
use axum::Json;
use secrecy::SecretString;
use tumbler_api_types::certificates::{CertificateOut, RegisterCertificate};
use tumbler_core::Reauthentication;
use tumbler_domain::ids::CertificateId;
use tumbler_store::CertificateRow;

/// The API view of a registered certificate.
fn certificate_out(c: CertificateRow) -> CertificateOut {
    CertificateOut {
        id: c.id,
        subject: c.subject,
        not_after: c.not_after,
        sha256: c.fingerprint,
        created_at: c.created_at,
    }
}

/// The caller's certificates.
#[utoipa::path(get, path = "/api/v1/users/me/certificates", responses((status = 200, description = "Certificates", body = Page<CertificateOut>)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(p): Caller,
) -> Result<Json<Page<CertificateOut>>, ApiError> {
    let page: Page<CertificateOut> = state
        .certificates
        .mine(&p)
        .await?
        .into_iter()
        .map(certificate_out)
        .collect();
    Ok(Json(page))
}

/// Registers the client certificate presented on this TLS connection (which proves the caller
/// holds its private key and has been verified against the configured client CA). Needs the
/// current password or a fresh TOTP code.
#[utoipa::path(post, path = "/api/v1/users/me/certificates", request_body = RegisterCertificate, responses((status = 201, body = CertificateOut), (status = 400), (status = 403), (status = 409)))]
pub async fn register(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    presented: Option<Extension<PeerCertificate>>,
    JsonBody(req): JsonBody<RegisterCertificate>,
) -> Result<(StatusCode, Json<CertificateOut>), ApiError> {
    let der = presented.and_then(|Extension(PeerCertificate(der))| der);
    let proof = Reauthentication {
        current_password: req.current_password.map(SecretString::from),
        totp: req.totp,
    };
    let row = state
        .certificates
        .register(
            &state.auth,
            &p,
            der.as_deref(),
            req.pem.as_deref(),
            proof,
            &origin,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(certificate_out(row))))
}

/// Removes a certificate.
#[utoipa::path(delete, path = "/api/v1/users/me/certificates/{id}", params(("id" = String, Path)), responses((status = 204), (status = 404)))]
pub async fn remove(
    State(state): State<AppState>,
    Origin(origin): Origin,
    Caller(p): Caller,
    Path(id): Path<CertificateId>,
) -> Result<StatusCode, ApiError> {
    state.certificates.remove(&p, &id, &origin).await?;
    Ok(StatusCode::NO_CONTENT)
}
