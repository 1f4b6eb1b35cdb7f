//! Faults on the target side of a change, injected for real on sshd hosts (issue 15): the
//! connection dropped after the new password reached the host but before the exit status, the
//! host going down between change and verify, a sudo prompt slower than the account timeout,
//! sudo asking for a password that is wrong, a full disk, an account locked on the target.
//! Each run ends with a stored secret that logs in and a record that says what happened; none
//! loops, none locks an account out.

use super::change_secret::{
    account, admin, linux_asset, record_for, records, task, verify_account, wait_for_execution,
};
use super::support::ok;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tumbler_domain::ids::AccountId;
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

async fn execute(app: &TestApp, token: &str, task_id: &str) -> String {
    let started = ok(
        app,
        token,
        Method::POST,
        &format!("/api/v1/change-secret/tasks/{task_id}/execute"),
        None,
        202,
    )
    .await;
    started["execution_id"].as_str().unwrap().to_owned()
}

/// Runs the task to its end; returns the execution, its records and its log.
async fn run_to_end(app: &TestApp, token: &str, task_id: &str) -> (Value, Vec<Value>, String) {
    let id = execute(app, token, task_id).await;
    ended(app, token, &id).await
}

async fn ended(app: &TestApp, token: &str, id: &str) -> (Value, Vec<Value>, String) {
    let e = wait_for_execution(app, token, id).await;
    let rs = records(app, token, id).await;
    let log = super::change_secret::log_text(app, token, id).await;
    (e, rs, log)
}

/// Every account's stored current secret logs in, none is left `changing`; returns their
/// secret versions.
async fn all_log_in(app: &TestApp, token: &str, accounts: &[String]) -> Vec<i64> {
    let mut versions = Vec::new();
    for id in accounts {
        let out = verify_account(app, token, id).await;
        assert_eq!(out["ok"], true, "{out}");
        assert_ne!(out["account"]["status"], "changing", "{out}");
        versions.push(out["account"]["secret_version"].as_i64().unwrap());
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

/// Kills (SIGKILL, from outside) the sshd processes serving `user`'s sessions on the host:
/// the processes of the host's PID namespace whose command line is `sshd: <user>...`.
/// Returns how many were killed.
fn kill_sessions_of(host: &SshHost, user: &str) -> usize {
    let pids: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.chars().all(|c| c.is_ascii_digit()))
        .collect();
    let read = |pid: &str, file: &str| std::fs::read(format!("/proc/{pid}/{file}")).ok();
    let ns = |pid: &str| std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok();
    // sshd, the first process of the host's PID namespace, is the child of unshare.
    let parent = host.namespace_pid().to_string();
    let sshd = pids
        .iter()
        .find(|p| {
            read(p, "status").is_some_and(|s| {
                String::from_utf8_lossy(&s)
                    .lines()
                    .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["PPid:", &parent])
            })
        })
        .expect("the host's sshd");
    let host_ns = ns(sshd).expect("its PID namespace");
    let wanted = format!("sshd: {user}");
    let mut killed = 0;
    for pid in &pids {
        let cmdline = read(pid, "cmdline").unwrap_or_default();
        if ns(pid).as_ref() == Some(&host_ns)
            && String::from_utf8_lossy(&cmdline).starts_with(&wanted)
        {
            let status = std::process::Command::new("kill")
                .args(["-KILL", pid])
                .status()
                .unwrap();
            killed += usize::from(status.success());
        }
    }
    killed
}

async fn account_row(app: &TestApp, id: &str) -> tumbler_store::AccountRow {
    app.services
        .store
        .account(&AccountId::from_string(id.to_owned()))
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn a_connection_dropped_after_the_new_password_was_sent_is_settled_and_the_rest_reconnect() {
    let app = server(10, 2).await;
    let token = admin(&app).await;
    let (host, task_id, accounts) = fixture(&app, &token, 3).await;
    let before = shadows(&host, 3).await;
    hold_after_password_written(&host);
    let id = execute(&app, &token, &task_id).await;
    hook_reached(&host).await;
    // The host took the new password; its exit status has not left the host yet.
    let changed = changed_on_host(&host, &before).await;
    assert_eq!(changed.len(), 1, "one password written so far");
    assert!(kill_sessions_of(&host, "ops") >= 1, "the session's sshd");
    release_hook(&host);
    let (e, rs, log) = ended(&app, &token, &id).await;
    assert_eq!(e["status"], "succeeded", "{e} {log}");
    for r in &rs {
        assert_eq!(r["status"], "success", "{r} {log}");
        assert_eq!(r["attempts"], 1, "{r}");
    }
    assert!(log.contains("connection_lost"), "{log}");
    assert_eq!(log.matches("reconnecting").count(), 1, "{log}");
    // Every password changed once, and the stored one logs in.
    assert_eq!(all_log_in(&app, &token, &accounts).await, vec![2, 2, 2]);
    assert_eq!(changed_on_host(&host, &before).await, vec![0, 1, 2]);
}

#[tokio::test]
async fn a_host_down_between_change_and_verify_keeps_the_pending_secret_until_it_is_settled() {
    let app = server(3, 1).await;
    let token = admin(&app).await;
    let (mut host, task_id, accounts) = fixture(&app, &token, 2).await;
    let before = shadows(&host, 2).await;
    hold_after_password_written(&host);
    let id = execute(&app, &token, &task_id).await;
    hook_reached(&host).await;
    let changed = changed_on_host(&host, &before).await;
    assert_eq!(
        changed.len(),
        1,
        "one password written before the host went down"
    );
    let first = changed[0];
    let other = 1 - first;
    host.kill();
    let (e, rs, log) = ended(&app, &token, &id).await;
    assert_eq!(e["status"], "failed", "{e} {log}");
    let r = record_for(&rs, &format!("app{first}"));
    assert_eq!(
        (r["status"].as_str(), r["reason_code"].as_str()),
        (Some("unverified"), Some("unreachable")),
        "{r} {log}"
    );
    let r2 = record_for(&rs, &format!("app{other}"));
    assert_eq!(r2["status"], "failed", "{r2}");
    assert_eq!(r2["reason_code"], "unreachable", "{r2}");
    // The new secret the host may hold is kept, staged, beside the old one.
    let row = account_row(&app, &accounts[first]).await;
    assert_eq!((row.current_version, row.pending_version), (1, Some(2)));
    // The host comes back: the record's retry settles the account by login.
    host.start_again().await.unwrap();
    let rec = r["id"].as_str().unwrap();
    let settled = ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/change-secret/records/{rec}/retry"),
        None,
        200,
    )
    .await;
    assert_eq!(settled["status"], "success", "{settled}");
    let row = account_row(&app, &accounts[first]).await;
    assert_eq!((row.current_version, row.pending_version), (2, None));
    let mut expected = vec![1, 1];
    expected[first] = 2;
    assert_eq!(all_log_in(&app, &token, &accounts).await, expected);
}

#[tokio::test]
async fn a_sudo_prompt_slower_than_the_account_timeout_times_out_once_per_account() {
    let app = server(3, 3).await;
    let token = admin(&app).await;
    let (host, task_id, accounts) = fixture(&app, &token, 2).await;
    // sudo asks for the password 30 seconds late.
    pam_line(
        &host,
        "sudo",
        "auth optional pam_exec.so quiet /bin/sleep 30",
        true,
    );
    let started = Instant::now();
    let (e, rs, log) = run_to_end(&app, &token, &task_id).await;
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "the run waited for the prompt: {log}"
    );
    assert_eq!(e["status"], "failed", "{e}");
    for r in &rs {
        assert_eq!(
            (r["status"].as_str(), r["reason_code"].as_str()),
            (Some("failed"), Some("timeout")),
            "{r} {log}"
        );
        assert_eq!(r["attempts"], 1, "no second try: {r}");
    }
    assert!(!log.contains("retrying"), "{log}");
    assert_eq!(all_log_in(&app, &token, &accounts).await, vec![1, 1]);
}

#[tokio::test]
async fn sudo_asking_for_a_wrong_password_is_tried_once_per_host() {
    let app = server(10, 3).await;
    let token = admin(&app).await;
    let (host, task_id, accounts) = fixture(&app, &token, 3).await;
    // sudo asks for root's password, which is not the privileged account's.
    let rule = host.root_dir().join("etc/sudoers.d/tumbler-rootpw");
    std::fs::write(&rule, "Defaults rootpw\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&rule, std::fs::Permissions::from_mode(0o440)).unwrap();
    let (e, rs, log) = run_to_end(&app, &token, &task_id).await;
    assert_eq!(e["status"], "failed", "{e}");
    for r in &rs {
        assert_eq!(
            (r["status"].as_str(), r["reason_code"].as_str()),
            (Some("failed"), Some("become_refused")),
            "{r}"
        );
    }
    let tried: Vec<&Value> = rs
        .iter()
        .filter(|r| !r["reason"].as_str().unwrap().starts_with("not tried"))
        .collect();
    assert_eq!(tried.len(), 1, "{rs:?}");
    assert_eq!(log.matches("were not tried").count(), 1, "{log}");
    // One password typed at sudo on the host, not one per account (snoopy logs each sudo
    // started, after the shell line that starts it).
    assert_eq!(
        host.command_log().matches("]: sudo -S").count(),
        1,
        "{}",
        host.command_log()
    );
    assert_eq!(all_log_in(&app, &token, &accounts).await, vec![1, 1, 1]);
    assert!(super::change_secret::ssh_logs_in(&host, "ops", OPS).await);

    // "Retry all failed" makes a retry of each record, but the way to root fails for the
    // whole host: one more password typed at sudo, the other retries not tried.
    let out = ok(
        &app,
        &token,
        Method::POST,
        &format!(
            "/api/v1/change-secret/executions/{}/retry-failed",
            e["id"].as_str().unwrap()
        ),
        None,
        202,
    )
    .await;
    let started = out["started"].as_array().unwrap();
    assert_eq!(started.len(), 3, "{out}");
    let mut retried = Vec::new();
    for s in started {
        let (_, rs, _) = ended(&app, &token, s["execution_id"].as_str().unwrap()).await;
        retried.extend(rs);
    }
    for r in &retried {
        assert_eq!(
            (r["status"].as_str(), r["reason_code"].as_str()),
            (Some("failed"), Some("become_refused")),
            "{r}"
        );
    }
    let tried = retried
        .iter()
        .filter(|r| !r["reason"].as_str().unwrap().starts_with("not tried"))
        .count();
    assert_eq!(tried, 1, "{retried:?}");
    assert_eq!(
        host.command_log().matches("]: sudo -S").count(),
        2,
        "{}",
        host.command_log()
    );
    assert_eq!(all_log_in(&app, &token, &accounts).await, vec![1, 1, 1]);
}

/// Two retries of one record at once (two people, or a double click): one changes the
/// account, the other is refused with `retry_in_progress` before anything is sent.
#[tokio::test]
async fn two_retries_of_one_record_at_once_change_the_account_once() {
    let app = Arc::new(server(10, 2).await);
    let token = admin(&app).await;
    let (host, task_id, accounts) = fixture(&app, &token, 1).await;
    // The first run fails: sudo asks for a password Tumbler does not have.
    let rule = host.root_dir().join("etc/sudoers.d/tumbler-rootpw");
    std::fs::write(&rule, "Defaults rootpw\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&rule, std::fs::Permissions::from_mode(0o440)).unwrap();
    let (e, rs, _) = run_to_end(&app, &token, &task_id).await;
    assert_eq!(e["status"], "failed", "{e}");
    let record = rs[0]["id"].as_str().unwrap().to_owned();
    // Fixed; the retry's chpasswd is held on the host until the test lets it go.
    std::fs::remove_file(&rule).unwrap();
    hold_after_password_written(&host);
    let retry = |app: Arc<TestApp>, token: String, record: String| async move {
        super::support::call(
            &app,
            &token,
            Method::POST,
            &format!("/api/v1/change-secret/records/{record}/retry"),
            None,
        )
        .await
    };
    let first = tokio::spawn(retry(app.clone(), token.clone(), record.clone()));
    let second = tokio::spawn(retry(app.clone(), token.clone(), record.clone()));
    hook_reached(&host).await;
    // A third, once a retry is surely under way, and "Retry all failed" too.
    let (status, body) = retry(app.clone(), token.clone(), record.clone()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("retry_in_progress")),
        "{body}"
    );
    release_hook(&host);
    let mut answers = vec![first.await.unwrap(), second.await.unwrap()];
    answers.sort_by_key(|(status, _)| *status);
    assert_eq!(answers[0].0, 200, "{answers:?}");
    assert_eq!(answers[0].1["status"], "success", "{answers:?}");
    assert_eq!(
        (answers[1].0, answers[1].1["error"]["code"].as_str()),
        (409, Some("retry_in_progress")),
        "{answers:?}"
    );
    assert_eq!(
        host.command_log()
            .lines()
            .filter(|l| l.trim_end().ends_with("]: chpasswd"))
            .count(),
        1,
        "one change on the host: {}",
        host.command_log()
    );
    // Version 2 was the refused run's new secret; the retry's fresh one is 3.
    assert_eq!(all_log_in(&app, &token, &accounts).await, vec![3]);
}

/// Mounts a small tmpfs over the host's `/etc` (a copy of its files) and fills it.
async fn fill_etc(host: &SshHost) {
    let root = host.root_dir().display().to_string();
    let script = format!(
        "mount -t tmpfs -o size=16m tumbler-full /etc && cp -a {root}/etc/. /etc/ && \
         (dd if=/dev/zero of=/etc/tumbler-filler bs=4k 2>/dev/null; true)"
    );
    host.run_inside_ok(&["sh", "-c", &script]).await.unwrap();
    let out = host
        .run_inside(&["df", "--output=avail", "/etc"])
        .await
        .unwrap();
    let avail = String::from_utf8_lossy(&out.stdout);
    assert_eq!(avail.lines().nth(1).map(str::trim), Some("0"), "{avail}");
}

#[tokio::test]
async fn a_full_disk_refuses_the_change_and_the_stored_secret_still_logs_in() {
    let app = server(10, 3).await;
    let token = admin(&app).await;
    let (host, task_id, accounts) = fixture(&app, &token, 2).await;
    fill_etc(&host).await;
    let before = shadows(&host, 2).await;
    let (e, rs, log) = run_to_end(&app, &token, &task_id).await;
    assert_eq!(e["status"], "failed", "{e}");
    for r in &rs {
        assert_eq!(
            (r["status"].as_str(), r["reason_code"].as_str()),
            (Some("failed"), Some("target_refused")),
            "{r} {log}"
        );
        assert_eq!(r["attempts"], 1, "{r}");
    }
    assert!(changed_on_host(&host, &before).await.is_empty());
    assert_eq!(all_log_in(&app, &token, &accounts).await, vec![1, 1]);
}

#[tokio::test]
async fn an_account_locked_on_the_target_stays_locked_and_keeps_its_secret() {
    let app = server(10, 3).await;
    let token = admin(&app).await;
    let (host, task_id, accounts) = fixture(&app, &token, 2).await;
    host.run_inside_ok(&["usermod", "-L", "app1"])
        .await
        .unwrap();
    let locked = host.shadow_entry("app1").await.unwrap().unwrap();
    assert!(locked.starts_with("app1:!"), "{locked}");
    let (e, rs, log) = run_to_end(&app, &token, &task_id).await;
    assert_eq!(e["status"], "partial", "{e}");
    assert_eq!(record_for(&rs, "app0")["status"], "success", "{log}");
    let r = record_for(&rs, "app1");
    assert_eq!(
        (r["status"].as_str(), r["reason_code"].as_str()),
        (Some("failed"), Some("account_locked")),
        "{r} {log}"
    );
    // Tumbler neither unlocked it nor gave it a password nobody stored.
    assert_eq!(host.shadow_entry("app1").await.unwrap().unwrap(), locked);
    let row = account_row(&app, &accounts[1]).await;
    assert_eq!((row.current_version, row.pending_version), (1, None));
    // Unlocked by its owner, the stored secret logs in.
    host.run_inside_ok(&["usermod", "-U", "app1"])
        .await
        .unwrap();
    assert_eq!(all_log_in(&app, &token, &accounts).await, vec![2, 1]);
}

#[tokio::test]
async fn a_chpasswd_slower_than_the_account_timeout_never_leaves_a_secret_nobody_stored() {
    let app = server(3, 3).await;
    let token = admin(&app).await;
    let (host, task_id, accounts) = fixture(&app, &token, 1).await;
    let before = shadows(&host, 1).await;
    // chpasswd holds the new password for 15 seconds before it writes it: past the account
    // timeout, after the new secret left Tumbler.
    pam_line(
        &host,
        "chpasswd",
        "password optional pam_exec.so quiet /bin/sleep 15",
        true,
    );
    let (e, rs, log) = run_to_end(&app, &token, &task_id).await;
    assert_eq!(e["status"], "failed", "{e} {log}");
    let r = record_for(&rs, "app0");
    assert_eq!(
        (r["status"].as_str(), r["reason_code"].as_str()),
        (Some("unverified"), Some("timeout")),
        "{r} {log}"
    );
    assert_eq!(r["attempts"], 1, "no second try: {r} {log}");
    assert!(!log.contains("retrying"), "{log}");
    // The old secret worked when the run gave up, yet the new one is kept, staged.
    let row = account_row(&app, &accounts[0]).await;
    assert_eq!((row.current_version, row.pending_version), (1, Some(2)));
    // Ignoring it now would drop the new secret on the old one's login while chpasswd is still
    // about to write: refused until the change cannot land any more.
    let rec = r["id"].as_str().unwrap();
    let refused = ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/change-secret/records/{rec}/ignore"),
        None,
        409,
    )
    .await;
    assert_eq!(refused["error"]["code"], "record_state", "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("may still take the new secret"),
        "{refused}"
    );
    let row = account_row(&app, &accounts[0]).await;
    assert_eq!((row.current_version, row.pending_version), (1, Some(2)));
    // chpasswd ends and writes the new password (polling, with a deadline)...
    let deadline = Instant::now() + Duration::from_secs(30);
    while changed_on_host(&host, &before).await.is_empty() {
        assert!(
            Instant::now() < deadline,
            "chpasswd never wrote the password"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // ...and a retry settles the account by login: the new secret, which the host took late.
    let settled = ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/change-secret/records/{rec}/retry"),
        None,
        200,
    )
    .await;
    assert_eq!(settled["status"], "success", "{settled}");
    assert_eq!(all_log_in(&app, &token, &accounts).await, vec![2]);
}

/// An asset moved to another domain while its "Retry all failed" queue is under way: the
/// retries still queued end `asset_moved` and send nothing.
#[tokio::test]
async fn retries_queued_when_their_asset_moves_to_another_domain_send_nothing() {
    let app = server(10, 2).await;
    let token = admin(&app).await;
    let (host, task_id, accounts) = fixture(&app, &token, 2).await;
    let rule = host.root_dir().join("etc/sudoers.d/tumbler-rootpw");
    std::fs::write(&rule, "Defaults rootpw\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&rule, std::fs::Permissions::from_mode(0o440)).unwrap();
    let (e, _, _) = run_to_end(&app, &token, &task_id).await;
    assert_eq!(e["status"], "failed", "{e}");
    std::fs::remove_file(&rule).unwrap();
    hold_after_password_written(&host);
    let before = shadows(&host, 2).await;
    let out = ok(
        &app,
        &token,
        Method::POST,
        &format!(
            "/api/v1/change-secret/executions/{}/retry-failed",
            e["id"].as_str().unwrap()
        ),
        None,
        202,
    )
    .await;
    let started = out["started"].as_array().unwrap().clone();
    assert_eq!(started.len(), 2, "{out}");
    // The first retry's chpasswd is held; the asset moves meanwhile.
    hook_reached(&host).await;
    ok(
        &app,
        &token,
        Method::POST,
        "/api/v1/domains",
        Some(json!({"name": "Elsewhere"})),
        201,
    )
    .await;
    let asset = account_row(&app, &accounts[0]).await.asset_id;
    ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/assets/{asset}"),
        Some(json!({"domain": "Elsewhere"})),
        200,
    )
    .await;
    release_hook(&host);
    let mut ends = Vec::new();
    for s in &started {
        let (_, rs, _) = ended(&app, &token, s["execution_id"].as_str().unwrap()).await;
        ends.push(rs[0].clone());
    }
    let moved: Vec<&Value> = ends
        .iter()
        .filter(|r| r["reason_code"] == "asset_moved")
        .collect();
    assert_eq!(moved.len(), 1, "{ends:?}");
    assert_eq!(moved[0]["status"], "failed", "{ends:?}");
    // Only the retry under way when the asset moved changed its account.
    assert_eq!(changed_on_host(&host, &before).await.len(), 1, "{ends:?}");
    assert_eq!(
        host.command_log()
            .lines()
            .filter(|l| l.trim_end().ends_with("]: chpasswd"))
            .count(),
        1,
        "{}",
        host.command_log()
    );
}

/// A retry holds one of the node's change slots as a run's asset does: with one slot, taken by
/// a run held on its host, a retry on another host waits and touches nothing until it is free.
#[tokio::test]
async fn a_retry_waits_for_a_change_slot_of_the_node() {
    let app = TestApp::spawn_configured(
        StoreKind::Sqlite,
        Arc::new(tumbler_domain::SystemClock),
        |c| {
            // Long enough for the held change not to time out while the test looks.
            c.change_secret.account_timeout_seconds = 30;
            c.change_secret.max_attempts = 2;
            c.change_secret.max_parallel_assets = 1;
        },
    )
    .await;
    let token = admin(&app).await;
    let busy = SshHost::start(&[
        TestUser::new("ops", OPS).with_sudo(),
        TestUser::new("app0", app_password(0)),
    ])
    .await
    .unwrap();
    let busy_asset = linux_asset(&app, &token, "busy", &busy).await;
    account(&app, &token, &busy_asset, "ops", OPS, true, json!({})).await;
    account(
        &app,
        &token,
        &busy_asset,
        "app0",
        &app_password(0),
        false,
        json!({}),
    )
    .await;
    let busy_task = task(
        &app,
        &token,
        json!({"name": "busy", "usernames": ["app0"], "asset_ids": [busy_asset],
               "secret_strategy": "random"}),
    )
    .await;
    // A failed record on a second host (sudo asked for a password Tumbler does not have).
    let (other, other_task, other_accounts) = fixture(&app, &token, 1).await;
    let rule = other.root_dir().join("etc/sudoers.d/tumbler-rootpw");
    std::fs::write(&rule, "Defaults rootpw\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&rule, std::fs::Permissions::from_mode(0o440)).unwrap();
    let (e, rs, _) = run_to_end(&app, &token, &other_task).await;
    assert_eq!(e["status"], "failed", "{e}");
    std::fs::remove_file(&rule).unwrap();
    let record = rs[0]["id"].as_str().unwrap().to_owned();
    // The only slot: a run held in chpasswd on the first host.
    hold_after_password_written(&busy);
    let run_id = execute(&app, &token, &busy_task).await;
    hook_reached(&busy).await;
    let before = shadows(&other, 1).await;
    let sudo_runs = || other.command_log().matches("]: sudo -S").count();
    let sudo_before = sudo_runs();
    let retry = {
        let (url, token) = (
            app.url(&format!("/api/v1/change-secret/records/{record}/retry")),
            token.clone(),
        );
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        })
    };
    // The retry's run says it waits for a slot, having sent nothing.
    let deadline = Instant::now() + Duration::from_secs(60);
    let retry_run = loop {
        let page = ok(
            &app,
            &token,
            Method::GET,
            "/api/v1/change-secret/executions?limit=50",
            None,
            200,
        )
        .await;
        let found = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["trigger"] == "retry")
            .map(|e| e["id"].as_str().unwrap().to_owned());
        if let Some(id) = found {
            // Read from the store: the log endpoint streams until the run ends.
            let lines = app
                .services
                .store
                .log_lines(
                    &tumbler_domain::ids::ExecutionId::from_string(id.clone()),
                    0,
                )
                .await
                .unwrap();
            if lines.iter().any(|l| {
                l.line
                    .contains("waiting for one of the node's change slots")
            }) {
                break id;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the retry did not wait for a slot"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        shadows(&other, 1).await,
        before,
        "nothing sent while waiting"
    );
    assert_eq!(sudo_runs(), sudo_before, "{}", other.command_log());
    release_hook(&busy);
    let (e, _, _) = ended(&app, &token, &run_id).await;
    assert_eq!(e["status"], "succeeded", "{e}");
    assert_eq!(retry.await.unwrap(), 200);
    let (e, rs, _) = ended(&app, &token, &retry_run).await;
    assert_eq!(e["status"], "succeeded", "{e} {rs:?}");
    assert_eq!(changed_on_host(&other, &before).await, vec![0]);
    assert_eq!(all_log_in(&app, &token, &other_accounts).await, vec![3]);
}
