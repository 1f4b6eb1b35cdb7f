//! Faults on the target side of a change, injected for real on sshd hosts: the
//! connection dropped after the new password reached the host but before the exit status, the
//! host going down between change and verify, a sudo prompt slower than the account timeout,
//! sudo asking for a password that is wrong, a full disk, an account locked on the target.
//! Each run ends with a stored secret that logs in and a record that says what happened; none
//! loops, none locks an account out.

mod lost_result;
mod refusing_target;
mod retry_queue;
mod sudo;

use super::change_paths::account_row;
use super::change_secret::{
    account, linux_asset, record_for, records, start_run, task, verify_account, wait_for_execution,
};
use super::support::ok_as;
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tumbler_api_types::change_secret::{ExecutionView, RecordRow};
use tumbler_domain::change_secret::RecordStatus;
use tumbler_domain::failure_code::FailureCode;
use tumbler_testkit::app::{StoreKind, TestApp};
use tumbler_testkit::sshd::{SshHost, TestUser};

const OPS: &str = "canary-Ops-Fault-41c7";

fn app_password(i: usize) -> String {
    format!("canary-App-Fault-{i}-9d")
}

/// A server with a short account timeout (the slow and dead hosts answer within a test's
/// patience) and `attempts` tries of an unreachable target.
async fn server(account_timeout: u32, attempts: u32) -> TestApp {
    TestApp::spawn_configured(
        StoreKind::Sqlite,
        Arc::new(tumbler_domain::SystemClock),
        |c| {
            c.change_secret.account_timeout_seconds = account_timeout;
            c.change_secret.max_attempts = attempts;
        },
    )
    .await
}

/// A host with `ops` (sudo) and `apps` app accounts, registered with its key acknowledged,
/// and a task rotating the app accounts. Returns the host, the task id and the app accounts'
/// ids, in the order app0, app1...
async fn fixture(app: &TestApp, token: &str, apps: usize) -> (SshHost, String, Vec<String>) {
    let mut users = vec![TestUser::new("ops", OPS).with_sudo()];
    for i in 0..apps {
        users.push(TestUser::new(format!("app{i}"), app_password(i)));
    }
    let host = SshHost::start(&users).await.unwrap();
    let asset = linux_asset(app, token, "faulty", &host).await;
    account(app, token, &asset, "ops", OPS, true, json!({})).await;
    let mut ids = Vec::new();
    for (i, u) in users.iter().enumerate().skip(1) {
        ids.push(
            account(
                app,
                token,
                &asset,
                &u.name,
                &app_password(i - 1),
                false,
                json!({}),
            )
            .await,
        );
    }
    let usernames: Vec<String> = users.iter().skip(1).map(|u| u.name.clone()).collect();
    let task_id = task(
        app,
        token,
        json!({"name": "faults", "usernames": usernames, "asset_ids": [asset],
               "secret_strategy": "random"}),
    )
    .await;
    (host, task_id, ids)
}

/// Runs the task to its end; returns the execution, its records and its log.
async fn run_to_end(
    app: &TestApp,
    token: &str,
    task_id: &str,
) -> (ExecutionView, Vec<RecordRow>, String) {
    let id = start_run(app, token, task_id).await;
    ended(app, token, &id).await
}

async fn ended(app: &TestApp, token: &str, id: &str) -> (ExecutionView, Vec<RecordRow>, String) {
    let e = wait_for_execution(app, token, id).await;
    let rs = records(app, token, id).await;
    let log = super::change_secret::log_text(app, token, id).await;
    (e, rs, log)
}

/// Asserts that every record failed with `code`, each tried once when `once`.
fn all_failed(rs: &[RecordRow], code: FailureCode, once: bool, log: &str) {
    for r in rs {
        assert_eq!(
            (r.status, r.reason_code),
            (RecordStatus::Failed, Some(code)),
            "{r:?} {log}"
        );
        if once {
            assert_eq!(r.attempts, 1, "no second try: {r:?}");
        }
    }
}

/// "Retry all failed" on an execution; returns the ids of the retries it started.
async fn retry_failed(app: &TestApp, token: &str, execution_id: &str) -> Vec<String> {
    let out: tumbler_api_types::retries::RetryFailedOutcome = ok_as(
        app,
        token,
        Method::POST,
        &format!("/api/v1/change-secret/executions/{execution_id}/retry-failed"),
        None,
        202,
    )
    .await;
    out.started
        .into_iter()
        .map(|s| s.execution_id.to_string())
        .collect()
}

/// Every account's stored current secret logs in, none is left `changing`; returns their
/// secret versions.
async fn all_log_in(app: &TestApp, token: &str, accounts: &[String]) -> Vec<i64> {
    let mut versions = Vec::new();
    for id in accounts {
        let out = verify_account(app, token, id).await;
        assert!(out.ok, "{out:?}");
        assert_ne!(out.account.status, "changing", "{out:?}");
        versions.push(out.account.secret_version);
    }
    versions
}

/// Adds a line to one of the host's PAM files (its private `/etc`, seen from outside).
fn pam_line(host: &SshHost, service: &str, line: &str, first: bool) {
    let path = host.root_dir().join("etc/pam.d").join(service);
    let old = std::fs::read_to_string(&path).unwrap();
    let new = if first {
        format!("{line}\n{old}")
    } else {
        format!("{old}\n{line}\n")
    };
    std::fs::write(&path, new).unwrap();
}

/// Installs a hook that runs once in `chpasswd`'s PAM stack right after `pam_unix` wrote the
/// new password: it says so (`etc/tumbler-fault-reached`) and holds `chpasswd`, so no exit
/// status leaves the host, until the test releases it (`etc/tumbler-fault-release`).
fn hold_after_password_written(host: &SshHost) {
    let hook = host.root_dir().join("etc/tumbler-fault-hook");
    std::fs::write(
        &hook,
        "#!/bin/sh\n\
         [ -e /etc/tumbler-fault-reached ] && exit 0\n\
         : > /etc/tumbler-fault-reached\n\
         i=0\n\
         while [ ! -e /etc/tumbler-fault-release ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done\n\
         exit 0\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    pam_line(
        host,
        "chpasswd",
        "password optional pam_exec.so /etc/tumbler-fault-hook",
        false,
    );
}

/// Waits (polling, with a deadline) for the hook to be reached.
async fn hook_reached(host: &SshHost) {
    let flag = host.root_dir().join("etc/tumbler-fault-reached");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !flag.exists() {
        assert!(Instant::now() < deadline, "no chpasswd reached the hook");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn release_hook(host: &SshHost) {
    std::fs::write(host.root_dir().join("etc/tumbler-fault-release"), b"").unwrap();
}

/// The app accounts whose shadow line differs from `before`.
async fn changed_on_host(host: &SshHost, before: &[Option<String>]) -> Vec<usize> {
    let mut changed = Vec::new();
    for (i, old) in before.iter().enumerate() {
        if host.shadow_entry(&format!("app{i}")).await.unwrap() != *old {
            changed.push(i);
        }
    }
    changed
}

async fn shadows(host: &SshHost, apps: usize) -> Vec<Option<String>> {
    let mut out = Vec::new();
    for i in 0..apps {
        out.push(host.shadow_entry(&format!("app{i}")).await.unwrap());
    }
    out
}

/// Makes the host's sudo ask for root's password, which is not the privileged account's (a
/// password Tumbler does not have); returns the sudoers rule, which the test may remove.
fn sudo_asks_for_root_password(host: &SshHost) -> std::path::PathBuf {
    let rule = host.root_dir().join("etc/sudoers.d/tumbler-rootpw");
    std::fs::write(&rule, "Defaults rootpw\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&rule, std::fs::Permissions::from_mode(0o440)).unwrap();
    rule
}
