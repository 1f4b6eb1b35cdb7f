//! The inventory against real targets: SSH host keys pinned, acknowledged and refused when
//! they change (before any credential is sent); accounts verified on real sshd hosts, a
//! private PostgreSQL cluster and MariaDB; domains scoping every list and lookup; reveal with
//! permission and a fresh TOTP code; bad input refused with nothing stored.

mod account_edit;
mod bad_input;
mod bulk_acknowledge;
mod databases;
mod delete_rotated;
mod domains;
mod host_keys;
mod nodes;

use super::support::{ok, ok_as, typed};
use reqwest::Method;
use serde_json::{json, Value};
use tumbler_api_types::inventory::{AccountOut, AssetOut, VerifyOut};
use tumbler_testkit::app::TestApp;

const ALICE_PASSWORD: &str = "canary-Alice-7f3e9b21-pass";

async fn admin(app: &TestApp) -> String {
    app.activate_admin().await;
    app.admin_token().await
}

async fn asset(app: &TestApp, token: &str, body: Value) -> AssetOut {
    ok_as(app, token, Method::POST, "/api/v1/assets", Some(body), 201).await
}

async fn account(
    app: &TestApp,
    token: &str,
    asset_id: &str,
    username: &str,
    secret: &str,
) -> String {
    let body = ok(
        app,
        token,
        Method::POST,
        "/api/v1/accounts",
        Some(json!({"asset_id": asset_id, "username": username, "secret": secret})),
        201,
    )
    .await;
    assert!(body.get("secret").is_none(), "no secret in answers: {body}");
    typed::<AccountOut>(body).id
}

async fn verify(app: &TestApp, token: &str, account_id: &str) -> VerifyOut {
    ok_as(
        app,
        token,
        Method::POST,
        &format!("/api/v1/accounts/{account_id}/verify"),
        None,
        200,
    )
    .await
}

async fn set_secret(app: &TestApp, token: &str, account_id: &str, secret: &str) {
    ok(
        app,
        token,
        Method::PATCH,
        &format!("/api/v1/accounts/{account_id}"),
        Some(json!({"secret": secret})),
        200,
    )
    .await;
}

async fn get_asset(app: &TestApp, token: &str, id: &str) -> AssetOut {
    ok_as(
        app,
        token,
        Method::GET,
        &format!("/api/v1/assets/{id}"),
        None,
        200,
    )
    .await
}
