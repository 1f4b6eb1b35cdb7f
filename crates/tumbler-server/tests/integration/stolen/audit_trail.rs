//! Failed logins cannot flood the audit, and a change of active domain is audited.

use super::super::support::audit_events as audit;
use super::super::support::ok;
use super::login;
use chrono::Utc;
use reqwest::{Client, Method};
use serde_json::json;
use std::sync::Arc;
use tumbler_api_types::auth::LoginResponse;
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp};

#[tokio::test]
async fn failed_logins_cannot_flood_the_audit() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_configured(StoreKind::Sqlite, clock.clone(), |c| {
        c.auth.max_failures_per_source = 3;
    })
    .await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let before = audit(&app, &token, "auth.login").await.len();
    let long = "x".repeat(10_000);
    let mut statuses = Vec::new();
    for _ in 0..25 {
        statuses.push(login(&app, &long, "Some-Password-1", None).await.0);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 3);
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 22);
    let events = audit(&app, &token, "auth.login").await;
    let new = &events[..events.len() - before];
    assert_eq!(new.len(), 4, "3 failures and one refusal event: {new:?}");
    assert!(
        new.iter().all(|e| e.actor.chars().count() <= 64),
        "usernames are cut to 64 characters"
    );
    assert_eq!(
        new.iter()
            .filter(|e| e.detail.starts_with("rate_limited"))
            .count(),
        1
    );
    // When the window has passed, the refused attempts are reported in one event.
    clock.advance(chrono::Duration::minutes(16));
    assert_eq!(login(&app, "nobody", "Some-Password-1", None).await.0, 401);
    let summary = audit(&app, &token, "auth.throttled").await;
    assert_eq!(summary.len(), 1, "{summary:?}");
    assert!(
        summary[0].detail.starts_with("refused_attempts=22 "),
        "{:?}",
        summary[0]
    );
    app.stop().await;
}

#[tokio::test]
async fn changing_the_active_domain_is_audited() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let admin = app.admin_token().await;
    ok(
        &app,
        &admin,
        Method::POST,
        "/api/v1/domains",
        Some(json!({"name": "Prod"})),
        201,
    )
    .await;
    super::super::support::user(&app, &admin, "dora", &["operator"], &["Default", "Prod"]).await;
    let client = Client::builder().cookie_store(true).build().unwrap();
    let res = client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "dora", "password": super::super::support::USER_PASSWORD}))
        .send()
        .await
        .unwrap();
    let csrf = res.json::<LoginResponse>().await.unwrap().csrf_token;
    let res = client
        .put(app.url("/api/v1/users/me/active-domain"))
        .header("x-csrf-token", &csrf)
        .json(&json!({"domain": "Prod"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let events = audit(&app, &admin, "user.active_domain").await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].actor.as_str(), events[0].detail.as_str()),
        ("dora", "from=Default to=Prod")
    );
    app.stop().await;
}
