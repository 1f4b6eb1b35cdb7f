//! The way to root misbehaving: a sudo prompt slower than the account timeout, and sudo
//! asking for a password that is wrong, tried once per host (and once per "Retry all failed").

use super::super::change_secret::admin;
use super::{
    all_failed, all_log_in, ended, fixture, pam_line, retry_failed, run_to_end, server,
    sudo_asks_for_root_password, OPS,
};
use std::time::{Duration, Instant};
use tumbler_api_types::change_secret::RecordRow;
use tumbler_domain::failure_code::FailureCode;

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
    assert_eq!(e.status.as_str(), "failed", "{e:?}");
    all_failed(&rs, FailureCode::Timeout, true, &log);
    assert!(!log.contains("retrying"), "{log}");
    assert_eq!(all_log_in(&app, &token, &accounts).await, vec![1, 1]);
}

#[tokio::test]
async fn sudo_asking_for_a_wrong_password_is_tried_once_per_host() {
    let app = server(10, 3).await;
    let token = admin(&app).await;
    let (host, task_id, accounts) = fixture(&app, &token, 3).await;
    // sudo asks for root's password, which is not the privileged account's.
    sudo_asks_for_root_password(&host);
    let (e, rs, log) = run_to_end(&app, &token, &task_id).await;
    assert_eq!(e.status.as_str(), "failed", "{e:?}");
    all_failed(&rs, FailureCode::BecomeRefused, false, &log);
    let tried: Vec<&RecordRow> = rs
        .iter()
        .filter(|r| !r.reason.starts_with("not tried"))
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
    assert!(super::super::change_secret::ssh_logs_in(&host, "ops", OPS).await);

    // "Retry all failed" makes a retry of each record, but the way to root fails for the
    // whole host: one more password typed at sudo, the other retries not tried.
    let started = retry_failed(&app, &token, e.id.as_str()).await;
    assert_eq!(started.len(), 3, "{started:?}");
    let mut retried = Vec::new();
    for id in &started {
        let (_, rs, _) = ended(&app, &token, id).await;
        retried.extend(rs);
    }
    all_failed(&retried, FailureCode::BecomeRefused, false, "");
    let tried = retried
        .iter()
        .filter(|r| !r.reason.starts_with("not tried"))
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
