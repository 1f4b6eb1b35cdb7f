//! The jobs list: a device-key regeneration shows with its label, status, progress and who
//! started it, and links to its page.

use super::WAIT;
use super::{admin_logs_in, EnrolledAdmin};

#[tokio::test]
async fn browser_lists_device_key_jobs_and_opens_one() {
    use super::super::support::ok;
    use reqwest::Method;
    use serde_json::json;

    let EnrolledAdmin {
        app,
        token: admin,
        authenticator,
        ..
    } = EnrolledAdmin::start().await;

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
    super::super::device_keys::wait_for_job(&app, &admin, &job_id).await;
    browser.goto(&app.url("/jobs")).await;
    let text = browser.wait_for_text(&row, "Succeeded", WAIT).await;
    assert!(text.contains("Device key regeneration"), "{text}");
    assert!(
        !text.contains("regenerate_key"),
        "a label, not the code: {text}"
    );
    assert!(text.contains("0 of 0 device(s)"), "{text}");
    assert!(text.contains("admin"), "{text}");
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
