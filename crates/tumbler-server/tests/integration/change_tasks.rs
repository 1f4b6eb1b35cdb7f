//! Task copy and delete: copies are named "(copy)", "(copy 2)"... and keep the definition and
//! the specified secret (a copy's run sets that secret on a real host); a task with a run under
//! way cannot be deleted (409 `task_running`), and once the run ended it can, its history kept.

use super::change_paths::{account_row, chpasswd_gate, eventually};
use super::change_secret::{
    account, admin, linux_asset, run, ssh_logs_in, task, wait_for_execution, APP_PASSWORD,
    OPS_PASSWORD,
};
use super::support::{call, error_code, ok};
use reqwest::Method;
use serde_json::{json, Value};
use tumbler_domain::inventory::AccountStatus;
use tumbler_testkit::app::TestApp;
use tumbler_testkit::sshd::{SshHost, TestUser};

const SPECIFIED: &str = "canary-Copied-Specified-5d";

async fn copy(app: &TestApp, token: &str, id: &str) -> Value {
    ok(
        app,
        token,
        Method::POST,
        &format!("/api/v1/change-secret/tasks/{id}/copy"),
        None,
        201,
    )
    .await
}

/// The parts of a task a copy keeps.
fn definition(t: &Value) -> Value {
    let mut t = t.clone();
    for volatile in [
        "id",
        "name",
        "enabled",
        "created_at",
        "updated_at",
        "created_by",
        "next_run_at",
        "next_run_at_local",
    ] {
        t.as_object_mut().unwrap().remove(volatile);
    }
    t
}

#[tokio::test]
async fn copies_are_numbered_keep_the_secret_and_a_running_task_is_not_deleted() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("app1", APP_PASSWORD),
    ])
    .await
    .unwrap();
    let asset = linux_asset(&app, &token, "copies", &host).await;
    account(
        &app,
        &token,
        &asset,
        "ops",
        OPS_PASSWORD,
        true,
        json!({"become": "sudo"}),
    )
    .await;
    let app1 = account(&app, &token, &asset, "app1", APP_PASSWORD, false, json!({})).await;
    let original = task(
        &app,
        &token,
        json!({"name": "X", "usernames": ["app1"], "asset_ids": [asset],
               "secret_strategy": "specified", "secret": SPECIFIED}),
    )
    .await;
    let source = ok(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/change-secret/tasks/{original}"),
        None,
        200,
    )
    .await;

    let first = copy(&app, &token, &original).await;
    assert_eq!(first["name"], "X (copy)", "{first}");
    let second = copy(&app, &token, &original).await;
    assert_eq!(second["name"], "X (copy 2)", "{second}");
    let third = copy(&app, &token, &original).await;
    assert_eq!(third["name"], "X (copy 3)", "{third}");
    // A copy of a copy is named after its own source.
    let nested = copy(&app, &token, first["id"].as_str().unwrap()).await;
    assert_eq!(nested["name"], "X (copy) (copy)", "{nested}");
    for c in [&first, &second, &third, &nested] {
        assert_eq!(c["enabled"], false, "a copy starts disabled: {c}");
        assert_eq!(c["has_secret"], true, "{c}");
        assert_eq!(definition(c), definition(&source), "the definition is kept");
        assert!(!c.to_string().contains(SPECIFIED));
    }
    // A freed name is used again.
    ok(
        &app,
        &token,
        Method::DELETE,
        &format!(
            "/api/v1/change-secret/tasks/{}",
            second["id"].as_str().unwrap()
        ),
        None,
        204,
    )
    .await;
    assert_eq!(copy(&app, &token, &original).await["name"], "X (copy 2)");

    // The copy's run sets the specified secret it carried over.
    let runner = third["id"].as_str().unwrap();
    ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/change-secret/tasks/{runner}"),
        Some(json!({"enabled": true})),
        200,
    )
    .await;
    let e = run(&app, &token, runner).await;
    assert_eq!(e["status"], "succeeded", "{e}");
    assert!(ssh_logs_in(&host, "app1", SPECIFIED).await);
    assert!(!ssh_logs_in(&host, "app1", APP_PASSWORD).await);

    // A run of the original waits at the host's chpasswd: the task cannot be deleted now.
    let gate = chpasswd_gate(&host);
    ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/change-secret/tasks/{original}"),
        Some(json!({"secret": "canary-Second-Specified-8e"})),
        200,
    )
    .await;
    let started = ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/change-secret/tasks/{original}/execute"),
        None,
        202,
    )
    .await;
    let exec_id = started["execution_id"].as_str().unwrap().to_owned();
    let (app_ref, app1_ref) = (&app, app1.as_str());
    eventually(60, "the run to stage the account", || async move {
        (account_row(app_ref, app1_ref).await.status == AccountStatus::Changing).then_some(())
    })
    .await;
    let (status, body) = call(
        &app,
        &token,
        Method::DELETE,
        &format!("/api/v1/change-secret/tasks/{original}"),
        None,
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (409, "task_running"),
        "{body}"
    );
    ok(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/change-secret/tasks/{original}"),
        None,
        200,
    )
    .await;
    std::fs::remove_file(&gate).unwrap();
    let e = wait_for_execution(&app, &token, &exec_id).await;
    assert_eq!(e["status"], "succeeded", "the run finished its task: {e}");
    assert!(ssh_logs_in(&host, "app1", "canary-Second-Specified-8e").await);

    // Ended: the task goes, its history stays.
    ok(
        &app,
        &token,
        Method::DELETE,
        &format!("/api/v1/change-secret/tasks/{original}"),
        None,
        204,
    )
    .await;
    let (status, _) = call(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/change-secret/tasks/{original}"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let kept = ok(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/change-secret/executions/{exec_id}"),
        None,
        200,
    )
    .await;
    assert_eq!(kept["task_name"], "X", "{kept}");
    // The copies do not depend on it.
    assert_eq!(
        ok(
            &app,
            &token,
            Method::GET,
            &format!("/api/v1/change-secret/tasks/{runner}"),
            None,
            200
        )
        .await["has_secret"],
        true
    );
}
