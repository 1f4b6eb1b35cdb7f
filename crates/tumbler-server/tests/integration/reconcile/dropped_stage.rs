//! A stage nobody owns and no stored secret opens is dropped and the account reconciled; an
//! asset without a privileged (or reconcile) account has no way to reconcile.

use super::super::change_secret::{account, admin, ssh_logs_in, APP_PASSWORD};
use super::super::support::{call, error_code, ok};
use super::{get_account, linux_host, HAND_PASSWORD};
use reqwest::Method;
use serde_json::json;
use tumbler_testkit::app::TestApp;

#[tokio::test]
async fn a_stage_nobody_owns_and_no_secret_opens_is_dropped_and_reconciled() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let (host, _asset, _ops, apps) = linux_host(&app, &token, "web4", &["app1"]).await;
    let app1 = apps[0].clone();
    // A run that died after staging a secret the host never got; then the password changed
    // by hand: neither stored secret logs in.
    super::super::change_secret::staged_by_a_dead_worker(
        &app,
        "a-deleted-task",
        &app1,
        "canary-Staged-Never-Sent-0c1",
    )
    .await;
    host.set_password("app1", HAND_PASSWORD).await.unwrap();
    let record = ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/accounts/{app1}/reconcile"),
        None,
        200,
    )
    .await;
    assert_eq!(record["status"], "success", "{record}");
    let a = get_account(&app, &token, &app1).await;
    assert_eq!(a.status, "ok", "{a:?}");
    let version = a.secret_version;
    assert_eq!(record["new_version"].as_i64(), Some(version), "{record}");
    let stored = app
        .services
        .vault
        .open_secret(
            tumbler_domain::secret_owner::SecretOwner::Account,
            &app1,
            version,
        )
        .await
        .unwrap();
    let secret = String::from_utf8(stored.to_vec()).unwrap();
    assert!(ssh_logs_in(&host, "app1", &secret).await);

    // An asset without a privileged (or reconcile) account has no way to reconcile.
    let body = ok(
        &app,
        &token,
        Method::POST,
        "/api/v1/assets",
        Some(json!({"name": "bare", "address": host.address(), "port": host.port(), "platform": "linux"})),
        201,
    )
    .await;
    let bare = body["id"].as_str().unwrap().to_owned();
    let lone = account(&app, &token, &bare, "app1", APP_PASSWORD, false, json!({})).await;
    let (status, body) = call(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/accounts/{lone}/reconcile"),
        None,
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (409, "no_reconcile_account"),
        "{body}"
    );
}
