//! An administrator issues a user a new temporary password from the API (users_manage, a
//! fresh code, never oneself, never a more powerful user), optionally resetting the user's
//! second factor; the password state shown and filtered is truthful: temporary, expired,
//! expired by age, or found not to meet a tightened policy.

use super::support::{
    audit_events, call, error_code, ok, ok_as, typed, user, Authenticator, USER_PASSWORD,
};
use chrono::{Duration, Utc};
use reqwest::{Client, Method};
use serde_json::{json, Value};
use std::sync::Arc;
use tumbler_api_types::users::{ResetPasswordOut, UserOut};
use tumbler_api_types::Page;
use tumbler_domain::ManualClock;
use tumbler_testkit::app::{StoreKind, TestApp, ADMIN_PASSWORD};

async fn user_id(app: &TestApp, token: &str, name: &str) -> String {
    let list: Page<UserOut> = ok_as(
        app,
        token,
        Method::GET,
        &format!("/api/v1/users?q={name}"),
        None,
        200,
    )
    .await;
    list.items
        .iter()
        .find(|u| u.user.username == name)
        .unwrap_or_else(|| panic!("{name} in {list:?}"))
        .user
        .id
        .clone()
}

async fn login(app: &TestApp, name: &str, password: &str) -> (u16, Value) {
    let res = Client::new()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"username": name, "password": password}))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn states(app: &TestApp, token: &str, filter: &str) -> Vec<(String, String)> {
    let list: Page<UserOut> = ok_as(
        app,
        token,
        Method::GET,
        &format!("/api/v1/users?password_status={filter}"),
        None,
        200,
    )
    .await;
    list.items
        .into_iter()
        .map(|u| (u.user.username, u.password_status.to_string()))
        .collect()
}

#[tokio::test]
async fn an_administrator_issues_a_temporary_password_with_a_fresh_code_never_to_oneself() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Sqlite, clock.clone()).await;
    app.activate_admin().await;
    let admin = app.admin_token().await;
    let bob_token = user(&app, &admin, "bob", &["operator"], &["Default"]).await;
    let bob = user_id(&app, &admin, "bob").await;
    let me = user_id(&app, &admin, "admin").await;
    let authenticator = Authenticator::enrol(&app, &admin, clock.clone()).await;
    let bob_auth = Authenticator::enrol(&app, &bob_token, clock.clone()).await;
    let reset = |id: &str, body: Value| {
        let path = format!("/api/v1/users/{id}/reset-password");
        let admin = admin.clone();
        let app = &app;
        async move { call(app, &admin, Method::POST, &path, Some(body)).await }
    };

    // Without a fresh code nothing happens.
    let (status, body) = reset(&bob, json!({})).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (401, "totp_required"),
        "{body}"
    );
    assert_eq!(
        login(&app, "bob", USER_PASSWORD).await.0,
        401,
        "bob has TOTP: a code is needed"
    );

    // Never oneself (change it with the current password instead).
    let (status, body) = reset(&me, json!({"totp": authenticator.fresh_code()})).await;
    assert_eq!(
        (status, error_code(&body).as_str()),
        (403, "own_password_reset"),
        "{body}"
    );

    // Neither someone without users_manage, nor one who lacks a permission the target holds.
    let operator = user(&app, &admin, "olga", &["operator"], &["Default"]).await;
    let (status, _) = call(
        &app,
        &operator,
        Method::POST,
        &format!("/api/v1/users/{bob}/reset-password"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 403);
    ok(
        &app,
        &admin,
        Method::POST,
        "/api/v1/roles",
        Some(json!({"name": "helpdesk", "permissions": ["users_read", "users_manage"]})),
        201,
    )
    .await;
    let helpdesk = user(&app, &admin, "hank", &["helpdesk"], &["Default"]).await;
    for target in [&me, &bob] {
        let (status, body) = call(
            &app,
            &helpdesk,
            Method::POST,
            &format!("/api/v1/users/{target}/reset-password"),
            Some(json!({})),
        )
        .await;
        assert_eq!(
            (status, error_code(&body).as_str()),
            (403, "forbidden"),
            "{body}"
        );
    }

    // The password, with the second factor kept: shown once, to be changed at the next login.
    let (status, body) = reset(&bob, json!({"totp": authenticator.fresh_code()})).await;
    assert_eq!(status, 200, "{body}");
    let answer: ResetPasswordOut = typed(body);
    let temporary = answer.temporary_password;
    assert!(!answer.totp_reset);
    assert_eq!(
        login(&app, "bob", USER_PASSWORD).await.0,
        401,
        "the old password is gone"
    );
    let (status, _) = login(&app, "bob", &temporary).await;
    assert_ne!(status, 200, "the second factor is still needed");
    let shown: UserOut = ok_as(
        &app,
        &admin,
        Method::GET,
        &format!("/api/v1/users/{bob}"),
        None,
        200,
    )
    .await;
    assert_eq!(
        (
            shown.password_status.as_str(),
            shown.user.must_change_password
        ),
        ("temporary", true)
    );
    drop(bob_auth);

    // Again with the second factor reset: the temporary password alone logs in.
    let (status, body) = reset(
        &bob,
        json!({"totp": authenticator.fresh_code(), "reset_totp": true}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let answer: ResetPasswordOut = typed(body);
    assert!(answer.totp_reset);
    let temporary = answer.temporary_password;
    let (status, body) = login(&app, "bob", &temporary).await;
    assert_eq!(status, 200, "{body}");

    let audit = audit_events(&app, &admin, "user.password.reset").await;
    let details: Vec<(&str, &str)> = audit
        .iter()
        .map(|e| {
            let detail = e.detail.as_str();
            assert!(detail.starts_with("tokens_revoked="), "{detail}");
            // The tokens and certificates the reset ended, then what became of the second factor.
            let second_factor = detail.split_once("; ").map_or("", |(_, s)| s);
            (e.actor.as_str(), second_factor)
        })
        .collect();
    assert_eq!(
        details,
        [
            ("admin", "second factor reset"),
            ("admin", "second factor kept")
        ],
        "{audit:?}"
    );
    assert_eq!(audit_events(&app, &admin, "user.totp.reset").await.len(), 1);
    // Every field of every event, not only the detail.
    assert!(
        !format!("{audit:?}").contains(&temporary),
        "no password in the audit log"
    );

    // The console: the user page shows the state and issues a password with a fresh code.
    let console = Client::builder().cookie_store(true).build().unwrap();
    let res = console
        .post(app.url("/api/v1/auth/login"))
        .json(
            &json!({"username": "admin", "password": tumbler_testkit::app::ADMIN_PASSWORD,
                      "totp": authenticator.fresh_code()}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let page = console
        .get(app.url(&format!("/users/{bob}/edit")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<small class=\"code\">temporary</small>"),
        "{page}"
    );
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let post = |code: String| {
        console
            .post(app.url(&format!("/users/{bob}/reset-password")))
            .form(&[("csrf", csrf.clone()), ("totp", code)])
            .send()
    };
    let res = post("000000".to_owned()).await.unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("reset-error"));
    // The answer is a redirect to the user's page with a one-time link to the password.
    let res = post(authenticator.fresh_code()).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.url().path().ends_with(&format!("/users/{bob}/edit"))
            && res
                .url()
                .query()
                .is_some_and(|q| q.starts_with("revealed=")),
        "{}",
        res.url()
    );
    let page = res.text().await.unwrap();
    let console_password = page
        .split("id=\"reset-temporary-password-0\"")
        .nth(1)
        .unwrap_or_else(|| panic!("{page}"))
        .split_once('>')
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("{page}"))
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    assert_ne!(console_password, temporary);
    assert_eq!(login(&app, "bob", &console_password).await.0, 200);
    let list = console
        .get(app.url("/users?password=temporary"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains("data-username=\"bob\""), "{list}");
    assert!(!list.contains("data-username=\"olga\""), "{list}");
    app.stop().await;
}

#[tokio::test]
async fn the_password_state_is_truthful_and_filters_the_user_list() {
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let app = TestApp::spawn_on(StoreKind::Postgres, clock.clone()).await;
    app.activate_admin().await;
    let admin = app.admin_token().await;
    user(&app, &admin, "carol", &["auditor"], &["Default"]).await;
    user(&app, &admin, "dave", &["auditor"], &["Default"]).await;
    ok(
        &app,
        &admin,
        Method::POST,
        "/api/v1/users",
        Some(json!({"username": "erin", "current_password": ADMIN_PASSWORD})),
        201,
    )
    .await;
    assert_eq!(
        states(&app, &admin, "temporary").await,
        [("erin".to_owned(), "temporary".to_owned())]
    );
    let (status, body) = call(
        &app,
        &admin,
        Method::GET,
        "/api/v1/users?password_status=stale",
        None,
    )
    .await;
    assert_eq!(status, 400, "{body}");

    // A tightened policy: carol's next login finds her password too short.
    let (status, body) = call(
        &app,
        &admin,
        Method::PATCH,
        "/api/v1/settings/password-policy",
        Some(json!({"min_length": 40})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    login(&app, "carol", USER_PASSWORD).await;
    assert_eq!(
        states(&app, &admin, "policy_tightened").await,
        [("carol".to_owned(), "policy_tightened".to_owned())]
    );
    let (status, _) = call(
        &app,
        &admin,
        Method::PATCH,
        "/api/v1/settings/password-policy",
        Some(json!({"expiry_days": 30, "min_length": 15})),
    )
    .await;
    assert_eq!(status, 200);

    // Thirty-one days on: every password set a month ago has expired by age, even before its
    // owner logs in; erin's temporary password has run out.
    clock.advance(Duration::days(31));
    let aged: Vec<String> = states(&app, &admin, "expired_by_age")
        .await
        .into_iter()
        .map(|(u, s)| {
            assert_eq!(s, "expired_by_age");
            u
        })
        .collect();
    assert!(
        aged.contains(&"dave".to_owned()) && aged.contains(&"carol".to_owned()),
        "{aged:?}"
    );
    assert_eq!(
        states(&app, &admin, "expired").await,
        [("erin".to_owned(), "expired".to_owned())]
    );
    assert_eq!(states(&app, &admin, "active").await, []);
    app.stop().await;
}
