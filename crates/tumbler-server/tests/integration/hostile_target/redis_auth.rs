//! Redis `AUTH` is not sent in clear off loopback unless an administrator allows it on the asset.

use super::super::change_secret::{account, admin};
use super::super::support::ok;
use super::{operators_may_not_patch, pg_asset};
use reqwest::Method;
use serde_json::json;
use tumbler_testkit::app::TestApp;

#[tokio::test]
async fn redis_auth_is_not_sent_in_clear_off_loopback_unless_an_administrator_allows_it() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let (status, a) = pg_asset(
        &app,
        &token,
        json!({"name": "redis-remote", "address": "192.0.2.10", "platform": "redis"}),
    )
    .await;
    assert_eq!(
        (status, a["plaintext_auth_allowed"].as_bool()),
        (201, Some(false)),
        "{a}"
    );
    let id = a["id"].as_str().unwrap().to_owned();
    let acct = account(
        &app,
        &token,
        &id,
        "app",
        "canary-Redis-Clear-9a0c",
        false,
        json!({}),
    )
    .await;
    let out = ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/accounts/{acct}/verify"),
        None,
        200,
    )
    .await;
    assert_eq!(
        (out["ok"].as_bool(), out["code"].as_str()),
        (Some(false), Some("insecure_transport")),
        "{out}"
    );
    operators_may_not_patch(&app, &token, &id, json!({"plaintext_auth_allowed": true})).await;
    let patched = ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/assets/{id}"),
        Some(json!({"plaintext_auth_allowed": true})),
        200,
    )
    .await;
    assert_eq!(patched["plaintext_auth_allowed"], true, "{patched}");
    app.stop().await;
}
