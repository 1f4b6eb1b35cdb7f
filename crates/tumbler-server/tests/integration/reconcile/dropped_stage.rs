//! A stage nobody owns and no stored secret opens is dropped and the account reconciled; an
//! asset without a privileged (or reconcile) account has no way to reconcile.

use super::super::change_secret::{account, admin, ssh_logs_in, APP_PASSWORD};
use super::{bare_asset, get_account, linux_host, reconcile, reconcile_refused, HAND_PASSWORD};
use serde_json::json;
use tumbler_domain::change_secret::RecordStatus;
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
    let (record, _) = reconcile(&app, &token, &app1).await;
    assert_eq!(record.status, RecordStatus::Success, "{record:?}");
    let a = get_account(&app, &token, &app1).await;
    assert_eq!(a.status, "ok", "{a:?}");
    let version = a.secret_version;
    assert_eq!(record.new_version, Some(version), "{record:?}");
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
    let bare = bare_asset(&app, &token, "bare", host.address(), host.port(), "linux").await;
    let lone = account(&app, &token, &bare, "app1", APP_PASSWORD, false, json!({})).await;
    reconcile_refused(&app, &token, &lone, "no_reconcile_account").await;
}
