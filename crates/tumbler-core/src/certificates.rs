//! X.509 client certificates for certificate-based login: a user registers the certificate
//! presented on the current TLS connection (which proves the private key is held, and which
//! the TLS layer has verified against the configured client CA), after proving again who they
//! are; it is shown with its subject and expiry and matched by its SHA-256.

use crate::{event, AuthError, AuthService, Principal, Reauthentication, RequestOrigin};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tumbler_domain::audit::Outcome;
use tumbler_domain::clock::from_millis;
use tumbler_domain::Clock;
use tumbler_store::{CertificateRow, Store, StoreError};

/// What went wrong with certificates.
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    /// The text is not one PEM X.509 certificate.
    #[error("not a PEM X.509 certificate: {0}")]
    Invalid(&'static str),
    /// The certificate's validity has ended.
    #[error("the certificate expired")]
    Expired,
    /// The certificate is registered already.
    #[error("this certificate is registered already")]
    Duplicate,
    /// No such certificate.
    #[error("no such certificate")]
    NotFound,
    /// The connection presented no client certificate, or another one than the text given.
    #[error("connect with the certificate you want to register: only the client certificate presented on this TLS connection (verified against the configured client CA) can be registered")]
    NotPresented,
    /// Re-authentication failed or is missing.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The store failed.
    #[error("internal error")]
    Store(#[from] StoreError),
}

impl CertificateError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "invalid_certificate",
            Self::Expired => "certificate_expired",
            Self::Duplicate => "certificate_exists",
            Self::NotFound => "certificate_not_found",
            Self::NotPresented => "certificate_not_presented",
            Self::Auth(e) => e.code(),
            Self::Store(_) => "internal_error",
        }
    }
}

/// The public facts of a certificate.
struct Parsed {
    fingerprint: String,
    subject: String,
    not_after: i64,
}

fn parse(pem: &str) -> Result<Vec<u8>, CertificateError> {
    let (rest, block) = x509_parser::pem::parse_x509_pem(pem.trim().as_bytes())
        .map_err(|_| CertificateError::Invalid("no PEM block"))?;
    if !rest.iter().all(u8::is_ascii_whitespace) {
        return Err(CertificateError::Invalid("more than one PEM block"));
    }
    if block.label != "CERTIFICATE" {
        return Err(CertificateError::Invalid(
            "the PEM block is not a CERTIFICATE (never upload a private key)",
        ));
    }
    Ok(block.contents)
}

fn facts(der: &[u8]) -> Result<Parsed, CertificateError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|_| CertificateError::Invalid("the certificate does not parse"))?;
    Ok(Parsed {
        fingerprint: hex::encode(Sha256::digest(der)),
        subject: cert.subject().to_string(),
        not_after: cert.validity().not_after.timestamp().saturating_mul(1000),
    })
}

fn to_pem(der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----");
    out
}

/// Registering and listing one's certificates.
#[derive(Clone)]
pub struct CertificateService {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl CertificateService {
    /// A service over `store`.
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// The caller's certificates.
    pub async fn mine(
        &self,
        principal: &Principal,
    ) -> Result<Vec<CertificateRow>, CertificateError> {
        Ok(self.store.certificates_of(&principal.user.id).await?)
    }

    /// Registers, for the caller, the client certificate `presented` on the request's TLS
    /// connection (already verified against the configured client CA by the TLS layer, and
    /// proof that the caller holds its private key). `pem`, when given, must be that same
    /// certificate. The caller first proves again who they are (current password or a fresh
    /// code, counted like a login).
    pub async fn register(
        &self,
        auth: &AuthService,
        principal: &Principal,
        presented: Option<&[u8]>,
        pem: Option<&str>,
        proof: Reauthentication,
        origin: &RequestOrigin,
    ) -> Result<CertificateRow, CertificateError> {
        let der = presented.ok_or(CertificateError::NotPresented)?;
        if let Some(pem) = pem.filter(|p| !p.trim().is_empty()) {
            if parse(pem)? != der {
                return Err(CertificateError::NotPresented);
            }
        }
        let parsed = facts(der)?;
        let now = self.clock.now();
        let not_after = from_millis(parsed.not_after);
        if not_after <= now {
            return Err(CertificateError::Expired);
        }
        auth.reauthenticate(principal, proof, "user.certificate.register", origin)
            .await?;
        let row = CertificateRow {
            id: uuid::Uuid::now_v7().to_string(),
            user_id: principal.user.id.clone(),
            fingerprint: parsed.fingerprint,
            subject: parsed.subject,
            not_after,
            pem: to_pem(der),
            created_at: now,
        };
        let mut tx = self.store.begin().await?;
        tx.insert_certificate(&row).await.map_err(|e| match e {
            StoreError::Duplicate(_) => CertificateError::Duplicate,
            other => other.into(),
        })?;
        tx.append_audit(
            &event(
                &principal.user.username,
                "user.certificate.register",
                ("certificate", &row.id),
                Outcome::Success,
                origin,
                format!("sha256={}", row.fingerprint),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Removes one of the caller's certificates.
    pub async fn remove(
        &self,
        principal: &Principal,
        id: &str,
        origin: &RequestOrigin,
    ) -> Result<(), CertificateError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        if !tx.delete_certificate(&principal.user.id, id).await? {
            return Err(CertificateError::NotFound);
        }
        tx.append_audit(
            &event(
                &principal.user.username,
                "user.certificate.remove",
                ("certificate", id),
                Outcome::Success,
                origin,
                "",
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Property-based fuzzing of the PEM certificate parser (a certificate a user registers).
/// Short by default (64 cases); longer with `PROPTEST_CASES=100000 cargo test -p
/// tumbler-core --lib fuzz`.
#[cfg(test)]
mod fuzz {
    use super::parse;
    use base64::Engine;
    use proptest::prelude::*;

    fn config() -> ProptestConfig {
        let mut c = ProptestConfig::default();
        if std::env::var_os("PROPTEST_CASES").is_none() {
            c.cases = 64;
        }
        c.failure_persistence = None;
        c
    }

    /// A DER-looking body: an ASN.1 SEQUENCE header with a random (often wrong) length, then
    /// random bytes with nested headers sprinkled in.
    fn der_body() -> impl Strategy<Value = Vec<u8>> {
        (
            any::<u16>(),
            prop::collection::vec(
                prop_oneof![
                    3 => any::<u8>(),
                    1 => prop::sample::select(vec![0x30u8, 0x31, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0c, 0x17, 0x18, 0xa0, 0xa3, 0x82, 0x81, 0x84]),
                ],
                0..800,
            ),
        )
            .prop_map(|(len, rest)| {
                let mut out = vec![0x30, 0x82];
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(&rest);
                out
            })
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn arbitrary_text_is_refused_without_panicking(text in ".{0,300}") {
            let _ = parse(&text);
        }

        #[test]
        fn pem_certificates_of_random_der_are_refused_without_panicking(
            body in der_body(),
            label in prop::sample::select(vec!["CERTIFICATE", "PRIVATE KEY", "X509 CRL"]),
            trailer in prop::sample::select(vec!["", "\n", "\nextra", "\n-----BEGIN CERTIFICATE-----\n"]),
        ) {
            let b64 = base64::engine::general_purpose::STANDARD.encode(&body);
            let pem = format!("-----BEGIN {label}-----\n{b64}\n-----END {label}-----{trailer}");
            if let Ok(der) = parse(&pem) {
                if let Ok(parsed) = crate::certificates::facts(&der) {
                    prop_assert!(!parsed.fingerprint.is_empty());
                }
            }
        }
    }
}
