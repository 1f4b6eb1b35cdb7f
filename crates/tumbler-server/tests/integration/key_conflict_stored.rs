//! Resolving a key conflict with the stored password of the device's privileged account
//! instead of a typed one: only with a fresh TOTP code (refused without one, nothing
//! started), audited, and the password never echoed.

use super::change_secret::{linux_asset, sudo_ops, OPS_PASSWORD};
use super::device_keys::{audit_text, wait_for_job};
use super::support::{call, error_code, error_field, ok_as, typed, Authenticator};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::Arc;
use tumbler_api_types::answers::JobStarted;
use tumbler_api_types::device_keys::JobView;
use tumbler_api_types::inventory::AssetOut;
use tumbler_domain::job::JobStatus;
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp};
use tumbler_testkit::sshd::{SshHost, TestUser};

async fn job(app: &TestApp, token: &str, path: &str, body: Value) -> JobView {
    let started: JobStarted = ok_as(app, token, Method::POST, path, Some(body), 202).await;
    typed(wait_for_job(app, token, started.job_id.as_str()).await)
}

async fn test_asset(app: &TestApp, token: &str, id: &str) -> AssetOut {
    ok_as(
        app,
        token,
        Method::POST,
        &format!("/api/v1/assets/{id}/test"),
        None,
        200,
    )
    .await
}

#[tokio::test]
async fn a_conflict_resolves_with_the_stored_password_only_with_a_fresh_code() {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let host = SshHost::start(&[TestUser::new("ops", OPS_PASSWORD).with_sudo()])
        .await
        .unwrap();
    let id = linux_asset(&app, &token, "core-switch", &host).await;
    sudo_ops(&app, &token, &id).await;
    let switched = job(
        &app,
        &token,
        &format!("/api/v1/assets/{id}/authentication"),
        json!({"mode": "system_key", "admin_user": "tumbler", "create_user": true}),
    )
    .await;
    assert_eq!(switched.status, JobStatus::Succeeded, "{switched:?}");
    // The device loses Tumbler's key: the next contact finds the conflict.
    host.run_inside_ok(&["sh", "-c", ": > /home/tumbler/.ssh/authorized_keys"])
        .await
        .unwrap();
    assert_eq!(
        test_asset(&app, &token, &id).await.auth_status,
        "key_conflict"
    );
    let auth = Authenticator::enrol(&app, &token, clock.clone()).await;
    let resolve = |totp: Option<String>, typed: Option<&str>| {
        let mut device = json!({"asset_id": id, "admin_user": "ops", "use_stored_password": true});
        if let Some(p) = typed {
            device["admin_password"] = json!(p);
        }
        let mut body = json!({"mode": "system_key", "devices": [device]});
        if let Some(code) = totp {
            body["totp"] = json!(code);
        }
        body
    };

    // A typed password and the stored one at once: refused before any code is used.
    let (status, body) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/key-conflicts/resolve",
        Some(resolve(None, Some("typed-too"))),
    )
    .await;
    assert_eq!(
        (status, error_field(&body).as_deref()),
        (400, Some("use_stored_password")),
        "{body}"
    );
    // Without a fresh code: refused, nothing started, still in conflict.
    let (status, body) = call(
        &app,
        &token,
        Method::POST,
        "/api/v1/key-conflicts/resolve",
        Some(resolve(None, None)),
    )
    .await;
    assert_eq!((status, error_code(&body).as_str()), (401, "totp_required"));
    assert_eq!(
        test_asset(&app, &token, &id).await.auth_status,
        "key_conflict"
    );

    // With one: the stored password of ops proves the login and the key is installed.
    let resolved = job(
        &app,
        &token,
        "/api/v1/key-conflicts/resolve",
        resolve(Some(auth.fresh_code()), None),
    )
    .await;
    assert_eq!(resolved.status, JobStatus::Succeeded, "{resolved:?}");
    let a = test_asset(&app, &token, &id).await;
    assert_eq!(
        (a.auth_status.as_str(), a.auth_username.as_str()),
        ("key_based", "ops"),
        "{a:?}"
    );
    let audit = audit_text(&app, &token).await;
    assert!(
        audit.contains("the stored password of ops@core-switch"),
        "{audit}"
    );
    assert!(!audit.contains(OPS_PASSWORD), "the password was echoed");
    let shown = serde_json::to_string(&resolved.outcomes).unwrap();
    assert!(!shown.contains(OPS_PASSWORD), "{shown}");
}
