//! Helpers shared by the inventory tests: JSON calls with a token, users with roles and
//! domains, TOTP enrolment with a manual clock.

use reqwest::{Client, Method};
use serde_json::{json, Value};
use std::sync::Arc;
use tumbler_api_types::audit::AuditEvent;
use tumbler_api_types::auth::MeOut;
use tumbler_api_types::totp::EnrolmentOut;
use tumbler_api_types::users::{CreatedToken, CreatedUserOut};
use tumbler_api_types::Page;
use tumbler_domain::{totp, Clock, ManualClock};
use tumbler_testkit::app::{TestApp, ADMIN_PASSWORD};

/// Reads a JSON answer into its API type from `tumbler-api-types`, so a renamed field fails
/// to compile instead of reading as null. Panics with the body when it does not fit.
pub fn typed<T: serde::de::DeserializeOwned>(body: Value) -> T {
    let text = body.to_string();
    serde_json::from_value(body).unwrap_or_else(|e| {
        panic!(
            "answer does not fit {}: {e}: {text}",
            std::any::type_name::<T>()
        )
    })
}

/// `ok` read into an API type.
pub async fn ok_as<T: serde::de::DeserializeOwned>(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
    expected: u16,
) -> T {
    typed(ok(app, token, method, path, body, expected).await)
}

/// The stable code of an error answer (`{"error": {"code": ...}}`).
#[allow(dead_code)] // used by the story files as they move to typed answers
pub fn error_code(body: &Value) -> String {
    typed::<tumbler_api_types::ErrorAnswer>(body.clone())
        .error
        .code
}

/// The refused field of an error answer (`details.field`), if it names one.
pub fn error_field(body: &Value) -> Option<String> {
    typed::<tumbler_api_types::ErrorAnswer>(body.clone())
        .error
        .details
        .and_then(|d| d.field)
}

/// A password that meets the default policy for users the tests create.
pub const USER_PASSWORD: &str = "Another-Long-Passphrase-77";

/// Sends a JSON request with a bearer token; returns the status and the JSON body (or null).
pub async fn call(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = Client::new()
        .request(method, app.url(path))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// `call` that asserts the status and returns the body.
pub async fn ok(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
    expected: u16,
) -> Value {
    let (status, body) = call(app, token, method.clone(), path, body).await;
    assert_eq!(status, expected, "{method} {path}: {body}");
    body
}

/// Creates a user with roles and domains, sets its password and returns an API token.
pub async fn user(
    app: &TestApp,
    admin: &str,
    name: &str,
    roles: &[&str],
    domains: &[&str],
) -> String {
    let created: CreatedUserOut = ok_as(
        app,
        admin,
        Method::POST,
        "/api/v1/users",
        Some(json!({"username": name, "roles": roles, "domains": domains, "current_password": ADMIN_PASSWORD})),
        201,
    )
    .await;
    let temp = created
        .temporary_password
        .expect("a local user gets a temporary password");
    let res = Client::new()
        .post(app.url("/api/v1/users/me/password"))
        .basic_auth(name, Some(&temp))
        .json(&json!({"old_password": temp, "new_password": USER_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = Client::new()
        .post(app.url("/api/v1/users/me/tokens"))
        .basic_auth(name, Some(USER_PASSWORD))
        .json(&json!({"name": "t"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let created: CreatedToken = typed(res.json().await.unwrap());
    created.token
}

/// Decodes RFC 4648 base32 without padding.
pub fn base32_decode(s: &str) -> Vec<u8> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut value, mut out) = (0u32, 0u64, Vec::new());
    for c in s.bytes() {
        let v = alphabet.iter().position(|a| *a == c).unwrap() as u64;
        value = (value << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((value >> bits) & 0xff) as u8);
        }
    }
    out
}

/// A user's enrolled authenticator: codes at the app's manual clock.
pub struct Authenticator {
    secret: Vec<u8>,
    clock: Arc<ManualClock>,
}

impl Authenticator {
    /// Enrols TOTP for the token's user and confirms it.
    pub async fn enrol(app: &TestApp, token: &str, clock: Arc<ManualClock>) -> Self {
        // Enrolment asks for the current password: the admin's, or that of a user made by
        // [`user`].
        let me: MeOut = ok_as(app, token, Method::GET, "/api/v1/users/me", None, 200).await;
        let password = if me.user.username == "admin" {
            ADMIN_PASSWORD
        } else {
            USER_PASSWORD
        };
        let body: EnrolmentOut = ok_as(
            app,
            token,
            Method::POST,
            "/api/v1/users/me/totp",
            Some(json!({"current_password": password})),
            201,
        )
        .await;
        let a = Self {
            secret: base32_decode(&body.secret),
            clock,
        };
        ok(
            app,
            token,
            Method::POST,
            "/api/v1/users/me/totp/confirm",
            Some(json!({"code": a.code()})),
            200,
        )
        .await;
        a
    }

    /// A fresh code: moves the clock to the next step first, since a code works once.
    pub fn fresh_code(&self) -> String {
        self.clock
            .advance(chrono::Duration::seconds(totp::STEP_SECONDS));
        self.code()
    }

    fn code(&self) -> String {
        totp::code_at(&self.secret, totp::step_of(self.clock.now()))
    }
}

/// A browser-like client logged in to the console as the administrator: it keeps cookies and
/// does not follow redirects (so a test sees each answer).
pub async fn console_admin(app: &TestApp) -> reqwest::Client {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = client
        .post(app.url("/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "admin", "password": tumbler_testkit::app::ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    client
}

/// The CSRF token of the first console form in `page`.
pub fn csrf_in(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no CSRF field: {page}"))
        .to_owned()
}

/// Audit events of `action` (newest first, at most 500).
pub async fn audit_events(app: &TestApp, token: &str, action: &str) -> Vec<AuditEvent> {
    let page: Page<AuditEvent> = ok_as(
        app,
        token,
        Method::GET,
        &format!("/api/v1/audit?action={action}&limit=500"),
        None,
        200,
    )
    .await;
    page.items
}
