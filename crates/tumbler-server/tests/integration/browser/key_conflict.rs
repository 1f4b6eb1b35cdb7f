//! A device-key conflict resolved through the dialog, reached from the device's page.

use super::super::support::{ok_as, typed};
use super::admin_logs_in;
use super::WAIT;
use tumbler_api_types::answers::JobStarted;
use tumbler_api_types::device_keys::{JobView, SystemKeyView};
use tumbler_api_types::inventory::AssetOut;
use tumbler_domain::job::JobStatus;
use tumbler_testkit::app::TestApp;

#[tokio::test]
async fn browser_resolves_a_key_conflict_through_the_dialog() {
    use super::super::support::Authenticator;
    use reqwest::Method;
    use serde_json::json;
    use std::sync::Arc;
    use tumbler_domain::ManualClock;
    use tumbler_testkit::app::StoreKind;
    use tumbler_testkit::sshd::{SshHost, TestUser};

    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let host = SshHost::start(&[TestUser::new("ops", "canary-Ops-Browser-Key-2").with_sudo()])
        .await
        .unwrap();
    let id = super::super::change_secret::linux_asset(&app, &token, "edge-router", &host).await;
    super::super::change_secret::account(
        &app,
        &token,
        &id,
        "ops",
        "canary-Ops-Browser-Key-2",
        true,
        json!({}),
    )
    .await;
    let started: JobStarted = ok_as(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/assets/{id}/authentication"),
        Some(json!({"mode": "system_key", "admin_user": "tumbler", "create_user": true})),
        202,
    )
    .await;
    let job: JobView =
        typed(super::super::device_keys::wait_for_job(&app, &token, started.job_id.as_str()).await);
    assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
    // The device loses Tumbler's key; the next contact finds the conflict.
    host.run_inside_ok(&["sh", "-c", ": > /home/tumbler/.ssh/authorized_keys"])
        .await
        .unwrap();
    let a: AssetOut = ok_as(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/assets/{id}/test"),
        None,
        200,
    )
    .await;
    assert_eq!(a.auth_status, "key_conflict", "{a:?}");
    let authenticator = Authenticator::enrol(&app, &token, clock.clone()).await;

    let browser = admin_logs_in(&app, &authenticator).await;
    // The device's page names the user the key logs in as, pre-selects the current mode and
    // user in Modify authentication, and links to the Resolve dialog, which pre-fills the
    // admin user and offers the stored password of the privileged account.
    browser.goto(&app.url(&format!("/assets/{id}"))).await;
    browser
        .wait_for_text("#asset-key-user", "tumbler", WAIT)
        .await;
    let checked = browser
        .find("#authentication-form input[name='mode'][value='system_key']")
        .await
        .prop("checked")
        .await
        .unwrap();
    assert_eq!(checked.as_deref(), Some("true"));
    let user = browser.find("#auth-admin-user").await.prop("value").await;
    assert_eq!(user.unwrap().as_deref(), Some("tumbler"));
    browser.click("#resolve-conflict-link").await;
    browser
        .wait_for_text("#conflict-devices", "edge-router", WAIT)
        .await;
    let prefilled = browser.find(".admin-user").await.prop("value").await;
    assert_eq!(prefilled.unwrap().as_deref(), Some("tumbler"));
    browser
        .find("input[aria-label='Use the stored password of ops on edge-router']")
        .await;
    browser.find("#resolve-totp").await;
    browser
        .goto(&app.url("/assets?auth_status=key_conflict"))
        .await;
    browser
        .wait_for_text("#assets-table", "Key conflict", WAIT)
        .await;
    // Cancel leaves everything as it was.
    browser
        .click("input[aria-label='Select edge-router']")
        .await;
    browser.click("#resolve-selected").await;
    browser
        .wait_for_text("h1", "Resolve Key Conflict", WAIT)
        .await;
    browser.click("#cancel-resolve").await;
    browser.wait_for_text("h1", "Assets", WAIT).await;
    let a: AssetOut = ok_as(
        &app,
        &token,
        Method::GET,
        &format!("/api/v1/assets/{id}"),
        None,
        200,
    )
    .await;
    assert_eq!(a.auth_status, "key_conflict", "{a:?}");
    // Select it again and resolve with the system key, creating a new admin user.
    browser
        .goto(&app.url("/assets?auth_status=key_conflict"))
        .await;
    browser
        .click("input[aria-label='Select edge-router']")
        .await;
    browser.click("#resolve-selected").await;
    browser
        .wait_for_text("#conflict-devices", "edge-router", WAIT)
        .await;
    browser.fill(".admin-user", "netops").await;
    browser
        .fill(".admin-password", "canary-Browser-Admin-Pw-8")
        .await;
    browser.click(".create-user").await;
    browser.click("#resolve-devices").await;
    browser
        .wait_for_text("#job-status", "succeeded", WAIT)
        .await;
    browser
        .wait_for_text("#job-outcomes", "installed for netops and verified", WAIT)
        .await;
    let a: AssetOut = ok_as(
        &app,
        &token,
        Method::POST,
        &format!("/api/v1/assets/{id}/test"),
        None,
        200,
    )
    .await;
    assert_eq!(a.auth_status, "key_based", "{a:?}");
    assert_eq!(a.auth_username, "netops", "{a:?}");
    // The device key page shows the key devices hold.
    let key: SystemKeyView = ok_as(
        &app,
        &token,
        Method::GET,
        "/api/v1/system/ssh-key",
        None,
        200,
    )
    .await;
    browser.click("#settings-link").await;
    browser.click("#device-key-link").await;
    let shown = browser.text("#key-fingerprint").await;
    assert_eq!(shown, key.fingerprint);
    browser.close().await;
    app.stop().await;
}
