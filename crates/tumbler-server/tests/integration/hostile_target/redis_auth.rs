//! Redis `AUTH` is not sent in clear off loopback unless an administrator allows it on the asset.

use super::super::change_secret::{account, admin};
use super::super::support::{ok_as, typed};
use super::{operators_may_not_patch, pg_asset, verify};
use reqwest::Method;
use serde_json::json;
use tumbler_api_types::inventory::AssetOut;
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
    assert_eq!(status, 201, "{a}");
    let a: AssetOut = typed(a);
    assert!(!a.plaintext_auth_allowed, "{a:?}");
    let id = a.id;
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
    let out = verify(&app, &token, &acct).await;
    assert_eq!(
        (out.ok, out.code.as_deref()),
        (false, Some("insecure_transport")),
        "{out:?}"
    );
    operators_may_not_patch(&app, &token, &id, json!({"plaintext_auth_allowed": true})).await;
    let patched: AssetOut = ok_as(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/assets/{id}"),
        Some(json!({"plaintext_auth_allowed": true})),
        200,
    )
    .await;
    assert!(patched.plaintext_auth_allowed, "{patched:?}");
    app.stop().await;
}
