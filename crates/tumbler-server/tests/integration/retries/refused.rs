//! Retries that must send nothing: of an asset moved to another domain since its run, and of
//! a disabled task.

use super::super::change_secret::{
    admin, record_for, records, run, ssh_logs_in, APP_PASSWORD, OPS_PASSWORD,
};
use super::super::support::{call, error_code, ok, user};
use super::{attention, one_app, overview, OneApp};
use reqwest::Method;
use serde_json::json;
use tumbler_testkit::app::TestApp;

/// An asset moved to another domain after its run failed: "Retry all failed" by an operator of
/// the run's domain (who no longer sees the asset) and by an administrator who sees both
/// domains, and a single retry, all send nothing (the run's task and domain no longer cover
/// the asset); the operator's overview no longer lists the account.
#[tokio::test]
async fn retries_of_an_asset_moved_to_another_domain_send_nothing() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let OneApp {
        host,
        asset,
        ops,
        app1,
        task_id,
    } = one_app(&app, &token, "moving", "not-the-password").await;
    let e = run(&app, &token, &task_id).await;
    assert_eq!(e.status.as_str(), "failed", "{e:?}");
    let exec_id = e.id.as_str().to_owned();
    let r1 = record_for(&records(&app, &token, &exec_id).await, "app1").clone();
    assert_eq!(
        tumbler_domain::failure_code::FailureCode::stored(r1.reason_code),
        "privileged_login_failed",
        "{r1:?}"
    );
    let operator = user(&app, &token, "opa", &["operator"], &["Default"]).await;
    assert!(attention(&overview(&app, &operator).await, "app1@moving").is_some());

    // The cause is fixed (a retry would change the account), then the asset moves away.
    ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/accounts/{ops}"),
        Some(json!({"secret": OPS_PASSWORD})),
        200,
    )
    .await;
    ok(
        &app,
        &token,
        Method::POST,
        "/api/v1/domains",
        Some(json!({"name": "Elsewhere"})),
        201,
    )
    .await;
    let me = ok(&app, &token, Method::GET, "/api/v1/users/me", None, 200).await;
    let admin_id = me["id"].as_str().unwrap();
    ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/users/{admin_id}"),
        Some(json!({"domains": ["Default", "Elsewhere"]})),
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

    let retry_failed = format!("/api/v1/change-secret/executions/{exec_id}/retry-failed");
    for caller in [&operator, &token] {
        let out = ok(&app, caller, Method::POST, &retry_failed, None, 202).await;
        assert_eq!(out["started"].as_array().unwrap().len(), 0, "{out}");
        assert_eq!(out["skipped"][0]["record_id"], r1.id.as_str(), "{out}");
        assert_eq!(out["skipped"][0]["code"], "asset_moved", "{out}");
    }
    let (status, body) = call(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/change-secret/records/{}/retry", r1.id.as_str()),
        None,
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (409, "asset_moved"),
        "{body}"
    );
    // Nothing was sent: the old password still logs in, the account is at its first version
    // and no retry run exists.
    assert!(ssh_logs_in(&host, "app1", APP_PASSWORD).await);
    let a = ok(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/accounts/{app1}"),
        None,
        200,
    )
    .await;
    assert_eq!(a["secret_version"], 1, "{a}");
    let history = ok(
        &app,
        &token,
        Method::GET,
        "/api/v1/change-secret/executions?limit=50",
        None,
        200,
    )
    .await;
    assert!(
        history["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["trigger"] != "retry"),
        "{history}"
    );
    // The account is no longer the operator's to act on.
    assert!(attention(&overview(&app, &operator).await, "app1@moving").is_none());
    assert!(attention(&overview(&app, &token).await, "app1@moving").is_some());
    app.stop().await;
}

/// A retry of a disabled task's record is refused as running the task is.
#[tokio::test]
async fn a_disabled_task_is_not_retried() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let OneApp {
        host,
        asset: _,
        ops,
        app1: _,
        task_id,
    } = one_app(&app, &token, "off", "not-the-password").await;
    let e = run(&app, &token, &task_id).await;
    let exec_id = e.id.as_str().to_owned();
    let r1 = record_for(&records(&app, &token, &exec_id).await, "app1").clone();
    ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/accounts/{ops}"),
        Some(json!({"secret": OPS_PASSWORD})),
        200,
    )
    .await;
    ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/change-secret/tasks/{task_id}"),
        Some(json!({"enabled": false})),
        200,
    )
    .await;
    let (status, body) = call(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/change-secret/records/{}/retry", r1.id.as_str()),
        None,
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (409, "task_disabled"),
        "{body}"
    );
    let out = ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/change-secret/executions/{exec_id}/retry-failed"),
        None,
        202,
    )
    .await;
    assert_eq!(out["started"].as_array().unwrap().len(), 0, "{out}");
    assert_eq!(out["skipped"][0]["code"], "task_disabled", "{out}");
    assert!(ssh_logs_in(&host, "app1", APP_PASSWORD).await);
    app.stop().await;
}
