//! No secret is written into an SSH session whose host key nobody acknowledged, whatever the
//! login method: no su password, no `chpasswd` line; a key-based device pins its host key on first
//! contact and gets nothing until it is acknowledged.

use super::super::change_secret::{
    account, admin, record_for, records, run, ssh_logs_in, task, APP_PASSWORD, OPS_PASSWORD,
};
use super::super::support::{call, ok, ok_as, typed, Authenticator};
use super::{get_asset, operators_may_not_patch};
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::json;
use std::sync::Arc;
use tumbler_api_types::answers::JobStarted;
use tumbler_api_types::change_secret::{ExecutionView, RecordRow};
use tumbler_api_types::device_keys::JobView;
use tumbler_api_types::inventory::AssetOut;
use tumbler_connectors::ssh::{generate_key_pair, public_key_line};
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::ids::AssetId;
use tumbler_domain::inventory::HostKeyStatus;
use tumbler_domain::job::JobStatus;
use tumbler_domain::ssh_key::KeyAlgorithm;
use tumbler_domain::ManualClock;
use tumbler_store::HostKeyState;
use tumbler_testkit::app::{StoreKind, TestApp};
use tumbler_testkit::sshd::{SshHost, TestUser};

/// The record of `username` among an execution's records, read into its API type.
fn record(records: &[RecordRow], username: &str) -> RecordRow {
    record_for(records, username).clone()
}

/// Runs the task and returns the record of `app1`, the account every test here changes.
async fn run_app1(app: &TestApp, token: &str, task_id: &str) -> RecordRow {
    let e: ExecutionView = run(app, token, task_id).await;
    record(&records(app, token, e.id.as_str()).await, "app1")
}

const ROOT_PASSWORD: &str = "canary-Root-Su-Unverified-5b2e";

/// A Linux asset for the host, tested (its key pinned `unverified`) but never acknowledged.
async fn unverified_linux_asset(app: &TestApp, token: &str, name: &str, host: &SshHost) -> String {
    let body: AssetOut = ok_as(
        app,
        token,
        Method::POST,
        "/api/v1/assets",
        Some(json!({"name": name, "address": host.address(), "port": host.port(), "platform": "linux"})),
        201,
    )
    .await;
    let id = body.id;
    let tested: AssetOut = ok_as(
        app,
        token,
        Method::POST,
        &format!("/api/v1/assets/{id}/test"),
        None,
        200,
    )
    .await;
    assert_eq!(tested.host_key_status, "unverified", "{tested:?}");
    assert!(!tested.trust_on_first_use, "{tested:?}");
    id
}

#[tokio::test]
async fn a_key_login_on_an_unverified_host_gets_no_su_password_and_no_chpasswd_line() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD),
        TestUser::new("app1", APP_PASSWORD),
    ])
    .await
    .unwrap();
    host.set_password("root", ROOT_PASSWORD).await.unwrap();
    // The privileged account logs in with a key: before the fix only password logins were
    // held back on an unverified host key.
    let ops_key = generate_key_pair(KeyAlgorithm::Ed25519, "ops@tumbler").unwrap();
    host.authorize_key("ops", &public_key_line(&ops_key).unwrap())
        .await
        .unwrap();
    let asset = unverified_linux_asset(&app, &token, "unverified-host", &host).await;
    ok(
        &app,
        &token,
        Method::POST,
        "/api/v1/accounts",
        Some(
            json!({"asset_id": asset, "username": "ops", "secret_type": "ssh_key",
                    "secret": ops_key.expose_secret(), "privileged": true,
                    "options": {"become": "su"}}),
        ),
        201,
    )
    .await;
    account(
        &app,
        &token,
        &asset,
        "root",
        ROOT_PASSWORD,
        false,
        json!({}),
    )
    .await;
    account(&app, &token, &asset, "app1", APP_PASSWORD, false, json!({})).await;
    let task_id = task(
        &app,
        &token,
        json!({"name": "rotate on an unverified host", "usernames": ["app1"],
               "asset_ids": [asset], "secret_strategy": "specified",
               "secret": "canary-New-Unverified-81c4"}),
    )
    .await;
    let rec = run_app1(&app, &token, &task_id).await;
    assert_eq!(rec.status.as_str(), "failed", "{rec:?}");
    assert_eq!(
        rec.reason_code,
        Some(FailureCode::HostKeyUnverified),
        "{rec:?}"
    );
    // The key login happened (sshd saw it) but nothing ran: no su, no chpasswd.
    let commands = host.command_log();
    assert!(!commands.contains("su root"), "{commands}");
    assert!(!commands.contains("chpasswd"), "{commands}");
    assert!(!commands.contains(ROOT_PASSWORD));
    assert!(ssh_logs_in(&host, "app1", APP_PASSWORD).await);
    assert!(!ssh_logs_in(&host, "app1", "canary-New-Unverified-81c4").await);

    // Trust on first use for this asset is an administrator's decision.
    operators_may_not_patch(&app, &token, &asset, json!({"trust_on_first_use": true})).await;
    // With it on, the same run goes through the same unverified key.
    let patched: AssetOut = ok_as(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/assets/{asset}"),
        Some(json!({"trust_on_first_use": true})),
        200,
    )
    .await;
    assert!(patched.trust_on_first_use, "{patched:?}");
    assert_eq!(patched.host_key_status, "unverified", "{patched:?}");
    let (_, audit) = call(
        &app,
        &token,
        Method::GET,
        "/api/v1/audit?action=asset.connection_security",
        None,
    )
    .await;
    let text = audit.to_string();
    assert!(text.contains("trust_on_first_use false -> true"), "{text}");
    let e: ExecutionView = run(&app, &token, &task_id).await;
    assert_eq!(e.status.as_str(), "succeeded", "{e:?}");
    assert!(host.command_log().contains("chpasswd"));
    assert!(ssh_logs_in(&host, "app1", "canary-New-Unverified-81c4").await);
    assert!(!host.command_log().contains(ROOT_PASSWORD));
    app.stop().await;
}

#[tokio::test]
async fn a_key_based_device_pins_its_host_key_on_first_contact_and_gets_nothing_until_acknowledged()
{
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    let token = admin(&app).await;
    // Accepting the first key of an asset that holds accounts takes a fresh code.
    let authenticator = Authenticator::enrol(&app, &token, clock).await;
    let mut host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("app1", APP_PASSWORD),
    ])
    .await
    .unwrap();
    let asset = super::super::change_secret::linux_asset(&app, &token, "device", &host).await;
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
    account(&app, &token, &asset, "app1", APP_PASSWORD, false, json!({})).await;
    // The device switches to the system key (through the verified host key).
    let job: JobStarted = ok_as(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/assets/{asset}/authentication"),
        Some(json!({"mode": "system_key", "admin_user": "netadmin", "create_user": true})),
        202,
    )
    .await;
    let job: JobView =
        typed(super::super::device_keys::wait_for_job(&app, &token, job.job_id.as_str()).await);
    assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
    // Its pin is gone (as after the asset moved): the next key login is a first contact.
    let mut tx = app.services.store.begin().await.unwrap();
    tx.set_asset_host_key(
        &AssetId::from_string(asset.clone()),
        &HostKeyState {
            fingerprint: None,
            presented: None,
            status: HostKeyStatus::Unverified,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let sudo_runs = |host: &SshHost| host.command_log().matches("sudo -S").count();
    let switched = sudo_runs(&host);
    let task_id = task(
        &app,
        &token,
        json!({"name": "rotate on a device", "usernames": ["app1"],
               "asset_ids": [asset], "secret_strategy": "specified",
               "secret": "canary-New-Device-0d3a"}),
    )
    .await;
    let rec = run_app1(&app, &token, &task_id).await;
    assert_eq!(rec.status.as_str(), "failed", "{rec:?}");
    assert_eq!(
        rec.reason_code,
        Some(FailureCode::HostKeyUnverified),
        "{rec:?}"
    );
    let a = get_asset(&app, &token, &asset).await;
    assert_eq!(a.auth_status, "key_based", "{a:?}");
    assert_eq!(
        a.host_key_fingerprint.as_deref(),
        Some(host.host_key_fingerprint()),
        "{a:?}"
    );
    assert_eq!(a.host_key_status, "unverified", "{a:?}");
    assert!(!host.command_log().contains("chpasswd"));
    assert_eq!(sudo_runs(&host), switched, "nothing ran through sudo");
    assert!(ssh_logs_in(&host, "app1", APP_PASSWORD).await);

    // Acknowledged, the change goes through: on a key-based device passwords change through
    // the privileged account (ops logs in with its stored password and sudo takes it), not
    // through the device admin user Tumbler created, which has no sudo rule.
    ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/assets/{asset}/host-key/acknowledge"),
        Some(
            json!({"fingerprint": host.host_key_fingerprint(), "totp": authenticator.fresh_code()}),
        ),
        200,
    )
    .await;
    let rec = run_app1(&app, &token, &task_id).await;
    assert_eq!(rec.status.as_str(), "success", "{rec:?}");
    assert!(sudo_runs(&host) > switched);
    assert!(ssh_logs_in(&host, "app1", "canary-New-Device-0d3a").await);
    assert!(!ssh_logs_in(&host, "app1", APP_PASSWORD).await);

    // Its host key changes: the next key login is a conflict and nothing is sent.
    host.restart_with_new_host_key().await.unwrap();
    let before = sudo_runs(&host);
    let rec = run_app1(&app, &token, &task_id).await;
    assert_eq!(
        rec.reason_code,
        Some(FailureCode::HostKeyConflict),
        "{rec:?}"
    );
    let a = get_asset(&app, &token, &asset).await;
    assert_eq!(a.host_key_status, "fingerprint_conflict", "{a:?}");
    assert_eq!(
        a.presented_host_key_fingerprint.as_deref(),
        Some(host.host_key_fingerprint())
    );
    assert_eq!(sudo_runs(&host), before);
    assert!(ssh_logs_in(&host, "app1", "canary-New-Device-0d3a").await);
    app.stop().await;
}
