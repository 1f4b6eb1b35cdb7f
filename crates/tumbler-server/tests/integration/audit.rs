//! The audit log: events for every mutation, a verifiable chain that reveals tampering, and
//! requests that fail when their event cannot be written.

use serde_json::{json, Value};
use sqlx::AnyPool;
use std::sync::Arc;
use tumbler_domain::SystemClock;
use tumbler_testkit::app::{StoreKind, TestApp, ADMIN_PASSWORD};

async fn raw(app: &TestApp) -> AnyPool {
    sqlx::any::install_default_drivers();
    AnyPool::connect(&app.config.database_url()).await.unwrap()
}

async fn verify(app: &TestApp, token: &str) -> Value {
    let res = reqwest::Client::new()
        .get(app.url("/api/v1/audit/verify"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn tampering_is_found_at_the_altered_event(kind: StoreKind) {
    let app = TestApp::spawn_on(kind, Arc::new(SystemClock)).await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    for _ in 0..3 {
        let res = reqwest::Client::new()
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"username": "admin", "password": "not-the-password-xyz"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
    let report = verify(&app, &token).await;
    assert_eq!(report["ok"], true, "{report}");
    let checked = report["events_checked"].as_i64().unwrap();
    assert!(
        checked >= 6,
        "bootstrap, data key, password change, token, failures: {report}"
    );

    let list: Value = reqwest::Client::new()
        .get(app.url("/api/v1/audit?action=auth.login"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 3);
    assert_eq!(list["items"][0]["outcome"], "failure");
    assert_eq!(list["items"][0]["detail"], "wrong_password");

    // An attacker with database access disables the append-only guard and edits one event.
    let pool = raw(&app).await;
    let victim = list["items"][1]["seq"].as_i64().unwrap();
    let disable = match kind {
        StoreKind::Sqlite => "DROP TRIGGER audit_events_no_update",
        StoreKind::Postgres => "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change",
    };
    sqlx::query(disable).execute(&pool).await.unwrap();
    sqlx::query(&format!(
        "UPDATE audit_events SET detail = 'nothing happened' WHERE seq = {victim}"
    ))
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let report = verify(&app, &token).await;
    assert_eq!(report["ok"], false);
    assert_eq!(report["first_broken_seq"], victim, "{report}");
    app.stop().await;
}

#[tokio::test]
async fn sqlite_tampering_is_found_at_the_altered_event() {
    tampering_is_found_at_the_altered_event(StoreKind::Sqlite).await;
}

#[tokio::test]
async fn postgres_tampering_is_found_at_the_altered_event() {
    tampering_is_found_at_the_altered_event(StoreKind::Postgres).await;
}

#[tokio::test]
async fn audit_events_cannot_be_updated_or_deleted_through_sql() {
    let app = TestApp::spawn().await;
    let pool = raw(&app).await;
    assert!(sqlx::query("UPDATE audit_events SET detail = 'x'")
        .execute(&pool)
        .await
        .is_err());
    assert!(sqlx::query("DELETE FROM audit_events")
        .execute(&pool)
        .await
        .is_err());
    pool.close().await;
    app.stop().await;
}

#[tokio::test]
async fn a_request_whose_audit_event_cannot_be_written_fails_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let pool = raw(&app).await;
    sqlx::query("CREATE TRIGGER audit_refuses BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'disk full'); END")
        .execute(&pool)
        .await
        .unwrap();
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/users/me/tokens"))
        .bearer_auth(&token)
        .json(&json!({"name": "second", "current_password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "internal_error");
    assert!(
        !body.to_string().contains("disk full"),
        "internal details stay in the log"
    );

    let res = reqwest::Client::new()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 500, "no session without its audit event");
    let sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
        .fetch_one(&pool)
        .await
        .unwrap();
    let tokens: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_tokens")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!((sessions, tokens), (0, 1));
    pool.close().await;
    app.stop().await;
}

#[tokio::test]
async fn only_admins_and_auditors_read_the_audit_log() {
    let app = TestApp::spawn().await;
    // The admin with a pending password change is refused like anyone without the right.
    let res = reqwest::Client::new()
        .get(app.url("/api/v1/audit"))
        .basic_auth("admin", Some(&app.initial_admin_password))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    app.stop().await;
}
