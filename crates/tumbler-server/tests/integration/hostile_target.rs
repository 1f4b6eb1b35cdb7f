//! A hostile host or network gets nothing: no secret is written into an SSH session
//! whose host key nobody acknowledged, whatever the login method; database passwords go only
//! over verified TLS (or to loopback); uploaded key files cannot ask for an unbounded key
//! derivation, and nobody without the permission gets one decoded.

mod database_tls;
mod key_files;
mod redis_auth;
mod unverified_hosts;

use super::support::{call, error_code, ok_as, user};
use reqwest::Method;
use serde_json::Value;
use tumbler_api_types::inventory::{AssetOut, VerifyOut};
use tumbler_testkit::app::TestApp;

/// The asset `asset`.
async fn get_asset(app: &TestApp, token: &str, asset: &str) -> AssetOut {
    ok_as(
        app,
        token,
        Method::GET,
        &format!("/api/v1/assets/{asset}"),
        None,
        200,
    )
    .await
}

/// A verify of `account` (answered 200 whether or not its secret logged in).
async fn verify(app: &TestApp, token: &str, account: &str) -> VerifyOut {
    ok_as(
        app,
        token,
        Method::POST,
        &format!("/api/v1/accounts/{account}/verify"),
        None,
        200,
    )
    .await
}

async fn pg_asset(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    call(app, token, Method::POST, "/api/v1/assets", Some(body)).await
}

/// An asset setting that is an administrator's: an operator's PATCH of it is `403 forbidden`.
async fn operators_may_not_patch(app: &TestApp, admin: &str, asset: &str, body: Value) {
    let olga = user(app, admin, "olga", &["operator"], &["Default"]).await;
    let (status, out) = call(
        app,
        &olga,
        Method::PATCH,
        &format!("/api/v1/assets/{asset}"),
        Some(body),
    )
    .await;
    assert_eq!(
        (status, error_code(&out).as_str()),
        (403, "forbidden"),
        "{out}"
    );
}
