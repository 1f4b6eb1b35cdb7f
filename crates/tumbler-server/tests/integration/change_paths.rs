//! The change's less travelled paths on real sshd hosts: recovery that finds only the
//! previous secret working, a run that really ends `unverified` (the host stops taking new
//! sessions right after the change), and two runs of one account at once (one change).
//!
//! Faults are injected on the host itself: a hook in the host's own PAM stack for `chpasswd`
//! (its private `/etc`) runs after the password is written, so it acts at the exact moment
//! the target took the change.

use super::change_secret::{
    account, admin, execution, linux_asset, log_text, record_action, record_for, records,
    ssh_logs_in, staged_by_a_dead_worker, sudo_ops, task, verify_account, wait_for_execution,
    APP_PASSWORD, OPS_PASSWORD,
};
use super::support::{ok_as, Authenticator};
use chrono::Utc;
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tumbler_api_types::answers::ExecutionStarted;
use tumbler_domain::change_secret::{ExecutionStatus, RecordStatus};
use tumbler_domain::failure_code::FailureCode;
use tumbler_domain::ids::AccountId;
use tumbler_domain::inventory::AccountStatus;
use tumbler_domain::ManualClock;
use tumbler_store::AccountRow;
use tumbler_testkit::app::{StoreKind, TestApp};
use tumbler_testkit::sshd::{SshHost, TestUser};

/// Adds `script` (a POSIX shell body) to the host's PAM password stack for `chpasswd`, after
/// the password is written. Install it after the host's users are set up: the kit sets their
/// passwords with `chpasswd` too.
pub(super) fn chpasswd_hook(host: &SshHost, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = host.root_dir().join("chpasswd-hook.sh");
    std::fs::write(&path, format!("#!/bin/sh\n{script}\nexit 0\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let pam = host.root_dir().join("etc/pam.d/chpasswd");
    let mut stack = std::fs::read_to_string(&pam).unwrap();
    stack.push_str(&format!(
        "password optional pam_exec.so {}\n",
        path.display()
    ));
    std::fs::write(&pam, stack).unwrap();
}

/// A gate: `chpasswd` on the host waits (up to a minute) while the returned file exists.
pub(super) fn chpasswd_gate(host: &SshHost) -> std::path::PathBuf {
    let gate = host.root_dir().join("chpasswd-gate");
    std::fs::write(&gate, b"closed").unwrap();
    chpasswd_hook(
        host,
        &format!(
            "i=0\nwhile [ -e '{}' ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done",
            gate.display()
        ),
    );
    gate
}

pub(super) async fn account_row(app: &TestApp, id: &str) -> AccountRow {
    app.services
        .store
        .account(&AccountId::from_string(id))
        .await
        .unwrap()
        .unwrap()
}

pub(super) async fn secret_of(app: &TestApp, account_id: &str, version: i64) -> String {
    let bytes = app
        .services
        .vault
        .open_secret(
            tumbler_domain::secret_owner::SecretOwner::Account,
            account_id,
            version,
        )
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Polls `probe` until it returns `Some`, for at most `secs` seconds.
pub(super) async fn eventually<T, F, Fut>(secs: u64, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A host with a sudo account `ops` (privileged) and the ordinary accounts given.
async fn sudo_host(app: &TestApp, token: &str, name: &str, users: &[&str]) -> (SshHost, String) {
    let mut all = vec![TestUser::new("ops", OPS_PASSWORD).with_sudo()];
    all.extend(users.iter().map(|u| TestUser::new(*u, APP_PASSWORD)));
    let host = SshHost::start(&all).await.unwrap();
    let asset = linux_asset(app, token, name, &host).await;
    sudo_ops(app, token, &asset).await;
    (host, asset)
}

/// The target kept the old secret although a change was committed (restored from a backup),
/// then a run died after staging the next one: recovery finds that neither the staged nor the
/// current secret logs in, only the previous one does, and makes it current again; the record
/// says so, the stored secret logs in, and the next run changes the account from there.
#[tokio::test]
async fn recovery_returns_to_the_previous_secret_when_only_it_logs_in() {
    let app = TestApp::spawn().await;
    let token = admin(&app).await;
    let (host, asset) = sudo_host(&app, &token, "restored", &["app1"]).await;
    let app1 = account(&app, &token, &asset, "app1", APP_PASSWORD, false, json!({})).await;
    let task_id = task(
        &app,
        &token,
        json!({"name": "restore", "usernames": ["app1"], "asset_ids": [asset],
               "secret_strategy": "random"}),
    )
    .await;
    let first = super::change_secret::run(&app, &token, &task_id).await;
    assert_eq!(first.status, ExecutionStatus::Succeeded, "{first:?}");
    let row = account_row(&app, &app1).await;
    assert_eq!((row.current_version, row.previous_version), (2, Some(1)));
    let committed = secret_of(&app, &app1, 2).await;
    assert!(ssh_logs_in(&host, "app1", &committed).await);

    // The host comes back from a backup taken before that change: it holds version 1.
    host.set_password("app1", APP_PASSWORD).await.unwrap();
    // A run stages version 3 and dies before it reaches the target.
    let (exec, rec) = staged_by_a_dead_worker(&app, &task_id, &app1, "canary-Never-Sent-3c").await;
    assert_eq!(account_row(&app, &app1).await.pending_version, Some(3));

    assert_eq!(app.services.change_secret.recover(false).await.unwrap(), 1);
    let row = account_row(&app, &app1).await;
    assert_eq!(
        (
            row.current_version,
            row.previous_version,
            row.pending_version,
            row.status
        ),
        (1, Some(2), None, AccountStatus::Ok),
        "the previous version is current again, the one that did not hold is kept as previous"
    );
    let r = app.services.store.record(&rec).await.unwrap().unwrap();
    assert_eq!(
        (r.status, r.reason_code),
        (RecordStatus::Failed, Some(FailureCode::Interrupted)),
        "{r:?}"
    );
    assert!(
        r.reason.contains("only the previous secret logs in"),
        "{r:?}"
    );
    let log = log_text(&app, &token, exec.as_str()).await;
    assert!(
        log.contains("app1@restored: recovery found previous"),
        "{log}"
    );
    let out = verify_account(&app, &token, &app1).await;
    assert_eq!((out.ok, out.account.secret_version), (true, 1), "{out:?}");
    assert!(!ssh_logs_in(&host, "app1", "canary-Never-Sent-3c").await);

    // The next run starts from the secret that works and takes a fresh version.
    let next = super::change_secret::run(&app, &token, &task_id).await;
    assert_eq!(next.status, ExecutionStatus::Succeeded, "{next:?}");
    let row = account_row(&app, &app1).await;
    assert_eq!((row.current_version, row.previous_version), (4, Some(1)));
    let newest = secret_of(&app, &app1, 4).await;
    assert!(ssh_logs_in(&host, "app1", &newest).await);
    assert!(!ssh_logs_in(&host, "app1", APP_PASSWORD).await);
    assert!(verify_account(&app, &token, &app1).await.ok);
}

/// How many unauthenticated connections the host in the `unverified` test takes at once.
const STARTUPS: usize = 3;

/// The host stops taking new sessions the moment `chpasswd` wrote the new password: a hook
/// opens as many unauthenticated connections as its sshd allows (`MaxStartups`) and holds
/// them, so sshd drops every new one while the change's own session goes on. The login that
/// should prove the new secret cannot even start, so the record is `unverified`, the new
/// secret stays pending and the account needs attention. Once the host takes sessions again,
/// the record's verify proves the new secret and adopting it makes it current.
#[tokio::test]
async fn a_host_that_refuses_new_sessions_after_the_change_leaves_the_record_unverified() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_configured(StoreKind::Sqlite, clock.clone(), |c| {
        c.change_secret.max_attempts = 1;
    })
    .await;
    let token = admin(&app).await;
    let host = SshHost::builder()
        .users(&[
            TestUser::new("ops", OPS_PASSWORD).with_sudo(),
            TestUser::new("app1", APP_PASSWORD),
        ])
        .max_startups(STARTUPS.to_string())
        .start()
        .await
        .unwrap();
    let asset = linux_asset(&app, &token, "closing", &host).await;
    sudo_ops(&app, &token, &asset).await;
    let app1 = account(&app, &token, &asset, "app1", APP_PASSWORD, false, json!({})).await;
    // The holder reads each connection's banner (sshd accepted and counts it), then says
    // it is ready; the hook returns only then, so chpasswd ends with the host already full.
    let root = host.root_dir().display().to_string();
    let opens: String = (0..STARTUPS)
        .map(|i| {
            format!(
                "exec {}<>/dev/tcp/127.0.0.1/{}; read -r b <&{}; ",
                i + 3,
                host.port(),
                i + 3
            )
        })
        .collect();
    chpasswd_hook(
        &host,
        &format!(
            "setsid bash -c '{opens}touch {root}/holder.ready; j=0; while [ ! -e {root}/holder.release ] && [ $j -lt 1200 ]; do sleep 0.1; j=$((j+1)); done' \
               </dev/null >/dev/null 2>&1 &\n\
             i=0\nwhile [ ! -e {root}/holder.ready ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done"
        ),
    );
    let task_id = task(
        &app,
        &token,
        json!({"name": "closing", "usernames": ["app1"], "asset_ids": [asset],
               "secret_strategy": "random"}),
    )
    .await;
    let e = super::change_secret::run(&app, &token, &task_id).await;
    assert!(
        host.root_dir().join("holder.ready").exists(),
        "the hook ran"
    );
    let log = log_text(&app, &token, e.id.as_str()).await;
    assert_eq!(e.status, ExecutionStatus::Failed, "{e:?} {log}");
    assert_eq!(e.counts.get(&RecordStatus::Unverified), Some(&1), "{e:?}");
    assert!(log.contains("app1@closing: changed on the target"), "{log}");
    let rs = records(&app, &token, e.id.as_str()).await;
    let rec = record_for(&rs, "app1");
    assert_eq!(rec.status, RecordStatus::Unverified, "{rec:?}");
    assert!(rec.reason_code.is_some(), "{rec:?}");
    let rec_id = rec.id.clone();
    let row = account_row(&app, &app1).await;
    assert_eq!(
        (row.current_version, row.pending_version, row.status),
        (1, Some(2), AccountStatus::NeedsAttention),
        "the new secret is kept pending, not dropped"
    );
    assert!(
        host.auth_log().contains("past MaxStartups"),
        "sshd dropped the login: {}",
        host.auth_log()
    );

    // The host takes sessions again: it holds the pending secret, not the old one.
    std::fs::write(host.root_dir().join("holder.release"), b"").unwrap();
    let pending = secret_of(&app, &app1, 2).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ssh_logs_in(&host, "app1", &pending).await {
        assert!(
            Instant::now() < deadline,
            "the host does not take sessions again: {} {}",
            host.auth_log(),
            String::from_utf8_lossy(
                &std::process::Command::new("ps")
                    .args(["-eo", "pid,pgid,sid,args"])
                    .output()
                    .unwrap()
                    .stdout
            )
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!ssh_logs_in(&host, "app1", APP_PASSWORD).await);
    let verified = record_action(&app, &token, &rec_id, "verify", None).await;
    assert!(verified.new_secret_verified_at.is_some(), "{verified:?}");
    let auth = Authenticator::enrol(&app, &token, clock.clone()).await;
    let totp = json!({"totp": auth.fresh_code()});
    let adopted = record_action(&app, &token, &rec_id, "adopt", Some(totp)).await;
    assert_eq!(adopted.status, RecordStatus::Success, "{adopted:?}");
    let out = verify_account(&app, &token, &app1).await;
    assert_eq!((out.ok, out.account.secret_version), (true, 2), "{out:?}");
}

/// Starts a manual run and, at the same moment, lets the schedule fire; returns both
/// execution ids (manual first).
async fn manual_and_scheduled_at_once(
    app: &TestApp,
    token: &str,
    task_id: &str,
    clock: &ManualClock,
) -> (String, String) {
    clock.advance(chrono::Duration::minutes(2));
    let engine = app.services.change_secret.clone();
    let execute = format!("/api/v1/change-secret/tasks/{task_id}/execute");
    let (manual, scheduled) = tokio::join!(
        ok_as::<ExecutionStarted>(app, token, Method::POST, &execute, None, 202),
        engine.run_due_tasks()
    );
    let scheduled = scheduled.unwrap();
    assert_eq!(scheduled.len(), 1, "the schedule fired once");
    (manual.execution_id.to_string(), scheduled[0].to_string())
}

async fn two_runs_at_once(kind: StoreKind) {
    let start = Utc::now();
    let clock = Arc::new(ManualClock::new(start));
    let app = TestApp::spawn_on(kind, clock.clone()).await;
    let token = admin(&app).await;
    let (host, asset) = sudo_host(&app, &token, "twice", &["app1"]).await;
    let app1 = account(&app, &token, &asset, "app1", APP_PASSWORD, false, json!({})).await;
    let task_id = task(
        &app,
        &token,
        json!({"name": "twice", "usernames": ["app1"], "asset_ids": [asset],
               "secret_strategy": "random",
               "schedule": {"interval_hours": 24,
                            "start_at": (start + chrono::Duration::minutes(1)).to_rfc3339()}}),
    )
    .await;
    // chpasswd waits at the gate: the run that staged first holds the account meanwhile.
    let gate = chpasswd_gate(&host);
    let (manual, scheduled) = manual_and_scheduled_at_once(&app, &token, &task_id, &clock).await;
    // The other run ends while the first still waits at the gate.
    let (app_ref, tok, m_id, s_id) = (&app, token.as_str(), manual.as_str(), scheduled.as_str());
    let (loser, winner) = eventually(60, "one run to end", || async move {
        let m = execution(app_ref, tok, m_id).await;
        let s = execution(app_ref, tok, s_id).await;
        match (m.status.is_final(), s.status.is_final()) {
            (true, false) => Some((m, s_id.to_owned())),
            (false, true) => Some((s, m_id.to_owned())),
            (true, true) => panic!("both runs ended while chpasswd was held: {m:?} {s:?}"),
            (false, false) => None,
        }
    })
    .await;
    assert_eq!(loser.status, ExecutionStatus::NothingChanged, "{loser:?}");
    assert_eq!(
        loser.counts.get(&RecordStatus::Ignored),
        Some(&1),
        "{loser:?}"
    );
    let rs = records(&app, &token, loser.id.as_str()).await;
    let r = record_for(&rs, "app1");
    assert_eq!(
        (r.status, r.reason_code),
        (RecordStatus::Ignored, Some(FailureCode::ChangeInProgress)),
        "{r:?}"
    );
    assert!(r.new_version.is_none(), "nothing staged for it: {r:?}");
    assert_eq!(
        account_row(&app, &app1).await.status,
        AccountStatus::Changing,
        "the other run still holds the account"
    );
    std::fs::remove_file(&gate).unwrap();
    let won = wait_for_execution(&app, &token, &winner).await;
    assert_eq!(won.status, ExecutionStatus::Succeeded, "{won:?}");
    // One change: version 2 is current, works, and nothing else was staged.
    let row = account_row(&app, &app1).await;
    assert_eq!(
        (
            row.current_version,
            row.pending_version,
            row.next_version,
            row.status
        ),
        (2, None, 3, AccountStatus::Ok)
    );
    let new = secret_of(&app, &app1, 2).await;
    assert!(ssh_logs_in(&host, "app1", &new).await);
    assert!(verify_account(&app, &token, &app1).await.ok);
    let changes = host
        .command_log()
        .lines()
        .filter(|l| l.trim_end().ends_with("]: chpasswd"))
        .count();
    assert_eq!(changes, 1, "chpasswd ran once: {}", host.command_log());
}

#[tokio::test]
async fn a_manual_and_a_scheduled_run_of_one_account_change_it_once_on_sqlite() {
    two_runs_at_once(StoreKind::Sqlite).await;
}

#[tokio::test]
async fn a_manual_and_a_scheduled_run_of_one_account_change_it_once_on_postgres() {
    two_runs_at_once(StoreKind::Postgres).await;
}
