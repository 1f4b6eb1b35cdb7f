//! Adding an asset and an account, verifying it, revealing the secret with a code; the node
//! tree.

use super::admin_logs_in;
use super::WAIT;
use tumbler_testkit::app::TestApp;

#[tokio::test]
async fn browser_adds_an_asset_and_an_account_and_reveals_the_secret_with_a_code() {
    use super::super::support::Authenticator;
    use std::sync::Arc;
    use tumbler_domain::ManualClock;
    use tumbler_testkit::app::StoreKind;
    use tumbler_testkit::sshd::{SshHost, TestUser};

    let password = "canary-Dave-3c4d5e6f-pass";
    let host = SshHost::start(&[TestUser::new("dave", password)])
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let authenticator = Authenticator::enrol(&app, &token, clock.clone()).await;

    let browser = admin_logs_in(&app, &authenticator).await;

    browser.click("#assets-link").await;
    browser.wait_for_text("h1", "Assets", WAIT).await;
    browser.click("#add-asset").await;
    browser.wait_for_text("h1", "Add asset", WAIT).await;
    browser.fill("#asset-name-input", "lab-web").await;
    browser.fill("#asset-address", host.address()).await;
    browser.fill("#asset-port", &host.port().to_string()).await;
    browser.find("#asset-nodes").await.clear().await.unwrap();
    browser.fill("#asset-nodes", "/Default/Lab").await;
    browser.click("#save-asset").await;
    browser.wait_for_text("#asset-name", "lab-web", WAIT).await;
    assert_eq!(
        browser.text("#host-key-status small.code").await,
        "unverified"
    );

    // First contact pins the key; the dialog shows it for comparison, then acknowledges it.
    browser.click("#test-asset").await;
    browser
        .wait_for_text("#asset-notice", "Connectivity: Reachable", WAIT)
        .await;
    assert_eq!(
        browser.text("#stored-fingerprint").await,
        host.host_key_fingerprint()
    );
    browser.click("#open-acknowledge").await;
    assert_eq!(
        browser.text("#fingerprint-to-acknowledge").await,
        host.host_key_fingerprint()
    );
    browser.click("#confirm-acknowledge").await;
    browser
        .wait_for_text("#asset-notice", "Host key acknowledged", WAIT)
        .await;
    assert_eq!(
        browser.text("#host-key-status small.code").await,
        "verified"
    );

    browser.fill("#account-username", "dave").await;
    browser.fill("#account-password", password).await;
    browser.click("#add-account").await;
    browser
        .wait_for_text("#asset-notice", "Account dave added", WAIT)
        .await;
    browser.click(".verify-account").await;
    browser
        .wait_for_text("#asset-notice", "dave verified", WAIT)
        .await;
    assert_eq!(
        browser
            .text("tr[data-username=dave] .account-status small.code")
            .await,
        "ok"
    );

    browser.click(".open-reveal").await;
    browser
        .fill(".reveal-totp", &authenticator.fresh_code())
        .await;
    browser.click(".confirm-reveal").await;
    browser.wait_for_text("#revealed", "dave", WAIT).await;
    assert_eq!(browser.text("#revealed-0").await, password);
    // The code just given unlocks another reveal on this session for a few minutes.
    browser.click(".open-reveal").await;
    browser
        .wait_for_text(".reveal-window", "Optional until", WAIT)
        .await;
    // The first reveal's page still shows the secret: wait for the second one's page.
    let first = browser.current_url().await;
    browser.click(".confirm-reveal").await;
    browser.wait_for_url_change(&first, WAIT).await;
    browser.wait_for_text("#revealed", "dave", WAIT).await;
    assert_eq!(browser.text("#revealed-0").await, password);

    browser.click("#assets-link").await;
    browser.wait_for_text("h1", "Assets", WAIT).await;
    let row = browser.text("tr[data-asset=lab-web]").await;
    assert!(
        row.contains("linux") && row.contains("/Default/Lab") && row.contains("ok"),
        "{row}"
    );

    // The node tree: a node holding an asset is not deleted; a new one appears.
    browser.click("a[data-node=Lab]").await;
    browser
        .wait_for_text("h1", "Assets in /Default/Lab", WAIT)
        .await;
    browser.click("#open-node-dialog").await;
    browser.click("#open-delete-node").await;
    browser.click("#delete-node").await;
    browser
        .wait_for_text("#assets-error", "still holds 1 asset", WAIT)
        .await;
    browser.click("#open-node-dialog").await;
    browser.fill("#new-node-path", "/Default/Empty").await;
    browser.click("#create-node").await;
    browser
        .wait_for_text("h1", "Assets in /Default/Empty", WAIT)
        .await;
    assert!(browser.text("#node-tree").await.contains("Empty"));
    browser.close().await;
    app.stop().await;
}
