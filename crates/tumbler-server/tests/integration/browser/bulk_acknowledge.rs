//! Acknowledging the host keys of two selected assets: the dialog shows each one's
//! fingerprint to compare, and confirming pins exactly those.

use super::super::support::ok_as;
use super::{admin_logs_in, EnrolledAdmin, WAIT};
use reqwest::Method;
use serde_json::json;
use tumbler_api_types::inventory::AssetOut;
use tumbler_testkit::app::TestApp;
use tumbler_testkit::sshd::{SshHost, TestUser};

/// An asset on `host` whose key has been seen (unverified).
async fn unverified_asset(app: &TestApp, token: &str, name: &str, host: &SshHost) -> String {
    let a: AssetOut = ok_as(
        app,
        token,
        Method::POST,
        "/api/v1/assets",
        Some(json!({"name": name, "address": host.address(), "port": host.port(), "platform": "linux"})),
        201,
    )
    .await;
    let tested: AssetOut = ok_as(
        app,
        token,
        Method::POST,
        &format!("/api/v1/assets/{}/test", a.id),
        None,
        200,
    )
    .await;
    assert_eq!(tested.host_key_status, "unverified");
    a.id
}

#[tokio::test]
async fn browser_acknowledges_two_host_keys_after_seeing_both_fingerprints() {
    let admin = EnrolledAdmin::start().await;
    let app = &admin.app;
    let first = SshHost::start(&[TestUser::new("erin", "canary-Erin-Bulk-Ack-1")])
        .await
        .unwrap();
    let second = SshHost::start(&[TestUser::new("erin", "canary-Erin-Bulk-Ack-2")])
        .await
        .unwrap();
    let a = unverified_asset(app, &admin.token, "bulk-web-1", &first).await;
    let b = unverified_asset(app, &admin.token, "bulk-web-2", &second).await;

    let browser = admin_logs_in(app, &admin.authenticator).await;
    browser
        .goto(&app.url("/assets?host_key_status=unverified"))
        .await;
    browser
        .wait_for_text("#assets-table", "bulk-web-2", WAIT)
        .await;
    browser.click("input[aria-label='Select bulk-web-1']").await;
    browser.click("input[aria-label='Select bulk-web-2']").await;
    browser.click("#acknowledge-selected").await;

    // The dialog lists both, each with the fingerprint its host presents.
    browser
        .wait_for_text("h1", "Acknowledge host keys", WAIT)
        .await;
    for (name, host) in [("bulk-web-1", &first), ("bulk-web-2", &second)] {
        let row = format!("tr[data-asset='{name}']");
        assert_eq!(
            browser
                .text(&format!("{row} .fingerprint-to-acknowledge"))
                .await,
            host.host_key_fingerprint()
        );
        assert!(browser
            .text(&format!("{row} .host-key-state"))
            .await
            .starts_with("unverified"));
    }
    assert!(browser
        .text("#acknowledge-hint")
        .await
        .contains("ssh-keygen -lf"));
    browser.click("#confirm-acknowledge-selected").await;

    // Back on the list: both verified, with the keys shown.
    browser
        .wait_for_text(
            "#assets-notice",
            "Acknowledged the host keys of 2 asset(s)",
            WAIT,
        )
        .await;
    browser.goto(&app.url("/assets")).await;
    browser
        .find("tr[data-asset='bulk-web-1'][data-host-key='verified']")
        .await;
    browser
        .find("tr[data-asset='bulk-web-2'][data-host-key='verified']")
        .await;
    for (id, host) in [(&a, &first), (&b, &second)] {
        let now: AssetOut = ok_as(
            app,
            &admin.token,
            Method::GET,
            &format!("/api/v1/assets/{id}"),
            None,
            200,
        )
        .await;
        assert_eq!(now.host_key_status, "verified");
        assert_eq!(
            now.host_key_fingerprint.as_deref(),
            Some(host.host_key_fingerprint())
        );
    }
    browser.close().await;
    admin.app.stop().await;
}
