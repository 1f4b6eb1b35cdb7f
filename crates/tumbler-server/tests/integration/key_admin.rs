//! Key-based devices and their admin users on real sshd hosts: after a device switched to the
//! system key with an admin user Tumbler created (no sudo rule granted), password changes log
//! in as the privileged account and become root with sudo or su; switching to another admin
//! user works directly and removes only Tumbler's key from the old one; Resolve Key Conflict
//! proves the typed admin password by a login before installing anything, with and without
//! "create the user".

use super::change_secret::{
    account, admin, linux_asset, record_for, records, run, ssh_logs_in, task, verify_account,
    APP_PASSWORD, OPS_PASSWORD,
};
use super::device_keys::{audit_text, fingerprints, system_key, wait_for_job};
use super::support::{call, error_field, ok_as, typed};
use reqwest::Method;
use serde_json::{json, Value};
use tumbler_api_types::answers::JobStarted;
use tumbler_api_types::change_secret::{ExecutionView, RecordRow};
use tumbler_api_types::device_keys::JobView;
use tumbler_api_types::inventory::{AssetOut, VerifyOut};
use tumbler_connectors::ssh::{generate_key_pair, public_key_fingerprint, public_key_line};
use tumbler_domain::change_secret::RecordStatus;
use tumbler_domain::job::JobStatus;
use tumbler_domain::ssh_key::KeyAlgorithm;
use tumbler_testkit::app::TestApp;
use tumbler_testkit::logs::LogCapture;
use tumbler_testkit::sshd::{SshHost, TestUser};

const ROOT_PASSWORD: &str = "canary-Root-Key-7a12";
const NETADMIN_PASSWORD: &str = "canary-Netadmin-Typed-4d9c";

/// The asset, tested now, logs in with the system key as `user`.
async fn key_based_as(app: &TestApp, token: &str, asset: &str, user: &str) {
    let a = test_asset(app, token, asset).await;
    assert_eq!(
        (
            a.auth_status.as_str(),
            a.auth_username.as_str(),
            a.connectivity.as_str()
        ),
        ("key_based", user, "ok"),
        "{a:?}"
    );
}

async fn system_fingerprint(app: &TestApp, token: &str) -> String {
    system_key(app, token).await.fingerprint
}

async fn job(app: &TestApp, token: &str, path: &str, body: Value) -> JobView {
    let started: JobStarted = ok_as(app, token, Method::POST, path, Some(body), 202).await;
    typed(wait_for_job(app, token, started.job_id.as_str()).await)
}

async fn switch(app: &TestApp, token: &str, asset: &str, admin_user: &str) -> JobView {
    job(
        app,
        token,
        &format!("/api/v1/assets/{asset}/authentication"),
        json!({"mode": "system_key", "admin_user": admin_user, "create_user": true}),
    )
    .await
}

async fn test_asset(app: &TestApp, token: &str, asset: &str) -> AssetOut {
    ok_as(
        app,
        token,
        Method::POST,
        &format!("/api/v1/assets/{asset}/test"),
        None,
        200,
    )
    .await
}

/// A device whose privileged account ops becomes root with `become_method`, with app1 and
/// app2; returns the host, the asset and the ids of app1 and app2.
async fn device(
    app: &TestApp,
    token: &str,
    name: &str,
    become_method: &str,
) -> (SshHost, String, Vec<String>) {
    let ops = TestUser::new("ops", OPS_PASSWORD);
    let host = SshHost::start(&[
        if become_method == "sudo" {
            ops.with_sudo()
        } else {
            ops
        },
        TestUser::new("app1", APP_PASSWORD),
        TestUser::new("app2", APP_PASSWORD),
    ])
    .await
    .unwrap();
    host.set_password("root", ROOT_PASSWORD).await.unwrap();
    let asset = linux_asset(app, token, name, &host).await;
    account(
        app,
        token,
        &asset,
        "ops",
        OPS_PASSWORD,
        true,
        json!({"become": become_method}),
    )
    .await;
    if become_method == "su" {
        account(app, token, &asset, "root", ROOT_PASSWORD, false, json!({})).await;
    }
    let mut apps = Vec::new();
    for user in ["app1", "app2"] {
        apps.push(account(app, token, &asset, user, APP_PASSWORD, false, json!({})).await);
    }
    (host, asset, apps)
}

#[tokio::test]
async fn passwords_change_on_a_device_switched_to_the_system_key_with_sudo_and_with_su() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let fp = system_fingerprint(&app, &token).await;
    let mut devices = Vec::new();
    for become_method in ["sudo", "su"] {
        let (host, asset, apps) =
            device(&app, &token, &format!("key-{become_method}"), become_method).await;
        let j = switch(&app, &token, &asset, "tumbler").await;
        assert_eq!(j.status, JobStatus::Succeeded, "{j:?}");
        let a = test_asset(&app, &token, &asset).await;
        assert_eq!(
            (a.auth_status.as_str(), a.auth_username.as_str()),
            ("key_based", "tumbler"),
            "{a:?}"
        );
        assert_eq!(fingerprints(&host, "tumbler").await, vec![fp.clone()]);
        // The admin user Tumbler created has no sudo rule.
        let groups = host.run_inside_ok(&["id", "-nG", "tumbler"]).await.unwrap();
        let groups = String::from_utf8_lossy(&groups.stdout).into_owned();
        assert!(!groups.split_whitespace().any(|g| g == "sudo"), "{groups}");
        let sudoers = host
            .run_inside_ok(&["sh", "-c", "cat /etc/sudoers /etc/sudoers.d/*"])
            .await
            .unwrap();
        assert!(!String::from_utf8_lossy(&sudoers.stdout).contains("tumbler "));
        devices.push((host, asset, apps));
    }
    let assets: Vec<&String> = devices.iter().map(|(_, a, _)| a).collect();
    let task_id = task(
        &app,
        &token,
        json!({"name": "key devices", "usernames": ["app1", "app2"], "asset_ids": assets,
               "secret_strategy": "random",
               "password_rules": {"length": 20, "lowercase": 1, "uppercase": 1, "digit": 1, "symbol": 1}}),
    )
    .await;
    let e: ExecutionView = run(&app, &token, &task_id).await;
    let rs = records(&app, &token, e.id.as_str()).await;
    assert_eq!(e.status.as_str(), "succeeded", "{e:?}\n{rs:?}");
    assert_eq!(e.counts.get(&RecordStatus::Success), Some(&4), "{e:?}");
    for (host, _, apps) in &devices {
        for id in apps {
            let out: VerifyOut = verify_account(&app, &token, id).await;
            assert!(out.ok, "{out:?}");
            assert_eq!(out.account.secret_version, 2, "{out:?}");
        }
        assert!(!ssh_logs_in(host, "app1", APP_PASSWORD).await);
        assert!(!ssh_logs_in(host, "app2", APP_PASSWORD).await);
        // The device stays key-based, its key untouched.
        assert_eq!(fingerprints(host, "tumbler").await, vec![fp.clone()]);
        let commands = host.command_log();
        for secret in [OPS_PASSWORD, ROOT_PASSWORD, APP_PASSWORD] {
            assert!(!commands.contains(secret), "a password on a command line");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn switching_admin_users_moves_the_system_key_and_keeps_the_old_users_own_keys() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let fp = system_fingerprint(&app, &token).await;
    let (host, asset, apps) = device(&app, &token, "switcher", "sudo").await;
    let j = switch(&app, &token, &asset, "tumbler").await;
    assert_eq!(j.status, JobStatus::Succeeded, "{j:?}");
    // tumbler also holds a key of its own, which is not Tumbler's to remove.
    let own = generate_key_pair(KeyAlgorithm::Ed25519, "own").unwrap();
    let own_line = public_key_line(&own).unwrap();
    host.authorize_key("tumbler", &own_line).await.unwrap();
    let own_fp = public_key_fingerprint(&own_line).unwrap();
    assert_eq!(
        fingerprints(&host, "tumbler").await,
        vec![fp.clone(), own_fp.clone()]
    );

    // Straight from one key admin user to another.
    let j = switch(&app, &token, &asset, "netadmin").await;
    assert_eq!(j.status, JobStatus::Succeeded, "{j:?}");
    let message = &j.outcomes[0].message;
    assert!(
        message.contains("the system key was removed from tumbler"),
        "{j:?}"
    );
    assert_eq!(j.outcomes[0].code, "ok", "{j:?}");
    key_based_as(&app, &token, &asset, "netadmin").await;
    assert_eq!(fingerprints(&host, "netadmin").await, vec![fp.clone()]);
    assert_eq!(fingerprints(&host, "tumbler").await, vec![own_fp]);

    // Passwords still change on it.
    let task_id = task(
        &app,
        &token,
        json!({"name": "after the switch", "usernames": ["app1"], "asset_ids": [asset],
               "secret_strategy": "random",
               "password_rules": {"length": 20, "lowercase": 1, "uppercase": 1, "digit": 1, "symbol": 1}}),
    )
    .await;
    let e: ExecutionView = run(&app, &token, &task_id).await;
    let rs = records(&app, &token, e.id.as_str()).await;
    let app1: RecordRow = record_for(&rs, "app1").clone();
    assert_eq!(app1.status.as_str(), "success", "{rs:?}");
    let verified: VerifyOut = verify_account(&app, &token, &apps[0]).await;
    assert!(verified.ok);

    app.stop().await;
}

/// Empties the device admin user's `authorized_keys`; the next contact finds the conflict.
async fn into_conflict(app: &TestApp, token: &str, host: &SshHost, asset: &str, user: &str) {
    host.run_inside_ok(&[
        "sh",
        "-c",
        &format!(": > /home/{user}/.ssh/authorized_keys"),
    ])
    .await
    .unwrap();
    let a = test_asset(app, token, asset).await;
    assert_eq!(a.auth_status, "key_conflict", "{a:?}");
}

async fn resolve(
    app: &TestApp,
    token: &str,
    asset: &str,
    password: &str,
    create_user: bool,
) -> JobView {
    job(
        app,
        token,
        "/api/v1/key-conflicts/resolve",
        json!({"mode": "system_key", "devices": [{"asset_id": asset, "admin_user": "netadmin",
               "admin_password": password, "create_user": create_user}]}),
    )
    .await
}

#[tokio::test]
async fn resolve_key_conflict_proves_the_typed_admin_password_on_both_paths() {
    let logs = LogCapture::install();
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let fp = system_fingerprint(&app, &token).await;
    let (host, asset, _) = device(&app, &token, "conflicted", "sudo").await;
    // netadmin exists on the device with its own password.
    host.add_user(&TestUser::new("netadmin", NETADMIN_PASSWORD))
        .await
        .unwrap();
    let j = switch(&app, &token, &asset, "tumbler").await;
    assert_eq!(j.status, JobStatus::Succeeded, "{j:?}");
    into_conflict(&app, &token, &host, &asset, "tumbler").await;

    // A missing password is refused before anything starts, also with "create the user".
    for create_user in [true, false] {
        let (status, body) = call(
            &app,
            &token,
            Method::POST,
            "/api/v1/key-conflicts/resolve",
            Some(json!({"mode": "system_key", "devices": [{"asset_id": asset,
                    "admin_user": "netadmin", "create_user": create_user}]})),
        )
        .await;
        assert_eq!(
            (status, error_field(&body).as_deref()),
            (400, Some("admin_password")),
            "{body}"
        );
    }

    // "Create the user" ticked, the user exists: a wrong password installs nothing.
    let j = resolve(&app, &token, &asset, "canary-Wrong-Typed-1", true).await;
    assert_eq!(j.status, JobStatus::Failed, "{j:?}");
    assert_eq!(j.outcomes[0].code, "admin_login_failed", "{j:?}");
    assert!(fingerprints(&host, "netadmin").await.is_empty());
    let a = test_asset(&app, &token, &asset).await;
    assert_eq!(a.auth_status, "key_conflict", "{a:?}");
    // The right one resolves it.
    let j = resolve(&app, &token, &asset, NETADMIN_PASSWORD, true).await;
    assert_eq!(j.status, JobStatus::Succeeded, "{j:?}");
    assert_eq!(j.outcomes[0].code, "ok", "{j:?}");
    assert_eq!(fingerprints(&host, "netadmin").await, vec![fp.clone()]);
    let a = test_asset(&app, &token, &asset).await;
    assert_eq!(
        (a.auth_status.as_str(), a.auth_username.as_str()),
        ("key_based", "netadmin"),
        "{a:?}"
    );
    // The password it was proved with is still netadmin's.
    assert!(ssh_logs_in(&host, "netadmin", NETADMIN_PASSWORD).await);

    // The main path: the existing admin user and its password, no create.
    into_conflict(&app, &token, &host, &asset, "netadmin").await;
    let j = resolve(&app, &token, &asset, "canary-Wrong-Typed-2", false).await;
    assert_eq!(j.status, JobStatus::Failed, "{j:?}");
    assert_eq!(j.outcomes[0].code, "admin_login_failed", "{j:?}");
    assert!(fingerprints(&host, "netadmin").await.is_empty());
    let a = test_asset(&app, &token, &asset).await;
    assert_eq!(a.auth_status, "key_conflict", "{a:?}");
    let j = resolve(&app, &token, &asset, NETADMIN_PASSWORD, false).await;
    assert_eq!(j.status, JobStatus::Succeeded, "{j:?}");
    assert_eq!(fingerprints(&host, "netadmin").await, vec![fp]);
    key_based_as(&app, &token, &asset, "netadmin").await;
    let audit = audit_text(&app, &token).await;
    assert!(
        audit.contains("admin login failed"),
        "outcomes audited: {audit}"
    );
    for place in [host.command_log(), host.auth_log(), logs.contents(), audit] {
        for typed in [
            NETADMIN_PASSWORD,
            "canary-Wrong-Typed-1",
            "canary-Wrong-Typed-2",
        ] {
            assert!(!place.contains(typed), "a typed password leaked");
        }
    }
    app.stop().await;
}
