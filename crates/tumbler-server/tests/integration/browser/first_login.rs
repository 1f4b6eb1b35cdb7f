//! The first login with the one-time password, the forced password change, and logging in
//! again.

use super::WAIT;
use tumbler_testkit::app::{TestApp, ADMIN_PASSWORD};
use tumbler_testkit::browser::Browser;

#[tokio::test]
async fn first_login_changes_the_password_then_logs_in_to_the_dashboard() {
    let app = TestApp::spawn().await;
    let browser = Browser::start().await;
    browser.goto(&app.url("/")).await;
    assert!(
        browser.current_url().await.ends_with("/login"),
        "anonymous users land on the login page"
    );

    // A wrong password shows one clear error.
    browser.fill("#username", "admin").await;
    browser.fill("#password", "wrong-password-123456").await;
    browser.click("#login-submit").await;
    browser
        .wait_for_text(
            "#login-error",
            "Invalid username, password or authentication code",
            WAIT,
        )
        .await;

    browser.fill("#username", "admin").await;
    browser.fill("#password", &app.initial_admin_password).await;
    browser.click("#login-submit").await;
    browser
        .wait_for_text("#must-change", "must change your password", WAIT)
        .await;
    let rules = browser.text("#password-rules").await;
    assert!(rules.contains("15"), "the rules are shown: {rules}");

    browser
        .fill("#old-password", &app.initial_admin_password)
        .await;
    browser.fill("#new-password", ADMIN_PASSWORD).await;
    browser.fill("#confirm-password", ADMIN_PASSWORD).await;
    browser.click("#password-submit").await;
    browser
        .wait_for_text(".notice", "Log in with your new password", WAIT)
        .await;

    browser.fill("#username", "admin").await;
    browser.fill("#password", ADMIN_PASSWORD).await;
    browser.click("#login-submit").await;
    browser
        .wait_for_text("#dashboard-title", "Dashboard", WAIT)
        .await;
    assert_eq!(browser.text("#current-user").await, "Administrator");

    browser.click("#current-user").await;
    browser.click("#logout").await;
    browser.wait_for_text("h1", "Log in", WAIT).await;
    browser.close().await;
    app.stop().await;
}
