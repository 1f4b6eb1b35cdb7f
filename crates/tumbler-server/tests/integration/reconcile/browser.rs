//! The console lists drifted accounts and reconciles them, one from its asset's page and in
//! bulk from the change-secret page.

use super::super::change_secret::{admin, ssh_logs_in};
use super::super::support::Authenticator;
use super::{drift_pass, get_account, linux_host, HAND_PASSWORD};
use chrono::Utc;
use std::sync::Arc;
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp};

#[tokio::test]
async fn browser_shows_drifted_accounts_and_reconciles_them_one_and_in_bulk() {
    use std::time::Duration;
    const WAIT: Duration = Duration::from_secs(30);
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    let token = admin(&app).await;
    let auth = Authenticator::enrol(&app, &token, clock.clone()).await;
    let (host, asset, _ops, apps) = linux_host(&app, &token, "web3", &["app1", "app2"]).await;
    let (app1, app2) = (apps[0].clone(), apps[1].clone());
    host.set_password("app1", HAND_PASSWORD).await.unwrap();
    host.set_password("app2", HAND_PASSWORD).await.unwrap();
    let report = drift_pass(&app).await;
    assert_eq!(report.drifted.len(), 2, "{report:?}");

    let browser = super::super::browser::admin_logs_in(&app, &auth).await;
    browser.goto(&app.url("/change-secret")).await;
    browser
        .wait_for_text("#drifted-count", "2: stored secret no longer logs in", WAIT)
        .await;
    // Bulk: app2 selected and reconciled in the background.
    browser
        .click("tr[data-account=\"app2@web3\"] .reconcile-select")
        .await;
    browser.click("#reconcile-selected").await;
    browser
        .wait_for_text("#change-notice", "Reconciling 1 account(s)", WAIT)
        .await;
    // One: app1 from its asset's page.
    browser.goto(&app.url(&format!("/assets/{asset}"))).await;
    browser
        .click("tr[data-username=app1] .reconcile-account")
        .await;
    browser
        .wait_for_text("#asset-notice", "app1 reconciled", Duration::from_secs(90))
        .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    for id in [&app1, &app2] {
        loop {
            let a = get_account(&app, &token, id).await;
            if a.status == "ok" {
                assert_eq!(a.secret_version, 2, "{a:?}");
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "not reconciled: {a:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let stored = app
            .services
            .vault
            .open_secret(tumbler_domain::secret_owner::SecretOwner::Account, id, 2)
            .await
            .unwrap();
        let user = if id == &app1 { "app1" } else { "app2" };
        let secret = String::from_utf8(stored.to_vec()).unwrap();
        assert!(ssh_logs_in(&host, user, &secret).await, "{user} logs in");
    }
    browser.goto(&app.url("/change-secret")).await;
    browser.wait_for_text("#drifted-count", "0", WAIT).await;
    browser.close().await;
}
