//! One fresh code unlocks sensitive actions for a short window, on that session only; a zero
//! window asks every time.

use super::super::support::error_code;
use super::enrolled_admin;
use chrono::{Duration, Utc};
use reqwest::Client;
use serde_json::{json, Value};
use std::sync::Arc;
use tumbler_api_types::auth::LoginResponse;
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp, ADMIN_PASSWORD};

/// A console-like session of the administrator (cookie and CSRF token), logged in with `code`.
async fn admin_session(app: &TestApp, code: &str) -> (Client, String) {
    let c = Client::builder().cookie_store(true).build().unwrap();
    let res = c
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD, "totp": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let csrf = res.json::<LoginResponse>().await.unwrap().csrf_token;
    (c, csrf)
}

/// Exports the system key in session `s` (a sensitive action), answering status and code.
async fn export_key(app: &TestApp, s: &(Client, String), code: Option<&str>) -> (u16, String) {
    let mut body = json!({"passphrase": "a-long-export-passphrase"});
    if let Some(code) = code {
        body["totp"] = json!(code);
    }
    let res =
        s.0.post(app.url("/api/v1/system/ssh-key/export"))
            .header("x-csrf-token", &s.1)
            .json(&body)
            .send()
            .await
            .unwrap();
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    let code = if status >= 400 {
        error_code(&body)
    } else {
        String::new()
    };
    (status, code)
}

#[tokio::test]
async fn one_fresh_code_unlocks_sensitive_actions_for_a_window_on_that_session_only() {
    let e = enrolled_admin().await;
    e.next_step();
    let one = admin_session(&e.app, &e.code()).await;
    e.next_step();
    let other = admin_session(&e.app, &e.code()).await;

    assert_eq!(export_key(&e.app, &one, None).await.1, "totp_required");
    e.next_step();
    let (unlocked, _) = export_key(&e.app, &one, Some(&e.code())).await;
    assert_ne!(unlocked, 401, "a fresh code is accepted");
    // Within the window: no code needed again, on this session ...
    e.clock.advance(Duration::minutes(4));
    assert_eq!(export_key(&e.app, &one, None).await.0, unlocked);
    // ... but another session of the same user needs its own code, and so does a token.
    assert_eq!(export_key(&e.app, &other, None).await.1, "totp_required");
    let res = e
        .post(
            "/api/v1/system/ssh-key/export",
            json!({"passphrase": "a-long-export-passphrase"}),
        )
        .await;
    assert_eq!(
        error_code(&res.json::<Value>().await.unwrap()),
        "totp_required"
    );
    // Changing the second factor itself always needs a code.
    let res = one
        .0
        .post(e.app.url("/api/v1/users/me/totp/recovery-codes"))
        .header("x-csrf-token", &one.1)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(&res.json::<Value>().await.unwrap()),
        "totp_required"
    );
    // After the window, a code again.
    e.clock.advance(Duration::minutes(2));
    assert_eq!(export_key(&e.app, &one, None).await.1, "totp_required");
    e.app.stop().await;
}

#[tokio::test]
async fn a_zero_sensitive_window_asks_for_a_code_every_time() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_configured(StoreKind::Sqlite, clock.clone(), |c| {
        c.auth.sensitive_window_minutes = 0;
    })
    .await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let authenticator =
        super::super::support::Authenticator::enrol(&app, &token, clock.clone()).await;
    let s = admin_session(&app, &authenticator.fresh_code()).await;
    let (unlocked, _) = export_key(&app, &s, Some(&authenticator.fresh_code())).await;
    assert_ne!(unlocked, 401);
    assert_eq!(export_key(&app, &s, None).await.1, "totp_required");
    app.stop().await;
}
