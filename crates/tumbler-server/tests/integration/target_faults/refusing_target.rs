//! A target that refuses the change: a full disk, an account locked on the target. Nothing
//! is written and the stored secret still logs in.

use super::super::change_secret::admin;
use super::{
    account_row, all_failed, all_log_in, changed_on_host, fixture, record_for, run_to_end, server,
    shadows,
};
use tumbler_domain::failure_code::FailureCode;
use tumbler_testkit::sshd::SshHost;

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
    assert_eq!(e.status.as_str(), "failed", "{e:?}");
    all_failed(&rs, FailureCode::TargetRefused, true, &log);
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
    assert_eq!(e.status.as_str(), "partial", "{e:?}");
    assert_eq!(record_for(&rs, "app0").status.as_str(), "success", "{log}");
    let r = record_for(&rs, "app1");
    assert_eq!(
        (
            r.status.as_str(),
            r.reason_code.map_or("", FailureCode::as_str)
        ),
        ("failed", "account_locked"),
        "{r:?} {log}"
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
