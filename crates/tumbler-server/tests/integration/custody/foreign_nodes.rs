//! Another domain neither sees nor changes the nodes it does not share.

use super::super::change_secret::{admin, task};
use super::super::support::{call, error_code, ok, ok_as, user};
use super::{node_id, paths};
use reqwest::Method;
use serde_json::{json, Value};
use tumbler_api_types::nodes::NodeOut;
use tumbler_api_types::Page;
use tumbler_testkit::app::TestApp;

#[tokio::test]
async fn another_domain_neither_sees_nor_changes_nodes_it_does_not_share() {
    let app = TestApp::spawn().await;
    let admin = admin(&app).await;
    for d in ["Dev", "Ops"] {
        ok(
            &app,
            &admin,
            Method::POST,
            "/api/v1/domains",
            Some(json!({"name": d})),
            201,
        )
        .await;
    }
    let oscar = user(&app, &admin, "oscar", &["operator"], &["Ops"]).await;
    let dana = user(&app, &admin, "dana", &["operator"], &["Dev"]).await;
    ok(
        &app,
        &oscar,
        Method::POST,
        "/api/v1/assets",
        Some(
            json!({"name": "ops-db", "address": "127.0.0.1", "port": 1, "platform": "linux",
                    "nodes": ["/Default/OpsOnly", "/Default/Shared"]}),
        ),
        201,
    )
    .await;
    ok(
        &app,
        &oscar,
        Method::POST,
        "/api/v1/nodes",
        Some(json!({"path": "/Default/OpsPlanned"})),
        201,
    )
    .await;
    // An Ops task by node: the node holds nothing yet, but it is Ops's.
    task(
        &app,
        &oscar,
        json!({"name": "planned", "usernames": ["svc"], "nodes": ["/Default/OpsPlanned"],
               "secret_strategy": "random"}),
    )
    .await;
    ok(
        &app,
        &dana,
        Method::POST,
        "/api/v1/assets",
        Some(
            json!({"name": "dev-web", "address": "127.0.0.1", "port": 1, "platform": "linux",
                    "nodes": ["/Default/Shared", "/Default/DevOnly"]}),
        ),
        201,
    )
    .await;
    let ops_view: Page<NodeOut> =
        ok_as(&app, &oscar, Method::GET, "/api/v1/nodes", None, 200).await;
    let ops_only = node_id(&ops_view, "/Default/OpsOnly").unwrap();
    let planned = node_id(&ops_view, "/Default/OpsPlanned").unwrap();

    // Dev sees its own nodes and the shared ones, never Ops's.
    let dev_view: Page<NodeOut> = ok_as(&app, &dana, Method::GET, "/api/v1/nodes", None, 200).await;
    let mut dev_paths = paths(&dev_view);
    dev_paths.sort();
    assert_eq!(
        dev_paths,
        ["/Default", "/Default/DevOnly", "/Default/Shared"]
    );
    assert!(!format!("{dev_view:?}").contains("Ops"), "{dev_view:?}");
    let shared = node_id(&dev_view, "/Default/Shared").unwrap();
    let dev_only = node_id(&dev_view, "/Default/DevOnly").unwrap();
    let root = node_id(&dev_view, "/Default").unwrap();

    // Ops's nodes are "not found" to Dev, whatever is tried.
    for (method, path, body) in [
        (
            Method::PATCH,
            format!("/api/v1/nodes/{ops_only}"),
            Some(json!({"name": "Mine"})),
        ),
        (Method::DELETE, format!("/api/v1/nodes/{planned}"), None),
        (
            Method::PATCH,
            format!("/api/v1/nodes/{dev_only}"),
            Some(json!({"parent": "/Default/OpsOnly"})),
        ),
    ] {
        refused(&app, &dana, method, &path, body, (404, "node_not_found")).await;
    }
    // Shared nodes (and those above Ops's) cannot be renamed, moved or deleted by Dev.
    for (method, path, body) in [
        (
            Method::PATCH,
            format!("/api/v1/nodes/{shared}"),
            Some(json!({"name": "Taken"})),
        ),
        (
            Method::PATCH,
            format!("/api/v1/nodes/{shared}"),
            Some(json!({"parent": "/Default/DevOnly"})),
        ),
        (Method::DELETE, format!("/api/v1/nodes/{shared}"), None),
        (
            Method::PATCH,
            format!("/api/v1/nodes/{root}"),
            Some(json!({"name": "Renamed"})),
        ),
    ] {
        refused(&app, &dana, method, &path, body, (409, "node_shared")).await;
    }
    // A task cannot name a node Dev cannot see.
    let (status, out) = call(
        &app,
        &dana,
        Method::POST,
        "/api/v1/change-secret/tasks",
        Some(
            json!({"name": "probe", "usernames": ["svc"], "nodes": ["/Default/OpsPlanned"],
                    "secret_strategy": "random"}),
        ),
    )
    .await;
    assert_eq!((status, error_code(&out).as_str()), (400, "unknown_node"));
    // Its own node is Dev's to change.
    let renamed: NodeOut = ok_as(
        &app,
        &dana,
        Method::PATCH,
        &format!("/api/v1/nodes/{dev_only}"),
        Some(json!({"name": "DevRenamed"})),
        200,
    )
    .await;
    assert_eq!(renamed.path, "/Default/DevRenamed");
    // Ops's tree is intact.
    let after: Page<NodeOut> = ok_as(&app, &oscar, Method::GET, "/api/v1/nodes", None, 200).await;
    assert!(node_id(&after, "/Default/OpsOnly").is_some());
    assert!(node_id(&after, "/Default/OpsPlanned").is_some());
    assert!(node_id(&after, "/Default/Shared").is_some());
    app.stop().await;
}

/// Sends the request and asserts it is refused with `expected` (status, error code).
async fn refused(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
    expected: (u16, &str),
) {
    let (status, out) = call(app, token, method, path, body).await;
    assert_eq!(
        (status, error_code(&out).as_str()),
        (expected.0, expected.1),
        "{path}: {out}"
    );
}
