//! Who is calling: a Bearer API token, HTTP Basic, or a session cookie (whose unsafe requests
//! must echo the session's CSRF token in `X-CSRF-Token`).

use crate::error::ApiError;
use crate::middleware::client_cert::PeerCertificate;
use crate::state::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use base64::Engine;
use secrecy::SecretString;
use std::net::SocketAddr;
use subtle::ConstantTimeEq;
use tumbler_core::{AuthError, AuthMethod, Principal, RequestOrigin};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "tumbler_session";

/// A caller whose account is fully usable (no pending password change).
pub struct Caller(pub Principal);

/// Any authenticated caller, including one who must change the password first. HTTP Basic of
/// a user with TOTP is refused like a wrong password (the code is missing), so Basic cannot be
/// used to test such a user's password.
pub struct AnyCaller(pub Principal);

/// Any authenticated caller, also an HTTP Basic one whose second factor is still due: for the
/// endpoints that take the code in the body (creating a token, changing one's password).
pub struct PendingCaller(pub Principal);

/// The caller's network origin.
pub struct Origin(pub RequestOrigin);

/// The request's source address as audit events record it.
pub fn origin_of(parts: &Parts) -> RequestOrigin {
    let source = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".to_owned());
    RequestOrigin { source }
}

/// The value of cookie `name`, if sent (read by axum-extra's `CookieJar`).
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<zeroize::Zeroizing<String>> {
    axum_extra::extract::cookie::CookieJar::from_headers(headers)
        .get(name)
        .map(|c| zeroize::Zeroizing::new(c.value().to_owned()))
}

/// Constant-time string equality for tokens.
pub fn tokens_match(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn basic_credentials(value: &str) -> Option<(String, SecretString)> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()?;
    let text = zeroize::Zeroizing::new(String::from_utf8(decoded).ok()?);
    let (user, pass) = text.split_once(':')?;
    Some((user.to_owned(), SecretString::from(pass.to_owned())))
}

/// Whether a request carries the headers browsers add to requests made by pages (forms,
/// scripts, navigations): `Origin` or any `Sec-Fetch-*`.
fn from_a_browser(headers: &HeaderMap) -> bool {
    headers.contains_key(header::ORIGIN)
        || headers.keys().any(|k| k.as_str().starts_with("sec-fetch-"))
}

async fn authenticate(parts: &Parts, state: &AppState) -> Result<Principal, ApiError> {
    let origin = origin_of(parts);
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let value = value
            .to_str()
            .map_err(|_| ApiError::from(AuthError::Unauthenticated))?;
        if let Some(token) = value.strip_prefix("Bearer ") {
            return Ok(state.auth.authenticate_token(token.trim()).await?);
        }
        if let Some(b64) = value.strip_prefix("Basic ") {
            let (user, pass) = basic_credentials(b64).ok_or(AuthError::InvalidCredentials)?;
            return Ok(state.auth.authenticate_basic(&user, pass, &origin).await?);
        }
        return Err(AuthError::Unauthenticated.into());
    }
    let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) else {
        // No credentials in the request: a registered TLS client certificate may log in.
        let cert = parts
            .extensions
            .get::<PeerCertificate>()
            .and_then(|c| c.0.as_deref());
        return match cert {
            // A browser presents its certificate to every site's requests, cross-site forms
            // included, and a cookieless request has no CSRF token: certificates authenticate
            // API clients only, never a request carrying a browser's origin headers.
            Some(_) if from_a_browser(&parts.headers) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf_failed",
                "a client certificate authenticates API clients only, not requests sent by a web page; log in to the console instead",
            )),
            Some(der) => Ok(state.auth.authenticate_certificate(der, &origin).await?),
            None => Err(AuthError::Unauthenticated.into()),
        };
    };
    let principal = state.auth.authenticate_session(&secret).await?;
    let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    if let (false, AuthMethod::Session { csrf_token, .. }) = (safe, &principal.method) {
        let sent = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !tokens_match(sent, csrf_token) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf_failed",
                "missing or wrong X-CSRF-Token header",
            ));
        }
    }
    Ok(principal)
}

/// The caller extractors: each authenticates the request, then accepts the principal or not.
macro_rules! caller_extractor {
    ($caller:ident, $accept:expr) => {
        impl FromRequestParts<AppState> for $caller {
            type Rejection = ApiError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, Self::Rejection> {
                let principal = authenticate(parts, state).await?;
                let accept: fn(&Principal) -> Result<(), ApiError> = $accept;
                accept(&principal)?;
                Ok(Self(principal))
            }
        }
    };
}

caller_extractor!(AnyCaller, |p| {
    if p.method == AuthMethod::Basic && !p.mfa_verified {
        return Err(AuthError::InvalidCredentials.into());
    }
    Ok(())
});
caller_extractor!(PendingCaller, |_| Ok(()));
caller_extractor!(Caller, |p| Ok(p.require_active()?));

impl<S: Send + Sync> FromRequestParts<S> for Origin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(origin_of(parts)))
    }
}
