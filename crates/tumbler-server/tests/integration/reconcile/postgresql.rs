//! A PostgreSQL role whose password changed outside Tumbler is reconciled through the
//! superuser, in the background of the bulk action.

use super::super::change_secret::{account, admin, APP_PASSWORD};
use super::{bare_asset, drift_pass, get_account, reconcile_many, HAND_PASSWORD};
use chrono::Utc;
use serde_json::json;
use std::sync::Arc;
use tumbler_domain::ids::AccountId;
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp};
use tumbler_testkit::pg_cluster::PgCluster;

#[tokio::test]
async fn a_postgresql_role_whose_password_changed_outside_is_reconciled_through_the_superuser() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    let token = admin(&app).await;
    let cluster = PgCluster::start().await;
    cluster.create_role("drift_role", APP_PASSWORD).await;
    let asset = bare_asset(
        &app,
        &token,
        "pg-drift",
        "127.0.0.1",
        cluster.port(),
        "postgresql",
    )
    .await;
    account(
        &app,
        &token,
        &asset,
        cluster.superuser(),
        cluster.superuser_password(),
        true,
        json!({}),
    )
    .await;
    let role = account(
        &app,
        &token,
        &asset,
        "drift_role",
        APP_PASSWORD,
        false,
        json!({}),
    )
    .await;
    cluster
        .exec(&format!("ALTER ROLE drift_role PASSWORD '{HAND_PASSWORD}'"))
        .await;
    let report = drift_pass(&app).await;
    assert_eq!(
        report.drifted,
        vec![AccountId::from_string(role.clone())],
        "{report:?}"
    );
    let bulk = reconcile_many(&app, &token, &[&role]).await;
    assert_eq!(bulk.started.len(), 1, "{bulk:?}");
    // The bulk reconcile runs in the background: poll its record with a deadline.
    let record_id = bulk.started[0].record_id.clone();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let r = app
            .services
            .store
            .record(&record_id)
            .await
            .unwrap()
            .unwrap();
        if r.status != tumbler_domain::change_secret::RecordStatus::Pending {
            assert_eq!(
                r.status,
                tumbler_domain::change_secret::RecordStatus::Success,
                "{r:?}"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the reconcile never ended"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let a = get_account(&app, &token, &role).await;
    assert_eq!(
        (Some(a.status.as_str()), Some(a.secret_version)),
        (Some("ok"), Some(2)),
        "{a:?}"
    );
    // The stored secret logs in now; a later pass agrees.
    let report = drift_pass(&app).await;
    assert!(report.drifted.is_empty(), "{report:?}");
    assert_eq!(report.working, 2, "{report:?}");
}
