//! The SSH-key and custom-SSH change methods against real sshd hosts: a new key pair goes into
//! `authorized_keys`, logs in, and the old key goes (only it, matched by fingerprint, or every
//! other key on request); a custom template drives the host's real interactive `passwd`,
//! including a prompt the template does not expect and a target that says nothing.

use super::change_secret::{
    account, admin, linux_asset, record_for, records, run, ssh_logs_in, sudo_ops, task,
    verify_account, APP_PASSWORD, OPS_PASSWORD,
};
use super::support::{ok_as, typed};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use std::time::Duration;
use tumbler_api_types::inventory::AccountOut;
use tumbler_api_types::ErrorAnswer;
use tumbler_connectors::ssh::{
    generate_key_pair, key_fingerprint, public_key_fingerprint, public_key_line, HostKeyPolicy,
    SshConnector, SshCredentials, SshTarget,
};
use tumbler_domain::change_secret::{ExecutionStatus, RecordStatus};
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::ssh_key::KeyAlgorithm;
use tumbler_testkit::app::TestApp;
use tumbler_testkit::logs::LogCapture;
use tumbler_testkit::sshd::{SshHost, TestUser};

async fn key_logs_in(host: &SshHost, user: &str, pem: &SecretString) -> bool {
    SshConnector::new()
        .with_connect_timeout(Duration::from_secs(30))
        .connect(
            &SshTarget::new(host.address(), host.port()),
            &HostKeyPolicy::Pinned(host.host_key_fingerprint().parse().unwrap()),
            &SshCredentials::private_key(user, pem.clone(), None),
        )
        .await
        .is_ok()
}

/// An account holding an SSH private key; returns its id.
async fn key_account(
    app: &TestApp,
    token: &str,
    asset: &str,
    user: &str,
    pem: &SecretString,
) -> String {
    let created: AccountOut = ok_as(
        app,
        token,
        Method::POST,
        "/api/v1/accounts",
        Some(
            json!({"asset_id": asset, "username": user, "secret_type": "ssh_key",
                    "secret": pem.expose_secret()}),
        ),
        201,
    )
    .await;
    created.id
}

/// The fingerprints of the keys in the user's `authorized_keys`, in file order.
async fn authorized_fingerprints(host: &SshHost, user: &str) -> Vec<String> {
    let out = host
        .run_inside_ok(&["cat", &format!("/home/{user}/.ssh/authorized_keys")])
        .await
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let key = l.trim().trim_start_matches("from=\"127.0.0.1\" ");
            public_key_fingerprint(key)
        })
        .collect()
}

#[tokio::test]
async fn ssh_keys_rotate_through_authorized_keys_by_fingerprint() {
    let logs = LogCapture::install();
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("deploy", APP_PASSWORD),
        TestUser::new("app1", APP_PASSWORD),
    ])
    .await
    .unwrap();
    // Tumbler's key, and someone else's key with the same comment (never matched by comment).
    let old = generate_key_pair(KeyAlgorithm::Ed25519, "deploy@ci").unwrap();
    let other = generate_key_pair(KeyAlgorithm::Ed25519, "deploy@ci").unwrap();
    host.authorize_key("deploy", &public_key_line(&old).unwrap())
        .await
        .unwrap();
    let other_line = format!("from=\"127.0.0.1\" {}", public_key_line(&other).unwrap());
    host.authorize_key("deploy", &other_line).await.unwrap();
    let asset = linux_asset(&app, &token, "keys-host", &host).await;
    sudo_ops(&app, &token, &asset).await;
    let deploy = key_account(&app, &token, &asset, "deploy", &old).await;
    account(&app, &token, &asset, "app1", APP_PASSWORD, false, json!({})).await;
    assert!(verify_account(&app, &token, &deploy).await.ok);

    // A password task leaves the key account alone; a key task leaves password accounts alone.
    let key_task = task(
        &app,
        &token,
        json!({"name": "rotate deploy key", "usernames": ["deploy", "app1"], "asset_ids": [asset],
               "secret_strategy": "random", "secret_type": "ssh_key"}),
    )
    .await;
    let e = run(&app, &token, &key_task).await;
    assert_eq!(e.status, ExecutionStatus::Succeeded, "{e:?}");
    let recs = records(&app, &token, e.id.as_str()).await;
    assert_eq!(
        record_for(&recs, "deploy").status,
        RecordStatus::Success,
        "{recs:?}"
    );
    assert_eq!(
        record_for(&recs, "app1").reason_code,
        Some(FailureCode::SecretTypeMismatch)
    );
    assert!(
        ssh_logs_in(&host, "app1", APP_PASSWORD).await,
        "app1 untouched"
    );

    // The old key went, the other key stayed, one new Ed25519 key came; it logs in (the stored
    // secret verifies) and the old one does not.
    let old_fp = key_fingerprint(&old).unwrap();
    let other_fp = key_fingerprint(&other).unwrap();
    let fps = authorized_fingerprints(&host, "deploy").await;
    assert_eq!(fps.len(), 2, "{fps:?}");
    assert!(!fps.contains(&old_fp) && fps.contains(&other_fp), "{fps:?}");
    let keys = host
        .run_inside_ok(&["cat", "/home/deploy/.ssh/authorized_keys"])
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&keys.stdout).into_owned();
    assert!(
        text.contains(&other_line),
        "other key kept as it was: {text}"
    );
    assert!(
        text.contains("ssh-ed25519 ") && text.contains("tumbler:deploy"),
        "{text}"
    );
    assert!(!key_logs_in(&host, "deploy", &old).await, "old key refused");
    assert!(
        key_logs_in(&host, "deploy", &other).await,
        "other key still works"
    );
    assert!(verify_account(&app, &token, &deploy).await.ok);
    let stat = host
        .run_inside_ok(&["stat", "-c", "%U %a", "/home/deploy/.ssh/authorized_keys"])
        .await
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&stat.stdout).trim(), "deploy 600");

    // "Replace all other keys" with an RSA key: only the new key remains.
    let all_task = task(
        &app,
        &token,
        json!({"name": "replace all deploy keys", "usernames": ["deploy"], "asset_ids": [asset],
               "secret_strategy": "random", "secret_type": "ssh_key",
               "ssh_key": {"algorithm": "rsa-2048", "strategy": "replace_all"}}),
    )
    .await;
    let e = run(&app, &token, &all_task).await;
    assert_eq!(e.status, ExecutionStatus::Succeeded, "{e:?}");
    let fps = authorized_fingerprints(&host, "deploy").await;
    assert_eq!(fps.len(), 1, "{fps:?}");
    assert!(
        !key_logs_in(&host, "deploy", &other).await,
        "other key removed"
    );
    let keys = host
        .run_inside_ok(&["cat", "/home/deploy/.ssh/authorized_keys"])
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&keys.stdout).starts_with("ssh-rsa "));
    assert!(verify_account(&app, &token, &deploy).await.ok);

    // No private key anywhere it should not be.
    let logged = logs.contents();
    for place in [logged.as_str(), &host.command_log(), &host.auth_log()] {
        assert!(!place.contains("PRIVATE KEY"), "a private key leaked");
        assert!(!place.contains(OPS_PASSWORD), "the sudo password leaked");
    }
    // A key task with a specified secret is refused (400), a DSA key cannot even be asked for
    // (422, the body does not parse).
    for (bad, status_wanted, code) in [
        (
            json!({"name": "x", "usernames": ["deploy"], "asset_ids": [asset], "secret_type": "ssh_key",
                   "secret_strategy": "specified", "secret": "abc"}),
            400,
            "invalid_request",
        ),
        (
            json!({"name": "y", "usernames": ["deploy"], "asset_ids": [asset], "secret_type": "ssh_key",
                   "secret_strategy": "random", "ssh_key": {"algorithm": "dsa"}}),
            422,
            "invalid_json",
        ),
    ] {
        let (status, body) = super::support::call(
            &app,
            &token,
            Method::POST,
            "/api/v1/change-secret/tasks",
            Some(bad),
        )
        .await;
        assert_eq!(status, status_wanted, "{body}");
        assert_eq!(super::support::error_code(&body), code, "{body}");
    }
}

/// A template that drives `passwd` as root through sudo, with the real prompts; `tweak` edits it.
fn passwd_template(tweak: impl FnOnce(&mut Value)) -> Value {
    let mut t = json!({
        "command": "sudo -S -p 'SUDO-ASKS:' passwd {username}",
        "steps": [
            {"expect": "SUDO-ASKS:", "answer": "{login_secret}", "timeout_secs": 10},
            {"expect": "New password:", "answer": "{new_secret}", "timeout_secs": 10},
            {"expect": "Retype new password:", "answer": "{new_secret}", "timeout_secs": 10},
            {"expect": "updated successfully", "timeout_secs": 10}
        ]
    });
    tweak(&mut t);
    t
}

async fn custom_task(
    app: &TestApp,
    token: &str,
    asset: &str,
    name: &str,
    template: Value,
) -> String {
    task(
        app,
        token,
        json!({"name": name, "usernames": ["app1"], "asset_ids": [asset],
               "secret_strategy": "random", "custom_ssh": template}),
    )
    .await
}

#[tokio::test]
async fn a_custom_template_drives_the_real_passwd_prompts() {
    let logs = LogCapture::install();
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("app1", APP_PASSWORD),
    ])
    .await
    .unwrap();
    let asset = linux_asset(&app, &token, "passwd-host", &host).await;
    account(&app, &token, &asset, "ops", OPS_PASSWORD, true, json!({})).await;
    let app1 = account(&app, &token, &asset, "app1", APP_PASSWORD, false, json!({})).await;

    // A template with a secret on the command line is refused before anything runs.
    let (status, body) = super::support::call(
        &app,
        &token,
        Method::POST,
        "/api/v1/change-secret/tasks",
        Some(json!({"name": "bad", "usernames": ["app1"], "asset_ids": [asset],
                    "secret_strategy": "random",
                    "custom_ssh": passwd_template(|t| t["command"] = json!("echo {new_secret} | chpasswd"))})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let refused: ErrorAnswer = typed(body);
    assert!(
        refused.error.message.contains("never on a command line"),
        "{refused:?}"
    );

    // A prompt the template does not expect: passwd prints "New password:" and waits; nothing
    // secret was typed, the old password stays, the reason quotes what the host printed.
    let wrong = custom_task(
        &app,
        &token,
        &asset,
        "wrong prompt",
        passwd_template(|t| {
            t["steps"][1]["expect"] = json!("Enter new UNIX password:");
            t["steps"][1]["timeout_secs"] = json!(2);
        }),
    )
    .await;
    let e = run(&app, &token, &wrong).await;
    assert_eq!(e.status, ExecutionStatus::Failed, "{e:?}");
    let recs = records(&app, &token, e.id.as_str()).await;
    let r = record_for(&recs, "app1");
    assert_eq!(r.reason_code, Some(FailureCode::PromptMismatch), "{r:?}");
    let reason = &r.reason;
    assert!(
        reason.contains("Enter new UNIX password:") && reason.contains("New password:"),
        "{reason}"
    );
    assert!(ssh_logs_in(&host, "app1", APP_PASSWORD).await);

    // The same after the new password was typed once: the change may have landed, so Tumbler
    // checks by login which password works (the old one: passwd wanted it twice).
    let late = custom_task(
        &app,
        &token,
        &asset,
        "wrong second prompt",
        passwd_template(|t| {
            t["steps"][2]["expect"] = json!("Confirm password:");
            t["steps"][2]["timeout_secs"] = json!(2);
        }),
    )
    .await;
    let e = run(&app, &token, &late).await;
    let recs = records(&app, &token, e.id.as_str()).await;
    let r = record_for(&recs, "app1");
    assert_eq!(
        (r.status, r.reason_code),
        (RecordStatus::Failed, Some(FailureCode::PromptMismatch)),
        "{r:?}"
    );
    assert!(r.reason.contains("the old secret still works"), "{r:?}");
    assert!(ssh_logs_in(&host, "app1", APP_PASSWORD).await);

    // A target that prints nothing (sudo asked with an empty prompt): a timeout.
    let silent = custom_task(
        &app,
        &token,
        &asset,
        "silent",
        passwd_template(|t| {
            t["command"] = json!("sudo -S -p '' passwd {username}");
            t["steps"][0]["timeout_secs"] = json!(1);
        }),
    )
    .await;
    let e = run(&app, &token, &silent).await;
    let recs = records(&app, &token, e.id.as_str()).await;
    let r = record_for(&recs, "app1");
    assert_eq!(r.reason_code, Some(FailureCode::Timeout), "{r:?}");
    assert!(r.reason.contains("nothing came within 1 s"), "{r:?}");
    assert!(ssh_logs_in(&host, "app1", APP_PASSWORD).await);

    // The right template changes the password; the new one logs in, the old one does not.
    let good = custom_task(&app, &token, &asset, "passwd", passwd_template(|_| {})).await;
    let e = run(&app, &token, &good).await;
    assert_eq!(e.status, ExecutionStatus::Succeeded, "{e:?}");
    assert!(!ssh_logs_in(&host, "app1", APP_PASSWORD).await);
    assert!(verify_account(&app, &token, &app1).await.ok);

    // Secrets were typed, never on a command line or in a log.
    let commands = host.command_log();
    assert!(
        commands.contains("passwd app1"),
        "the template ran: {commands}"
    );
    let logged = logs.contents();
    for place in [logged.as_str(), &commands, &host.auth_log()] {
        assert!(!place.contains(OPS_PASSWORD), "the sudo password leaked");
        assert!(!place.contains(APP_PASSWORD), "the old password leaked");
    }
}

#[tokio::test]
async fn recovery_of_a_key_change_removes_the_old_key_as_the_run_would_have() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let host = SshHost::start(&[
        TestUser::new("ops", OPS_PASSWORD).with_sudo(),
        TestUser::new("deploy", APP_PASSWORD),
    ])
    .await
    .unwrap();
    let old = generate_key_pair(KeyAlgorithm::Ed25519, "deploy").unwrap();
    host.authorize_key("deploy", &public_key_line(&old).unwrap())
        .await
        .unwrap();
    let asset = linux_asset(&app, &token, "recovered-keys", &host).await;
    account(&app, &token, &asset, "ops", OPS_PASSWORD, true, json!({})).await;
    let deploy = key_account(&app, &token, &asset, "deploy", &old).await;
    let task_id = task(
        &app,
        &token,
        json!({"name": "keys", "usernames": ["deploy"], "asset_ids": [asset],
               "secret_strategy": "random", "secret_type": "ssh_key"}),
    )
    .await;
    // The crash came after the new key was added, before the old one went.
    let new = generate_key_pair(KeyAlgorithm::Ed25519, "deploy").unwrap();
    let (exec, _) =
        super::change_secret::staged_by_a_dead_worker(&app, &task_id, &deploy, new.expose_secret())
            .await;
    host.authorize_key("deploy", &public_key_line(&new).unwrap())
        .await
        .unwrap();
    assert_eq!(authorized_fingerprints(&host, "deploy").await.len(), 2);
    assert_eq!(app.services.change_secret.recover(false).await.unwrap(), 1);
    let fps = authorized_fingerprints(&host, "deploy").await;
    assert_eq!(
        fps,
        vec![key_fingerprint(&new).unwrap()],
        "only the new key is left"
    );
    assert!(!key_logs_in(&host, "deploy", &old).await);
    let v = verify_account(&app, &token, &deploy).await;
    assert!(v.ok, "{v:?}");
    let log = super::change_secret::log_text(&app, &token, exec.as_str()).await;
    assert!(
        log.contains("old secret removed after the change was settled"),
        "{log}"
    );
}
