//! Nodes form a tree with counts and refuse deletion while they hold assets.

use super::super::support::{call, error_code, ok, ok_as};
use super::{admin, asset};
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;
use tumbler_api_types::nodes::NodeOut;
use tumbler_api_types::{inventory::AssetOut, Page};
use tumbler_testkit::app::{StoreKind, TestApp};

#[tokio::test]
async fn nodes_form_a_tree_with_counts_and_refuse_deletion_while_they_hold_assets() {
    let app = TestApp::spawn_on(StoreKind::Postgres, Arc::new(tumbler_domain::SystemClock)).await;
    let token = admin(&app).await;
    let db: NodeOut = ok_as(
        &app,
        &token,
        Method::POST,
        "/api/v1/nodes",
        Some(json!({"path": "/Default/Prod/DB"})),
        201,
    )
    .await;
    assert_eq!(db.path, "/Default/Prod/DB");
    let (status, err) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/nodes",
        Some(json!({"path": "/Default/Prod/DB"})),
    )
    .await;
    assert_eq!((status, error_code(&err).as_str()), (409, "node_exists"));
    asset(&app, &token, json!({"name": "db-1", "address": "10.0.0.5", "platform": "postgresql", "nodes": ["/Default/Prod/DB"]})).await;
    let nodes = node_list(&app, &token).await;
    let by_path = |path: &str| -> &NodeOut {
        nodes
            .items
            .iter()
            .find(|n| n.path == path)
            .unwrap_or_else(|| panic!("{path} in {:?}", nodes.items))
    };
    assert_eq!(by_path("/Default/Prod").assets, 0);
    assert_eq!(by_path("/Default/Prod").assets_in_subtree, 1);
    assert_eq!(by_path("/Default/Prod/DB").assets, 1);
    let prod_id = by_path("/Default/Prod").id.clone();
    let db_id = db.id.as_str();

    let (status, err) = call(
        &app,
        &token,
        Method::DELETE,
        &format!("/api/v1/nodes/{prod_id}"),
        None,
    )
    .await;
    assert_eq!((status, error_code(&err).as_str()), (409, "node_not_empty"));
    let renamed: NodeOut = ok_as(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/nodes/{db_id}"),
        Some(json!({"name": "Databases"})),
        200,
    )
    .await;
    assert_eq!(renamed.path, "/Default/Prod/Databases");
    let moved: NodeOut = ok_as(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/nodes/{db_id}"),
        Some(json!({"parent": "/"})),
        200,
    )
    .await;
    assert_eq!(moved.path, "/Databases");
    let (status, _) = call(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/nodes/{prod_id}"),
        Some(json!({"parent": "/Default/Prod"})),
    )
    .await;
    assert_eq!(status, 400, "a node cannot move below itself");
    let list: Page<AssetOut> = ok_as(
        &app,
        &token,
        Method::GET,
        "/api/v1/assets?node=/Databases",
        None,
        200,
    )
    .await;
    assert_eq!(list.total, 1);
    assert_eq!(list.items[0].nodes, ["/Databases"]);
    let list: Page<AssetOut> = ok_as(
        &app,
        &token,
        Method::GET,
        "/api/v1/assets?node=/Default",
        None,
        200,
    )
    .await;
    assert_eq!(list.total, 0);
    ok(
        &app,
        &token,
        Method::DELETE,
        &format!("/api/v1/nodes/{prod_id}"),
        None,
        204,
    )
    .await;
    let nodes = node_list(&app, &token).await;
    let paths: Vec<&str> = nodes.items.iter().map(|n| n.path.as_str()).collect();
    assert_eq!(paths, ["/Databases", "/Default"]);
    app.stop().await;
}

/// The node tree as the caller sees it.
async fn node_list(app: &TestApp, token: &str) -> Page<NodeOut> {
    ok_as(app, token, Method::GET, "/api/v1/nodes", None, 200).await
}
