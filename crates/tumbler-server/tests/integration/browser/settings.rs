//! Settings pages: the SMTP server and its test mail; a webhook whose secret is shown once.

use super::admin_logs_in;
use super::WAIT;
use std::time::Duration;
use tumbler_testkit::app::TestApp;

#[tokio::test]
async fn browser_sets_the_smtp_server_and_sends_a_test_mail() {
    use super::super::support::{ok, Authenticator};
    use reqwest::Method;
    use serde_json::json;
    use std::sync::Arc;
    use tumbler_domain::ManualClock;
    use tumbler_testkit::app::StoreKind;
    use tumbler_testkit::smtp::SmtpSink;

    let sink = SmtpSink::start().await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let me = ok(&app, &token, Method::GET, "/api/v1/users/me", None, 200).await;
    let id = me["id"].as_str().unwrap().to_owned();
    ok(
        &app,
        &token,
        Method::PATCH,
        &format!("/api/v1/users/{id}"),
        Some(json!({"email": "admin@example.test"})),
        200,
    )
    .await;
    let authenticator = Authenticator::enrol(&app, &token, clock.clone()).await;

    let browser = admin_logs_in(&app, &authenticator).await;
    browser.click("#settings-link").await;
    browser.click("#mail-settings-link").await;
    browser.wait_for_text("h1", "Settings: Mail", WAIT).await;
    browser.fill("#smtp-host", sink.host()).await;
    browser.find("#smtp-port").await.clear().await.unwrap();
    browser.fill("#smtp-port", &sink.port().to_string()).await;
    browser
        .find("#smtp-security option[value=none]")
        .await
        .click()
        .await
        .unwrap();
    browser.fill("#smtp-from", "tumbler@example.test").await;
    browser.click("#save-mail").await;
    browser.wait_for_text("#mail-notice", "Saved.", WAIT).await;
    browser.click("#send-test-mail").await;
    browser
        .wait_for_text("#mail-notice", "Test mail sent to admin@example.test", WAIT)
        .await;
    let mail = sink.wait_for_messages(1, Duration::from_secs(30)).await;
    assert_eq!(mail[0].to, vec!["admin@example.test".to_owned()]);
    assert_eq!(mail[0].subject, "Tumbler test mail");
    browser.close().await;
    app.stop().await;
}

#[tokio::test]
async fn browser_adds_a_webhook_sees_its_secret_once_and_removes_it() {
    use super::super::support::{ok, Authenticator};
    use reqwest::Method;
    use std::sync::Arc;
    use tumbler_domain::ManualClock;
    use tumbler_testkit::app::StoreKind;

    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    app.activate_admin().await;
    let token = app.admin_token().await;
    let authenticator = Authenticator::enrol(&app, &token, clock.clone()).await;

    let browser = admin_logs_in(&app, &authenticator).await;
    browser.click("#settings-link").await;
    browser.click("#webhook-settings-link").await;
    browser
        .wait_for_text("h1", "Settings: Webhooks", WAIT)
        .await;
    browser
        .wait_for_text("#webhooks", "No webhooks.", WAIT)
        .await;
    // A refused URL says why and keeps what was typed.
    browser
        .fill("#webhook-url", "ftp://hooks.example.test/x")
        .await;
    browser.click("#add-webhook").await;
    let error = browser.wait_for_text("#webhook-error", "http", WAIT).await;
    assert!(!error.is_empty());
    browser.find("#webhook-url").await.clear().await.unwrap();
    browser
        .fill("#webhook-url", "https://hooks.example.test/tumbler")
        .await;
    browser.click("#add-webhook").await;
    browser
        .wait_for_text("#webhook-notice", "not shown again", WAIT)
        .await;
    let secret = browser.text("#webhook-secret-0").await;
    assert!(secret.len() >= 32, "{secret}");
    let listed = ok(&app, &token, Method::GET, "/api/v1/webhooks", None, 200).await;
    assert_eq!(listed[0]["url"], "https://hooks.example.test/tumbler");
    assert!(
        !listed.to_string().contains(&secret),
        "the API never shows it"
    );
    // Shown once: the page reloaded no longer has it.
    browser.goto(&app.url("/settings/webhooks")).await;
    browser
        .wait_for_text("#webhooks", "https://hooks.example.test/tumbler", WAIT)
        .await;
    assert!(!browser.text("body").await.contains(&secret));
    browser.click("#webhooks .open-delete-webhook").await;
    browser.click("#webhooks .confirm-delete-webhook").await;
    browser
        .wait_for_text(
            "#webhook-notice",
            "Webhook to https://hooks.example.test/tumbler removed",
            WAIT,
        )
        .await;
    let listed = ok(&app, &token, Method::GET, "/api/v1/webhooks", None, 200).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(0));
    browser.close().await;
    app.stop().await;
}
