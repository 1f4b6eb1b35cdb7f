//! A tightened policy forces a change at the next login; passwords expire with a warning period
//! that the dashboard shows.

use super::super::support::error_code;
use super::{change, login, put_policy};
use chrono::{Duration, Utc};
use reqwest::Client;
use serde_json::{json, Value};
use std::sync::Arc;
use tumbler_domain::{Clock, ManualClock};
use tumbler_testkit::app::{StoreKind, TestApp, ADMIN_PASSWORD};

#[tokio::test]
async fn a_tightened_policy_forces_a_change_at_the_next_login() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let (status, _) = put_policy(&app, &token, json!({"min_length": 40})).await;
    assert_eq!(status, 200);
    let c = Client::builder().cookie_store(true).build().unwrap();
    let body = login(&app, &c, ADMIN_PASSWORD).await;
    assert!(body.must_change_password);
    let res = c
        .get(app.url("/api/v1/users/me/tokens"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(&res.json::<Value>().await.unwrap()),
        "password_change_required"
    );
    let long = "A-Much-Longer-Passphrase-That-Meets-Forty-Characters";
    assert_eq!(change(&app, "admin", ADMIN_PASSWORD, long).await.0, 204);
    assert!(!login(&app, &Client::new(), long).await.must_change_password);
    app.stop().await;
}

#[tokio::test]
async fn passwords_expire_with_a_warning_period() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let (status, _) = put_policy(
        &app,
        &token,
        json!({"expiry_days": 30, "expiry_warning_days": 7}),
    )
    .await;
    assert_eq!(status, 200);
    let body = login(&app, &Client::new(), ADMIN_PASSWORD).await;
    let expires = body.password_expires_at.expect("an expiry");
    assert!(
        (expires - (clock.now() + Duration::days(30)))
            .num_minutes()
            .abs()
            <= 1
    );
    clock.advance(Duration::days(29));
    assert!(
        !login(&app, &Client::new(), ADMIN_PASSWORD)
            .await
            .must_change_password,
        "warned, not yet expired"
    );
    clock.advance(Duration::days(2));
    assert!(
        login(&app, &Client::new(), ADMIN_PASSWORD)
            .await
            .must_change_password
    );
    app.stop().await;
}

#[tokio::test]
async fn the_dashboard_warns_during_the_warning_period() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    assert_eq!(
        put_policy(
            &app,
            &token,
            json!({"expiry_days": 30, "expiry_warning_days": 7})
        )
        .await
        .0,
        200
    );
    let c = Client::builder().cookie_store(true).build().unwrap();
    login(&app, &c, ADMIN_PASSWORD).await;
    let page = c
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("dashboard-title") && !page.contains("password-expiry-warning"));
    clock.advance(Duration::days(24));
    let c = Client::builder().cookie_store(true).build().unwrap();
    login(&app, &c, ADMIN_PASSWORD).await;
    let page = c
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("password-expiry-warning"), "{page}");
    app.stop().await;
}
