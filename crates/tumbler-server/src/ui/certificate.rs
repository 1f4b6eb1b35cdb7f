//! User Settings, X.509 Certificate: register and remove client certificates.

use super::console_form::ConsoleForm;
use super::pages::{not_active, render, UiSession};
use crate::middleware::client_cert::PeerCertificate;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tumbler_core::{CertificateError, Principal, Reauthentication};

/// One row.
pub struct CertificateLine {
    id: String,
    subject: String,
    expires: String,
}

#[derive(Template)]
#[template(path = "certificate.html")]
struct CertificatePage {
    display_name: String,
    csrf: String,
    certificates: Vec<CertificateLine>,
    error: Option<String>,
}

async fn page(state: &AppState, p: &Principal, csrf: String, error: Option<String>) -> Response {
    match state.certificates.mine(p).await {
        Ok(rows) => render(&CertificatePage {
            display_name: p.user.display_name.clone(),
            csrf,
            certificates: rows
                .into_iter()
                .map(|c| CertificateLine {
                    id: c.id,
                    subject: c.subject,
                    expires: c.not_after.format("%Y-%m-%d").to_string(),
                })
                .collect(),
            error,
        }),
        Err(e) => {
            tracing::error!(error = %e, "listing certificates failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// `GET /account/certificate`
pub async fn show(State(state): State<AppState>, UiSession(session, _): UiSession) -> Response {
    match session {
        Some((p, csrf)) if p.require_active().is_ok() => page(&state, &p, csrf, None).await,
        Some(_) => Redirect::to("/").into_response(),
        None => Redirect::to("/login").into_response(),
    }
}

/// The register form: the certificate is the one the browser presented on this connection.
#[derive(Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    current_password: Option<SecretString>,
    #[serde(default)]
    totp: Option<String>,
}

/// `POST /account/certificate`
pub async fn register(
    State(state): State<AppState>,
    presented: Option<Extension<PeerCertificate>>,
    ConsoleForm {
        principal: p,
        csrf,
        origin,
        form,
    }: ConsoleForm<RegisterForm>,
) -> Response {
    if let Some(to) = not_active(&p) {
        return to;
    }
    let der = presented.and_then(|Extension(PeerCertificate(der))| der);
    let proof = Reauthentication {
        current_password: form
            .current_password
            .filter(|p| !p.expose_secret().is_empty()),
        totp: form.totp,
    };
    match state
        .certificates
        .register(&state.auth, &p, der.as_deref(), None, proof, &origin)
        .await
    {
        Ok(_) => Redirect::to("/account/certificate").into_response(),
        Err(
            e @ (CertificateError::Invalid(_)
            | CertificateError::Expired
            | CertificateError::Duplicate
            | CertificateError::NotPresented
            | CertificateError::Auth(_)),
        ) => page(&state, &p, csrf, Some(e.to_string())).await,
        Err(e) => {
            tracing::error!(error = %e, "registering a certificate failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// The remove form.
#[derive(Deserialize)]
pub struct RemoveForm {}

/// `POST /account/certificate/{id}/remove`
pub async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm {
        principal: p,
        csrf: _,
        origin,
        form: _,
    }: ConsoleForm<RemoveForm>,
) -> Response {
    if let Some(to) = not_active(&p) {
        return to;
    }
    match state.certificates.remove(&p, &id, &origin).await {
        Ok(()) | Err(CertificateError::NotFound) => {
            Redirect::to("/account/certificate").into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "removing a certificate failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}
