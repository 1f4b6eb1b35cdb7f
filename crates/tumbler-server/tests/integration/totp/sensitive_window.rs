//! One fresh code unlocks reads of secrets (reveal, export) for a short window, on that session
//! only; whatever changes a credential asks every time; a zero window asks every time.

use super::super::support::{error_code, ok_as, user};
use super::enrolled_admin;
use chrono::{Duration, Utc};
use reqwest::{Client, Method};
use serde_json::{json, Value};
use std::sync::Arc;
use tumbler_api_types::auth::{LoginResponse, MeOut};
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

/// Posts `body` in session `s`, answering status and error code.
async fn post_in(app: &TestApp, s: &(Client, String), path: &str, body: Value) -> (u16, String) {
    let res =
        s.0.post(app.url(path))
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

/// Exports the accounts with their secrets in session `s` (a read the window unlocks).
async fn export_secrets(app: &TestApp, s: &(Client, String), code: Option<&str>) -> (u16, String) {
    let mut body = json!({"include_secrets": true});
    if let Some(code) = code {
        body["totp"] = json!(code);
    }
    post_in(app, s, "/api/v1/accounts/export", body).await
}

#[tokio::test]
async fn one_fresh_code_unlocks_reads_for_a_window_on_that_session_only() {
    let e = enrolled_admin().await;
    let victim_token = user(&e.app, &e.token, "victim", &["admin"], &["Default"]).await;
    let victim: MeOut = ok_as(
        &e.app,
        &victim_token,
        Method::GET,
        "/api/v1/users/me",
        None,
        200,
    )
    .await;
    let victim = victim.user.id;
    e.next_step();
    let one = admin_session(&e.app, &e.code()).await;
    e.next_step();
    let other = admin_session(&e.app, &e.code()).await;

    assert_eq!(export_secrets(&e.app, &one, None).await.1, "totp_required");
    e.next_step();
    let (unlocked, _) = export_secrets(&e.app, &one, Some(&e.code())).await;
    assert_eq!(unlocked, 200, "a fresh code is accepted");
    // Within the window: no code needed again to read, on this session ...
    e.clock.advance(Duration::minutes(4));
    assert_eq!(export_secrets(&e.app, &one, None).await.0, 200);
    // ... but another session of the same user needs its own code, and so does a token.
    assert_eq!(
        export_secrets(&e.app, &other, None).await.1,
        "totp_required"
    );
    let res = e
        .post("/api/v1/accounts/export", json!({"include_secrets": true}))
        .await;
    assert_eq!(
        error_code(&res.json::<Value>().await.unwrap()),
        "totp_required"
    );
    // What would turn a stolen session into lasting access always needs a code, window or
    // not: the system key, another user's password and second factor, the second factor.
    let key = json!({"passphrase": "a-long-export-passphrase"});
    assert_eq!(
        post_in(&e.app, &one, "/api/v1/system/ssh-key/export", key)
            .await
            .1,
        "totp_required"
    );
    assert_eq!(
        post_in(
            &e.app,
            &one,
            &format!("/api/v1/users/{victim}/reset-password"),
            json!({"reset_totp": true}),
        )
        .await
        .1,
        "totp_required"
    );
    assert_eq!(
        post_in(
            &e.app,
            &one,
            "/api/v1/users/me/totp/recovery-codes",
            json!({})
        )
        .await
        .1,
        "totp_required"
    );
    // After the window, a code again.
    e.clock.advance(Duration::minutes(2));
    assert_eq!(export_secrets(&e.app, &one, None).await.1, "totp_required");
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
    let (unlocked, _) = export_secrets(&app, &s, Some(&authenticator.fresh_code())).await;
    assert_eq!(unlocked, 200);
    assert_eq!(export_secrets(&app, &s, None).await.1, "totp_required");
    app.stop().await;
}
