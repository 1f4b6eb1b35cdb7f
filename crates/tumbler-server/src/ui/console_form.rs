//! The one way a console form reaches its handler: [`ConsoleForm`] reads the session (no
//! session: the browser goes to the login page), checks the form's CSRF token against the
//! session's in constant time (a mismatch is refused with 403 "Form expired") and only then
//! parses the fields, repeated keys included (`role=a&role=b` into a `Vec<String>`).
//!
//! Every console `POST` route takes it (the router test posts to each without a token); the
//! login form, which has no session yet, pairs its token with a cookie instead.

use super::frame::{require_active, ConsoleError, PageFrame};
use super::pages::UiSession;
use crate::middleware::auth::{cookie, tokens_match, SESSION_COOKIE};
use crate::session_cookie;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use tumbler_core::{Principal, RequestOrigin};

/// Where a console request without a session is sent.
pub const LOGIN_PAGE: &str = "/login";

/// The text of the refusal of a form whose CSRF token does not match the session's.
pub const FORM_EXPIRED: &str = "Form expired; go back and reload the page.";

/// Name of the hidden field that carries the CSRF token (see `templates/macros.html`).
pub const CSRF_FIELD: &str = "csrf";

/// A console form sent by a logged-in browser, its CSRF token checked.
pub struct ConsoleForm<T> {
    /// The caller behind the session (not yet checked for a pending password change or MFA
    /// enrolment: handlers that need a fully usable account call
    /// [`super::frame::require_active`]).
    pub principal: Principal,
    /// The frame of the page rendered in answer (display name, CSRF token, domain).
    pub frame: PageFrame,
    /// The caller's network origin, for the audit trail.
    pub origin: RequestOrigin,
    /// The parsed fields (the `csrf` field is not part of them).
    pub form: T,
}

/// The fields of a form in the order sent, for forms read field by field (the `csrf` field
/// included).
pub type Fields = Vec<(String, String)>;

/// The first value of the field `name` of a form read field by field, if sent.
pub fn value<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The first value of the field `name`, empty when not sent.
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    value(fields, name).unwrap_or("")
}

/// A form read field by field, indexed once by name (a dialog of many devices looks each
/// device's fields up instead of searching the whole form for each).
pub struct FieldIndex<'a> {
    by_name: std::collections::HashMap<&'a str, Vec<&'a str>>,
}

impl<'a> FieldIndex<'a> {
    /// Indexes `fields`, keeping each name's values in the order sent.
    pub fn new(fields: &'a [(String, String)]) -> Self {
        let mut by_name: std::collections::HashMap<&str, Vec<&str>> =
            std::collections::HashMap::new();
        for (k, v) in fields {
            by_name.entry(k.as_str()).or_default().push(v.as_str());
        }
        Self { by_name }
    }

    /// The first value of `name`, empty when not sent.
    pub fn one(&self, name: &str) -> &'a str {
        self.by_name
            .get(name)
            .and_then(|v| v.first())
            .copied()
            .unwrap_or("")
    }

    /// Every value of `name`, in the order sent.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.by_name
            .get(name)
            .map(|v| v.iter().map(|s| (*s).to_owned()).collect())
            .unwrap_or_default()
    }
}

/// A form with no fields besides the CSRF token (buttons).
#[derive(Debug, Default, Deserialize)]
pub struct NoFields {}

/// The answer to a form whose CSRF token does not match the session's.
pub fn form_expired() -> Response {
    (StatusCode::FORBIDDEN, FORM_EXPIRED).into_response()
}

/// Whether the fields carry `expected` as their (first) CSRF token.
fn csrf_matches(body: &[u8], expected: &str) -> bool {
    let fields: Vec<(String, String)> = serde_html_form::from_bytes(body).unwrap_or_default();
    fields
        .iter()
        .find(|(k, _)| k == CSRF_FIELD)
        .is_some_and(|(_, v)| tokens_match(expected, v))
}

fn is_form(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// A console form posted to a route with one id in its path (`/users/{id}/delete`): the
/// state, the id and the form, its session and CSRF token checked as [`ConsoleForm`] does.
pub struct PathForm<T> {
    /// The server's state.
    pub state: AppState,
    /// The id in the path.
    pub id: String,
    /// The checked form.
    pub form: ConsoleForm<T>,
}

impl<T: DeserializeOwned> FromRequest<AppState> for PathForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let Path(id) = Path::<String>::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let form = ConsoleForm::from_request(Request::from_parts(parts, body), state).await?;
        Ok(Self {
            state: state.clone(),
            id,
            form,
        })
    }
}

impl<T> ConsoleForm<T> {
    /// The caller, frame, origin and fields, for the forms a pending password change or MFA
    /// enrolment still reaches.
    pub fn parts(self) -> (Principal, PageFrame, RequestOrigin, T) {
        (self.principal, self.frame, self.origin, self.form)
    }

    /// The caller, frame, origin and fields, if the caller's account is fully usable (else
    /// the browser goes to the page that finishes it).
    pub fn active(self) -> Result<(Principal, PageFrame, RequestOrigin, T), ConsoleError> {
        require_active(&self.principal)?;
        Ok(self.parts())
    }
}

impl<T: DeserializeOwned> FromRequest<AppState> for ConsoleForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let UiSession(session, origin) =
            match UiSession::from_request_parts(&mut parts, state).await {
                Ok(found) => found,
                Err(never) => match never {},
            };
        let Some((principal, csrf)) = session else {
            // A stale session cookie goes with the redirect (as `POST /logout` always did).
            let stale = cookie(&parts.headers, SESSION_COOKIE).is_some();
            let to_login = Redirect::to(LOGIN_PAGE);
            return Err(if stale {
                (
                    CookieJar::new().add(session_cookie::clear(state.tls)),
                    to_login,
                )
                    .into_response()
            } else {
                to_login.into_response()
            });
        };
        let frame = PageFrame::of(&principal, csrf.clone());
        super::error_page::remember(&parts.extensions, &frame);
        let req = Request::from_parts(parts, body);
        if !is_form(&req) {
            return Err((
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Form requests must have `Content-Type: application/x-www-form-urlencoded`",
            )
                .into_response());
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if !csrf_matches(&bytes, &csrf) {
            return Err(form_expired());
        }
        let form = serde_html_form::from_bytes(&bytes).map_err(|e| {
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("Failed to deserialize form body: {e}"),
            )
                .into_response()
        })?;
        Ok(Self {
            frame,
            principal,
            origin,
            form,
        })
    }
}

/// The proof a sensitive form carries: the current password (an empty field counts as none)
/// or a fresh TOTP code.
pub fn proof(
    current_password: Option<secrecy::SecretString>,
    totp: Option<String>,
) -> tumbler_core::Reauthentication {
    use secrecy::ExposeSecret;
    tumbler_core::Reauthentication {
        current_password: current_password.filter(|p| !p.expose_secret().is_empty()),
        totp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_index_keeps_every_value_in_order_and_answers_the_first() {
        let fields: Fields = vec![
            ("asset_id".into(), "a".into()),
            ("admin_user_a".into(), "ops".into()),
            ("asset_id".into(), "b".into()),
            ("admin_user_a".into(), "later".into()),
        ];
        let index = FieldIndex::new(&fields);
        assert_eq!(index.all("asset_id"), ["a", "b"]);
        assert_eq!(index.one("admin_user_a"), "ops");
        assert_eq!(index.one("admin_user_b"), "");
        assert!(index.all("nothing").is_empty());
    }

    #[test]
    fn the_first_csrf_field_must_match() {
        assert!(csrf_matches(b"a=1&csrf=tok", "tok"));
        assert!(!csrf_matches(b"a=1", "tok"));
        assert!(!csrf_matches(b"csrf=", "tok"));
        assert!(!csrf_matches(b"csrf=other&csrf=tok", "tok"));
        assert!(!csrf_matches(b"csrf=tok", ""));
    }

    #[test]
    fn repeated_keys_fill_a_list() {
        #[derive(Deserialize)]
        struct F {
            #[serde(default)]
            role: Vec<String>,
        }
        let f: F = serde_html_form::from_bytes(b"csrf=x&role=a&role=b").expect("parses");
        assert_eq!(f.role, ["a", "b"]);
    }
}
