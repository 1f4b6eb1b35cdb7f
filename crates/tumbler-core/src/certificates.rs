//! X.509 client certificates for certificate-based login: a user registers the certificate
//! presented on the current TLS connection (which proves the private key is held, and which
//! the TLS layer has verified against the configured client CA), after proving again who they
//! are; it is shown with its subject and expiry and matched by its SHA-256.

use crate::{AuthError, AuthService, Principal, Reauthentication, RequestOrigin};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tumbler_domain::audit::AuditAction;
use tumbler_domain::clock::from_millis;
use tumbler_domain::ids::CertificateId;
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
        auth.reauthenticate(
            principal,
            proof,
            AuditAction::UserCertificateRegister,
            origin,
        )
        .await?;
        let row = CertificateRow {
            id: CertificateId::generate(),
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
        crate::commit_audited(
            tx,
            principal,
            AuditAction::UserCertificateRegister,
            ("certificate", row.id.as_str()),
            origin,
            format!("sha256={}", row.fingerprint),
            now,
        )
        .await?;
        Ok(row)
    }

    /// Removes one of the caller's certificates.
    pub async fn remove(
        &self,
        principal: &Principal,
        id: &CertificateId,
        origin: &RequestOrigin,
    ) -> Result<(), CertificateError> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        if !tx.delete_certificate(&principal.user.id, id).await? {
            return Err(CertificateError::NotFound);
        }
        crate::commit_audited(
            tx,
            principal,
            AuditAction::UserCertificateRemove,
            ("certificate", id.as_str()),
            origin,
            "",
            now,
        )
        .await?;
        Ok(())
    }
}

/// Property tests ("fuzzing" on stable Rust) of certificate registration's parser: random
/// text, random bytes in PEM armour, and byte mutations of a real certificate never panic
/// and answer a certificate or `invalid_certificate`. `PROPTEST_CASES=N` runs N cases per
/// property: `PROPTEST_CASES=20000 cargo nextest run -p tumbler-core -E 'test(/certificates::fuzz/)'`.
#[cfg(test)]
mod fuzz {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::parse;
    use base64::Engine as _;
    use proptest::prelude::*;
    use proptest::test_runner::Config;

    /// A throwaway self-signed certificate made with `openssl req -x509` for these tests.
    const CERT: &str = include_str!("../tests/fixtures/throwaway_client_cert.pem");

    fn config(ci_cases: u32) -> Config {
        if std::env::var_os("PROPTEST_CASES").is_some() {
            Config::default()
        } else {
            Config::with_cases(ci_cases)
        }
    }

    fn der() -> Vec<u8> {
        let body: String = CERT.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap()
    }

    fn armour(label: &str, der: &[u8]) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let mut out = format!("-----BEGIN {label}-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(chunk).unwrap());
            out.push('\n');
        }
        out.push_str(&format!("-----END {label}-----\n"));
        out
    }

    /// Parses, and checks the answer is a certificate or the typed refusal.
    fn check(text: &str) -> Result<(), TestCaseError> {
        match parse(text) {
            Ok(der) => {
                if let Err(e) = super::facts(&der) {
                    prop_assert_eq!(e.code(), "invalid_certificate");
                }
            }
            Err(e) => prop_assert_eq!(e.code(), "invalid_certificate"),
        }
        Ok(())
    }

    /// A DER edit: a byte changed, a run inserted or removed, a length byte set to an edge.
    fn mutate(mut der: Vec<u8>, edits: &[(prop::sample::Index, u8, u8)]) -> Vec<u8> {
        for (at, kind, b) in edits {
            let len = der.len();
            if len == 0 {
                break;
            }
            let i = at.index(len);
            match kind % 5 {
                0 => der[i] ^= b.max(&1),
                1 => der[i] = *b,
                2 => der.insert(i, *b),
                3 => {
                    der.remove(i);
                }
                _ => der[i] = [0x00, 0x7f, 0x80, 0x81, 0x84, 0xff][usize::from(*b) % 6],
            }
        }
        der
    }

    proptest! {
        #![proptest_config(config(256))]

        #[test]
        fn any_text_is_a_certificate_or_refused(text in ".{0,400}") {
            check(&text)?;
        }

        #[test]
        fn any_armoured_bytes_are_a_certificate_or_refused(
            label in prop::sample::select(&["CERTIFICATE", "PRIVATE KEY", "X509 CRL", ""][..]),
            body in prop::collection::vec(any::<u8>(), 0..600),
        ) {
            check(&armour(label, &body))?;
        }

        #[test]
        fn mutated_certificates_are_a_certificate_or_refused(
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), any::<u8>()), 1..5),
            trailer in prop_oneof![Just(String::new()), Just("\n".to_owned()), Just(CERT.to_owned()), ".{0,20}"],
        ) {
            let text = armour("CERTIFICATE", &mutate(der(), &edits)) + &trailer;
            check(&text)?;
        }
    }

    /// The fixture parses, so the mutations start from a valid certificate.
    #[test]
    fn the_unmutated_certificate_parses() {
        assert!(parse(CERT).is_ok());
        assert!(parse(&armour("CERTIFICATE", &der())).is_ok());
    }
}
