//! A stolen session or token must not become more: second-factor guesses count towards the
//! lockout and the throttle everywhere a code is checked, parallel attempts cannot outrun them,
//! login answers do not say which factor failed, no user is created or granted access without
//! the current password or a fresh code, the own-password forms are counted like a
//! login, and failed logins cannot flood the audit.

mod audit_trail;
mod login_answers;
mod new_admin;
mod own_password;
mod parallel;
mod step_up_codes;
mod tokens;

use super::support::Authenticator;
use chrono::Utc;
use reqwest::Client;
use serde_json::json;
use std::sync::Arc;
use tumbler_api_types::auth::LoginResponse;
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp, ADMIN_PASSWORD};

/// An activated admin with TOTP on a manual clock, its token and authenticator.
pub(super) async fn admin_with_totp(
    configure: impl FnOnce(&mut tumbler_server::config::Config),
) -> (TestApp, Arc<ManualClock>, String, Authenticator) {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_configured(StoreKind::Sqlite, clock.clone(), configure).await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let totp = Authenticator::enrol(&app, &token, clock.clone()).await;
    (app, clock, token, totp)
}

async fn login(app: &TestApp, user: &str, password: &str, code: Option<&str>) -> (u16, String) {
    let mut body = json!({"username": user, "password": password});
    if let Some(c) = code {
        body["totp"] = json!(c);
    }
    let res = Client::new()
        .post(app.url("/api/v1/auth/login"))
        .json(&body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// Logs in over the API with a cookie-keeping client; returns it and the CSRF token.
async fn session(app: &TestApp, code: Option<&str>) -> (Client, String) {
    let client = Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut body = json!({"username": "admin", "password": ADMIN_PASSWORD});
    if let Some(c) = code {
        body["totp"] = json!(c);
    }
    let res = client
        .post(app.url("/api/v1/auth/login"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let v: LoginResponse = res.json().await.unwrap();
    (client, v.csrf_token)
}
