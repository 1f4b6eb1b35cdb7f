//! Two-factor settings as a person uses them: a wrong first code keeps the enrolment (and the
//! entry already scanned into the app), the QR code again for the password, recovery codes to
//! copy or download and count, new recovery codes and turning it off with a fresh code, and
//! a code used twice within its 30 seconds answered with "wait for the next code".

use super::WAIT;
use chrono::{Duration, Utc};
use std::sync::Arc;
use tumbler_domain::{totp, Clock, ManualClock};
use tumbler_testkit::app::{StoreKind, TestApp, ADMIN_PASSWORD};

/// The key's bytes from its base32 text.
fn key_of(text: &str) -> Vec<u8> {
    super::super::support::base32_decode(text.trim())
}

#[tokio::test]
async fn a_wrong_first_code_keeps_the_enrolment_and_codes_can_be_renewed_and_turned_off() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    app.activate_admin().await;
    let browser = super::admin_logs_in_with_password(&app).await;

    browser.goto(&app.url("/account/mfa")).await;
    browser.fill("#mfa-current-password", ADMIN_PASSWORD).await;
    browser.click("#mfa-begin").await;
    browser.wait_for_text("#totp-qr", "", WAIT).await;
    let key = browser.text("#totp-secret").await;
    let url = browser.current_url().await;
    assert!(
        url.contains("/account/mfa?revealed=") && !url.contains(key.trim()),
        "a one-time link, not the key, in the address: {url}"
    );

    // A wrong code: an error, and the enrolment still waits with the same key.
    browser.fill("#totp-code", "000000").await;
    browser.click("#mfa-confirm").await;
    let error = browser
        .wait_for_text("#mfa-error", "enter the code your app shows now", WAIT)
        .await;
    assert!(
        error.contains("Not done") && error.contains("invalid_totp"),
        "{error}"
    );
    browser
        .wait_for_text("#mfa-pending", "waiting for a first code", WAIT)
        .await;
    assert!(browser.current_url().await.ends_with("/account/mfa"));

    // The QR code again, for the password: the same key.
    browser.click("#mfa-show-again summary").await;
    browser.fill("#mfa-current-password", ADMIN_PASSWORD).await;
    browser.click("#mfa-begin").await;
    browser.wait_for_text("#totp-qr", "", WAIT).await;
    assert_eq!(browser.text("#totp-secret").await.trim(), key.trim());

    let secret = key_of(&key);
    let code = |clock: &ManualClock| totp::code_at(&secret, totp::step_of(clock.now()));
    browser.fill("#totp-code", &code(&clock)).await;
    browser.click("#mfa-confirm").await;
    browser
        .wait_for_text("#mfa-enabled", "Two-factor authentication is on", WAIT)
        .await;
    let codes = browser.text("#recovery-codes").await;
    assert_eq!(codes.lines().count(), 10, "{codes}");
    let href = browser
        .find("#recovery-download")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(href.starts_with("data:text/plain"), "{href}");
    let first = codes.lines().next().unwrap_or_default().trim().to_owned();
    assert!(href.contains(&first), "the download holds the codes shown");
    assert!(!browser.current_url().await.contains(&first));
    browser
        .wait_for_text("#recovery-left", "10 of 10", WAIT)
        .await;

    // Reloading the one-time link shows nothing again.
    let url = browser.current_url().await;
    browser.goto(&url).await;
    browser
        .wait_for_text("#mfa-warning", "used or has expired", WAIT)
        .await;
    assert!(!browser.text("section.card").await.contains(&first));

    // New recovery codes, for a fresh code.
    clock.advance(Duration::seconds(totp::STEP_SECONDS));
    browser.fill("#regenerate-code", &code(&clock)).await;
    browser.click("#mfa-regenerate").await;
    browser
        .wait_for_text("#mfa-notice", "old ones no longer work", WAIT)
        .await;
    let renewed = browser.text("#recovery-codes").await;
    assert_eq!(renewed.lines().count(), 10);
    assert!(!renewed.contains(&first));
    // The same code again within its 30 seconds: told to wait for the next one.
    browser.fill("#regenerate-code", &code(&clock)).await;
    browser.click("#mfa-regenerate").await;
    let error = browser
        .wait_for_text(
            "#mfa-error",
            "This code was just used; wait for the next code",
            WAIT,
        )
        .await;
    assert!(error.contains("totp_reused"), "{error}");

    // Off, for a fresh code.
    clock.advance(Duration::seconds(totp::STEP_SECONDS));
    browser.fill("#disable-code", &code(&clock)).await;
    browser.click("#mfa-disable").await;
    browser
        .wait_for_text("#mfa-notice", "Two-factor authentication is off", WAIT)
        .await;
    browser.find("#mfa-begin").await;
    browser.close().await;
    app.stop().await;
}
