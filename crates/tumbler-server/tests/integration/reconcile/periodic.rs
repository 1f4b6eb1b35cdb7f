//! The periodic drift sweep checks each account once per interval, by the clock.

use super::super::change_secret::admin;
use super::{get_account, linux_host, HAND_PASSWORD};
use chrono::Utc;
use std::sync::Arc;
use tumbler_core::change_secret::DriftScope;
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp};

#[tokio::test]
async fn the_periodic_sweep_checks_each_account_once_per_interval_by_the_clock() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_configured(StoreKind::Sqlite, clock.clone(), |c| {
        c.drift.interval_seconds = 3600;
    })
    .await;
    let token = admin(&app).await;
    let (host, _asset, ops, apps) = linux_host(&app, &token, "web5", &["app1"]).await;
    let app1 = apps[0].clone();
    let engine = &app.services.change_secret;
    // New accounts wait for their slot: nothing is due while the clock stands.
    let r = engine.run_drift_pass(DriftScope::Due).await.unwrap();
    assert_eq!(r.checked, 0, "{r:?}");
    // One interval later every account's slot has come (the server's own sweep, which reads
    // the same clock, may have taken some): each is verified once.
    clock.advance(chrono::Duration::seconds(3601));
    engine.run_drift_pass(DriftScope::Due).await.unwrap();
    for id in [&ops, &app1] {
        let a = get_account(&app, &token, id).await;
        assert!(a.last_verified_at.is_some(), "{a:?}");
        assert_eq!(a.status, "ok", "{a:?}");
    }
    let r = engine.run_drift_pass(DriftScope::Due).await.unwrap();
    assert_eq!(r.checked, 0, "checked once per interval: {r:?}");
    // The password changed by hand is found at the next interval.
    host.set_password("app1", HAND_PASSWORD).await.unwrap();
    clock.advance(chrono::Duration::seconds(3600));
    engine.run_drift_pass(DriftScope::Due).await.unwrap();
    let a = get_account(&app, &token, &app1).await;
    assert_eq!(a.status, "needs_attention", "{a:?}");
    assert!(a.status_reason.starts_with("drift: "), "{a:?}");
}
