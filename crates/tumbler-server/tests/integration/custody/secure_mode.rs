//! Only an administrator with a fresh code takes an account out of secure mode.

use super::super::change_secret::{account, admin, linux_asset, records, run, task, OPS_PASSWORD};
use super::super::support::{call, error_code, ok, ok_as, user, Authenticator};
use super::audit_text;
use chrono::Utc;
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;
use tumbler_api_types::change_secret::{ExecutionView, RecordRow};
use tumbler_api_types::inventory::AccountOut;
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp};
use tumbler_testkit::sshd::{SshHost, TestUser};

#[tokio::test]
async fn only_an_administrator_with_a_fresh_code_takes_an_account_out_of_secure_mode() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    let admin = admin(&app).await;
    let authenticator = Authenticator::enrol(&app, &admin, clock.clone()).await;
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("app1", "canary-App1-Secure-91ab"),
    ])
    .await
    .unwrap();
    let asset = linux_asset(&app, &admin, "secure", &host).await;
    let ops = account(&app, &admin, &asset, "ops", OPS_PASSWORD, true, json!({})).await;
    let root = account(
        &app,
        &admin,
        &asset,
        "root",
        "canary-Root-Secure-1",
        false,
        json!({}),
    )
    .await;
    let app1 = account(
        &app,
        &admin,
        &asset,
        "app1",
        "canary-App1-Secure-91ab",
        false,
        json!({}),
    )
    .await;
    let olga = user(&app, &admin, "olga", &["operator"], &["Default"]).await;

    // The operator: no way out of protection, whatever the code.
    for (id, body) in [
        (&ops, json!({"privileged": false})),
        (&ops, json!({"privileged": false, "totp": "123456"})),
        (&root, json!({"username": "app2"})),
    ] {
        let (status, out) = call(
            &app,
            &olga,
            Method::PATCH,
            &format!("/api/v1/accounts/{id}"),
            Some(body),
        )
        .await;
        assert_eq!(
            (status, error_code(&out).as_str()),
            (403, "forbidden"),
            "{out}"
        );
    }
    let (status, _) = call(
        &app,
        &olga,
        Method::DELETE,
        &format!("/api/v1/accounts/{ops}"),
        None,
    )
    .await;
    assert_eq!(status, 403);
    // Into protection is not free either (the login account is chosen among privileged
    // ones); other edits of a protected account are.
    let (status, out) = call(
        &app,
        &olga,
        Method::PATCH,
        &format!("/api/v1/accounts/{app1}"),
        Some(json!({"privileged": true})),
    )
    .await;
    assert_eq!((status, error_code(&out).as_str()), (403, "forbidden"));
    ok(
        &app,
        &olga,
        Method::PATCH,
        &format!("/api/v1/accounts/{ops}"),
        Some(json!({"options": {"become": "sudo"}})),
        200,
    )
    .await;
    // So a change task cannot set a password the operator chose on the privileged account.
    let task_id = task(
        &app,
        &olga,
        json!({"name": "takeover", "usernames": ["ops"], "asset_ids": [asset],
               "secret_strategy": "specified", "secret": "canary-Operator-Chosen-5"}),
    )
    .await;
    let e: ExecutionView = run(&app, &olga, &task_id).await;
    let r: RecordRow = records(&app, &olga, e.id.as_str()).await[0].clone();
    assert_eq!(
        r.reason_code,
        Some(FailureCode::SecureModePrivileged),
        "{r:?}"
    );
    assert!(super::super::change_secret::ssh_logs_in(&host, "ops", OPS_PASSWORD).await);

    // The administrator: a fresh code, then done and audited with old and new values.
    let path = format!("/api/v1/accounts/{ops}");
    let (status, out) = call(
        &app,
        &admin,
        Method::PATCH,
        &path,
        Some(json!({"privileged": false})),
    )
    .await;
    assert_eq!((status, error_code(&out).as_str()), (401, "totp_required"));
    let acct: AccountOut = ok_as(&app, &admin, Method::GET, &path, None, 200).await;
    assert!(acct.privileged, "nothing was written");
    let acct: AccountOut = ok_as(
        &app,
        &admin,
        Method::PATCH,
        &path,
        Some(json!({"privileged": false, "totp": authenticator.fresh_code()})),
        200,
    )
    .await;
    assert!(!acct.privileged, "{acct:?}");
    let (status, _) = call(
        &app,
        &admin,
        Method::DELETE,
        &format!("/api/v1/accounts/{root}"),
        None,
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = call(
        &app,
        &admin,
        Method::DELETE,
        &format!("/api/v1/accounts/{root}"),
        Some(json!({"totp": authenticator.fresh_code()})),
    )
    .await;
    assert_eq!(status, 204);
    let audit = audit_text(&app, &admin).await;
    assert!(audit.contains("account.unprotect"), "{audit}");
    assert!(audit.contains("privileged true -> false"), "{audit}");
    app.stop().await;
}
