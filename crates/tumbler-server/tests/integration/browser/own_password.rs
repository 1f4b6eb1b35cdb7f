//! A user changes their own password in User Settings; their other sessions end at once or at
//! the next login.

use super::super::support::typed;
use super::WAIT;
use tumbler_api_types::users::CreatedUserOut;
use tumbler_testkit::app::{TestApp, ADMIN_PASSWORD};
use tumbler_testkit::browser::Browser;

/// As a user changing their own password: User Settings from the banner, the rules tooltip,
/// a comma and a blocklisted password refused with reasons, the change, logged out, back in;
/// another session of the same user ends at once (default) or at the next login (setting).
#[tokio::test]
async fn a_user_changes_their_own_password_in_user_settings() {
    use serde_json::json;
    let app = TestApp::spawn().await;
    app.activate_admin().await;
    let admin = app.admin_token().await;
    let client = reqwest::Client::new();
    let res = client
        .patch(app.url("/api/v1/settings/password-policy"))
        .bearer_auth(&admin)
        .json(&json!({"custom_blocklist": ["Corporate-Default-Passw0rd"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let created: serde_json::Value = client
        .post(app.url("/api/v1/users"))
        .bearer_auth(&admin)
        .json(&json!({"username": "paula", "display_name": "Paula", "current_password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let temp = typed::<CreatedUserOut>(created).temporary_password.unwrap();
    let p1 = "First-Chosen-Passphrase-11";
    let res = client
        .post(app.url("/api/v1/users/me/password"))
        .basic_auth("paula", Some(&temp))
        .json(&json!({"old_password": temp, "new_password": p1}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let other_session = |password: &'static str| {
        let url = app.url("/api/v1/auth/login");
        async move {
            let c = reqwest::Client::builder()
                .cookie_store(true)
                .build()
                .unwrap();
            let res = c
                .post(url)
                .json(&json!({"username": "paula", "password": password}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            c
        }
    };
    let alive = |c: reqwest::Client| {
        let url = app.url("/api/v1/users/me");
        async move { c.get(url).send().await.unwrap().status() == 200 }
    };

    let browser = Browser::start().await;
    let log_in = |password: &'static str| {
        let b = &browser;
        let url = app.url("/login");
        async move {
            b.goto(&url).await;
            b.fill("#username", "paula").await;
            b.fill("#password", password).await;
            b.click("#login-submit").await;
            b.wait_for_text("#dashboard-title", "Dashboard", WAIT).await;
        }
    };
    let second = other_session(p1).await;
    log_in(p1).await;
    browser.click("#current-user").await;
    browser.click("a[title='User Settings']").await;
    browser.wait_for_text("h1", "User Settings", WAIT).await;
    let tooltip = browser
        .find(".info")
        .await
        .attr("title")
        .await
        .unwrap()
        .unwrap();
    assert!(
        tooltip.contains("commas") && tooltip.contains("common"),
        "{tooltip}"
    );

    let attempt = |new: &'static str, old: &'static str| {
        let b = &browser;
        async move {
            b.fill("#old-password", old).await;
            b.fill("#new-password", new).await;
            b.fill("#confirm-password", new).await;
            b.click("#password-submit").await;
        }
    };
    attempt("Has,A-Comma-Long-Passphrase-9", p1).await;
    browser
        .wait_for_text("#password-errors", "commas", WAIT)
        .await;
    attempt("Corporate-Default-Passw0rd", p1).await;
    browser
        .wait_for_text("#password-errors", "too common", WAIT)
        .await;
    let p2 = "Second-Chosen-Passphrase-22";
    attempt(p2, p1).await;
    browser
        .wait_for_text(".notice", "Log in with your new password", WAIT)
        .await;
    assert!(
        !alive(second).await,
        "by default the other session ends at once"
    );
    log_in(p2).await;

    let res = client
        .patch(app.url("/api/v1/settings/password-policy"))
        .bearer_auth(&admin)
        .json(&json!({"other_sessions": "keep_until_next_login"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let second = other_session(p2).await;
    browser.click("#current-user").await;
    browser.click("a[title='User Settings']").await;
    let p3 = "Third-Chosen-Passphrase-33";
    attempt(p3, p2).await;
    browser
        .wait_for_text(".notice", "Log in with your new password", WAIT)
        .await;
    assert!(
        alive(second.clone()).await,
        "with the other setting it lives until the next login"
    );
    log_in(p3).await;
    assert!(!alive(second).await, "and ends at that login");
    browser.close().await;
    app.stop().await;
}
