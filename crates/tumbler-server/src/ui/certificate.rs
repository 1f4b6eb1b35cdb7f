//! User Settings, X.509 Certificate: register and remove client certificates.

use super::certificate_paste::{sort, Pasted};
use super::console_form::ConsoleForm;
use super::flash::{redirect_after, Flash};
use super::frame::{ConsoleError, ConsolePage, ConsoleResult, PageFrame};
use super::pages::render;
use super::when::When;
use crate::middleware::client_cert::PeerCertificate;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::Extension;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tumbler_core::{CertificateError, Principal};
use tumbler_domain::ids::CertificateId;

/// One row.
pub struct CertificateLine {
    id: String,
    subject: String,
    expires: When,
}

#[derive(Template)]
#[template(path = "certificate.html")]
struct CertificatePage {
    frame: PageFrame,
    certificates: Vec<CertificateLine>,
    /// Whether the server speaks HTTPS: without it no browser presents a certificate.
    tls: bool,
}

async fn page(state: &AppState, p: &Principal, frame: PageFrame) -> ConsoleResult {
    match state.certificates.mine(p).await {
        Ok(rows) => Ok(render(&CertificatePage {
            frame,
            certificates: rows
                .into_iter()
                .map(|c| CertificateLine {
                    id: c.id.to_string(),
                    subject: c.subject,
                    expires: When::at(c.not_after),
                })
                .collect(),
            tls: state.tls,
        })),
        Err(e) => Err(ConsoleError::internal("listing certificates failed", &e)),
    }
}

/// The page's address.
const PAGE: &str = "/account/certificate";

/// `GET /account/certificate`
pub async fn show(
    State(state): State<AppState>,
    ConsolePage(p, frame): ConsolePage,
) -> ConsoleResult {
    page(&state, &p, frame).await
}

/// The register form: the certificate is the one the browser presented on this connection;
/// `pem`, when pasted, must be that same certificate (a key pasted with it is dropped).
#[derive(Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    pem: Option<SecretString>,
    #[serde(default)]
    current_password: Option<SecretString>,
    #[serde(default)]
    totp: Option<String>,
}

/// Said after any paste that carried a private key, whatever became of the certificate.
const KEY_DISCARDED: &str = " The private key you pasted with it was discarded, never stored; \
it has left your computer, so treat it as exposed: make a new key pair and certificate.";

/// `POST /account/certificate`
pub async fn register(
    State(state): State<AppState>,
    presented: Option<Extension<PeerCertificate>>,
    form: ConsoleForm<RegisterForm>,
) -> ConsoleResult {
    let (p, frame, origin, form) = form.active()?;
    let der = presented.and_then(|Extension(PeerCertificate(der))| der);
    let pasted = form
        .pem
        .as_ref()
        .map(|pem| sort(pem.expose_secret()))
        .unwrap_or(Pasted {
            certificate: None,
            key_discarded: false,
        });
    let proof = super::console_form::proof(form.current_password, form.totp);
    let warning = if pasted.key_discarded {
        KEY_DISCARDED
    } else {
        ""
    };
    match state
        .certificates
        .register(
            &state.auth,
            &p,
            der.as_deref(),
            pasted.certificate.as_deref(),
            proof,
            &origin,
        )
        .await
    {
        Ok(_) if pasted.key_discarded => Ok(redirect_after(
            &state,
            &frame,
            PAGE,
            Flash::warning(format!(
                "Certificate registered; it can log you in from now on.{warning}"
            ))
            .with_code("private_key_discarded"),
        )),
        Ok(_) => Ok(redirect_after(
            &state,
            &frame,
            PAGE,
            Flash::success("Certificate registered; it can log you in from now on."),
        )),
        Err(
            e @ (CertificateError::Invalid(_)
            | CertificateError::Expired
            | CertificateError::Duplicate
            | CertificateError::NotPresented
            | CertificateError::Auth(_)),
        ) => Ok(redirect_after(
            &state,
            &frame,
            PAGE,
            Flash::error(format!("{e}{warning}")).with_code(e.code()),
        )),
        Err(e) => Err(ConsoleError::internal(
            "registering a certificate failed",
            &e,
        )),
    }
}

/// The remove form: `confirm`, sent by the remove dialog's button.
#[derive(Deserialize)]
pub struct RemoveForm {
    /// A remove without it is refused.
    confirm: Option<String>,
}

/// `POST /account/certificate/{id}/remove`
pub async fn remove(
    State(state): State<AppState>,
    Path(id): Path<CertificateId>,
    form: ConsoleForm<RemoveForm>,
) -> ConsoleResult {
    let (p, frame, origin, form) = form.active()?;
    if form.confirm.is_none() {
        return Ok(redirect_after(&state, &frame, PAGE, Flash::unconfirmed()));
    }
    let subject = state
        .certificates
        .mine(&p)
        .await
        .ok()
        .and_then(|rows| rows.into_iter().find(|c| c.id == id))
        .map(|c| c.subject);
    match state.certificates.remove(&p, &id, &origin).await {
        Ok(()) | Err(CertificateError::NotFound) => Ok(redirect_after(
            &state,
            &frame,
            PAGE,
            Flash::success(match subject {
                Some(subject) => {
                    format!("Certificate {subject} removed; it no longer logs you in.")
                }
                None => "Certificate removed; it no longer logs you in.".to_owned(),
            }),
        )),
        Err(e) => Err(ConsoleError::internal("removing a certificate failed", &e)),
    }
}
