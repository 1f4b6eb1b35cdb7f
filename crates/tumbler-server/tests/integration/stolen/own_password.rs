//! The own-password forms (console and API) are locked out and throttled like a login.

use super::{login, session};
use chrono::Utc;
use reqwest::Client;
use serde_json::json;
use std::sync::Arc;
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp, ADMIN_PASSWORD};

#[tokio::test]
async fn the_console_password_form_is_locked_out_like_a_login() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock).await;
    app.activate_admin().await;
    let (client, csrf) = session(&app, None).await;
    let submit = |old: &str| {
        client
            .post(app.url("/account/password"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("old_password", old),
                ("new_password", "Brand-New-Passphrase-Guess-9"),
                ("confirm_password", "Brand-New-Passphrase-Guess-9"),
            ])
            .send()
    };
    // A changed password answers 303 (to the login page).
    for i in 0..5 {
        let res = submit(&format!("Guessed-Password-{i}")).await.unwrap();
        assert_ne!(res.status(), 303);
    }
    let res = submit(ADMIN_PASSWORD).await.unwrap();
    assert_eq!(res.status(), 403, "locked: the right password is refused");
    assert!(res.text().await.unwrap().contains("locked"));
    assert_eq!(
        login(&app, "admin", ADMIN_PASSWORD, None).await.0,
        401,
        "and the account's logins are locked too"
    );
    app.stop().await;
}

#[tokio::test]
async fn own_password_changes_pass_the_source_throttle() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_configured(StoreKind::Sqlite, clock, |c| {
        c.auth.max_failures_per_source = 3;
    })
    .await;
    app.activate_admin().await;
    let (client, csrf) = session(&app, None).await;
    let mut statuses = Vec::new();
    for i in 0..4 {
        let res = client
            .post(app.url("/account/password"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("old_password", &format!("Guessed-Password-{i}")),
                ("new_password", "Brand-New-Passphrase-Guess-9"),
                ("confirm_password", "Brand-New-Passphrase-Guess-9"),
            ])
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    assert!(statuses[..3].iter().all(|s| *s != 303), "{statuses:?}");
    assert_eq!(statuses[3], 429, "{statuses:?}");
    // The API form (HTTP Basic plus the current password in the body) is throttled as well.
    let res = Client::new()
        .post(app.url("/api/v1/users/me/password"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .json(&json!({"old_password": "Guess", "new_password": "Brand-New-Passphrase-Guess-9"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    app.stop().await;
}
