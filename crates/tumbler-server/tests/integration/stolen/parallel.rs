//! Parallel wrong logins cannot outrun the lockout or the throttle (SQLite and PostgreSQL), and
//! parallel logins stay within a bounded hash memory.

use super::super::support::audit_events as audit;
use super::login;
use chrono::Utc;
use std::sync::Arc;
use tumbler_domain::{ManualClock, SystemClock};
use tumbler_testkit::app::{StoreKind, TestApp, ADMIN_PASSWORD};

/// 40 parallel wrong logins against one account: at most the lockout's 5 are checked, and
/// the account locks.
async fn parallel_wrong_logins_lock(kind: StoreKind) {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_configured(kind, clock.clone(), |c| {
        c.auth.max_failures_per_source = 1000;
    })
    .await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let attempts = (0..40).map(|i| {
        let app = &app;
        async move { login(app, "admin", &format!("wrong-password-{i:03}-xyz"), None).await }
    });
    let answers = futures::future::join_all(attempts).await;
    assert!(answers.iter().all(|(s, _)| *s == 401));
    let hashed = audit(&app, &token, "auth.login")
        .await
        .into_iter()
        .filter(|e| e.detail == "wrong_password")
        .count();
    assert!(
        (1..=5).contains(&hashed),
        "at most the lockout's 5 wrong passwords were checked, not {hashed}"
    );
    assert_eq!(
        login(&app, "admin", ADMIN_PASSWORD, None).await.0,
        401,
        "the lockout engaged"
    );
    app.stop().await;
}

#[tokio::test]
async fn parallel_wrong_logins_cannot_outrun_the_lockout_on_postgresql() {
    parallel_wrong_logins_lock(StoreKind::Postgres).await;
}

#[tokio::test]
async fn parallel_wrong_logins_cannot_outrun_the_lockout_or_the_throttle() {
    parallel_wrong_logins_lock(StoreKind::Sqlite).await;
    let clock = Arc::new(ManualClock::new(Utc::now()));
    // Unknown users: only the source's 12 attempts are checked, whatever runs in parallel.
    let app = TestApp::spawn_configured(StoreKind::Sqlite, clock.clone(), |c| {
        c.auth.max_failures_per_source = 12;
    })
    .await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let attempts = (0..40).map(|i| {
        let app = &app;
        async move { login(app, &format!("nobody{i}"), "wrong-password-xyz-1", None).await }
    });
    let answers = futures::future::join_all(attempts).await;
    let throttled = answers.iter().filter(|(s, _)| *s == 429).count();
    let unknown = audit(&app, &token, "auth.login")
        .await
        .into_iter()
        .filter(|e| e.detail == "unknown_user")
        .count();
    assert!(unknown <= 12, "{unknown} attempts were checked");
    assert_eq!(throttled + unknown, 40);
    app.stop().await;
}

/// The peak resident memory of this test process (which runs the server) in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_hundred_parallel_logins_stay_within_a_bounded_hash_memory() {
    // The throttle would stop a single source after a few attempts: here it lets all 300
    // through, as many sources would, so only the bound on concurrent hashes limits memory.
    let app = TestApp::spawn_configured(StoreKind::Sqlite, Arc::new(SystemClock), |c| {
        c.auth.max_failures_per_source = 1_000;
    })
    .await;
    app.activate_admin().await;
    let before = peak_rss_kib();
    let attempts = (0..300).map(|i| {
        let app = &app;
        async move { login(app, &format!("nobody{i}"), "wrong-password-xyz-1", None).await }
    });
    let answers = futures::future::join_all(attempts).await;
    let after = peak_rss_kib();
    // Every attempt was really checked (an Argon2 hash each, the dummy one for unknown users).
    assert!(answers.iter().all(|(s, _)| *s == 401), "{answers:?}");
    // Each Argon2id hash holds 19 MiB while it runs: 300 at once would take about 5.6 GiB.
    let growth_mib = after.saturating_sub(before) / 1024;
    assert!(
        growth_mib < 1024,
        "300 parallel logins raised the peak memory by {growth_mib} MiB"
    );
    app.stop().await;
}
