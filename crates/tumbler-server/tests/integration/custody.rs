//! An operator must not obtain a secret they may not reveal: moving an asset sends nothing
//! until someone who may reveal its secrets accepts the new location; secret placeholders in
//! templates, the privileged flag, role and domain grants and foreign nodes are out of an
//! operator's reach; a task that matches nothing does not claim success.

mod foreign_nodes;
mod grants;
mod nothing_matched;
mod relocation;
mod root_shell;
mod secret_templates;
mod secure_mode;

use super::support::{call, error_code, ok, ok_as};
use reqwest::Method;
use serde_json::Value;
use tumbler_api_types::auth::MeOut;
use tumbler_api_types::inventory::AssetOut;
use tumbler_api_types::nodes::NodeOut;
use tumbler_api_types::Page;
use tumbler_testkit::app::TestApp;

/// Creates an asset from `body` (answered 201); returns its id.
async fn create_asset(app: &TestApp, token: &str, body: Value) -> String {
    let created: AssetOut =
        ok_as(app, token, Method::POST, "/api/v1/assets", Some(body), 201).await;
    created.id
}

/// The id of the user `token` belongs to.
async fn my_id(app: &TestApp, token: &str) -> String {
    let me: MeOut = ok_as(app, token, Method::GET, "/api/v1/users/me", None, 200).await;
    me.user.id
}

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

/// An operator accepts the key `fingerprint` of `asset` neither by itself nor in bulk.
async fn operator_cannot_accept(app: &TestApp, token: &str, asset: &str, fingerprint: &str) {
    for (path, body) in [
        (
            format!("/api/v1/assets/{asset}/host-key/acknowledge"),
            serde_json::json!({ "fingerprint": fingerprint }),
        ),
        (
            "/api/v1/assets/host-keys/acknowledge".to_owned(),
            serde_json::json!({ "asset_ids": [asset] }),
        ),
    ] {
        let (status, out) = call(app, token, Method::POST, &path, Some(body)).await;
        assert_eq!(
            (status, error_code(&out).as_str()),
            (403, "forbidden"),
            "{path}: {out}"
        );
    }
}

/// `PATCH /api/v1/assets/{asset}` with `body`, answered 200; returns the asset.
async fn patch_asset(app: &TestApp, token: &str, asset: &str, body: Value) -> AssetOut {
    ok_as(
        app,
        token,
        Method::PATCH,
        &format!("/api/v1/assets/{asset}"),
        Some(body),
        200,
    )
    .await
}

async fn audit_text(app: &TestApp, token: &str) -> String {
    ok(
        app,
        token,
        Method::GET,
        "/api/v1/audit?limit=500",
        None,
        200,
    )
    .await
    .to_string()
}

/// The id of the node at `path` in a page of nodes.
fn node_id(page: &Page<NodeOut>, path: &str) -> Option<String> {
    page.items
        .iter()
        .find(|n| n.path == path)
        .map(|n| n.id.clone())
}

/// The path of every node in a page of nodes.
fn paths(page: &Page<NodeOut>) -> Vec<String> {
    page.items.iter().map(|n| n.path.clone()).collect()
}
