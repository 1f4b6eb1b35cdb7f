//! Task copy and delete: copies are named "(copy)", "(copy 2)"... and keep the definition and
//! the specified secret (a copy's run sets that secret on a real host); a task with a run under
//! way cannot be deleted (409 `task_running`), and once the run ended it can, its history kept.

use super::change_paths::{account_row, chpasswd_gate, eventually};
use super::change_secret::{
    account, admin, execution, linux_asset, run, ssh_logs_in, start_run, sudo_ops, task,
    wait_for_execution, APP_PASSWORD, OPS_PASSWORD,
};
use super::support::{call, error_code, ok, ok_as, typed};
use reqwest::Method;
use serde_json::json;
use tumbler_api_types::change_secret::{TaskSpec, TaskView};
use tumbler_domain::change_secret::ExecutionStatus;
use tumbler_domain::ids::DomainId;
use tumbler_domain::inventory::AccountStatus;
use tumbler_testkit::app::TestApp;
use tumbler_testkit::sshd::{SshHost, TestUser};

const SPECIFIED: &str = "canary-Copied-Specified-5d";

/// Copies a task; returns the copy.
async fn copy(app: &TestApp, token: &str, id: &str) -> TaskView {
    let body = ok(
        app,
        token,
        Method::POST,
        &format!("/api/v1/change-secret/tasks/{id}/copy"),
        None,
        201,
    )
    .await;
    // Raw JSON on purpose: the secret must be nowhere in the answer's text.
    assert!(!body.to_string().contains(SPECIFIED), "{body}");
    typed(body)
}

/// The task, read back.
async fn get_task(app: &TestApp, token: &str, id: &str) -> TaskView {
    ok_as(
        app,
        token,
        Method::GET,
        &format!("/api/v1/change-secret/tasks/{id}"),
        None,
        200,
    )
    .await
}

/// The parts of a task a copy keeps.
fn definition(t: &TaskView) -> (&TaskSpec, &DomainId, bool, &str) {
    (&t.spec, &t.domain_id, t.has_secret, &t.time_zone)
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
    sudo_ops(&app, &token, &asset).await;
    let app1 = account(&app, &token, &asset, "app1", APP_PASSWORD, false, json!({})).await;
    let original = task(
        &app,
        &token,
        json!({"name": "X", "usernames": ["app1"], "asset_ids": [asset],
               "secret_strategy": "specified", "secret": SPECIFIED}),
    )
    .await;
    let source = get_task(&app, &token, &original).await;

    let first = copy(&app, &token, &original).await;
    assert_eq!(first.name, "X (copy)", "{first:?}");
    let second = copy(&app, &token, &original).await;
    assert_eq!(second.name, "X (copy 2)", "{second:?}");
    let third = copy(&app, &token, &original).await;
    assert_eq!(third.name, "X (copy 3)", "{third:?}");
    // A copy of a copy is named after its own source.
    let nested = copy(&app, &token, first.id.as_str()).await;
    assert_eq!(nested.name, "X (copy) (copy)", "{nested:?}");
    for c in [&first, &second, &third, &nested] {
        assert!(!c.enabled, "a copy starts disabled: {c:?}");
        assert!(c.has_secret, "{c:?}");
        assert_eq!(definition(c), definition(&source), "the definition is kept");
    }
    // A freed name is used again.
    ok(
        &app,
        &token,
        Method::DELETE,
        &format!("/api/v1/change-secret/tasks/{}", second.id),
        None,
        204,
    )
    .await;
    assert_eq!(copy(&app, &token, &original).await.name, "X (copy 2)");

    // The copy's run sets the specified secret it carried over.
    let runner = third.id.as_str();
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
    assert_eq!(e.status, ExecutionStatus::Succeeded, "{e:?}");
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
    let exec_id = start_run(&app, &token, &original).await;
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
    get_task(&app, &token, &original).await;
    std::fs::remove_file(&gate).unwrap();
    let e = wait_for_execution(&app, &token, &exec_id).await;
    assert_eq!(
        e.status,
        ExecutionStatus::Succeeded,
        "the run finished its task: {e:?}"
    );
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
    let kept = execution(&app, &token, &exec_id).await;
    assert_eq!(kept.task_name, "X", "{kept:?}");
    // The copies do not depend on it.
    assert!(get_task(&app, &token, runner).await.has_secret);
}
