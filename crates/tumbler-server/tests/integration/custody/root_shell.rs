//! Operators choose neither the login account nor what runs as root (the shell).

use super::super::change_secret::{account, admin, linux_asset, OPS_PASSWORD};
use super::super::support::{call, error_code, error_field, ok, ok_as, typed, user, Authenticator};
use super::{audit_text, create_asset, get_asset, operator_cannot_accept};
use chrono::Utc;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::Arc;
use tumbler_api_types::inventory::{AccountOut, AssetOut};
use tumbler_api_types::ErrorAnswer;
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp};
use tumbler_testkit::sshd::{SshHost, TestUser};

#[tokio::test]
async fn operators_choose_neither_the_login_account_nor_what_runs_as_root() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    let admin = admin(&app).await;
    let mut host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("aaa", "canary-Operator-Own-7e"),
    ])
    .await
    .unwrap();
    let asset = linux_asset(&app, &admin, "root-ways", &host).await;
    let ops = account(&app, &admin, &asset, "ops", OPS_PASSWORD, true, json!({})).await;
    let olga = user(&app, &admin, "olga", &["operator"], &["Default"]).await;
    let create = |token: &str, body: Value| {
        let token = token.to_owned();
        let app = &app;
        async move { call(app, &token, Method::POST, "/api/v1/accounts", Some(body)).await }
    };

    // Only system shells: a task parameter or an account option naming any other program
    // would have it started as root through sudo or su.
    let (status, body) = call(
        &app,
        &olga,
        Method::POST,
        "/api/v1/change-secret/tasks",
        Some(
            json!({"name": "shell", "usernames": ["ops"], "asset_ids": [asset],
                    "secret_strategy": "random", "params": {"shell": "/tmp/grab"}}),
        ),
    )
    .await;
    assert_eq!(
        (status, error_field(&body).as_deref()),
        (400, Some("params")),
        "{body}"
    );
    let refusal: ErrorAnswer = typed(body);
    assert!(refusal.error.message.contains("shell"), "{refusal:?}");
    let (status, body) = create(
        &olga,
        json!({"asset_id": asset, "username": "svc", "secret": "canary-Svc-1",
               "options": {"shell": "/home/olga/grab"}}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    ok(
        &app,
        &olga,
        Method::POST,
        "/api/v1/change-secret/tasks",
        Some(
            json!({"name": "bash", "usernames": ["nobody"], "asset_ids": [asset],
                    "secret_strategy": "random", "params": {"shell": "/bin/bash"}}),
        ),
        201,
    )
    .await;

    // The operator's own login "aaa", marked privileged, would be the login account (the
    // first privileged one), and su would type root's password into their session.
    let (status, body) = create(
        &olga,
        json!({"asset_id": asset, "username": "aaa", "secret": "canary-Operator-Own-7e",
               "privileged": true, "options": {"become": "su"}}),
    )
    .await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (403, "forbidden"),
        "{body}"
    );
    let aaa = account(
        &app,
        &olga,
        &asset,
        "aaa",
        "canary-Operator-Own-7e",
        false,
        json!({"become": "su"}),
    )
    .await;
    // Neither marking it, nor renaming the privileged account to free its name, nor
    // changing how the protected account becomes root.
    for (id, body) in [
        (&aaa, json!({"privileged": true})),
        (&aaa, json!({"privileged": true, "totp": "123456"})),
        (&ops, json!({"username": "zzz"})),
        (&ops, json!({"options": {"become": "su"}})),
        (&ops, json!({"options": {"shell": "/bin/bash"}})),
    ] {
        let (status, out) = call(
            &app,
            &olga,
            Method::PATCH,
            &format!("/api/v1/accounts/{id}"),
            Some(body.clone()),
        )
        .await;
        assert_eq!(
            (status, error_code(&out).as_str()),
            (403, "forbidden"),
            "{body} {out}"
        );
    }
    let acct: AccountOut = ok_as(
        &app,
        &admin,
        Method::GET,
        &format!("/api/v1/accounts/{ops}"),
        None,
        200,
    )
    .await;
    assert_eq!(
        (
            acct.username.as_str(),
            acct.options.get("become").map(String::as_str)
        ),
        ("ops", Some("sudo")),
        "nothing was written"
    );

    // An administrator: a fresh code, audited with the old and new values.
    let authenticator = Authenticator::enrol(&app, &admin, clock.clone()).await;
    let path = format!("/api/v1/accounts/{ops}");
    let (status, out) = call(
        &app,
        &admin,
        Method::PATCH,
        &path,
        Some(json!({"username": "zzz"})),
    )
    .await;
    assert_eq!((status, error_code(&out).as_str()), (401, "totp_required"));
    let renamed: AccountOut = ok_as(
        &app,
        &admin,
        Method::PATCH,
        &path,
        Some(
            json!({"username": "ops2", "options": {"become": "sudo", "shell": "/bin/bash"},
                    "totp": authenticator.fresh_code()}),
        ),
        200,
    )
    .await;
    assert_eq!(renamed.username, "ops2");
    let marked: AccountOut = ok_as(
        &app,
        &admin,
        Method::PATCH,
        &format!("/api/v1/accounts/{aaa}"),
        Some(json!({"privileged": true, "totp": authenticator.fresh_code()})),
        200,
    )
    .await;
    assert!(marked.privileged, "{marked:?}");
    let audit = audit_text(&app, &admin).await;
    assert!(audit.contains("account.protect"), "{audit}");
    assert!(audit.contains("username ops -> ops2"), "{audit}");
    assert!(audit.contains("shell /bin/sh -> /bin/bash"), "{audit}");
    assert!(audit.contains("privileged false -> true"), "{audit}");

    // A key other than the pinned one: the operator cannot accept it.
    let old_fp = host.host_key_fingerprint().to_owned();
    let new_fp = host.restart_with_new_host_key().await.unwrap();
    let tested: AssetOut = ok_as(
        &app,
        &olga,
        Method::POST,
        &format!("/api/v1/assets/{asset}/test"),
        None,
        200,
    )
    .await;
    assert_eq!(tested.host_key_status, "fingerprint_conflict", "{tested:?}");
    operator_cannot_accept(&app, &olga, &asset, &new_fp).await;
    let a = get_asset(&app, &admin, &asset).await;
    assert_eq!(a.host_key_fingerprint.as_deref(), Some(old_fp.as_str()));
    let path = format!("/api/v1/assets/{asset}/host-key/acknowledge");
    let (status, _) = call(&app, &admin, Method::POST, &path, Some(json!({}))).await;
    assert_eq!(status, 401);
    let a: AssetOut = ok_as(
        &app,
        &admin,
        Method::POST,
        &path,
        Some(json!({"fingerprint": new_fp, "totp": authenticator.fresh_code()})),
        200,
    )
    .await;
    assert_eq!(a.host_key_status, "verified");
    assert_eq!(a.host_key_fingerprint.as_deref(), Some(new_fp.as_str()));

    // A first key: whoever sets up an empty asset vouches for it; once the asset holds
    // accounts, their secrets are at stake and the same rule applies.
    let mut first_contact = Vec::new();
    for name in ["empty", "filled"] {
        let id = create_asset(
            &app,
            &olga,
            json!({"name": name, "address": host.address(), "port": host.port(),
                   "platform": "linux"}),
        )
        .await;
        ok(
            &app,
            &olga,
            Method::POST,
            &format!("/api/v1/assets/{id}/test"),
            None,
            200,
        )
        .await;
        first_contact.push(id);
    }
    account(
        &app,
        &admin,
        &first_contact[1],
        "aaa",
        "canary-Operator-Own-7e",
        false,
        json!({}),
    )
    .await;
    let (status, out) = call(
        &app,
        &olga,
        Method::POST,
        &format!("/api/v1/assets/{}/host-key/acknowledge", first_contact[1]),
        Some(json!({"fingerprint": new_fp})),
    )
    .await;
    assert_eq!(
        (status, error_code(&out).as_str()),
        (403, "forbidden"),
        "{out}"
    );
    let (status, out) = call(
        &app,
        &olga,
        Method::POST,
        "/api/v1/assets/host-keys/acknowledge",
        Some(json!({"asset_ids": first_contact})),
    )
    .await;
    assert_eq!(status, 403, "all or nothing: {out}");
    let a: AssetOut = ok_as(
        &app,
        &olga,
        Method::POST,
        &format!("/api/v1/assets/{}/host-key/acknowledge", first_contact[0]),
        Some(json!({"fingerprint": new_fp})),
        200,
    )
    .await;
    assert_eq!(a.host_key_status, "verified");
    app.stop().await;
}
