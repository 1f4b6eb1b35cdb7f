//! An administrator unlocks a locked-out user; one address is throttled after many failures
//! across accounts.

use super::super::support::{audit_events, error_code, typed};
use super::{admin, call, user_with_roles, NEW_PASSWORD};
use chrono::{Duration, Utc};
use reqwest::{Client, Method};
use serde_json::{json, Value};
use std::sync::Arc;
use tumbler_api_types::users::UserOut;
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp, ADMIN_PASSWORD};

#[tokio::test]
async fn an_administrator_unlocks_a_locked_out_user() {
    let app = TestApp::spawn().await;
    let admin_token = admin(&app).await;
    let (id, _) = user_with_roles(&app, &admin_token, "luke", &[]).await;
    for _ in 0..5 {
        let res = Client::new()
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"username": "luke", "password": "wrong-password-000000"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
    let (_, user) = call(
        &app,
        &admin_token,
        Method::GET,
        &format!("/api/v1/users/{id}"),
        None,
    )
    .await;
    assert!(typed::<UserOut>(user).locked_out);
    let login = || {
        Client::new()
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"username": "luke", "password": NEW_PASSWORD}))
            .send()
    };
    assert_eq!(login().await.unwrap().status(), 401);
    assert_eq!(
        call(
            &app,
            &admin_token,
            Method::POST,
            &format!("/api/v1/users/{id}/unlock"),
            None
        )
        .await
        .0,
        204
    );
    assert_eq!(login().await.unwrap().status(), 200);
    let events = audit_events(&app, &admin_token, "user.unlock").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].object_id, id.as_str());
    app.stop().await;
}

#[tokio::test]
async fn one_address_is_throttled_after_many_failures_across_accounts() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    app.activate_admin().await;
    // 20 failures spread over unknown accounts (no account lockout involved).
    for i in 0..20 {
        let res = Client::new()
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"username": format!("ghost{i}"), "password": "x-password-guess-1"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
    let res = Client::new()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    let retry: i64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 15 * 60, "{retry}");
    assert_eq!(
        error_code(&res.json::<Value>().await.unwrap()),
        "rate_limited"
    );
    clock.advance(Duration::minutes(16));
    let res = Client::new()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    app.stop().await;
}
