//! Login, the forced first password change, HTTP Basic, tokens, CSRF, lockout and timeouts.

use super::support::{error_code, typed};
use chrono::{Duration, Utc};
use serde_json::{json, Value};
use std::sync::Arc;
use tumbler_api_types::auth::{LoginResponse, MeOut};
use tumbler_api_types::settings::PolicyViolation;
use tumbler_api_types::users::TokenView;
use tumbler_api_types::{ErrorAnswer, Page};
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp, ADMIN_PASSWORD};

/// The status of `GET /api/v1/users/me` with the test client's session.
async fn me_status(app: &TestApp) -> reqwest::StatusCode {
    app.client
        .get(app.url("/api/v1/users/me"))
        .send()
        .await
        .unwrap()
        .status()
}

/// A `GET` with a bearer token; the JSON answer.
async fn bearer_get(app: &TestApp, token: &str, path: &str) -> Value {
    reqwest::Client::new()
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn login(
    app: &TestApp,
    client: &reqwest::Client,
    user: &str,
    password: &str,
) -> reqwest::Response {
    client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn first_login_must_change_password_over_basic_only() {
    let app = TestApp::spawn().await;
    let res = login(&app, &app.client, "admin", &app.initial_admin_password).await;
    assert_eq!(res.status(), 200);
    let body: LoginResponse = res.json().await.unwrap();
    assert!(body.must_change_password);
    let csrf = body.csrf_token;

    // Nothing else works until the password is changed.
    let res = app
        .client
        .get(app.url("/api/v1/users/me/tokens"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(
        error_code(&res.json::<Value>().await.unwrap()),
        "password_change_required"
    );

    // The session may not change it: REST needs Basic.
    let res = app
        .client
        .post(app.url("/api/v1/users/me/password"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"old_password": app.initial_admin_password, "new_password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        error_code(&res.json::<Value>().await.unwrap()),
        "basic_auth_required"
    );

    // A weak password gets every broken rule.
    let basic = reqwest::Client::new();
    let res = basic
        .post(app.url("/api/v1/users/me/password"))
        .basic_auth("admin", Some(&app.initial_admin_password))
        .json(&json!({"old_password": app.initial_admin_password, "new_password": "admin,1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    let violations = typed::<ErrorAnswer>(body)
        .error
        .details
        .and_then(|d| d.more.get("violations").cloned())
        .expect("violations");
    let codes: Vec<String> = typed::<Vec<PolicyViolation>>(violations)
        .into_iter()
        .map(|v| v.code)
        .collect();
    assert_eq!(
        codes,
        [
            "too_short",
            "disallowed_character",
            "contains_username",
            "too_weak"
        ]
    );

    app.activate_admin().await;
    assert_eq!(
        login(
            &app,
            &reqwest::Client::new(),
            "admin",
            &app.initial_admin_password
        )
        .await
        .status(),
        401
    );
    let fresh = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let res = login(&app, &fresh, "admin", ADMIN_PASSWORD).await;
    assert!(!typed::<LoginResponse>(res.json().await.unwrap()).must_change_password);
    assert_eq!(
        fresh
            .get(app.url("/api/v1/users/me/tokens"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn unknown_user_and_wrong_password_get_the_same_answer() {
    let app = TestApp::spawn().await;
    let a = login(&app, &app.client, "admin", "wrong-password-123456").await;
    let b = login(&app, &app.client, "nobody", "wrong-password-123456").await;
    assert_eq!(a.status(), 401);
    assert_eq!(b.status(), 401);
    assert_eq!(a.text().await.unwrap(), b.text().await.unwrap());
    app.stop().await;
}

#[tokio::test]
async fn tokens_are_shown_once_stored_hashed_and_revocable() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    assert!(token.starts_with("tmb_"));
    let bearer = reqwest::Client::new();
    let me: MeOut = typed(bearer_get(&app, &token, "/api/v1/users/me").await);
    assert_eq!(me.user.username, "admin");

    let list = bearer_get(&app, &token, "/api/v1/users/me/tokens").await;
    // Raw JSON: the token itself must be absent from the listed record.
    assert!(list["items"][0].get("token").is_none(), "{list}");
    let list: Page<TokenView> = typed(list);
    assert_eq!(list.total, 1);
    let listed = &list.items[0];
    assert!(token.starts_with(&listed.prefix));
    assert!(listed.last_used_at.is_some(), "use is recorded: {listed:?}");

    let db = std::fs::read(app.config.data_dir.join("tumbler.db")).unwrap();
    let wal = std::fs::read(app.config.data_dir.join("tumbler.db-wal")).unwrap_or_default();
    let needle = token.as_bytes();
    assert!(
        !db.windows(needle.len()).any(|w| w == needle)
            && !wal.windows(needle.len()).any(|w| w == needle)
    );

    let id = &listed.id;
    let res = bearer
        .delete(app.url(&format!("/api/v1/users/me/tokens/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = bearer
        .get(app.url("/api/v1/users/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn cookie_sessions_need_the_csrf_header_for_unsafe_requests() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let body: LoginResponse = login(&app, &app.client, "admin", ADMIN_PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let csrf = body.csrf_token.as_str();
    let res = app
        .client
        .post(app.url("/api/v1/users/me/tokens"))
        .json(&json!({"name": "t"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(
        error_code(&res.json::<Value>().await.unwrap()),
        "csrf_failed"
    );
    let res = app
        .client
        .post(app.url("/api/v1/users/me/tokens"))
        .header("x-csrf-token", "wrong")
        .json(&json!({"name": "t"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = app
        .client
        .post(app.url("/api/v1/users/me/tokens"))
        .header("x-csrf-token", csrf)
        .json(&json!({"name": "t", "current_password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);

    // Logout ends the session.
    let res = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .header("x-csrf-token", csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(me_status(&app).await, 401);
    app.stop().await;
}

#[tokio::test]
async fn lockout_after_failures_ends_when_the_clock_says_so() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    app.activate_admin().await;
    for _ in 0..5 {
        assert_eq!(
            login(&app, &app.client, "admin", "wrong-password-123456")
                .await
                .status(),
            401
        );
    }
    // Locked: even the right password is refused, with the same answer.
    assert_eq!(
        login(&app, &app.client, "admin", ADMIN_PASSWORD)
            .await
            .status(),
        401
    );
    clock.advance(Duration::minutes(14));
    assert_eq!(
        login(&app, &app.client, "admin", ADMIN_PASSWORD)
            .await
            .status(),
        401
    );
    clock.advance(Duration::minutes(2));
    assert_eq!(
        login(&app, &app.client, "admin", ADMIN_PASSWORD)
            .await
            .status(),
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn sessions_end_after_idle_and_absolute_timeouts() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    app.activate_admin().await;
    assert_eq!(
        login(&app, &app.client, "admin", ADMIN_PASSWORD)
            .await
            .status(),
        200
    );
    clock.advance(Duration::minutes(29));
    assert_eq!(me_status(&app).await, 200);
    clock.advance(Duration::minutes(31));
    assert_eq!(me_status(&app).await, 401);

    // Kept busy, a session still ends at its absolute lifetime (12 h = 720 min).
    assert_eq!(
        login(&app, &app.client, "admin", ADMIN_PASSWORD)
            .await
            .status(),
        200
    );
    for _ in 0..28 {
        clock.advance(Duration::minutes(25));
        assert_eq!(me_status(&app).await, 200);
    }
    clock.advance(Duration::minutes(25));
    assert_eq!(me_status(&app).await, 401);
    app.stop().await;
}
