//! Every contact with an asset updates its connectivity: a device-key job (or a change run)
//! that finds the device down turns an `ok` asset `unreachable` (with the error and the
//! time), and the asset list filtered by connectivity shows it; a verification (or a run) once
//! it is back turns it `ok` again.

use super::change_secret::{
    account, admin, linux_asset, run, sudo_ops, task, verify_account, APP_PASSWORD, OPS_PASSWORD,
};
use super::device_keys::wait_for_job;
use super::support::{ok_as, typed};
use reqwest::Method;
use serde_json::json;
use tumbler_api_types::answers::JobStarted;
use tumbler_api_types::device_keys::JobView;
use tumbler_api_types::inventory::AssetOut;
use tumbler_api_types::Page;
use tumbler_domain::inventory::Connectivity;
use tumbler_domain::job::JobStatus;
use tumbler_testkit::app::TestApp;
use tumbler_testkit::sshd::{SshHost, TestUser};

async fn asset(app: &TestApp, token: &str, id: &str) -> AssetOut {
    ok_as(
        app,
        token,
        Method::GET,
        &format!("/api/v1/assets/{id}"),
        None,
        200,
    )
    .await
}

async fn listed_with(app: &TestApp, token: &str, connectivity: &str) -> Vec<String> {
    let page: Page<AssetOut> = ok_as(
        app,
        token,
        Method::GET,
        &format!("/api/v1/assets?connectivity={connectivity}"),
        None,
        200,
    )
    .await;
    page.items.into_iter().map(|a| a.id.to_string()).collect()
}

#[tokio::test]
async fn a_device_key_job_records_an_unreachable_device_and_a_verify_records_it_back() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let mut host =
        SshHost::start(&[TestUser::new("ops", super::change_secret::OPS_PASSWORD).with_sudo()])
            .await
            .unwrap();
    let id = linux_asset(&app, &token, "flaky", &host).await;
    let ops = sudo_ops(&app, &token, &id).await;
    let before = asset(&app, &token, &id).await;
    assert_eq!(before.connectivity, Connectivity::Ok, "{before:?}");
    let tested_at = before.connectivity_checked_at.expect("tested");

    // The device goes down; a job switching it to the system key finds it so.
    host.kill();
    let started: JobStarted = ok_as(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/assets/{id}/authentication"),
        Some(json!({"mode": "system_key", "admin_user": "tumbler", "create_user": true})),
        202,
    )
    .await;
    let job: JobView = typed(wait_for_job(&app, &token, started.job_id.as_str()).await);
    assert_eq!(job.status, JobStatus::Failed, "{job:?}");
    let down = asset(&app, &token, &id).await;
    assert_eq!(down.connectivity, Connectivity::Unreachable, "{down:?}");
    assert!(!down.connectivity_error.is_empty(), "{down:?}");
    let down_at = down.connectivity_checked_at.expect("a time");
    assert!(down_at >= tested_at, "{down_at} < {tested_at}");
    assert!(listed_with(&app, &token, "unreachable").await.contains(&id));
    assert!(!listed_with(&app, &token, "ok").await.contains(&id));

    // Back up: a verification of its account reaches it.
    host.start_again().await.unwrap();
    let verified = verify_account(&app, &token, &ops).await;
    assert!(verified.ok, "{verified:?}");
    let up = asset(&app, &token, &id).await;
    assert_eq!(up.connectivity, Connectivity::Ok, "{up:?}");
    assert!(up.connectivity_error.is_empty(), "{up:?}");
    assert!(up.connectivity_checked_at.expect("a time") >= down_at);
    assert!(listed_with(&app, &token, "ok").await.contains(&id));
}

#[tokio::test]
async fn a_change_run_records_the_host_it_could_not_reach_and_then_reached() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let mut host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("app1", APP_PASSWORD),
    ])
    .await
    .unwrap();
    let id = linux_asset(&app, &token, "web-down", &host).await;
    sudo_ops(&app, &token, &id).await;
    account(&app, &token, &id, "app1", APP_PASSWORD, false, json!({})).await;
    assert_eq!(
        asset(&app, &token, &id).await.connectivity,
        Connectivity::Ok
    );
    let task_id = task(
        &app,
        &token,
        json!({"name": "rotate app1", "usernames": ["app1"], "asset_ids": [id],
               "secret_strategy": "random"}),
    )
    .await;

    host.kill();
    let failed = run(&app, &token, &task_id).await;
    assert_eq!(failed.status.as_str(), "failed", "{failed:?}");
    let down = asset(&app, &token, &id).await;
    assert_eq!(down.connectivity, Connectivity::Unreachable, "{down:?}");
    assert!(!down.connectivity_error.is_empty(), "{down:?}");

    host.start_again().await.unwrap();
    let done = run(&app, &token, &task_id).await;
    assert_ne!(done.status.as_str(), "failed", "{done:?}");
    let up = asset(&app, &token, &id).await;
    assert_eq!(up.connectivity, Connectivity::Ok, "{up:?}");
    assert!(up.connectivity_checked_at >= down.connectivity_checked_at);
}
