//! The jobs list: a device-key regeneration shows with its label, status, progress and who
//! started it, and links to its page.

use super::admin_logs_in;
use super::WAIT;
use tumbler_testkit::app::TestApp;

#[tokio::test]
async fn browser_lists_device_key_jobs_and_opens_one() {
    use super::super::support::{ok, Authenticator};
    use reqwest::Method;
    use serde_json::json;
    use std::sync::Arc;
    use tumbler_domain::ManualClock;
    use tumbler_testkit::app::StoreKind;

    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    app.activate_admin().await;
    let admin = app.admin_token().await;
    let authenticator = Authenticator::enrol(&app, &admin, clock.clone()).await;

    let browser = admin_logs_in(&app, &authenticator).await;
    browser.click("#jobs-link").await;
    browser.wait_for_text("h1", "Jobs", WAIT).await;
    browser.wait_for_text("#jobs", "No jobs yet", WAIT).await;

    let started = ok(
        &app,
        &admin,
        Method::POST,
        "/api/v1/system/ssh-key/regenerate",
        Some(json!({"algorithm": "ed25519"})),
        202,
    )
    .await;
    let job_id = started["job_id"].as_str().unwrap().to_owned();

    // No key-based device: the job ends at once; the list says so in words.
    let row = format!("#jobs tr[data-job='{job_id}']");
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        browser.goto(&app.url("/jobs")).await;
        let text = browser.text(&row).await;
        if text.contains("Succeeded") {
            assert!(text.contains("Device key regeneration"), "{text}");
            assert!(
                !text.contains("regenerate_key"),
                "a label, not the code: {text}"
            );
            assert!(text.contains("0 of 0 device(s)"), "{text}");
            assert!(text.contains("admin"), "{text}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still: {text}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    browser
        .wait_for_text("#jobs-range", "Jobs 1–1 of 1", WAIT)
        .await;

    browser.click(&format!("{row} a")).await;
    browser
        .wait_for_text("h1", "Device key regeneration", WAIT)
        .await;
    assert!(browser
        .current_url()
        .await
        .ends_with(&format!("/jobs/{job_id}")));
    browser.click("#all-jobs").await;
    browser.wait_for_text("h1", "Jobs", WAIT).await;
    browser.close().await;
    app.stop().await;
}
