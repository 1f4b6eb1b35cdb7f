//! The record actions: verify, adopt, retry and ignore.

use super::super::support::{call, error_code, ok_as, Authenticator};
use super::{
    account, admin, linux_asset, ssh_logs_in, staged_by_a_dead_worker, task, verify_account,
    APP_PASSWORD, OPS_PASSWORD,
};
use chrono::Utc;
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;
use tumbler_api_types::change_secret::RecordRow;
use tumbler_domain::change_secret::RecordStatus;
use tumbler_domain::ids::RecordId;
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp};
use tumbler_testkit::sshd::{SshHost, TestUser};

/// Puts a record in the state a run would have left it in.
async fn set_record_status(app: &TestApp, id: &RecordId, status: RecordStatus) {
    let mut r = app.services.store.record(id).await.unwrap().unwrap();
    r.status = status;
    let mut tx = app.services.store.begin().await.unwrap();
    tx.update_record(&r).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn record_actions_verify_adopt_retry_and_ignore() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    let token = admin(&app).await;
    let auth = Authenticator::enrol(&app, &token, clock.clone()).await;
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("app1", APP_PASSWORD),
    ])
    .await
    .unwrap();
    let asset = linux_asset(&app, &token, "acts", &host).await;
    account(&app, &token, &asset, "ops", OPS_PASSWORD, true, json!({})).await;
    let app1 = account(&app, &token, &asset, "app1", APP_PASSWORD, false, json!({})).await;
    let task_id = task(
        &app,
        &token,
        json!({"name": "acts", "usernames": ["app1"], "asset_ids": [asset], "secret_strategy": "random"}),
    )
    .await;
    // A staged change whose new password the target took, but nobody committed it.
    let (_, rec) = staged_by_a_dead_worker(&app, &task_id, &app1, "canary-Adopt-Me-4c").await;
    host.set_password("app1", "canary-Adopt-Me-4c")
        .await
        .unwrap();
    set_record_status(&app, &rec, RecordStatus::Unverified).await;
    let path = |action: &str| format!("/api/v1/change-secret/records/{rec}/{action}");

    // Adopt needs a successful verify first, then a fresh code.
    let (status, out) = call(
        &app,
        &token,
        Method::POST,
        &path("adopt"),
        Some(json!({"totp": auth.fresh_code()})),
    )
    .await;
    assert_eq!(
        (status, error_code(&out).as_str()),
        (409, "record_state"),
        "{out}"
    );
    let v: RecordRow = ok_as(&app, &token, Method::POST, &path("verify"), None, 200).await;
    assert!(v.new_secret_verified_at.is_some(), "{v:?}");
    let (status, out) = call(&app, &token, Method::POST, &path("adopt"), Some(json!({}))).await;
    assert_eq!((status, error_code(&out).as_str()), (401, "totp_required"));
    let adopted: RecordRow = ok_as(
        &app,
        &token,
        Method::POST,
        &path("adopt"),
        Some(json!({"totp": auth.fresh_code()})),
        200,
    )
    .await;
    assert_eq!(adopted.status, RecordStatus::Success);
    let out = verify_account(&app, &token, &app1).await;
    assert_eq!((out.ok, out.account.secret_version), (true, 2));
    // Adopting twice is refused: the account changed since.
    let (status, _) = call(
        &app,
        &token,
        Method::POST,
        &path("adopt"),
        Some(json!({"totp": auth.fresh_code()})),
    )
    .await;
    assert_eq!(status, 409);
    let (status, _) = call(&app, &token, Method::POST, &path("ignore"), None).await;
    assert_eq!(status, 409, "a successful record cannot be ignored");

    // A failed record is retried with the same new secret.
    let (_, rec2) = staged_by_a_dead_worker(&app, &task_id, &app1, "canary-Retry-Same-5d").await;
    set_record_status(&app, &rec2, RecordStatus::Failed).await;
    let retried: RecordRow = ok_as(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/change-secret/records/{rec2}/retry"),
        None,
        200,
    )
    .await;
    assert_eq!(retried.status, RecordStatus::Success, "{retried:?}");
    assert!(ssh_logs_in(&host, "app1", "canary-Retry-Same-5d").await);
    assert_eq!(
        verify_account(&app, &token, &app1)
            .await
            .account
            .secret_version,
        3
    );

    // Ignoring an unverified record releases the account and keeps the current secret.
    let (_, rec3) = staged_by_a_dead_worker(&app, &task_id, &app1, "canary-Ignored-6e").await;
    // A record still in progress is not ignored.
    let (status, _) = call(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/change-secret/records/{rec3}/ignore"),
        None,
    )
    .await;
    assert_eq!(status, 409);
    set_record_status(&app, &rec3, RecordStatus::Unverified).await;
    // Ignoring first settles the account by login: the target never took the new secret,
    // so the current one stays and the stage is released.
    let ignored: RecordRow = ok_as(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/change-secret/records/{rec3}/ignore"),
        None,
        200,
    )
    .await;
    assert_eq!(ignored.status, RecordStatus::Ignored);
    let out = verify_account(&app, &token, &app1).await;
    assert_eq!((out.ok, out.account.secret_version), (true, 3));
    let unknown = call(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/change-secret/records/{rec3}/dance"),
        None,
    )
    .await;
    assert_eq!(unknown.0, 404);
}
