//! Deleting an account whose secret was changed (more than one stored version, so the stored
//! one may be the only copy of a rotated password) needs a fresh TOTP code, through the API
//! as through the console; an account with its first secret only does not.

use super::super::support::{call, error_code, Authenticator};
use super::{account, admin, asset, set_secret};
use chrono::Utc;
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp};

#[tokio::test]
async fn deleting_an_account_with_a_changed_secret_needs_a_fresh_code() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    let token = admin(&app).await;
    let authenticator = Authenticator::enrol(&app, &token, clock.clone()).await;
    let a = asset(
        &app,
        &token,
        json!({"name": "web-1", "address": "10.0.0.9", "platform": "linux"}),
    )
    .await;
    let first = account(&app, &token, &a.id, "app1", "canary-First-Only-1").await;
    let rotated = account(&app, &token, &a.id, "app2", "canary-Rotated-Old-2").await;
    set_secret(&app, &token, &rotated, "canary-Rotated-New-3").await;

    // Its first secret only: deleted without a code.
    let (status, _) = call(
        &app,
        &token,
        Method::DELETE,
        &format!("/api/v1/accounts/{first}"),
        None,
    )
    .await;
    assert_eq!(status, 204);

    // Two versions: refused without a code (nothing deleted), done with one.
    let path = format!("/api/v1/accounts/{rotated}");
    let (status, out) = call(&app, &token, Method::DELETE, &path, None).await;
    assert_eq!((status, error_code(&out).as_str()), (401, "totp_required"));
    let (status, _) = call(&app, &token, Method::GET, &path, None).await;
    assert_eq!(status, 200, "nothing was deleted");
    let (status, _) = call(
        &app,
        &token,
        Method::DELETE,
        &path,
        Some(json!({"totp": authenticator.fresh_code()})),
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = call(&app, &token, Method::GET, &path, None).await;
    assert_eq!(status, 404);
    app.stop().await;
}
