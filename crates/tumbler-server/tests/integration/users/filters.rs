//! The Users page filters by lockout (with status, type and password state): a user locked
//! out now is shown under "locked out: yes" and not under "no", and a lock whose end has
//! passed no longer counts.

use super::super::support::console_admin;
use super::{admin, user_with_roles};
use chrono::{Duration, Utc};
use reqwest::Client;
use serde_json::json;
use std::sync::Arc;
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp};

/// The usernames in the users table of `/users?{query}`.
async fn listed(console: &Client, app: &TestApp, query: &str) -> Vec<String> {
    let page = console
        .get(app.url(&format!("/users?{query}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    page.split("data-username=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

async fn lockout_filter(kind: StoreKind) {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(kind, clock.clone()).await;
    let token = admin(&app).await;
    user_with_roles(&app, &token, "luke", &[]).await;
    user_with_roles(&app, &token, "leia", &[]).await;
    for _ in 0..5 {
        let res = Client::new()
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"username": "luke", "password": "wrong-password-000000"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
    let console = console_admin(&app).await;
    assert_eq!(listed(&console, &app, "locked=yes").await, ["luke"]);
    let free = listed(&console, &app, "locked=no").await;
    assert!(
        free.contains(&"leia".to_owned()) && !free.contains(&"luke".to_owned()),
        "{free:?}"
    );
    assert_eq!(
        listed(&console, &app, "").await.len(),
        free.len() + 1,
        "any: everyone"
    );
    // With the other filters, and in the select shown back.
    assert_eq!(
        listed(&console, &app, "locked=yes&status=enabled&type=local&q=lu").await,
        ["luke"]
    );
    assert!(listed(&console, &app, "locked=yes&q=leia").await.is_empty());
    let page = console
        .get(app.url("/users?locked=yes"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<option value=\"yes\" selected>"), "{page}");

    // The lockout (15 minutes by default) ends: luke is no longer counted as locked out.
    clock.advance(Duration::minutes(16));
    let console = console_admin(&app).await;
    assert!(listed(&console, &app, "locked=yes").await.is_empty());
    assert!(listed(&console, &app, "locked=no")
        .await
        .contains(&"luke".to_owned()));
    app.stop().await;
}

#[tokio::test]
async fn the_users_page_filters_by_lockout_on_sqlite() {
    lockout_filter(StoreKind::Sqlite).await;
}

#[tokio::test]
async fn the_users_page_filters_by_lockout_on_postgres() {
    lockout_filter(StoreKind::Postgres).await;
}
