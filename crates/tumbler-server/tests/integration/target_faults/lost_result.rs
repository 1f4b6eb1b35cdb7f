//! The result of a change lost on the way back: the connection dropped after the new password
//! reached the host but before the exit status, the host going down between change and
//! verify, a `chpasswd` that writes the password after the account timeout. The new secret
//! the host may hold is kept staged until a login settles it.

use super::super::change_secret::{admin, record_action};
use super::super::support::{error_code, ok, typed};
use super::{
    account_row, all_log_in, changed_on_host, ended, fixture, hold_after_password_written,
    hook_reached, pam_line, record_for, release_hook, run_to_end, server, shadows, start_run,
};
use reqwest::Method;
use std::time::{Duration, Instant};
use tumbler_api_types::ErrorAnswer;
use tumbler_domain::failure_code::FailureCode;
use tumbler_testkit::sshd::SshHost;

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

#[tokio::test]
async fn a_connection_dropped_after_the_new_password_was_sent_is_settled_and_the_rest_reconnect() {
    let app = server(10, 2).await;
    let token = admin(&app).await;
    let (host, task_id, accounts) = fixture(&app, &token, 3).await;
    let before = shadows(&host, 3).await;
    hold_after_password_written(&host);
    let id = start_run(&app, &token, &task_id).await;
    hook_reached(&host).await;
    // The host took the new password; its exit status has not left the host yet.
    let changed = changed_on_host(&host, &before).await;
    assert_eq!(changed.len(), 1, "one password written so far");
    assert!(kill_sessions_of(&host, "ops") >= 1, "the session's sshd");
    release_hook(&host);
    let (e, rs, log) = ended(&app, &token, &id).await;
    assert_eq!(e.status.as_str(), "succeeded", "{e:?} {log}");
    for r in &rs {
        assert_eq!(r.status.as_str(), "success", "{r:?} {log}");
        assert_eq!(r.attempts, 1, "{r:?}");
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
    let id = start_run(&app, &token, &task_id).await;
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
    assert_eq!(e.status.as_str(), "failed", "{e:?} {log}");
    let r = record_for(&rs, &format!("app{first}"));
    assert_eq!(
        (
            r.status.as_str(),
            r.reason_code.map_or("", FailureCode::as_str)
        ),
        ("unverified", "unreachable"),
        "{r:?} {log}"
    );
    let r2 = record_for(&rs, &format!("app{other}"));
    assert_eq!(r2.status.as_str(), "failed", "{r2:?}");
    assert_eq!(r2.reason_code, Some(FailureCode::Unreachable), "{r2:?}");
    // The new secret the host may hold is kept, staged, beside the old one.
    let row = account_row(&app, &accounts[first]).await;
    assert_eq!((row.current_version, row.pending_version), (1, Some(2)));
    // The host comes back: the record's retry settles the account by login.
    host.start_again().await.unwrap();
    let settled = record_action(&app, &token, &r.id, "retry", None).await;
    assert_eq!(settled.status.as_str(), "success", "{settled:?}");
    let row = account_row(&app, &accounts[first]).await;
    assert_eq!((row.current_version, row.pending_version), (2, None));
    let mut expected = vec![1, 1];
    expected[first] = 2;
    assert_eq!(all_log_in(&app, &token, &accounts).await, expected);
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
    assert_eq!(e.status.as_str(), "failed", "{e:?} {log}");
    let r = record_for(&rs, "app0");
    assert_eq!(
        (
            r.status.as_str(),
            r.reason_code.map_or("", FailureCode::as_str)
        ),
        ("unverified", "timeout"),
        "{r:?} {log}"
    );
    assert_eq!(r.attempts, 1, "no second try: {r:?} {log}");
    assert!(!log.contains("retrying"), "{log}");
    // The old secret worked when the run gave up, yet the new one is kept, staged.
    let row = account_row(&app, &accounts[0]).await;
    assert_eq!((row.current_version, row.pending_version), (1, Some(2)));
    // Ignoring it now would drop the new secret on the old one's login while chpasswd is still
    // about to write: refused until the change cannot land any more.
    let rec = r.id.as_str();
    let refused = ok(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/change-secret/records/{rec}/ignore"),
        None,
        409,
    )
    .await;
    assert_eq!(error_code(&refused), "record_state", "{refused}");
    let refused: ErrorAnswer = typed(refused);
    assert!(
        refused
            .error
            .message
            .contains("may still take the new secret"),
        "{refused:?}"
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
    let settled = record_action(&app, &token, &r.id, "retry", None).await;
    assert_eq!(settled.status.as_str(), "success", "{settled:?}");
    assert_eq!(all_log_in(&app, &token, &accounts).await, vec![2]);
}
