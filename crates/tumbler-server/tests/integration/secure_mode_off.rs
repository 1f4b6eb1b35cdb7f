//! Secure mode off on real hosts: one run changes root, another privileged account, the
//! login account and two ordinary accounts, on a host whose login account becomes root with
//! sudo and on one with su. The accounts the session depends on change last (root just
//! before the login account), su types root's new password once root changed, and every
//! stored secret logs in afterwards.

use super::change_secret::{
    account, admin, linux_asset, record_for, records, run, ssh_logs_in, task, verify_account,
    APP_PASSWORD, OPS_PASSWORD,
};
use super::support::ok_as;
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;
use tumbler_api_types::inventory::AccountOut;
use tumbler_domain::change_secret::{ExecutionStatus, RecordStatus};
use tumbler_domain::SystemClock;
use tumbler_testkit::app::{StoreKind, TestApp};
use tumbler_testkit::sshd::{SshHost, TestUser};

const ROOT_PASSWORD: &str = "canary-Root-Off-5b27";
const OTHER_ADMIN_PASSWORD: &str = "canary-Zadmin-Off-0c4e";

/// A host with ops (the login account), zadmin (another privileged account), app1, app2 and
/// root, root allowed to log in so its new password can be proved.
async fn host(become_method: &str) -> SshHost {
    let ops = TestUser::new("ops", OPS_PASSWORD);
    let host = SshHost::builder()
        .permit_root_login()
        .user(if become_method == "sudo" {
            ops.with_sudo()
        } else {
            ops
        })
        .user(TestUser::new("zadmin", OTHER_ADMIN_PASSWORD).with_sudo())
        .user(TestUser::new("app1", APP_PASSWORD))
        .user(TestUser::new("app2", APP_PASSWORD))
        .start()
        .await
        .unwrap();
    host.set_password("root", ROOT_PASSWORD).await.unwrap();
    host
}

/// The asset and its accounts; returns (asset id, account ids by username).
async fn asset(
    app: &TestApp,
    token: &str,
    name: &str,
    host: &SshHost,
    become_method: &str,
) -> (String, Vec<(String, String)>) {
    let id = linux_asset(app, token, name, host).await;
    let mut ids = Vec::new();
    for (user, secret, privileged, options) in [
        ("ops", OPS_PASSWORD, true, json!({"become": become_method})),
        ("zadmin", OTHER_ADMIN_PASSWORD, true, json!({})),
        ("root", ROOT_PASSWORD, false, json!({})),
        ("app1", APP_PASSWORD, false, json!({})),
        ("app2", APP_PASSWORD, false, json!({})),
    ] {
        let account_id = account(app, token, &id, user, secret, privileged, options).await;
        ids.push((user.to_owned(), account_id));
    }
    (id, ids)
}

fn position(log: &str, line: &str) -> usize {
    log.find(line)
        .unwrap_or_else(|| panic!("no {line:?} in the log:\n{log}"))
}

#[tokio::test]
async fn with_secure_mode_off_root_and_the_login_account_change_last_and_every_secret_logs_in() {
    let app = TestApp::spawn_configured(StoreKind::Sqlite, Arc::new(SystemClock), |c| {
        c.change_secret.secure_mode = false;
    })
    .await;
    let token = admin(&app).await;
    let sudo_host = host("sudo").await;
    let su_host = host("su").await;
    let (sudo_asset, sudo_accounts) = asset(&app, &token, "off-sudo", &sudo_host, "sudo").await;
    let (su_asset, su_accounts) = asset(&app, &token, "off-su", &su_host, "su").await;
    let task_id = task(
        &app,
        &token,
        json!({"name": "everything", "usernames": ["root", "zadmin", "ops", "app1", "app2"],
               "asset_ids": [sudo_asset, su_asset], "secret_strategy": "random",
               "password_rules": {"length": 24, "lowercase": 1, "uppercase": 1, "digit": 1, "symbol": 1}}),
    )
    .await;
    let e = run(&app, &token, &task_id).await;
    let id = e.id.as_str();
    let rs = records(&app, &token, id).await;
    let log = super::change_secret::log_text(&app, &token, id).await;
    assert_eq!(e.status, ExecutionStatus::Succeeded, "{e:?}\n{rs:?}\n{log}");
    assert_eq!(
        e.counts.get(&RecordStatus::Success).copied(),
        Some(10),
        "{e:?}"
    );
    assert!(log.contains("(secure mode off)"), "{log}");

    for (asset_name, host, accounts) in [
        ("off-sudo", &sudo_host, &sudo_accounts),
        ("off-su", &su_host, &su_accounts),
    ] {
        // The order: ordinary accounts, the other privileged account, root, the login
        // account.
        let done = |user: &str| {
            position(
                &log,
                &format!("{user}@{asset_name}: verified and committed as version 2"),
            )
        };
        assert!(done("app1").max(done("app2")) < done("zadmin"), "{log}");
        assert!(done("zadmin") < done("root"), "{log}");
        assert!(done("root") < done("ops"), "{log}");
        // Every stored secret logs in, and none is the old one any more.
        for (user, account_id) in accounts.iter() {
            let rec = rs
                .iter()
                .find(|r| r.username == user.as_str() && r.asset_name == asset_name)
                .unwrap_or_else(|| panic!("no record of {user}@{asset_name}: {rs:?}"));
            assert_eq!(rec.status, RecordStatus::Success, "{rec:?}");
            let out = verify_account(&app, &token, account_id).await;
            assert!(out.ok, "{user}@{asset_name}: {out:?}");
            assert_eq!(out.account.secret_version, 2, "{out:?}");
            assert_eq!(out.account.status, "ok", "{out:?}");
        }
        for (user, old) in [
            ("ops", OPS_PASSWORD),
            ("zadmin", OTHER_ADMIN_PASSWORD),
            ("root", ROOT_PASSWORD),
            ("app1", APP_PASSWORD),
        ] {
            assert!(
                !ssh_logs_in(host, user, old).await,
                "{user}@{asset_name} still takes the old password"
            );
        }
    }
    // A second run on the su host works with the secrets the first one stored (su types
    // root's current password).
    let again = task(
        &app,
        &token,
        json!({"name": "su again", "usernames": ["app1"], "asset_ids": [su_asset],
               "secret_strategy": "random",
               "password_rules": {"length": 24, "lowercase": 1, "uppercase": 1, "digit": 1, "symbol": 1}}),
    )
    .await;
    let e = run(&app, &token, &again).await;
    assert_eq!(e.status, ExecutionStatus::Succeeded, "{e:?}");
    let rs = records(&app, &token, e.id.as_str()).await;
    assert_eq!(
        record_for(&rs, "app1").status,
        RecordStatus::Success,
        "{rs:?}"
    );
    let root_row: AccountOut = ok_as(
        &app,
        &token,
        Method::GET,
        &format!(
            "/api/v1/accounts/{}",
            su_accounts.iter().find(|(u, _)| u == "root").unwrap().1
        ),
        None,
        200,
    )
    .await;
    assert_eq!(root_row.secret_version, 2, "{root_row:?}");
    // No password on a command line.
    for host in [&sudo_host, &su_host] {
        let commands = host.command_log();
        for secret in [
            ROOT_PASSWORD,
            OPS_PASSWORD,
            OTHER_ADMIN_PASSWORD,
            APP_PASSWORD,
        ] {
            assert!(!commands.contains(secret), "a password on a command line");
        }
    }
    app.stop().await;
}
