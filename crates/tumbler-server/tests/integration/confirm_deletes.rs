//! A delete posted without its dialog's confirmation deletes nothing: a change task, a node.
//! With the confirmation it is done, and the page it lands on says what went.

use super::support::{call, console_admin, csrf_in, ok_as};
use reqwest::{Client, Method};
use serde_json::json;
use tumbler_api_types::change_secret::TaskView;
use tumbler_api_types::nodes::NodeOut;
use tumbler_api_types::Page;
use tumbler_testkit::app::TestApp;

async fn page(console: &Client, app: &TestApp, path: &str) -> String {
    console
        .get(app.url(path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Posts `form` to `path` and returns the status and where it redirects.
async fn post(console: &Client, app: &TestApp, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let res = console.post(app.url(path)).form(form).send().await.unwrap();
    let to = res
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (res.status().as_u16(), to)
}

#[tokio::test]
async fn a_task_delete_without_confirmation_deletes_nothing() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let task: TaskView = ok_as(
        &app,
        &token,
        Method::POST,
        "/api/v1/change-secret/tasks",
        Some(
            json!({"name": "nightly-web", "usernames": ["app1"], "asset_ids": ["x"],
            "secret_strategy": "random"}),
        ),
        201,
    )
    .await;
    let console = console_admin(&app).await;
    let overview = page(&console, &app, "/change-secret").await;
    assert!(
        overview.contains("Its schedule stops") && overview.contains("nightly-web"),
        "the dialog names what goes: {overview}"
    );
    let csrf = csrf_in(&overview);
    let address = format!("/change-secret/tasks/{}/delete", task.id);
    let task_url = format!("/api/v1/change-secret/tasks/{}", task.id);

    let (status, to) = post(&console, &app, &address, &[("csrf", &csrf)]).await;
    assert_eq!((status, to.as_str()), (303, "/change-secret"));
    let shown = page(&console, &app, "/change-secret").await;
    assert!(
        shown.contains("Nothing was deleted") && shown.contains("confirmation_required"),
        "{shown}"
    );
    let (status, _) = call(&app, &token, Method::GET, &task_url, None).await;
    assert_eq!(status, 200, "a delete without confirmation is refused");

    let (status, _) = post(
        &console,
        &app,
        &address,
        &[("csrf", &csrf), ("confirm", "yes")],
    )
    .await;
    assert_eq!(status, 303);
    let shown = page(&console, &app, "/change-secret").await;
    assert!(
        shown.contains("Task nightly-web deleted with its schedule"),
        "{shown}"
    );
    let (status, _) = call(&app, &token, Method::GET, &task_url, None).await;
    assert_eq!(status, 404);
    app.stop().await;
}

#[tokio::test]
async fn a_node_delete_without_confirmation_deletes_nothing() {
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let node: NodeOut = ok_as(
        &app,
        &token,
        Method::POST,
        "/api/v1/nodes",
        Some(json!({"path": "/Default/Spare"})),
        201,
    )
    .await;
    let console = console_admin(&app).await;
    let at_node = page(&console, &app, "/assets?node=%2FDefault%2FSpare").await;
    assert!(
        at_node.contains("delete-node-what") && at_node.contains("every node under it"),
        "the dialog names what goes: {at_node}"
    );
    let csrf = csrf_in(&at_node);
    let address = format!("/nodes/{}", node.id);
    let exists = |app: &TestApp, token: &str| {
        let app = app.url("/api/v1/nodes");
        let token = token.to_owned();
        async move {
            let nodes: Page<NodeOut> = Client::new()
                .get(app)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            nodes.items.iter().any(|n| n.path == "/Default/Spare")
        }
    };

    let (status, _) = post(
        &console,
        &app,
        &address,
        &[("csrf", &csrf), ("action", "delete")],
    )
    .await;
    assert_eq!(status, 303);
    let shown = page(&console, &app, "/assets").await;
    assert!(shown.contains("Nothing was deleted"), "{shown}");
    assert!(
        exists(&app, &token).await,
        "a delete without confirmation is refused"
    );

    let (status, _) = post(
        &console,
        &app,
        &address,
        &[("csrf", &csrf), ("action", "delete"), ("confirm", "yes")],
    )
    .await;
    assert_eq!(status, 303);
    let shown = page(&console, &app, "/assets").await;
    assert!(
        shown.contains("Node /Default/Spare deleted with the nodes under it"),
        "{shown}"
    );
    assert!(!exists(&app, &token).await);
    app.stop().await;
}
