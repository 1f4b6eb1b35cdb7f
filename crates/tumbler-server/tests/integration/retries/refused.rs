//! Retries that must send nothing: of an asset moved to another domain since its run, and of
//! a disabled task.

use super::super::change_secret::{record_for, records, run, ssh_logs_in, APP_PASSWORD};
use super::super::support::{ok, ok_as, user};
use super::{
    attention, overview, retry_all, retry_refused, spawn_one_app, store_ops_password, OneApp,
};
use reqwest::Method;
use serde_json::json;
use tumbler_api_types::auth::MeOut;
use tumbler_api_types::change_secret::{ExecutionView, RecordRow};
use tumbler_api_types::inventory::AccountOut;
use tumbler_api_types::Page;
use tumbler_domain::change_secret::{ExecutionStatus, Trigger};
use tumbler_domain::failure_code::FailureCode;
use tumbler_testkit::app::{TestApp, ADMIN_PASSWORD};

/// Runs `task_id` (its privileged password is wrong, so it fails), then stores the right
/// privileged password for `ops`: a retry would now change the account. Returns the run's id
/// and its record of `app1`.
async fn failed_then_fixed(
    app: &TestApp,
    token: &str,
    task_id: &str,
    ops: &str,
) -> (String, RecordRow) {
    let e: ExecutionView = run(app, token, task_id).await;
    assert_eq!(e.status, ExecutionStatus::Failed, "{e:?}");
    let exec_id = e.id.to_string();
    let r1: RecordRow = record_for(&records(app, token, &exec_id).await, "app1").clone();
    assert_eq!(
        r1.reason_code,
        Some(FailureCode::PrivilegedLoginFailed),
        "{r1:?}"
    );
    store_ops_password(app, token, ops).await;
    (exec_id, r1)
}

/// An asset moved to another domain after its run failed: "Retry all failed" by an operator of
/// the run's domain (who no longer sees the asset) and by an administrator who sees both
/// domains, and a single retry, all send nothing (the run's task and domain no longer cover
/// the asset); the operator's overview no longer lists the account.
#[tokio::test]
async fn retries_of_an_asset_moved_to_another_domain_send_nothing() {
    let (app, token, one) = spawn_one_app("moving", "not-the-password").await;
    let OneApp {
        host,
        asset,
        ops,
        app1,
        task_id,
    } = one;
    let operator = user(&app, &token, "opa", &["operator"], &["Default"]).await;
    // The cause is fixed (a retry would change the account), then the asset moves away.
    let (exec_id, r1) = failed_then_fixed(&app, &token, &task_id, &ops).await;
    assert!(attention(&overview(&app, &operator).await, "app1@moving").is_some());
    ok(
        &app,
        &token,
        Method::POST,
        "/api/v1/domains",
        Some(json!({"name": "Elsewhere"})),
        201,
    )
    .await;
    let me: MeOut = ok_as(&app, &token, Method::GET, "/api/v1/users/me", None, 200).await;
    let admin_id = me.user.id;
    ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/users/{admin_id}"),
        Some(json!({"domains": ["Default", "Elsewhere"], "current_password": ADMIN_PASSWORD})),
        200,
    )
    .await;
    ok(
        &app,
        &token,
        Method::PUT,
        "/api/v1/users/me/object-visibility",
        Some(json!({"all_domains": true})),
        204,
    )
    .await;
    ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/assets/{asset}"),
        Some(json!({"domain": "Elsewhere"})),
        200,
    )
    .await;

    for caller in [&operator, &token] {
        let out = retry_all(&app, caller, &exec_id).await;
        assert!(out.started.is_empty(), "{out:?}");
        assert_eq!(out.skipped[0].record_id, r1.id, "{out:?}");
        assert_eq!(out.skipped[0].code, "asset_moved", "{out:?}");
    }
    retry_refused(&app, &token, r1.id.as_str(), "asset_moved").await;
    // Nothing was sent: the old password still logs in, the account is at its first version
    // and no retry run exists.
    assert!(ssh_logs_in(&host, "app1", APP_PASSWORD).await);
    let a: AccountOut = ok_as(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/accounts/{app1}"),
        None,
        200,
    )
    .await;
    assert_eq!(a.secret_version, 1, "{a:?}");
    let history: Page<ExecutionView> = ok_as(
        &app,
        &token,
        Method::GET,
        "/api/v1/change-secret/executions?limit=50",
        None,
        200,
    )
    .await;
    assert!(
        history.items.iter().all(|e| e.trigger != Trigger::Retry),
        "{history:?}"
    );
    // The account is no longer the operator's to act on.
    assert!(attention(&overview(&app, &operator).await, "app1@moving").is_none());
    assert!(attention(&overview(&app, &token).await, "app1@moving").is_some());
    app.stop().await;
}

/// A retry of a disabled task's record is refused as running the task is.
#[tokio::test]
async fn a_disabled_task_is_not_retried() {
    let (app, token, one) = spawn_one_app("off", "not-the-password").await;
    let OneApp {
        host, ops, task_id, ..
    } = one;
    let (exec_id, r1) = failed_then_fixed(&app, &token, &task_id, &ops).await;
    ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/change-secret/tasks/{task_id}"),
        Some(json!({"enabled": false})),
        200,
    )
    .await;
    retry_refused(&app, &token, r1.id.as_str(), "task_disabled").await;
    let out = retry_all(&app, &token, &exec_id).await;
    assert!(out.started.is_empty(), "{out:?}");
    assert_eq!(out.skipped[0].code, "task_disabled", "{out:?}");
    assert!(ssh_logs_in(&host, "app1", APP_PASSWORD).await);
    app.stop().await;
}
