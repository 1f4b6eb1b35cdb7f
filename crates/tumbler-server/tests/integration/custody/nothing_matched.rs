//! A task that matches nothing says nothing was changed, and never claims success.

use super::super::change_secret::{account, admin, linux_asset, run, task, OPS_PASSWORD};
use super::super::support::{call, error_code, ok, ok_as};
use super::node_id;
use reqwest::Method;
use serde_json::json;
use tumbler_api_types::change_secret::{ExecutionView, TaskView};
use tumbler_domain::change_secret::ExecutionStatus;
use tumbler_testkit::app::TestApp;
use tumbler_testkit::sshd::{SshHost, TestUser};

#[tokio::test]
async fn a_task_that_matches_nothing_says_nothing_was_changed() {
    let app = TestApp::spawn().await;
    let admin = admin(&app).await;
    let host = SshHost::start(&[TestUser::new("ops", OPS_PASSWORD).with_sudo()])
        .await
        .unwrap();
    let asset = linux_asset(&app, &admin, "quiet", &host).await;
    account(&app, &admin, &asset, "ops", OPS_PASSWORD, true, json!({})).await;
    ok(
        &app,
        &admin,
        Method::POST,
        "/api/v1/nodes",
        Some(json!({"path": "/Default/Soon-Gone"})),
        201,
    )
    .await;

    // A node that never existed is refused when the task is saved, nothing stored.
    let (status, body) = call(
        &app,
        &admin,
        Method::POST,
        "/api/v1/change-secret/tasks",
        Some(
            json!({"name": "ghost", "usernames": ["app1"], "nodes": ["/Default/Ghost"],
                    "secret_strategy": "random"}),
        ),
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (400, "unknown_node"),
        "{body}"
    );
    let tasks: Vec<TaskView> = ok_as(
        &app,
        &admin,
        Method::GET,
        "/api/v1/change-secret/tasks",
        None,
        200,
    )
    .await;
    assert!(tasks.is_empty(), "nothing stored: {tasks:?}");

    // Usernames that match no account: not `succeeded`.
    let by_name = task(
        &app,
        &admin,
        json!({"name": "nobody", "usernames": ["nobody"], "asset_ids": [asset],
               "secret_strategy": "random"}),
    )
    .await;
    let e: ExecutionView = run(&app, &admin, &by_name).await;
    assert_eq!(e.status, ExecutionStatus::NothingChanged, "{e:?}");
    assert!(e.reason.contains("matched no account"), "{e:?}");
    let log = super::super::change_secret::log_text(&app, &admin, e.id.as_str()).await;
    assert!(log.contains("nothing was changed"), "{log}");
    assert!(
        log.trim_end().ends_with("finished: nothing_changed"),
        "{log}"
    );
    // Accounts matched but all skipped by secure mode: nothing changed either.
    let skipped = task(
        &app,
        &admin,
        json!({"name": "skipped", "usernames": ["ops"], "asset_ids": [asset],
               "secret_strategy": "random"}),
    )
    .await;
    let e: ExecutionView = run(&app, &admin, &skipped).await;
    assert_eq!(e.status, ExecutionStatus::NothingChanged, "{e:?}");
    assert!(e.reason.contains("skipped"), "{e:?}");

    // A node saved with the task and deleted since: the run says so, and changed nothing.
    let by_node = task(
        &app,
        &admin,
        json!({"name": "by node", "usernames": ["app1"], "nodes": ["/Default/Soon-Gone"],
               "secret_strategy": "random"}),
    )
    .await;
    let (status, body) = call(
        &app,
        &admin,
        Method::PATCH,
        &format!("/api/v1/change-secret/tasks/{by_node}"),
        Some(json!({"nodes": ["/Nowhere"]})),
    )
    .await;
    assert_eq!((status, error_code(&body).as_str()), (400, "unknown_node"));
    let nodes: tumbler_api_types::Page<tumbler_api_types::nodes::NodeOut> =
        ok_as(&app, &admin, Method::GET, "/api/v1/nodes", None, 200).await;
    let gone = node_id(&nodes, "/Default/Soon-Gone").unwrap();
    ok(
        &app,
        &admin,
        Method::DELETE,
        &format!("/api/v1/nodes/{gone}"),
        None,
        204,
    )
    .await;
    let e: ExecutionView = run(&app, &admin, &by_node).await;
    assert_eq!(e.status, ExecutionStatus::NothingChanged, "{e:?}");
    let log = super::super::change_secret::log_text(&app, &admin, e.id.as_str()).await;
    assert!(
        log.contains("node /Default/Soon-Gone no longer exists"),
        "{log}"
    );
    app.stop().await;
}
