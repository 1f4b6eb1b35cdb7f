//! The console's cookies, built once for axum-extra's `CookieJar`: HttpOnly, SameSite=Strict,
//! Secure under TLS. The session cookie ends with the session; the login form's CSRF cookie
//! is sent back to `/login` only.

use axum_extra::extract::cookie::{Cookie, SameSite};
use secrecy::{ExposeSecret, SecretString};
use tumbler_store::SessionRow;

use crate::middleware::auth::SESSION_COOKIE;

/// Cookie that pairs the login form with its browser (login CSRF).
pub const LOGIN_CSRF_COOKIE: &str = "tumbler_login_csrf";

fn strict(name: &'static str, value: String, path: &'static str, tls: bool) -> Cookie<'static> {
    Cookie::build((name, value))
        .path(path)
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(tls)
        .build()
}

/// The cookie that stores the session secret, for as long as the session may last.
pub fn set(secret: &SecretString, session: &SessionRow, tls: bool) -> Cookie<'static> {
    let max_age = (session.expires_at - session.created_at)
        .num_seconds()
        .max(0);
    let mut cookie = strict(SESSION_COOKIE, secret.expose_secret().to_owned(), "/", tls);
    cookie.set_max_age(cookie::time::Duration::seconds(max_age));
    cookie
}

/// The cookie that removes the session cookie (empty, `Max-Age=0`); sent whether or not the
/// request carried one.
pub fn clear(tls: bool) -> Cookie<'static> {
    let mut cookie = strict(SESSION_COOKIE, String::new(), "/", tls);
    cookie.make_removal();
    cookie
}

/// The login form's CSRF cookie (a session cookie, sent back to `/login` only).
pub fn login_csrf(token: String, tls: bool) -> Cookie<'static> {
    strict(LOGIN_CSRF_COOKIE, token, "/login", tls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attributes_stay_as_they_were() {
        let gone = clear(true).to_string();
        assert!(gone.starts_with("tumbler_session=;"), "{gone}");
        for part in [
            "HttpOnly",
            "SameSite=Strict",
            "Secure",
            "Path=/",
            "Max-Age=0",
        ] {
            assert!(gone.contains(part), "{part} in {gone}");
        }
        let plain = login_csrf("abc".to_owned(), false).to_string();
        assert!(plain.starts_with("tumbler_login_csrf=abc"), "{plain}");
        assert!(
            plain.contains("Path=/login") && !plain.contains("Secure"),
            "{plain}"
        );
    }
}
