//! Recovery of a run a crash left behind: pending is tried first, then current.

use super::super::support::call;
use super::{
    account, admin, execution, linux_asset, log_text, staged_by_a_dead_worker, task,
    verify_account, APP_PASSWORD, OPS_PASSWORD,
};
use reqwest::Method;
use serde_json::json;
use tumbler_domain::change_secret::{ExecutionStatus, RecordStatus};
use tumbler_testkit::app::TestApp;
use tumbler_testkit::sshd::{SshHost, TestUser};

#[tokio::test]
async fn recovery_settles_a_crashed_run_by_logging_in_with_pending_then_current() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("app1", APP_PASSWORD),
        TestUser::new("app2", APP_PASSWORD),
    ])
    .await
    .unwrap();
    let asset = linux_asset(&app, &token, "crashy", &host).await;
    account(&app, &token, &asset, "ops", OPS_PASSWORD, true, json!({})).await;
    let app1 = account(&app, &token, &asset, "app1", APP_PASSWORD, false, json!({})).await;
    let app2 = account(&app, &token, &asset, "app2", APP_PASSWORD, false, json!({})).await;
    let task_id = task(
        &app,
        &token,
        json!({"name": "crash", "usernames": ["app1"], "asset_ids": [asset], "secret_strategy": "random"}),
    )
    .await;
    // app1: the crash came after the target took the new password.
    let (exec1, rec1) =
        staged_by_a_dead_worker(&app, &task_id, &app1, "canary-Pending-Took-1a").await;
    host.set_password("app1", "canary-Pending-Took-1a")
        .await
        .unwrap();
    // app2: the crash came before the target was touched.
    let (exec2, rec2) =
        staged_by_a_dead_worker(&app, &task_id, &app2, "canary-Pending-Never-2b").await;

    // While staged, the account refuses edits of its secret and another change.
    let (status, _) = call(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/accounts/{app1}"),
        Some(json!({"secret": "x-y-z-1"})),
    )
    .await;
    assert_eq!(status, 400);

    let recovered = app.services.change_secret.recover(false).await.unwrap();
    assert_eq!(recovered, 2);
    for (exec, rec, acc, expect_status, expect_version) in [
        (&exec1, &rec1, &app1, RecordStatus::Success, 2),
        (&exec2, &rec2, &app2, RecordStatus::Failed, 1),
    ] {
        let e = execution(&app, &token, exec.as_str()).await;
        assert_eq!(e.status, ExecutionStatus::Interrupted);
        let r = app.services.store.record(rec).await.unwrap().unwrap();
        assert_eq!(r.status, expect_status, "{r:?}");
        let out = verify_account(&app, &token, acc).await;
        assert!(out.ok, "the stored current secret logs in: {out:?}");
        assert_eq!(out.account.secret_version, expect_version);
        let log = log_text(&app, &token, exec.as_str()).await;
        assert!(log.contains("recovery found"), "{log}");
    }
    // Nothing is left to recover.
    assert_eq!(app.services.change_secret.recover(false).await.unwrap(), 0);
}
