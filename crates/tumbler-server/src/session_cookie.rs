//! The session cookie: HttpOnly, SameSite=Strict, Secure under TLS, ending with the session.

use secrecy::{ExposeSecret, SecretString};
use tumbler_store::SessionRow;

use crate::middleware::auth::SESSION_COOKIE;

/// `Set-Cookie` value that stores the session secret.
pub fn set(secret: &SecretString, session: &SessionRow, tls: bool) -> String {
    let max_age = (session.expires_at - session.created_at)
        .num_seconds()
        .max(0);
    format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        secret.expose_secret(),
        if tls { "; Secure" } else { "" }
    )
}

/// `Set-Cookie` value that removes the session cookie.
pub fn clear(tls: bool) -> String {
    format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if tls { "; Secure" } else { "" }
    )
}
