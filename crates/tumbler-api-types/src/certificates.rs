//! The caller's X.509 client certificates (for certificate-based login).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tumbler_domain::ids::CertificateId;

/// A registered certificate.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CertificateOut {
    /// Id.
    pub id: CertificateId,
    /// Subject distinguished name.
    pub subject: String,
    /// End of validity.
    pub not_after: DateTime<Utc>,
    /// SHA-256 of the DER (hex).
    pub sha256: String,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
}

/// `POST /api/v1/users/me/certificates` body.
// No `Debug`: the password must never reach a log.
#[derive(Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterCertificate {
    /// The certificate, PEM (never a private key): optional, and if given it must be the one
    /// presented on this TLS connection.
    pub pem: Option<String>,
    /// The current password (or give `totp`).
    #[cfg_attr(feature = "openapi", schema(format = Password))]
    pub current_password: Option<String>,
    /// A fresh TOTP code (or give `current_password`).
    pub totp: Option<String>,
}
