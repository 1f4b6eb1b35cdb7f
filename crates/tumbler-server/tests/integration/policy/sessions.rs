//! Other sessions after a change, lockout on a wrong current password, and lockout and session
//! rules that follow the policy at once.

use super::super::support::typed;
use super::{change, login, put_policy};
use chrono::{Duration, Utc};
use reqwest::Client;
use serde_json::{json, Value};
use std::sync::Arc;
use tumbler_api_types::users::CreatedToken;
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp, ADMIN_PASSWORD};

#[tokio::test]
async fn other_sessions_are_revoked_by_default_or_kept_until_the_next_login() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let other = Client::builder().cookie_store(true).build().unwrap();
    login(&app, &other, ADMIN_PASSWORD).await;
    let next = "Fresh-Passphrase-For-Revoke-9";
    assert_eq!(change(&app, "admin", ADMIN_PASSWORD, next).await.0, 204);
    assert_eq!(
        other
            .get(app.url("/api/v1/users/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "revoked at once"
    );

    // API tokens end with the password too; a new one is made with the new password.
    let (status, _) = put_policy(&app, &token, json!({"other_sessions": "revoke"})).await;
    assert_eq!(
        status, 401,
        "the token was revoked with the password change"
    );
    let token: Value = Client::new()
        .post(app.url("/api/v1/users/me/tokens"))
        .basic_auth("admin", Some(next))
        .json(&json!({"name": "after"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = typed::<CreatedToken>(token).token;
    let (status, _) = put_policy(
        &app,
        &token,
        json!({"other_sessions": "keep_until_next_login"}),
    )
    .await;
    assert_eq!(status, 200);
    let other = Client::builder().cookie_store(true).build().unwrap();
    login(&app, &other, next).await;
    let last = "Fresh-Passphrase-For-Keeping-8";
    assert_eq!(change(&app, "admin", next, last).await.0, 204);
    assert_eq!(
        other
            .get(app.url("/api/v1/users/me"))
            .send()
            .await
            .unwrap()
            .status(),
        200,
        "kept until the next login"
    );
    login(&app, &Client::new(), last).await;
    assert_eq!(
        other
            .get(app.url("/api/v1/users/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "ended by the next login"
    );
    app.stop().await;
}

#[tokio::test]
async fn wrong_current_passwords_count_towards_lockout() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    for _ in 0..5 {
        let res = Client::new()
            .post(app.url("/api/v1/users/me/password"))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .json(&json!({"old_password": "not-the-current-one-12345", "new_password": "Whatever-New-Passphrase-77"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
    assert_eq!(
        admin_login_status(&app, ADMIN_PASSWORD).await,
        401,
        "locked out"
    );
    app.stop().await;
}

#[tokio::test]
async fn lockout_and_session_rules_follow_the_policy_at_once() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let rules = json!({"max_failed_logins": 2, "lockout_minutes": 5, "session_idle_minutes": 10, "max_sessions_per_user": 1});
    assert_eq!(put_policy(&app, &token, rules).await.0, 200);
    let c = Client::builder().cookie_store(true).build().unwrap();
    login(&app, &c, ADMIN_PASSWORD).await;
    assert_eq!(
        admin_login_status(&app, ADMIN_PASSWORD).await,
        409,
        "one session per user now"
    );
    clock.advance(Duration::minutes(11));
    assert_eq!(
        c.get(app.url("/api/v1/users/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "idle after 10 minutes"
    );
    for _ in 0..2 {
        assert_eq!(
            admin_login_status(&app, "wrong-password-xyz-987").await,
            401
        );
    }
    assert_eq!(
        admin_login_status(&app, ADMIN_PASSWORD).await,
        401,
        "locked after two failures"
    );
    clock.advance(Duration::minutes(6));
    login(&app, &Client::new(), ADMIN_PASSWORD).await;
    app.stop().await;
}

/// The status of a login as admin with `password`, from a fresh client.
async fn admin_login_status(app: &TestApp, password: &str) -> reqwest::StatusCode {
    Client::new()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": password}))
        .send()
        .await
        .unwrap()
        .status()
}
